//! Names across the cluster: the KV bucket `banter_names`, one key per
//! case-folded name (in hex, so any name is a valid key) whose value says
//! which session holds it. Create to claim (refused when the key exists,
//! so of any number of nodes claiming a name at once exactly one wins),
//! delete to release (only while the value is still ours), rename = create
//! the new key, then delete the old.
//!
//! [`ClusterRegistry`] is the core's `Registry` on a cluster node: this
//! node's users in full (a `LocalRegistry`), and a copy of everyone else's
//! names kept by a watch on the bucket, for `:users`, WHO and finding the
//! session of a private message, a kick or an invitation.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_nats::jetstream::kv::{self, CreateErrorKind, Operation};
use banter_proto::event::{MemberInfo, UserInfo, WhoEntry};
use banter_proto::names::fold;
use banter_proto::{Nick, Refusal};
use bytes::Bytes;
use futures::StreamExt;
use tokio::sync::mpsc;

use super::op::{Holder, Sid};
use super::{hex, lock, unreachable, Cluster, Outgoing, PUBLISH_TIMEOUT};
use crate::core::registry::{LocalRegistry, Registry, User};
use crate::core::resume::ResumeKey;
use crate::core::session_id::{NodeId, SessionId};

fn holder(nick: &Nick, id: SessionId) -> Bytes {
    let holder = Holder {
        nick: nick.to_string(),
        session: id.into(),
    };
    Bytes::from(serde_json::to_vec(&holder).unwrap_or_default())
}

/// Claims `nick` for session `id`.
pub(super) async fn claim(names: &kv::Store, nick: &Nick, id: SessionId) -> Result<(), Refusal> {
    let created = tokio::time::timeout(
        PUBLISH_TIMEOUT,
        names.create(hex(nick.key()), holder(nick, id)),
    )
    .await;
    match created {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(err)) if err.kind() == CreateErrorKind::AlreadyExists => Err(Refusal::NameTaken {
            name: nick.to_string(),
        }),
        _ => Err(unreachable()),
    }
}

/// Claims `new` for session `id`, which holds `old` (a change of case of
/// one's own name rewrites the value in place); the caller releases `old`.
pub(super) async fn rename(
    names: &kv::Store,
    id: SessionId,
    old: &Nick,
    new: &Nick,
) -> Result<(), Refusal> {
    if old.key() != new.key() {
        return claim(names, new, id).await;
    }
    let put =
        tokio::time::timeout(PUBLISH_TIMEOUT, names.put(hex(new.key()), holder(new, id))).await;
    match put {
        Ok(Ok(_)) => Ok(()),
        _ => Err(unreachable()),
    }
}

/// Releases `nick` if `session` still holds it.
pub(super) async fn release(names: kv::Store, nick: String, session: Sid) {
    let key = hex(&fold(&nick));
    let Ok(Ok(Some(entry))) = tokio::time::timeout(PUBLISH_TIMEOUT, names.entry(key.clone())).await
    else {
        return;
    };
    let ours = serde_json::from_slice::<Holder>(&entry.value)
        .is_ok_and(|holder| holder.session == session);
    if ours && entry.operation == Operation::Put {
        if let Err(err) = names
            .delete_expect_revision(key, Some(entry.revision))
            .await
        {
            tracing::debug!(%err, "cluster: a name changed hands as it was released");
        }
    }
}

/// Keeps the registry's copy of the other nodes' names; watches again
/// (from each name's latest value) if the watch fails.
pub(super) async fn start_watch(cluster: Arc<Cluster>) -> anyhow::Result<()> {
    let mut watch = cluster
        .names
        .watch_all()
        .await
        .map_err(|err| anyhow::anyhow!("cannot watch the names: {err}"))?;
    let mut connections = cluster.connections.subscribe();
    connections.mark_unchanged();
    tokio::spawn(async move {
        loop {
            // Watched again on each reconnect too: a restarted broker has
            // forgotten the watch's consumer.
            while let Some(entry) = tokio::select! {
                entry = watch.next() => entry,
                _ = connections.changed() => None,
            } {
                let Ok(entry) = entry else {
                    break;
                };
                let held = match entry.operation {
                    Operation::Put => serde_json::from_slice::<Holder>(&entry.value).ok(),
                    Operation::Delete | Operation::Purge => None,
                };
                cluster.registry.seen(&entry.key, held);
            }
            loop {
                tokio::time::sleep(Duration::from_millis(250)).await;
                if let Ok(again) = cluster.names.watch_all().await {
                    watch = again;
                    break;
                }
            }
        }
    });
    Ok(())
}

/// A name held on another node.
#[derive(Debug, Clone)]
struct Remote {
    nick: String,
    id: SessionId,
}

/// The registry of a cluster node; see the module docs.
#[derive(Debug)]
pub(super) struct ClusterRegistry {
    node: NodeId,
    local: LocalRegistry,
    /// By hex key.
    others: Mutex<HashMap<String, Remote>>,
    outgoing: mpsc::UnboundedSender<Outgoing>,
}

