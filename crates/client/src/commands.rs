//! Colon-commands: a typed line parsed into a [`Command`], before anything
//! is sent.
//!
//! The commands are the text door's, from banter-proto's table (names,
//! aliases, usage, summary and argument shape), so people need learn nothing
//! new and the two cannot drift apart. What the client does differently is
//! written here, apart: its own commands ([`CLIENT_COMMANDS`]), more names
//! for some of the text door's ([`CLIENT_ALIASES`]), the arguments it takes
//! differently ([`CLIENT_SHAPES`]) and the text door's it does not offer
//! ([`NOT_OFFERED`]). Parsing is pure; what a command does is the app's
//! business ([`crate::app`]).

use banter_proto::command::{CommandSpec, Shape};
use banter_proto::COMMANDS as TEXT_DOOR_COMMANDS;

/// One parsed input line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Chat for the selected conversation (a line without `:`, or `::`-escaped).
    Say(String),
    /// Join a room, or switch to it when already in it.
    Join(String),
    Create(String),
    ExtraRoom {
        room: String,
        text: String,
    },
    Msg {
        to: String,
        text: Option<String>,
    },
    Me(String),
    Nick(String),
    Topic(Option<String>),
    Who(Option<String>),
    /// `:whois <name>`: one user in detail.
    Whois(String),
    Rooms,
    HostAdd(String),
    HostRemove(String),
    /// `:passwd` (asks twice, hidden) or `:passwd off`.
    Password {
        off: bool,
    },
    Kick {
        name: String,
        reason: Option<String>,
    },
    Invite(String),
    History(Option<usize>),
    Close,
    /// `:mode`: show the room's modes; `:mode +m-t`: change them (each a
    /// mode's banter/1 name and whether to set it).
    Mode(Option<Vec<(&'static str, bool)>>),
    Voice {
        name: String,
        on: bool,
    },
    Ban {
        mask: String,
        on: bool,
    },
    Bans(Option<String>),
    /// Leave a room, or close a private conversation.
    Part(Option<String>),
    Members,
    Help,
    Quit,
}

/// One command as the client offers it.
#[derive(Debug, Clone, Copy)]
pub struct Spec {
    pub name: &'static str,
    pub aliases: &'static [&'static str],
    /// The client's own further names for it.
    pub client_aliases: &'static [&'static str],
    pub usage: &'static str,
    pub help: &'static str,
    shape: Shape,
}

/// Commands only the client has.
const CLIENT_COMMANDS: &[Spec] = &[
    Spec {
        name: "part",
        aliases: &["leave"],
        client_aliases: &[],
        usage: "[room]",
        help: "leave a room (or close a private conversation)",
        shape: Shape::OptionalWord,
    },
    Spec {
        name: "members",
        aliases: &[],
        client_aliases: &[],
        usage: "",
        help: "show or hide the member list (also F2)",
        shape: Shape::None,
    },
];

/// The client's further names for text-door commands: (command, aliases).
const CLIENT_ALIASES: &[(&str, &[&str])] = &[("change-room", &["join", "j"]), ("msg", &["query"])];

/// Where the client takes other arguments than the text door: `:msg <name>`
/// alone opens a private conversation, and `:help` lists everything.
const CLIENT_SHAPES: &[(&str, Shape)] =
    &[("msg", Shape::WordThenOptionalText), ("help", Shape::None)];

/// Text-door commands the client does not offer: `:set timestamps` is a
/// setting of the text door's screen (the client always shows times); the
/// server operators' commands are for the text door, IRC and the web page.
const NOT_OFFERED: &[&str] = &[
    "set",
    "oper",
    "kill",
    "serverban",
    "serverunban",
    "serverbans",
    "announce",
];

/// What `table` says of the command `name`, if anything.
fn client_entry<T: Copy>(table: &[(&str, T)], name: &str) -> Option<T> {
    table
        .iter()
        .find(|(command, _)| *command == name)
        .map(|&(_, value)| value)
}

