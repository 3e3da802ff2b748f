//! Terminal tests with the real programs a user has: `telnet` and `nc` run in
//! tmux, typing as a person would, and the screen read back with
//! `tmux capture-pane`. They check what a person would see: no stray telnet
//! bytes, and a typed password that never shows and is not left on the screen
//! (not even concealed, where a capture or copy mode would find it).

mod support;

use support::screen::Screen;
use support::{Client, TestServer};

const PASSWORD: &str = "Tr0ub4dor-3";

/// Alice creates `vault` and locks it with [`PASSWORD`].
async fn locked_vault(server: &TestServer) -> Client {
    let mut alice = server.login("alice").await;
    alice.send(":n vault").await;
    alice.expect("created room vault; you are in it").await;
    alice.send(":passwd").await;
    alice
        .answer_hidden("new password for vault", PASSWORD)
        .await;
    alice
        .answer_hidden("the new password for vault again", PASSWORD)
        .await;
    alice.expect("* alice locked vault with a password").await;
    alice
}

/// Nothing on screen that a person should not see: telnet bytes, escape
/// residue, replacement characters.
fn assert_clean(screen: &str) {
    for stray in ['\u{fffd}', 'ÿ', '\u{1b}', '\u{18}'] {
        assert!(
            !screen.contains(stray),
            "stray {stray:?} on screen:\n{screen}"
        );
    }
    assert!(!screen.contains("[2K"), "erase sequence shown:\n{screen}");
}

/// A user logs in on `screen`, enters the vault with the password, and says hi.
async fn enter_vault(screen: &Screen, alice: &mut Client) {
    screen.wait_for("choose a screen name").await;
    screen.type_line("bob");
    screen.wait_for("hello bob").await;
    screen.type_line(":cr vault");
    screen.wait_for("password for vault").await;
    screen.type_line(PASSWORD);
    screen.wait_for("you are now in vault with 1 other").await;
    screen.type_line("hi alice");
    alice.expect("* bob joined vault").await;
    alice.expect("[vault] bob: hi alice").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn telnet_hides_the_password_and_shows_no_telnet_bytes() {
    let server = TestServer::start().await;
    let mut alice = locked_vault(&server).await;
    let screen = Screen::start(
        "telnet",
        &format!("telnet 127.0.0.1 {}", server.addr.port()),
    );
    enter_vault(&screen, &mut alice).await;
    for with_escapes in [false, true] {
        let shown = screen.capture(with_escapes);
        assert!(!shown.contains(PASSWORD), "password on screen:\n{shown}");
    }
    assert_clean(&screen.capture(false));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nc_conceals_the_password_then_erases_it_and_erases_the_probe() {
    let server = TestServer::start().await;
    let mut alice = locked_vault(&server).await;
    let screen = Screen::start("nc", &format!("nc 127.0.0.1 {}", server.addr.port()));
    enter_vault(&screen, &mut alice).await;
    screen.wait_for("hi alice").await;
    let plain = screen.capture(false);
    assert!(plain.starts_with("welcome to banter!"), "{plain}");
    assert_clean(&plain);
    // nc echoed the password (concealed) as it was typed; once the answer
    // arrived its line was erased: neither capture has it, not even concealed.
    for with_escapes in [false, true] {
        let shown = screen.capture(with_escapes);
        assert!(
            !shown.contains(PASSWORD),
            "password still on screen (escapes shown: {with_escapes}):\n{shown}"
        );
    }
    // Only the password's line was erased: the prompt stays, and the next
    // line took the erased one's place.
    let lines: Vec<&str> = plain.lines().collect();
    let prompt = lines
        .iter()
        .position(|line| line.starts_with("password for vault"))
        .unwrap_or_else(|| panic!("the prompt is gone:\n{plain}"));
    assert_eq!(
        lines.get(prompt + 1),
        Some(&"you are now in vault with 1 other"),
        "{plain}"
    );
    server.stop().await;
}
