//! Tests of the real `banterd` process: signals, flags, idle CPU, fd exhaustion.

mod support;

use std::process::Command;
use std::time::{Duration, Instant};

use support::banterd::Banterd;
use support::Client;

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
    tokio::time::sleep(Duration::from_millis(300)).await;
    let before = server.cpu_ticks();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let used = server.cpu_ticks() - before;
    // A polling loop would burn ~200 ticks here; allow a few for the log thread.
    assert!(used <= 3, "idle server used {used} ticks in 2 s");
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
