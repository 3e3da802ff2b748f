//! `HELP` and `HELPOP`: what each IRC command does on banter, as the
//! numerics 704 (start), 705 (text) and 706 (end), or 524 for a subject
//! there is no help on. The text is this door's own: the commands are IRC's.

use super::super::message;
use super::super::numerics::*;

/// Each subject (an IRC command, or `index`) and its lines.
const TOPICS: &[(&str, &[&str])] = &[
    (
        "index",
        &[
            "banter speaks IRC as one of its doors: channels are rooms, channel operators are hosts.",
            "Commands: AWAY CAP HELP INVITE ISON JOIN KICK LIST MODE MOTD NAMES NICK NOTICE",
            "PART PING PRIVMSG QUIT TIME TOPIC USERHOST WHO WHOIS; for server operators:",
            "OPER KILL KLINE UNKLINE STATS WALLOPS SAMODE. HELP <command> explains one.",
        ],
    ),
    ("AWAY", &["AWAY [:message]: mark yourself away with a message, or back without one."]),
    ("CAP", &["CAP LS|LIST|REQ|END: negotiate IRCv3 capabilities."]),
    ("HELP", &["HELP [command]: this help; HELPOP is the same."]),
    ("INVITE", &["INVITE <nick> <#channel>: let someone into a channel with a key once without it."]),
    ("ISON", &["ISON <nick> ...: which of these nicks are connected."]),
    ("JOIN", &["JOIN <#channel>[,...] [key,...]: enter channels; a channel that does not exist is made, and you become its operator."]),
    ("KICK", &["KICK <#channel> <nick> [:reason]: (channel operator) remove someone from a channel."]),
    ("LIST", &["LIST [#channel,...]: the channels, their members and topics."]),
    ("MODE", &["MODE <#channel> [+k key|-k|+o nick|-o nick]: a channel's key and operators; MODE <nick> [+i]: your own modes."]),
    ("MOTD", &["MOTD: the message of the day."]),
    ("NAMES", &["NAMES <#channel>[,...]: who is in a channel."]),
    ("NICK", &["NICK <nick>: choose or change your nick."]),
    ("NOTICE", &["NOTICE <target> :<text>: like PRIVMSG, but never answered automatically; NOTICE $* by an operator reaches everyone."]),
    ("PART", &["PART <#channel>[,...] [:message]: leave channels."]),
    ("PING", &["PING <token>: the server answers PONG."]),
    ("PRIVMSG", &["PRIVMSG <#channel|nick>[,...] :<text>: say something in a channel or to someone."]),
    ("QUIT", &["QUIT [:message]: leave the server."]),
    ("TIME", &["TIME: the server's time."]),
    ("TOPIC", &["TOPIC <#channel> [:topic]: show a channel's topic, or (channel operator) set it."]),
    ("USERHOST", &["USERHOST <nick> ...: nicks with their masks and away marks."]),
    ("WHO", &["WHO <#channel|nick|mask>: who is there; * after H or G marks a server operator."]),
    ("WHOIS", &["WHOIS <nick>: who someone is and which channels they are in; server operators also see their address."]),
    ("OPER", &["OPER <name> <password>: become a server operator (named in the server's config file)."]),
    ("KILL", &["KILL <nick> [:reason]: (server operator) disconnect someone."]),
    ("KLINE", &["KLINE [minutes|30m|12h|7d] <nick-pattern|address> [:reason]: (server operator) ban from the server."]),
    ("UNKLINE", &["UNKLINE <mask>: (server operator) lift a server ban."]),
    ("STATS", &["STATS K: (server operator) the server bans in force."]),
    ("WALLOPS", &["WALLOPS :<text>: (server operator) a notice to everyone connected."]),
    ("SAMODE", &["SAMODE <#channel> +o <nick>: (server operator) MODE without being a channel operator."]),
];

/// The answer to `HELP [subject]`.
pub(super) fn help(replies: &mut Replies, subject: Option<&str>) {
    let wanted = subject.filter(|s| !s.is_empty()).unwrap_or("index");
    let Some((name, lines)) = TOPICS
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(wanted))
    else {
        let wanted = message::clean(wanted);
        replies.numeric(
            ERR_HELPNOTFOUND,
            &[&wanted],
            "No help available on this topic",
        );
        return;
    };
    let (first, rest) = lines.split_first().expect("every topic has a line");
    replies.numeric(RPL_HELPSTART, &[name], first);
    for line in rest {
        replies.numeric(RPL_HELPTXT, &[name], line);
    }
    replies.numeric(RPL_ENDOFHELP, &[name], "End of /HELP");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn help_starts_goes_on_and_ends_with_its_subject() {
        let mut replies = Replies::new(&std::sync::Arc::from("srv"), "ann");
        help(&mut replies, Some("privmsg"));
        help(&mut replies, Some("dance"));
        let lines: Vec<&str> = replies.out.lines().collect();
        assert!(lines[0].starts_with(":srv 704 ann PRIVMSG :PRIVMSG <"));
        assert_eq!(lines[1], ":srv 706 ann PRIVMSG :End of /HELP");
        assert_eq!(
            lines[2],
            ":srv 524 ann dance :No help available on this topic"
        );
    }
}
