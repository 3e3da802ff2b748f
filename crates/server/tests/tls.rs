//! TLS on every door, against the real binary: the text door over TLS with
//! the real `openssl s_client` and with a rustls client, HTTPS and WSS on the
//! HTTP listener, reload on SIGHUP without dropping anyone, plain text to a
//! TLS port, and a bad certificate at start.

mod support;

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt};
use support::banterd::Banterd;
use support::tls::{client, connect, peer_fingerprint, read_cert, write_pair};
use support::{http, Client};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::Message;

fn tls_args<'a>(cert: &'a str, key: &'a str) -> Vec<&'a str> {
    vec![
        "--tls-listen",
        "127.0.0.1:0",
        "--tls-cert",
        cert,
        "--tls-key",
        key,
    ]
}

/// Waits until the log holds `needle`.
fn wait_for_log(server: &Banterd, needle: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let log = server.log.lock().unwrap().clone();
        if log.contains(needle) {
            return log;
        }
        assert!(
            Instant::now() < deadline,
            "no {needle:?} in the log:\n{log}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Reads lines from a child's stdout on a thread, so a test can wait for one.
fn line_reader(stdout: std::process::ChildStdout) -> std::sync::mpsc::Receiver<String> {
    let (send, receive) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        // Bytes, not `lines()`: the greeting starts with telnet bytes that are not UTF-8.
        for line in BufReader::new(stdout).split(b'\n').map_while(Result::ok) {
            if send
                .send(String::from_utf8_lossy(&line).into_owned())
                .is_err()
            {
                return;
            }
        }
    });
    receive
}

fn expect_line(lines: &std::sync::mpsc::Receiver<String>, want: &str) {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match lines.recv_timeout(left) {
            Ok(line) if line.contains(want) => return,
            Ok(_) => {}
            Err(_) => panic!("openssl never printed {want:?}"),
        }
    }
}

