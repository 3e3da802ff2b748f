//! A full disk on a small volume (issue 8): chat goes on and the user is told
//! that history is not being saved; once space is freed every message is
//! stored, the WAL shrinks back instead of refilling the volume, and SIGTERM
//! exits 0.
//!
//! The data directory is on a 2 MB tmpfs, so the test must be allowed to
//! mount (root with `CAP_SYS_ADMIN`). It is therefore ignored by default, so a
//! plain `cargo nextest run` lists it as skipped rather than passing without
//! testing anything; `scripts/test` runs it (`--run-ignored only`) in CI and
//! wherever it can mount, and says when it leaves it out. Once run, a volume
//! that cannot be mounted fails it.

mod support;

use std::fs::{self, File};
use std::io::{ErrorKind, Write};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use support::banterd::Banterd;
use support::Client;

/// The volume: smaller than SQLite's default auto-checkpoint (1,000 pages, 4 MB).
const VOLUME_SIZE: &str = "2m";
/// Written before the volume is filled and deleted to end the shortage: the
/// space the chat after recovery has, little enough that a WAL that is never
/// checkpointed fills it again within the test.
const SPARE_BYTES: usize = 512 * 1024;
/// Left free when the volume is filled, so the first messages are stored.
const SLACK_BYTES: u64 = 32 * 1024;
/// Chat lines sent between two `:who` round trips.
const LINES_PER_ROUND: usize = 10;
/// How long the chat after recovery goes on, at about 100 lines a second.
const CHAT_AFTER_RECOVERY: Duration = Duration::from_secs(4);
/// What the WAL shrinks to when the store recovers.
const WAL_RECOVERED: u64 = 64 * 1024;
/// The most the WAL may hold while chat goes on after recovery.
const WAL_LIMIT: u64 = 512 * 1024;
/// What banterd logs when a commit fails, and when one goes through again.
const WRITE_FAILED: &str = "writing to the database failed";
const RECOVERED: &str = "the database is writable again";
/// How the user is told (once a minute at most; see `report_store_problem`).
const NOT_SAVED: &str = "error: history is not being saved right now: ";

/// A tmpfs mounted on a temporary directory; unmounted (lazily, so a process
/// still using it cannot keep it) on drop.
struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    /// Panics, saying why, when mounting is not permitted here.
    fn mount(size: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let output = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .output()
            .unwrap_or_else(|err| panic!("cannot run mount: {err}"));
        assert!(
            output.status.success(),
            "cannot mount a {size} tmpfs ({}): {}; this test needs root \
             (scripts/test leaves it out where it cannot mount)",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        );
        Self { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(self.path()).status();
    }
}

/// Writes `path` until the volume is full, then gives `slack` bytes back.
fn fill(path: &Path, slack: u64) {
    let mut file = File::create(path).unwrap();
    let chunk = vec![0u8; 64 * 1024];
    loop {
        match file.write(&chunk) {
            Ok(_) => {}
            Err(err) if err.kind() == ErrorKind::StorageFull => break,
            Err(err) => panic!("filling {}: {err}", path.display()),
        }
    }
    let size = file.metadata().unwrap().len();
    file.set_len(size.saturating_sub(slack)).unwrap();
}

fn wal_size(data_dir: &Path) -> u64 {
    fs::metadata(data_dir.join("banter.db-wal")).map_or(0, |meta| meta.len())
}

/// The user's chat: every line sent, in order, to compare with what is stored.
struct Chat {
    client: Client,
    sent: Vec<String>,
}

impl Chat {
    /// Sends a round of lines (`{label} {n}`, padded like real chat), then
    /// `:who`, and reads up to its answer; returns whether the user was told
    /// that history is not being saved. The warning may follow the answer, so
    /// it can come in the round after the one that caused it.
    async fn round(&mut self, label: &str) -> bool {
        for _ in 0..LINES_PER_ROUND {
            let text = format!(
                "{label} {:05} and some words to make it a line",
                self.sent.len()
            );
            self.client.send(&text).await;
            self.sent.push(text);
        }
        self.client.send(":who").await;
        let mut told = false;
        loop {
            let line = self.client.line().await;
            if line.starts_with("in lobby (") {
                return told;
            }
            assert!(line.starts_with(NOT_SAVED), "unexpected line {line:?}");
            told = true;
        }
    }
}

