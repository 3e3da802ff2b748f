//! One load client on the IRC door (RFC 1459/2812 lines), doing what
//! [`crate::client`] does and checked the same way, so the doors' costs can
//! be compared in one scenario (`--door irc`).
//!
//! Login is `NICK`, `USER` and `JOIN #rN`, done when the server ends the
//! channel's names (`366`); a channel that does not exist is created by the
//! join, as IRC users expect. Each message is one `PRIVMSG #rN :text`; the
//! others get it as `:nick!user@host PRIVMSG #rN :text`, and its sender gets
//! nothing back (no `echo-message` asked). A server `PING` is answered, and a
//! `NOTICE` saying `You missed N` is summed as *server dropped*.

use std::io;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use tokio::io::AsyncWriteExt;
use tokio::net::tcp::{ReadHalf, WriteHalf};
use tokio::net::TcpStream;
use tokio::time::Instant;

use crate::client::{send_loop, Arrival, Outcome, Outlet, Reader};
use crate::payload::{self, Stamp};
use crate::shared::{Latencies, Shared};
use crate::tracker::Tracker;

/// Runs client `index` until the run is done.
pub async fn run(shared: Arc<Shared>, index: usize) -> Outcome {
    let mut outcome = Outcome {
        index,
        ..Outcome::default()
    };
    let params = &shared.params;
    let room = params.room_of(index);
    let channel = format!("#r{room}");
    let checked = index < params.clients;
    let begun = Instant::now();
    let permit = shared.login_gate.acquire().await;
    let connected = tokio::time::timeout_at(shared.login_deadline, async {
        let stream = TcpStream::connect(shared.addr_of(index)).await?;
        stream.set_nodelay(true)?;
        Ok::<_, io::Error>(stream)
    })
    .await;
    let mut stream = match connected {
        Ok(Ok(stream)) => stream,
        Ok(Err(err)) => return outcome.login_failed(&shared, format!("connect: {err}")),
        Err(_) => return outcome.login_failed(&shared, "connect timed out".into()),
    };
    let (mut read_half, mut write_half) = stream.split();
    let mut lines = Reader::new();
    let name = shared.name(index);
    let logged_in = tokio::time::timeout_at(
        shared.login_deadline,
        log_in(&mut read_half, &mut write_half, &mut lines, &name, &channel),
    )
    .await
    .unwrap_or_else(|_| Err(format!("not in {channel} before the login timeout")));
    drop(permit);
    if let Err(err) = logged_in {
        return outcome.login_failed(&shared, err);
    }
    outcome.login = Some(Ok(begun.elapsed()));
    shared.logged_in.fetch_add(1, Ordering::Relaxed);
    shared.login_progress.notify_one();
    if !checked {
        // A slow reader: holds its connection and never reads again.
        shared.done.cancelled().await;
        return outcome;
    }

    let mut tracker = Tracker::new(params.members_of(room));
    let (pongs_tx, mut pongs_rx) = tokio::sync::mpsc::unbounded_channel::<Vec<u8>>();
    let reading = read_loop(
        &shared,
        &mut read_half,
        &mut lines,
        &mut tracker,
        &mut outcome,
        pongs_tx,
    );
    let mut sending_outcome = (0, 0, None);
    let sending = async {
        let mut privmsgs = Privmsgs {
            half: &mut write_half,
            channel: &channel,
            out: Vec::new(),
        };
        if params.is_sender(index) {
            // A sender is never silent, so the server has no PING for it.
            sending_outcome = send_loop(&shared, index, &mut privmsgs).await;
        } else {
            while let Some(pong) = pongs_rx.recv().await {
                if privmsgs.half.write_all(&pong).await.is_err() {
                    break;
                }
            }
        }
    };
    tokio::select! {
        _ = shared.done.cancelled() => {}
        _ = async { tokio::join!(reading, sending) } => {}
    }
    outcome.finish(params, &tracker, sending_outcome);
    let _ = write_half.write_all(b"QUIT :done\r\n").await;
    outcome
}

/// Registers as `name` and joins `channel`, answering PINGs on the way.
async fn log_in(
    read_half: &mut ReadHalf<'_>,
    write_half: &mut WriteHalf<'_>,
    lines: &mut Reader,
    name: &str,
    channel: &str,
) -> Result<(), String> {
    let hello = format!("NICK {name}\r\nUSER {name} 0 * :{name}\r\nJOIN {channel}\r\n");
    write_half
        .write_all(hello.as_bytes())
        .await
        .map_err(|err| format!("sending the registration: {err}"))?;
    loop {
        let mut pong = None;
        while let Some(line) = lines.line() {
            let (command, params) = command_of(line);
            match command {
                b"PING" => pong = Some([b"PONG ", params, b"\r\n"].concat()),
                // End of the channel's names: the join is done.
                b"366" if params.split(|&b| b == b' ').nth(1) == Some(channel.as_bytes()) => {
                    return Ok(());
                }
                b"ERROR" | b"432" | b"433" | b"403" | b"405" | b"471" | b"473" | b"474"
                | b"475" => {
                    return Err(format!(
                        "refused while logging in: {}",
                        String::from_utf8_lossy(line)
                    ))
                }
                _ => {}
            }
        }
        if let Some(pong) = pong {
            write_half
                .write_all(&pong)
                .await
                .map_err(|err| format!("sending PONG: {err}"))?;
        }
        match lines.fill(read_half).await {
            Ok(true) => {}
            Ok(false) => return Err("closed while logging in".into()),
            Err(err) => return Err(format!("reading: {err}")),
        }
    }
}

