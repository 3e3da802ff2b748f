//! The colon-command parser: one client line in, a [`Line`] out.
//!
//! Parsing is pure and does no I/O, so every alias, missing argument and
//! spacing rule is covered by table-driven tests. The command set is the
//! declarative [`COMMANDS`] table, which `:help` renders as well.

/// A client line after parsing: chat text for the current room, or a command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Line<'a> {
    /// Chat for the current room. `::x` arrives here as `:x`.
    Chat(&'a str),
    /// A colon-command.
    Command(Command),
}

/// A parsed command. Names are not validated here; the server does that with
/// [`crate::names`] so errors can mention the state (taken, missing, ...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `:help [command]`: the command list, or one command in detail.
    Help(Option<String>),
    /// `:exit`: say goodbye and close the connection.
    Exit,
    /// `:cr <room>`: move to an existing room.
    ChangeRoom(String),
    /// `:new <room>`: create a room and move into it.
    NewRoom(String),
    /// `:erm <room> <message>`: send into another room without leaving.
    ExtraRoom {
        /// The room to send into.
        room: String,
        /// What to send.
        text: String,
    },
    /// `:rooms`: list the rooms.
    Rooms,
    /// `:who [room|*]`: the members of a room, or (`*`) everyone connected.
    Who(Option<String>),
    /// `:whois <name>`: one user in detail.
    Whois(String),
    /// `:msg <name> <message>`: a private message.
    Msg {
        /// The recipient's screen name.
        to: String,
        /// What to send.
        text: String,
    },
    /// `:nick <name>`: change one's screen name.
    Nick(String),
    /// `:me <action>`: an emote.
    Me(String),
    /// `:hostadd <name>`: make a member a host.
    HostAdd(String),
    /// `:hostrm <name>`: take a member's host rights.
    HostRemove(String),
    /// `:passwd` (set, asked for hidden) or `:passwd off` / `:unlock` (remove).
    Password {
        /// The password is to be removed rather than set.
        remove: bool,
    },
    /// `:kick <name> [reason]`: remove a member from the room.
    Kick {
        /// The member to remove.
        name: String,
        /// What to tell them and the room, if anything.
        reason: Option<String>,
    },
    /// `:topic [text]`: show the topic, or set it.
    Topic(Option<String>),
    /// `:invite <name>`: let someone into the locked room once.
    Invite(String),
    /// `:history [n]`; the count is checked by the server.
    History(Option<String>),
    /// `:close`: delete the room.
    Close,
    /// `:mode [+m|-m...]`: show the room's modes, or change them.
    Mode(Option<String>),
    /// `:voice <name>` (`on`) or `:devoice <name>`.
    Voice {
        /// The member.
        name: String,
        /// Give the voice, or take it.
        on: bool,
    },
    /// `:ban <mask>` (`on`) or `:unban <mask>`.
    Ban {
        /// The name pattern.
        mask: String,
        /// Ban, or lift the ban.
        on: bool,
    },
    /// `:bans [room]`: the room's bans.
    Bans(Option<String>),
    /// `:set <setting> <value>`: a setting of this connection only.
    Set(Setting),
    /// `:oper <name>`: become a server operator (the password is then asked
    /// for, hidden).
    Oper(String),
    /// `:kill <name> [reason]`: (operator) disconnect a user.
    Kill {
        /// The user to disconnect.
        name: String,
        /// Why, if anything.
        reason: Option<String>,
    },
    /// `:serverban <mask> [duration] [reason]`: (operator) ban a name pattern
    /// or an address from the server.
    ServerBan {
        /// The name pattern or address.
        mask: String,
        /// How long, in seconds (`None`: for good).
        duration_secs: Option<u64>,
        /// Why, if anything.
        reason: Option<String>,
    },
    /// `:serverunban <mask>`: (operator) lift a server ban.
    ServerUnban(String),
    /// `:serverbans`: (operator) the server bans in force.
    ServerBans,
    /// `:announce <text>`: (operator) a notice to everyone connected.
    Announce(String),
}

/// A per-connection setting, changed with `:set`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Setting {
    /// `:set timestamps on|off`: the time on live room and private messages.
    Timestamps(bool),
}

/// What went wrong parsing a command; the text is shown after `error: `.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// A lone `:`.
    #[error("empty command (type :h for help)")]
    Empty,
    /// A command word the table does not have (without its colon).
    #[error("unknown command :{0} (type :h for help)")]
    Unknown(String),
    /// A required argument is absent.
    #[error(":{typed} is missing {missing}; usage: {usage}")]
    MissingArgument {
        /// The command word as typed (an alias, perhaps), without its colon.
        typed: String,
        /// The absent argument as help shows it, e.g. `<room>`.
        missing: &'static str,
        /// The command's usage line.
        usage: String,
    },
    /// More words than the command takes.
    #[error(":{typed} takes {expected}; usage: {usage}")]
    TooManyArguments {
        /// The command word as typed, without its colon.
        typed: String,
        /// What it takes, in words.
        expected: &'static str,
        /// The command's usage line.
        usage: String,
    },
    /// The arguments are not one of the forms the command accepts.
    #[error(":{typed} takes {expected}; usage: {usage}")]
    BadArguments {
        /// The command word as typed, without its colon.
        typed: String,
        /// The forms it accepts, in words.
        expected: String,
        /// The command's usage line.
        usage: String,
    },
}

