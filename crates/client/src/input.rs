//! The input line: an editor with the usual readline keys, input history on
//! Up/Down, and Tab completion.
//!
//! The cursor is a byte offset that always sits on a grapheme boundary, so
//! Left/Right step over a whole emoji or a letter with its combining marks,
//! and the drawn cursor column is the display width (`unicode-width`) of the
//! text before it. Everything here is pure and tested without a terminal.

use unicode_segmentation::UnicodeSegmentation;

/// Lines kept in input history.
const HISTORY_LIMIT: usize = 500;

/// The line being typed.
#[derive(Debug, Default, Clone)]
pub struct Editor {
    text: String,
    /// Byte offset into `text`, on a grapheme boundary.
    cursor: usize,
    /// The whole line is selected (a refused command given back): typing
    /// replaces it, Backspace or Delete removes it, and moving the cursor
    /// keeps it for editing.
    selected: bool,
}

impl Editor {
    pub fn text(&self) -> &str {
        &self.text
    }

    pub fn is_selected(&self) -> bool {
        self.selected && !self.text.is_empty()
    }

    /// Gives `text` back selected, cursor at the end.
    pub fn set_selected(&mut self, text: &str) {
        self.set(text);
        self.selected = true;
    }

    /// Ends the selection; `true` when it was on (and the line is to go).
    fn unselect(&mut self) -> bool {
        std::mem::take(&mut self.selected)
    }

    pub fn cursor(&self) -> usize {
        self.cursor
    }

    /// Replaces the whole line, cursor at the end.
    pub fn set(&mut self, text: &str) {
        self.text = text.to_owned();
        self.cursor = self.text.len();
        self.selected = false;
    }

    /// Empties the line and returns what it held.
    pub fn take(&mut self) -> String {
        self.cursor = 0;
        self.selected = false;
        std::mem::take(&mut self.text)
    }

    pub fn insert(&mut self, text: &str) {
        if self.unselect() {
            self.take();
        }
        self.text.insert_str(self.cursor, text);
        self.cursor += text.len();
    }

    fn prev_boundary(&self, from: usize) -> usize {
        self.text[..from]
            .grapheme_indices(true)
            .next_back()
            .map_or(0, |(at, _)| at)
    }

    fn next_boundary(&self, from: usize) -> usize {
        self.text[from..]
            .graphemes(true)
            .next()
            .map_or(from, |g| from + g.len())
    }

    pub fn left(&mut self) {
        self.unselect();
        self.cursor = self.prev_boundary(self.cursor);
    }

    pub fn right(&mut self) {
        self.unselect();
        self.cursor = self.next_boundary(self.cursor);
    }

    pub fn home(&mut self) {
        self.unselect();
        self.cursor = 0;
    }

    pub fn end(&mut self) {
        self.unselect();
        self.cursor = self.text.len();
    }

    /// Backspace.
    pub fn delete_back(&mut self) {
        if self.unselect() {
            self.take();
            return;
        }
        let start = self.prev_boundary(self.cursor);
        self.text.replace_range(start..self.cursor, "");
        self.cursor = start;
    }

    /// Delete.
    pub fn delete_forward(&mut self) {
        if self.unselect() {
            self.take();
            return;
        }
        let end = self.next_boundary(self.cursor);
        self.text.replace_range(self.cursor..end, "");
    }

    /// Ctrl-K: deletes to the end of the line.
    pub fn kill_to_end(&mut self) {
        self.unselect();
        self.text.truncate(self.cursor);
    }

    /// Ctrl-U: deletes to the start of the line.
    pub fn kill_to_start(&mut self) {
        self.unselect();
        self.text.replace_range(..self.cursor, "");
        self.cursor = 0;
    }

    /// The start of the word before the cursor (spaces before it skipped).
    fn word_start(&self) -> usize {
        let before = &self.text[..self.cursor];
        let trimmed = before.trim_end_matches(' ');
        trimmed.rfind(' ').map_or(0, |at| at + 1)
    }

