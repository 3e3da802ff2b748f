//! The keyboard, the mouse wheel and bracketed paste; the masked prompt's
//! keys; scrolling, which pages older history in past the top.

use crossterm::event::{Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseEventKind};

use super::{Answer, App, Fetch, Pending, Prompt, OLDER_PAGE, WHEEL_ROWS};
use crate::commands::{self, Command};
use crate::input::Completion;
use crate::protocol::Request;
use crate::secret::Secret;
use crate::state::Kind;

impl App {
    pub fn on_terminal(&mut self, event: Event) {
        self.handle_terminal(event);
        self.pump();
    }

    fn handle_terminal(&mut self, event: Event) {
        match event {
            Event::Key(key) if key.kind != KeyEventKind::Release => self.on_key(key),
            Event::Paste(text) => self.on_paste(&text),
            Event::Mouse(mouse) => match mouse.kind {
                MouseEventKind::ScrollUp => self.scroll_up(WHEEL_ROWS),
                MouseEventKind::ScrollDown => self.scroll_down(WHEEL_ROWS),
                _ => {}
            },
            _ => {}
        }
    }

    fn on_key(&mut self, key: KeyEvent) {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        let alt = key.modifiers.contains(KeyModifiers::ALT);
        if self.paste.is_some() {
            return self.confirm_paste(key.code);
        }
        if self.prompt.is_some() {
            return self.prompt_key(key.code, ctrl);
        }
        if key.code != KeyCode::Tab {
            self.completion = None;
        }
        match key.code {
            KeyCode::Char('c') if ctrl => self.execute(Command::Quit),
            KeyCode::Char('n') if ctrl => self.conversations.cycle(true),
            KeyCode::Char('p') if ctrl => self.conversations.cycle(false),
            KeyCode::Char('a') if ctrl => self.editor.home(),
            KeyCode::Char('e') if ctrl => self.editor.end(),
            KeyCode::Char('k') if ctrl => self.editor.kill_to_end(),
            KeyCode::Char('u') if ctrl => self.editor.kill_to_start(),
            KeyCode::Char('w') if ctrl => self.editor.kill_word_back(),
            KeyCode::Char('b') if alt => self.editor.word_left(),
            KeyCode::Char('f') if alt => self.editor.word_right(),
            KeyCode::Char(digit @ '1'..='9') if alt => {
                self.conversations.select(digit as usize - '1' as usize);
            }
            KeyCode::Char('a') if alt => match self.conversations.next_unread() {
                Some(index) => self.conversations.select(index),
                None => {
                    let here = self.conversations.selected;
                    self.notice(here, "nothing unread");
                }
            },
            KeyCode::Char('l') if ctrl => self.repaint = true,
            KeyCode::Char(c) if !ctrl && !alt => self.editor.insert(c.encode_utf8(&mut [0; 4])),
            KeyCode::Left => self.editor.left(),
            KeyCode::Right => self.editor.right(),
            KeyCode::Home => self.editor.home(),
            KeyCode::End => self.editor.end(),
            KeyCode::Backspace => self.editor.delete_back(),
            KeyCode::Delete => self.editor.delete_forward(),
            KeyCode::Up => {
                let current = self.editor.text().to_owned();
                if let Some(line) = self.history.older(&current) {
                    let line = line.to_owned();
                    self.editor.set(&line);
                }
            }
            KeyCode::Down => {
                if let Some(line) = self.history.newer() {
                    let line = line.to_owned();
                    self.editor.set(&line);
                }
            }
            KeyCode::PageUp => self.scroll_up(self.viewport.rows.saturating_sub(1).max(1)),
            KeyCode::PageDown => self.scroll_down(self.viewport.rows.saturating_sub(1).max(1)),
            KeyCode::F(2) => self.show_members = !self.show_members,
            KeyCode::Tab => self.complete(),
            KeyCode::Enter => self.submit(),
            _ => {}
        }
    }

    fn complete(&mut self) {
        let conversation = self.conversations.current();
        let mut nicks: Vec<String> = conversation
            .members
            .iter()
            .map(|m| m.name.clone())
            .collect();
        let mut rooms: Vec<String> = self.known_rooms.clone();
        for c in &self.conversations.list[1..] {
            match c.kind {
                Kind::Room => rooms.push(c.name.clone()),
                Kind::Private => nicks.push(c.name.clone()),
                Kind::Status => {}
            }
        }
        let me = self.me.clone();
        let previous = self.completion.take();
        self.completion = Completion::complete(&mut self.editor, previous, |word, first| {
            if first && word.starts_with(':') {
                return commands::names().collect();
            }
            nicks.retain(|n| !n.eq_ignore_ascii_case(&me));
            if first {
                // Addressing someone: `bob: `.
                nicks = nicks.into_iter().map(|n| format!("{n}: ")).collect();
            }
            nicks.into_iter().chain(rooms).collect()
        });
    }

