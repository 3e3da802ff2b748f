//! Breaking styled text into rows of a given width, measured in terminal
//! columns: a CJK character or an emoji takes two, a combining mark none.
//!
//! Emoji sequences are drawn in a form every terminal advances the same
//! way ([`glyphs`]): terminals (and tmux versions) disagree on how wide a
//! zero-width-joiner sequence, a skin-tone modifier or variation selector
//! 16 makes an emoji, and when the client's count and the terminal's
//! differ, the rest of the row shifts and glyphs are lost. So joiners
//! between emoji, VS16 and skin-tone modifiers are left out of what is
//! drawn (a family shows as its members side by side, a waving hand in its
//! default tone); what is sent and stored is untouched.
//!
//! Text is cut into grapheme clusters (an emoji with its joiners, a letter
//! with its accents) so that nothing is split in the middle; lines break at
//! spaces where they can and inside a word only when the word is wider than
//! a row. Continuation rows are indented so a message's text lines up.

use std::borrow::Cow;

use ratatui::style::Style;
use ratatui::text::{Line, Span};
use unicode_segmentation::UnicodeSegmentation;
use unicode_width::UnicodeWidthStr;

/// One grapheme cluster with its style and width.
struct Cell<'a> {
    text: &'a str,
    style: Style,
    width: usize,
}

/// Zero-width joiner.
const ZWJ: char = '\u{200d}';
/// Variation selector 16 (emoji presentation).
const VS16: char = '\u{fe0f}';

/// Whether `c` is a skin-tone (Fitzpatrick) modifier.
fn skin_tone(c: char) -> bool {
    ('\u{1f3fb}'..='\u{1f3ff}').contains(&c)
}

/// Whether `c` may be part of an emoji sequence (symbols and pictographs
/// from U+2600 up, outside the CJK and Hangul blocks).
fn pictographic(c: char) -> bool {
    matches!(c, '\u{2600}'..='\u{27bf}' | '\u{2b00}'..='\u{2bff}' | '\u{1f000}'..='\u{1faff}')
}

