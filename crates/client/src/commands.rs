//! Colon-commands: a typed line parsed into a [`Command`], before anything
//! is sent.
//!
//! The names and aliases are the text door's (`:cr`, `:n`, `:erm`, `:msg`,
//! ...) so people need learn nothing new, plus the client's own (`:part`,
//! `:quit`, `:members`). Parsing is pure and table-driven; what a command
//! does is the app's business ([`crate::app`]).

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
    /// Leave a room, or close a private conversation.
    Part(Option<String>),
    Members,
    Help,
    Quit,
}

/// How many words a command takes before its free text.
#[derive(Debug, Clone, Copy)]
enum Shape {
    /// No arguments.
    Bare,
    /// One required word.
    Word,
    /// One optional word.
    MaybeWord,
    /// Free text, required.
    Text,
    /// Free text, optional.
    MaybeText,
    /// A word, then required free text.
    WordText,
    /// A word, then optional free text.
    WordMaybeText,
}

/// One row of the command table.
pub struct Spec {
    pub name: &'static str,
    pub aliases: &'static [&'static str],
    pub usage: &'static str,
    pub help: &'static str,
    shape: Shape,
}

/// Every command, in the order `:help` lists them.
pub const COMMANDS: &[Spec] = &[
    spec(
        "cr",
        &["join", "change-room", "changeroom", "change_room", "j"],
        "<room>",
        "join a room, or switch to it",
        Shape::Word,
    ),
    spec(
        "n",
        &["new", "nr"],
        "<room>",
        "create a room and join it as its host",
        Shape::Word,
    ),
    spec(
        "part",
        &["leave"],
        "[room]",
        "leave a room (or close a private conversation)",
        Shape::MaybeWord,
    ),
    spec(
        "erm",
        &["era"],
        "<room> <message>",
        "say something in another room without going there",
        Shape::WordText,
    ),
    spec(
        "msg",
        &["dm", "w", "query"],
        "<name> [message]",
        "open a private conversation, and send",
        Shape::WordMaybeText,
    ),
    spec("me", &[], "<action>", "an emote", Shape::Text),
    spec("nick", &[], "<name>", "change your name", Shape::Word),
    spec(
        "topic",
        &[],
        "[text]",
        "show the topic; a host sets it",
        Shape::MaybeText,
    ),
    spec(
        "who",
        &["users"],
        "[room|*]",
        "the members of a room; * is everyone",
        Shape::MaybeWord,
    ),
    spec("rooms", &["ls", "list"], "", "every room", Shape::Bare),
    spec(
        "history",
        &[],
        "[n]",
        "fetch the last n messages again",
        Shape::MaybeWord,
    ),
    spec(
        "hostadd",
        &[],
        "<name>",
        "(host) make a member a host",
        Shape::Word,
    ),
    spec(
        "hostrm",
        &[],
        "<name>",
        "(host) take host rights away",
        Shape::Word,
    ),
    spec(
        "passwd",
        &[],
        "[off]",
        "(host) set the password, hidden, asked twice; off removes it",
        Shape::MaybeWord,
    ),
    spec("unlock", &[], "", "(host) remove the password", Shape::Bare),
    spec(
        "kick",
        &[],
        "<name> [reason]",
        "(host) remove a member",
        Shape::WordMaybeText,
    ),
    spec(
        "invite",
        &[],
        "<name>",
        "(host) let someone into this locked room once",
        Shape::Word,
    ),
    spec(
        "close",
        &[],
        "",
        "(host) delete this room and its history",
        Shape::Bare,
    ),
    spec(
        "members",
        &[],
        "",
        "show or hide the member list (also F2)",
        Shape::Bare,
    ),
    spec("help", &["h"], "", "keys and commands", Shape::Bare),
    spec("quit", &["q", "exit", "e"], "", "leave banter", Shape::Bare),
];

const fn spec(
    name: &'static str,
    aliases: &'static [&'static str],
    usage: &'static str,
    help: &'static str,
    shape: Shape,
) -> Spec {
    Spec {
        name,
        aliases,
        usage,
        help,
        shape,
    }
}

/// Every command name and alias with its colon, for Tab completion.
pub fn names() -> impl Iterator<Item = String> {
    COMMANDS.iter().flat_map(|spec| {
        std::iter::once(spec.name)
            .chain(spec.aliases.iter().copied())
            .map(|name| format!(":{name}"))
    })
}

/// Parses one line. `Err` is a sentence for the user.
pub fn parse(line: &str) -> Result<Command, String> {
    if let Some(escaped) = line.strip_prefix("::") {
        return Ok(Command::Say(format!(":{escaped}")));
    }
    let Some(rest) = line.strip_prefix(':') else {
        return Ok(Command::Say(line.to_owned()));
    };
    let (word, args) = rest.split_once(' ').unwrap_or((rest, ""));
    let word = word.to_lowercase();
    let spec = COMMANDS
        .iter()
        .find(|spec| spec.name == word || spec.aliases.contains(&word.as_str()))
        .ok_or_else(|| format!("there is no command :{word}; :help lists them"))?;
    let args = args.trim_start();
    let (first, text) = args.split_once(' ').unwrap_or((args, ""));
    let text = text.trim_start();
    let usage = || {
        format!("usage: :{} {}", spec.name, spec.usage)
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
        Shape::Bare if !args.trim().is_empty() => return Err(usage()),
        Shape::Bare => (None, None),
        Shape::Word => (Some(word_only(args)?.ok_or_else(usage)?), None),
        Shape::MaybeWord => (word_only(args)?, None),
        Shape::Text => (None, Some(some(args).ok_or_else(usage)?)),
        Shape::MaybeText => (None, some(args)),
        Shape::WordText => (
            Some(some(first).ok_or_else(usage)?),
            Some(some(text).ok_or_else(usage)?),
        ),
        Shape::WordMaybeText => (Some(some(first).ok_or_else(usage)?), some(text)),
    };
    let word = || word_arg.clone().unwrap_or_default();
    let text = || text_arg.clone().unwrap_or_default();
    Ok(match spec.name {
        "cr" => Command::Join(word()),
        "n" => Command::Create(word()),
        "part" => Command::Part(word_arg),
        "erm" => Command::ExtraRoom {
            room: word(),
            text: text(),
        },
        "msg" => Command::Msg {
            to: word(),
            text: text_arg,
        },
        "me" => Command::Me(text()),
        "nick" => Command::Nick(word()),
        "topic" => Command::Topic(text_arg),
        "who" => Command::Who(word_arg),
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
        "members" => Command::Members,
        "help" => Command::Help,
        "quit" => Command::Quit,
        other => unreachable!("command {other} is in the table but not parsed"),
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
