//! The web door in a real headless Chromium: the page banterd serves, used
//! the way people use it, next to nc users of the text door.

mod support;

use std::time::Duration;

use serde_json::json;
use support::banterd::Banterd;
use support::browser::Driver;

/// A banterd with both doors on free ports.
fn banterd(extra: &[&str]) -> Banterd {
    let mut args = vec!["--http-listen", "127.0.0.1:0"];
    args.extend_from_slice(extra);
    Banterd::start(&args, &[])
}

#[tokio::test]
async fn a_browser_user_and_an_nc_user_chat_both_ways() {
    let server = banterd(&[]);
    let http = server.listener("http");
    let driver = Driver::start();
    let page = driver.browser(1280, 800).await;
    let mut nc = server.login("carol").await;
    page.login(http, "alice").await;
    page.wait_until("document.getElementById('title').textContent === '#lobby'", &[])
        .await;
    page.say("hello from the browser").await;
    nc.expect_past_notices("[lobby] alice: hello from the browser").await;
    nc.send("hi from nc").await;
    page.wait_for_message("hi from nc").await;
    assert_eq!(
        page.message_texts().await,
        vec!["hello from the browser", "hi from nc"]
    );
    let members = page
        .eval("return [...document.querySelectorAll('#member-list li')].map(li => li.textContent)", &[])
        .await;
    assert_eq!(members, json!(["carol", "alice you"]));
    assert_eq!(page.console().await, Vec::<String>::new());
    page.close().await;
}

#[tokio::test]
async fn a_password_set_in_the_dialog_keeps_out_a_wrong_one_and_shows_up_nowhere() {
    const PASSWORD: &str = "correct-horse-42";
    let server = banterd(&[]);
    let http = server.http.unwrap();
    let driver = Driver::start();
    let (alice, bob) = tokio::join!(driver.browser(1280, 800), driver.browser(1280, 800));
    alice.login(http, "alice").await;
    alice.click("#new-room-button").await;
    alice.fill("#prompt-input", "vault").await;
    alice.press_enter("#prompt-input").await;
    alice
        .wait_until("document.getElementById('title').textContent === '#vault'", &[])
        .await;
    let mut carol = server.login("carol").await;
    carol.send(":cr vault").await;
    carol.expect_prefix("you are now in vault").await;

    alice.click("#room-menu-button").await;
    alice.choose("Set password…").await;
    alice.fill("#password-input", PASSWORD).await;
    alice.fill("#password-again", "not the same").await;
    alice.press_enter("#password-again").await;
    alice
        .wait_until("document.getElementById('password-error').textContent.includes('differ')", &[])
        .await;
    alice.fill("#password-input", PASSWORD).await;
    alice.fill("#password-again", PASSWORD).await;
    alice.press_enter("#password-again").await;
    alice
        .wait_until("!document.getElementById('password-dialog').open", &[])
        .await;
    alice.wait_for_notice("alice locked #vault with a password").await;

    bob.login(http, "bob").await;
    bob.say(":cr vault").await;
    bob.wait_until("document.getElementById('password-dialog').open", &[])
        .await;
    bob.fill("#password-input", "wrong horse").await;
    bob.press_enter("#password-input").await;
    bob.wait_until(
        "document.getElementById('password-error').textContent.includes('wrong password')",
        &[],
    )
    .await;
    bob.fill("#password-input", PASSWORD).await;
    bob.press_enter("#password-input").await;
    bob.wait_until("document.getElementById('title').textContent === '#vault'", &[])
        .await;
    alice.wait_for_notice("bob joined").await;

    let seen_by_carol = carol.lines_until_quiet(Duration::from_millis(300)).await;
    assert!(
        seen_by_carol.contains(&"* alice locked vault with a password".to_owned()),
        "{seen_by_carol:?}"
    );
    for page in [&alice, &bob] {
        assert!(!page.everything_in_the_dom().await.contains(PASSWORD));
        let console = page.console().await;
        assert!(console.iter().all(|line| !line.contains(PASSWORD)), "{console:?}");
    }
    assert!(seen_by_carol.iter().all(|line| !line.contains(PASSWORD)));
    assert!(!server.log.lock().unwrap().contains(PASSWORD));
    alice.close().await;
    bob.close().await;
}

