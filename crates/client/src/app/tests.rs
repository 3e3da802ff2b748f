//! The app driven by fixed sequences of keys and server frames, checked by
//! the requests it makes and the state it ends in.

use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
use serde_json::{json, Value};

use super::*;
use crate::protocol;

const SECRET: &str = "rook takes";

fn app() -> App {
    let mut app = App::new("alice", "ws://test/ws", vec!["lobby".into()], true, true);
    app.now = 1_764_619_200_000;
    app.on_incoming(Incoming::Registered {
        name: "alice".into(),
        wanted: "alice".into(),
        resumed: None,
    });
    app
}

fn frame(app: &mut App, value: Value) {
    app.on_incoming(Incoming::Frame(
        protocol::parse(&value.to_string()).unwrap(),
    ));
}

/// The requests sent since the last call, with their nonces.
fn sent_with_nonces(app: &mut App) -> Vec<Value> {
    app.take_effects()
        .into_iter()
        .filter_map(|effect| match effect {
            Effect::Send(text) => Some(serde_json::from_str(&text).unwrap()),
            _ => None,
        })
        .collect()
}

/// The requests sent since the last call; a line's nonce (checked to be
/// there) is left out.
fn sent(app: &mut App) -> Vec<Value> {
    let mut requests = sent_with_nonces(app);
    for request in &mut requests {
        if matches!(
            request["type"].as_str(),
            Some("say" | "emote" | "msg" | "say_elsewhere")
        ) {
            let nonce = request.as_object_mut().unwrap().remove("nonce");
            assert!(
                nonce
                    .as_ref()
                    .and_then(Value::as_str)
                    .is_some_and(|n| n.len() == 16),
                "{request} has no nonce"
            );
        }
    }
    requests
}

fn key(app: &mut App, code: KeyCode) {
    app.on_terminal(Event::Key(KeyEvent::new(code, KeyModifiers::NONE)));
}

fn ctrl(app: &mut App, c: char) {
    app.on_terminal(Event::Key(KeyEvent::new(
        KeyCode::Char(c),
        KeyModifiers::CONTROL,
    )));
}

fn type_line(app: &mut App, text: &str) {
    for c in text.chars() {
        key(app, KeyCode::Char(c));
    }
    key(app, KeyCode::Enter);
}

fn message(room: &str, from: &str, id: i64, text: &str) -> Value {
    json!({"type":"message","room":room,"from":from,"text":text,"id":id,"at":1_764_619_000_000_i64 + id,"kind":"chat"})
}

fn joined(room: &str, id: &Value, history: Vec<Value>) -> Value {
    json!({"type":"joined","room":room,"created":false,"host":false,"locked":false,"topic":null,
        "members":[{"name":"bob","host":true},{"name":"alice","host":false}],"history":history,"id":id})
}

/// Every line of every conversation, as text, for looking for secrets.
fn everything_shown(app: &App) -> String {
    let mut all = format!("{:?}", app.conversations.list);
    all.push_str(app.editor.text());
    all
}

fn ids(app: &App, room: &str) -> Vec<i64> {
    let index = app.conversations.find(Kind::Room, room).unwrap();
    app.conversations.list[index]
        .entries
        .iter()
        .filter_map(|e| e.id)
        .collect()
}

#[test]
fn the_rooms_to_start_in_are_joined_once_registered() {
    let mut app = app();
    let requests = sent(&mut app);
    assert_eq!(requests, [json!({"type":"join","room":"lobby","id":1})]);
    frame(
        &mut app,
        joined("lobby", &json!(1), vec![message("lobby", "bob", 5, "hi")]),
    );
    assert_eq!(app.conversations.current().name, "lobby");
    assert_eq!(app.conversations.current().members.len(), 2);
    assert_eq!(ids(&app, "lobby"), [5]);
}

