//! Screens drawn on ratatui's `TestBackend` after fixed sequences of server
//! frames and keys, checked against snapshots (`src/ui/snapshots/`).

use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::Terminal;
use serde_json::{json, Value};

use super::*;
use crate::app::App;
use crate::connection::Incoming;
use crate::protocol;

/// 2025-12-01 20:00 UTC.
const NOW: i64 = 1_764_619_200_000;

fn look() -> Look {
    Look {
        theme: Theme::default(),
        offset: UtcOffset::UTC,
        color: true,
    }
}

fn frame(app: &mut App, value: Value) {
    app.on_incoming(Incoming::Frame(
        protocol::parse(&value.to_string()).unwrap(),
    ));
}

fn key(app: &mut App, code: KeyCode, modifiers: KeyModifiers) {
    app.on_terminal(Event::Key(KeyEvent::new(code, modifiers)));
}

/// Alice, connected, in lobby with bob and carol.
fn alice() -> App {
    alice_after(vec![])
}

/// Alice as in [`alice`], the join's history holding `history`.
fn alice_after(history: Vec<Value>) -> App {
    let mut app = App::new(
        "alice",
        "ws://127.0.0.1:8081/ws",
        vec!["lobby".into()],
        true,
        true,
    );
    app.now = NOW;
    app.on_incoming(Incoming::Registered {
        name: "alice".into(),
        wanted: "alice".into(),
        resumed: None,
    });
    app.on_incoming(Incoming::Link(Link::Connected));
    app.take_effects();
    frame(
        &mut app,
        json!({"type":"joined","room":"lobby","created":false,"host":false,"locked":false,
            "topic":"all welcome","members":[{"name":"bob","host":true},{"name":"alice","host":false},{"name":"carol","host":false}],
            "history":history,"id":1}),
    );
    app
}

fn say(app: &mut App, room: &str, from: &str, id: i64, text: &str) {
    frame(
        app,
        json!({"type":"message","room":room,"from":from,"text":text,"id":id,"at":NOW + id * 1000,"kind":"chat"}),
    );
}

fn draw(app: &mut App, width: u16, height: u16) -> Buffer {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal
        .draw(|f| app.viewport = super::draw(f, app, &look()))
        .unwrap();
    terminal.backend().buffer().clone()
}