#[tokio::test]
async fn unread_counts_rise_in_a_room_not_shown_and_clear_when_it_is_opened() {
    let server = banterd(&[]);
    let http = server.http.unwrap();
    let driver = Driver::start();
    let page = driver.browser(1280, 800).await;
    page.login(http, "alice").await;
    page.say(":n den").await;
    page.wait_until("document.getElementById('title').textContent === '#den'", &[])
        .await;
    let mut bob = server.login("bob").await;
    for line in ["one", "two", "hey alice, look"] {
        bob.send(line).await;
    }
    let lobby = "#sidebar button[data-key='room:lobby']";
    page.wait_until(
        "document.querySelector(arguments[0] + ' .badge')?.textContent === '3'",
        &[json!(lobby)],
    )
    .await;
    assert_eq!(
        page.eval("return document.querySelector(arguments[0]).getAttribute('aria-label')", &[json!(lobby)])
            .await,
        json!("#lobby, mentions you, 3 unread")
    );
    assert_eq!(page.eval("return document.title", &[]).await, json!("(3) banter"));
    page.open_conversation("room:lobby").await;
    assert_eq!(
        page.eval("return document.querySelector(arguments[0]).textContent", &[json!(lobby)])
            .await,
        json!("# lobby")
    );
    assert_eq!(page.message_texts().await, vec!["one", "two", "hey alice, look"]);
    // The room browser opens from the keyboard and Escape closes it.
    page.say(":rooms").await;
    page.wait_until("document.getElementById('browse-dialog').open", &[])
        .await;
    page.wait_until("document.querySelectorAll('#room-table tr').length === 2", &[])
        .await;
    let rows = page
        .eval("return [...document.querySelectorAll('#room-table tr')].map(r => [...r.cells].slice(0, 2).map(c => c.textContent))", &[])
        .await;
    assert_eq!(rows, json!([["#den", "1"], ["#lobby", "2"]]));
    page.client
        .active_element()
        .await
        .unwrap()
        .send_keys("\u{E00C}")
        .await
        .unwrap();
    page.wait_until("!document.getElementById('browse-dialog').open && document.activeElement.id === 'input'", &[])
        .await;
    assert_eq!(page.console().await, Vec::<String>::new());
    page.close().await;
}

#[tokio::test]
async fn hostile_text_shows_literally_and_runs_nothing() {
    let server = banterd(&[]);
    let http = server.http.unwrap();
    let driver = Driver::start();
    let page = driver.browser(1280, 800).await;
    page.login(http, "alice").await;
    let mut mallory = server.login("mallory").await;
    let lines = [
        "<img src=x onerror=alert(1)>",
        "javascript:alert(2)",
        "<script>alert(3)</script><a href=\"javascript:alert(4)\">click</a>",
        "docs at https://example.org/a?b=1&c=<b>, not javascript://example.org/%0aalert(5)",
    ];
    for line in lines {
        mallory.send(line).await;
    }
    page.wait_for_message(lines[3]).await;
    assert_eq!(page.message_texts().await, lines);
    let elements = page
        .eval("return [...document.querySelectorAll('#messages .text *')].map(e => [e.tagName, e.getAttribute('href'), e.getAttribute('rel'), e.textContent])", &[])
        .await;
    assert_eq!(
        elements,
        json!([["A", "https://example.org/a?b=1&c=", "noopener noreferrer", "https://example.org/a?b=1&c="]])
    );
    assert!(page.client.get_alert_text().await.is_err(), "no dialog opened");
    assert_eq!(page.console().await, Vec::<String>::new());
    page.close().await;
}
