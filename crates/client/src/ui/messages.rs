//! The message pane: a conversation's scrollback as wrapped rows, with the
//! time before each line, a separator where the day changes, a read marker
//! before the first line that came while the conversation was not on
//! screen, a stable colour per nick, your own lines in their own colour,
//! lines that mention you highlighted, and a style per kind of line.
//!
//! Only the rows on screen (and the ones scrolled past) are laid out,
//! newest first, so a long scrollback costs nothing while you read the end.

use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::Line;
use ratatui::widgets::Paragraph;
use ratatui::Frame;
use time::{OffsetDateTime, UtcOffset};

use super::wrap::wrap;
use crate::config::Theme;
use crate::state::{mentions, Conversation, Entry, What};

/// Who is reading and how lines are styled.
pub struct Reader<'a> {
    pub theme: &'a Theme,
    /// Our name: our own lines and mentions of us stand out.
    pub me: &'a str,
    /// Colours on (`NO_COLOR` unset): without them, modifiers alone
    /// set our lines (dim) and mentions (bold, underlined) apart.
    pub color: bool,
}

/// Columns of `HH:MM `, the hanging indent of wrapped lines.
const TIME_WIDTH: usize = 6;

/// The colour of `name`: the same on every run and for every user,
/// whatever its case.
pub fn nick_color(name: &str, theme: &Theme) -> Color {
    // FNV-1a: stable across runs and builds, unlike std's hasher.
    let hash = name
        .to_ascii_lowercase()
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
            (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
        });
    theme.nicks[(hash % theme.nicks.len() as u64) as usize]
}

fn local(at: i64, offset: UtcOffset) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(at) * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
        .to_offset(offset)
}

fn day_separator(at: i64, offset: UtcOffset, width: usize) -> Line<'static> {
    let day = local(at, offset);
    let label = format!(
        " {} {} {} {} ",
        day.weekday(),
        day.day(),
        day.month(),
        day.year()
    );
    let side = width.saturating_sub(label.chars().count()) / 2;
    let mut text = "─".repeat(side);
    text.push_str(&label);
    text.push_str(&"─".repeat(width.saturating_sub(side + label.chars().count())));
    Line::styled(text, Style::default().fg(Color::DarkGray))
}

/// The style of the text of a line from `from` saying `text`.
fn text_style(from: &str, text: &str, reader: &Reader) -> Style {
    let own = from.eq_ignore_ascii_case(reader.me);
    match (own, !own && mentions(text, reader.me), reader.color) {
        (true, _, true) => Style::default().fg(reader.theme.own),
        (true, _, false) => Style::default().add_modifier(Modifier::DIM),
        (false, true, true) => Style::default()
            .fg(reader.theme.mention)
            .add_modifier(Modifier::BOLD),
        (false, true, false) => {
            Style::default().add_modifier(Modifier::BOLD | Modifier::UNDERLINED)
        }
        (false, false, _) => Style::default(),
    }
}

/// The styled pieces of one entry, before wrapping.
fn pieces(entry: &Entry, offset: UtcOffset, reader: &Reader) -> Vec<(String, Style)> {
    let theme = reader.theme;
    let time = local(entry.at, offset);
    let stamp = (
        format!("{:02}:{:02} ", time.hour(), time.minute()),
        Style::default().fg(Color::DarkGray),
    );
    let nick = |name: &str| {
        let color = if name.eq_ignore_ascii_case(reader.me) {
            theme.own
        } else {
            nick_color(name, theme)
        };
        Style::default().fg(color).add_modifier(Modifier::BOLD)
    };
    let plain = Style::default();
    let mut out = vec![stamp];
    match &entry.what {
        What::Chat { from, text } => {
            out.push((from.clone(), nick(from)));
            out.push((": ".into(), plain));
            out.push((text.clone(), text_style(from, text, reader)));
        }
        What::Emote { from, text } => {
            let italic = text_style(from, text, reader).add_modifier(Modifier::ITALIC);
            out.push(("* ".into(), italic));
            out.push((from.clone(), nick(from).add_modifier(Modifier::ITALIC)));
            out.push((format!(" {text}"), italic));
        }
        What::FromRoom { from, room, text } => {
            out.push((from.clone(), nick(from)));
            out.push((
                format!("@{room}"),
                Style::default()
                    .fg(theme.accent)
                    .add_modifier(Modifier::ITALIC),
            ));
            out.push((": ".into(), plain));
            out.push((
                text.clone(),
                text_style(from, text, reader).add_modifier(Modifier::DIM),
            ));
        }
        What::Notice(text) => {
            out.push((format!("-- {text}"), Style::default().fg(Color::DarkGray)));
        }
        What::Info(text) => out.push((text.clone(), plain)),
        What::Error(text) => {
            out.push((format!("!! {text}"), Style::default().fg(Color::Red)));
        }
        What::Missed(count) => out.push((
            format!("-- you missed {count} messages; fetching them from history"),
            Style::default().fg(Color::Yellow),
        )),
    }
    out
}