/// A text-door command as the client offers it, or `None` if it does not.
fn offered(spec: &'static CommandSpec) -> Option<Spec> {
    if NOT_OFFERED.contains(&spec.name) {
        return None;
    }
    Some(Spec {
        name: spec.name,
        aliases: spec.aliases,
        client_aliases: client_entry(CLIENT_ALIASES, spec.name).unwrap_or_default(),
        usage: spec.args,
        help: spec.summary,
        shape: client_entry(CLIENT_SHAPES, spec.name).unwrap_or(spec.shape()),
    })
}

/// Every command, in the order `:help` lists them: the text door's, then
/// the client's own.
pub fn commands() -> impl Iterator<Item = Spec> {
    TEXT_DOOR_COMMANDS
        .iter()
        .filter_map(offered)
        .chain(CLIENT_COMMANDS.iter().copied())
}

impl Spec {
    /// Its name and every alias, the client's own last.
    pub fn names(&self) -> impl Iterator<Item = &'static str> {
        std::iter::once(self.name)
            .chain(self.aliases.iter().copied())
            .chain(self.client_aliases.iter().copied())
    }
}

/// The command `word` names (already lowercase).
fn find(word: &str) -> Option<Spec> {
    commands().find(|spec| spec.names().any(|name| name == word))
}

/// Every command name and alias with its colon, for Tab completion.
pub fn names() -> impl Iterator<Item = String> {
    commands().flat_map(|spec| {
        spec.names()
            .map(|name| format!(":{name}"))
            .collect::<Vec<_>>()
    })
}

/// The command word at the start of `rest` (lowercased), if it names one.
fn command_word(rest: &str) -> Option<Spec> {
    let word = rest.split(' ').next().unwrap_or_default();
    (!word.is_empty())
        .then(|| find(&word.to_lowercase()))
        .flatten()
}

/// A room as typed, without the `#` IRC users put before it (room names
/// never hold one).
fn room_name(typed: String) -> String {
    match typed.strip_prefix('#') {
        Some(bare) if !bare.is_empty() => bare.to_owned(),
        _ => typed,
    }
}

