//! The named load scenarios of issue 5 and the flags that adjust them.
//!
//! A scenario is only a preset of [`Params`]; every field can be overridden
//! from the command line with the flag of the same name.

use std::time::Duration;

use anyhow::bail;
use clap::{Args, ValueEnum};
use serde::Serialize;

/// The scenarios the load generator knows by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Scenario {
    /// 2,000 clients in 1,000 rooms, every client sending 100 messages/s.
    Rooms,
    /// 500 clients in one room, 50 senders at 20 messages/s.
    BigRoom,
    /// `big-room` with every client on the WebSocket door, speaking banter/1 (JSON).
    WsBigRoom,
    /// One room, 100 clients, 10 unthrottled senders with an in-flight window.
    Throughput,
    /// 10,000 logged-in idle clients over 100 rooms; server RSS per connection.
    Idle,
    /// `big-room` plus one client that never reads.
    SlowReader,
    /// 5,000 connections logging in as fast as possible.
    ConnectStorm,
}

impl std::fmt::Display for Scenario {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let value = self.to_possible_value().expect("every scenario has a name");
        f.write_str(value.get_name())
    }
}

/// What the clients do once logged in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Activity {
    /// Senders send chat; everyone reads and checks what arrives.
    Chat,
    /// Nobody sends; the run measures what idle connections cost.
    Idle,
}

/// The door the load clients connect through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Door {
    /// The line-based text door (`--listen`), as `nc` uses it.
    Text,
    /// The JSON door, banter/1 over WebSocket at `/ws` of the HTTP listener
    /// (`--http-listen`).
    #[value(name = "websocket")]
    WebSocket,
    /// The IRC door (`--irc-listen`), as IRC clients use it.
    Irc,
}

/// Everything one run needs to know.
#[derive(Debug, Clone, Serialize)]
pub struct Params {
    pub scenario: Scenario,
    pub activity: Activity,
    pub door: Door,
    /// Clients whose deliveries are checked.
    pub clients: usize,
    pub rooms: usize,
    /// The first `senders` clients send (spread over the rooms in turn).
    pub senders: usize,
    /// Messages per second per sender; 0 sends unthrottled within `window`.
    pub rate: f64,
    /// Messages a sender may have in flight (not yet seen by every receiver) when unthrottled.
    pub window: usize,
    /// Bytes of chat text per message, excluding the newline.
    pub size: usize,
    /// Extra clients in the first room that log in and then never read.
    pub slow_readers: usize,
    #[serde(serialize_with = "seconds")]
    pub warmup: Duration,
    #[serde(serialize_with = "seconds")]
    pub duration: Duration,
    /// Longest wait after the senders stop for the last deliveries.
    #[serde(serialize_with = "seconds")]
    pub drain: Duration,
    /// Connections being opened and logged in at once.
    pub connect_concurrency: usize,
    /// Longest a whole login phase may take.
    #[serde(serialize_with = "seconds")]
    pub login_timeout: Duration,
    /// Keep every receiver's order of arrival and check that all receivers of
    /// a room saw its messages in one order (costs memory: one entry per delivery).
    pub check_order: bool,
}

fn seconds<S: serde::Serializer>(value: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_f64(value.as_secs_f64())
}

