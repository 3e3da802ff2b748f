//! The IRC door's server-operator commands, as core requests: `OPER`,
//! `KILL`, `KLINE`/`UNKLINE` (server bans), `STATS K` (the bans in force),
//! `WALLOPS` (a notice to everyone) and `SAMODE` (channel modes by an
//! operator who is not a channel operator: the core lets an operator's
//! `+o` through).
//!
//! `KLINE [duration] <mask> [:reason]`: the duration is minutes as IRC
//! servers take it (`60`) or banter's own form (`2h`, `7d`); without one the
//! ban lasts until `UNKLINE <mask>`. The mask is a nick pattern (`troll*`)
//! or an address (`1.2.3.4`, `*@1.2.3.*`).

use banter_proto::command::parse_duration;
use banter_proto::request::Request;

use super::super::message;
use super::super::numerics::*;
use super::Session;

/// A KLINE duration: minutes (IRC's way) or banter's `30m`, `12h`, `7d`.
fn kline_duration(word: &str) -> Option<u64> {
    if !word.is_empty() && word.bytes().all(|b| b.is_ascii_digit()) {
        return word.parse::<u64>().ok()?.checked_mul(60).filter(|&s| s > 0);
    }
    parse_duration(word)
}

impl Session {
    /// One operator command (registered users only); `command` is one of
    /// those in the module docs.
    pub(super) async fn operator_command(
        &mut self,
        replies: &mut Replies,
        command: &str,
        params: &[&str],
    ) {
        let not_enough = |replies: &mut Replies| {
            replies.numeric(ERR_NEEDMOREPARAMS, &[command], "Not enough parameters")
        };
        let request = match command {
            "OPER" => match params {
                [name, password, ..] => Request::Oper {
                    name: (*name).to_owned(),
                    password: (*password).to_owned(),
                },
                _ => return not_enough(replies),
            },
            "KILL" => match params {
                [name, rest @ ..] => Request::Kill {
                    name: (*name).to_owned(),
                    reason: rest
                        .first()
                        .map(|reason| message::plain(reason))
                        .filter(|reason| !reason.is_empty()),
                },
                _ => return not_enough(replies),
            },
            "KLINE" => {
                let (duration_secs, rest) = match params {
                    [first, rest @ ..] if !rest.is_empty() => match kline_duration(first) {
                        Some(secs) => (Some(secs), rest),
                        None => (None, params),
                    },
                    _ => (None, params),
                };
                match rest {
                    [mask, reason @ ..] => Request::ServerBan {
                        mask: (*mask).to_owned(),
                        duration_secs,
                        reason: reason
                            .first()
                            .map(|reason| message::plain(reason))
                            .filter(|reason| !reason.is_empty()),
                    },
                    [] => return not_enough(replies),
                }
            }
            "UNKLINE" => match params {
                [mask, ..] => Request::ServerUnban {
                    mask: (*mask).to_owned(),
                },
                [] => return not_enough(replies),
            },
            "STATS" => match params.first() {
                Some(letter) if letter.eq_ignore_ascii_case("k") => Request::ServerBans,
                Some(letter) => {
                    let letter = message::clean(letter);
                    return replies.numeric(RPL_ENDOFSTATS, &[&letter], "End of /STATS report");
                }
                None => return not_enough(replies),
            },
            "WALLOPS" => match params.first().map(|text| message::plain(text)) {
                Some(text) if !text.trim().is_empty() => Request::Announce { text },
                _ => return not_enough(replies),
            },
            // SAMODE #channel ...: MODE, with the operator's pass in the core.
            _ => match params {
                [channel, args @ ..] if channel.starts_with('#') => {
                    if self.user_is_operator() {
                        self.channel_mode(replies, channel, args).await;
                    } else {
                        replies.refusal(command, "", "", &banter_proto::Refusal::NotOperator);
                    }
                    return;
                }
                [_, ..] => {
                    return replies.numeric(
                        ERR_NOSUCHCHANNEL,
                        &[&message::clean(params[0])],
                        "No such channel",
                    )
                }
                [] => return not_enough(replies),
            },
        };
        if let Err(refusal) = self.execute(replies, request).await {
            let name = match command {
                "KILL" => params
                    .first()
                    .map_or(String::new(), |n| message::clean(n).into_owned()),
                _ => String::new(),
            };
            replies.refusal(command, "", &name, &refusal);
        }
    }

    fn user_is_operator(&self) -> bool {
        let me = self.user.registered_nick().to_string();
        self.user.user_info(&me).is_some_and(|info| info.operator)
    }
}

#[cfg(test)]
mod tests {
    use super::kline_duration;

    #[test]
    fn kline_durations_are_minutes_or_a_number_and_a_unit() {
        assert_eq!(kline_duration("60"), Some(3600));
        assert_eq!(kline_duration("2h"), Some(7200));
        assert_eq!(kline_duration("0"), None);
        assert_eq!(kline_duration("troll*"), None);
    }
}