#[tokio::test]
async fn openssl_s_client_chats_with_an_nc_user_on_the_plain_port() {
    let dir = tempfile::tempdir().unwrap();
    let pair = write_pair(dir.path(), "server");
    let (cert, key) = (pair.cert.to_str().unwrap(), pair.key.to_str().unwrap());
    let server = Banterd::start(&tls_args(cert, key), &[]);
    let tls_addr = server.listener("text door (TLS)");
    let mut nc_user = server.login("plain").await;

    let mut openssl = Command::new("openssl")
        .args(["s_client", "-quiet", "-connect", &tls_addr.to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("openssl is installed (scripts/test installs it)");
    let lines = line_reader(openssl.stdout.take().unwrap());
    let mut input = openssl.stdin.take().unwrap();
    expect_line(&lines, "choose a screen name");
    writeln!(input, "secure").unwrap();
    expect_line(&lines, "hello secure");
    nc_user.expect_containing("secure").await;

    writeln!(input, "hi over TLS").unwrap();
    nc_user.expect("[lobby] secure: hi over TLS").await;
    nc_user.send("hi back in plain text").await;
    expect_line(&lines, "plain: hi back in plain text");

    drop(input);
    let _ = openssl.kill();
    let _ = openssl.wait();
}

#[tokio::test]
async fn a_rustls_client_uses_the_text_door_https_and_wss_with_a_self_signed_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let server = Banterd::start(
        &[
            "--data-dir",
            data,
            "--tls-self-signed",
            "--tls-listen",
            "127.0.0.1:0",
            "--http-listen",
            "127.0.0.1:0",
        ],
        &[],
    );
    let cert = read_cert(&dir.path().join("tls/self-signed-cert.pem"));
    let log = server.log.lock().unwrap().clone();
    let connector = client(&[&cert]);

    // The text door over TLS, with the fingerprint the log announced.
    let stream = connect(server.listener("text door (TLS)"), &connector).await;
    let fingerprint = peer_fingerprint(&stream);
    assert!(log.contains(&fingerprint), "{fingerprint} not in\n{log}");
    let mut secure = Client::from_stream(stream);
    secure.skip_greeting().await;
    secure.send("secure").await;
    secure.expect_prefix("hello secure").await;
    let mut plain = server.login("plain").await;
    plain.send("hello everyone").await;
    secure
        .expect_past_notices("[lobby] plain: hello everyone")
        .await;

    // HTTPS: the health check answers over TLS; plain HTTP there is told what to use.
    let https = server.listener("https");
    let (status, body) = http::get(https, "/healthz").await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body.starts_with("error: this port speaks HTTPS; use https://"),
        "{body}"
    );
    let (status, body) = http::get_over(connect(https, &connector).await, "/healthz").await;
    assert_eq!((status, body.as_str()), (200, "ok\n"));

    // WSS: the JSON door over the same TLS listener.
    let tls = connect(https, &connector).await;
    let url = format!("wss://localhost:{}/ws", https.port());
    let (mut ws, _) = tokio_tungstenite::client_async(url, tls).await.unwrap();
    ws.send(Message::text(r#"{"type":"hello","name":"webby","id":1}"#))
        .await
        .unwrap();
    let welcome = ws.next().await.unwrap().unwrap().into_text().unwrap();
    assert!(welcome.contains(r#""type":"welcome""#), "{welcome}");
    ws.send(Message::text(r#"{"type":"join","room":"lobby","id":2}"#))
        .await
        .unwrap();
    plain.expect_containing("webby").await;

    // A client that does not trust the certificate cannot connect.
    let stranger = write_pair(dir.path(), "stranger");
    let tcp = tokio::net::TcpStream::connect(https).await.unwrap();
    let refused = client(&[&stranger.der])
        .connect(
            rustls::pki_types::ServerName::try_from("localhost").unwrap(),
            tcp,
        )
        .await;
    assert!(refused.is_err(), "an untrusted certificate was accepted");
}

#[tokio::test]
async fn sighup_reloads_the_certificate_for_new_connections_and_keeps_old_ones() {
    let dir = tempfile::tempdir().unwrap();
    let first = write_pair(dir.path(), "first");
    let (cert, key) = (first.cert.to_str().unwrap(), first.key.to_str().unwrap());
    let server = Banterd::start(&tls_args(cert, key), &[]);
    let tls_addr = server.listener("text door (TLS)");
    let second = write_pair(dir.path(), "second");
    // A new client each time: one client's second connection would resume its
    // first TLS session, which keeps the certificate it began with.
    let trusts_both = || client(&[&first.der, &second.der]);

    let stream = connect(tls_addr, &trusts_both()).await;
    assert_eq!(
        peer_fingerprint(&stream),
        support::tls::fingerprint(&first.der)
    );
    let mut old = Client::from_stream(stream);
    old.skip_greeting().await;
    old.send("old").await;
    old.expect_prefix("hello old").await;

    // New files in place, then SIGHUP.
    std::fs::copy(&second.cert, &first.cert).unwrap();
    std::fs::copy(&second.key, &first.key).unwrap();
    server.signal("HUP");
    wait_for_log(&server, "TLS certificate reloaded");

    let stream = connect(tls_addr, &trusts_both()).await;
    assert_eq!(
        peer_fingerprint(&stream),
        support::tls::fingerprint(&second.der)
    );
    let mut new = Client::from_stream(stream);
    new.skip_greeting().await;
    new.send("new").await;
    new.expect_prefix("hello new").await;
    old.expect_containing("new").await;
    old.send("still here").await;
    new.expect_past_notices("[lobby] old: still here").await;

    // A broken file on reload is logged and changes nothing.
    std::fs::write(&first.key, "not a key").unwrap();
    server.signal("HUP");
    wait_for_log(&server, "keeping the current TLS certificate");
    let stream = connect(tls_addr, &trusts_both()).await;
    assert_eq!(
        peer_fingerprint(&stream),
        support::tls::fingerprint(&second.der)
    );
}

#[tokio::test]
async fn plain_text_or_garbage_to_a_tls_port_is_closed_with_one_log_line() {
    let dir = tempfile::tempdir().unwrap();
    let pair = write_pair(dir.path(), "server");
    let (cert, key) = (pair.cert.to_str().unwrap(), pair.key.to_str().unwrap());
    let mut args = tls_args(cert, key);
    args.extend([
        "--tls-handshake-timeout",
        "1",
        "--http-tls",
        "off",
        "--http-listen",
        "127.0.0.1:0",
    ]);
    let server = Banterd::start(&args, &[]);
    let tls_addr = server.listener("text door (TLS)");

    let mut plain = tokio::net::TcpStream::connect(tls_addr).await.unwrap();
    plain.write_all(b"alice\r\nhello?\r\n").await.unwrap();
    let mut rest = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(5), plain.read_to_end(&mut rest)).await;
    assert!(read.is_ok(), "a plain-text client was not closed");
    let log = wait_for_log(&server, "TLS handshake failed");
    assert_eq!(log.matches("TLS handshake failed").count(), 1, "{log}");

    // One that says nothing is closed after the handshake timeout.
    let mut silent = tokio::net::TcpStream::connect(tls_addr).await.unwrap();
    let read = tokio::time::timeout(Duration::from_secs(5), silent.read_to_end(&mut rest)).await;
    assert!(read.is_ok(), "a silent client was not closed");
    wait_for_log(&server, "no handshake within");

    // The server goes on serving TLS.
    let stream = connect(tls_addr, &client(&[&pair.der])).await;
    let mut fine = Client::from_stream(stream);
    fine.skip_greeting().await;
    assert!(!server.log.lock().unwrap().contains("panicked"));

    // Both failures are counted; the good connection is open.
    let (_, page) = http::get(server.listener("http"), "/metrics").await;
    let failed = r#"banter_tls_handshakes_failed_total{door="text_tls"}"#;
    assert_eq!(http::sample(&page, failed), 2.0, "{page}");
    let open = r#"banter_connections_open{door="text_tls"}"#;
    assert_eq!(http::sample(&page, open), 1.0, "{page}");
}

/// Starts banterd expecting it to refuse; returns its stderr.
fn refused_start(args: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_banterd"))
        .args([
            "--listen",
            "127.0.0.1:0",
            "--http-listen",
            "off",
            "--in-memory",
        ])
        .args(args)
        .env("RUST_BACKTRACE", "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(!stderr.contains("backtrace"), "{stderr}");
    assert!(!stderr.contains("listening on"), "{stderr}");
    let error_lines: Vec<&str> = stderr
        .lines()
        .filter(|line| line.starts_with("banterd: error:"))
        .collect();
    assert_eq!(error_lines.len(), 1, "{stderr}");
    stderr
}

#[test]
fn a_mismatched_key_or_an_expired_certificate_stops_the_start_with_one_clear_line() {
    let dir = tempfile::tempdir().unwrap();
    let one = write_pair(dir.path(), "one");
    let two = write_pair(dir.path(), "two");
    let stderr = refused_start(&tls_args(
        one.cert.to_str().unwrap(),
        two.key.to_str().unwrap(),
    ));
    assert!(
        stderr.contains("does not belong to the certificate"),
        "{stderr}"
    );

    let mut params = rcgen::CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
    params.not_before = rcgen::date_time_ymd(2020, 1, 1);
    params.not_after = rcgen::date_time_ymd(2021, 1, 1);
    let key = rcgen::KeyPair::generate().unwrap();
    let expired = params.self_signed(&key).unwrap();
    let cert_path = dir.path().join("expired-cert.pem");
    let key_path = dir.path().join("expired-key.pem");
    std::fs::write(&cert_path, expired.pem()).unwrap();
    std::fs::write(&key_path, key.serialize_pem()).unwrap();
    let stderr = refused_start(&tls_args(
        cert_path.to_str().unwrap(),
        key_path.to_str().unwrap(),
    ));
    assert!(stderr.contains("not now"), "{stderr}");

    let stderr = refused_start(&["--tls-listen", "127.0.0.1:0"]);
    assert!(
        stderr.contains("--tls-listen needs a certificate"),
        "{stderr}"
    );
}

#[tokio::test]
async fn an_irc_client_over_tls_chats_with_an_nc_user() {
    let dir = tempfile::tempdir().unwrap();
    let pair = write_pair(dir.path(), "server");
    let (cert, key) = (pair.cert.to_str().unwrap(), pair.key.to_str().unwrap());
    let server = Banterd::start(
        &[
            "--tls-cert",
            cert,
            "--tls-key",
            key,
            "--irc-tls-listen",
            "127.0.0.1:0",
        ],
        &[],
    );
    let mut plain = server.login("plain").await;
    let stream = connect(server.listener("irc (TLS)"), &client(&[&pair.der])).await;
    let mut irc = Client::from_stream(stream);
    irc.send("NICK ircy").await;
    irc.send("USER ircy 0 * :IRC over TLS").await;
    irc.expect_containing(" 001 ircy ").await;
    irc.send("JOIN #lobby").await;
    irc.expect_containing(" 366 ircy #lobby ").await;
    plain.expect_containing("ircy").await;
    irc.send("PRIVMSG #lobby :hello over TLS").await;
    plain.expect("[lobby] ircy: hello over TLS").await;
    plain.send("hi ircy").await;
    irc.expect_containing(":plain!plain@banter PRIVMSG #lobby :hi ircy")
        .await;
}

#[test]
fn the_self_signed_certificate_is_banters_for_a_year_and_replaces_an_endless_one() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    // What older releases made: rcgen's defaults, valid to the year 4096.
    let old = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    std::fs::create_dir_all(dir.path().join("tls")).unwrap();
    std::fs::write(dir.path().join("tls/self-signed-cert.pem"), old.cert.pem()).unwrap();
    std::fs::write(
        dir.path().join("tls/self-signed-key.pem"),
        old.signing_key.serialize_pem(),
    )
    .unwrap();
    let args = ["--data-dir", data, "--tls-self-signed"];
    let server = Banterd::start(&args, &[]);
    assert!(
        server
            .log
            .lock()
            .unwrap()
            .contains("renewing the self-signed certificate"),
        "{}",
        server.log.lock().unwrap()
    );
    drop(server);
    let cert = read_cert(&dir.path().join("tls/self-signed-cert.pem"));
    let (_, parsed) = x509_parser::parse_x509_certificate(&cert).unwrap();
    let subject = parsed.subject().to_string();
    assert!(
        subject.contains("CN=banter self-signed certificate"),
        "{subject}"
    );
    let validity = parsed.validity();
    let days = (validity.not_after.timestamp() - validity.not_before.timestamp()) / 86_400;
    assert_eq!(days, 366, "from a day ago to a year from now");

    // A second start keeps it.
    let server = Banterd::start(&args, &[]);
    assert!(!server.log.lock().unwrap().contains("renewing"));
    assert_eq!(
        read_cert(&dir.path().join("tls/self-signed-cert.pem")),
        cert
    );
}
