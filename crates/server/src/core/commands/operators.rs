//! Server operators: authenticating as one (`[[operator]]` in the config
//! file), and what only they may do: disconnect a user, ban a name pattern or
//! an address from the server, list and lift those bans, and tell everyone
//! something. (Closing any room and making a host of any room are the host
//! requests' own, with an operator's pass: see `hosts` and `rooms`.)
//!
//! Every operator action is logged at info with the operator's name, their
//! screen name and what they did; a password never is. Wrong operator
//! passwords count toward the connection's lockout as room passwords do.

use banter_proto::event::ServerBanEntry;
use banter_proto::{Event, Refusal};
use tokio::time::Instant;
use tracing::{info, warn};

use crate::core::control::{Control, Undelivered};
use crate::core::room::now_millis;
use crate::core::server_bans::{BanTarget, ServerBan};
use crate::core::user::UserState;
use crate::store::StoreError;

/// The lockout's key for operator passwords: no room name can be empty.
const OPERATOR_LOCKOUT: &str = "";

/// Most characters of a ban's or a kill's reason that are kept.
const MAX_REASON_CHARS: usize = 200;

fn reason_text(reason: Option<String>) -> Option<String> {
    reason
        .map(|reason| {
            reason
                .trim()
                .chars()
                .take(MAX_REASON_CHARS)
                .collect::<String>()
        })
        .filter(|reason| !reason.is_empty())
}

impl UserState {
    /// The operator name this user authenticated as, or the refusal.
    fn operator_name(&self) -> Result<String, Refusal> {
        self.operator.clone().ok_or(Refusal::NotOperator)
    }

    pub(super) async fn oper(&mut self, name: &str, password: String) -> Result<(), Refusal> {
        let operators = &self.hub.services.config.operators;
        if operators.is_empty() {
            return Err(Refusal::NoOperators);
        }
        let wanted = operators
            .iter()
            .find(|operator| operator.name.eq_ignore_ascii_case(name))
            .map(|operator| (operator.name.clone(), operator.hash.clone()));
        let lockout = &mut self.passes_mut().lockout;
        if let Err(wait) = lockout.check(OPERATOR_LOCKOUT, Instant::now()) {
            return Err(Refusal::OperatorLockedOut {
                secs: wait.as_secs_f64().ceil() as u64,
            });
        }
        let matched = match &wanted {
            Some((_, hash)) => self
                .hub
                .services
                .passwords
                .verify(self.peer.ip(), password, hash.clone())
                .await
                .map_err(|_| Refusal::ShuttingDown)?,
            None => false,
        };
        let nick = self.registered_nick().clone();
        if let (true, Some((operator, _))) = (matched, wanted) {
            self.passes_mut().lockout.succeeded(OPERATOR_LOCKOUT);
            info!(peer = %self.peer, %nick, %operator, "became a server operator");
            self.hub.set_operator(self.id, &nick);
            self.operator = Some(operator.clone());
            self.reply(Event::OperatorNow { name: operator });
            return Ok(());
        }
        warn!(peer = %self.peer, %nick, operator = name, "wrong operator name or password");
        self.hub.services.metrics.password_failed();
        let locked_out = self
            .passes_mut()
            .lockout
            .failed(OPERATOR_LOCKOUT, Instant::now());
        if locked_out {
            warn!(peer = %self.peer, %nick, "operator password lockout");
            self.hub.services.metrics.password_locked_out();
        }
        Err(Refusal::WrongOperatorPassword {
            locked_out_secs: locked_out.then_some(self.hub.services.config.password_lockout),
        })
    }

    pub(super) fn kill(&mut self, name: &str, reason: Option<String>) -> Result<(), Refusal> {
        let operator = self.operator_name()?;
        let target = self.hub.user(name).ok_or_else(|| Refusal::NoSuchUser {
            name: name.to_owned(),
        })?;
        let by = self.registered_nick().to_string();
        let reason = reason_text(reason);
        let request = Control::Killed {
            by: by.clone(),
            reason: reason.clone(),
        };
        let nick = target.nick.to_string();
        match self.hub.broker().send(target.id, request) {
            Ok(()) => {}
            Err(Undelivered::Busy) => return Err(Refusal::Busy { name: nick }),
            Err(Undelivered::Gone) => return Err(Refusal::JustLeft { name: nick }),
        }
        info!(%operator, %by, user = %nick, reason = reason.as_deref(), "operator disconnected a user");
        self.reply(Event::UserKilled { nick });
        Ok(())
    }

