//! The web door in a real headless Chromium: the page banterd serves, used
//! the way people use it, next to nc users of the text door.

mod support;

use std::time::Duration;

use serde_json::json;
use support::banterd::Banterd;
use support::browser::Driver;
use support::port_no_one_else_gets;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

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
    // The text door's rules and sentences for names.
    page.client.goto(&format!("http://{http}/")).await.unwrap();
    for (name, error) in [("no spaces", "name"), ("carol", "taken")] {
        page.fill("#name-input", name).await;
        page.press_enter("#name-input").await;
        page.wait_until(
            "document.getElementById('login-error').textContent.includes(arguments[0])",
            &[json!(error)],
        )
        .await;
    }
    page.login(http, "alice").await;
    page.wait_until(
        "document.getElementById('title').textContent === '#lobby'",
        &[],
    )
    .await;
    page.say("hello from the browser").await;
    nc.expect_past_notices("[lobby] alice: hello from the browser")
        .await;
    nc.send("hi from nc").await;
    page.wait_for_message("hi from nc").await;
    assert_eq!(
        page.message_texts().await,
        vec!["hello from the browser", "hi from nc"]
    );
    let members = page
        .eval(
            "return [...document.querySelectorAll('#member-list li')].map(li => li.textContent)",
            &[],
        )
        .await;
    // Sorted by name (hosts would come first; the lobby has none).
    assert_eq!(members, json!(["alice you", "carol"]));

    nc.send(":msg alice psst, over here").await;
    let private = "#sidebar button[data-key='pm:carol']";
    page.wait_until(
        "document.querySelector(arguments[0])?.getAttribute('aria-label') === 'carol, private message, 1 unread'",
        &[json!(private)],
    )
    .await;
    page.open_conversation("pm:carol").await;
    page.wait_for_message("psst, over here").await;
    page.say("on my way").await;
    let seen = nc.lines_until_quiet(Duration::from_millis(300)).await;
    assert!(
        seen.iter()
            .any(|line| line.contains("alice") && line.ends_with("on my way")),
        "{seen:?}"
    );
    assert_eq!(
        page.eval("return document.getElementById('title').textContent", &[])
            .await,
        json!("carol (private)")
    );
    assert_eq!(page.console().await, Vec::<String>::new());
    page.close().await;
}

#[tokio::test]
async fn a_password_set_in_the_dialog_keeps_out_a_wrong_one_and_shows_up_nowhere() {
    const PASSWORD: &str = "correct-horse-42";
    let server = banterd(&[]);
    let http = server.listener("http");
    let driver = Driver::start();
    let (alice, bob) = tokio::join!(driver.browser(1280, 800), driver.browser(1280, 800));
    alice.login(http, "alice").await;
    alice.click("#new-room-button").await;
    alice.fill("#prompt-input", "vault").await;
    alice.press_enter("#prompt-input").await;
    alice
        .wait_until(
            "document.getElementById('title').textContent === '#vault'",
            &[],
        )
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
        .wait_until(
            "document.getElementById('password-error').textContent.includes('differ')",
            &[],
        )
        .await;
    alice.fill("#password-input", PASSWORD).await;
    alice.fill("#password-again", PASSWORD).await;
    alice.press_enter("#password-again").await;
    alice
        .wait_until("!document.getElementById('password-dialog').open", &[])
        .await;
    alice
        .wait_for_notice("alice locked #vault with a password")
        .await;

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
    bob.wait_until(
        "document.getElementById('title').textContent === '#vault'",
        &[],
    )
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
        assert!(
            console.iter().all(|line| !line.contains(PASSWORD)),
            "{console:?}"
        );
    }
    assert!(seen_by_carol.iter().all(|line| !line.contains(PASSWORD)));
    assert!(!server.log.lock().unwrap().contains(PASSWORD));
    alice.close().await;
    bob.close().await;
}

#[tokio::test]
async fn unread_counts_rise_in_a_room_not_shown_and_clear_when_it_is_opened() {
    let server = banterd(&[]);
    let http = server.listener("http");
    let driver = Driver::start();
    let page = driver.browser(1280, 800).await;
    page.login(http, "alice").await;
    page.say(":n den").await;
    page.wait_until(
        "document.getElementById('title').textContent === '#den'",
        &[],
    )
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
        page.eval(
            "return document.querySelector(arguments[0]).getAttribute('aria-label')",
            &[json!(lobby)]
        )
        .await,
        json!("#lobby, mentions you, 3 unread")
    );
    assert_eq!(
        page.eval("return document.title", &[]).await,
        json!("(3) banter")
    );
    page.open_conversation("room:lobby").await;
    assert_eq!(
        page.eval(
            "return document.querySelector(arguments[0]).textContent",
            &[json!(lobby)]
        )
        .await,
        json!("# lobby")
    );
    assert_eq!(
        page.message_texts().await,
        vec!["one", "two", "hey alice, look"]
    );
    // The room browser opens from the keyboard and Escape closes it.
    page.say(":rooms").await;
    page.wait_until("document.getElementById('browse-dialog').open", &[])
        .await;
    page.wait_until(
        "document.querySelectorAll('#room-table tr').length === 2",
        &[],
    )
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
    page.wait_until(
        "!document.getElementById('browse-dialog').open && document.activeElement.id === 'input'",
        &[],
    )
    .await;
    assert_eq!(page.console().await, Vec::<String>::new());
    page.close().await;
}

#[tokio::test]
async fn hostile_text_shows_literally_and_runs_nothing() {
    let server = banterd(&[]);
    let http = server.listener("http");
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
        json!([[
            "A",
            "https://example.org/a?b=1&c=",
            "noopener noreferrer",
            "https://example.org/a?b=1&c="
        ]])
    );
    assert!(
        page.client.get_alert_text().await.is_err(),
        "no dialog opened"
    );
    assert_eq!(page.console().await, Vec::<String>::new());
    page.close().await;
}

