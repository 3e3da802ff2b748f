//! Settings: command-line flags over `banter/config.toml` in the XDG config
//! directory (`$XDG_CONFIG_HOME/banter/config.toml`, usually
//! `~/.config/banter/config.toml`) over built-in defaults.
//!
//! A flag beats the file, and the file beats the default; rooms given as
//! flags replace the file's list rather than adding to it, so a command line
//! says exactly where you will be.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use anyhow::{bail, Context};
use clap::Parser;
use ratatui::style::Color;
use serde::Deserialize;

/// The server when neither a flag nor the file names one.
pub const DEFAULT_SERVER: &str = "ws://127.0.0.1:8081/ws";

/// The nick colours when the file names none: readable on dark and light
/// terminals alike.
const DEFAULT_NICK_COLORS: [Color; 10] = [
    Color::Red,
    Color::Green,
    Color::Yellow,
    Color::Blue,
    Color::Magenta,
    Color::Cyan,
    Color::LightRed,
    Color::LightGreen,
    Color::LightBlue,
    Color::LightMagenta,
];

const ABOUT: &str = "banter, the terminal client for banter chat rooms.

Keys: Enter sends; Alt-1..9, Ctrl-N/Ctrl-P switch rooms; Alt-A goes to the next \
with unread lines; PgUp/PgDn and the \
mouse wheel scroll (past the top loads older history); Tab completes nicks, \
commands and rooms; Up/Down browse input history; F2 shows or hides the member \
list; Ctrl-L redraws; Ctrl-C quits. Commands start with ':' (:help lists them): :cr ROOM, \
:n ROOM, :part, :msg NAME TEXT, :me, :nick, :topic, :who, :rooms, :history, \
:passwd, :kick, :invite, :close, :quit.";

const AFTER: &str = "CONFIG FILE (banter/config.toml in the XDG config directory; flags win):
  server = \"ws://127.0.0.1:8081/ws\"
  name = \"alice\"
  rooms = [\"lobby\", \"games\"]
  ca = \"/path/to/server-cert.pem\"   # trust this certificate for wss://
  bell = true                       # ring on a mention or a private message
  mouse = true                      # the wheel scrolls (the terminal's own selection needs Shift)
  member_list = true                # show the member list at start
  [colors]
  nicks = [\"red\", \"green\", \"#ff8800\"]
  accent = \"cyan\"
  own = \"gray\"                     # your own lines
  mention = \"light-yellow\"         # lines that mention you

NO_COLOR (set and not empty) turns every colour off.";

/// The command line.
#[derive(Debug, Parser, Default)]
#[command(name = "banter", version, about = ABOUT, after_help = AFTER)]
pub struct Flags {
    /// The server's WebSocket URL (ws:// or wss://) [default: ws://127.0.0.1:8081/ws]
    pub url: Option<String>,
    /// Your screen name (1-24 letters, digits, '_' or '-') [default: $USER]
    #[arg(long, short)]
    pub name: Option<String>,
    /// A room to join at start; repeat for more (replaces the file's list)
    #[arg(long = "room", short, value_name = "ROOM")]
    pub rooms: Vec<String>,
    /// A PEM certificate to trust for wss:// (a self-signed server's)
    #[arg(long, value_name = "FILE")]
    pub ca: Option<PathBuf>,
    /// Read this config file instead of the XDG one
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// No terminal bell on mentions and private messages
    #[arg(long)]
    pub no_bell: bool,
    /// Leave the mouse to the terminal (no wheel scrolling)
    #[arg(long)]
    pub no_mouse: bool,
}

/// `config.toml`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct File {
    server: Option<String>,
    name: Option<String>,
    rooms: Option<Vec<String>>,
    ca: Option<PathBuf>,
    bell: Option<bool>,
    mouse: Option<bool>,
    member_list: Option<bool>,
    #[serde(default)]
    colors: Colors,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Colors {
    nicks: Option<Vec<String>>,
    accent: Option<String>,
    own: Option<String>,
    mention: Option<String>,
}

/// Everything the client runs with.
#[derive(Debug, Clone)]
pub struct Settings {
    pub server: String,
    pub name: String,
    pub rooms: Vec<String>,
    pub ca: Option<PathBuf>,
    pub bell: bool,
    pub mouse: bool,
    pub member_list: bool,
    pub theme: Theme,
    /// Colours on: `NO_COLOR` (https://no-color.org) unset or empty.
    pub color: bool,
}

/// Colours the screen is drawn with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Theme {
    pub nicks: Vec<Color>,
    pub accent: Color,
    /// Your own lines.
    pub own: Color,
    /// Lines that mention you.
    pub mention: Color,
}

impl Default for Theme {
    fn default() -> Self {
        Self {
            nicks: DEFAULT_NICK_COLORS.to_vec(),
            accent: Color::Cyan,
            own: Color::Gray,
            mention: Color::LightYellow,
        }
    }
}

impl Settings {
    /// From the process's flags and config file.
    pub fn load() -> anyhow::Result<Self> {
        let flags = Flags::parse();
        let (path, required) = match &flags.config {
            Some(path) => (Some(path.clone()), true),
            None => (default_path(), false),
        };
        let file = match path {
            Some(path) if required || path.exists() => read_file(&path)?,
            _ => File::default(),
        };
        let mut settings = Self::merge(flags, file, std::env::var("USER").ok().as_deref())?;
        settings.color = std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
        Ok(settings)
    }

    /// Flags over the file over defaults; `user` is the login name, the
    /// default screen name.
    pub fn merge(flags: Flags, file: File, user: Option<&str>) -> anyhow::Result<Self> {
        let server = flags
            .url
            .or(file.server)
            .unwrap_or_else(|| DEFAULT_SERVER.to_owned());
        if !(server.starts_with("ws://") || server.starts_with("wss://")) {
            bail!("the server URL must start with ws:// or wss:// (got {server})");
        }
        let name = flags
            .name
            .or(file.name)
            .unwrap_or_else(|| default_name(user));
        let rooms = if flags.rooms.is_empty() {
            file.rooms.unwrap_or_default()
        } else {
            flags.rooms
        };
        let mut theme = Theme::default();
        if let Some(nicks) = file.colors.nicks {
            theme.nicks = nicks.iter().map(|n| color(n)).collect::<Result<_, _>>()?;
            if theme.nicks.is_empty() {
                bail!("colors.nicks needs at least one colour");
            }
        }
        if let Some(accent) = file.colors.accent {
            theme.accent = color(&accent)?;
        }
        if let Some(own) = file.colors.own {
            theme.own = color(&own)?;
        }
        if let Some(mention) = file.colors.mention {
            theme.mention = color(&mention)?;
        }
        Ok(Self {
            server,
            name,
            rooms,
            ca: flags.ca.or(file.ca),
            bell: !flags.no_bell && file.bell.unwrap_or(true),
            mouse: !flags.no_mouse && file.mouse.unwrap_or(true),
            member_list: file.member_list.unwrap_or(true),
            theme,
            color: true,
        })
    }
}

/// `banter/config.toml` in the XDG config directory.
pub fn default_path() -> Option<PathBuf> {
    directories::ProjectDirs::from("", "", "banter")
        .map(|dirs| dirs.config_dir().join("config.toml"))
}

pub fn read_file(path: &Path) -> anyhow::Result<File> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    toml::from_str(&text).with_context(|| format!("{} is not a valid config file", path.display()))
}