/// The arguments a command takes; the parser splits by this, and other
/// parsers of the same commands (the `banter` client, the web page) follow it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// No arguments.
    None,
    /// At most one word.
    OptionalWord,
    /// Exactly one word.
    Word,
    /// A word, then free text that keeps its own spacing.
    WordThenText,
    /// Free text, required.
    Text,
    /// Free text, or nothing.
    OptionalText,
    /// A word, then optional free text.
    WordThenOptionalText,
    /// The setting named by the first word of `args`, then `on` or `off`;
    /// both come out lowercase.
    Switch,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Help,
    Exit,
    ChangeRoom,
    NewRoom,
    ExtraRoom,
    Rooms,
    Who,
    Whois,
    Msg,
    Nick,
    Me,
    HostAdd,
    HostRemove,
    Password,
    Unlock,
    Kick,
    Topic,
    Invite,
    History,
    Close,
    Mode,
    Voice,
    Devoice,
    Ban,
    Unban,
    Bans,
    Set,
    Oper,
    Kill,
    ServerBan,
    ServerUnban,
    ServerBans,
    Announce,
}

/// One row of the command table.
#[derive(Debug, PartialEq, Eq)]
pub struct CommandSpec {
    /// The command's main word, without its colon.
    pub name: &'static str,
    /// Other words that run it, without their colons.
    pub aliases: &'static [&'static str],
    /// Arguments as shown in help, e.g. `<room> <message>`.
    pub args: &'static str,
    /// What it does, in one line of the command list.
    pub summary: &'static str,
    /// More about it, shown by `:help <command>`.
    pub detail: &'static str,
    /// Usable before a screen name is chosen.
    pub before_name: bool,
    shape: Shape,
    kind: Kind,
}

impl CommandSpec {
    /// `:name args`, as typed.
    pub fn usage(&self) -> String {
        if self.args.is_empty() {
            format!(":{}", self.name)
        } else {
            format!(":{} {}", self.name, self.args)
        }
    }

    fn names(&self) -> impl Iterator<Item = &'static str> {
        std::iter::once(self.name).chain(self.aliases.iter().copied())
    }

    /// The arguments it takes.
    pub fn shape(&self) -> Shape {
        self.shape
    }

    /// Finds a command by name or alias, ignoring case.
    pub fn find(word: &str) -> Option<&'static CommandSpec> {
        COMMANDS
            .iter()
            .find(|spec| spec.names().any(|n| n.eq_ignore_ascii_case(word)))
    }
}

