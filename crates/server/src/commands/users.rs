//! Commands about people: `:msg`, `:nick`, `:me`.

use banter_proto::{Event, Nick};

use crate::render::Delivery;
use crate::session::Session;
use crate::store::MessageKind;

impl Session {
    pub(super) fn private(&self, to: &str, text: String) {
        let Some(user) = self.hub.user(to) else {
            return self.error(format!("nobody named {to} is connected (see :who)"));
        };
        if user.id == self.id {
            return self.error("that is you; :msg sends to someone else".into());
        }
        user.outbox.offer(Delivery::new(Event::Private {
            from: self.nick().to_string(),
            text: text.clone(),
        }));
        if self.hub.config.store_private_messages {
            let mut message = self.message(MessageKind::Private, text.clone());
            message.room = String::new();
            message.recipient = Some(user.nick.to_string());
            self.hub.store.append(message);
        }
        self.reply(Event::PrivateSent {
            to: user.nick.to_string(),
            text,
        });
    }

    pub(super) fn change_nick(&mut self, name: &str) {
        let new = match Nick::parse(name) {
            Ok(nick) => nick,
            Err(err) => return self.error(err.to_string()),
        };
        let old = self.nick().clone();
        if new.as_str() == old.as_str() {
            return self.error(format!("you are already {old}"));
        }
        if let Err(err) = self.hub.rename(self.id, &old, &new) {
            return self.error(err.to_string());
        }
        self.nick = Some(new.clone());
        self.current_room().rename(self.id, &new);
        self.reply(Event::NickSet {
            nick: new.to_string(),
        });
    }

    /// The sender sees their emote too: `:me waves` on their screen is not what others see.
    pub(super) fn emote(&self, action: String) {
        let message = self.message(MessageKind::Emote, action);
        self.current_room().say(message, None);
    }
}