    /// Ctrl-W: deletes the word before the cursor.
    pub fn kill_word_back(&mut self) {
        self.unselect();
        let start = self.word_start();
        self.text.replace_range(start..self.cursor, "");
        self.cursor = start;
    }

    /// Alt-B: to the start of the previous word.
    pub fn word_left(&mut self) {
        self.unselect();
        self.cursor = self.word_start();
    }

    /// Alt-F: to the end of the next word.
    pub fn word_right(&mut self) {
        self.unselect();
        let after = &self.text[self.cursor..];
        let skipped = after.len() - after.trim_start_matches(' ').len();
        let word = after[skipped..].find(' ').unwrap_or(after.len() - skipped);
        self.cursor += skipped + word;
    }
}

/// Lines sent before, browsed with Up/Down. The line being typed when
/// browsing starts is kept and comes back below the newest entry.
#[derive(Debug, Default)]
pub struct History {
    lines: Vec<String>,
    /// Index into `lines` while browsing.
    browsing: Option<usize>,
    draft: String,
}

impl History {
    /// Records a sent line (not repeats of the previous one).
    pub fn push(&mut self, line: &str) {
        self.browsing = None;
        if line.trim().is_empty() || self.lines.last().is_some_and(|last| last == line) {
            return;
        }
        self.lines.push(line.to_owned());
        if self.lines.len() > HISTORY_LIMIT {
            self.lines.remove(0);
        }
    }

    /// Up: the older line to show, if any.
    pub fn older(&mut self, current: &str) -> Option<&str> {
        let index = match self.browsing {
            None if self.lines.is_empty() => return None,
            None => {
                self.draft = current.to_owned();
                self.lines.len() - 1
            }
            Some(0) => return None,
            Some(index) => index - 1,
        };
        self.browsing = Some(index);
        Some(&self.lines[index])
    }

    /// Down: the newer line to show (the draft after the newest).
    pub fn newer(&mut self) -> Option<&str> {
        let index = self.browsing?;
        if index + 1 < self.lines.len() {
            self.browsing = Some(index + 1);
            Some(&self.lines[index + 1])
        } else {
            self.browsing = None;
            Some(&self.draft)
        }
    }
}

/// Tab completion in progress: pressing Tab again cycles through `matches`.
#[derive(Debug)]
pub struct Completion {
    /// Byte offset where the completed word starts.
    start: usize,
    matches: Vec<String>,
    index: usize,
}