/// A line's command and what follows it, past any tags and source.
fn command_of(line: &[u8]) -> (&[u8], &[u8]) {
    let mut rest = line;
    for prefix in [b'@', b':'] {
        if rest.first() == Some(&prefix) {
            rest = rest
                .iter()
                .position(|&b| b == b' ')
                .map_or(&[][..], |at| &rest[at + 1..]);
        }
    }
    match rest.iter().position(|&b| b == b' ') {
        Some(at) => (&rest[..at], &rest[at + 1..]),
        None => (rest, &[]),
    }
}

/// Reads and checks deliveries until the connection ends (which, before the
/// run is done, means this client was cut off); PINGs go to `pongs`, which a
/// client that does not send answers.
async fn read_loop(
    shared: &Shared,
    read_half: &mut ReadHalf<'_>,
    lines: &mut Reader,
    tracker: &mut Tracker,
    outcome: &mut Outcome,
    pongs: tokio::sync::mpsc::UnboundedSender<Vec<u8>>,
) {
    let tag = shared.tag.as_bytes();
    let mut latencies = Latencies::default();
    loop {
        let now_ns = shared.now_ns();
        let in_window = shared.window.get().is_some_and(|w| w.contains(now_ns));
        while let Some(line) = lines.line() {
            let (command, params) = command_of(line);
            match command {
                b"PRIVMSG" => {
                    let text = params
                        .windows(2)
                        .position(|pair| pair == b" :")
                        .map(|at| &params[at + 2..]);
                    if let Some(stamp) = text.and_then(|text| payload::decode(text, tag)) {
                        let arrival = Arrival {
                            stamp,
                            now_ns,
                            in_window,
                        };
                        arrival.check(shared, tracker, outcome, &mut latencies);
                    }
                }
                b"NOTICE" => {
                    if let Some(count) = missed(params) {
                        outcome.missed += count;
                    }
                }
                b"PING" => {
                    let _ = pongs.send([b"PONG ", params, b"\r\n"].concat());
                }
                _ => {}
            }
        }
        if !latencies.is_empty() {
            shared.record_latencies(&latencies);
            latencies.clear();
        }
        match lines.fill(read_half).await {
            Ok(true) => {}
            Ok(false) => {
                outcome.cut_off = Some("the server closed the connection".into());
                return;
            }
            Err(err) => {
                outcome.cut_off = Some(format!("reading: {err}"));
                return;
            }
        }
    }
}

/// `N` of a NOTICE's `You missed N ...`.
fn missed(params: &[u8]) -> Option<u64> {
    let at = params.windows(12).position(|w| w == b":You missed ")?;
    let rest = &params[at + 12..];
    let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    std::str::from_utf8(&rest[..digits]).ok()?.parse().ok()
}

/// The IRC door: one PRIVMSG per message, written together.
struct Privmsgs<'s, 'h> {
    half: &'s mut WriteHalf<'h>,
    channel: &'s str,
    out: Vec<u8>,
}

impl Outlet for Privmsgs<'_, '_> {
    async fn send(&mut self, shared: &Shared, stamps: &[Stamp]) -> Result<(), String> {
        self.out.clear();
        for &stamp in stamps {
            self.out.extend_from_slice(b"PRIVMSG ");
            self.out.extend_from_slice(self.channel.as_bytes());
            self.out.extend_from_slice(b" :");
            payload::text(&mut self.out, &shared.tag, stamp, shared.params.size);
            self.out.extend_from_slice(b"\r\n");
        }
        self.half
            .write_all(&self.out)
            .await
            .map_err(|err| format!("sending: {err}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_are_found_past_tags_and_source() {
        assert_eq!(
            command_of(b"@time=x :a!a@banter PRIVMSG #r1 :hi"),
            (&b"PRIVMSG"[..], &b"#r1 :hi"[..])
        );
        assert_eq!(command_of(b"PING :srv"), (&b"PING"[..], &b":srv"[..]));
        assert_eq!(
            command_of(b":srv 366 bob #r1 :End of /NAMES list"),
            (&b"366"[..], &b"bob #r1 :End of /NAMES list"[..])
        );
    }

    #[test]
    fn a_missed_notice_is_counted() {
        let params = b"#r1 :You missed 17 messages in #r1: your client read too slowly";
        assert_eq!(missed(params), Some(17));
        assert_eq!(missed(b"bob :You missed 2 private messages"), Some(2));
        assert_eq!(missed(b"#r1 :hello"), None);
    }
}