#[test]
fn a_said_line_appears_with_its_stored_id_and_errors_land_in_their_room() {
    let mut app = app();
    sent(&mut app);
    frame(&mut app, joined("lobby", &json!(1), vec![]));
    type_line(&mut app, "hello bob");
    let requests = sent(&mut app);
    assert_eq!(
        requests,
        [json!({"type":"say","room":"lobby","text":"hello bob","id":2})]
    );
    let at = app.now + 5;
    frame(
        &mut app,
        json!({"type":"said","room":"lobby","message_id":9,"at":at,"id":2}),
    );
    let last = app.conversations.current().entries.last().unwrap().clone();
    assert_eq!(last.id, Some(9));
    assert_eq!(
        last.what,
        What::Chat {
            from: "alice".into(),
            text: "hello bob".into()
        }
    );
    // An error for a request about lobby shows in lobby, even when another pane is on screen.
    type_line(&mut app, ":topic chess");
    let id = sent(&mut app)[0]["id"].clone();
    key(&mut app, KeyCode::Char('1'));
    app.on_terminal(Event::Key(KeyEvent::new(
        KeyCode::Char('1'),
        KeyModifiers::ALT,
    )));
    assert_eq!(app.conversations.selected, 0);
    frame(
        &mut app,
        json!({"type":"error","code":"not_host","message":"only a host can do that","id":id}),
    );
    let lobby = &app.conversations.list[1];
    assert_eq!(
        lobby.entries.last().unwrap().what,
        What::Error("only a host can do that".into())
    );
}

#[test]
fn a_locked_room_asks_for_its_password_which_goes_only_into_the_join() {
    let mut app = app();
    sent(&mut app);
    type_line(&mut app, ":cr vault");
    let request = sent(&mut app).remove(0);
    assert_eq!(request, json!({"type":"join","room":"vault","id":2}));
    frame(
        &mut app,
        json!({"type":"error","code":"password_needed","message":"vault is locked","id":2}),
    );
    assert_eq!(app.prompt.as_ref().unwrap().label, "password for vault");
    for c in SECRET.chars() {
        key(&mut app, KeyCode::Char(c));
    }
    key(&mut app, KeyCode::Backspace);
    key(&mut app, KeyCode::Char('s'));
    assert_eq!(app.prompt.as_ref().unwrap().secret.chars(), SECRET.len());
    key(&mut app, KeyCode::Enter);
    assert!(app.prompt.is_none());
    let request = sent(&mut app).remove(0);
    assert_eq!(
        request,
        json!({"type":"join","room":"vault","password":SECRET,"id":3})
    );
    frame(&mut app, joined("vault", &json!(3), vec![]));
    // The secret is nowhere to be seen: not in any pane, the input line or history.
    assert!(!everything_shown(&app).contains(SECRET));
    key(&mut app, KeyCode::Up);
    assert_eq!(app.editor.text(), ":cr vault");
}

#[test]
fn setting_a_password_asks_twice_and_a_mismatch_changes_nothing() {
    let mut app = app();
    sent(&mut app);
    frame(&mut app, joined("lobby", &json!(1), vec![]));
    type_line(&mut app, ":passwd");
    type_line(&mut app, "one");
    assert_eq!(
        app.prompt.as_ref().unwrap().label,
        "the new password for lobby again"
    );
    type_line(&mut app, "two");
    assert!(sent(&mut app).is_empty());
    assert_eq!(
        app.conversations.current().entries.last().unwrap().what,
        What::Error("the two passwords differ; nothing changed".into())
    );
    type_line(&mut app, ":passwd");
    type_line(&mut app, "same");
    type_line(&mut app, "same");
    assert_eq!(
        sent(&mut app),
        [json!({"type":"set_password","room":"lobby","password":"same","id":2})]
    );
    // Esc cancels a prompt.
    type_line(&mut app, ":passwd");
    key(&mut app, KeyCode::Char('x'));
    key(&mut app, KeyCode::Esc);
    assert!(app.prompt.is_none());
    assert!(sent(&mut app).is_empty());
}

