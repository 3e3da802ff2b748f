//! The JSON door's side of one WebSocket connection: messages in, core
//! requests, events out as frames.
//!
//! The session engine (`doors::session`) runs it: reading, the registration
//! deadline, the outbox bound with "missed N", the farewell, and the writer
//! that sends one text frame per event and pings the client. Beyond the
//! limits of every door come the WebSocket's own: the message size (set at
//! the upgrade), and keepalive: a client that sends nothing, not even a
//! pong, for [`SILENCE_LIMIT`] is dropped. Input is charged where it is read
//! (`doors::http::metered`): every byte and every frame, control frames and
//! continuation fragments included; the engine only carries out what the
//! meter decided (slow down, or goodbye for flooding).

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use banter_proto::{Event, Refusal};
use futures::StreamExt;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;
use tokio_util::sync::CancellationToken;

use super::protocol::{self, ClientRequest};
use super::render::JsonRenderer;
use crate::config::Config;
use crate::core::{Door, Hub, UserState};
use crate::doors::http::metered::{Meter, Metered};
use crate::doors::session::{self, DoorSession, End, FrameInput};
use crate::doors::writer::{FrameSink, PingClock};

/// A client silent this long (no frame, no pong) is gone.
const SILENCE_LIMIT: Duration = Duration::from_secs(75);

/// One upgraded WebSocket, over its connection's metered stream.
pub(crate) type WebSocket = WebSocketStream<Metered>;

/// Serves one upgraded WebSocket to its end; `meter` is its input's account.
pub(crate) fn serve(
    socket: WebSocket,
    meter: Arc<Meter>,
    pings: &PingClock,
    peer: SocketAddr,
    hub: Arc<Hub>,
    shutdown: CancellationToken,
) -> impl Future<Output = ()> + Send {
    let (frames, messages) = socket.split();
    let input = FrameInput::new(messages, meter);
    session::serve::<Session, _>(input, FrameSink::new(frames, pings), peer, hub, shutdown)
}

/// A WebSocket connection's state, owned by its task: the user alone.
pub(crate) struct Session {
    user: UserState,
}

impl DoorSession for Session {
    type Item = Message;
    type Renderer = JsonRenderer;

    fn door(config: &Config) -> Door {
        Door {
            name: "json",
            one_room: false,
            max_rooms: config.max_rooms_per_user,
            lists_members: true,
            answers_every_request: true,
            resumable: true,
        }
    }

    fn open(user: UserState, _shutdown: &CancellationToken) -> (Self, JsonRenderer) {
        (Session { user }, JsonRenderer)
    }

    fn user(&mut self) -> &mut UserState {
        &mut self.user
    }

    fn into_user(self) -> Option<UserState> {
        Some(self.user)
    }

    async fn handle_input(&mut self, message: Message) -> Option<End> {
        let user = &mut self.user;
        // Pings are answered by the WebSocket itself; pongs only prove life.
        // Every frame was charged as it was read.
        if matches!(
            message,
            Message::Ping(_) | Message::Pong(_) | Message::Frame(_)
        ) {
            return None;
        }
        let Message::Text(text) = message else {
            user.begin_request(None);
            user.refuse(Refusal::BinaryFrame);
            return None;
        };
        let frame = protocol::parse(text.as_str(), user.hub.services.config.max_line_bytes);
        user.begin_request(frame.id);
        // Boxed: request futures (hashing, store round trips) are large;
        // the engine's box for this one stays small.
        if Box::pin(handle(user, frame.request)).await {
            return Some(End::Quit(None));
        }
        None
    }

    fn silence_limit(&self) -> Option<Duration> {
        Some(SILENCE_LIMIT)
    }
}

/// Carries out one request and answers it; true when the client quits.
async fn handle(user: &mut UserState, request: Result<ClientRequest, Refusal>) -> bool {
    let result = match request {
        Err(refusal) => Err(refusal),
        Ok(ClientRequest::Quit) => return true,
        Ok(ClientRequest::Ping) => {
            user.reply(Event::Pong);
            Ok(())
        }
        Ok(ClientRequest::Hello {
            name: _,
            resume: Some(token),
        }) => user.resume(token.expose()).await,
        Ok(ClientRequest::Hello { name, resume: None }) => user.register(&name, None).await,
        Ok(ClientRequest::Core(request)) => user.execute(request).await,
        Ok(ClientRequest::Once { nonce, request }) => {
            user.request_once(nonce, request).await;
            return false;
        }
    };
    user.answer(result);
    false
}