/// Flags that override a scenario's preset; each is optional.
#[derive(Debug, Clone, Default, Args)]
pub struct Overrides {
    /// The door the clients use instead of the scenario's own (e.g. `idle
    /// --door irc` for what an idle IRC connection costs).
    #[arg(long, value_enum)]
    pub door: Option<Door>,
    /// Clients whose deliveries are checked.
    #[arg(long)]
    pub clients: Option<usize>,
    /// Rooms the clients are spread over (client i is in room i mod rooms).
    #[arg(long)]
    pub rooms: Option<usize>,
    /// How many clients send (the first ones, which cover the rooms in turn).
    #[arg(long)]
    pub senders: Option<usize>,
    /// Messages per second per sender; 0 = unthrottled with --window in flight.
    #[arg(long)]
    pub rate: Option<f64>,
    /// Messages in flight per unthrottled sender.
    #[arg(long)]
    pub window: Option<usize>,
    /// Bytes of chat text per message (at least 48, to hold the stamp).
    #[arg(long)]
    pub size: Option<usize>,
    /// Extra clients in the first room that never read.
    #[arg(long)]
    pub slow_readers: Option<usize>,
    /// Seconds of sending before the measurement window.
    #[arg(long)]
    pub warmup: Option<f64>,
    /// Seconds of the measurement window.
    #[arg(long)]
    pub duration: Option<f64>,
    /// Seconds to wait for the last deliveries after the senders stop.
    #[arg(long)]
    pub drain: Option<f64>,
    /// Connections opened and logged in at once.
    #[arg(long)]
    pub connect_concurrency: Option<usize>,
    /// Seconds the whole login phase may take.
    #[arg(long)]
    pub login_timeout: Option<f64>,
    /// Check that every receiver of a room saw its messages in one order
    /// (for a cluster; keeps one entry per delivery in memory).
    #[arg(long)]
    pub check_order: bool,
}

/// The smallest chat text that holds a message's tag, ids and stamp.
pub const MIN_SIZE: usize = 48;

impl Params {
    /// The preset of a named scenario.
    pub fn preset(scenario: Scenario) -> Self {
        let chat = Self {
            scenario,
            activity: Activity::Chat,
            door: Door::Text,
            clients: 500,
            rooms: 1,
            senders: 50,
            rate: 20.0,
            window: 32,
            size: 48,
            slow_readers: 0,
            warmup: Duration::from_secs(1),
            duration: Duration::from_secs(5),
            drain: Duration::from_secs(3),
            connect_concurrency: 256,
            login_timeout: Duration::from_secs(30),
            check_order: false,
        };
        match scenario {
            Scenario::BigRoom => chat,
            Scenario::WsBigRoom => Self {
                door: Door::WebSocket,
                ..chat
            },
            Scenario::SlowReader => Self {
                slow_readers: 1,
                ..chat
            },
            Scenario::Rooms => Self {
                clients: 2000,
                rooms: 1000,
                senders: 2000,
                rate: 100.0,
                ..chat
            },
            Scenario::Throughput => Self {
                clients: 100,
                senders: 10,
                rate: 0.0,
                ..chat
            },
            Scenario::Idle => Self {
                activity: Activity::Idle,
                clients: 10_000,
                rooms: 100,
                senders: 0,
                rate: 0.0,
                warmup: Duration::from_secs(1),
                duration: Duration::from_secs(2),
                drain: Duration::ZERO,
                ..chat
            },
            Scenario::ConnectStorm => Self {
                activity: Activity::Idle,
                clients: 5000,
                rooms: 100,
                senders: 0,
                rate: 0.0,
                warmup: Duration::ZERO,
                duration: Duration::from_secs(1),
                drain: Duration::ZERO,
                connect_concurrency: 5000,
                ..chat
            },
        }
    }

    /// The preset with `overrides` applied, checked for sense.
    pub fn new(scenario: Scenario, overrides: &Overrides) -> anyhow::Result<Self> {
        let mut params = Self::preset(scenario);
        let o = overrides;
        let secs = Duration::from_secs_f64;
        params.door = o.door.unwrap_or(params.door);
        params.clients = o.clients.unwrap_or(params.clients);
        params.rooms = o.rooms.unwrap_or(params.rooms);
        params.senders = o.senders.unwrap_or(params.senders);
        params.rate = o.rate.unwrap_or(params.rate);
        params.window = o.window.unwrap_or(params.window);
        params.size = o.size.unwrap_or(params.size);
        params.slow_readers = o.slow_readers.unwrap_or(params.slow_readers);
        params.warmup = o.warmup.map(secs).unwrap_or(params.warmup);
        params.duration = o.duration.map(secs).unwrap_or(params.duration);
        params.drain = o.drain.map(secs).unwrap_or(params.drain);
        params.connect_concurrency = o.connect_concurrency.unwrap_or(params.connect_concurrency);
        params.login_timeout = o.login_timeout.map(secs).unwrap_or(params.login_timeout);
        params.check_order = o.check_order;
        params.check()?;
        Ok(params)
    }

