//! Tests of the real `banterd` process: signals, flags, idle CPU, fd
//! exhaustion, what it logs, and how it fails to start.

mod support;

use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::json;
use support::banterd::Banterd;
use support::irc::IrcClient;
use support::ws::WsClient;
use support::{http, Client};

#[tokio::test]
async fn sigterm_and_sigint_say_goodbye_and_exit_zero() {
    for signal in ["TERM", "INT"] {
        let mut server = Banterd::start(&[], &[]);
        let mut alice = server.login("alice").await;
        let mut bob = server.login("bob").await;
        alice.expect("* bob joined lobby").await;
        let started = Instant::now();
        server.signal(signal);
        for client in [&mut alice, &mut bob] {
            assert_eq!(
                client.expect_closed().await,
                vec!["the server is shutting down, bye!"]
            );
        }
        let status = server.wait_exit(Duration::from_secs(5));
        assert!(status.success(), "SIG{signal}: {status:?}");
        assert!(started.elapsed() < Duration::from_secs(5));
    }
}

#[tokio::test]
async fn settings_come_from_flags_environment_and_a_config_file() {
    let dir = std::env::temp_dir().join(format!("banter-process-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("banter.toml");
    std::fs::write(&file, "default-room = \"hall\"\nmax-line-bytes = 10\n").unwrap();
    let file = file.to_str().unwrap();

    let server = Banterd::start(&["--config", file], &[]);
    let mut alice = server.login("alice").await;
    alice.send(":who").await;
    alice.expect("in hall (1): alice").await;
    alice.send("this is longer than ten").await;
    alice
        .expect_prefix("error: line too long (over 10 bytes)")
        .await;
    drop(server);

    let server = Banterd::start(&["--config", file], &[("BANTER_DEFAULT_ROOM", "den")]);
    // Alice stays connected: a session dropped here would end while bob logs
    // in, and its "* alice disconnected" could reach bob before his answer.
    let mut alice = server.login("alice").await;
    let mut bob = server.login("bob").await;
    alice.expect("* bob joined den").await;
    bob.send(":who").await;
    bob.expect("in den (2): alice, bob").await;
    drop(server);

    let server = Banterd::start(
        &["--config", file, "--default-room", "porch"],
        &[("BANTER_DEFAULT_ROOM", "den")],
    );
    let mut alice = server.login("alice").await;
    alice.send(":who").await;
    alice.expect("in porch (1): alice").await;
}

#[test]
fn help_documents_every_flag_with_its_default() {
    let output = Command::new(env!("CARGO_BIN_EXE_banterd"))
        .arg("--help")
        .output()
        .unwrap();
    assert!(output.status.success());
    let help = String::from_utf8(output.stdout).unwrap();
    for (flag, default) in [
        ("--listen", "127.0.0.1:8080"),
        ("--default-room", "lobby"),
        ("--max-connections ", "10000"),
        ("--max-connections-per-ip", "0"),
        ("--max-line-bytes", "4096"),
        ("--rate-limit", "10"),
        ("--rate-burst", "20"),
        ("--outbox-bytes", "65536"),
        ("--registration-timeout", "60"),
        ("--write-stall-timeout", "30"),
    ] {
        let at = help.find(flag).unwrap_or_else(|| panic!("{flag} missing"));
        let section = &help[at..];
        let end = section.find("\n  -").unwrap_or(section.len());
        assert!(
            section[..end].contains(&format!("[default: {default}]")),
            "{flag}: {}",
            &section[..end]
        );
    }
}

#[tokio::test]
async fn an_idle_server_uses_no_cpu() {
    let server = Banterd::start(&[], &[]);
    let mut clients = Vec::new();
    for i in 0..20 {
        clients.push(server.login(&format!("idle{i}")).await);
    }
    uses_no_cpu_while_idle(&server).await;
}

/// A polling loop would burn ~200 ticks in the 2 s measured; a few are
/// allowed for the log thread.
async fn uses_no_cpu_while_idle(server: &Banterd) {
    tokio::time::sleep(Duration::from_millis(300)).await;
    let before = server.cpu_ticks();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let used = server.cpu_ticks() - before;
    assert!(used <= 3, "idle server used {used} ticks in 2 s");
}

/// banterd pinned to CPU 0 with `taskset`, as on a machine with one CPU.
fn start_on_one_cpu(args: &[&str]) -> Banterd {
    let mut taskset = Command::new("taskset");
    taskset.args(["--cpu-list", "0", env!("CARGO_BIN_EXE_banterd")]);
    Banterd::start_via(taskset, args, &[])
}

/// With one CPU every task runs on the main thread: chat, a password hashed
/// on a blocking thread, the SQLite writer's history across a restart, and
/// no CPU while idle all work there as with one worker per CPU.
#[tokio::test]
async fn on_one_cpu_the_server_runs_on_one_thread_and_does_everything() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let mut server = start_on_one_cpu(&["--data-dir", data]);
    assert!(server
        .log
        .lock()
        .unwrap()
        .contains("runtime: one thread (one CPU available)"));
    let mut alice = server.login("alice").await;
    alice.send(":n vault").await;
    alice.expect("created room vault; you are in it").await;
    alice.lock_room("alice", "vault", "open sesame").await;
    let mut bob = server.login("bob").await;
    bob.send(":cr vault").await;
    bob.answer_hidden("password for vault", "open sesame").await;
    bob.expect("you are now in vault with 1 other").await;
    alice.expect("* bob joined vault").await;
    alice.send("the gold is under the floor").await;
    bob.expect("[vault] alice: the gold is under the floor")
        .await;
    bob.send("which floor?").await;
    alice.expect("[vault] bob: which floor?").await;
    uses_no_cpu_while_idle(&server).await;

    server.signal("TERM");
    for client in [&mut alice, &mut bob] {
        client.expect_closed().await;
    }
    assert!(server.wait_exit(Duration::from_secs(5)).success());

    let server = start_on_one_cpu(&["--data-dir", data]);
    let mut carol = server.login("carol").await;
    carol.send(":cr vault").await;
    carol
        .answer_hidden("password for vault", "open sesame")
        .await;
    carol.expect("you are now in vault with nobody else").await;
    carol.expect("you are the host of vault").await;
    carol.expect("-- last 2 messages in vault (UTC) --").await;
    for want in ["alice: the gold is under the floor", "bob: which floor?"] {
        let line = carol.line().await;
        assert!(line.ends_with(&format!("] [vault] {want}")), "{line:?}");
    }
    carol
        .expect("-- end of history; new messages follow --")
        .await;
}

#[tokio::test]
async fn running_out_of_file_descriptors_is_survived() {
    let mut shell = Command::new("sh");
    shell.args([
        "-c",
        "ulimit -n 40 && exec \"$0\" \"$@\"",
        env!("CARGO_BIN_EXE_banterd"),
    ]);
    let server = Banterd::start_via(shell, &[], &[]);
    // Far more connections than descriptors: the kernel queues them while
    // accept fails with EMFILE.
    let mut clients = Vec::new();
    for _ in 0..60 {
        clients.push(tokio::net::TcpStream::connect(server.addr).await.unwrap());
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before = server.cpu_ticks();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let used = server.cpu_ticks() - before;
    assert!(used <= 20, "accept retries burned {used} ticks in 1 s");
    drop(clients);
    // Once descriptors free up the server serves again.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let mut client = Client::connect(server.addr).await;
        if let Some(line) = client.raw_line(Duration::from_secs(2)).await {
            if line.starts_with(support::TELNET_PROBE) {
                break;
            }
        }
        assert!(Instant::now() < deadline, "server never recovered");
    }
}

#[tokio::test]
async fn passwords_never_reach_the_log_or_other_clients() {
    const SECRET: &str = "correct-horse-battery";
    const GUESS: &str = "wrong-guess-staple";
    let mut server = Banterd::start(&["--log-level", "trace"], &[]);
    let mut alice = server.login("alice").await;
    alice.send(":n vault").await;
    alice.expect("created room vault; you are in it").await;
    let mut bob = server.login("bob").await;
    bob.send(":cr vault").await;
    bob.expect("you are now in vault with 1 other").await;
    alice.expect("* bob joined vault").await;
    alice.send(":passwd").await;
    alice.answer_hidden("new password for vault", SECRET).await;
    alice
        .answer_hidden("the new password for vault again", SECRET)
        .await;
    alice.expect("* alice locked vault with a password").await;
    let mut carol = server.login("carol").await;
    carol.send(":cr vault").await;
    carol.answer_hidden("password for vault", GUESS).await;
    carol.expect_prefix("error: wrong password for vault").await;
    carol.send(":cr vault").await;
    carol.answer_hidden("password for vault", SECRET).await;
    carol.expect("you are now in vault with 2 others").await;
    server.signal("TERM");
    let mut seen = Vec::new();
    for client in [&mut alice, &mut bob, &mut carol] {
        seen.extend(client.expect_closed().await);
    }
    assert!(server.wait_exit(Duration::from_secs(5)).success());
    let log = server.log.lock().unwrap().clone();
    assert!(log.contains("wrong room password"), "{log}");
    assert!(log.contains("peer=127.0.0.1:"), "{log}");
    for secret in [SECRET, GUESS] {
        assert!(!log.contains(secret), "password in the log");
        assert!(
            seen.iter().all(|line| !line.contains(secret)),
            "password sent to a client"
        );
    }
}

#[test]
fn cargo_run_at_the_workspace_root_starts_banterd() {
    // `cargo run --release` (the README's first command) runs the only binary
    // of the workspace's default members; with several it refuses to choose.
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let output = Command::new(cargo)
        .args(["metadata", "--no-deps", "--format-version", "1"])
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
        .output()
        .unwrap();
    assert!(output.status.success());
    let metadata: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let defaults = metadata["workspace_default_members"].as_array().unwrap();
    let packages = metadata["packages"].as_array().unwrap();
    let binaries: Vec<&str> = packages
        .iter()
        .filter(|package| defaults.contains(&package["id"]))
        .flat_map(|package| package["targets"].as_array().unwrap())
        .filter(|target| target["kind"] == serde_json::json!(["bin"]))
        .map(|target| target["name"].as_str().unwrap())
        .collect();
    assert_eq!(binaries, ["banterd"]);
}

#[tokio::test]
async fn passwords_on_every_door_stay_out_of_the_most_verbose_log() {
    const TEXT_SECRET: &str = "text-door-secret-4711";
    const WS_SECRET: &str = "websocket-secret-4712";
    const WS_GUESS: &str = "websocket-guess-4713";
    const IRC_KEY: &str = "irc-channel-key-4714";
    let mut server = Banterd::start(
        &[
            "--log-level",
            "trace",
            "--http-listen",
            "127.0.0.1:0",
            "--irc-listen",
            "127.0.0.1:0",
        ],
        &[],
    );
    // The text door: the hidden `:passwd` prompt, then a locked room's prompt.
    let mut alice = server.login("alice").await;
    alice.send(":n vault").await;
    alice.expect("created room vault; you are in it").await;
    alice.lock_room("alice", "vault", TEXT_SECRET).await;
    let mut carol = server.login("carol").await;
    carol.send(":cr vault").await;
    carol.answer_hidden("password for vault", TEXT_SECRET).await;
    carol.expect("you are now in vault with 1 other").await;

    // The WebSocket door: `set_password`, a wrong and a right `join`.
    let web = server.listener("http");
    let mut host = WsClient::login(web, "host").await;
    host.ask(json!({"type": "create", "room": "wsvault"}), 1)
        .await;
    let (locked, _) = host
        .ask(
            json!({"type": "set_password", "room": "wsvault", "password": WS_SECRET}),
            2,
        )
        .await;
    assert_eq!(locked["type"], "ok", "{locked}");
    let mut guest = WsClient::login(web, "guest").await;
    let (wrong, _) = guest
        .ask(
            json!({"type": "join", "room": "wsvault", "password": WS_GUESS}),
            1,
        )
        .await;
    assert_eq!(wrong["code"], "wrong_password", "{wrong}");
    let (joined, _) = guest
        .ask(
            json!({"type": "join", "room": "wsvault", "password": WS_SECRET}),
            2,
        )
        .await;
    assert_eq!(joined["type"], "joined", "{joined}");

    // The IRC door: `MODE +k` and `JOIN` with the key.
    let irc = server.listener("irc");
    let mut ann = IrcClient::register(irc, "ann").await;
    ann.send("JOIN #ircvault").await;
    ann.skip_to(" 366 ").await;
    ann.send(&format!("MODE #ircvault +k {IRC_KEY}")).await;
    ann.expect(":ann!ann@banter MODE #ircvault +k *").await;
    let mut bob = IrcClient::register(irc, "bob").await;
    bob.send(&format!("JOIN #ircvault {IRC_KEY}")).await;
    bob.expect(":bob!bob@banter JOIN #ircvault").await;

    // A resume token: given, parked, presented.
    let mut roamer = WsClient::connect(web).await;
    roamer
        .send(json!({"type": "hello", "name": "roamer", "id": 1}))
        .await;
    let welcome = roamer.recv().await;
    let token = welcome["resume"].as_str().unwrap().to_owned();
    roamer
        .send_raw(tokio_tungstenite::tungstenite::Message::Close(None))
        .await;
    while roamer.try_recv(Duration::from_secs(5)).await.is_some() {}
    let mut back = WsClient::connect(web).await;
    back.send(json!({"type": "hello", "name": "roamer", "resume": token, "id": 1}))
        .await;
    assert_eq!(back.recv().await["resumed"], true);

    alice.send(":q").await;
    alice.expect_closed().await;
    server.signal("TERM");
    assert!(server.wait_exit(Duration::from_secs(5)).success());
    let log = server.log.lock().unwrap().clone();
    assert!(log.contains("session resumed"), "{log}");
    assert!(!log.contains(&token), "the resume token in the log:\n{log}");
    // The setting is the most verbose: banter's own debug lines are there...
    assert!(log.contains(" DEBUG banter_server"), "{log}");
    assert!(log.contains("session ended"), "{log}");
    // ...and no dependency's, since none was named.
    assert!(!log.contains("tungstenite"), "{log}");
    for secret in [TEXT_SECRET, WS_SECRET, WS_GUESS, IRC_KEY] {
        assert!(!log.contains(secret), "{secret} in the log:\n{log}");
    }
}

#[tokio::test]
async fn a_dependency_named_in_the_log_filter_logs_at_its_level() {
    let server = Banterd::start(
        &[
            "--log-level",
            "info,tungstenite=trace",
            "--http-listen",
            "127.0.0.1:0",
        ],
        &[],
    );
    let mut web = WsClient::login(server.listener("http"), "webby").await;
    web.ask(json!({"type": "rooms"}), 1).await;
    let deadline = Instant::now() + Duration::from_secs(5);
    while !server.log.lock().unwrap().contains("TRACE tungstenite") {
        assert!(Instant::now() < deadline, "{}", server.log.lock().unwrap());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn sessions_end_at_debug_in_words_and_not_at_info() {
    for (level, logged) in [("info", false), ("debug", true)] {
        let mut server = Banterd::start(
            &[
                "--log-level",
                level,
                "--http-listen",
                "127.0.0.1:0",
                "--irc-listen",
                "127.0.0.1:0",
            ],
            &[],
        );
        let mut alice = server.login("alice").await;
        alice.send(":q").await;
        alice.expect_closed().await;
        let mut web = WsClient::login(server.listener("http"), "webby").await;
        web.send(json!({"type": "quit"})).await;
        web.until("bye").await;
        let mut ann = IrcClient::register(server.listener("irc"), "ann").await;
        ann.send("QUIT :see you").await;
        ann.expect_closed().await;
        tokio::time::sleep(Duration::from_millis(100)).await;
        server.signal("TERM");
        assert!(server.wait_exit(Duration::from_secs(5)).success());
        let log = server.log.lock().unwrap().clone();
        let ends = log.matches("session ended").count();
        assert_eq!(ends, if logged { 3 } else { 0 }, "{level}: {log}");
        assert_eq!(log.contains(" connected"), logged, "{level}: {log}");
        if logged {
            assert_eq!(log.matches("end=\"quit\"").count(), 3, "{log}");
            assert!(!log.contains("Quit("), "{log}");
        }
    }
}

#[tokio::test]
async fn a_bad_log_level_is_one_clear_error() {
    let output = Command::new(env!("CARGO_BIN_EXE_banterd"))
        .args(["--in-memory", "--log-level", "verbose"])
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.starts_with("banterd: error: --log-level \"verbose\" is not a log level"),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}

/// Runs banterd expecting it to fail at start; returns its stderr.
fn failed_start(args: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_banterd"))
        .args(args)
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    stderr
}

#[test]
fn a_busy_port_is_one_error_line_and_leaves_no_data_directory() {
    let held = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let busy = held.local_addr().unwrap().to_string();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("new-data");
    let data = data.to_str().unwrap();
    // The busy port is the last listener bound, so the others were fine.
    for (flag, others) in [
        ("--listen", ["--http-listen", "off", "--irc-listen", "off"]),
        (
            "--irc-listen",
            ["--listen", "127.0.0.1:0", "--http-listen", "127.0.0.1:0"],
        ),
    ] {
        let mut args = vec!["--data-dir", data, flag, &busy];
        args.extend(others);
        let stderr = failed_start(&args);
        assert_eq!(
            stderr,
            format!(
                "banterd: error: cannot listen on {busy} ({flag}): \
                 Address already in use (os error 98)\n"
            )
        );
        assert!(!dir.path().join("new-data").exists());
    }
}

#[test]
fn an_unusable_data_directory_is_named_once() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a-file");
    std::fs::write(&file, "not a directory").unwrap();
    let data = file.join("data");
    let stderr = failed_start(&[
        "--listen",
        "127.0.0.1:0",
        "--http-listen",
        "off",
        "--irc-listen",
        "off",
        "--data-dir",
        data.to_str().unwrap(),
    ]);
    let error = format!(
        "banterd: error: cannot create the data directory {} (--data-dir): \
         Not a directory (os error 20)\n",
        data.display()
    );
    assert!(stderr.ends_with(&error), "{stderr}");
    assert_eq!(stderr.matches("Not a directory").count(), 1, "{stderr}");
}

#[tokio::test]
async fn every_metric_family_the_readme_lists_is_scraped_from_the_start() {
    let readme = include_str!("../../../README.md");
    let start = readme
        .find("`GET /metrics`")
        .expect("the README lists the metrics");
    let end = start + readme[start..].find("\n\n").unwrap();
    let families: Vec<&str> = readme[start..end]
        .split('`')
        .filter(|word| word.starts_with("banter_") || word.starts_with("process_"))
        .map(|word| word.split('{').next().unwrap())
        .collect();
    assert!(families.len() > 15, "{families:?}");
    let server = Banterd::start(&["--metrics-listen", "127.0.0.1:0"], &[]);
    let (status, page) = http::get(server.listener("metrics"), "/metrics").await;
    assert_eq!(status, 200);
    for family in families {
        let samples: Vec<&str> = page
            .lines()
            .filter(|line| !line.starts_with('#') && line.starts_with(family))
            .collect();
        assert!(!samples.is_empty(), "no {family} in\n{page}");
    }
    for series in [
        "banter_connections_refused_total{reason=\"server_full\"}",
        "banter_disconnects_total{reason=\"write_stall\"}",
        "banter_tls_handshakes_failed_total{door=\"https\"}",
    ] {
        assert!(page.contains(&format!("{series} 0\n")), "{series}:\n{page}");
    }
}

#[test]
fn the_readme_flags_table_lists_every_flag_of_help_once_in_one_table() {
    let output = Command::new(env!("CARGO_BIN_EXE_banterd"))
        .arg("--help")
        .output()
        .unwrap();
    let help = String::from_utf8(output.stdout).unwrap();
    let mut flags: Vec<&str> = help
        .lines()
        .filter_map(|line| line.trim_start().strip_prefix("--"))
        .map(|rest| rest.split([' ', ',']).next().unwrap())
        .filter(|flag| !["help", "version"].contains(flag))
        .collect();
    flags.sort_unstable();

    let readme = include_str!("../../../README.md");
    let section = &readme[readme.find("\n## Flags\n").unwrap()..];
    let section = &section[..section[1..].find("\n## ").unwrap()];
    let header = "| flag | default | meaning |\n|---|---|---|\n";
    let table_at = section.find(header).expect("the flags table") + header.len();
    let rows: Vec<&str> = section[table_at..]
        .lines()
        .take_while(|line| line.starts_with('|'))
        .collect();
    for row in &rows {
        let cells = row.replace("\\|", "").matches('|').count() - 1;
        assert_eq!(cells, 3, "a row of {cells} cells: {row}");
    }
    let rest = &section[table_at..][rows.iter().map(|row| row.len() + 1).sum::<usize>()..];
    assert!(
        !rest.lines().any(|line| line.starts_with('|')),
        "rows cut off from the table:\n{rest}"
    );
    let mut documented: Vec<&str> = rows
        .iter()
        .map(|row| {
            let flag = row.trim_start_matches("| `--");
            flag.split([' ', '`']).next().unwrap()
        })
        .collect();
    documented.sort_unstable();
    assert_eq!(documented, flags, "README rows against --help");
}
