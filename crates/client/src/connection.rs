//! The WebSocket to the server, kept alive: connect (`ws://`, or `wss://`
//! through rustls), say `hello`, pass frames both ways, and when the
//! connection is lost, wait with exponential backoff and jitter and do it
//! all again.
//!
//! It keeps the session's resume token (in memory only, for this run) and
//! presents it in `hello` on every reconnect, so the server gives back the
//! same session (name, rooms, host rights); a refused token
//! (`resume_failed`: expired, or the server restarted) is followed by a
//! plain `hello` for a fresh session. `:quit` ends the session for good.
//!
//! This task owns the socket and nothing else. It reports what happens as
//! [`Incoming`] values; rejoining rooms and filling gaps in their history
//! is the app's work ([`crate::app`]), which knows the rooms. Both channels
//! are bounded: the app drains `Incoming` as fast as frames can arrive, and
//! sends requests at the pace a person types.

use std::sync::Arc;
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{Connector, MaybeTlsStream, WebSocketStream};

use crate::protocol::{self, Body, Envelope, Frame, Membership, Request};
use crate::trust::Trust;

/// Frames from the server waiting for the app.
const INCOMING_CAPACITY: usize = 1024;
/// Requests from the app waiting for the socket.
const OUTGOING_CAPACITY: usize = 256;
/// The first wait after a lost connection; it doubles with every failed attempt.
const BACKOFF_START: Duration = Duration::from_millis(500);
/// The longest wait between attempts.
const BACKOFF_MAX: Duration = Duration::from_secs(30);
/// How long connecting and saying hello may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// The server pings every 30 s: this long without a frame means it is gone.
const SILENCE_LIMIT: Duration = Duration::from_secs(75);
/// How long `:quit` waits for the server's `bye`.
const QUIT_TIMEOUT: Duration = Duration::from_secs(1);
/// Names tried when the wanted one is taken: `alice`, then `alice_`, `alice2`...
const NAME_TRIES: usize = 9;
/// The longest screen name the server accepts.
const NAME_MAX: usize = 24;

/// The state of the link, for the status line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Link {
    Connecting {
        attempt: u32,
    },
    Connected,
    /// Waiting `secs` more seconds before attempt `attempt`.
    Waiting {
        attempt: u32,
        secs: u64,
    },
}

/// What the connection tells the app.
#[derive(Debug)]
pub enum Incoming {
    Link(Link),
    /// Registered as `name` on a fresh connection: `wanted`, or a variant of
    /// it when that was taken; `resumed` holds the session's rooms when the
    /// server gave the old session back.
    Registered {
        name: String,
        wanted: String,
        resumed: Option<Vec<Membership>>,
    },
    Frame(Frame),
    /// The connection was lost; `why` says how.
    Lost {
        why: String,
    },
    /// Nothing more can be done (the name is refused, the URL is wrong).
    Fatal(String),
}

/// What the app tells the connection.
#[derive(Debug)]
pub enum Outgoing {
    Frame(String),
    /// Send `quit`, wait briefly for `bye`, close, and end the task.
    Quit,
}

/// The app's end of the connection.
pub struct Handle {
    pub outgoing: mpsc::Sender<Outgoing>,
    pub incoming: mpsc::Receiver<Incoming>,
    /// The name to register with on the next connection.
    pub name: watch::Sender<String>,
    pub task: JoinHandle<()>,
}

/// Starts the connection task.
pub fn spawn(url: String, tls: Option<Arc<Trust>>, name: String) -> Handle {
    let (out_tx, out_rx) = mpsc::channel(OUTGOING_CAPACITY);
    let (in_tx, in_rx) = mpsc::channel(INCOMING_CAPACITY);
    let (name_tx, name_rx) = watch::channel(name);
    let task = tokio::spawn(run(url, tls, name_rx, out_rx, in_tx));
    Handle {
        outgoing: out_tx,
        incoming: in_rx,
        name: name_tx,
        task,
    }
}

/// The wait before attempt `attempt` (1 and up): `BACKOFF_START` doubled per
/// attempt, capped at `BACKOFF_MAX`, then a random part of it taken off
/// (up to half) so that clients cut off together do not return together.
pub fn backoff(attempt: u32, random: f64) -> Duration {
    let doubled = BACKOFF_START.saturating_mul(1 << attempt.saturating_sub(1).min(16));
    let full = doubled.min(BACKOFF_MAX);
    full.mul_f64(1.0 - random.clamp(0.0, 1.0) / 2.0)
}