#[tokio::test]
async fn after_a_restart_the_page_reconnects_and_shows_what_was_said_meanwhile_once() {
    let data = tempfile::tempdir().unwrap();
    let data_dir = data.path().to_str().unwrap();
    let http_listen = format!("127.0.0.1:{}", port_no_one_else_gets());
    let mut server = banterd_on(&http_listen, data_dir);
    let http = server.listener("http");
    let driver = Driver::start();
    let page = driver.browser(1280, 800).await;
    page.login(http, "alice").await;
    let mut bob = server.login("bob").await;
    bob.send("before the restart").await;
    page.wait_for_message("before the restart").await;

    server.signal("TERM");
    server.wait_exit(Duration::from_secs(10));
    // Once the page's backoff has grown to 4 s or more (the fourth try),
    // bob talks on the new server well before the page comes back: what he
    // says can only reach it through the gap fill.
    page.wait_until(
        "/Reconnecting in [45] s/.test(document.getElementById('status').textContent)",
        &[],
    )
    .await;
    let server = banterd_on(&http_listen, data_dir);
    let mut bob = server.login("bob").await;
    // More than the 20 messages a join brings: the rest come by paging.
    let meanwhile: Vec<String> = (1..=25).map(|n| format!("meanwhile {n}")).collect();
    for line in &meanwhile {
        bob.send(line).await;
    }
    let waiting = page
        .eval("return document.getElementById('status').textContent", &[])
        .await;
    assert!(
        waiting.as_str().unwrap().starts_with("Connection lost"),
        "{waiting}"
    );
    page.wait_for_message("meanwhile 25").await;
    page.wait_until("document.getElementById('status').textContent === ''", &[])
        .await;
    // The first 5 come only through the gap fill, after the join's 20.
    page.wait_for_message("meanwhile 1").await;
    // The page shows its own line once the server answers the request, after
    // the answers to every request it made before (the gap fill's pages) and
    // every message queued for it: nothing of the gap can come after it.
    page.say("back again").await;
    page.wait_for_message("back again").await;
    let mut expected = vec!["before the restart".to_owned()];
    expected.extend(meanwhile);
    expected.push("back again".to_owned());
    assert_eq!(page.message_texts().await, expected);
    let seen = bob.lines_until_quiet(Duration::from_millis(500)).await;
    assert!(
        seen.contains(&"[lobby] alice: back again".to_owned()),
        "{seen:?}"
    );
    page.close().await;
}

/// A banterd whose HTTP listener is on `http` (for a restart on the same port).
fn banterd_on(http: &str, data_dir: &str) -> Banterd {
    Banterd::start(
        &[
            "--http-listen",
            http,
            "--data-dir",
            data_dir,
            "--rate-limit",
            "0",
        ],
        &[],
    )
}

