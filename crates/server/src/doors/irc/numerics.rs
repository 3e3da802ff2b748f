//! Numeric replies, and the numeric each core refusal becomes.
//!
//! The core refuses with a typed [`Refusal`]; which numeric that is depends
//! on the command (not being in a channel is 404 for a PRIVMSG, 442 for a
//! TOPIC), so the session names the command. Texts are IRC's usual ones, so
//! clients that match on numerics and users who read them both understand;
//! refusals without a numeric become a server NOTICE in IRC words. A room's
//! password never appears in any of them.

use std::fmt::Write;

use banter_proto::Refusal;

use std::sync::Arc;

pub(super) const RPL_WELCOME: u16 = 1;
pub(super) const RPL_YOURHOST: u16 = 2;
pub(super) const RPL_CREATED: u16 = 3;
pub(super) const RPL_MYINFO: u16 = 4;
pub(super) const RPL_ISUPPORT: u16 = 5;
pub(super) const RPL_UMODEIS: u16 = 221;
pub(super) const RPL_AWAY: u16 = 301;
pub(super) const RPL_USERHOST: u16 = 302;
pub(super) const RPL_ISON: u16 = 303;
pub(super) const RPL_UNAWAY: u16 = 305;
pub(super) const RPL_NOWAWAY: u16 = 306;
pub(super) const RPL_WHOISUSER: u16 = 311;
pub(super) const RPL_WHOISSERVER: u16 = 312;
pub(super) const RPL_ENDOFWHO: u16 = 315;
pub(super) const RPL_ENDOFWHOIS: u16 = 318;
pub(super) const RPL_WHOISCHANNELS: u16 = 319;
pub(super) const RPL_LISTSTART: u16 = 321;
pub(super) const RPL_LIST: u16 = 322;
pub(super) const RPL_LISTEND: u16 = 323;
pub(super) const RPL_CHANNELMODEIS: u16 = 324;
pub(super) const RPL_CREATIONTIME: u16 = 329;
pub(super) const RPL_NOTOPIC: u16 = 331;
pub(super) const RPL_TOPIC: u16 = 332;
pub(super) const RPL_TOPICWHOTIME: u16 = 333;
pub(super) const RPL_INVITING: u16 = 341;
pub(super) const RPL_ENDOFINVITELIST: u16 = 347;
pub(super) const RPL_ENDOFEXCEPTLIST: u16 = 349;
pub(super) const RPL_WHOREPLY: u16 = 352;
pub(super) const RPL_BANLIST: u16 = 367;
pub(super) const RPL_NAMREPLY: u16 = 353;
pub(super) const RPL_ENDOFNAMES: u16 = 366;
pub(super) const RPL_ENDOFBANLIST: u16 = 368;
pub(super) const RPL_MOTD: u16 = 372;
pub(super) const RPL_MOTDSTART: u16 = 375;
pub(super) const RPL_ENDOFMOTD: u16 = 376;
pub(super) const RPL_TIME: u16 = 391;
pub(super) const ERR_NOSUCHNICK: u16 = 401;
pub(super) const ERR_NOSUCHCHANNEL: u16 = 403;
pub(super) const ERR_CANNOTSENDTOCHAN: u16 = 404;
pub(super) const ERR_TOOMANYCHANNELS: u16 = 405;
pub(super) const ERR_TOOMANYTARGETS: u16 = 407;
pub(super) const ERR_UNAVAILRESOURCE: u16 = 437;
pub(super) const ERR_NOORIGIN: u16 = 409;
pub(super) const ERR_INVALIDCAPCMD: u16 = 410;
pub(super) const ERR_NORECIPIENT: u16 = 411;
pub(super) const ERR_NOTEXTTOSEND: u16 = 412;
pub(super) const ERR_INPUTTOOLONG: u16 = 417;
pub(super) const ERR_UNKNOWNCOMMAND: u16 = 421;
pub(super) const ERR_NONICKNAMEGIVEN: u16 = 431;
pub(super) const ERR_ERRONEUSNICKNAME: u16 = 432;
pub(super) const ERR_NICKNAMEINUSE: u16 = 433;
pub(super) const ERR_USERNOTINCHANNEL: u16 = 441;
pub(super) const ERR_NOTONCHANNEL: u16 = 442;
pub(super) const ERR_USERONCHANNEL: u16 = 443;
pub(super) const ERR_NOTREGISTERED: u16 = 451;
pub(super) const ERR_NEEDMOREPARAMS: u16 = 461;
pub(super) const ERR_ALREADYREGISTERED: u16 = 462;
pub(super) const ERR_UNKNOWNMODE: u16 = 472;
pub(super) const ERR_INVITEONLYCHAN: u16 = 473;
pub(super) const ERR_BANNEDFROMCHAN: u16 = 474;
pub(super) const ERR_BADCHANNELKEY: u16 = 475;
pub(super) const ERR_BANLISTFULL: u16 = 478;
pub(super) const ERR_BADCHANNAME: u16 = 479;
pub(super) const ERR_CHANOPRIVSNEEDED: u16 = 482;
pub(super) const ERR_UMODEUNKNOWNFLAG: u16 = 501;
pub(super) const ERR_USERSDONTMATCH: u16 = 502;
pub(super) const ERR_INVALIDKEY: u16 = 525;
pub(super) const RPL_STATSKLINE: u16 = 216;
pub(super) const RPL_ENDOFSTATS: u16 = 219;
pub(super) const RPL_WHOISOPERATOR: u16 = 313;
pub(super) const RPL_WHOISACTUALLY: u16 = 338;
pub(super) const RPL_YOUREOPER: u16 = 381;
pub(super) const ERR_PASSWDMISMATCH: u16 = 464;
pub(super) const ERR_YOUREBANNEDCREEP: u16 = 465;
pub(super) const ERR_NOPRIVILEGES: u16 = 481;
pub(super) const ERR_NOOPERHOST: u16 = 491;
pub(super) const ERR_HELPNOTFOUND: u16 = 524;
pub(super) const RPL_HELPSTART: u16 = 704;
pub(super) const RPL_HELPTXT: u16 = 705;
pub(super) const RPL_ENDOFHELP: u16 = 706;