#[test]
fn a_reconnect_rejoins_and_fills_the_gap_by_id_with_no_duplicates() {
    let mut app = app();
    sent(&mut app);
    let history: Vec<Value> = (1..=3)
        .map(|id| message("lobby", "bob", id, "old"))
        .collect();
    frame(&mut app, joined("lobby", &json!(1), history));
    // Look at the status pane, so new lobby messages count as unread.
    app.on_terminal(Event::Key(KeyEvent::new(
        KeyCode::Char('1'),
        KeyModifiers::ALT,
    )));
    app.on_incoming(Incoming::Lost {
        why: "reset".into(),
    });
    assert!(!app.online);
    app.on_incoming(Incoming::Registered {
        name: "alice".into(),
        wanted: "alice".into(),
        resumed: None,
    });
    let rejoin = sent(&mut app);
    // Only what came after the newest message held.
    assert_eq!(
        rejoin,
        [json!({"type":"join","room":"lobby","since":3,"id":2})]
    );
    // The server's join history holds the newest messages, 8-10, and 3 was seen before.
    let recent: Vec<Value> = (8..=10)
        .map(|id| message("lobby", "bob", id, "new"))
        .collect();
    frame(&mut app, joined("lobby", &json!(2), recent));
    let page = sent(&mut app);
    assert_eq!(
        page,
        [json!({"type":"history","room":"lobby","limit":200,"before":8,"id":3})]
    );
    // Meanwhile a live message arrives, and the page overlaps what we have.
    frame(&mut app, message("lobby", "bob", 11, "live"));
    let older: Vec<Value> = (3..=7)
        .map(|id| message("lobby", "bob", id, "gap"))
        .collect();
    frame(
        &mut app,
        json!({"type":"history","room":"lobby","messages":older,"capped_at":null,"id":3}),
    );
    // Short page: the gap is closed, nothing more asked.
    assert!(sent(&mut app).is_empty());
    assert_eq!(ids(&app, "lobby"), (1..=11).collect::<Vec<_>>());
    assert_eq!(app.conversations.list[1].unread, 8);
}

#[test]
fn a_long_gap_is_paged_until_it_reaches_what_was_seen() {
    let mut app = app();
    sent(&mut app);
    frame(
        &mut app,
        joined("lobby", &json!(1), vec![message("lobby", "bob", 1, "a")]),
    );
    app.on_incoming(Incoming::Lost { why: "x".into() });
    app.on_incoming(Incoming::Registered {
        name: "alice".into(),
        wanted: "alice".into(),
        resumed: None,
    });
    sent(&mut app);
    frame(
        &mut app,
        joined("lobby", &json!(2), vec![message("lobby", "bob", 500, "b")]),
    );
    assert_eq!(sent(&mut app)[0]["before"], 500);
    let full: Vec<Value> = (300..500)
        .map(|id| message("lobby", "bob", id, "c"))
        .collect();
    frame(
        &mut app,
        json!({"type":"history","room":"lobby","messages":full,"id":3}),
    );
    assert_eq!(sent(&mut app)[0]["before"], 300);
    let last: Vec<Value> = (100..300)
        .map(|id| message("lobby", "bob", id, "d"))
        .collect();
    frame(
        &mut app,
        json!({"type":"history","room":"lobby","messages":last,"id":4}),
    );
    assert_eq!(sent(&mut app)[0]["before"], 100);
    let reaching: Vec<Value> = (1..100)
        .map(|id| message("lobby", "bob", id, "e"))
        .collect();
    frame(
        &mut app,
        json!({"type":"history","room":"lobby","messages":reaching,"id":5}),
    );
    assert!(sent(&mut app).is_empty());
    assert_eq!(ids(&app, "lobby"), (1..=500).collect::<Vec<_>>());
}

#[test]
fn a_name_taken_meanwhile_is_reported() {
    let mut app = app();
    app.on_incoming(Incoming::Lost { why: "x".into() });
    app.on_incoming(Incoming::Registered {
        name: "alice_".into(),
        wanted: "alice".into(),
        resumed: None,
    });
    assert_eq!(app.me, "alice_");
    let status = &app.conversations.list[0];
    assert!(status.entries.iter().any(|e| e.what
        == What::Error(
            "the name alice is taken; you are alice_ (:nick alice to try again)".into()
        )));
}