    pub(super) async fn server_ban(
        &mut self,
        mask: &str,
        duration_secs: Option<u64>,
        reason: Option<String>,
    ) -> Result<(), Refusal> {
        let operator = self.operator_name()?;
        let mask = mask.trim();
        let target = BanTarget::parse(mask)?;
        let now = now_millis();
        let bans = &self.hub.server_bans;
        if !bans.has_room_for(mask, now) {
            return Err(Refusal::BadServerBan {
                detail: format!(
                    "there are {} server bans already; lift one first",
                    crate::core::server_bans::MAX_SERVER_BANS
                ),
            });
        }
        let until = duration_secs.map(|secs| {
            now.saturating_add(i64::try_from(secs.saturating_mul(1000)).unwrap_or(i64::MAX))
        });
        let by = self.registered_nick().to_string();
        let entry = ServerBanEntry {
            mask: mask.to_owned(),
            reason: reason_text(reason).unwrap_or_else(|| "banned by a server operator".into()),
            by: by.clone(),
            at: now,
            until,
        };
        let ban = ServerBan { entry, target };
        if let Some(cluster) = self.hub.cluster() {
            // The other nodes first: if the broker does not take it, nothing changed anywhere.
            Box::pin(cluster.server_ban(&ban.entry)).await?;
        }
        let saved = self.hub.services.store.save_server_ban(ban.stored());
        saved
            .await
            .unwrap_or(Err(StoreError::Closed))
            .map_err(|err| Refusal::NotSaved {
                detail: format!("the server ban on {mask} was not saved: {err}; nothing changed"),
            })?;
        self.hub.server_bans.insert(ban.clone(), now);
        // Those it matches who are here now go too (the operator stays).
        let me = self.id;
        let matched = self
            .hub
            .users_where(|user| user.id != me && ban.matches(user.nick.as_str(), user.address));
        let mut disconnected = 0;
        for user in matched {
            let request = Control::Killed {
                by: by.clone(),
                reason: Some(format!("banned: {}", ban.entry.reason)),
            };
            if self.hub.broker().send(user.id, request).is_ok() {
                disconnected += 1;
            }
        }
        info!(
            %operator,
            %by,
            mask,
            until = ban.entry.until,
            reason = %ban.entry.reason,
            disconnected,
            "operator set a server ban"
        );
        self.reply(Event::ServerBanSet {
            ban: ban.entry,
            disconnected,
        });
        Ok(())
    }

    pub(super) async fn server_unban(&mut self, mask: &str) -> Result<(), Refusal> {
        let operator = self.operator_name()?;
        let now = now_millis();
        let Some(ban) = self.hub.server_bans.find(mask.trim(), now) else {
            return Err(Refusal::NoSuchServerBan {
                mask: mask.to_owned(),
            });
        };
        if let Some(cluster) = self.hub.cluster() {
            Box::pin(cluster.server_unban(&ban.mask)).await?;
        }
        let deleted = self.hub.services.store.delete_server_ban(&ban.mask);
        deleted
            .await
            .unwrap_or(Err(StoreError::Closed))
            .map_err(|err| Refusal::NotSaved {
                detail: format!(
                    "the server ban on {} was not lifted: {err}; nothing changed",
                    ban.mask
                ),
            })?;
        self.hub.server_bans.remove(&ban.mask, now);
        let by = self.registered_nick().to_string();
        info!(%operator, %by, mask = %ban.mask, "operator lifted a server ban");
        self.reply(Event::ServerBanLifted { mask: ban.mask });
        Ok(())
    }

    pub(super) fn server_bans(&mut self) -> Result<(), Refusal> {
        self.operator_name()?;
        let list = self.hub.server_bans.list(now_millis());
        self.reply(Event::ServerBanList(list));
        Ok(())
    }

    /// Tells everyone connected, the operator included, `text`.
    pub(super) fn announce(&mut self, text: String) -> Result<(), Refusal> {
        let operator = self.operator_name()?;
        let text = text.trim().to_owned();
        if text.is_empty() {
            return Err(Refusal::BadRequest {
                detail: "an announcement needs some text".into(),
            });
        }
        let limit = self.hub.services.config.max_line_bytes;
        if text.len() > limit {
            return Err(Refusal::LineTooLong { limit });
        }
        let from = self.registered_nick().to_string();
        let everyone = self.hub.users_where(|_| true);
        let told = everyone.len();
        for user in everyone {
            let event = Event::Announcement {
                from: from.clone(),
                text: text.clone(),
            };
            self.hub.broker().private(user.id, event);
        }
        info!(%operator, by = %from, told, text = %text, "operator announced");
        Ok(())
    }
}