/// Lines for one client from the server named `server`, addressed to its
/// nick (`*` before it has one), gathered to go into its outbox together.
#[derive(Debug)]
pub(super) struct Replies {
    server: Arc<str>,
    nick: String,
    pub out: String,
}

impl Replies {
    pub(super) fn new(server: &Arc<str>, nick: &str) -> Self {
        Self {
            server: Arc::clone(server),
            nick: nick.to_owned(),
            out: String::new(),
        }
    }

    /// The server's name, as in the prefix of its own lines.
    pub(super) fn server(&self) -> &str {
        &self.server
    }

    /// The nick replies are addressed to.
    pub(super) fn nick(&self) -> &str {
        &self.nick
    }

    /// `:banter <code> <nick> <params...> :`: a numeric whose text the
    /// caller writes into `out` itself, known safe, then ends with CRLF.
    pub(super) fn numeric_open(&mut self, code: u16, params: &[&str]) {
        let _ = write!(self.out, ":{} {code:03} {}", self.server, self.nick);
        for param in params {
            self.out.push(' ');
            self.out.push_str(param);
        }
        self.out.push_str(" :");
    }

    /// `:banter <code> <nick> <params...> :<text>`; `text` is made safe.
    pub(super) fn numeric(&mut self, code: u16, params: &[&str], text: &str) {
        let _ = write!(self.out, ":{} {code:03} {}", self.server, self.nick);
        for param in params {
            let _ = write!(self.out, " {param}");
        }
        let _ = write!(self.out, " :{}\r\n", super::message::clean(text));
    }

    /// A numeric whose last parameter is not text (ISUPPORT, MYINFO).
    pub(super) fn numeric_bare(&mut self, code: u16, params: &str) {
        let _ = write!(
            self.out,
            ":{} {code:03} {} {params}\r\n",
            self.server, self.nick
        );
    }

    /// A notice from the server to this client.
    pub(super) fn notice(&mut self, text: &str) {
        let _ = write!(
            self.out,
            ":{} NOTICE {} :{}\r\n",
            self.server,
            self.nick,
            super::message::clean(text)
        );
    }

    /// Any other line, already made safe, without its CRLF.
    pub(super) fn line(&mut self, line: std::fmt::Arguments<'_>) {
        let _ = self.out.write_fmt(line);
        self.out.push_str("\r\n");
    }