impl Completion {
    /// Starts completing the word before the cursor of `editor` from
    /// `candidates`, or cycles to the next match if `previous` is still on
    /// screen. Returns the completion to keep for the next Tab.
    pub fn complete(
        editor: &mut Editor,
        previous: Option<Completion>,
        candidates: impl FnOnce(&str, bool) -> Vec<String>,
    ) -> Option<Completion> {
        editor.unselect();
        let mut completion = match previous {
            Some(mut previous) => {
                previous.index = (previous.index + 1) % previous.matches.len();
                previous
            }
            None => {
                let start = editor.word_start();
                let word = &editor.text[start..editor.cursor];
                let first = editor.text[..start].trim().is_empty();
                let lower = word.to_lowercase();
                let mut matches: Vec<String> = candidates(word, first)
                    .into_iter()
                    .filter(|c| c.to_lowercase().starts_with(&lower) && c != word)
                    .collect();
                matches.sort_by_key(|c| c.to_lowercase());
                matches.dedup();
                if matches.is_empty() {
                    return None;
                }
                Completion {
                    start,
                    matches,
                    index: 0,
                }
            }
        };
        let chosen = &completion.matches[completion.index];
        editor
            .text
            .replace_range(completion.start..editor.cursor, "");
        editor.cursor = completion.start;
        editor.insert(chosen);
        completion.start = completion.start.min(editor.cursor);
        Some(completion)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use unicode_width::UnicodeWidthStr;

    fn cursor_width(e: &Editor) -> usize {
        e.text()[..e.cursor()].width()
    }

    fn editor(text: &str) -> Editor {
        let mut editor = Editor::default();
        editor.set(text);
        editor
    }

    #[test]
    fn a_selected_line_is_replaced_by_typing_or_kept_for_editing() {
        let mut e = Editor::default();
        e.set_selected(":dance");
        assert!(e.is_selected());
        e.insert("h");
        assert_eq!((e.text(), e.is_selected()), ("h", false));
        e.set_selected(":dance");
        e.delete_back();
        assert_eq!(e.text(), "");
        // Moving keeps the text for editing, no longer selected.
        e.set_selected(":dnce");
        e.home();
        e.right();
        e.right();
        e.insert("a");
        assert_eq!((e.text(), e.is_selected()), (":dance", false));
    }

    #[test]
    fn readline_keys_edit_the_line() {
        let mut e = editor("hello brave new world");
        e.kill_word_back();
        assert_eq!(e.text(), "hello brave new ");
        e.word_left();
        assert_eq!(e.cursor(), "hello brave ".len());
        e.word_left();
        e.kill_to_end();
        assert_eq!(e.text(), "hello ");
        e.home();
        e.insert(">> ");
        assert_eq!(e.text(), ">> hello ");
        e.home();
        e.word_right();
        assert_eq!(e.cursor(), ">>".len());
        e.word_right();
        assert_eq!(e.cursor(), ">> hello".len());
        e.kill_to_start();
        assert_eq!((e.text(), e.cursor()), (" ", 0));
        e.end();
        e.delete_back();
        assert!(e.text().is_empty());
    }

    #[test]
    fn the_cursor_steps_over_wide_and_combining_characters() {
        // "e" + combining acute, a CJK character (2 columns), a family emoji (ZWJ sequence).
        let mut e = editor("e\u{301}漢👨\u{200d}👩\u{200d}👧!");
        assert_eq!(cursor_width(&e), 1 + 2 + 2 + 1);
        e.left();
        e.left();
        assert_eq!(cursor_width(&e), 3);
        e.delete_forward();
        assert_eq!(e.text(), "e\u{301}漢!");
        e.left();
        e.delete_back();
        assert_eq!(e.text(), "漢!");
        e.right();
        e.right();
        e.right();
        assert_eq!(e.cursor(), e.text().len());
    }

    #[test]
    fn history_browses_back_and_returns_to_the_draft() {
        let mut h = History::default();
        h.push("one");
        h.push("two");
        h.push("two");
        h.push("  ");
        // Repeats and blank lines are not kept.
        assert_eq!(h.older("draft"), Some("two"));
        assert_eq!(h.older("two"), Some("one"));
        assert_eq!(h.older("one"), None);
        assert_eq!(h.newer(), Some("two"));
        assert_eq!(h.newer(), Some("draft"));
        assert_eq!(h.newer(), None);
    }

    #[test]
    fn tab_completes_the_word_and_cycles_through_matches() {
        let names = |_: &str, _: bool| vec!["alice".into(), "Albert".into(), "bob".into()];
        let mut e = editor("hi al");
        let c = Completion::complete(&mut e, None, names);
        assert_eq!(e.text(), "hi Albert");
        let c = Completion::complete(&mut e, c, names);
        assert_eq!(e.text(), "hi alice");
        let c = Completion::complete(&mut e, c, names);
        assert_eq!(e.text(), "hi Albert");
        assert!(c.is_some());
        let mut e = editor("zz");
        assert!(Completion::complete(&mut e, None, names).is_none());
        assert_eq!(e.text(), "zz");
    }

    #[test]
    fn completion_knows_whether_the_word_starts_the_line() {
        let candidates = |word: &str, first: bool| {
            assert_eq!(word, ":cr");
            assert!(first);
            vec![":create".into(), ":cr".into()]
        };
        let mut e = editor(":cr");
        // The exact word is no completion of itself.
        Completion::complete(&mut e, None, candidates);
        assert_eq!(e.text(), ":create");
    }
}