/// The screen as text, one line per row.
fn text(buffer: &Buffer) -> String {
    let width = usize::from(buffer.area.width);
    buffer
        .content
        .chunks(width)
        .map(|row| {
            let mut line = String::new();
            let mut skip = 0;
            for cell in row {
                if skip > 0 {
                    skip -= 1;
                    continue;
                }
                line.push_str(cell.symbol());
                skip = cell.symbol().width().saturating_sub(1);
            }
            line.trim_end().to_owned()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn the_sidebar_shows_unread_counts_and_a_mention_mark() {
    let mut app = alice();
    frame(
        &mut app,
        json!({"type":"joined","room":"games","created":false,"host":false,"locked":true,"topic":null,
            "members":[{"name":"dave","host":true},{"name":"alice","host":false}],"history":[],"id":2}),
    );
    // Back to lobby: games' new messages are unread; one mentions alice.
    key(&mut app, KeyCode::Char('2'), KeyModifiers::ALT);
    say(&mut app, "games", "dave", 10, "anyone for chess?");
    say(&mut app, "games", "dave", 11, "alice, you play?");
    say(&mut app, "lobby", "bob", 12, "hi all");
    frame(
        &mut app,
        json!({"type":"private","from":"carol","text":"psst","at":NOW}),
    );
    let screen = draw(&mut app, 72, 12);
    insta::assert_snapshot!(text(&screen));
    // The mention mark is red, a plain count yellow.
    let games_row = text(&screen)
        .lines()
        .position(|l| l.contains("#games"))
        .unwrap();
    let mark = screen
        .content
        .chunks(72)
        .nth(games_row)
        .unwrap()
        .iter()
        .find(|c| c.symbol() == "!")
        .unwrap();
    assert_eq!(mark.fg, Color::Red);
    // Switching to games clears its count.
    key(&mut app, KeyCode::Char('n'), KeyModifiers::CONTROL);
    assert_eq!(app.conversations.current().name, "games");
    assert!(!text(&draw(&mut app, 72, 12)).contains("#games 2!"));
}

#[test]
fn long_lines_and_wide_characters_wrap_within_the_pane() {
    let mut app = alice();
    say(
        &mut app,
        "lobby",
        "bob",
        20,
        "a long line that will not fit in one row of this narrow pane",
    );
    say(
        &mut app,
        "lobby",
        "carol",
        21,
        "漢字かな交じり文と絵文字👍🏽も折り返す",
    );
    say(&mut app, "lobby", "bob", 22, "café cafe\u{301} naïve");
    let screen = draw(&mut app, 56, 14);
    insta::assert_snapshot!(text(&screen));
}

#[test]
fn the_password_prompt_is_masked() {
    let mut app = alice();
    for c in ":cr vault".chars() {
        key(&mut app, KeyCode::Char(c), KeyModifiers::NONE);
    }
    key(&mut app, KeyCode::Enter, KeyModifiers::NONE);
    let id = app.take_effects().len() as u64 + 1;
    frame(
        &mut app,
        json!({"type":"error","code":"password_needed","message":"vault is locked; it needs a password","id":id}),
    );
    for c in "hunter2".chars() {
        key(&mut app, KeyCode::Char(c), KeyModifiers::NONE);
    }
    let screen = text(&draw(&mut app, 60, 10));
    assert!(!screen.contains("hunter2"), "{screen}");
    insta::assert_snapshot!(screen);
}

#[test]
fn the_status_line_counts_down_to_the_next_reconnect() {
    let mut app = alice();
    say(&mut app, "lobby", "bob", 30, "still there?");
    app.on_incoming(Incoming::Lost {
        why: "the server closed the connection".into(),
    });
    app.on_incoming(Incoming::Link(Link::Waiting {
        attempt: 3,
        secs: 4,
    }));
    let screen = text(&draw(&mut app, 64, 10));
    assert!(
        screen.contains("[reconnecting in 4 s (attempt 3)] alice"),
        "{screen}"
    );
    insta::assert_snapshot!(screen);
}

#[test]
fn a_narrow_screen_drops_the_side_panes_and_scrolls_the_input() {
    let mut app = alice();
    say(&mut app, "lobby", "bob", 40, "hello");
    for c in "a very long line typed into a very narrow terminal".chars() {
        key(&mut app, KeyCode::Char(c), KeyModifiers::NONE);
    }
    let mut terminal = Terminal::new(TestBackend::new(30, 6)).unwrap();
    terminal
        .draw(|f| app.viewport = super::draw(f, &app, &look()))
        .unwrap();
    let screen = text(terminal.backend().buffer());
    insta::assert_snapshot!(screen);
    // The cursor is at the end of the visible input.
    let cursor = terminal.get_cursor_position().unwrap();
    assert_eq!((cursor.x, cursor.y), (29, 5));
}

#[test]
fn page_up_scrolls_a_page_and_past_the_top_asks_for_older_messages() {
    let first = json!({"type":"message","room":"lobby","from":"bob","text":"line 1","id":1,"at":NOW - 1000,"kind":"chat"});
    let mut app = alice_after(vec![first]);
    for id in 2..=40 {
        say(&mut app, "lobby", "bob", id, &format!("line {id}"));
    }
    let screen = text(&draw(&mut app, 80, 12));
    assert!(screen.contains("bob: line 40"), "{screen}");
    // The message pane has 9 rows; a page is 8 of them.
    key(&mut app, KeyCode::PageUp, KeyModifiers::NONE);
    let screen = text(&draw(&mut app, 80, 12));
    assert!(
        screen.contains("bob: line 32") && !screen.contains("bob: line 33"),
        "{screen}"
    );
    assert!(screen.contains("(scrolled up 8 rows; PgDn)"), "{screen}");
    for _ in 0..5 {
        key(&mut app, KeyCode::PageUp, KeyModifiers::NONE);
        draw(&mut app, 80, 12);
    }
    let screen = text(&draw(&mut app, 80, 12));
    assert!(
        screen.lines().any(|l| l.contains("bob: line 1 ")),
        "{screen}"
    );
    let asked: Vec<Value> = app
        .take_effects()
        .into_iter()
        .filter_map(|e| match e {
            crate::app::Effect::Send(text) => Some(serde_json::from_str(&text).unwrap()),
            _ => None,
        })
        .collect();
    assert_eq!(asked.len(), 1, "{asked:?}");
    assert_eq!(asked[0]["type"], "history");
    assert_eq!(asked[0]["before"], 1);
    key(&mut app, KeyCode::PageDown, KeyModifiers::NONE);
    for _ in 0..6 {
        key(&mut app, KeyCode::PageDown, KeyModifiers::NONE);
    }
    assert!(text(&draw(&mut app, 80, 12)).contains("bob: line 40"));
}

#[test]
fn tiny_terminals_draw_without_panicking() {
    let mut app = alice();
    say(
        &mut app,
        "lobby",
        "bob",
        50,
        "漢字 and a rather long line to wrap",
    );
    for c in "typed 漢字".chars() {
        key(&mut app, KeyCode::Char(c), KeyModifiers::NONE);
    }
    for (width, height) in [(1, 1), (2, 2), (5, 3), (12, 4), (49, 5), (50, 6)] {
        draw(&mut app, width, height);
        key(&mut app, KeyCode::PageUp, KeyModifiers::NONE);
        draw(&mut app, width, height);
    }
}

#[test]
fn new_lines_do_not_move_what_is_being_read_while_scrolled_up() {
    let mut app = alice();
    for id in 1..=30 {
        say(&mut app, "lobby", "bob", id, &format!("line {id}"));
    }
    draw(&mut app, 80, 12);
    key(&mut app, KeyCode::PageUp, KeyModifiers::NONE);
    let reading = text(&draw(&mut app, 80, 12));
    say(
        &mut app,
        "lobby",
        "carol",
        31,
        "a new line long enough to take two rows of the pane when it wraps",
    );
    let after = text(&draw(&mut app, 80, 12));
    let pane = |screen: &str| {
        screen
            .lines()
            .skip(1)
            .take(9)
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    assert_eq!(pane(&after), pane(&reading), "{after}");
    // The status line says something came below.
    assert!(after.contains("1 new below (PgDn)"), "{after}");
    // Back at the bottom, the new line is there.
    key(&mut app, KeyCode::PageDown, KeyModifiers::NONE);
    key(&mut app, KeyCode::PageDown, KeyModifiers::NONE);
    let bottom = text(&draw(&mut app, 80, 12));
    assert!(bottom.contains("carol: a new line"), "{bottom}");
    assert!(!bottom.contains("new below"), "{bottom}");
}

/// The cells of the row of `buffer` holding `text`.
fn row_with<'a>(buffer: &'a Buffer, text_in_row: &str) -> &'a [ratatui::buffer::Cell] {
    let width = usize::from(buffer.area.width);
    let row = text(buffer)
        .lines()
        .position(|l| l.contains(text_in_row))
        .unwrap_or_else(|| panic!("no {text_in_row} in:\n{}", text(buffer)));
    &buffer.content[row * width..(row + 1) * width]
}

#[test]
fn below_fifty_columns_the_status_line_shows_activity_and_at_sixty_the_members_go_first() {
    let mut app = alice();
    frame(
        &mut app,
        json!({"type":"joined","room":"games","created":false,"host":false,"locked":false,"topic":null,
            "members":[{"name":"dave","host":true},{"name":"alice","host":false}],"history":[],"id":2}),
    );
    say(&mut app, "lobby", "bob", 10, "hi");
    say(&mut app, "lobby", "bob", 11, "alice?");
    let screen = text(&draw(&mut app, 40, 8));
    let status = screen.lines().nth(6).unwrap();
    assert!(status.starts_with("[connected] [2:2!] alice"), "{screen}");
    // At 60x20 the sidebar stays and the member list goes: 42 columns of messages.
    let screen = text(&draw(&mut app, 60, 20));
    assert!(screen.contains("#lobby"), "{screen}");
    assert!(!screen.contains("members ("), "{screen}");
    assert_eq!(app.viewport.width, 42);
    // Wide enough, both.
    assert!(text(&draw(&mut app, 80, 20)).contains("members ("));
}

#[test]
fn own_lines_mentions_and_the_read_marker_stand_out_and_no_color_keeps_them_apart() {
    let mut app = alice();
    type_and_send(&mut app, "my own line");
    frame(
        &mut app,
        json!({"type":"said","room":"lobby","message_id":5,"at":NOW,"id":2}),
    );
    say(&mut app, "lobby", "bob", 6, "hey alice, look");
    say(&mut app, "lobby", "bob", 7, "nothing for you");
    // Away and back: what came meanwhile is below a read marker.
    key(&mut app, KeyCode::Char('1'), KeyModifiers::ALT);
    say(&mut app, "lobby", "bob", 8, "while you were away");
    key(&mut app, KeyCode::Char('2'), KeyModifiers::ALT);
    let screen = draw(&mut app, 80, 14);
    let shown = text(&screen);
    let marker = shown
        .lines()
        .position(|l| l.contains("─ new ─"))
        .expect(&shown);
    let away = shown
        .lines()
        .position(|l| l.contains("while you were away"))
        .unwrap();
    assert_eq!(marker + 1, away, "{shown}");
    let theme = Theme::default();
    let fg = |cells: &[ratatui::buffer::Cell], text: &str| {
        let at = cells.iter().position(|c| c.symbol() == &text[..1]).unwrap();
        (cells[at].fg, cells[at].modifier)
    };
    assert_eq!(fg(row_with(&screen, "my own line"), "m").0, theme.own);
    let (color, modifier) = fg(row_with(&screen, "hey alice"), "h");
    assert_eq!(color, theme.mention);
    assert!(modifier.contains(Modifier::BOLD));
    assert_eq!(
        fg(row_with(&screen, "nothing for you"), "n").0,
        Color::Reset
    );

    // NO_COLOR: not one colour left; modifiers still tell lines apart.
    let mut terminal = Terminal::new(TestBackend::new(80, 14)).unwrap();
    let plain = Look {
        color: false,
        ..look()
    };
    terminal
        .draw(|f| app.viewport = super::draw(f, &app, &plain))
        .unwrap();
    let screen = terminal.backend().buffer().clone();
    assert!(screen
        .content
        .iter()
        .all(|c| c.fg == Color::Reset && c.bg == Color::Reset));
    assert!(fg(row_with(&screen, "my own line"), "m")
        .1
        .contains(Modifier::DIM));
    let mention = fg(row_with(&screen, "hey alice"), "h").1;
    assert!(mention.contains(Modifier::BOLD | Modifier::UNDERLINED));
    // The topic bar was coloured: it is reverse video now.
    assert!(screen.content[0].modifier.contains(Modifier::REVERSED));
}

#[test]
fn a_refused_command_is_drawn_selected() {
    let mut app = alice();
    type_and_send(&mut app, ":dance");
    let screen = draw(&mut app, 60, 10);
    let input = row_with(&screen, "> :dance");
    assert!(input[2].modifier.contains(Modifier::REVERSED));
    assert!(text(&screen).contains("there is no command :dance"));
}

fn type_and_send(app: &mut App, line: &str) {
    for c in line.chars() {
        key(app, KeyCode::Char(c), KeyModifiers::NONE);
    }
    key(app, KeyCode::Enter, KeyModifiers::NONE);
}