/// Every command, in the order `:help` lists them.
pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec {
        name: "help",
        aliases: &["h"],
        args: "[command]",
        summary: "list the commands, or explain one",
        detail: "With no argument, lists every command; :help cr explains one command.",
        before_name: true,
        shape: Shape::OptionalWord,
        kind: Kind::Help,
    },
    CommandSpec {
        name: "exit",
        aliases: &["e", "quit", "q"],
        args: "",
        summary: "leave the chat and close the connection",
        detail: "Says goodbye, tells your room you left and closes the connection.",
        before_name: true,
        shape: Shape::None,
        kind: Kind::Exit,
    },
    CommandSpec {
        name: "change-room",
        aliases: &["cr", "changeroom", "change_room"],
        args: "<room>",
        summary: "move to an existing room",
        detail: "Moves you to a room that exists (see :rooms). To make a new one, use :new <room>.",
        before_name: false,
        shape: Shape::Word,
        kind: Kind::ChangeRoom,
    },
    CommandSpec {
        name: "new",
        aliases: &["n", "nr"],
        args: "<room>",
        summary: "create a room and move into it",
        detail: "Creates a room and moves you into it. Room names: 1-32 letters, digits, '_', '-', '.'.",
        before_name: false,
        shape: Shape::Word,
        kind: Kind::NewRoom,
    },
    CommandSpec {
        name: "erm",
        aliases: &["era"],
        args: "<room> <message>",
        summary: "send a message into another room without leaving yours",
        detail: "Every member of <room> sees your message, marked with your name and your room.",
        before_name: false,
        shape: Shape::WordThenText,
        kind: Kind::ExtraRoom,
    },
    CommandSpec {
        name: "rooms",
        aliases: &["ls", "list"],
        args: "",
        summary: "list the rooms and how many are in each",
        detail: "Lists every room with its member count; yours is marked '<- you are here', locked ones '[locked]'.",
        before_name: false,
        shape: Shape::None,
        kind: Kind::Rooms,
    },
    CommandSpec {
        name: "who",
        aliases: &["users"],
        args: "[room]",
        summary: "list who is in your room, or in another",
        detail: "Lists the members of your room, or of the room you name; ':who *' lists everyone connected.",
        before_name: false,
        shape: Shape::OptionalWord,
        kind: Kind::Who,
    },
    CommandSpec {
        name: "whois",
        aliases: &[],
        args: "<name>",
        summary: "who a user is: their rooms, away or not, server operator or not",
        detail: "Shows the rooms <name> is in (with host and voice; a secret room only if you are in it too), their away message and whether they are a server operator. Server operators also see their address.",
        before_name: false,
        shape: Shape::Word,
        kind: Kind::Whois,
    },
    CommandSpec {
        name: "msg",
        aliases: &["dm", "w"],
        args: "<name> <message>",
        summary: "send a private message to one user",
        detail: "Only <name> sees the message, whichever room they are in.",
        before_name: false,
        shape: Shape::WordThenText,
        kind: Kind::Msg,
    },
    CommandSpec {
        name: "nick",
        aliases: &[],
        args: "<name>",
        summary: "change your screen name",
        detail: "Same rules as choosing a name: 1-24 letters, digits, '_' or '-', not taken. Your room sees the change.",
        before_name: false,
        shape: Shape::Word,
        kind: Kind::Nick,
    },
    CommandSpec {
        name: "me",
        aliases: &[],
        args: "<action>",
        summary: "act something out, shown as * name action",
        detail: "':me waves' shows '[room] * you waves' to your room.",
        before_name: false,
        shape: Shape::Text,
        kind: Kind::Me,
    },
    CommandSpec {
        name: "history",
        aliases: &[],
        args: "[n]",
        summary: "show the last n messages of your room (default 20, at most 200)",
        detail: "Times are UTC; the date is shown for messages from before today.",
        before_name: false,
        shape: Shape::OptionalWord,
        kind: Kind::History,
    },
    CommandSpec {
        name: "topic",
        aliases: &[],
        args: "[text]",
        summary: "show the room's topic; hosts set it with :topic <text>",
        detail: "Anyone may read the topic; a host sets it. People entering the room see it.",
        before_name: false,
        shape: Shape::OptionalText,
        kind: Kind::Topic,
    },
    CommandSpec {
        name: "hostadd",
        aliases: &[],
        args: "<name>",
        summary: "(host) make a member of this room a host",
        detail: "The creator of a room, or the first to enter an empty one, is its host. Hosts may add hosts.",
        before_name: false,
        shape: Shape::Word,
        kind: Kind::HostAdd,
    },
    CommandSpec {
        name: "hostrm",
        aliases: &[],
        args: "<name>",
        summary: "(host) take host rights away; your own name steps down",
        detail: "A room with members always keeps at least one host.",
        before_name: false,
        shape: Shape::Word,
        kind: Kind::HostRemove,
    },
    CommandSpec {
        name: "passwd",
        aliases: &[],
        args: "[off]",
        summary: "(host) set the room password (asked twice, hidden); :passwd off removes it",
        detail: "After :passwd the server asks for the new password twice; what you type is hidden. An empty answer cancels. Entering the room then needs the password.",
        before_name: false,
        shape: Shape::OptionalWord,
        kind: Kind::Password,
    },
    CommandSpec {
        name: "unlock",
        aliases: &[],
        args: "",
        summary: "(host) remove the room password, same as :passwd off",
        detail: "Anyone can enter the room again.",
        before_name: false,
        shape: Shape::None,
        kind: Kind::Unlock,
    },
    CommandSpec {
        name: "kick",
        aliases: &[],
        args: "<name> [reason]",
        summary: "(host) move a member to the default room",
        detail: "The member is told who kicked them and why. To come back they need the password, if there is one.",
        before_name: false,
        shape: Shape::WordThenOptionalText,
        kind: Kind::Kick,
    },
    CommandSpec {
        name: "invite",
        aliases: &[],
        args: "<name>",
        summary: "(host) let one user into this locked room once without the password",
        detail: "The user is told and can then :cr into the room without typing the password.",
        before_name: false,
        shape: Shape::Word,
        kind: Kind::Invite,
    },
    CommandSpec {
        name: "close",
        aliases: &[],
        args: "",
        summary: "(host) delete this room and its history; everyone moves to the default room",
        detail: "Everyone still in the room is moved to the default room and told. The room's history is deleted with it.",
        before_name: false,
        shape: Shape::None,
        kind: Kind::Close,
    },
    CommandSpec {
        name: "mode",
        aliases: &["modes"],
        args: "[+m|-m|+i|-i|+s|-s|+t|-t|+n|-n]",
        summary: "show the room's modes; hosts change them with :mode +m, :mode -t ...",
        detail: "m: only hosts and voiced members speak. i: entering needs an invitation. s: secret, unlisted to outsiders. t: only hosts set the topic. n: no messages from outside except :erm. Several at once: :mode +mi-s. New rooms are +nt.",
        before_name: false,
        shape: Shape::OptionalWord,
        kind: Kind::Mode,
    },
    CommandSpec {
        name: "voice",
        aliases: &[],
        args: "<name>",
        summary: "(host) let a member speak while the room is moderated (+m)",
        detail: "Hosts always speak; a voiced member speaks in a moderated room too. :devoice takes it back.",
        before_name: false,
        shape: Shape::Word,
        kind: Kind::Voice,
    },
    CommandSpec {
        name: "devoice",
        aliases: &[],
        args: "<name>",
        summary: "(host) take a member's voice",
        detail: "In a moderated room they can then no longer speak.",
        before_name: false,
        shape: Shape::Word,
        kind: Kind::Devoice,
    },
    CommandSpec {
        name: "ban",
        aliases: &[],
        args: "<mask>",
        summary: "(host) ban a name pattern (* and ? wildcards) from this room",
        detail: "Members it matches (other than hosts) are kicked, and nobody it matches can enter or send in. :ban troll* bans every name starting with troll, any case. A server operator may ban an address: :ban *!*@203.0.113.7 (or 203.0.113.*).",
        before_name: false,
        shape: Shape::Word,
        kind: Kind::Ban,
    },
    CommandSpec {
        name: "unban",
        aliases: &[],
        args: "<mask>",
        summary: "(host) lift a ban",
        detail: "Give the pattern as :bans lists it.",
        before_name: false,
        shape: Shape::Word,
        kind: Kind::Unban,
    },
    CommandSpec {
        name: "bans",
        aliases: &[],
        args: "[room]",
        summary: "(host) list the room's bans, who set each and when",
        detail: "Bans last until lifted, across restarts.",
        before_name: false,
        shape: Shape::OptionalWord,
        kind: Kind::Bans,
    },
    CommandSpec {
        name: "set",
        aliases: &[],
        args: "timestamps on|off",
        summary: "show the time on live messages, or not (this connection only)",
        detail: "With timestamps on, room and private messages show the time they were sent (UTC), as :history does. Off by default.",
        before_name: false,
        shape: Shape::Switch,
        kind: Kind::Set,
    },
    CommandSpec {
        name: "oper",
        aliases: &[],
        args: "<name>",
        summary: "become a server operator (the password is asked for, hidden)",
        detail: "Operators are named in the server's config file. The password is asked for on the next line and never shown; wrong ones count toward a lockout.",
        before_name: false,
        shape: Shape::Word,
        kind: Kind::Oper,
    },
    CommandSpec {
        name: "kill",
        aliases: &[],
        args: "<name> [reason]",
        summary: "(operator) disconnect a user",
        detail: "The user is told who disconnected them and why; their rooms see them quit with the reason.",
        before_name: false,
        shape: Shape::WordThenOptionalText,
        kind: Kind::Kill,
    },
    CommandSpec {
        name: "serverban",
        aliases: &["sban"],
        args: "<mask> [duration] [reason]",
        summary: "(operator) ban a name pattern or an address from the server",
        detail: "The mask is a name pattern (troll*, case-insensitive, * and ? as wildcards) or an address (203.0.113.7, 203.0.113.*). The duration is a number and a unit (30m, 12h, 7d; s, m, h, d, w); without one the ban lasts until lifted. Users it matches are disconnected, and it refuses them at login with the reason.",
        before_name: false,
        shape: Shape::WordThenOptionalText,
        kind: Kind::ServerBan,
    },
    CommandSpec {
        name: "serverunban",
        aliases: &["sunban"],
        args: "<mask>",
        summary: "(operator) lift a server ban",
        detail: "The mask is written as it was when the ban was set (:serverbans lists them).",
        before_name: false,
        shape: Shape::Word,
        kind: Kind::ServerUnban,
    },
    CommandSpec {
        name: "serverbans",
        aliases: &["sbans"],
        args: "",
        summary: "(operator) list the server bans in force",
        detail: "Each ban with who set it, why, and when it ends.",
        before_name: false,
        shape: Shape::None,
        kind: Kind::ServerBans,
    },
    CommandSpec {
        name: "announce",
        aliases: &["wallops"],
        args: "<text>",
        summary: "(operator) a notice to everyone connected",
        detail: "Everyone connected, on every door, sees it marked as a notice from you.",
        before_name: false,
        shape: Shape::Text,
        kind: Kind::Announce,
    },
];