impl ClusterRegistry {
    pub(super) fn new(node: NodeId, outgoing: mpsc::UnboundedSender<Outgoing>) -> Self {
        Self {
            node,
            local: LocalRegistry::new(node),
            others: Mutex::default(),
            outgoing,
        }
    }

    /// The bucket says `key` is now held as `held` (or by nobody).
    fn seen(&self, key: &str, held: Option<Holder>) {
        let mut others = lock(&self.others);
        match held {
            Some(holder) if holder.session.node != self.node.0 => {
                let remote = Remote {
                    nick: holder.nick,
                    id: holder.session.into(),
                };
                others.insert(key.to_owned(), remote);
            }
            _ => {
                others.remove(key);
            }
        }
    }

    /// A node is gone: its names are freed (each only while still its).
    pub(super) fn forget_node(&self, node: NodeId) {
        let gone: Vec<Remote> = {
            let mut others = lock(&self.others);
            let gone = others
                .values()
                .filter(|remote| remote.id.node == node)
                .cloned()
                .collect();
            others.retain(|_, remote| remote.id.node != node);
            gone
        };
        for remote in gone {
            let _ = self.outgoing.send(Outgoing::Release {
                nick: remote.nick,
                session: remote.id.into(),
            });
        }
    }

    /// Every node holding a name here, but this one.
    pub(super) fn nodes(&self) -> Vec<NodeId> {
        let mut nodes: Vec<NodeId> = lock(&self.others)
            .values()
            .map(|remote| remote.id.node)
            .collect();
        nodes.sort_by_key(|node| node.0);
        nodes.dedup();
        nodes
    }

    fn remote(&self, name: &str) -> Option<Remote> {
        lock(&self.others).get(&hex(&fold(name))).cloned()
    }
}

impl Registry for ClusterRegistry {
    fn new_session(&self) -> SessionId {
        self.local.new_session()
    }

    fn claim(&self, user: User) -> Result<(), Refusal> {
        self.local.claim(user)
    }

    fn rename(&self, id: SessionId, old: &Nick, new: &Nick) -> Result<(), Refusal> {
        self.local.rename(id, old, new)
    }

    fn release(&self, id: SessionId, nick: &Nick) {
        if self
            .local
            .user(nick.as_str())
            .is_some_and(|user| user.id == id)
        {
            self.local.release(id, nick);
            let _ = self.outgoing.send(Outgoing::Release {
                nick: nick.to_string(),
                session: id.into(),
            });
        }
    }

    fn set_away(&self, id: SessionId, nick: &Nick, message: Option<&str>) {
        self.local.set_away(id, nick, message);
    }

    fn set_operator(&self, id: SessionId, nick: &Nick) {
        self.local.set_operator(id, nick);
    }

    /// This node's users only: a server ban disconnects the users it
    /// matches on the node where it was set (operators act per node).
    fn users_where(&self, keep: &mut dyn FnMut(&User) -> bool) -> Vec<User> {
        self.local.users_where(keep)
    }

    fn user(&self, name: &str) -> Option<User> {
        self.local.user(name).or_else(|| {
            let remote = self.remote(name)?;
            Some(User {
                id: remote.id,
                nick: Nick::parse(&remote.nick).ok()?,
                profile: None,
                away: None,
                // Not known beyond the user's own node.
                address: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
                operator: false,
            })
        })
    }

    fn nicks(&self) -> Vec<String> {
        let mut nicks = self.local.nicks();
        nicks.extend(
            lock(&self.others)
                .values()
                .map(|remote| remote.nick.clone()),
        );
        nicks.sort_by_key(|nick| fold(nick));
        nicks
    }

    fn users_matching(&self, matches: &mut dyn FnMut(&str) -> bool, limit: usize) -> Vec<UserInfo> {
        let mut found = self.local.users_matching(matches, limit);
        found.extend(
            lock(&self.others)
                .values()
                .filter(|remote| matches(&fold(&remote.nick)))
                .map(|remote| UserInfo {
                    nick: remote.nick.clone(),
                    profile: None,
                    away: None,
                    operator: false,
                    address: None,
                }),
        );
        found.sort_by_key(|user| fold(&user.nick));
        found.truncate(limit);
        found
    }

    fn member_infos(&self, members: Vec<WhoEntry>) -> Vec<MemberInfo> {
        self.local.member_infos(members)
    }

    fn count(&self) -> usize {
        self.local.count()
    }

    // A session parks on the node that holds its outbox and state, so its
    // record stays there: a resume that reaches another node is refused and
    // the client starts afresh (ARCHITECTURE.md, "Running as a cluster").

    fn open_session(&self, key: ResumeKey, id: SessionId) {
        self.local.open_session(key, id);
    }

    fn park(&self, key: ResumeKey, id: SessionId) {
        self.local.park(key, id);
    }

    fn take_over(&self, key: &ResumeKey) -> Option<SessionId> {
        self.local.take_over(key)
    }

    fn end_session(&self, key: &ResumeKey, id: SessionId) {
        self.local.end_session(key, id);
    }

    fn parked(&self) -> usize {
        self.local.parked()
    }
}
