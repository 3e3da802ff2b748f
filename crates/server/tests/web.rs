//! The web door in a real headless Chromium: the page banterd serves, used
//! the way people use it, next to nc users of the text door.

mod support;

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