/// The rows `entry` takes in a pane `width` columns wide (the day
/// separator aside). Colours and the time zone change no widths.
pub fn rows(entry: &Entry, width: usize) -> usize {
    let theme = Theme::default();
    let reader = Reader {
        theme: &theme,
        me: "",
        color: true,
    };
    wrap(&pieces(entry, UtcOffset::UTC, &reader), width, TIME_WIDTH).len()
}

/// The read marker: what came while you were away starts below it.
fn read_marker(width: usize) -> Line<'static> {
    let label = " new ";
    let side = width.saturating_sub(label.len()) / 2;
    let text = format!(
        "{}{label}{}",
        "─".repeat(side),
        "─".repeat(width.saturating_sub(side + label.len()))
    );
    Line::styled(text, Style::default().fg(Color::Red))
}

/// Draws the rows of `conversation` that fit `area`, `conversation.scroll`
/// rows up from the newest. Returns how far it can scroll up.
pub fn draw(
    frame: &mut Frame,
    area: Rect,
    conversation: &Conversation,
    offset: UtcOffset,
    reader: &Reader,
) -> usize {
    let width = usize::from(area.width);
    let height = usize::from(area.height);
    // Enough rows to fill the screen at this scroll, and a screenful more,
    // so that one PgUp is never cut short by rows not laid out yet.
    let wanted = 2 * height + conversation.scroll + 1;
    let mut rows: Vec<Line<'static>> = Vec::new();
    let entries = &conversation.entries;
    let first_fresh = entries.iter().position(|e| e.fresh);
    let mut index = entries.len();
    while index > 0 && rows.len() < wanted {
        index -= 1;
        let entry = &entries[index];
        let mut lines = wrap(&pieces(entry, offset, reader), width, TIME_WIDTH);
        if index > 0 && first_fresh == Some(index) {
            lines.insert(0, read_marker(width));
        }
        let new_day = match index.checked_sub(1) {
            Some(previous) => {
                local(entries[previous].at, offset).date() != local(entry.at, offset).date()
            }
            None => true,
        };
        if new_day {
            lines.insert(0, day_separator(entry.at, offset, width));
        }
        rows.extend(lines.into_iter().rev());
    }
    let all_laid_out = index == 0;
    let max_scroll = if all_laid_out {
        rows.len().saturating_sub(height)
    } else {
        rows.len() - height
    };
    let scroll = conversation.scroll.min(max_scroll);
    let shown: Vec<Line<'static>> = rows
        .into_iter()
        .skip(scroll)
        .take(height)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    // Newest at the bottom: pad above when there are fewer rows than the pane.
    let pad = height.saturating_sub(shown.len());
    let lines: Vec<Line<'static>> = std::iter::repeat_n(Line::default(), pad)
        .chain(shown)
        .collect();
    frame.render_widget(Paragraph::new(lines), area);
    max_scroll
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nick_colours_are_stable_and_ignore_case() {
        let theme = Theme::default();
        assert_eq!(nick_color("alice", &theme), nick_color("ALICE", &theme));
        // Pinned: a name's colour must not change between releases.
        assert_eq!(nick_color("alice", &theme), Color::Blue);
        assert_eq!(nick_color("bob", &theme), Color::Yellow);
        let colours: std::collections::HashSet<_> = ["alice", "bob", "carol", "dave", "erin"]
            .iter()
            .map(|n| nick_color(n, &theme))
            .collect();
        assert!(colours.len() > 1, "names spread over the palette");
    }
}