/// `text` as it is drawn: emoji sequences taken apart (see the module's
/// doc): VS16 and skin-tone modifiers after another character left out,
/// and a joiner left out when an emoji stands on either side of it.
pub fn glyphs(text: &str) -> Cow<'_, str> {
    if !text.chars().any(|c| c == ZWJ || c == VS16 || skin_tone(c)) {
        return Cow::Borrowed(text);
    }
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    for (i, &c) in chars.iter().enumerate() {
        let before = i.checked_sub(1).map(|j| chars[j]);
        let after = chars.get(i + 1).copied();
        let keep = match c {
            VS16 => false,
            c if skin_tone(c) => before.is_none_or(char::is_whitespace),
            ZWJ => {
                !(before.is_some_and(|b| pictographic(b) || b == VS16 || skin_tone(b))
                    || after.is_some_and(pictographic))
            }
            _ => true,
        };
        if keep {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Wraps `spans` to `width` columns; rows after the first start with
/// `indent` spaces. A zero width gives no rows.
pub fn wrap(spans: &[(String, Style)], width: usize, indent: usize) -> Vec<Line<'static>> {
    if width == 0 {
        return Vec::new();
    }
    let indent = if indent * 2 > width { 0 } else { indent };
    let drawn: Vec<(Cow<str>, Style)> = spans
        .iter()
        .map(|(text, style)| (glyphs(text), *style))
        .collect();
    let cells: Vec<Cell> = drawn
        .iter()
        .flat_map(|(text, style)| {
            text.graphemes(true).map(move |g| {
                // A tab (the only control character the server lets
                // through) would have no width and move the terminal's cursor.
                let g = if g.chars().any(char::is_control) {
                    " "
                } else {
                    g
                };
                Cell {
                    text: g,
                    style: *style,
                    width: g.width(),
                }
            })
        })
        .collect();
    let mut rows: Vec<Vec<&Cell>> = vec![Vec::new()];
    let mut col = 0;
    let mut i = 0;
    while i < cells.len() {
        if cells[i].text == " " {
            if col < width {
                rows.last_mut().expect("one row").push(&cells[i]);
                col += 1;
            } else {
                rows.push(Vec::new());
                col = indent;
            }
            i += 1;
            continue;
        }
        let end = (i..cells.len())
            .find(|&j| cells[j].text == " ")
            .unwrap_or(cells.len());
        let word_width: usize = cells[i..end].iter().map(|c| c.width).sum();
        if col + word_width > width && col > indent && indent + word_width <= width {
            rows.push(Vec::new());
            col = indent;
        }
        for cell in &cells[i..end] {
            if col + cell.width > width && col > indent {
                rows.push(Vec::new());
                col = indent;
            }
            rows.last_mut().expect("one row").push(cell);
            col += cell.width;
        }
        i = end;
    }
    rows.into_iter()
        .enumerate()
        .map(|(n, row)| line(&row, if n == 0 { 0 } else { indent }))
        .collect()
}

/// A row of cells as a line of spans, one span per run of one style.
fn line(row: &[&Cell], indent: usize) -> Line<'static> {
    let mut spans: Vec<Span<'static>> = Vec::new();
    if indent > 0 {
        spans.push(Span::raw(" ".repeat(indent)));
    }
    let mut run = String::new();
    let mut style = None;
    for cell in row {
        if style.is_some_and(|s| s != cell.style) {
            spans.push(Span::styled(std::mem::take(&mut run), style.expect("set")));
        }
        style = Some(cell.style);
        run.push_str(cell.text);
    }
    if let Some(style) = style {
        spans.push(Span::styled(run, style));
    }
    Line::from(spans)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(text: &str, width: usize, indent: usize) -> Vec<String> {
        wrap(&[(text.to_owned(), Style::default())], width, indent)
            .iter()
            .map(|line| line.spans.iter().map(|s| s.content.as_ref()).collect())
            .collect()
    }

    #[test]
    fn lines_break_at_spaces_with_a_hanging_indent() {
        assert_eq!(
            rows("12:00 bob: the quick brown fox", 16, 6),
            ["12:00 bob: the ", "      quick ", "      brown fox"]
        );
    }

    #[test]
    fn tabs_become_spaces() {
        assert_eq!(rows("a\tb", 10, 0), ["a b"]);
    }

    #[test]
    fn a_word_wider_than_a_row_is_cut() {
        assert_eq!(rows("abcdefghij", 4, 0), ["abcd", "efgh", "ij"]);
    }

    #[test]
    fn wide_characters_take_two_columns_and_are_never_split() {
        // Five CJK characters are ten columns: three rows of width 4 hold 2 + 2 + 1.
        assert_eq!(rows("漢字漢字漢", 5, 0), ["漢字", "漢字", "漢"]);
        for row in rows("漢字漢字漢", 5, 0) {
            assert!(row.width() <= 5);
        }
        // A flag and an accented letter stay whole.
        assert_eq!(rows("🇫🇷🇫🇷", 3, 0), ["🇫🇷", "🇫🇷"]);
        assert_eq!(
            rows("e\u{301}e\u{301}e\u{301}", 2, 0),
            ["e\u{301}e\u{301}", "e\u{301}"]
        );
    }

    #[test]
    fn emoji_sequences_are_drawn_apart_with_the_width_of_their_parts() {
        let family = "👨\u{200d}👩\u{200d}👧";
        assert_eq!(glyphs(family), "👨👩👧");
        assert_eq!(glyphs(family).width(), 6);
        assert_eq!(glyphs("👍\u{1f3fd}"), "👍");
        assert_eq!(glyphs("❤\u{fe0f}"), "❤");
        assert_eq!(glyphs("🏳\u{fe0f}\u{200d}🌈"), "🏳🌈");
        assert_eq!(glyphs("👩\u{1f3fd}\u{200d}💻"), "👩💻");
        // Flags, accents, CJK and plain text are left alone.
        for text in ["🇫🇷", "e\u{301}", "漢字", "plain"] {
            assert!(matches!(glyphs(text), Cow::Borrowed(_)), "{text}");
        }
        // A joiner in a script that shapes with it stays.
        assert_eq!(glyphs("क्\u{200d}ष"), "क्\u{200d}ष");
        // A lone tone swatch is shown.
        assert_eq!(glyphs("\u{1f3fd}"), "\u{1f3fd}");
        // Each part is its own cell: three rows of one person at width 2.
        assert_eq!(rows(family, 2, 0), ["👨", "👩", "👧"]);
    }

    #[test]
    fn styles_survive_the_wrapping() {
        let bold = Style::default().add_modifier(ratatui::style::Modifier::BOLD);
        let lines = wrap(
            &[
                ("alice".into(), bold),
                (": hi there".into(), Style::default()),
            ],
            10,
            2,
        );
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].spans[0].content, "alice");
        assert_eq!(lines[0].spans[0].style, bold);
        assert_eq!(lines[1].spans.last().unwrap().content, "there");
    }
}