/// A duration as `:serverban` and the JSON door's doors take it: a number
/// and a unit (`90s`, `30m`, `12h`, `7d`, `2w`), in seconds; `None` for
/// anything else.
pub fn parse_duration(text: &str) -> Option<u64> {
    let unit = text.chars().last()?;
    let scale: u64 = match unit.to_ascii_lowercase() {
        's' => 1,
        'm' => 60,
        'h' => 3600,
        'd' => 86_400,
        'w' => 604_800,
        _ => return None,
    };
    let number = &text[..text.len() - 1];
    if number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    number
        .parse::<u64>()
        .ok()?
        .checked_mul(scale)
        .filter(|&secs| secs > 0)
}

/// Parses one client line (already stripped of its line ending).
pub fn parse(line: &str) -> Result<Line<'_>, ParseError> {
    let Some(body) = line.strip_prefix(':') else {
        return Ok(Line::Chat(line));
    };
    if body.starts_with(':') {
        return Ok(Line::Chat(body));
    }
    let body = body.trim_start();
    let (word, rest) = match body.find(char::is_whitespace) {
        Some(at) => (&body[..at], body[at..].trim_start()),
        None => (body, ""),
    };
    if word.is_empty() {
        return Err(ParseError::Empty);
    }
    let spec = CommandSpec::find(word).ok_or_else(|| ParseError::Unknown(word.to_owned()))?;
    let args = split_args(spec, word, rest)?;
    if spec.kind == Kind::Password
        && args
            .word
            .as_deref()
            .is_some_and(|w| !w.eq_ignore_ascii_case("off"))
    {
        // Never take a password on the visible command line.
        return Err(ParseError::TooManyArguments {
            typed: word.to_owned(),
            expected: "no argument (the password is then asked for, hidden) or 'off'",
            usage: spec.usage(),
        });
    }
    Ok(Line::Command(build(spec.kind, args)))
}

