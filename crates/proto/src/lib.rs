//! banter's chat vocabulary, independent of any socket or wire format.
//!
//! Everything here is pure and synchronous so that it can be unit tested, fuzzed
//! and benchmarked without a server: validated [`names`], the colon-command
//! [`command`] parser of the text door, the door-agnostic [`request`]s the
//! chat core executes, the typed [`event`]s and [`refusal`]s it answers with, a room's
//! [`modes`] and ban masks,
//! and the [`codec`] that turns raw client bytes (with telnet noise, bad UTF-8
//! and terminal escapes) into clean lines.

#![warn(missing_docs)]
#![warn(unreachable_pub)]

pub mod codec;
pub mod command;
pub mod event;
pub mod modes;
pub mod names;
pub mod refusal;
pub mod request;

pub use codec::{Input, LineCodec, TelnetCommand};
pub use command::{Command, CommandSpec, Line, ParseError, Shape, COMMANDS};
pub use event::Event;
pub use modes::{BanMask, RoomMode, RoomModes};
pub use names::{NameError, Nick, RoomName};
pub use refusal::Refusal;
pub use request::Request;