#[tokio::test]
#[ignore = "mounts a tmpfs, so needs root; scripts/test runs it where it can mount and always in CI"]
async fn a_full_small_disk_recovers_once_space_is_freed() {
    let volume = Tmpfs::mount(VOLUME_SIZE);
    let data_dir = volume.path().join("data");
    let spare = volume.path().join("spare");
    fs::write(&spare, vec![0u8; SPARE_BYTES]).unwrap();
    let mut server = Banterd::start(
        &[
            "--data-dir",
            data_dir.to_str().unwrap(),
            "--rate-limit",
            "0",
        ],
        &[],
    );
    let mut chat = Chat {
        client: server.login("alice").await,
        sent: Vec::new(),
    };

    // The volume fills up: chat goes on until the user is told.
    fill(&volume.path().join("filler"), SLACK_BYTES);
    let deadline = Instant::now() + Duration::from_secs(10);
    while !chat.round("before").await {
        assert!(
            Instant::now() < deadline,
            "nobody was told after {} lines",
            chat.sent.len()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let told_after = chat.sent.len();
    for _ in 0..10 {
        chat.round("while full").await;
    }
    let wal_when_full = wal_size(&data_dir);

    // Space comes back: the retry stores what waited and the WAL shrinks.
    fs::remove_file(&spare).unwrap();
    let freed_at = Instant::now();
    let logged_before = server.log.lock().unwrap().len();
    let recovered_at = loop {
        if let Some(at) = server.log.lock().unwrap()[logged_before..].find(RECOVERED) {
            break logged_before + at;
        }
        assert!(
            freed_at.elapsed() < Duration::from_secs(5),
            "the store did not recover"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    let recovered_in = freed_at.elapsed();
    while wal_size(&data_dir) > WAL_RECOVERED && freed_at.elapsed() < Duration::from_secs(5) {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let wal_after_recovery = wal_size(&data_dir);

    // Steady chat after recovery must not fill the volume again.
    let waiting = chat.sent.len();
    let mut wal_peak = 0;
    let chatting = Instant::now();
    while chatting.elapsed() < CHAT_AFTER_RECOVERY {
        chat.round("after").await;
        wal_peak = wal_peak.max(wal_size(&data_dir));
        tokio::time::sleep(Duration::from_millis(40)).await;
    }

    server.signal("TERM");
    chat.client.expect_closed().await;
    let status = server.wait_exit(Duration::from_secs(10));
    assert_eq!(support::store::integrity(&data_dir), "ok");
    let stored = support::store::lobby_texts(&data_dir);
    eprintln!(
        "told after {told_after} lines; WAL {wal_when_full} bytes when full, \
         {wal_after_recovery} after recovery ({recovered_in:?} after space was freed), \
         peak {wal_peak} over {} more lines; {} of {} lines stored; {status}",
        chat.sent.len() - waiting,
        stored.len(),
        chat.sent.len(),
    );
    let log = server.log.lock().unwrap().clone();
    assert!(
        status.success(),
        "banterd exited with {status}; log:\n{log}"
    );
    assert!(
        !log[recovered_at..].contains(WRITE_FAILED),
        "the disk filled up again; log:\n{log}"
    );
    assert!(
        stored == chat.sent,
        "{} of {} lines stored; log:\n{log}",
        stored.len(),
        chat.sent.len()
    );
    assert!(
        wal_after_recovery <= WAL_RECOVERED,
        "the WAL did not shrink: {wal_after_recovery} bytes after recovery"
    );
    assert!(
        wal_peak <= WAL_LIMIT,
        "the WAL grew back to {wal_peak} bytes"
    );
}
