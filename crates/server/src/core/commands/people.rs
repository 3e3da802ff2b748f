//! Requests about people: private messages, name changes, and who someone
//! is (`whois`).

use banter_proto::{Event, Nick, Refusal};

use crate::core::room::now_millis;
use crate::core::user::UserState;
use crate::store::{MessageKind, StoredMessage};

impl UserState {
    pub(super) fn private(&mut self, to: &str, text: String, notice: bool) -> Result<(), Refusal> {
        let Some(user) = self.hub.user(to) else {
            return Err(Refusal::NoSuchUser {
                name: to.to_owned(),
            });
        };
        if user.id == self.id {
            return Err(Refusal::MessageToSelf);
        }
        let at = now_millis();
        let private = Event::Private {
            from: self.registered_nick().to_string(),
            text: text.clone(),
            at,
            notice,
        };
        if !self.hub.broker().private(user.id, private) {
            return Err(Refusal::NoSuchUser {
                name: to.to_owned(),
            });
        }
        let services = &self.hub.services;
        services.metrics.message_received(self.door.name, "private");
        // A cluster node's store holds the log's ids only (see `cluster`).
        if services.config.store_private_messages && self.hub.cluster().is_none() {
            services.store.append(StoredMessage {
                id: 0,
                room: "".into(),
                sender: self.registered_nick().shared(),
                text: text.as_str().into(),
                kind: MessageKind::Private,
                at,
                from_room: None,
                recipient: Some(user.nick.to_string()),
            });
        }
        self.reply(Event::PrivateSent {
            to: user.nick.to_string(),
            text,
        });
        Ok(())
    }

    /// Answers with `name`'s details (see [`UserState::user_details`]: a
    /// secret room only to its members, the address only to operators).
    pub(super) fn whois(&mut self, name: &str) -> Result<(), Refusal> {
        let details = self.user_details(name).ok_or_else(|| Refusal::NoSuchUser {
            name: name.to_owned(),
        })?;
        self.reply(Event::Whois(details));
        Ok(())
    }

    pub(super) async fn change_nick(&mut self, name: &str) -> Result<(), Refusal> {
        let new = Nick::parse(name)?;
        let old = self.registered_nick().clone();
        if new.as_str() == old.as_str() {
            return Err(Refusal::AlreadyNamed {
                name: old.to_string(),
            });
        }
        self.hub.server_bans.check(
            new.as_str(),
            self.peer.ip(),
            crate::core::room::now_millis(),
        )?;
        self.hub.rename(self.id, &old, &new).await?;
        self.nick = Some(new.clone());
        match self.hub.cluster() {
            None => {
                for room in &self.rooms {
                    room.rename(self.id, &new);
                }
            }
            Some(cluster) => {
                let rooms = self.rooms.iter().map(|room| room.name().to_string());
                cluster.renamed(self.id, &new, rooms.collect());
            }
        }
        self.reply(Event::NickSet {
            nick: new.to_string(),
        });
        Ok(())
    }
}
