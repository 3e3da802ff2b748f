//! Process test: a crowd guessing room passwords leaves the server's resident
//! memory bounded by the hashing slots, not by the number of guesses.
//!
//! It reads the real `banterd`'s VmRSS, so it runs the binary, not an
//! in-process server that other tests' threads would share.

mod support;

use support::banterd::Banterd;
use support::Client;
use tokio::task::JoinSet;

/// Connections guessing at the same time, each with its own room to wait in.
const GUESSERS: usize = 16;
/// Wrong guesses per connection and locked room: all are hashed (the lockout
/// starts after the third).
const GUESSES: usize = 3;
/// Two hashing slots of 19 MiB each, plus room for sessions and allocator slack.
const BOUND_KIB: u64 = 64 * 1024;
/// What a second round may add once the slots exist: sessions and log lines only.
const SECOND_ROUND_KIB: u64 = 8 * 1024;

fn resident_kib(server: &Banterd) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{}/status", server.child.id())).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// Registers `name` straight into a new `room`, which it hosts, and locks it.
async fn lock(server: &Banterd, name: &str, room: &str) -> Client {
    let mut host = server.login(&format!("{name}:{room}")).await;
    host.expect(&format!("you are the host of {room}")).await;
    host.send(":passwd").await;
    host.answer_hidden(&format!("new password for {room}"), "right")
        .await;
    host.answer_hidden(&format!("the new password for {room} again"), "right")
        .await;
    host.expect(&format!("* {name} locked {room} with a password"))
        .await;
    host
}

/// Every guesser tries `room` [`GUESSES`] times with wrong passwords, all at once.
async fn guess(guessers: &mut Vec<Client>, room: &'static str) {
    let mut crowd = JoinSet::new();
    for (i, mut client) in guessers.drain(..).enumerate() {
        crowd.spawn(async move {
            for attempt in 0..GUESSES {
                client.send(&format!(":cr {room}")).await;
                client
                    .answer_hidden(&format!("password for {room}"), &format!("w{i}x{attempt}"))
                    .await;
                client
                    .expect_prefix(&format!("error: wrong password for {room}"))
                    .await;
            }
            client
        });
    }
    while let Some(client) = crowd.join_next().await {
        guessers.push(client.unwrap());
    }
}

#[tokio::test]
async fn wrong_password_guesses_leave_memory_bounded_by_the_hashing_slots() {
    // Every guesser makes a room from one address.
    let server = Banterd::start(&["--max-new-rooms-per-minute", "0"], &[]);
    // Each guesser waits in a room of its own, so nobody sees the others' joins.
    let mut guessers = Vec::new();
    for i in 0..GUESSERS {
        let mut guesser = server.login(&format!("g{i}:den{i}")).await;
        guesser.expect(&format!("you are the host of den{i}")).await;
        guessers.push(guesser);
    }
    let before = resident_kib(&server);
    let _hosts = [
        lock(&server, "keeper", "vault").await,
        lock(&server, "warden", "safe").await,
    ];
    guess(&mut guessers, "vault").await;
    let first = resident_kib(&server);
    guess(&mut guessers, "safe").await;
    let second = resident_kib(&server);
    let hashes = 2 * GUESSERS * GUESSES;
    eprintln!(
        "banterd resident memory: {before} KiB before, {first} KiB after {} wrong guesses, \
         {second} KiB after {hashes} (from {GUESSERS} connections)",
        hashes / 2
    );
    let grown = second.saturating_sub(before);
    assert!(grown < BOUND_KIB, "resident memory grew by {grown} KiB");
    let climbed = second.saturating_sub(first);
    assert!(
        climbed < SECOND_ROUND_KIB,
        "resident memory climbed by {climbed} KiB in the second round"
    );
}