    fn on_paste(&mut self, text: &str) {
        if self.prompt.is_some() {
            // Pasting a password is fine; its line breaks end nothing.
            if let Some(prompt) = &mut self.prompt {
                for c in text.chars().filter(|c| !c.is_control()) {
                    prompt.secret.push(c);
                }
            }
            return;
        }
        let text = text.replace("\r\n", "\n").replace('\r', "\n");
        let lines: Vec<String> = text
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| {
                l.replace('\t', "    ")
                    .chars()
                    .filter(|&c| shown(c))
                    .collect()
            })
            .collect();
        match lines.len() {
            0 => {}
            1 => self.editor.insert(&lines[0]),
            _ => self.paste = Some(lines),
        }
    }

    fn confirm_paste(&mut self, key: KeyCode) {
        let Some(lines) = self.paste.take() else {
            return;
        };
        if matches!(key, KeyCode::Char('y') | KeyCode::Char('Y')) {
            // Pasted lines are chat, even one that starts with ':'. They go
            // at the pace the server takes, all of them; a line the server
            // would refuse as too long waits in the input instead.
            let here = self.conversations.selected;
            let count = lines.len();
            let mut long: Vec<(usize, String)> = Vec::new();
            let mut fit: Vec<String> = Vec::new();
            for (number, line) in lines.into_iter().enumerate() {
                if super::lines::too_long(&line) {
                    long.push((number, line));
                } else {
                    fit.push(line);
                }
            }
            for line in fit {
                self.say_line(line, false, true);
            }
            if let Some((number, line)) = long.first() {
                self.error(
                    here,
                    format!(
                        "{} of the {count} pasted lines {} over {} bytes, more than the server takes; \
                         line {} is in the input to shorten (the rest were sent)",
                        long.len(),
                        if long.len() == 1 { "is" } else { "are" },
                        super::MAX_LINE_BYTES,
                        number + 1
                    ),
                );
                let line = line.clone();
                self.editor.set(&line);
            }
        } else {
            let here = self.conversations.selected;
            self.notice(
                here,
                format!("the paste of {} lines was not sent", lines.len()),
            );
        }
    }

    fn prompt_key(&mut self, key: KeyCode, ctrl: bool) {
        let Some(prompt) = &mut self.prompt else {
            return;
        };
        match key {
            KeyCode::Esc | KeyCode::Char('c') if ctrl || key == KeyCode::Esc => {
                self.prompt = None;
                let here = self.conversations.selected;
                self.notice(here, "cancelled");
            }
            KeyCode::Char('u') if ctrl => prompt.secret = Secret::default(),
            KeyCode::Char(c) if !ctrl => prompt.secret.push(c),
            KeyCode::Backspace => prompt.secret.pop(),
            KeyCode::Enter => {
                let prompt = self.prompt.take().expect("checked above");
                self.answer(prompt);
            }
            _ => {}
        }
    }

    fn answer(&mut self, prompt: Prompt) {
        let here = self.conversations.selected;
        if prompt.secret.is_empty() {
            return self.notice(here, "cancelled");
        }
        match prompt.purpose {
            Answer::Join { room, rejoin } => {
                let since = if rejoin {
                    self.conversations.room(&room).and_then(|c| c.newest_id())
                } else {
                    None
                };
                self.request(
                    Request::Join {
                        room: room.clone(),
                        password: Some(prompt.secret.clone()),
                        since,
                    },
                    Pending::Join {
                        room,
                        password: Some(prompt.secret),
                        rejoin,
                    },
                );
            }
            Answer::NewPassword { room } => {
                self.prompt = Some(Prompt {
                    label: format!("the new password for {room} again"),
                    secret: Secret::default(),
                    purpose: Answer::Confirm {
                        room,
                        first: prompt.secret,
                    },
                });
            }
            Answer::Confirm { room, first } => {
                if first != prompt.secret {
                    return self.error(here, "the two passwords differ; nothing changed");
                }
                if let Some(conversation) = self.conversations.room(&room) {
                    conversation.password = Some(first.clone());
                }
                self.request(
                    Request::SetPassword {
                        room: room.clone(),
                        password: first,
                    },
                    Pending::Room { room },
                );
            }
        }
    }

    fn scroll_up(&mut self, rows: usize) {
        let max = self.viewport.max_scroll;
        let online = self.online;
        let conversation = self.conversations.current_mut();
        let at_top = conversation.scroll >= max;
        conversation.scroll = (conversation.scroll + rows).min(max);
        if at_top
            && online
            && conversation.kind == Kind::Room
            && conversation.joined
            && !conversation.history_start
            && !conversation.loading_older
        {
            conversation.loading_older = true;
            let room = conversation.name.clone();
            let before = conversation.oldest_id();
            self.request(
                Request::History {
                    room: room.clone(),
                    limit: Some(OLDER_PAGE),
                    before,
                },
                Pending::History {
                    room,
                    purpose: Fetch::Older,
                    limit: OLDER_PAGE,
                },
            );
        }
    }

    fn scroll_down(&mut self, rows: usize) {
        self.conversations.current_mut().scroll_down(rows);
    }
}

/// Whether a pasted character may be kept: no control characters (an
/// escape sequence would reach our own screen before the server cleans the
/// line) and no bidi embeddings, overrides or isolates, which the server
/// removes too.
fn shown(c: char) -> bool {
    !c.is_control() && !matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}