/// The names to try, in order, for `wanted`.
pub fn name_candidates(wanted: &str) -> Vec<String> {
    let mut names = vec![wanted.to_owned()];
    for n in 1..NAME_TRIES {
        let suffix = if n == 1 {
            "_".to_owned()
        } else {
            n.to_string()
        };
        let keep = wanted.len().min(NAME_MAX - suffix.len());
        names.push(format!("{}{suffix}", &wanted[..keep]));
    }
    names
}

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Why one connection ended.
enum End {
    Lost(String),
    Quit,
    Fatal(String),
    AppGone,
}

async fn run(
    url: String,
    tls: Option<Arc<Trust>>,
    name: watch::Receiver<String>,
    mut outgoing: mpsc::Receiver<Outgoing>,
    incoming: mpsc::Sender<Incoming>,
) {
    let mut attempt: u32 = 0;
    // The session's resume token, from the last `welcome`.
    let mut token: Option<String> = None;
    loop {
        if incoming
            .send(Incoming::Link(Link::Connecting { attempt }))
            .await
            .is_err()
        {
            return;
        }
        let end = match connect(&url, tls.clone()).await {
            Ok(mut socket) => {
                let wanted = name.borrow().clone();
                let registering = register(&mut socket, &wanted, &mut token);
                match tokio::time::timeout(CONNECT_TIMEOUT, registering).await {
                    Ok(Ok((registered, resumed))) => {
                        attempt = 0;
                        // Requests made for the lost connection mean nothing on this one.
                        while outgoing.try_recv().is_ok() {}
                        if incoming
                            .send(Incoming::Registered {
                                name: registered,
                                wanted,
                                resumed,
                            })
                            .await
                            .is_err()
                        {
                            return;
                        }
                        let _ = incoming.send(Incoming::Link(Link::Connected)).await;
                        serve(socket, &mut outgoing, &incoming).await
                    }
                    Ok(Err(end)) => end,
                    Err(_) => End::Lost("the server did not answer hello".into()),
                }
            }
            Err(err) => End::Lost(err),
        };
        match end {
            End::Quit | End::AppGone => return,
            End::Fatal(why) => {
                let _ = incoming.send(Incoming::Fatal(why)).await;
                return;
            }
            End::Lost(why) => {
                if incoming.send(Incoming::Lost { why }).await.is_err() {
                    return;
                }
            }
        }
        attempt += 1;
        let deadline = tokio::time::Instant::now() + backoff(attempt, fastrand::f64());
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            if left.is_zero() {
                break;
            }
            // The status line counts whole seconds down.
            let secs = left.as_secs_f64().ceil() as u64;
            if incoming
                .send(Incoming::Link(Link::Waiting { attempt, secs }))
                .await
                .is_err()
            {
                return;
            }
            let tick = deadline - Duration::from_secs(secs - 1);
            tokio::select! {
                _ = tokio::time::sleep_until(tick) => {}
                request = outgoing.recv() => match request {
                    None | Some(Outgoing::Quit) => return,
                    // Nothing to send it on: the app knows it is offline.
                    Some(Outgoing::Frame(_)) => {}
                },
            }
        }
    }
}

async fn connect(url: &str, tls: Option<Arc<Trust>>) -> Result<Socket, String> {
    let connector = match (url.starts_with("wss://"), &tls) {
        (true, Some(trust)) => Some(Connector::Rustls(Arc::clone(&trust.config))),
        _ => Some(Connector::Plain),
    };
    let attempt = tokio_tungstenite::connect_async_tls_with_config(url, None, true, connector);
    match tokio::time::timeout(CONNECT_TIMEOUT, attempt).await {
        Ok(Ok((socket, _))) => Ok(socket),
        Ok(Err(err)) => match tls.and_then(|trust| trust.hint()) {
            Some(hint) => Err(format!("{err}; {hint}")),
            None => Err(err.to_string()),
        },
        Err(_) => Err("connecting timed out".into()),
    }
}