#[tokio::test]
async fn scrolling_up_loads_older_history_without_duplicates_or_gaps() {
    let server = banterd(&["--rate-limit", "0"]);
    let http = server.listener("http");
    let mut bob = server.login("bob").await;
    let said: Vec<String> = (1..=130).map(|n| format!("line {n}")).collect();
    for line in &said {
        bob.send(line).await;
    }
    let driver = Driver::start();
    let page = driver.browser(1280, 800).await;
    page.login(http, "alice").await;
    page.wait_for_message("line 130").await;
    let shown = page.message_texts().await.len();
    assert!(
        shown < said.len(),
        "the join shows only recent history ({shown})"
    );
    for _ in 0..20 {
        if page.message_texts().await.len() == said.len() {
            break;
        }
        page.eval("document.getElementById('log-box').scrollTop = 0", &[])
            .await;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    page.wait_until("!document.getElementById('log-start').hidden", &[])
        .await;
    assert_eq!(page.message_texts().await, said);
    // Reading the start keeps its place, not jumping to the bottom.
    let top = page
        .eval("return document.getElementById('log-box').scrollTop", &[])
        .await;
    assert!(top.as_f64().unwrap() < 2000.0, "{top}");
    page.close().await;
}

#[tokio::test]
async fn at_phone_width_the_input_is_usable_and_the_sidebar_slides_in() {
    let server = banterd(&[]);
    let http = server.listener("http");
    let driver = Driver::start();
    let page = driver.browser(375, 740).await;
    page.login(http, "alice").await;
    let width = page.eval("return window.innerWidth", &[]).await;
    assert_eq!(width, json!(375));
    let boxes = page
        .eval(
            "const r = id => document.getElementById(id).getBoundingClientRect();
             const input = r('input'), send = document.querySelector('#composer button').getBoundingClientRect();
             return [input.left >= 0, input.width >= 200, send.right <= innerWidth, input.bottom <= innerHeight,
                     document.documentElement.scrollWidth <= innerWidth,
                     getComputedStyle(document.getElementById('sidebar')).visibility];",
            &[],
        )
        .await;
    assert_eq!(boxes, json!([true, true, true, true, true, "hidden"]));
    let mut bob = server.login("bob").await;
    page.say("typed on a phone").await;
    bob.expect_past_notices("[lobby] alice: typed on a phone")
        .await;
    page.click("#sidebar-toggle").await;
    // Slid all the way in (the slide is animated), then a tap picks a room and closes it.
    page.wait_until(
        "getComputedStyle(document.getElementById('sidebar')).transform === 'none'",
        &[],
    )
    .await;
    page.open_conversation("room:lobby").await;
    page.wait_until(
        "getComputedStyle(document.getElementById('sidebar')).visibility === 'hidden'",
        &[],
    )
    .await;
    page.close().await;
}

/// One HTTP/1.1 GET over a fresh connection: status, headers (lower-case
/// names) and body.
async fn get(
    http: std::net::SocketAddr,
    path: &str,
    extra: &str,
) -> (u16, Vec<(String, String)>, String) {
    let mut stream = tokio::net::TcpStream::connect(http).await.unwrap();
    let request =
        format!("GET {path} HTTP/1.1\r\nHost: {http}\r\nConnection: close\r\n{extra}\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut raw))
        .await
        .unwrap()
        .unwrap();
    let raw = String::from_utf8(raw).unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers = lines
        .map(|line| {
            let (name, value) = line.split_once(':').unwrap();
            (name.to_ascii_lowercase(), value.trim().to_owned())
        })
        .collect();
    (status, headers, body.to_owned())
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> &'a str {
    headers
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
        .unwrap_or_else(|| panic!("no {name} in {headers:?}"))
}

#[tokio::test]
async fn the_files_are_served_with_types_etags_and_a_strict_policy() {
    let server = banterd(&[]);
    let http = server.listener("http");
    for (path, content_type) in [
        ("/", "text/html; charset=utf-8"),
        ("/app.js", "text/javascript; charset=utf-8"),
        ("/protocol.js", "text/javascript; charset=utf-8"),
        ("/commands.js", "text/javascript; charset=utf-8"),
        ("/view.js", "text/javascript; charset=utf-8"),
        ("/style.css", "text/css; charset=utf-8"),
        ("/icon.svg", "image/svg+xml"),
    ] {
        let (status, headers, body) = get(http, path, "").await;
        assert_eq!(status, 200, "{path}");
        assert_eq!(header(&headers, "content-type"), content_type, "{path}");
        assert_eq!(header(&headers, "x-content-type-options"), "nosniff");
        assert_eq!(header(&headers, "cache-control"), "no-cache");
        let policy = header(&headers, "content-security-policy");
        assert!(
            policy.starts_with("default-src 'none'; script-src 'self';"),
            "{policy}"
        );
        assert!(
            policy.contains(&format!("connect-src 'self' ws://{http} wss://{http};")),
            "{policy}"
        );
        assert!(!policy.contains("unsafe"), "{policy}");
        let etag = header(&headers, "etag").to_owned();
        assert!(
            etag.starts_with('"') && etag.ends_with('"'),
            "a strong tag: {etag}"
        );
        assert!(!body.is_empty());
        let (status, headers, body) = get(http, path, &format!("If-None-Match: {etag}\r\n")).await;
        assert_eq!(status, 304, "{path}");
        assert_eq!(header(&headers, "etag"), etag);
        assert!(body.is_empty());
        let (status, ..) = get(http, path, "If-None-Match: \"stale\"\r\n").await;
        assert_eq!(status, 200, "{path}");
    }
    let (_, _, index) = get(http, "/", "").await;
    assert!(index.contains("<script type=\"module\" src=\"/app.js\"></script>"));
    assert!(!index.contains("<script>"), "no inline script");
    let (status, ..) = get(http, "/nothing.js", "").await;
    assert_eq!(status, 404);
}

/// Retakes `docs/web.png`, the README's picture of the page: run by
/// `scripts/screenshot-web`, not by the suite.
#[tokio::test]
#[ignore = "writes docs/web.png; run by scripts/screenshot-web"]
async fn screenshot_for_the_readme() {
    let server = banterd(&["--rate-limit", "0"]);
    let http = server.listener("http");
    let driver = Driver::start();
    let page = driver.browser(1280, 800).await;
    page.login(http, "alice").await;
    page.say(":n rust-club").await;
    page.wait_until(
        "document.getElementById('title').textContent === '#rust-club'",
        &[],
    )
    .await;
    page.say(":topic Meetup on Thursday at 19:00, bring a laptop")
        .await;
    let mut bob = server.login("bob").await;
    let mut carol = server.login("carol").await;
    let mut dave = server.login("dave").await;
    bob.send(":cr rust-club").await;
    carol.send(":cr rust-club").await;
    page.wait_for_notice("carol joined").await;
    page.say(":hostadd bob").await;
    let chat: [(&str, &str); 7] = [
        ("bob", "evening all! who is coming on Thursday?"),
        ("alice", "count me in, I'll bring the projector"),
        ("carol", "me too. has anyone tried async closures yet?"),
        ("bob", ":me waves from the back row"),
        (
            "alice",
            "carol: yes! the notes are at https://blog.rust-lang.org/",
        ),
        ("carol", "thanks alice, reading them now"),
        ("bob", "see you there"),
    ];
    for (from, line) in chat {
        match from {
            "alice" => page.say(line).await,
            "bob" => bob.send(line).await,
            _ => carol.send(line).await,
        }
        tokio::time::sleep(Duration::from_millis(60)).await;
    }
    page.wait_for_message("see you there").await;
    dave.send("is anyone around for a quick question?").await;
    dave.send(":msg alice could you share the slides later?")
        .await;
    page.wait_until(
        "document.querySelector(\"#sidebar button[data-key='pm:dave'] .badge\")",
        &[],
    )
    .await;
    page.click("#input").await;
    let png = page.client.screenshot().await.unwrap();
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/web.png");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, png).unwrap();
    page.close().await;
}

#[tokio::test]
async fn a_host_runs_the_room_from_the_member_list_and_the_room_menu() {
    let server = banterd(&[]);
    let http = server.listener("http");
    let driver = Driver::start();
    let page = driver.browser(1280, 800).await;
    page.login(http, "alice").await;
    page.say(":n club").await;
    page.wait_until(
        "document.getElementById('title').textContent === '#club'",
        &[],
    )
    .await;
    let mut bob = server.login("bob").await;
    let mut carol = server.login("carol").await;
    let mut dave = server.login("dave").await;
    bob.send(":cr club").await;
    carol.send(":cr club").await;
    page.wait_for_notice("carol joined").await;

    page.click("#topic-button").await;
    page.fill("#prompt-input", "board games on Friday").await;
    page.press_enter("#prompt-input").await;
    page.wait_until(
        "document.getElementById('topic').textContent === 'board games on Friday'",
        &[],
    )
    .await;

    let member = |name: &str| {
        format!(
            "//ul[@id='member-list']//button[.//span[@class='member-name' and text()='{name}']]"
        )
    };
    let click_member = |name: String| {
        let page = &page;
        async move {
            page.client
                .find(fantoccini::Locator::XPath(&name))
                .await
                .unwrap()
                .click()
                .await
                .unwrap();
        }
    };
    click_member(member("bob")).await;
    page.choose("Make host").await;
    page.wait_for_notice("alice made bob a host").await;
    let hosts = "return [...document.querySelectorAll('#member-list li')].filter(li => li.querySelector('.host-mark')).map(li => li.querySelector('.member-name').textContent)";
    assert_eq!(page.eval(hosts, &[]).await, json!(["alice", "bob"]));
    click_member(member("bob")).await;
    page.choose("Remove host").await;
    page.wait_for_notice("alice took host rights from bob")
        .await;
    assert_eq!(page.eval(hosts, &[]).await, json!(["alice"]));

    click_member(member("carol")).await;
    page.choose("Kick…").await;
    page.fill("#prompt-input", "too loud").await;
    page.press_enter("#prompt-input").await;
    page.wait_for_notice("carol was removed by alice: too loud")
        .await;
    let carol_saw = carol.lines_until_quiet(Duration::from_millis(300)).await;
    assert!(
        carol_saw
            .iter()
            .any(|line| line.contains("alice") && line.contains("too loud")),
        "{carol_saw:?}"
    );

    bob.send(":me dances").await;
    dave.send(":erm club hello from the lobby").await;
    page.wait_until(
        "document.querySelector('#messages li.kind-emote')?.textContent.endsWith('* bob dances')",
        &[],
    )
    .await;
    page.wait_until(
        "document.querySelector('#messages li.kind-from_room .via')?.textContent === 'from #lobby'",
        &[],
    )
    .await;
    page.say(":part lobby").await;
    page.wait_until(
        "!document.querySelector(\"#sidebar button[data-key='room:lobby']\")",
        &[],
    )
    .await;
    page.say(":erm lobby come and play").await;
    page.wait_for_notice("sent to #lobby (2 there): come and play")
        .await;
    let dave_saw = dave.lines_until_quiet(Duration::from_millis(300)).await;
    assert!(
        dave_saw.iter().any(|line| line.contains("alice")
            && line.contains("club")
            && line.contains("come and play")),
        "{dave_saw:?}"
    );

    page.say(":passwd").await;
    page.fill("#password-input", "dice").await;
    page.fill("#password-again", "dice").await;
    page.press_enter("#password-again").await;
    page.wait_for_notice("alice locked #club with a password")
        .await;
    page.click("#room-menu-button").await;
    page.choose("Invite someone…").await;
    page.fill("#prompt-input", "dave").await;
    page.press_enter("#prompt-input").await;
    page.wait_for_notice("dave is invited to #club").await;

    page.click("#room-menu-button").await;
    page.choose("Close room…").await;
    page.choose("Close #club").await;
    page.wait_until(
        "!document.querySelector(\"#sidebar button[data-key='room:club']\")",
        &[],
    )
    .await;
    let bob_saw = bob.lines_until_quiet(Duration::from_millis(300)).await;
    assert!(
        bob_saw.iter().any(|line| line.contains("closed")),
        "{bob_saw:?}"
    );
    assert_eq!(page.console().await, Vec::<String>::new());
    page.close().await;
}

#[tokio::test]
async fn the_keyboard_alone_reaches_the_input_the_room_menu_and_back() {
    const TAB: &str = "\u{E004}";
    const SHIFT_TAB: &str = "\u{E008}\u{E004}\u{E000}";
    const ENTER: &str = "\u{E007}";
    const ESCAPE: &str = "\u{E00C}";
    let server = banterd(&[]);
    let http = server.listener("http");
    let driver = Driver::start();
    let page = driver.browser(1280, 800).await;
    page.client.goto(&format!("http://{http}/")).await.unwrap();
    let keys = |keys: &'static str| {
        let page = &page;
        async move {
            page.client
                .active_element()
                .await
                .unwrap()
                .send_keys(keys)
                .await
                .unwrap();
        }
    };
    let focused = "return document.activeElement.id || document.activeElement.textContent";
    // The name field has focus from the start; Enter sends, and focus moves to the input.
    assert_eq!(page.eval(focused, &[]).await, json!("name-input"));
    keys("alice").await;
    keys(ENTER).await;
    page.wait_until("document.activeElement.id === 'input'", &[])
        .await;
    keys(":n den").await;
    keys(ENTER).await;
    page.wait_until(
        "document.getElementById('title').textContent === '#den'",
        &[],
    )
    .await;
    keys(TAB).await;
    assert_eq!(page.eval(focused, &[]).await, json!("Send"));
    keys(SHIFT_TAB).await;
    keys(SHIFT_TAB).await;
    assert_eq!(page.eval(focused, &[]).await, json!("help-button"));
    keys(SHIFT_TAB).await;
    assert_eq!(page.eval(focused, &[]).await, json!("room-menu-button"));
    keys(ENTER).await;
    page.wait_until("document.getElementById('menu-dialog').open && document.activeElement.textContent === 'Edit topic…'", &[])
        .await;
    keys(ESCAPE).await;
    page.wait_until("!document.getElementById('menu-dialog').open && document.activeElement.id === 'room-menu-button'", &[])
        .await;
    keys(TAB).await;
    keys(TAB).await;
    assert_eq!(page.eval(focused, &[]).await, json!("input"));
    keys("all by keyboard").await;
    keys(ENTER).await;
    page.wait_for_message("all by keyboard").await;
    page.close().await;
}

#[tokio::test]
async fn over_https_the_page_speaks_wss_under_its_policy() {
    let data = tempfile::tempdir().unwrap();
    let server = banterd(&[
        "--data-dir",
        data.path().to_str().unwrap(),
        "--tls-self-signed",
    ]);
    let https = server.listener("https");
    let driver = Driver::start();
    // The certificate is self-signed: this browser is told to take it.
    let page = driver
        .browser_with(1280, 800, &["--ignore-certificate-errors"])
        .await;
    page.login_at(&format!("https://{https}/"), "alice").await;
    // Mixed content would be blocked: this page can reach the server only over wss.
    assert_eq!(
        page.eval("return location.protocol", &[]).await,
        json!("https:")
    );
    let mut nc = server.login("bob").await;
    page.say("sent over wss").await;
    nc.expect_past_notices("[lobby] alice: sent over wss").await;
    nc.send("and back").await;
    page.wait_for_message("and back").await;
    let console = page.console().await;
    assert!(console.is_empty(), "{console:?}");
    page.close().await;
}

#[tokio::test]
async fn lines_typed_while_the_server_is_away_are_shown_pending_and_sent_once_when_it_is_back() {
    let data = tempfile::tempdir().unwrap();
    let data_dir = data.path().to_str().unwrap();
    let http_listen = format!("127.0.0.1:{}", port_no_one_else_gets());
    let mut server = banterd_on(&http_listen, data_dir);
    let http = server.listener("http");
    let driver = Driver::start();
    let page = driver.browser(1280, 800).await;
    page.login(http, "alice").await;
    page.wait_until(
        "document.getElementById('title').textContent === '#lobby'",
        &[],
    )
    .await;
    page.say("before the restart").await;
    page.wait_until(
        "document.querySelector('#messages li.message:not(.pending)')?.dataset.id",
        &[],
    )
    .await;

    server.signal("TERM");
    server.wait_exit(Duration::from_secs(10));
    page.wait_until(
        "document.getElementById('status').textContent.startsWith('Connection lost')",
        &[],
    )
    .await;
    let offline = [
        "typed while away",
        ":me waits for the server",
        "and a third line",
    ];
    for line in offline {
        page.say(line).await;
    }
    // Shown at once, marked as not sent yet; the input is free for the next line.
    page.wait_until(
        "document.querySelectorAll('#messages li.message.pending').length === 3",
        &[],
    )
    .await;
    assert_eq!(
        page.eval("return document.getElementById('input').value", &[])
            .await,
        json!("")
    );
    assert_eq!(
        page.eval(
            "return [...document.querySelectorAll('#messages li.pending .pending-mark')].map(m => m.textContent)",
            &[]
        )
        .await,
        json!(["sending…", "sending…", "sending…"])
    );

    let server = banterd_on(&http_listen, data_dir);
    page.wait_until(
        "document.getElementById('status').textContent === '' && !document.querySelector('#messages li.pending')",
        &[],
    )
    .await;
    let texts = page.message_texts().await;
    assert_eq!(
        texts,
        vec![
            "before the restart",
            "typed while away",
            "* alice waits for the server",
            "and a third line"
        ]
    );
    // Each is stored once, in the order typed, with an id the page shows.
    let expected = [
        "before the restart",
        "typed while away",
        "waits for the server",
        "and a third line",
    ];
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while support::store::lobby_texts(data.path()).len() < expected.len() {
        assert!(std::time::Instant::now() < deadline, "not stored in time");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(support::store::lobby_texts(data.path()), expected);
    let ids = page
        .eval(
            "return [...document.querySelectorAll('#messages li.message')].map(li => li.dataset.id !== '')",
            &[],
        )
        .await;
    assert_eq!(ids, json!([true, true, true, true]));
    let mut bob = server.login("bob").await;
    bob.send("hello alice").await;
    page.wait_for_message("hello alice").await;
    // (No check of the console: Chromium itself logs each refused reconnect.)
    page.close().await;
}

/// The visible controls that are smaller than a fingertip (44 x 44 CSS px).
const SMALL_CONTROLS: &str = "return [...document.querySelectorAll('button, input')]
    .filter(e => e.getClientRects().length && getComputedStyle(e).visibility !== 'hidden' && !e.closest('dialog:not([open])'))
    .map(e => [e.id || e.textContent, e.getBoundingClientRect()])
    .filter(([, r]) => r.height < 43.5 || r.width < 43.5)
    .map(([name, r]) => `${name}: ${r.width}x${r.height}`);";

#[tokio::test]
async fn the_phone_drawer_closes_by_escape_a_tap_beside_it_or_its_button_and_the_rooms_button_shows_unread(
) {
    let server = banterd(&[]);
    let http = server.listener("http");
    let driver = Driver::start();
    let page = driver.browser(375, 740).await;
    page.login(http, "alice").await;
    page.say(":n den").await;
    page.wait_until(
        "document.getElementById('title').textContent === '#den'",
        &[],
    )
    .await;
    let mut bob = server.login("bob").await;
    bob.send("alice, are you there?").await;
    page.wait_until(
        "document.getElementById('sidebar-toggle').getAttribute('aria-label') === 'Rooms, mentions you, 1 unread'",
        &[],
    )
    .await;
    assert_eq!(
        page.eval(
            "return document.querySelector('#sidebar-toggle .badge').textContent",
            &[]
        )
        .await,
        json!("1")
    );
    assert_eq!(page.eval(SMALL_CONTROLS, &[]).await, json!([]));

    let drawer_open =
        "getComputedStyle(document.getElementById('sidebar')).transform === 'none' && document.body.classList.contains('sidebar-open')";
    let drawer_closed = "getComputedStyle(document.getElementById('sidebar')).visibility === 'hidden' && document.activeElement.id === 'sidebar-toggle' && document.getElementById('sidebar-toggle').getAttribute('aria-expanded') === 'false'";
    // Escape.
    page.click("#sidebar-toggle").await;
    page.wait_until(drawer_open, &[]).await;
    assert_eq!(page.eval(SMALL_CONTROLS, &[]).await, json!([]));
    page.keys("\u{E00C}").await;
    page.wait_until(drawer_closed, &[]).await;
    // A tap on the dimmed chat beside the drawer (it is 288 px wide here).
    page.click("#sidebar-toggle").await;
    page.wait_until(drawer_open, &[]).await;
    page.tap_at(350.0, 400.0).await;
    page.wait_until(drawer_closed, &[]).await;
    // Its close button.
    page.click("#sidebar-toggle").await;
    page.wait_until(drawer_open, &[]).await;
    page.click("#sidebar-close").await;
    page.wait_until(drawer_closed, &[]).await;
    // Nothing was chosen meanwhile; choosing the room clears the mark.
    assert_eq!(
        page.eval("return document.getElementById('title').textContent", &[])
            .await,
        json!("#den")
    );
    page.click("#sidebar-toggle").await;
    page.wait_until(drawer_open, &[]).await;
    page.open_conversation("room:lobby").await;
    page.wait_until(drawer_closed, &[]).await;
    page.wait_until(
        "document.getElementById('sidebar-toggle').getAttribute('aria-label') === 'Rooms'",
        &[],
    )
    .await;
    page.wait_for_message("alice, are you there?").await;
    page.close().await;
}

#[tokio::test]
async fn choosing_a_room_with_enter_or_space_moves_focus_to_the_input_and_updates_keep_it_in_the_list(
) {
    const ENTER: &str = "\u{E007}";
    let server = banterd(&[]);
    let http = server.listener("http");
    let driver = Driver::start();
    let page = driver.browser(1280, 800).await;
    page.login(http, "alice").await;
    page.say(":n den").await;
    page.wait_until(
        "document.getElementById('title').textContent === '#den'",
        &[],
    )
    .await;
    let focus = |key: &'static str| {
        let page = &page;
        async move {
            page.eval(
                "document.querySelector(`#sidebar button[data-key='${arguments[0]}']`).focus()",
                &[json!(key)],
            )
            .await;
        }
    };
    focus("room:lobby").await;
    page.keys(ENTER).await;
    page.wait_until(
        "document.getElementById('title').textContent === '#lobby' && document.activeElement.id === 'input'",
        &[],
    )
    .await;
    focus("room:den").await;
    page.keys(" ").await;
    page.wait_until(
        "document.getElementById('title').textContent === '#den' && document.activeElement.id === 'input'",
        &[],
    )
    .await;
    // The list is drawn again when a count changes: the key stays where it was.
    focus("room:den").await;
    let mut bob = server.login("bob").await;
    bob.send("a line for the lobby").await;
    page.wait_until(
        "document.querySelector(\"#sidebar button[data-key='room:lobby'] .badge\")?.textContent === '1'",
        &[],
    )
    .await;
    assert_eq!(
        page.eval("return document.activeElement.dataset.key", &[])
            .await,
        json!("room:den")
    );
    // Switching shows each conversation's own log as it was: nothing is drawn
    // again (a screen reader would read it all again).
    page.open_conversation("room:lobby").await;
    page.wait_for_message("a line for the lobby").await;
    page.eval(
        "document.querySelector('#messages li.message').dataset.seen = 'yes'",
        &[],
    )
    .await;
    page.open_conversation("room:den").await;
    page.open_conversation("room:lobby").await;
    assert_eq!(
        page.eval(
            "return document.querySelector('#messages li.message').dataset.seen",
            &[]
        )
        .await,
        json!("yes")
    );
    page.close().await;
}

#[tokio::test]
async fn keys_open_help_complete_names_recall_lines_and_find_the_next_unread_at_its_line() {
    const TAB: &str = "\u{E004}";
    const UP: &str = "\u{E013}";
    const DOWN: &str = "\u{E015}";
    const ESCAPE: &str = "\u{E00C}";
    const NEXT_UNREAD: &str = "\u{E00A}\u{E008}\u{E015}\u{E000}";
    let server = banterd(&[]);
    let http = server.listener("http");
    let driver = Driver::start();
    let page = driver.browser(1280, 800).await;
    page.login(http, "alice").await;
    let mut bob = server.login("bob").await;
    let _bobby = server.login("bobby").await;
    page.wait_until(
        "document.querySelectorAll('#member-list li').length === 3",
        &[],
    )
    .await;

    // `?` where it is not typed into a field: the help overlay, which Escape closes.
    page.eval(
        "document.querySelector(\"#sidebar button[data-key='room:lobby']\").focus()",
        &[],
    )
    .await;
    page.keys("?").await;
    page.wait_until("document.getElementById('help-dialog').open", &[])
        .await;
    let help = page
        .eval(
            "return document.getElementById('help-dialog').textContent",
            &[],
        )
        .await;
    let help = help.as_str().unwrap();
    assert!(
        help.contains("complete the name") && help.contains(":erm <room> <message>"),
        "{help}"
    );
    page.keys(ESCAPE).await;
    page.wait_until("!document.getElementById('help-dialog').open && document.activeElement.dataset.key === 'room:lobby'", &[])
        .await;

    // Tab completes a name, again the next one; a name starting the line is spoken to.
    page.click("#input").await;
    page.keys("bo").await;
    page.keys(TAB).await;
    let input = "return document.getElementById('input').value";
    assert_eq!(page.eval(input, &[]).await, json!("bob: "));
    page.keys(TAB).await;
    assert_eq!(page.eval(input, &[]).await, json!("bobby: "));
    page.fill("#input", ":msg BO").await;
    page.keys(TAB).await;
    assert_eq!(page.eval(input, &[]).await, json!(":msg bob "));
    // With nothing to complete, Tab moves on as always.
    page.fill("#input", "").await;
    page.keys(TAB).await;
    assert_eq!(
        page.eval("return document.activeElement.textContent", &[])
            .await,
        json!("Send")
    );

    // Up brings back the lines typed, newest first; Down goes forward to an empty line.
    page.say("first line").await;
    page.say("second line").await;
    page.wait_for_message("second line").await;
    page.keys(UP).await;
    assert_eq!(page.eval(input, &[]).await, json!("second line"));
    page.keys(UP).await;
    assert_eq!(page.eval(input, &[]).await, json!("first line"));
    page.keys(DOWN).await;
    page.keys(DOWN).await;
    assert_eq!(page.eval(input, &[]).await, json!(""));

    // The next unread conversation opens at an "unread from here" line.
    page.say(":n den").await;
    page.wait_until(
        "document.getElementById('title').textContent === '#den'",
        &[],
    )
    .await;
    bob.send("while you were away").await;
    bob.send("and more").await;
    page.wait_until(
        "document.querySelector(\"#sidebar button[data-key='room:lobby'] .badge\")?.textContent === '2'",
        &[],
    )
    .await;
    page.keys(NEXT_UNREAD).await;
    page.wait_until(
        "document.getElementById('title').textContent === '#lobby' && document.activeElement.id === 'input'",
        &[],
    )
    .await;
    let around = page
        .eval(
            "const line = document.querySelector('#messages li.unread-line');
             return [line.previousElementSibling.textContent.endsWith('second line'), line.textContent, line.nextElementSibling.querySelector('.text').textContent];",
            &[],
        )
        .await;
    assert_eq!(
        around,
        json!([true, "unread from here", "while you were away"])
    );
    // With nothing else unread, the key says so; read and left, the line goes.
    page.keys(NEXT_UNREAD).await;
    page.wait_for_notice("Nothing unread.").await;
    page.open_conversation("room:den").await;
    page.open_conversation("room:lobby").await;
    assert_eq!(
        page.eval(
            "return document.querySelectorAll('#messages li.unread-line').length",
            &[]
        )
        .await,
        json!(0)
    );
    assert_eq!(page.console().await, Vec::<String>::new());
    page.close().await;
}

#[tokio::test]
async fn own_lines_show_as_stored_and_a_line_over_4096_bytes_is_kept_and_not_sent() {
    let server = banterd(&[]);
    let http = server.listener("http");
    let driver = Driver::start();
    let page = driver.browser(1280, 800).await;
    page.login(http, "alice").await;
    // In the lobby before bob comes (the page joins it after the welcome
    // shows the chat), or he is already there and joins nothing she sees.
    page.wait_until(
        "document.getElementById('title').textContent === '#lobby'",
        &[],
    )
    .await;
    let mut bob = server.login("bob").await;
    page.wait_for_notice("bob joined").await;
    let type_and_send = |text: String| {
        let page = &page;
        async move {
            page.eval(
                "document.getElementById('input').value = arguments[0]; document.getElementById('input').dispatchEvent(new Event('input'));",
                &[json!(text)],
            )
            .await;
            page.press_enter("#input").await;
        }
    };
    // A right-to-left override reads backwards on no one's screen, ours included.
    type_and_send("abc\u{202E}def\u{7}!".to_owned()).await;
    bob.expect_past_notices("[lobby] alice: abcdef!").await;
    page.wait_until(
        "document.querySelector('#messages li.message:not(.pending)')",
        &[],
    )
    .await;
    assert_eq!(page.message_texts().await, vec!["abcdef!"]);
    // Each message finds its own direction.
    page.eval("document.getElementById('input').value = ''", &[])
        .await;
    bob.send("שלום alice").await;
    page.wait_for_message("שלום alice").await;
    assert_eq!(
        page.eval(
            "return [...document.querySelectorAll('#messages li.message .text')].map(t => [t.dir, getComputedStyle(t).direction])",
            &[]
        )
        .await,
        json!([["auto", "ltr"], ["auto", "rtl"]])
    );

    // 2049 two-byte letters: 4098 bytes, though fewer than 4096 characters.
    let long = "é".repeat(2049);
    type_and_send(long.clone()).await;
    page.wait_until(
        "document.getElementById('input-hint').textContent.startsWith('This line is 4098 bytes; at most 4096')",
        &[],
    )
    .await;
    assert_eq!(
        page.eval("return document.getElementById('input').value", &[])
            .await,
        json!(long)
    );
    // 4096 bytes go.
    let longest = "é".repeat(2048);
    type_and_send(longest.clone()).await;
    bob.expect_past_notices(&format!("[lobby] alice: {longest}"))
        .await;
    let seen = bob.lines_until_quiet(Duration::from_millis(300)).await;
    assert!(seen.iter().all(|line| !line.contains(&long)), "{seen:?}");
    page.wait_until(
        "document.getElementById('input-hint').textContent === '' && document.getElementById('input').value === ''",
        &[],
    )
    .await;
    page.close().await;
}

#[tokio::test]
async fn a_reload_takes_the_session_back_with_its_rooms_host_rights_and_private_conversations_unseen_by_others(
) {
    let server = banterd(&[]);
    let http = server.listener("http");
    let driver = Driver::start();
    let page = driver.browser(1280, 800).await;
    page.login(http, "alice").await;
    page.say(":n den").await;
    page.wait_until(
        "document.getElementById('title').textContent === '#den'",
        &[],
    )
    .await;
    let mut bob = server.login("bob").await;
    bob.send(":cr den").await;
    page.wait_for_notice("bob joined").await;
    let mut carol = server.login("carol").await;
    carol.send(":msg alice psst").await;
    page.wait_until(
        "document.querySelector(\"#sidebar button[data-key='pm:carol']\")",
        &[],
    )
    .await;
    page.say("before the reload").await;
    bob.expect_containing("alice: before the reload").await;

    page.client.refresh().await.unwrap();
    // Straight back to the chat: no login screen, the same name, the room that was open.
    page.wait_until(
        "!document.getElementById('app').hidden && document.getElementById('login').hidden && document.getElementById('me').textContent === 'alice'",
        &[],
    )
    .await;
    page.wait_until(
        "document.getElementById('title').textContent === '#den' && ['room:den', 'room:lobby', 'pm:carol'].every(k => document.querySelector(`#sidebar button[data-key='${k}']`))",
        &[],
    )
    .await;
    page.wait_until(
        "[...document.querySelectorAll('#member-list li')].map(li => li.textContent).join(',') === 'alice host you,bob' && !document.getElementById('topic-button').hidden",
        &[],
    )
    .await;
    page.wait_for_message("before the reload").await;
    page.open_conversation("pm:carol").await;
    page.wait_for_message("psst").await;
    page.open_conversation("room:den").await;
    page.say("after the reload").await;
    // Bob saw alice neither leave nor come back: the next line he gets is this one.
    let next = bob.line().await;
    assert!(next.ends_with("alice: after the reload"), "{next:?}");
    carol.send(":msg alice still there?").await;
    page.wait_until(
        "document.querySelector(\"#sidebar button[data-key='pm:carol'] .badge\")?.textContent === '1'",
        &[],
    )
    .await;
    assert_eq!(page.console().await, Vec::<String>::new());
    page.close().await;
}

/// A TCP relay in front of the HTTP listener that the test can make deaf
/// (what the server sends is thrown away, as on a link that died one way)
/// and cut (every connection through it closed at once).
struct Relay {
    addr: std::net::SocketAddr,
    deaf: std::sync::Arc<std::sync::atomic::AtomicBool>,
    connections: std::sync::Arc<std::sync::Mutex<Vec<tokio::task::JoinHandle<()>>>>,
}

impl Relay {
    async fn start(target: std::net::SocketAddr) -> Self {
        use std::sync::atomic::Ordering;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let deaf = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let connections = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let (deaf_flag, held) = (deaf.clone(), connections.clone());
        tokio::spawn(async move {
            while let Ok((inbound, _)) = listener.accept().await {
                let deaf = deaf_flag.clone();
                let relayed = tokio::spawn(async move {
                    let Ok(outbound) = tokio::net::TcpStream::connect(target).await else {
                        return;
                    };
                    let (mut from_client, mut to_client) = inbound.into_split();
                    let (mut from_server, mut to_server) = outbound.into_split();
                    let up = tokio::io::copy(&mut from_client, &mut to_server);
                    let down = async {
                        let mut buffer = [0u8; 16 * 1024];
                        loop {
                            match from_server.read(&mut buffer).await {
                                Ok(0) | Err(_) => return,
                                Ok(n) if !deaf.load(Ordering::SeqCst) => {
                                    if to_client.write_all(&buffer[..n]).await.is_err() {
                                        return;
                                    }
                                }
                                Ok(_) => {}
                            }
                        }
                    };
                    tokio::select! {
                        _ = up => {}
                        () = down => {}
                    }
                });
                held.lock().unwrap().push(relayed);
            }
        });
        Self {
            addr,
            deaf,
            connections,
        }
    }

    fn set_deaf(&self, deaf: bool) {
        self.deaf.store(deaf, std::sync::atomic::Ordering::SeqCst);
    }

    /// Closes every connection made so far; new ones relay both ways.
    fn cut(&self) {
        self.set_deaf(false);
        for connection in self.connections.lock().unwrap().drain(..) {
            connection.abort();
        }
    }
}

#[tokio::test]
async fn a_line_whose_answer_was_lost_is_sent_again_after_the_reconnect_and_delivered_once() {
    let server = banterd(&[]);
    let http = server.listener("http");
    let relay = Relay::start(http).await;
    let driver = Driver::start();
    let page = driver.browser(1280, 800).await;
    page.login_at(&format!("http://{}/", relay.addr), "alice")
        .await;
    // In the lobby before bob comes, to see him join.
    page.wait_until(
        "document.getElementById('title').textContent === '#lobby'",
        &[],
    )
    .await;
    let mut bob = server.login("bob").await;
    page.wait_for_notice("bob joined").await;

    // The line reaches the server, which stores it and tells bob; its answer is lost.
    relay.set_deaf(true);
    page.say("exactly once").await;
    bob.expect_past_notices("[lobby] alice: exactly once").await;
    assert_eq!(
        page.eval(
            "return document.querySelectorAll('#messages li.message.pending').length",
            &[]
        )
        .await,
        json!(1)
    );
    relay.cut();
    // Back on the same session, the page sends it again with its nonce: the
    // server answers with the first id and delivers it to no one again.
    page.wait_until(
        "document.getElementById('status').textContent === '' && !document.querySelector('#messages li.pending')",
        &[],
    )
    .await;
    assert_eq!(page.message_texts().await, vec!["exactly once"]);
    page.say("and the next").await;
    assert_eq!(bob.line().await, "[lobby] alice: and the next");
    page.close().await;
}

#[tokio::test]
async fn whois_in_the_input_shows_the_answer_in_the_log_and_an_operator_sees_the_address() {
    use argon2::password_hash::{PasswordHasher, SaltString};
    const PASSWORD: &str = "correct-horse-battery";
    let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
    let hash = argon2::Argon2::default()
        .hash_password(PASSWORD.as_bytes(), &salt)
        .unwrap()
        .to_string();
    let dir = tempfile::TempDir::new().unwrap();
    let config = dir.path().join("banter.toml");
    std::fs::write(
        &config,
        banter_server::config::Operator::toml_lines("root", &hash),
    )
    .unwrap();
    let server = banterd(&["--config", config.to_str().unwrap()]);
    let http = server.listener("http");
    let driver = Driver::start();
    let page = driver.browser(1280, 800).await;
    page.login(http, "alice").await;
    page.wait_until(
        "document.getElementById('title').textContent === '#lobby'",
        &[],
    )
    .await;
    let _bob = server.login("bob").await;
    page.wait_for_notice("bob joined").await;
    page.say(":whois bob").await;
    page.wait_for_notice("bob: in #lobby").await;
    page.say(":whois nobody").await;
    page.wait_for_notice("nobody named nobody is connected")
        .await;
    page.say(":oper root").await;
    page.fill("#password-input", PASSWORD).await;
    page.press_enter("#password-input").await;
    page.wait_for_notice("You are now a server operator (root).")
        .await;
    page.say(":whois bob").await;
    page.wait_for_notice("bob: in #lobby; address 127.0.0.1")
        .await;
}