/// Parses one line. `Err` is a sentence for the user.
///
/// The IRC habit is understood: `/join #games` is `:join games`, for every
/// command's name or alias after a `/` (`//join` sends "/join" as chat); a
/// `/` before anything else is chat, as it always was.
pub fn parse(line: &str) -> Result<Command, String> {
    if let Some(escaped) = line.strip_prefix("::") {
        return Ok(Command::Say(format!(":{escaped}")));
    }
    if let Some(rest) = line.strip_prefix('/') {
        if let Some(escaped) = rest.strip_prefix('/') {
            if command_word(escaped).is_some() {
                return Ok(Command::Say(rest.to_owned()));
            }
        } else if command_word(rest).is_some() {
            return parse(&format!(":{rest}"));
        }
        return Ok(Command::Say(line.to_owned()));
    }
    let Some(rest) = line.strip_prefix(':') else {
        return Ok(Command::Say(line.to_owned()));
    };
    let (word, args) = rest.split_once(' ').unwrap_or((rest, ""));
    let word = word.to_lowercase();
    let spec =
        find(&word).ok_or_else(|| format!("there is no command :{word}; :help lists them"))?;
    let args = args.trim_start();
    let (first, text) = args.split_once(' ').unwrap_or((args, ""));
    let text = text.trim_start();
    // Said with the name typed, which people know better than the table's.
    let usage = || {
        format!("usage: :{word} {}", spec.usage)
            .trim_end()
            .to_owned()
    };
    let some = |s: &str| (!s.is_empty()).then(|| s.to_owned());
    let word_only = |s: &str| -> Result<Option<String>, String> {
        match s.split_whitespace().collect::<Vec<_>>()[..] {
            [] => Ok(None),
            [word] => Ok(Some(word.to_owned())),
            _ => Err(usage()),
        }
    };
    let (word_arg, text_arg) = match spec.shape {
        Shape::None if !args.trim().is_empty() => return Err(usage()),
        Shape::None => (None, None),
        Shape::Word => (Some(word_only(args)?.ok_or_else(usage)?), None),
        Shape::OptionalWord => (word_only(args)?, None),
        // `Switch` is `:set`'s, which the client does not offer.
        Shape::Text | Shape::Switch => (None, Some(some(args).ok_or_else(usage)?)),
        Shape::OptionalText => (None, some(args)),
        Shape::WordThenText => (
            Some(some(first).ok_or_else(usage)?),
            Some(some(text).ok_or_else(usage)?),
        ),
        Shape::WordThenOptionalText => (Some(some(first).ok_or_else(usage)?), some(text)),
    };
    let word = || word_arg.clone().unwrap_or_default();
    let text = || text_arg.clone().unwrap_or_default();
    let room = || room_name(word());
    Ok(match spec.name {
        "change-room" => Command::Join(room()),
        "new" => Command::Create(room()),
        "part" => Command::Part(word_arg.map(room_name)),
        "erm" => Command::ExtraRoom {
            room: room(),
            text: text(),
        },
        "msg" => Command::Msg {
            to: word(),
            text: text_arg,
        },
        "me" => Command::Me(text()),
        "nick" => Command::Nick(word()),
        "topic" => Command::Topic(text_arg),
        "who" => Command::Who(word_arg.map(room_name)),
        "whois" => Command::Whois(word()),
        "rooms" => Command::Rooms,
        "history" => match word_arg {
            None => Command::History(None),
            Some(n) => Command::History(Some(
                n.parse()
                    .ok()
                    .filter(|n| (1..=200).contains(n))
                    .ok_or("the count is a number from 1 to 200")?,
            )),
        },
        "hostadd" => Command::HostAdd(word()),
        "hostrm" => Command::HostRemove(word()),
        "passwd" => match word_arg.as_deref() {
            None => Command::Password { off: false },
            Some("off") => Command::Password { off: true },
            Some(_) => return Err(usage()),
        },
        "unlock" => Command::Password { off: true },
        "kick" => Command::Kick {
            name: word(),
            reason: text_arg,
        },
        "invite" => Command::Invite(word()),
        "close" => Command::Close,
        "mode" => match word_arg {
            None => Command::Mode(None),
            Some(changes) => Command::Mode(Some(
                banter_proto::modes::parse_mode_changes(&changes)
                    .map_err(|err| err.to_string())?
                    .into_iter()
                    .map(|(mode, on)| (mode.name(), on))
                    .collect(),
            )),
        },
        "voice" | "devoice" => Command::Voice {
            name: word(),
            on: spec.name == "voice",
        },
        "ban" | "unban" => Command::Ban {
            mask: word(),
            on: spec.name == "ban",
        },
        "bans" => Command::Bans(word_arg),
        "members" => Command::Members,
        "help" => Command::Help,
        "exit" => Command::Quit,
        // A command the text door has gained and the client not yet.
        other => return Err(format!("the client cannot do :{other} (yet)")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_parse_into_commands() {
        let cases: &[(&str, Command)] = &[
            ("hello", Command::Say("hello".into())),
            ("::)", Command::Say(":)".into())),
            (":cr games", Command::Join("games".into())),
            (":mode", Command::Mode(None)),
            (
                ":mode +m-t",
                Command::Mode(Some(vec![("moderated", true), ("topic_lock", false)])),
            ),
            (
                ":devoice bob",
                Command::Voice {
                    name: "bob".into(),
                    on: false,
                },
            ),
            (
                ":unban troll*",
                Command::Ban {
                    mask: "troll*".into(),
                    on: false,
                },
            ),
            (":bans", Command::Bans(None)),
            (":CR  games ", Command::Join("games".into())),
            (":join games", Command::Join("games".into())),
            (":n cafe", Command::Create("cafe".into())),
            (
                ":erm lobby come  over",
                Command::ExtraRoom {
                    room: "lobby".into(),
                    text: "come  over".into(),
                },
            ),
            (
                ":msg bob psst",
                Command::Msg {
                    to: "bob".into(),
                    text: Some("psst".into()),
                },
            ),
            (
                ":dm bob",
                Command::Msg {
                    to: "bob".into(),
                    text: None,
                },
            ),
            (":me waves", Command::Me("waves".into())),
            (":topic", Command::Topic(None)),
            (
                ":topic chess at 8",
                Command::Topic(Some("chess at 8".into())),
            ),
            (":who *", Command::Who(Some("*".into()))),
            (":whois bob", Command::Whois("bob".into())),
            (":ls", Command::Rooms),
            (":history 30", Command::History(Some(30))),
            (":passwd", Command::Password { off: false }),
            (":passwd off", Command::Password { off: true }),
            (":unlock", Command::Password { off: true }),
            (
                ":kick bob spamming links",
                Command::Kick {
                    name: "bob".into(),
                    reason: Some("spamming links".into()),
                },
            ),
            (":part", Command::Part(None)),
            (":leave games", Command::Part(Some("games".into()))),
            (":q", Command::Quit),
            (":h", Command::Help),
        ];
        for (line, command) in cases {
            assert_eq!(parse(line).as_ref(), Ok(command), "{line}");
        }
    }

    #[test]
    fn irc_habits_are_understood() {
        let cases: &[(&str, Command)] = &[
            ("/join #games", Command::Join("games".into())),
            ("/JOIN games", Command::Join("games".into())),
            (":join #games", Command::Join("games".into())),
            (":cr #games", Command::Join("games".into())),
            (":n #cafe", Command::Create("cafe".into())),
            (":part #cafe", Command::Part(Some("cafe".into()))),
            (":who #cafe", Command::Who(Some("cafe".into()))),
            (
                "/erm #den hi",
                Command::ExtraRoom {
                    room: "den".into(),
                    text: "hi".into(),
                },
            ),
            ("/me waves", Command::Me("waves".into())),
            ("/quit", Command::Quit),
            // Escaped, and slashes before anything else, are chat.
            ("//join us", Command::Say("/join us".into())),
            ("/shrug", Command::Say("/shrug".into())),
            ("/usr/bin is full", Command::Say("/usr/bin is full".into())),
            ("// a comment", Command::Say("// a comment".into())),
            ("/", Command::Say("/".into())),
            // A lone # is no room name to strip down to nothing.
            (":join #", Command::Join("#".into())),
        ];
        for (line, command) in cases {
            assert_eq!(parse(line).as_ref(), Ok(command), "{line}");
        }
        assert_eq!(parse("/cr").unwrap_err(), "usage: :cr <room>");
        assert_eq!(parse("/whois bob"), Ok(Command::Whois("bob".into())));
        assert_eq!(parse("/whois").unwrap_err(), "usage: :whois <name>");
    }

    #[test]
    fn bad_lines_say_what_to_type() {
        assert_eq!(
            parse(":dance").unwrap_err(),
            "there is no command :dance; :help lists them"
        );
        assert_eq!(parse(":cr").unwrap_err(), "usage: :cr <room>");
        assert_eq!(parse(":cr a b").unwrap_err(), "usage: :cr <room>");
        assert_eq!(
            parse(":erm lobby").unwrap_err(),
            "usage: :erm <room> <message>"
        );
        assert_eq!(parse(":rooms now").unwrap_err(), "usage: :rooms");
        assert_eq!(
            parse(":history 900").unwrap_err(),
            "the count is a number from 1 to 200"
        );
    }

    #[test]
    fn every_command_offered_is_one_the_client_can_do() {
        for spec in commands() {
            let error = parse(&format!(":{} x y", spec.name))
                .err()
                .unwrap_or_default();
            assert!(!error.starts_with("the client cannot do"), "{error}");
        }
        // The text door's setting is not offered; the client's own are.
        assert!(parse(":set timestamps on").is_err());
        assert_eq!(parse(":members"), Ok(Command::Members));
        assert_eq!(parse(":j games"), Ok(Command::Join("games".into())));
    }

    #[test]
    fn every_command_and_alias_completes() {
        let names: Vec<String> = names().collect();
        assert!(names.contains(&":cr".to_owned()));
        assert!(names.contains(&":unlock".to_owned()));
        for name in &names {
            let line = format!("{name} x y");
            // Every name is known to the parser (a usage error at worst).
            assert!(
                !parse(&line)
                    .err()
                    .unwrap_or_default()
                    .starts_with("there is no command"),
                "{name}"
            );
        }
    }
}
