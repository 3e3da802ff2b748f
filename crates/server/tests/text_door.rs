//! Text-door wire tests over real sockets: per-connection settings (`:set`)
//! and the help text as an nc user reads it.

mod support;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use banter_proto::COMMANDS;
use support::{Client, TestServer};

const QUIET: Duration = Duration::from_millis(200);
const SET_USAGE: &str =
    "error: :set takes 'timestamps on' or 'timestamps off'; usage: :set timestamps on|off";

/// The UTC time of day in minutes, now.
fn minute_of_day_now() -> u64 {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    secs % 86_400 / 60
}

/// Strips the `[HH:MM] ` prefix of `line`, asserting it is the current UTC
/// time (or the minute before, across a tick).
fn stamped(line: &str) -> &str {
    let now = minute_of_day_now();
    let (time, rest) = line
        .strip_prefix('[')
        .and_then(|line| line.split_once("] "))
        .unwrap_or_else(|| panic!("no [HH:MM] prefix: {line:?}"));
    let (hours, minutes) = time
        .split_once(':')
        .filter(|(h, m)| h.len() == 2 && m.len() == 2)
        .unwrap_or_else(|| panic!("not HH:MM: {line:?}"));
    let minute = hours.parse::<u64>().unwrap() * 60 + minutes.parse::<u64>().unwrap();
    assert!(
        [now, (now + 1439) % 1440].contains(&minute),
        "{line:?} is not the current UTC time"
    );
    rest
}

/// The one message `:history 1` shows, as its line reads.
async fn last_history_line(client: &mut Client, room: &str) -> String {
    client.send(":history 1").await;
    client
        .expect(&format!("-- last 1 message in {room} (UTC) --"))
        .await;
    let line = client.line().await;
    client.expect("-- end of history --").await;
    line
}

#[tokio::test]
async fn timestamps_are_off_until_set_and_then_on_live_messages_of_that_connection_only() {
    let server = TestServer::start().await;
    let mut alice = server.login("alice").await;
    let mut bob = server.login("bob").await;
    alice.expect("* bob joined lobby").await;
    let mut carol = server.login("carol").await;
    alice.expect("* carol joined lobby").await;
    bob.expect("* carol joined lobby").await;

    // Off by default: scripts read the lines as they always were.
    alice.send("plain").await;
    bob.expect("[lobby] alice: plain").await;
    carol.expect("[lobby] alice: plain").await;

    bob.send(":set timestamps on").await;
    bob.expect("timestamps on").await;
    alice.send("hello").await;
    let live = bob.line().await;
    assert_eq!(stamped(&live), "[lobby] alice: hello");
    // Exactly the line history shows for the same message.
    assert_eq!(last_history_line(&mut bob, "lobby").await, live);
    // Everyone else still gets the shared, unstamped line.
    carol.expect("[lobby] alice: hello").await;

    alice.send(":me waves").await;
    alice.expect("[lobby] * alice waves").await;
    assert_eq!(stamped(&bob.line().await), "[lobby] * alice waves");
    carol.expect("[lobby] * alice waves").await;

    alice.send(":msg bob psst").await;
    alice.expect("[private to bob] psst").await;
    assert_eq!(stamped(&bob.line().await), "[private] alice: psst");

    carol.send(":n games").await;
    carol.expect("created room games; you are in it").await;
    bob.expect("* carol left lobby").await;
    alice.expect("* carol left lobby").await;
    carol.send(":erm lobby come over").await;
    carol.expect("sent to lobby (2 there)").await;
    assert_eq!(stamped(&bob.line().await), "[lobby] carol@games: come over");
    alice.expect("[lobby] carol@games: come over").await;

    // Notices carry no time.
    let mut dave = server.login("dave").await;
    bob.expect("* dave joined lobby").await;
    alice.expect("* dave joined lobby").await;

    bob.send(":set timestamps off").await;
    bob.expect("timestamps off").await;
    dave.send("late").await;
    bob.expect("[lobby] dave: late").await;
    alice.expect("[lobby] dave: late").await;
    bob.expect_silence(QUIET).await;
    server.stop().await;
}

#[tokio::test]
async fn set_ignores_case_and_a_bad_argument_gets_an_error_with_usage() {
    let server = TestServer::start().await;
    let mut alice = server.login("alice").await;
    for bad in [
        ":set",
        ":set timestamps",
        ":set timestamps yes",
        ":set timestamps on please",
        ":set colours on",
    ] {
        alice.send(bad).await;
        alice.expect(SET_USAGE).await;
    }
    alice.send(":SET Timestamps ON").await;
    alice.expect("timestamps on").await;
    alice.send(":set timestamps on").await;
    alice.expect("timestamps on").await;
    alice.send(":help set").await;
    alice
        .expect(":set timestamps on|off - show the time on live messages, or not (this connection only)")
        .await;
    alice.expect_prefix("  With timestamps on,").await;
    alice.expect_silence(QUIET).await;
    server.stop().await;
}

#[tokio::test]
async fn set_needs_a_name_first() {
    let server = TestServer::start().await;
    let mut client = server.connect().await;
    client.skip_greeting().await;
    client.send(":set timestamps on").await;
    client
        .expect_prefix("error: choose a screen name first")
        .await;
    client.expect_prefix("choose a screen name").await;
    server.stop().await;
}

#[tokio::test]
async fn help_text_shows_no_markdown_backticks() {
    // One :help per command, faster than the flood limit allows.
    let server = TestServer::start_with(|config| config.rate_limit = 0).await;
    let mut alice = server.login("alice").await;
    alice.send(":help").await;
    alice
        .expect("commands (type :h <command> for details):")
        .await;
    for spec in COMMANDS {
        let line = alice.expect_prefix(&format!("  :{}", spec.name)).await;
        assert!(!line.contains('`'), "{line:?}");
    }
    alice.expect_prefix("anything else you type").await;
    for spec in COMMANDS {
        alice.send(&format!(":help {}", spec.name)).await;
        let mut lines = vec![alice.line().await];
        if !spec.aliases.is_empty() {
            lines.push(alice.line().await);
        }
        lines.push(alice.line().await);
        for line in &lines {
            assert!(!line.contains('`'), ":help {}: {line:?}", spec.name);
        }
    }
    alice.send(":help me").await;
    alice
        .expect(":me <action> - act something out, shown as * name action")
        .await;
    alice
        .expect("  ':me waves' shows '[room] * you waves' to your room.")
        .await;
    alice.send(":help help").await;
    alice.expect_prefix(":help [command] - ").await;
    alice.expect("  also: :h").await;
    alice
        .expect("  With no argument, lists every command; :help cr explains one command.")
        .await;
    alice.expect_silence(QUIET).await;
    server.stop().await;
}
