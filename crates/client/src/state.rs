//! What the client knows: its conversations (the status pane, rooms and
//! private conversations), their scrollback, unread counts and mention
//! marks, members and topics.
//!
//! Room messages are kept in message-id order and each id at most once, so
//! a message that arrives twice (live and again in a history page after a
//! reconnect) is shown once, and one that arrives late (a history page
//! filling a gap) lands where it belongs. [`next_gap_page`] is the whole
//! rule for filling a gap: page back until the gap is closed.

use std::collections::BTreeSet;

use crate::protocol::{Member, MessageKind, RoomMessage};
use crate::secret::Secret;

/// Lines of scrollback a conversation keeps; older ones are dropped (and
/// can be paged back in from the server's history).
pub const SCROLLBACK_LIMIT: usize = 5_000;

/// What kind of pane a conversation is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The client's own pane: help, server replies that concern no room.
    Status,
    Room,
    /// A private conversation with one person, named after them.
    Private,
}

/// One line of scrollback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The stored message id, for room messages.
    pub id: Option<i64>,
    /// Unix milliseconds.
    pub at: i64,
    pub what: What,
    /// A message that arrived while its conversation was not on screen:
    /// the read marker is drawn before the first one.
    pub fresh: bool,
}

impl What {
    /// Something someone said (not the client's or server's own word).
    pub fn is_message(&self) -> bool {
        matches!(
            self,
            What::Chat { .. } | What::Emote { .. } | What::FromRoom { .. }
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum What {
    Chat {
        from: String,
        text: String,
    },
    Emote {
        from: String,
        text: String,
    },
    /// Said into this room from another (`:erm` on the text door).
    FromRoom {
        from: String,
        room: String,
        text: String,
    },
    /// Something the client or server says: joins, topic changes, replies.
    Notice(String),
    /// An answer to be read as it is: help, `:rooms`, `:who`.
    Info(String),
    Error(String),
    /// Messages the server dropped for us (then fetched from history).
    Missed(usize),
}

/// A room, a private conversation or the status pane.
#[derive(Debug, Clone)]
pub struct Conversation {
    pub kind: Kind,
    /// As the server spells it (rooms), or the other person's name.
    pub name: String,
    pub entries: Vec<Entry>,
    /// Message ids in `entries`.
    ids: BTreeSet<i64>,
    pub unread: usize,
    pub mention: bool,
    pub topic: Option<String>,
    pub members: Vec<Member>,
    pub locked: bool,
    /// In the room now (false while disconnected, or after a kick).
    pub joined: bool,
    /// Was joined when the connection was lost: join again on reconnect.
    pub rejoin: bool,
    /// Rows scrolled up from the newest line.
    pub scroll: usize,
    /// Lines that arrived below the view while scrolled up.
    pub new_below: usize,
    /// On screen now: what arrives is read, not fresh.
    pub on_screen: bool,
    /// The server has no older history for this room.
    pub history_start: bool,
    /// An older page is on its way.
    pub loading_older: bool,
    /// The password this room was entered with, to rejoin after a reconnect.
    /// It goes nowhere but into a `join` request.
    pub password: Option<Secret>,
}

impl Conversation {
    pub fn new(kind: Kind, name: &str) -> Self {
        Self {
            kind,
            name: name.to_owned(),
            entries: Vec::new(),
            ids: BTreeSet::new(),
            unread: 0,
            mention: false,
            topic: None,
            members: Vec::new(),
            locked: false,
            joined: false,
            rejoin: false,
            scroll: 0,
            new_below: 0,
            on_screen: false,
            history_start: false,
            loading_older: false,
            password: None,
        }
    }

    pub fn is(&self, kind: Kind, name: &str) -> bool {
        self.kind == kind && self.name.eq_ignore_ascii_case(name)
    }

    /// The newest message id held.
    pub fn newest_id(&self) -> Option<i64> {
        self.ids.last().copied()
    }

    /// The oldest message id held.
    pub fn oldest_id(&self) -> Option<i64> {
        self.ids.first().copied()
    }

    /// Adds a line the client makes (no message id) at the end.
    pub fn push(&mut self, at: i64, what: What) {
        let fresh = !self.on_screen && what.is_message();
        self.entries.push(Entry {
            id: None,
            at,
            what,
            fresh,
        });
        self.trim();
    }

    /// Scrolls down `rows`; at the bottom, nothing is new below.
    pub fn scroll_down(&mut self, rows: usize) {
        self.scroll = self.scroll.saturating_sub(rows);
        if self.scroll == 0 {
            self.new_below = 0;
        }
    }

    /// Everything here has been seen: no read marker.
    fn mark_read(&mut self) {
        for entry in &mut self.entries {
            entry.fresh = false;
        }
    }

    /// Adds a stored room message where its id puts it; `false` when it was
    /// already there.
    pub fn insert_message(&mut self, message: &RoomMessage) -> bool {
        if !self.ids.insert(message.id) {
            return false;
        }
        let what = match message.kind {
            MessageKind::Chat => What::Chat {
                from: message.from.clone(),
                text: message.text.clone(),
            },
            MessageKind::Emote => What::Emote {
                from: message.from.clone(),
                text: message.text.clone(),
            },
            MessageKind::FromRoom => What::FromRoom {
                from: message.from.clone(),
                room: message.from_room.clone().unwrap_or_default(),
                text: message.text.clone(),
            },
            MessageKind::Notice => What::Notice(format!("-{}- {}", message.from, message.text)),
        };
        // Before the first newer message; among the client's own lines
        // before that, by time.
        let mut at = self
            .entries
            .iter()
            .position(|e| e.id.is_some_and(|id| id > message.id))
            .unwrap_or(self.entries.len());
        while at > 0 && self.entries[at - 1].id.is_none() && self.entries[at - 1].at > message.at {
            at -= 1;
        }
        self.entries.insert(
            at,
            Entry {
                id: Some(message.id),
                at: message.at,
                what,
                fresh: !self.on_screen,
            },
        );
        self.trim();
        true
    }

    fn trim(&mut self) {
        if self.entries.len() > SCROLLBACK_LIMIT {
            let cut = self.entries.len() - SCROLLBACK_LIMIT;
            for entry in self.entries.drain(..cut) {
                if let Some(id) = entry.id {
                    self.ids.remove(&id);
                }
            }
            self.history_start = false;
        }
    }
}

/// After a page of history (oldest first) fetched to fill a gap that began
/// after message `since` (`None`: the whole history is wanted): the `before`
/// of the next page to ask for, or `None` when the gap is closed. It is
/// closed once a page reaches back to `since`, or comes back shorter than
/// asked (the start of the room's history).
pub fn next_gap_page(since: Option<i64>, page: &[RoomMessage], limit: usize) -> Option<i64> {
    let oldest = page.first()?;
    if since.is_some_and(|since| oldest.id <= since) || page.len() < limit {
        return None;
    }
    Some(oldest.id)
}

/// Whether `text` mentions `name` (as a whole word, ignoring case).
pub fn mentions(text: &str, name: &str) -> bool {
    !name.is_empty()
        && text
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
            .any(|word| word.eq_ignore_ascii_case(name))
}

/// Every conversation, in sidebar order: the status pane, then rooms and
/// private conversations in the order they were opened.
#[derive(Debug)]
pub struct Conversations {
    pub list: Vec<Conversation>,
    /// Index of the one on screen.
    pub selected: usize,
}

impl Default for Conversations {
    fn default() -> Self {
        let mut status = Conversation::new(Kind::Status, "banter");
        status.on_screen = true;
        Self {
            list: vec![status],
            selected: 0,
        }
    }
}

impl Conversations {
    pub fn find(&self, kind: Kind, name: &str) -> Option<usize> {
        self.list.iter().position(|c| c.is(kind, name))
    }

    /// The conversation, opened (at the end of the sidebar) if new.
    pub fn open(&mut self, kind: Kind, name: &str) -> &mut Conversation {
        let index = match self.find(kind, name) {
            Some(index) => index,
            None => {
                self.list.push(Conversation::new(kind, name));
                self.list.len() - 1
            }
        };
        &mut self.list[index]
    }

    pub fn room(&mut self, name: &str) -> Option<&mut Conversation> {
        let index = self.find(Kind::Room, name)?;
        Some(&mut self.list[index])
    }

    pub fn status(&mut self) -> &mut Conversation {
        &mut self.list[0]
    }

    pub fn current(&self) -> &Conversation {
        &self.list[self.selected]
    }

    pub fn current_mut(&mut self) -> &mut Conversation {
        &mut self.list[self.selected]
    }

    /// Shows conversation `index`, clearing its unread count and mention;
    /// the one left has been read (its read marker goes).
    pub fn select(&mut self, index: usize) {
        if index < self.list.len() {
            if index != self.selected {
                if let Some(left) = self.list.get_mut(self.selected) {
                    left.on_screen = false;
                    left.mark_read();
                }
            }
            self.selected = index;
            let conversation = &mut self.list[index];
            conversation.unread = 0;
            conversation.mention = false;
            conversation.on_screen = true;
        }
    }

    /// The next conversation with unread lines after the one on screen
    /// (one with a mention or private message first), wrapping around.
    pub fn next_unread(&self) -> Option<usize> {
        let len = self.list.len();
        let order = (1..len).map(|step| (self.selected + step) % len);
        order
            .clone()
            .find(|&i| self.list[i].mention)
            .or_else(|| order.clone().find(|&i| self.list[i].unread > 0))
    }

    /// Ctrl-N / Ctrl-P: the next or previous conversation, wrapping.
    pub fn cycle(&mut self, forward: bool) {
        let len = self.list.len();
        let next = if forward {
            (self.selected + 1) % len
        } else {
            (self.selected + len - 1) % len
        };
        self.select(next);
    }

    /// Removes a conversation (not the status pane).
    pub fn close(&mut self, index: usize) {
        if index == 0 || index >= self.list.len() {
            return;
        }
        self.list.remove(index);
        if self.selected >= index {
            self.selected -= 1;
        }
        let selected = self.selected;
        self.list[selected].on_screen = true;
        self.select(selected);
    }

    /// Counts a new line in conversation `index` as unread unless it is on
    /// screen; a mention also sets the mark.
    pub fn mark_unread(&mut self, index: usize, mention: bool) {
        if index != self.selected {
            let conversation = &mut self.list[index];
            conversation.unread += 1;
            conversation.mention |= mention;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(id: i64, text: &str) -> RoomMessage {
        RoomMessage {
            room: "games".into(),
            from: "bob".into(),
            text: text.into(),
            id,
            at: id * 1000,
            kind: MessageKind::Chat,
            from_room: None,
        }
    }

    fn texts(conversation: &Conversation) -> Vec<String> {
        conversation
            .entries
            .iter()
            .map(|e| match &e.what {
                What::Chat { text, .. } => text.clone(),
                What::Notice(text) => format!("-- {text}"),
                other => format!("{other:?}"),
            })
            .collect()
    }

    #[test]
    fn messages_land_in_id_order_once_each() {
        let mut room = Conversation::new(Kind::Room, "games");
        for id in [10, 20] {
            assert!(room.insert_message(&message(id, &id.to_string())));
        }
        room.push(21_000, What::Notice("disconnected".into()));
        room.push(40_000, What::Notice("reconnected".into()));
        assert!(room.insert_message(&message(50, "50")));
        // A gap-filling page overlapping what is there: 20 again, 30 and 45 new.
        let page: Vec<bool> = [20, 30, 45]
            .iter()
            .map(|&id| room.insert_message(&message(id, &id.to_string())))
            .collect();
        assert_eq!(page, [false, true, true]);
        assert!(room.insert_message(&message(5, "5")));
        assert_eq!(
            texts(&room),
            [
                "5",
                "10",
                "20",
                "-- disconnected",
                "30",
                "-- reconnected",
                "45",
                "50"
            ]
        );
        assert_eq!((room.oldest_id(), room.newest_id()), (Some(5), Some(50)));
    }

    #[test]
    fn a_gap_is_paged_back_until_it_is_closed() {
        let page = |ids: &[i64]| ids.iter().map(|&id| message(id, "")).collect::<Vec<_>>();
        // A full page that does not reach back to 10: ask for what is before it.
        assert_eq!(next_gap_page(Some(10), &page(&[30, 31, 32]), 3), Some(30));
        // Reaching back to (or past) the last id seen before the gap closes it.
        assert_eq!(next_gap_page(Some(10), &page(&[10, 31, 32]), 3), None);
        assert_eq!(next_gap_page(Some(10), &page(&[7, 8, 9]), 3), None);
        // A short page is the start of the room's history.
        assert_eq!(next_gap_page(Some(10), &page(&[30, 31]), 3), None);
        assert_eq!(next_gap_page(None, &page(&[1, 2, 3]), 3), Some(1));
        assert_eq!(next_gap_page(Some(10), &[], 3), None);
    }

    #[test]
    fn unread_counts_clear_when_the_conversation_is_shown() {
        let mut all = Conversations::default();
        all.open(Kind::Room, "games");
        all.open(Kind::Private, "bob");
        all.select(1);
        all.mark_unread(1, true);
        all.mark_unread(2, false);
        all.mark_unread(2, true);
        assert_eq!((all.list[1].unread, all.list[1].mention), (0, false));
        assert_eq!((all.list[2].unread, all.list[2].mention), (2, true));
        all.cycle(true);
        assert_eq!((all.selected, all.list[2].unread), (2, 0));
        all.cycle(true);
        assert_eq!(all.selected, 0);
        all.close(1);
        assert_eq!((all.list.len(), all.selected), (2, 0));
        assert_eq!(all.find(Kind::Private, "BOB"), Some(1));
    }

    #[test]
    fn what_arrives_off_screen_is_fresh_until_the_room_is_left_again() {
        let mut all = Conversations::default();
        all.open(Kind::Room, "games");
        all.open(Kind::Room, "cafe");
        all.select(1);
        all.list[1].insert_message(&message(1, "seen"));
        all.select(0);
        all.list[1].insert_message(&message(2, "new"));
        all.list[1].push(3_000, What::Notice("bob joined".into()));
        let fresh: Vec<bool> = all.list[1].entries.iter().map(|e| e.fresh).collect();
        assert_eq!(fresh, [false, true, false]);
        all.mark_unread(1, false);
        all.mark_unread(2, true);
        // The mention first, then the rest.
        assert_eq!(all.next_unread(), Some(2));
        all.select(2);
        assert_eq!(all.next_unread(), Some(1));
        all.select(1);
        assert_eq!(all.next_unread(), None);
        // On screen, the marker stays; once left, it is gone.
        assert!(all.list[1].entries[1].fresh);
        all.select(0);
        assert!(all.list[1].entries.iter().all(|e| !e.fresh));
    }

    #[test]
    fn mentions_are_whole_words_ignoring_case() {
        assert!(mentions("hey Alice, look", "alice"));
        assert!(mentions("alice: hi", "alice"));
        assert!(!mentions("malice aforethought", "alice"));
        assert!(!mentions("alice_b", "alice"));
        assert!(!mentions("anything", ""));
    }
}