/// The errors and notices of the conversation `index`.
fn said(app: &App, index: usize) -> Vec<String> {
    app.conversations.list[index]
        .entries
        .iter()
        .filter_map(|entry| match &entry.what {
            What::Error(text) | What::Notice(text) => Some(text.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn a_name_taken_meanwhile_is_said_in_the_room_on_screen_too() {
    let mut app = app();
    sent(&mut app);
    frame(&mut app, joined("lobby", &json!(1), vec![]));
    let lobby = app.conversations.selected;
    assert_ne!(lobby, 0, "the joined room is on screen");
    app.on_incoming(Incoming::Lost { why: "x".into() });
    app.on_incoming(Incoming::Registered {
        name: "alice_".into(),
        wanted: "alice".into(),
        resumed: None,
    });
    let taken = "the name alice is taken; you are alice_ (:nick alice to try again)";
    assert!(
        said(&app, lobby).iter().any(|text| text == taken),
        "{:?}",
        said(&app, lobby)
    );
}

#[test]
fn getting_the_wanted_name_back_on_a_reconnect_is_no_name_taken() {
    let mut app = app();
    app.on_incoming(Incoming::Lost { why: "x".into() });
    app.on_incoming(Incoming::Registered {
        name: "alice_".into(),
        wanted: "alice".into(),
        resumed: None,
    });
    app.on_incoming(Incoming::Lost { why: "x".into() });
    // Nobody holds alice now: the connection asks for it again and gets it.
    app.on_incoming(Incoming::Registered {
        name: "alice".into(),
        wanted: "alice".into(),
        resumed: None,
    });
    assert_eq!(app.me, "alice");
    let status = said(&app, 0);
    assert_eq!(
        status
            .iter()
            .filter(|text| text.contains("is taken"))
            .count(),
        1,
        "{status:?}"
    );
    assert!(!status.iter().any(|text| text.contains("alice_ is taken")));
    assert!(
        status.iter().any(|text| text == "you are alice again"),
        "{status:?}"
    );
}

#[test]
fn a_multi_line_paste_asks_before_sending_each_line() {
    let mut app = app();
    sent(&mut app);
    frame(&mut app, joined("lobby", &json!(1), vec![]));
    app.on_terminal(Event::Paste("one\r\n:two\r\n\r\nthree".into()));
    assert_eq!(app.paste.as_ref().unwrap().len(), 3);
    key(&mut app, KeyCode::Char('y'));
    let texts: Vec<Value> = sent(&mut app).iter().map(|r| r["text"].clone()).collect();
    assert_eq!(texts, ["one", ":two", "three"]);
    app.on_terminal(Event::Paste("a\nb".into()));
    key(&mut app, KeyCode::Char('n'));
    assert!(app.paste.is_none() && sent(&mut app).is_empty());
    // One line goes into the input line, without escapes or bidi overrides.
    app.on_terminal(Event::Paste("just\u{1b}[2J this\u{202e}".into()));
    assert_eq!(app.editor.text(), "just[2J this");
}

#[test]
fn offline_lines_wait_for_the_room_to_be_back_and_ctrl_c_quits() {
    let mut app = app();
    sent(&mut app);
    frame(&mut app, joined("lobby", &json!(1), vec![]));
    app.on_incoming(Incoming::Lost { why: "x".into() });
    type_line(&mut app, "are you there");
    assert_eq!(app.editor.text(), "");
    assert!(sent(&mut app).is_empty());
    assert_eq!(app.unsent(), 1);
    // A fresh session: the room is joined first, then the line goes.
    app.on_incoming(Incoming::Registered {
        name: "alice".into(),
        wanted: "alice".into(),
        resumed: None,
    });
    assert_eq!(
        sent(&mut app),
        [json!({"type":"join","room":"lobby","id":2})]
    );
    frame(&mut app, joined("lobby", &json!(2), vec![]));
    assert_eq!(
        sent(&mut app),
        [json!({"type":"say","room":"lobby","text":"are you there","id":3})]
    );
    let at = app.now;
    frame(
        &mut app,
        json!({"type":"said","room":"lobby","message_id":4,"at":at,"id":3}),
    );
    assert_eq!(app.unsent(), 0);
    ctrl(&mut app, 'c');
    assert!(app.quit);
    assert_eq!(app.take_effects(), [Effect::Quit]);
}

#[test]
fn a_line_unanswered_when_the_connection_drops_goes_again_with_its_nonce_on_resume() {
    let mut app = app();
    sent(&mut app);
    frame(
        &mut app,
        joined("lobby", &json!(1), vec![message("lobby", "bob", 5, "hi")]),
    );
    type_line(&mut app, "hello bob");
    let first = sent_with_nonces(&mut app);
    assert_eq!(first.len(), 1);
    let nonce = first[0]["nonce"].clone();
    app.on_incoming(Incoming::Lost { why: "x".into() });
    assert_eq!(app.unsent(), 1);
    app.on_incoming(Incoming::Registered {
        name: "alice".into(),
        wanted: "alice".into(),
        resumed: Some(vec![protocol::Membership {
            room: "lobby".into(),
            host: true,
            voice: false,
        }]),
    });
    let again = sent_with_nonces(&mut app);
    // No join: the session kept the room. A look at its history past the
    // newest message held, and the line with the same nonce.
    assert_eq!(
        again,
        [
            json!({"type":"history","room":"lobby","limit":50,"id":3}),
            json!({"type":"say","room":"lobby","text":"hello bob","nonce":nonce,"id":4}),
        ]
    );
    let lobby = app.conversations.current();
    assert!(lobby.joined);
    assert!(lobby.members.iter().any(|m| m.name == "alice" && m.host));
    let at = app.now;
    frame(
        &mut app,
        json!({"type":"said","room":"lobby","message_id":6,"at":at,"id":4}),
    );
    assert_eq!(app.unsent(), 0);
    assert_eq!(ids(&app, "lobby"), [5, 6]);
    // A room the session no longer has is said so, and not joined again.
    app.on_incoming(Incoming::Lost { why: "x".into() });
    app.on_incoming(Incoming::Registered {
        name: "alice".into(),
        wanted: "alice".into(),
        resumed: Some(vec![]),
    });
    assert!(!app.conversations.current().joined);
    assert!(said(&app, 1)
        .iter()
        .any(|l| l == "you are no longer in lobby"));
    assert!(sent(&mut app).is_empty());
}

#[test]
fn a_long_paste_goes_at_the_pace_with_its_progress_and_nothing_is_dropped() {
    let mut app = app();
    sent(&mut app);
    frame(&mut app, joined("lobby", &json!(1), vec![]));
    let paste: Vec<String> = (1..=150).map(|n| format!("line {n}")).collect();
    app.on_terminal(Event::Paste(paste.join("\n")));
    key(&mut app, KeyCode::Char('y'));
    let mut texts: Vec<String> = Vec::new();
    let answer = |app: &mut App, texts: &mut Vec<String>| {
        for request in sent(app) {
            texts.push(request["text"].as_str().unwrap().to_owned());
            let at = app.now;
            frame(
                app,
                json!({"type":"said","room":"lobby","message_id":texts.len(),"at":at,"id":request["id"]}),
            );
        }
    };
    answer(&mut app, &mut texts);
    assert_eq!(texts.len(), 10, "a burst of ten first");
    let progress = app.paste_progress().unwrap();
    assert_eq!((progress.done, progress.total), (10, 150));
    // Then eight a second, as the timer allows.
    let start = app.now;
    while let Some(wake) = app.next_wake() {
        assert!(wake > app.now);
        app.now = wake;
        app.tick();
        answer(&mut app, &mut texts);
    }
    assert_eq!(texts, paste);
    let took = app.now - start;
    assert!((17_000..=18_000).contains(&took), "{took} ms");
    assert!(app.paste_progress().is_none());
    // A warning from a server set slower halves the pace.
    frame(
        &mut app,
        json!({"type":"error","code":"rate_limited","message":"slow down"}),
    );
    app.on_terminal(Event::Paste("a\nb".into()));
    key(&mut app, KeyCode::Char('y'));
    assert!(sent(&mut app).is_empty());
    assert_eq!(app.next_wake(), Some(app.now + 250));
}

#[test]
fn a_line_over_the_servers_limit_stays_in_the_input() {
    let mut app = app();
    sent(&mut app);
    frame(&mut app, joined("lobby", &json!(1), vec![]));
    let long = "x".repeat(MAX_LINE_BYTES + 1);
    app.on_terminal(Event::Paste(long.clone()));
    key(&mut app, KeyCode::Enter);
    assert_eq!(app.editor.text(), long);
    assert!(sent(&mut app).is_empty());
    assert!(said(&app, 1)
        .iter()
        .any(|l| l.contains("4097 bytes, more than the server takes (4096)")));
    // Exactly the limit goes.
    app.editor.set(&"y".repeat(MAX_LINE_BYTES));
    key(&mut app, KeyCode::Enter);
    assert_eq!(sent(&mut app).len(), 1);
    // In a paste, the long line waits in the input and the others go.
    app.on_terminal(Event::Paste(format!("short\n{long}\nafter")));
    key(&mut app, KeyCode::Char('y'));
    let texts: Vec<Value> = sent(&mut app).iter().map(|r| r["text"].clone()).collect();
    assert_eq!(texts, ["short", "after"]);
    assert_eq!(app.editor.text(), long);
}

#[test]
fn a_refused_command_comes_back_selected_and_typing_replaces_it() {
    let mut app = app();
    sent(&mut app);
    frame(&mut app, joined("lobby", &json!(1), vec![]));
    type_line(&mut app, ":dance");
    assert_eq!(app.editor.text(), ":dance");
    assert!(app.editor.is_selected());
    type_line(&mut app, "/join #games");
    assert_eq!(app.editor.text(), "");
    assert_eq!(
        sent(&mut app),
        [json!({"type":"join","room":"games","id":2})]
    );
}

#[test]
fn alt_a_goes_to_the_next_conversation_with_unread_lines() {
    let mut app = app();
    sent(&mut app);
    frame(&mut app, joined("lobby", &json!(1), vec![]));
    type_line(&mut app, ":n games");
    frame(
        &mut app,
        json!({"type":"joined","room":"games","created":true,"host":true,"locked":false,"topic":null,
            "members":[{"name":"alice","host":true}],"history":[],"id":2}),
    );
    assert_eq!(app.conversations.current().name, "games");
    frame(&mut app, message("lobby", "bob", 7, "news"));
    app.on_terminal(Event::Key(KeyEvent::new(
        KeyCode::Char('a'),
        KeyModifiers::ALT,
    )));
    assert_eq!(app.conversations.current().name, "lobby");
    // The message that came while away is fresh: the read marker's place.
    let fresh: Vec<bool> = app
        .conversations
        .current()
        .entries
        .iter()
        .map(|e| e.fresh)
        .collect();
    assert_eq!(fresh.iter().filter(|f| **f).count(), 1);
    app.on_terminal(Event::Key(KeyEvent::new(
        KeyCode::Char('a'),
        KeyModifiers::ALT,
    )));
    assert!(said(&app, 1).iter().any(|l| l == "nothing unread"));
}

#[test]
fn mentions_and_private_messages_mark_the_sidebar_and_ring() {
    let mut app = app();
    sent(&mut app);
    frame(&mut app, joined("lobby", &json!(1), vec![]));
    app.on_terminal(Event::Key(KeyEvent::new(
        KeyCode::Char('1'),
        KeyModifiers::ALT,
    )));
    frame(&mut app, message("lobby", "bob", 2, "nothing for you"));
    assert!(!app.ring);
    frame(&mut app, message("lobby", "bob", 3, "alice: look"));
    assert!(std::mem::take(&mut app.ring));
    let lobby = &app.conversations.list[1];
    assert_eq!((lobby.unread, lobby.mention), (2, true));
    frame(
        &mut app,
        json!({"type":"private","from":"carol","text":"psst","at":1}),
    );
    assert!(app.ring);
    let carol = app.conversations.find(Kind::Private, "carol").unwrap();
    assert_eq!(app.conversations.list[carol].unread, 1);
    // Replying in the private conversation sends a msg.
    app.conversations.select(carol);
    type_line(&mut app, "hi carol");
    assert_eq!(
        sent(&mut app),
        [json!({"type":"msg","to":"carol","text":"hi carol","id":2})]
    );
}

#[test]
fn tab_completes_commands_and_nicks() {
    let mut app = app();
    sent(&mut app);
    frame(&mut app, joined("lobby", &json!(1), vec![]));
    for c in ":hosta".chars() {
        key(&mut app, KeyCode::Char(c));
    }
    key(&mut app, KeyCode::Tab);
    assert_eq!(app.editor.text(), ":hostadd");
    key(&mut app, KeyCode::Char(' '));
    key(&mut app, KeyCode::Char('b'));
    key(&mut app, KeyCode::Tab);
    assert_eq!(app.editor.text(), ":hostadd bob");
    // A nick at the start of a line addresses them.
    ctrl(&mut app, 'u');
    for c in "bo".chars() {
        key(&mut app, KeyCode::Char(c));
    }
    key(&mut app, KeyCode::Tab);
    assert_eq!(app.editor.text(), "bob: ");
    type_line(&mut app, "ready?");
    assert_eq!(sent(&mut app)[0]["text"], "bob: ready?");
}

#[test]
fn scrolling_past_the_top_loads_an_older_page() {
    let mut app = app();
    sent(&mut app);
    frame(
        &mut app,
        joined("lobby", &json!(1), vec![message("lobby", "bob", 40, "x")]),
    );
    app.viewport = Viewport {
        rows: 10,
        width: 40,
        max_scroll: 0,
    };
    key(&mut app, KeyCode::PageUp);
    assert_eq!(
        sent(&mut app),
        [json!({"type":"history","room":"lobby","limit":50,"before":40,"id":2})]
    );
    // Only one page at a time.
    key(&mut app, KeyCode::PageUp);
    assert!(sent(&mut app).is_empty());
    frame(
        &mut app,
        json!({"type":"history","room":"lobby","messages":[message("lobby","bob",39,"y")],"id":2}),
    );
    assert!(app.conversations.current().history_start);
    assert_eq!(ids(&app, "lobby"), [39, 40]);
}

#[test]
fn a_room_entered_again_with_no_history_shown_still_pages_back() {
    let mut app = app();
    sent(&mut app);
    frame(&mut app, joined("lobby", &json!(1), vec![]));
    app.viewport = Viewport {
        rows: 10,
        width: 40,
        max_scroll: 0,
    };
    key(&mut app, KeyCode::PageUp);
    assert_eq!(
        sent(&mut app),
        [json!({"type":"history","room":"lobby","limit":50,"id":2})]
    );
    frame(
        &mut app,
        json!({"type":"history","room":"lobby","messages":[message("lobby","bob",39,"y")],"id":2}),
    );
    assert_eq!(ids(&app, "lobby"), [39]);
}

#[test]
fn a_new_name_is_kept_for_reconnects_and_shown_in_the_member_list() {
    let mut app = app();
    sent(&mut app);
    frame(&mut app, joined("lobby", &json!(1), vec![]));
    type_line(&mut app, ":nick al");
    assert_eq!(sent(&mut app), [json!({"type":"nick","name":"al","id":2})]);
    frame(&mut app, json!({"type":"nick_set","name":"al","id":2}));
    assert_eq!(app.me, "al");
    assert_eq!(app.take_effects(), [Effect::Rename("al".into())]);
    let names: Vec<&str> = app
        .conversations
        .current()
        .members
        .iter()
        .map(|m| m.name.as_str())
        .collect();
    assert_eq!(names, ["bob", "al"]);
}

#[test]
fn failed_attempts_say_why_once_per_reason() {
    let mut app = App::new("alice", "ws://test/ws", vec![], true, true);
    for why in ["refused", "refused", "refused", "timed out"] {
        app.on_incoming(Incoming::Lost { why: why.into() });
    }
    let lines: Vec<&What> = app.conversations.list[0]
        .entries
        .iter()
        .map(|e| &e.what)
        .collect();
    assert_eq!(
        lines,
        [
            &What::Error("cannot connect to ws://test/ws: refused".into()),
            &What::Error("cannot connect to ws://test/ws: timed out".into()),
        ]
    );
}

#[test]
fn a_room_is_rejoined_even_when_the_connection_drops_again_before_the_answer() {
    let mut app = app();
    sent(&mut app);
    frame(
        &mut app,
        joined("lobby", &json!(1), vec![message("lobby", "bob", 3, "a")]),
    );
    for _ in 0..2 {
        app.on_incoming(Incoming::Lost { why: "x".into() });
        app.on_incoming(Incoming::Registered {
            name: "alice".into(),
            wanted: "alice".into(),
            resumed: None,
        });
        let rejoin = sent(&mut app);
        assert_eq!(rejoin.len(), 1);
        assert_eq!(rejoin[0]["type"], "join");
    }
    // A room closed meanwhile is not tried again.
    frame(
        &mut app,
        json!({"type":"error","code":"no_such_room","message":"there is no room lobby","id":3}),
    );
    app.on_incoming(Incoming::Lost { why: "x".into() });
    app.on_incoming(Incoming::Registered {
        name: "alice".into(),
        wanted: "alice".into(),
        resumed: None,
    });
    assert!(sent(&mut app).is_empty());
}

#[test]
fn a_password_changed_while_away_is_asked_for_and_the_gap_still_filled() {
    let mut app = app();
    sent(&mut app);
    frame(
        &mut app,
        joined("lobby", &json!(1), vec![message("lobby", "bob", 3, "a")]),
    );
    app.on_incoming(Incoming::Lost { why: "x".into() });
    app.on_incoming(Incoming::Registered {
        name: "alice".into(),
        wanted: "alice".into(),
        resumed: None,
    });
    sent(&mut app);
    frame(
        &mut app,
        json!({"type":"error","code":"password_needed","message":"lobby is locked","id":2}),
    );
    type_line(&mut app, SECRET);
    assert_eq!(sent(&mut app)[0]["password"], SECRET);
    frame(
        &mut app,
        joined("lobby", &json!(3), vec![message("lobby", "bob", 9, "b")]),
    );
    assert_eq!(
        sent(&mut app),
        [json!({"type":"history","room":"lobby","limit":200,"before":9,"id":4})]
    );
    assert!(!everything_shown(&app).contains(SECRET));
}

#[test]
fn missed_messages_are_shown_and_fetched() {
    let mut app = app();
    sent(&mut app);
    frame(
        &mut app,
        joined("lobby", &json!(1), vec![message("lobby", "bob", 10, "a")]),
    );
    frame(&mut app, json!({"type":"missed","room":"lobby","count":2}));
    assert!(app
        .conversations
        .current()
        .entries
        .iter()
        .any(|e| e.what == What::Missed(2)));
    assert_eq!(
        sent(&mut app),
        [json!({"type":"history","room":"lobby","limit":200,"id":2})]
    );
    frame(&mut app, message("lobby", "bob", 13, "live"));
    let page: Vec<Value> = (9..=13)
        .map(|id| message("lobby", "bob", id, "p"))
        .collect();
    frame(
        &mut app,
        json!({"type":"history","room":"lobby","messages":page,"id":2}),
    );
    assert!(sent(&mut app).is_empty());
    assert_eq!(ids(&app, "lobby"), [9, 10, 11, 12, 13]);
}

#[test]
fn a_kicked_user_keeps_the_pane_but_can_no_longer_talk_there() {
    let mut app = app();
    sent(&mut app);
    frame(&mut app, joined("lobby", &json!(1), vec![]));
    frame(
        &mut app,
        json!({"type":"kicked","room":"lobby","by":"bob","message":"spam"}),
    );
    let lobby = app.conversations.current();
    assert!(!lobby.joined && lobby.members.is_empty());
    assert_eq!(
        lobby.entries.last().unwrap().what,
        What::Error("you were kicked from lobby by bob: spam".into())
    );
    type_line(&mut app, "but why");
    assert!(sent(&mut app).is_empty());
    // :cr asks to enter again; :part just closes the pane.
    type_line(&mut app, ":cr lobby");
    assert_eq!(sent(&mut app)[0]["type"], "join");
    type_line(&mut app, ":part");
    assert_eq!(app.conversations.list.len(), 1);
}

#[test]
fn erm_speaks_into_another_room_from_the_one_on_screen() {
    let mut app = app();
    sent(&mut app);
    frame(&mut app, joined("lobby", &json!(1), vec![]));
    type_line(&mut app, ":erm games come over");
    assert_eq!(
        sent(&mut app),
        [
            json!({"type":"say_elsewhere","room":"games","from_room":"lobby","text":"come over","id":2})
        ]
    );
    frame(
        &mut app,
        json!({"type":"sent_elsewhere","room":"games","members":2,"id":2}),
    );
    assert_eq!(
        app.conversations.current().entries.last().unwrap().what,
        What::Notice("sent to games (2 people there)".into())
    );
    // Into a room we are in, it is simply said there.
    type_line(&mut app, ":erm lobby hello");
    assert_eq!(sent(&mut app)[0]["type"], "say");
}

#[test]
fn whois_asks_about_a_user_and_shows_the_answer_on_one_line() {
    let mut app = app();
    sent(&mut app);
    frame(&mut app, joined("lobby", &json!(1), vec![]));
    type_line(&mut app, "/whois bob");
    let requests = sent(&mut app);
    assert_eq!(requests, [json!({"type":"whois","name":"bob","id":2})]);
    frame(
        &mut app,
        json!({"type":"whois","name":"bob","rooms":[{"room":"games","host":true},{"room":"lobby","host":false,"voice":true}],
            "away":"lunch","operator":true,"address":"192.0.2.7","id":2}),
    );
    assert_eq!(
        app.conversations.current().entries.last().unwrap().what,
        What::Notice(
            "bob: in games (host), lobby (voice); away: lunch; server operator; address 192.0.2.7"
                .into()
        )
    );
    type_line(&mut app, ":whois carol");
    sent(&mut app);
    frame(
        &mut app,
        json!({"type":"whois","name":"carol","rooms":[],"away":null,"operator":false,"address":null,"id":3}),
    );
    assert_eq!(
        app.conversations.current().entries.last().unwrap().what,
        What::Notice("carol: in no rooms".into())
    );
}