/// Says hello: first with the resume token, if there is one, then (a
/// token refused, or none) for a fresh session, trying variants of the
/// wanted name while it is taken. Returns the name and, when the session
/// was resumed, its rooms; `token` is left holding the new token.
async fn register(
    socket: &mut Socket,
    wanted: &str,
    token: &mut Option<String>,
) -> Result<(String, Option<Vec<Membership>>), End> {
    if let Some(presented) = token.take() {
        let hello = Envelope {
            body: Request::Hello {
                name: wanted.to_owned(),
                resume: Some(presented),
            },
            id: Some(0),
        };
        send(socket, hello.to_json()).await?;
        loop {
            match receive(socket).await?.body {
                Body::Welcome {
                    name,
                    resume,
                    resumed,
                    rooms,
                    ..
                } => {
                    *token = resume;
                    return Ok((name, resumed.then(|| rooms.unwrap_or_default())));
                }
                // Refused (`resume_failed`, or an older server's word on the
                // unknown field): a fresh session below.
                Body::Error { .. } => break,
                _ => continue,
            }
        }
    }
    for name in name_candidates(wanted) {
        let hello = Envelope {
            body: Request::Hello {
                name: name.clone(),
                resume: None,
            },
            id: Some(0),
        };
        send(socket, hello.to_json()).await?;
        loop {
            match receive(socket).await?.body {
                Body::Welcome { name, resume, .. } => {
                    *token = resume;
                    return Ok((name, None));
                }
                Body::Error { code, .. } if code == "name_taken" => break,
                Body::Error { message, .. } => return Err(End::Fatal(message)),
                _ => continue,
            }
        }
    }
    Err(End::Fatal(format!(
        "the name {wanted} and {} variants of it are taken; start with --name",
        NAME_TRIES - 1
    )))
}

async fn send(socket: &mut Socket, text: String) -> Result<(), End> {
    socket
        .send(Message::Text(text.into()))
        .await
        .map_err(|err| End::Lost(err.to_string()))
}

/// The next JSON frame (pings are answered by tungstenite as it reads).
async fn receive(socket: &mut Socket) -> Result<Frame, End> {
    loop {
        let next = tokio::time::timeout(SILENCE_LIMIT, socket.next())
            .await
            .map_err(|_| End::Lost("the server went silent".into()))?;
        match next {
            Some(Ok(Message::Text(text))) => match protocol::parse(&text) {
                Ok(frame) => return Ok(frame),
                // A frame this client cannot read: skip it, as PROTOCOL.md asks
                // of fields it does not know.
                Err(_) => continue,
            },
            Some(Ok(Message::Close(_))) | None => {
                return Err(End::Lost("the server closed the connection".into()))
            }
            Some(Ok(_)) => continue,
            Some(Err(err)) => return Err(End::Lost(err.to_string())),
        }
    }
}

/// Passes frames both ways until the connection ends.
async fn serve(
    mut socket: Socket,
    outgoing: &mut mpsc::Receiver<Outgoing>,
    incoming: &mpsc::Sender<Incoming>,
) -> End {
    loop {
        tokio::select! {
            frame = receive(&mut socket) => match frame {
                Ok(frame) => {
                    if incoming.send(Incoming::Frame(frame)).await.is_err() {
                        return End::AppGone;
                    }
                }
                Err(end) => return end,
            },
            request = outgoing.recv() => match request {
                Some(Outgoing::Frame(text)) => {
                    if let Err(end) = send(&mut socket, text).await {
                        return end;
                    }
                }
                Some(Outgoing::Quit) | None => {
                    quit(&mut socket).await;
                    return End::Quit;
                }
            },
        }
    }
}

async fn quit(socket: &mut Socket) {
    let bye = Envelope {
        body: Request::Quit,
        id: None,
    };
    let farewell = async {
        send(socket, bye.to_json()).await?;
        while !matches!(receive(socket).await?.body, Body::Bye) {}
        Ok::<(), End>(())
    };
    let _ = tokio::time::timeout(QUIT_TIMEOUT, farewell).await;
    let _ = tokio::time::timeout(QUIT_TIMEOUT, socket.close(None)).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_to_a_cap_and_jitter_takes_up_to_half() {
        assert_eq!(backoff(1, 0.0), Duration::from_millis(500));
        assert_eq!(backoff(2, 0.0), Duration::from_secs(1));
        assert_eq!(backoff(4, 0.0), Duration::from_secs(4));
        assert_eq!(backoff(4, 1.0), Duration::from_secs(2));
        assert_eq!(backoff(30, 0.0), BACKOFF_MAX);
        assert_eq!(backoff(u32::MAX, 0.5), BACKOFF_MAX.mul_f64(0.75));
    }

    #[test]
    fn taken_names_get_a_suffix_within_the_length_limit() {
        let names = name_candidates("alice");
        assert_eq!(&names[..4], ["alice", "alice_", "alice2", "alice3"]);
        assert_eq!(names.len(), NAME_TRIES);
        let long = "x".repeat(24);
        assert!(name_candidates(&long).iter().all(|n| n.len() <= NAME_MAX));
        assert_eq!(name_candidates(&long)[1], format!("{}_", "x".repeat(23)));
    }
}
