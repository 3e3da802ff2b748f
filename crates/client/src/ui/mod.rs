//! Drawing the screen with ratatui, from the app's state alone:
//!
//! ```text
//! ┌ topic bar ─────────────────────────────────────────┐
//! │ sidebar │ messages                       │ members │
//! ├ status line ───────────────────────────────────────┤
//! └ input line (or the masked prompt) ─────────────────┘
//! ```
//!
//! The side panes give way to the messages as the screen narrows: the
//! member list first (below [`MEMBERS_FROM`] columns), then the sidebar
//! (below [`NARROW`]), whose unread marks then move to the status line.
//! With `NO_COLOR` set, every colour is taken out of the finished drawing
//! and coloured backgrounds become reverse video, so nothing that colour
//! told apart is lost.
//!
//! Nothing here changes the app except through the returned [`Viewport`],
//! so a drawing can be checked against a `TestBackend` buffer.

pub(crate) mod messages;
mod wrap;

use ratatui::layout::{Constraint, Layout, Position, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};
use ratatui::Frame;
use time::UtcOffset;
use unicode_segmentation::UnicodeSegmentation;
use unicode_width::UnicodeWidthStr;

use crate::app::{App, Viewport};
use crate::config::Theme;
use crate::connection::Link;
use crate::state::{Conversation, Kind};

use messages::nick_color;

/// Columns of the sidebar.
const SIDEBAR_WIDTH: u16 = 18;
/// Columns of the member list.
const MEMBERS_WIDTH: u16 = 16;
/// Below this width the sidebar gives way to the messages.
const NARROW: u16 = 50;
/// The fewest columns the message pane keeps while the member list is
/// shown; narrower, the list goes first.
const MESSAGES_MIN: u16 = 40;
/// From this width the member list fits beside the sidebar.
const MEMBERS_FROM: u16 = SIDEBAR_WIDTH + MESSAGES_MIN + MEMBERS_WIDTH;

/// How the screen looks: colours and the time zone timestamps are shown in.
#[derive(Debug, Clone)]
pub struct Look {
    pub theme: Theme,
    pub offset: UtcOffset,
    /// Colours on (`NO_COLOR` unset).
    pub color: bool,
}

/// Draws everything; returns the message pane's size and scroll limit.
pub fn draw(frame: &mut Frame, app: &App, look: &Look) -> Viewport {
    let [top, middle, status, input] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(1),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(frame.area());
    let conversation = app.conversations.current();
    let wide = frame.area().width >= NARROW;
    let members =
        frame.area().width >= MEMBERS_FROM && app.show_members && conversation.kind == Kind::Room;
    let [sidebar, messages, member_list] = Layout::horizontal([
        Constraint::Length(if wide { SIDEBAR_WIDTH } else { 0 }),
        Constraint::Min(1),
        Constraint::Length(if members { MEMBERS_WIDTH } else { 0 }),
    ])
    .areas(middle);

    topic_bar(frame, top, conversation, look);
    if wide {
        sidebar_pane(frame, sidebar, app, look);
    }
    let reader = messages::Reader {
        theme: &look.theme,
        me: &app.me,
        color: look.color,
    };
    let max_scroll = messages::draw(frame, messages, conversation, look.offset, &reader);
    if members {
        member_pane(frame, member_list, conversation, look);
    }
    status_line(frame, status, app, conversation, look, !wide);
    input_line(frame, input, app);
    if !look.color {
        without_color(frame);
    }
    Viewport {
        rows: usize::from(messages.height),
        width: usize::from(messages.width),
        max_scroll,
    }
}

/// Takes every colour out of the drawing; a coloured background (the topic
/// bar, the selected room, the status line) becomes reverse video.
fn without_color(frame: &mut Frame) {
    let area = frame.area();
    let buffer = frame.buffer_mut();
    for y in area.top()..area.bottom() {
        for x in area.left()..area.right() {
            if let Some(cell) = buffer.cell_mut(Position::new(x, y)) {
                if cell.bg != Color::Reset {
                    cell.modifier.insert(Modifier::REVERSED);
                }
                cell.fg = Color::Reset;
                cell.bg = Color::Reset;
            }
        }
    }
}