fn color(name: &str) -> anyhow::Result<Color> {
    Color::from_str(name).map_err(|_| {
        anyhow::anyhow!("{name:?} is not a colour (try red, light-blue, #ff8800 or 208)")
    })
}

/// The login name made into a valid screen name, or `guest`.
fn default_name(user: Option<&str>) -> String {
    let name: String = user
        .unwrap_or_default()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
        .take(24)
        .collect();
    if name.is_empty() {
        "guest".to_owned()
    } else {
        name
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flags(args: &[&str]) -> Flags {
        Flags::parse_from(std::iter::once("banter").chain(args.iter().copied()))
    }

    fn file(text: &str) -> File {
        toml::from_str(text).unwrap()
    }

    #[test]
    fn flags_beat_the_file_and_the_file_beats_defaults() {
        let from_file = file(
            r##"
            server = "wss://chat.example:8081/ws"
            name = "alice"
            rooms = ["lobby", "games"]
            bell = false
            member_list = false
            [colors]
            nicks = ["red", "#ff8800"]
            accent = "yellow"
            own = "white"
            "##,
        );
        let settings =
            Settings::merge(flags(&["--room", "cafe", "-n", "al"]), from_file, None).unwrap();
        assert_eq!(settings.server, "wss://chat.example:8081/ws");
        assert_eq!(settings.name, "al");
        assert_eq!(settings.rooms, ["cafe"]);
        assert!(!settings.bell && settings.mouse && !settings.member_list);
        assert_eq!(
            settings.theme.nicks,
            [Color::Red, Color::Rgb(0xff, 0x88, 0)]
        );
        assert_eq!(settings.theme.accent, Color::Yellow);
        assert_eq!(settings.theme.own, Color::White);
        assert_eq!(settings.theme.mention, Theme::default().mention);

        let settings = Settings::merge(
            flags(&["ws://h:1/ws", "--no-mouse"]),
            File::default(),
            Some("j.doe"),
        )
        .unwrap();
        assert_eq!(settings.server, "ws://h:1/ws");
        assert_eq!(settings.name, "jdoe");
        assert!(settings.rooms.is_empty() && settings.bell && !settings.mouse);
        assert_eq!(settings.theme, Theme::default());
    }

    #[test]
    fn mistakes_in_settings_are_reported() {
        assert!(Settings::merge(flags(&["http://h/ws"]), File::default(), None).is_err());
        assert!(toml::from_str::<File>("colour = 1").is_err());
        let bad = file("[colors]\nnicks = [\"plaid\"]");
        assert!(Settings::merge(flags(&[]), bad, None).is_err());
        assert_eq!(default_name(None), "guest");
        assert_eq!(default_name(Some("ø")), "guest");
    }
}