/// The arguments of one command, split by its [`Shape`].
struct Args {
    word: Option<String>,
    text: Option<String>,
}

fn split_args(spec: &CommandSpec, typed: &str, rest: &str) -> Result<Args, ParseError> {
    let missing = |what: &'static str| ParseError::MissingArgument {
        typed: typed.to_owned(),
        missing: what,
        usage: spec.usage(),
    };
    let too_many = |expected: &'static str| ParseError::TooManyArguments {
        typed: typed.to_owned(),
        expected,
        usage: spec.usage(),
    };
    let (first, after_first) = match rest.find(char::is_whitespace) {
        Some(at) => (&rest[..at], rest[at..].trim_start()),
        None => (rest, ""),
    };
    let first = (!first.is_empty()).then(|| first.to_owned());
    let word_arg = || spec.args.split_whitespace().next().unwrap_or("an argument");
    match spec.shape {
        Shape::None if rest.is_empty() => Ok(Args {
            word: None,
            text: None,
        }),
        Shape::None => Err(too_many("no arguments")),
        Shape::OptionalWord | Shape::Word if !after_first.is_empty() => {
            Err(too_many("a single word (names have no spaces)"))
        }
        Shape::OptionalWord => Ok(Args {
            word: first,
            text: None,
        }),
        Shape::Word => match first {
            Some(word) => Ok(Args {
                word: Some(word),
                text: None,
            }),
            None => Err(missing(word_arg())),
        },
        Shape::WordThenText => match first {
            None => Err(missing(word_arg())),
            Some(_) if after_first.trim().is_empty() => Err(missing(
                spec.args.split_whitespace().nth(1).unwrap_or("a message"),
            )),
            Some(word) => Ok(Args {
                word: Some(word),
                text: Some(after_first.to_owned()),
            }),
        },
        Shape::Text if rest.trim().is_empty() => Err(missing(word_arg())),
        Shape::Text | Shape::OptionalText => Ok(Args {
            word: None,
            text: (!rest.trim().is_empty()).then(|| rest.to_owned()),
        }),
        Shape::WordThenOptionalText => match first {
            None => Err(missing(word_arg())),
            Some(word) => Ok(Args {
                word: Some(word),
                text: (!after_first.trim().is_empty()).then(|| after_first.to_owned()),
            }),
        },
        Shape::Switch => {
            let setting = word_arg();
            let mut words = rest.split_whitespace();
            match (words.next(), words.next(), words.next()) {
                (Some(name), Some(value), None)
                    if name.eq_ignore_ascii_case(setting)
                        && ["on", "off"].iter().any(|v| value.eq_ignore_ascii_case(v)) =>
                {
                    Ok(Args {
                        word: Some(name.to_ascii_lowercase()),
                        text: Some(value.to_ascii_lowercase()),
                    })
                }
                _ => Err(ParseError::BadArguments {
                    typed: typed.to_owned(),
                    expected: format!("'{setting} on' or '{setting} off'"),
                    usage: spec.usage(),
                }),
            }
        }
    }
}

