//! Which nodes are alive: each node says so on `banter.heartbeat` every
//! second, and a node with members in a room, or holding names, that has
//! not been heard for [`SILENCE`] is declared gone: an op of the log, so
//! every node removes its sessions at the same point in every room's order
//! (applying it twice changes nothing, so survivors racing to declare it
//! are harmless).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use tokio::time::Instant;

use super::op::{Heartbeat, Op};
use super::{lock, Cluster, NODES_SUBJECT};
use crate::core::hub::Hub;
use crate::core::session_id::NodeId;

const HEARTBEAT_SUBJECT: &str = "banter.heartbeat";
/// How often a node says it is alive.
const BEAT: Duration = Duration::from_secs(1);
/// A node not heard for this long is gone (and a node that has not heard
/// itself for this long is not ready, `Cluster::problem`).
pub(super) const SILENCE: Duration = Duration::from_secs(3);
/// How often silent nodes are looked for.
const CHECK: Duration = Duration::from_millis(250);

/// Starts this node's heartbeat and the watch over the others'.
pub(super) async fn start(cluster: Arc<Cluster>, hub: Arc<Hub>) -> anyhow::Result<()> {
    let mut beats = cluster
        .client
        .subscribe(HEARTBEAT_SUBJECT)
        .await
        .map_err(|err| anyhow::anyhow!("cannot hear other nodes: {err}"))?;
    let heard: Arc<std::sync::Mutex<HashMap<NodeId, Instant>>> = Arc::default();
    tokio::spawn({
        let heard = Arc::clone(&heard);
        let cluster = Arc::clone(&cluster);
        async move {
            while let Some(message) = beats.next().await {
                if let Ok(beat) = serde_json::from_slice::<Heartbeat>(&message.payload) {
                    if beat.node == cluster.node.0 {
                        *lock(&cluster.heard_self) = Instant::now();
                    }
                    lock(&heard).insert(NodeId(beat.node), Instant::now());
                }
            }
        }
    });
    let beat = Heartbeat {
        node: cluster.node.0,
        name: cluster.name.clone(),
    };
    let beat = Bytes::from(serde_json::to_vec(&beat)?);
    tokio::spawn({
        let cluster = Arc::clone(&cluster);
        async move {
            let mut every = tokio::time::interval(BEAT);
            loop {
                every.tick().await;
                let _ = cluster
                    .client
                    .publish(HEARTBEAT_SUBJECT, beat.clone())
                    .await;
            }
        }
    });
    tokio::spawn(async move {
        // Nobody is silent for longer than this node has been listening.
        let mut listening = Instant::now();
        let mut last_check = Instant::now();
        // Declared and when, so a node is declared again only if it lingers.
        let mut declared: HashMap<NodeId, Instant> = HashMap::new();
        let mut every = tokio::time::interval(CHECK);
        loop {
            every.tick().await;
            let now = Instant::now();
            let stalled = now.duration_since(last_check) > CHECK * 4;
            last_check = now;
            let connected =
                cluster.client.connection_state() == async_nats::connection::State::Connected;
            if stalled || !connected {
                // This node is the one that could not hear (it was stopped,
                // starved or cut off from the broker): it declares nobody
                // gone for what it could not have heard, and counts silence
                // again from when it hears once more.
                listening = now;
                continue;
            }
            let mut nodes: Vec<NodeId> = hub.rooms().iter().flat_map(|room| room.nodes()).collect();
            nodes.extend(cluster.registry.nodes());
            nodes.sort_by_key(|node| node.0);
            nodes.dedup();
            for node in nodes.into_iter().filter(|node| *node != cluster.node) {
                let last = lock(&heard)
                    .get(&node)
                    .copied()
                    .unwrap_or(listening)
                    .max(listening);
                let lingering = declared
                    .get(&node)
                    .is_none_or(|at| now.duration_since(*at) > SILENCE * 3);
                if now.duration_since(last) > SILENCE && lingering {
                    tracing::warn!(
                        node = format!("{:08x}", node.0),
                        "cluster: a node fell silent"
                    );
                    declared.insert(node, now);
                    cluster.tell(NODES_SUBJECT.into(), Op::NodeGone { node: node.0 });
                }
            }
        }
    });
    Ok(())
}