    fn check(&self) -> anyhow::Result<()> {
        if self.clients == 0 || self.rooms == 0 || self.rooms > self.clients {
            bail!(
                "need at least one client per room (clients {}, rooms {})",
                self.clients,
                self.rooms
            );
        }
        if self.senders > self.clients {
            bail!(
                "--senders {} is more than --clients {}",
                self.senders,
                self.clients
            );
        }
        if self.size < MIN_SIZE {
            bail!("--size must be at least {MIN_SIZE} bytes");
        }
        if !(self.rate >= 0.0 && self.rate.is_finite()) {
            bail!("--rate must be a number of messages per second, or 0 for unthrottled");
        }
        if self.rate == 0.0 && self.senders > 0 && self.window == 0 {
            bail!("unthrottled senders need --window of at least 1");
        }
        if self.connect_concurrency == 0 {
            bail!("--connect-concurrency must be at least 1");
        }
        if self.duration.is_zero() {
            bail!("--duration must be more than 0");
        }
        Ok(())
    }

    /// The room client `index` is in (slow readers are all in room 0).
    pub fn room_of(&self, index: usize) -> usize {
        if index >= self.clients {
            0
        } else {
            index % self.rooms
        }
    }

    /// A checked client's position among its room's checked clients.
    pub fn slot_of(&self, index: usize) -> usize {
        index / self.rooms
    }

    /// How many checked clients are in `room`.
    pub fn members_of(&self, room: usize) -> usize {
        (self.clients - room).div_ceil(self.rooms)
    }

    /// The checked client at `slot` of `room`.
    pub fn client_at(&self, room: usize, slot: usize) -> usize {
        slot * self.rooms + room
    }

    pub fn is_sender(&self, index: usize) -> bool {
        self.activity == Activity::Chat && index < self.senders
    }

    /// Every connection the run opens: checked clients and slow readers.
    pub fn connections(&self) -> usize {
        self.clients + self.slow_readers
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rooms_layout_is_consistent() {
        let params = Params::new(
            Scenario::Rooms,
            &Overrides {
                clients: Some(10),
                rooms: Some(3),
                senders: Some(10),
                ..Overrides::default()
            },
        )
        .unwrap();
        let mut seen = 0;
        for room in 0..3 {
            for slot in 0..params.members_of(room) {
                let client = params.client_at(room, slot);
                assert_eq!(params.room_of(client), room);
                assert_eq!(params.slot_of(client), slot);
                seen += 1;
            }
        }
        assert_eq!(seen, 10);
    }

    #[test]
    fn nonsense_is_refused() {
        let too_few = Overrides {
            clients: Some(2),
            rooms: Some(3),
            ..Overrides::default()
        };
        assert!(Params::new(Scenario::BigRoom, &too_few).is_err());
        let small = Overrides {
            size: Some(10),
            ..Overrides::default()
        };
        assert!(Params::new(Scenario::BigRoom, &small).is_err());
    }

    #[test]
    fn ws_big_room_is_big_room_over_the_websocket_door() {
        let text = Params::preset(Scenario::BigRoom);
        let ws = Params::preset(Scenario::WsBigRoom);
        assert_eq!(text.door, Door::Text);
        assert_eq!(ws.door, Door::WebSocket);
        assert_eq!(
            (ws.clients, ws.rooms, ws.senders, ws.rate, ws.size),
            (text.clients, text.rooms, text.senders, text.rate, text.size)
        );
        assert_eq!(
            (ws.warmup, ws.duration, ws.drain),
            (text.warmup, text.duration, text.drain)
        );
        assert_eq!(Scenario::WsBigRoom.to_string(), "ws-big-room");
    }
}