    /// The numeric (or notice) for `refusal` of `command`. `channel` is the
    /// channel (with its `#`) the command was about, `name` the nick.
    pub(super) fn refusal(&mut self, command: &str, channel: &str, name: &str, refusal: &Refusal) {
        match refusal {
            Refusal::NoSuchRoom { .. }
            | Refusal::NoSuchRoomToEnter { .. }
            | Refusal::RoomGone { .. } => {
                self.numeric(ERR_NOSUCHCHANNEL, &[channel], "No such channel")
            }
            Refusal::Banned { .. } if matches!(command, "PRIVMSG" | "NOTICE") => self.numeric(
                ERR_CANNOTSENDTOCHAN,
                &[channel],
                "Cannot send to channel (+b)",
            ),
            Refusal::Banned { .. } => {
                self.numeric(ERR_BANNEDFROMCHAN, &[channel], "Cannot join channel (+b)")
            }
            Refusal::Moderated { .. } => self.numeric(
                ERR_CANNOTSENDTOCHAN,
                &[channel],
                "Cannot send to channel (+m)",
            ),
            Refusal::InviteOnly { .. } => {
                self.numeric(ERR_INVITEONLYCHAN, &[channel], "Cannot join channel (+i)")
            }
            Refusal::BanListFull { .. } => self.numeric(
                ERR_BANLISTFULL,
                &[channel, name],
                "Channel ban list is full",
            ),
            Refusal::NotMember { .. } if matches!(command, "PRIVMSG" | "NOTICE") => {
                self.numeric(ERR_CANNOTSENDTOCHAN, &[channel], "Cannot send to channel")
            }
            Refusal::NotMember { .. } | Refusal::NoRoom | Refusal::WhichRoom => {
                self.numeric(ERR_NOTONCHANNEL, &[channel], "You're not on that channel")
            }
            Refusal::NotHost { .. } => self.numeric(
                ERR_CHANOPRIVSNEEDED,
                &[channel],
                "You're not channel operator",
            ),
            Refusal::DefaultRoom { .. } => self.numeric(
                ERR_CHANOPRIVSNEEDED,
                &[channel],
                "This is the default channel: it has no operators, topic or key",
            ),
            Refusal::KickHost { name } => self.numeric(
                ERR_CHANOPRIVSNEEDED,
                &[channel],
                &format!("{name} is a channel operator; take their +o first"),
            ),
            Refusal::PasswordNeeded { .. } | Refusal::WrongPassword { .. } => {
                self.numeric(ERR_BADCHANNELKEY, &[channel], "Cannot join channel (+k)")
            }
            Refusal::LockedOut { secs, .. } => self.numeric(
                ERR_BADCHANNELKEY,
                &[channel],
                &format!("Cannot join channel (+k): too many wrong keys, try again in {secs} s"),
            ),
            Refusal::RoomCreationLimited { .. } => self.numeric(
                ERR_UNAVAILRESOURCE,
                &[channel],
                &format!("Channel is temporarily unavailable: {refusal}"),
            ),
            Refusal::UserRoomLimit { .. } => self.numeric(
                ERR_TOOMANYCHANNELS,
                &[channel],
                "You have joined too many channels",
            ),
            Refusal::BadName(err) if command == "NICK" => self.numeric(
                ERR_ERRONEUSNICKNAME,
                &[name],
                &format!("Erroneous nickname: {err}"),
            ),
            Refusal::BadName(err) => self.numeric(
                ERR_BADCHANNAME,
                &[channel],
                &format!("Illegal channel name: {err}"),
            ),
            Refusal::NameTaken { name } => {
                self.numeric(ERR_NICKNAMEINUSE, &[name], "Nickname is already in use")
            }
            Refusal::NoSuchUser { .. } | Refusal::JustLeft { .. } => {
                self.numeric(ERR_NOSUCHNICK, &[name], "No such nick/channel")
            }
            Refusal::NoSuchMember { .. } => self.numeric(
                ERR_USERNOTINCHANNEL,
                &[name, channel],
                "They aren't on that channel",
            ),
            Refusal::AlreadyThere { .. } => {
                self.numeric(ERR_USERONCHANNEL, &[name, channel], "is already on channel")
            }
            Refusal::EmptyPassword => {
                self.numeric(ERR_NEEDMOREPARAMS, &[command], "A key cannot be empty")
            }
            Refusal::LastHost { .. } => self.notice(&format!(
                "{channel} would be left without an operator; give +o to someone else first"
            )),
            Refusal::KickSelf => self.notice("You cannot kick yourself; /part leaves"),
            Refusal::InviteUnlocked { .. } => self.notice(&format!(
                "{channel} has no key: anyone can join it, no invitation is needed"
            )),
            Refusal::NoPassword { .. } => self.notice(&format!("{channel} has no key to remove")),
            Refusal::NotOperator => self.numeric(
                ERR_NOPRIVILEGES,
                &[],
                "Permission Denied- You're not an IRC operator",
            ),
            Refusal::NoOperators => self.numeric(ERR_NOOPERHOST, &[], "No O-lines for your host"),
            Refusal::WrongOperatorPassword { .. } => self.numeric(
                ERR_PASSWDMISMATCH,
                &[],
                &format!("Password incorrect: {refusal}"),
            ),
            Refusal::OperatorLockedOut { .. } => {
                self.numeric(ERR_NOOPERHOST, &[], &refusal.to_string())
            }
            Refusal::ServerBanned { .. } => {
                self.numeric(ERR_YOUREBANNEDCREEP, &[], &refusal.to_string())
            }
            // No numeric fits: the refusal's own sentence, which names no
            // command of another door.
            other @ (Refusal::AlreadyNamed { .. }
            | Refusal::NameFirst
            | Refusal::AlreadyRegistered
            | Refusal::LockedAtLogin { .. }
            | Refusal::RoomExists { .. }
            | Refusal::ServerRoomLimit { .. }
            | Refusal::AlreadyInRoom { .. }
            | Refusal::ExtraRoomIsHere { .. }
            | Refusal::ExtraRoomLocked { .. }
            | Refusal::DefaultRoomStays
            | Refusal::PasswordChangedWhileTyping { .. }
            | Refusal::PasswordChangedMeanwhile { .. }
            | Refusal::PasswordsDiffer
            | Refusal::HashFailed
            | Refusal::ShuttingDown
            | Refusal::AlreadyHost { .. }
            | Refusal::NotAHost { .. }
            | Refusal::Busy { .. }
            | Refusal::MessageToSelf
            | Refusal::BadHistoryCount { .. }
            | Refusal::HistoryUnavailable { .. }
            | Refusal::NotSaved { .. }
            | Refusal::HistoryNotSaved { .. }
            | Refusal::BadCommand(_)
            | Refusal::NoSuchCommand { .. }
            | Refusal::LineTooLong { .. }
            | Refusal::SlowDown { .. }
            | Refusal::Flooding
            | Refusal::RegistrationTimeout { .. }
            | Refusal::ServerFull { .. }
            | Refusal::TooManyFromAddress { .. }
            | Refusal::BadRequest { .. }
            | Refusal::BadJson { .. }
            | Refusal::UnknownType { .. }
            | Refusal::BinaryFrame
            | Refusal::ResumeFailed
            | Refusal::AnswerDropped
            | Refusal::BadMask(_)
            | Refusal::BadModes(_)
            | Refusal::AlreadyBanned { .. }
            | Refusal::NotBanned { .. }
            | Refusal::BadServerBan { .. }
            | Refusal::NoSuchServerBan { .. }
            | Refusal::AddressBanOnCluster) => self.notice(&format!("{command}: {other}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numerics_are_three_digits_to_the_nick() {
        let mut replies = Replies::new(&"banter".into(), "ann");
        replies.numeric(RPL_WELCOME, &[], "hi\r\nQUIT");
        replies.refusal(
            "JOIN",
            "#vault",
            "",
            &Refusal::WrongPassword {
                room: "vault".into(),
                here: None,
                locked_out_secs: None,
            },
        );
        assert_eq!(
            replies.out,
            ":banter 001 ann :hi  QUIT\r\n:banter 475 ann #vault :Cannot join channel (+k)\r\n"
        );
    }

    #[test]
    fn a_refusal_without_a_numeric_is_a_notice_in_words_any_client_reads() {
        let mut replies = Replies::new(&"banter".into(), "ann");
        replies.refusal("PRIVMSG", "", "ann", &Refusal::MessageToSelf);
        replies.refusal(
            "JOIN",
            "#games",
            "",
            &Refusal::RoomExists {
                room: "games".into(),
            },
        );
        assert_eq!(
            replies.out,
            ":banter NOTICE ann :PRIVMSG: that is you; private messages go to someone else\r\n\
             :banter NOTICE ann :JOIN: room games already exists; enter it instead\r\n"
        );
    }
}