/// The unread marks the sidebar would show, for the status line when the
/// sidebar is hidden: `2:3 4:1!` (conversation 2 has 3 unread lines, 4 has
/// one that mentions you).
pub fn activity(app: &App) -> String {
    app.conversations
        .list
        .iter()
        .enumerate()
        .filter(|(_, c)| c.unread > 0 || c.mention)
        .map(|(index, c)| {
            let mark = if c.mention { "!" } else { "" };
            format!("{}:{}{mark}", index + 1, c.unread)
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn topic_bar(frame: &mut Frame, area: Rect, conversation: &Conversation, look: &Look) {
    let text = match conversation.kind {
        Kind::Status => "banter: :help shows the keys and commands".to_owned(),
        Kind::Private => format!("private conversation with {}", conversation.name),
        Kind::Room => {
            let mut text = format!("#{}", conversation.name);
            if conversation.locked {
                text.push_str(" [locked]");
            }
            if let Some(topic) = &conversation.topic {
                text.push_str(": ");
                text.push_str(topic);
            }
            text
        }
    };
    let style = Style::default().fg(Color::Black).bg(look.theme.accent);
    frame.render_widget(Paragraph::new(Line::styled(text, style)).style(style), area);
}

fn sidebar_pane(frame: &mut Frame, area: Rect, app: &App, look: &Look) {
    let width = usize::from(area.width.saturating_sub(1));
    let lines: Vec<Line> = app
        .conversations
        .list
        .iter()
        .enumerate()
        .map(|(index, c)| {
            let number = if index < 9 {
                format!("{} ", index + 1)
            } else {
                "  ".to_owned()
            };
            let name = match c.kind {
                Kind::Status => c.name.clone(),
                Kind::Room => format!("#{}", c.name),
                Kind::Private => format!("~{}", c.name),
            };
            let mark = match (c.unread, c.mention) {
                (0, false) => String::new(),
                (n, false) => format!(" {n}"),
                (n, true) => format!(" {n}!"),
            };
            let room = width.saturating_sub(number.width() + mark.width());
            let name: String = truncate(&name, room);
            let mut style = Style::default();
            if c.kind == Kind::Room && !c.joined {
                style = style.fg(Color::DarkGray);
            }
            if index == app.conversations.selected {
                style = style.fg(Color::Black).bg(look.theme.accent);
            }
            let mark_style = if c.mention {
                style.fg(Color::Red).add_modifier(Modifier::BOLD)
            } else {
                style.fg(Color::Yellow).add_modifier(Modifier::BOLD)
            };
            let pad = " ".repeat(room.saturating_sub(name.width()));
            Line::from(vec![
                Span::styled(number, style),
                Span::styled(name, style),
                Span::styled(pad, style),
                Span::styled(mark, mark_style),
            ])
        })
        .collect();
    let block = Block::default()
        .borders(Borders::RIGHT)
        .border_style(Style::default().fg(Color::DarkGray));
    frame.render_widget(Paragraph::new(lines).block(block), area);
}

fn member_pane(frame: &mut Frame, area: Rect, conversation: &Conversation, look: &Look) {
    let width = usize::from(area.width.saturating_sub(1));
    let mut lines = vec![Line::styled(
        truncate(&format!("members ({})", conversation.members.len()), width),
        Style::default().add_modifier(Modifier::BOLD),
    )];
    for member in &conversation.members {
        let mark = if member.host { "@" } else { " " };
        lines.push(Line::from(vec![
            Span::styled(mark, Style::default().fg(Color::Yellow)),
            Span::styled(
                truncate(&member.name, width.saturating_sub(1)),
                Style::default().fg(nick_color(&member.name, &look.theme)),
            ),
        ]));
    }
    let block = Block::default()
        .borders(Borders::LEFT)
        .border_style(Style::default().fg(Color::DarkGray));
    frame.render_widget(Paragraph::new(lines).block(block), area);
}

/// What the status line says about the connection.
pub fn link_text(link: Link) -> String {
    match link {
        Link::Connected => "connected".to_owned(),
        Link::Connecting { attempt: 0 } => "connecting".to_owned(),
        Link::Connecting { attempt } => format!("reconnecting (attempt {attempt})"),
        Link::Waiting { attempt, secs } => format!("reconnecting in {secs} s (attempt {attempt})"),
    }
}

fn status_line(
    frame: &mut Frame,
    area: Rect,
    app: &App,
    conversation: &Conversation,
    look: &Look,
    narrow: bool,
) {
    let alert = Style::default()
        .fg(Color::Yellow)
        .add_modifier(Modifier::BOLD);
    let link = link_text(app.link);
    let link_style = match app.link {
        Link::Connected => Style::default().fg(Color::Green),
        _ => Style::default()
            .fg(Color::Yellow)
            .add_modifier(Modifier::BOLD),
    };
    let mut spans = vec![
        Span::raw("["),
        Span::styled(link, link_style),
        Span::raw("] "),
    ];
    // On a narrow screen, what the hidden sidebar would show comes first.
    let activity = activity(app);
    if narrow && !activity.is_empty() {
        spans.push(Span::styled(format!("[{activity}] "), alert));
    }
    spans.push(Span::styled(
        app.me.clone(),
        Style::default().fg(look.theme.own),
    ));
    spans.push(Span::raw(format!(" on {}", app.server)));
    if let Some(progress) = app.paste_progress() {
        spans.push(Span::styled(
            format!(
                "  sending the paste: {} of {} lines",
                progress.done, progress.total
            ),
            alert,
        ));
    } else if app.unsent() > 0 {
        let lines = if app.unsent() == 1 { "line" } else { "lines" };
        spans.push(Span::styled(
            format!("  {} {lines} to send", app.unsent()),
            alert,
        ));
    }
    if conversation.new_below > 0 {
        spans.push(Span::styled(
            format!("  {} new below (PgDn)", conversation.new_below),
            alert,
        ));
    } else if conversation.scroll > 0 {
        spans.push(Span::styled(
            format!("  (scrolled up {} rows; PgDn)", conversation.scroll),
            Style::default().fg(Color::Yellow),
        ));
    }
    if conversation.loading_older {
        spans.push(Span::raw("  loading older messages"));
    }
    let style = Style::default().bg(Color::DarkGray).fg(Color::White);
    frame.render_widget(Paragraph::new(Line::from(spans)).style(style), area);
}

fn input_line(frame: &mut Frame, area: Rect, app: &App) {
    if let Some(lines) = &app.paste {
        let text = format!(
            "paste {} lines? y sends them, any other key drops them",
            lines.len()
        );
        frame.render_widget(
            Paragraph::new(Line::styled(text, Style::default().fg(Color::Yellow))),
            area,
        );
        return;
    }
    if let Some(prompt) = &app.prompt {
        // The mask shows how many characters were typed, never which.
        let label = format!("{} (Esc cancels): ", prompt.label);
        let mask = "*".repeat(prompt.secret.chars());
        let line = Line::from(vec![
            Span::styled(label.clone(), Style::default().fg(Color::Yellow)),
            Span::raw(mask.clone()),
        ]);
        frame.render_widget(Paragraph::new(line), area);
        let x = (label.width() + mask.len()).min(usize::from(area.width.saturating_sub(1)));
        frame.set_cursor_position(Position::new(area.x + x as u16, area.y));
        return;
    }
    let prefix = "> ";
    let room = usize::from(area.width).saturating_sub(prefix.len() + 1);
    let typed = app.editor.text();
    // Measured as drawn (emoji sequences apart), so the cursor sits right.
    let cursor_at = wrap::glyphs(&typed[..app.editor.cursor()]).len();
    let text = &*wrap::glyphs(typed);
    let cursor = text
        .grapheme_indices(true)
        .map(|(at, _)| at)
        .chain([text.len()])
        .take_while(|&at| at <= cursor_at)
        .last()
        .unwrap_or(0);
    // Scroll the line sideways so the cursor stays on screen.
    let mut start = 0;
    for (at, _) in text.grapheme_indices(true) {
        start = at;
        if text[at..cursor].width() <= room {
            break;
        }
    }
    let visible: String = truncate(&text[start..], room + 1);
    let x = prefix.len() + text[start..cursor].width();
    // A refused command given back selected: typing replaces it.
    let style = if app.editor.is_selected() {
        Style::default().add_modifier(Modifier::REVERSED)
    } else {
        Style::default()
    };
    frame.render_widget(
        Paragraph::new(Line::from(vec![
            Span::raw(prefix),
            Span::styled(visible, style),
        ])),
        area,
    );
    frame.set_cursor_position(Position::new(
        area.x + x.min(usize::from(area.width.saturating_sub(1))) as u16,
        area.y,
    ));
}

/// The longest start of `text` that fits `width` columns, as drawn.
fn truncate(text: &str, width: usize) -> String {
    let mut out = String::new();
    let mut used = 0;
    for grapheme in wrap::glyphs(text).graphemes(true) {
        let w = grapheme.width();
        if used + w > width {
            break;
        }
        used += w;
        out.push_str(grapheme);
    }
    out
}

#[cfg(test)]
mod tests;
