//! banter-bench as a library: drive a running banter server with load clients
//! (on the text door, the IRC door or, banter/1 over WebSocket, on the JSON door) and
//! measure deliveries, losses, order, latency and CPU.
//!
//! The `banter-bench` binary is a thin command line over [`campaign`]; the
//! integration test calls [`run::run`] against an in-process server.

pub mod campaign;
pub mod client;
pub mod irc_client;
pub mod order;
pub mod payload;
pub mod procfs;
pub mod report;
pub mod run;
pub mod scenario;
pub mod server;
pub mod shared;
pub mod tracker;
pub mod ws_client;