fn build(kind: Kind, args: Args) -> Command {
    // The shape checks in `split_args` guarantee the arguments each kind needs.
    let optional_text = args.text.clone();
    let word = args.word.unwrap_or_default();
    let text = args.text.unwrap_or_default();
    let optional = |word: String| (!word.is_empty()).then_some(word);
    match kind {
        Kind::Help => Command::Help(optional(word)),
        Kind::Exit => Command::Exit,
        Kind::ChangeRoom => Command::ChangeRoom(word),
        Kind::NewRoom => Command::NewRoom(word),
        Kind::ExtraRoom => Command::ExtraRoom { room: word, text },
        Kind::Rooms => Command::Rooms,
        Kind::Who => Command::Who(optional(word)),
        Kind::Whois => Command::Whois(word),
        Kind::Msg => Command::Msg { to: word, text },
        Kind::Nick => Command::Nick(word),
        Kind::Me => Command::Me(text),
        Kind::HostAdd => Command::HostAdd(word),
        Kind::HostRemove => Command::HostRemove(word),
        Kind::Password => Command::Password {
            remove: word.eq_ignore_ascii_case("off"),
        },
        Kind::Unlock => Command::Password { remove: true },
        Kind::Kick => Command::Kick {
            name: word,
            reason: optional_text,
        },
        Kind::Topic => Command::Topic(optional_text),
        Kind::Invite => Command::Invite(word),
        Kind::History => Command::History(optional(word)),
        Kind::Close => Command::Close,
        Kind::Mode => Command::Mode(optional(word)),
        Kind::Voice => Command::Voice {
            name: word,
            on: true,
        },
        Kind::Devoice => Command::Voice {
            name: word,
            on: false,
        },
        Kind::Ban => Command::Ban {
            mask: word,
            on: true,
        },
        Kind::Unban => Command::Ban {
            mask: word,
            on: false,
        },
        Kind::Bans => Command::Bans(optional(word)),
        // `timestamps` is the only setting (checked by `Shape::Switch`).
        Kind::Set => Command::Set(Setting::Timestamps(text == "on")),
        Kind::Oper => Command::Oper(word),
        Kind::Kill => Command::Kill {
            name: word,
            reason: optional_text,
        },
        Kind::ServerBan => {
            // A first word that reads as a duration is one; the rest is the reason.
            let rest = optional_text.unwrap_or_default();
            let (first, after) = match rest.find(char::is_whitespace) {
                Some(at) => (&rest[..at], rest[at..].trim_start()),
                None => (rest.as_str(), ""),
            };
            let (duration_secs, reason) = match parse_duration(first) {
                Some(secs) => (Some(secs), after),
                None => (None, rest.as_str()),
            };
            Command::ServerBan {
                mask: word,
                duration_secs,
                reason: (!reason.trim().is_empty()).then(|| reason.to_owned()),
            }
        }
        Kind::ServerUnban => Command::ServerUnban(word),
        Kind::ServerBans => Command::ServerBans,
        Kind::Announce => Command::Announce(text),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmd(line: &str) -> Command {
        match parse(line) {
            Ok(Line::Command(c)) => c,
            other => panic!("{line:?} parsed as {other:?}"),
        }
    }

    #[test]
    fn operator_commands_parse_and_a_ban_reads_its_duration() {
        assert_eq!(cmd(":oper root"), Command::Oper("root".into()));
        assert_eq!(
            cmd(":kill bob flooding the lobby"),
            Command::Kill {
                name: "bob".into(),
                reason: Some("flooding the lobby".into())
            }
        );
        assert_eq!(
            cmd(":sban troll* 2h go away"),
            Command::ServerBan {
                mask: "troll*".into(),
                duration_secs: Some(7200),
                reason: Some("go away".into())
            }
        );
        assert_eq!(
            cmd(":serverban 203.0.113.7 2 trolls"),
            Command::ServerBan {
                mask: "203.0.113.7".into(),
                duration_secs: None,
                reason: Some("2 trolls".into())
            }
        );
        assert_eq!(cmd(":sunban troll*"), Command::ServerUnban("troll*".into()));
        assert_eq!(cmd(":serverbans"), Command::ServerBans);
        assert_eq!(cmd(":wallops hi all"), Command::Announce("hi all".into()));
        assert_eq!(parse_duration("30m"), Some(1800));
        assert_eq!(parse_duration("1W"), Some(604_800));
        assert_eq!(parse_duration("0h"), None);
        assert_eq!(parse_duration("h"), None);
        assert_eq!(parse_duration("-1h"), None);
        assert_eq!(parse_duration("99999999999999999999d"), None);
        // The password is never typed on the command line.
        assert!(parse(":oper root secret").is_err());
    }

    #[test]
    fn plain_text_is_chat() {
        assert_eq!(parse("hello there").unwrap(), Line::Chat("hello there"));
        assert_eq!(parse("").unwrap(), Line::Chat(""));
        assert_eq!(parse(" :h").unwrap(), Line::Chat(" :h"));
    }

    #[test]
    fn double_colon_sends_one_colon() {
        assert_eq!(parse("::)").unwrap(), Line::Chat(":)"));
        assert_eq!(parse("::h").unwrap(), Line::Chat(":h"));
    }

    #[test]
    fn every_alias_reaches_its_command() {
        let table: &[(&str, Command)] = &[
            (":help", Command::Help(None)),
            (":h", Command::Help(None)),
            (":h cr", Command::Help(Some("cr".into()))),
            (":exit", Command::Exit),
            (":e", Command::Exit),
            (":quit", Command::Exit),
            (":q", Command::Exit),
            (":change-room x", Command::ChangeRoom("x".into())),
            (":cr x", Command::ChangeRoom("x".into())),
            (":changeroom x", Command::ChangeRoom("x".into())),
            (":change_room x", Command::ChangeRoom("x".into())),
            (":new x", Command::NewRoom("x".into())),
            (":n x", Command::NewRoom("x".into())),
            (":nr x", Command::NewRoom("x".into())),
            (":rooms", Command::Rooms),
            (":ls", Command::Rooms),
            (":list", Command::Rooms),
            (":who", Command::Who(None)),
            (":users", Command::Who(None)),
            (":who r", Command::Who(Some("r".into()))),
            (":whois Bob", Command::Whois("Bob".into())),
            (":nick bob", Command::Nick("bob".into())),
            (":me waves", Command::Me("waves".into())),
            (":mode", Command::Mode(None)),
            (":modes +mi", Command::Mode(Some("+mi".into()))),
            (
                ":voice bob",
                Command::Voice {
                    name: "bob".into(),
                    on: true,
                },
            ),
            (
                ":devoice bob",
                Command::Voice {
                    name: "bob".into(),
                    on: false,
                },
            ),
            (
                ":ban troll*",
                Command::Ban {
                    mask: "troll*".into(),
                    on: true,
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
            (":bans games", Command::Bans(Some("games".into()))),
        ];
        for (line, want) in table {
            assert_eq!(&cmd(line), want, "{line}");
        }
        for alias in [":erm", ":era"] {
            assert_eq!(
                cmd(&format!("{alias} r hi")),
                Command::ExtraRoom {
                    room: "r".into(),
                    text: "hi".into()
                }
            );
        }
        for alias in [":msg", ":dm", ":w"] {
            assert_eq!(
                cmd(&format!("{alias} bob hi")),
                Command::Msg {
                    to: "bob".into(),
                    text: "hi".into()
                }
            );
        }
    }

    #[test]
    fn host_commands_parse() {
        assert_eq!(cmd(":hostadd bob"), Command::HostAdd("bob".into()));
        assert_eq!(cmd(":hostrm bob"), Command::HostRemove("bob".into()));
        assert_eq!(cmd(":passwd"), Command::Password { remove: false });
        assert_eq!(cmd(":passwd OFF"), Command::Password { remove: true });
        assert_eq!(cmd(":unlock"), Command::Password { remove: true });
        assert_eq!(
            cmd(":kick bob"),
            Command::Kick {
                name: "bob".into(),
                reason: None
            }
        );
        assert_eq!(
            cmd(":kick bob  too  loud "),
            Command::Kick {
                name: "bob".into(),
                reason: Some("too  loud ".into())
            }
        );
        assert_eq!(cmd(":topic"), Command::Topic(None));
        assert_eq!(cmd(":topic   "), Command::Topic(None));
        assert_eq!(
            cmd(":topic chess  tonight"),
            Command::Topic(Some("chess  tonight".into()))
        );
        assert_eq!(cmd(":invite bob"), Command::Invite("bob".into()));
        assert_eq!(cmd(":close"), Command::Close);
        assert_eq!(cmd(":history"), Command::History(None));
        assert_eq!(cmd(":history 50"), Command::History(Some("50".into())));
        assert!(matches!(
            parse(":kick"),
            Err(ParseError::MissingArgument { .. })
        ));
        assert!(matches!(
            parse(":hostadd"),
            Err(ParseError::MissingArgument { .. })
        ));
        assert!(matches!(
            parse(":passwd a b"),
            Err(ParseError::TooManyArguments { .. })
        ));
        assert_eq!(
            parse(":passwd hunter2").unwrap_err().to_string(),
            ":passwd takes no argument (the password is then asked for, hidden) or 'off'; usage: :passwd [off]"
        );
    }

    #[test]
    fn command_names_ignore_case() {
        assert_eq!(cmd(":CR Lobby"), Command::ChangeRoom("Lobby".into()));
        assert_eq!(cmd(":Help"), Command::Help(None));
    }

    #[test]
    fn missing_arguments_are_errors_that_show_usage() {
        let err = parse(":cr").unwrap_err();
        assert_eq!(
            err.to_string(),
            ":cr is missing <room>; usage: :change-room <room>"
        );
        assert!(matches!(
            parse(":cr   "),
            Err(ParseError::MissingArgument { .. })
        ));
        assert!(matches!(
            parse(":n"),
            Err(ParseError::MissingArgument { .. })
        ));
        let err = parse(":erm lobby").unwrap_err();
        assert_eq!(
            err.to_string(),
            ":erm is missing <message>; usage: :erm <room> <message>"
        );
        assert!(matches!(
            parse(":erm"),
            Err(ParseError::MissingArgument {
                missing: "<room>",
                ..
            })
        ));
        assert!(matches!(
            parse(":msg bob   "),
            Err(ParseError::MissingArgument { .. })
        ));
        assert!(matches!(
            parse(":me"),
            Err(ParseError::MissingArgument { .. })
        ));
        assert!(matches!(
            parse(":nick"),
            Err(ParseError::MissingArgument { .. })
        ));
        assert_eq!(
            parse(":whois").unwrap_err().to_string(),
            ":whois is missing <name>; usage: :whois <name>"
        );
        assert!(matches!(
            parse(":whois bob carol"),
            Err(ParseError::TooManyArguments { .. })
        ));
    }

    #[test]
    fn extra_arguments_are_errors() {
        assert!(matches!(
            parse(":rooms now"),
            Err(ParseError::TooManyArguments { .. })
        ));
        assert!(matches!(
            parse(":cr a b"),
            Err(ParseError::TooManyArguments { .. })
        ));
        assert!(matches!(
            parse(":exit please"),
            Err(ParseError::TooManyArguments { .. })
        ));
    }

    #[test]
    fn extra_spaces_between_words_are_ignored() {
        assert_eq!(cmd(":cr    games  "), Command::ChangeRoom("games".into()));
        assert_eq!(cmd(":  cr games"), Command::ChangeRoom("games".into()));
        assert_eq!(cmd(":cr\tgames"), Command::ChangeRoom("games".into()));
    }

    #[test]
    fn message_arguments_keep_their_own_spacing() {
        assert_eq!(
            cmd(":msg bob   two  spaces  here "),
            Command::Msg {
                to: "bob".into(),
                text: "two  spaces  here ".into()
            }
        );
        assert_eq!(
            cmd(":me  does   a  dance"),
            Command::Me("does   a  dance".into())
        );
    }

    #[test]
    fn unknown_and_empty_commands_are_errors() {
        assert_eq!(
            parse(":frobnicate").unwrap_err().to_string(),
            "unknown command :frobnicate (type :h for help)"
        );
        assert_eq!(parse(":").unwrap_err(), ParseError::Empty);
        assert_eq!(parse(":   ").unwrap_err(), ParseError::Empty);
    }

    #[test]
    fn unicode_arguments_pass_through() {
        assert_eq!(
            cmd(":msg bob héllo wörld ✓"),
            Command::Msg {
                to: "bob".into(),
                text: "héllo wörld ✓".into()
            }
        );
        assert_eq!(cmd(":cr ☃"), Command::ChangeRoom("☃".into()));
        // A non-ASCII whitespace separates words too.
        assert_eq!(cmd(":cr\u{3000}games"), Command::ChangeRoom("games".into()));
        assert!(matches!(parse(":ñ"), Err(ParseError::Unknown(_))));
    }

    #[test]
    fn set_turns_timestamps_on_and_off() {
        assert_eq!(
            cmd(":set timestamps on"),
            Command::Set(Setting::Timestamps(true))
        );
        assert_eq!(
            cmd(":SET  Timestamps   OFF "),
            Command::Set(Setting::Timestamps(false))
        );
        for bad in [
            ":set",
            ":set   ",
            ":set timestamps",
            ":set timestamps maybe",
            ":set timestamps on now",
            ":set colours on",
            ":set on",
        ] {
            assert_eq!(
                parse(bad).unwrap_err().to_string(),
                ":set takes 'timestamps on' or 'timestamps off'; usage: :set timestamps on|off",
                "{bad}"
            );
        }
    }

    #[test]
    fn no_help_text_shows_markdown_backticks() {
        for spec in COMMANDS {
            for text in [spec.name, spec.args, spec.summary, spec.detail]
                .into_iter()
                .chain(spec.aliases.iter().copied())
            {
                assert!(!text.contains('`'), ":{}: {text:?}", spec.name);
            }
        }
    }

    #[test]
    fn every_command_has_unique_names() {
        let mut seen = std::collections::HashSet::new();
        for spec in COMMANDS {
            for name in spec.names() {
                assert!(seen.insert(name), "{name} appears twice");
            }
        }
    }
}
