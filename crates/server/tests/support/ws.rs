//! A banter/1 test client: JSON objects over a real WebSocket.

use std::net::SocketAddr;
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use super::LINE_TIMEOUT;

pub struct WsClient {
    socket: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

impl WsClient {
    pub async fn connect(http: SocketAddr) -> Self {
        let (socket, _) = tokio_tungstenite::connect_async(format!("ws://{http}/ws"))
            .await
            .expect("websocket handshake");
        Self { socket }
    }

    /// Connects and says hello as `name`.
    pub async fn login(http: SocketAddr, name: &str) -> Self {
        let mut client = Self::connect(http).await;
        client
            .send(json!({"type": "hello", "name": name, "id": 0}))
            .await;
        let welcome = client.recv().await;
        assert_eq!(welcome["type"], "welcome", "{welcome}");
        client
    }

    pub async fn send(&mut self, request: Value) {
        self.send_raw(Message::Text(request.to_string().into()))
            .await;
    }

    pub async fn send_raw(&mut self, message: Message) {
        self.socket.send(message).await.expect("send a frame");
    }

    /// The next JSON object; panics on close or after [`LINE_TIMEOUT`].
    pub async fn recv(&mut self) -> Value {
        self.try_recv(LINE_TIMEOUT)
            .await
            .expect("connection closed while a frame was expected")
    }

    /// The next JSON object within `wait`, `None` when the server closed.
    pub async fn try_recv(&mut self, wait: Duration) -> Option<Value> {
        loop {
            let frame = tokio::time::timeout(wait, self.socket.next())
                .await
                .expect("timed out waiting for a frame");
            match frame {
                Some(Ok(Message::Text(text))) => {
                    return Some(serde_json::from_str(&text).expect("frames are JSON"))
                }
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return None,
                Some(Ok(other)) => panic!("unexpected frame {other:?}"),
            }
        }
    }

    /// Reads until an object of `kind` arrives and returns it.
    pub async fn until(&mut self, kind: &str) -> Value {
        loop {
            let frame = self.recv().await;
            if frame["type"] == kind {
                return frame;
            }
        }
    }

    /// Sends `request` with `id` and returns the answer that echoes it,
    /// collecting the events that came first.
    pub async fn ask(&mut self, mut request: Value, id: u64) -> (Value, Vec<Value>) {
        request["id"] = json!(id);
        self.send(request).await;
        let mut events = Vec::new();
        loop {
            let frame = self.recv().await;
            if frame["id"] == json!(id) && frame["type"] != "message" {
                return (frame, events);
            }
            events.push(frame);
        }
    }

    /// Asserts nothing arrives within `wait`.
    pub async fn expect_silence(&mut self, wait: Duration) {
        if let Ok(Some(Ok(Message::Text(text)))) =
            tokio::time::timeout(wait, self.socket.next()).await
        {
            panic!("expected silence, got {text}");
        }
    }
}
