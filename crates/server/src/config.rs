//! Every setting of `banterd`, from flags, `BANTER_*` environment variables
//! and a TOML file, in that order of precedence.
//!
//! Each limit is a named field with its default and the reason for it in the
//! `--help` text, so scripts and benchmarks can rely on the flag names.

use std::ffi::OsString;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use clap::{CommandFactory, Parser};

/// A listen address, or `off`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OptionalAddr(pub Option<SocketAddr>);

impl std::str::FromStr for OptionalAddr {
    type Err = std::net::AddrParseError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if text.eq_ignore_ascii_case("off") {
            return Ok(Self(None));
        }
        text.parse().map(|addr| Self(Some(addr)))
    }
}

/// `on` or `off`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Switch {
    On,
    Off,
}

/// banterd: a line-based chat server for nc, telnet and friends.
#[derive(Debug, Clone, Parser)]
#[command(name = "banterd", version, about, args_override_self = true)]
pub struct Config {
    /// Address to listen on; use 0.0.0.0:8080 to accept connections from the LAN,
    /// and port 0 to let the system choose (the log line "text door listening on" tells which).
    #[arg(long, env = "BANTER_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,

    /// Address of the HTTP listener, which serves the JSON door over WebSocket at /ws;
    /// `off` disables it. Port 0 lets the system choose (logged as "http listening on").
    #[arg(long, env = "BANTER_HTTP_LISTEN", default_value = "127.0.0.1:8081")]
    pub http_listen: OptionalAddr,

    /// Whether the HTTP listener serves HTTPS and WSS when a certificate is configured
    /// (`--tls-cert` or `--tls-self-signed`); `off` behind a reverse proxy that ends TLS.
    #[arg(long, env = "BANTER_HTTP_TLS", default_value = "on")]
    pub http_tls: Switch,

    /// Address of the text door over TLS (e.g. 0.0.0.0:8443), for `openssl s_client`,
    /// `ncat --ssl` or `socat`; `off` by default. Needs a certificate (`--tls-cert` and
    /// `--tls-key`, or `--tls-self-signed`).
    #[arg(long, env = "BANTER_TLS_LISTEN", default_value = "off")]
    pub tls_listen: OptionalAddr,

    /// PEM file of the TLS certificate chain (leaf first). Re-read on SIGHUP.
    #[arg(long, env = "BANTER_TLS_CERT")]
    pub tls_cert: Option<PathBuf>,

    /// PEM file of the certificate's private key (PKCS#8, RSA or EC). Re-read on SIGHUP.
    #[arg(long, env = "BANTER_TLS_KEY")]
    pub tls_key: Option<PathBuf>,

    /// Make a self-signed certificate for localhost and the listen addresses (kept in the
    /// data directory, its SHA-256 fingerprint logged) instead of `--tls-cert`/`--tls-key`.
    #[arg(long, env = "BANTER_TLS_SELF_SIGNED")]
    pub tls_self_signed: bool,

    /// Seconds a TLS client has to complete its handshake before it is dropped.
    #[arg(long, env = "BANTER_TLS_HANDSHAKE_TIMEOUT", default_value_t = 10)]
    pub tls_handshake_timeout: u64,

    /// Address serving only /metrics, /healthz and /readyz; `off` serves them on the
    /// HTTP listener (`--http-listen`) instead.
    #[arg(long, env = "BANTER_METRICS_LISTEN", default_value = "off")]
    pub metrics_listen: OptionalAddr,

    /// Address of the IRC door, where irssi, weechat and other IRC clients connect;
    /// `off` disables it. Port 0 lets the system choose (logged as "irc listening on").
    #[arg(long, env = "BANTER_IRC_LISTEN", default_value = "127.0.0.1:6667")]
    pub irc_listen: OptionalAddr,

    /// Address of the IRC door over TLS (usually port 6697); `off` by default. Needs a
    /// certificate (`--tls-cert` and `--tls-key`, or `--tls-self-signed`).
    #[arg(long, env = "BANTER_IRC_TLS_LISTEN", default_value = "off")]
    pub irc_tls_listen: OptionalAddr,

    /// The IRC door's server name, in the prefix of its own lines and in its numerics
    /// (e.g. irc.example.org): letters, digits, '.' and '-'.
    #[arg(long, env = "BANTER_IRC_SERVER_NAME", default_value = "banter", value_parser = server_name)]
    pub irc_server_name: Arc<str>,

    /// Seconds an IRC client may be silent before it is sent a PING; one that still
    /// sends nothing for as long again is dropped.
    #[arg(long, env = "BANTER_IRC_PING_INTERVAL", default_value_t = 90)]
    pub irc_ping_interval: u64,

    /// Origins (e.g. `https://chat.example.org`) whose web pages may open a WebSocket;
    /// `*` allows any. Without this only pages served from the server's own host may, and
    /// clients that send no Origin (bots, terminal clients) always may.
    #[arg(long, env = "BANTER_HTTP_ALLOWED_ORIGINS", value_delimiter = ',')]
    pub http_allowed_origins: Vec<String>,

    /// Seconds a new HTTP connection has to send its first request head; past it the
    /// connection is closed (so trickled headers cannot hold a connection slot).
    #[arg(long, env = "BANTER_HTTP_HEADER_TIMEOUT", default_value_t = 10)]
    pub http_header_timeout: u64,

    /// Seconds a keep-alive HTTP connection may stay open after an answer without
    /// sending the whole head of its next request.
    #[arg(long, env = "BANTER_HTTP_IDLE_TIMEOUT", default_value_t = 30)]
    pub http_idle_timeout: u64,

    /// Largest WebSocket message (and frame) a client may send, in bytes.
    #[arg(long, env = "BANTER_WS_MAX_MESSAGE_BYTES", default_value_t = 16 * 1024)]
    pub ws_max_message_bytes: usize,

    /// Most rooms one user of a door with several rooms at once (WebSocket) may be in.
    #[arg(long, env = "BANTER_MAX_ROOMS_PER_USER", default_value_t = 50)]
    pub max_rooms_per_user: usize,

    /// The room everyone starts in. It has no hosts and cannot be locked.
    #[arg(long, env = "BANTER_DEFAULT_ROOM", default_value = "lobby")]
    pub default_room: String,

    /// Most simultaneous connections; past it a new one gets an error line and is closed.
    #[arg(long, env = "BANTER_MAX_CONNECTIONS", default_value_t = 10_000)]
    pub max_connections: usize,

    /// Most simultaneous connections from one IP address (0 = no limit).
    #[arg(long, env = "BANTER_MAX_CONNECTIONS_PER_IP", default_value_t = 0)]
    pub max_connections_per_ip: usize,

    /// Longest accepted line in bytes; longer lines are answered with an error and dropped
    /// as they are read, so memory never grows with a line.
    #[arg(long, env = "BANTER_MAX_LINE_BYTES", default_value_t = 4096)]
    pub max_line_bytes: usize,

    /// Lines per second one connection may send (0 = no rate limit).
    #[arg(long, env = "BANTER_RATE_LIMIT", default_value_t = 10)]
    pub rate_limit: u32,

    /// Lines a connection may send at once before the rate limit applies.
    #[arg(long, env = "BANTER_RATE_BURST", default_value_t = 20)]
    pub rate_burst: u32,

    /// Bytes per second one connection may send, whatever they are (lines, telnet
    /// negotiation, NULs, the discarded rest of an over-long line), with bursts of twice
    /// that. Past it the server stops reading the socket until the bytes are earned back
    /// (0 = no limit).
    #[arg(long, env = "BANTER_INPUT_BYTE_RATE", default_value_t = 64 * 1024)]
    pub input_byte_rate: u32,

    /// Lines sent over the rate limit, without a pause, before a flooding client is
    /// disconnected (0 = never disconnect, only slow it down).
    #[arg(long, env = "BANTER_FLOOD_DISCONNECT", default_value_t = 100)]
    pub flood_disconnect: u32,

    /// Bytes queued for one client before messages to it are dropped (it is told how many
    /// it missed). Bounds server memory per slow reader.
    #[arg(long, env = "BANTER_OUTBOX_BYTES", default_value_t = 64 * 1024)]
    pub outbox_bytes: usize,

    /// Most bytes waiting to be sent to one client, replies to its own requests included;
    /// a client that asks for more than this without reading it is disconnected.
    #[arg(long, env = "BANTER_MAX_OUTPUT_BYTES", default_value_t = 1024 * 1024)]
    pub max_output_bytes: usize,

    /// Seconds a new connection has to choose a screen name before it is closed.
    #[arg(long, env = "BANTER_REGISTRATION_TIMEOUT", default_value_t = 60)]
    pub registration_timeout: u64,

    /// Milliseconds a client's writer waits after each write before the next, so lines
    /// arriving meanwhile go out in one write: far fewer system calls under load, at most
    /// this much added delay for a line that follows another closely (0 = write at once).
    /// 8 KiB of queued output goes out without waiting for the window's end.
    #[arg(long, env = "BANTER_WRITE_COALESCE_MS", default_value_t = 6)]
    pub write_coalesce_ms: u64,

    /// Seconds a client's socket may accept nothing while output waits before the client
    /// is dropped.
    #[arg(long, env = "BANTER_WRITE_STALL_TIMEOUT", default_value_t = 30)]
    pub write_stall_timeout: u64,

    /// Seconds a connection must wait before trying a room's password again after three
    /// wrong answers within a minute.
    #[arg(long, env = "BANTER_PASSWORD_LOCKOUT", default_value_t = 30)]
    pub password_lockout: u64,

    /// Seconds a WebSocket session waits, after its connection ends without a quit, for
    /// its client to come back with the `welcome`'s resume token (0 = sessions end with
    /// their connections). Meanwhile the user stays in their rooms.
    #[arg(long, env = "BANTER_RESUME_GRACE", default_value_t = 120)]
    pub resume_grace: u64,

    /// Do not send the telnet probe (IAC DO TTYPE) at connect. Telnet clients then get
    /// the same hidden-input treatment as nc (the conceal attribute) instead of echo off.
    #[arg(long, env = "BANTER_NO_TELNET_PROBE")]
    pub no_telnet_probe: bool,

    /// Directory of the SQLite database (created at start; its path is logged). Only one
    /// banterd may use a data directory at a time.
    #[arg(
        long,
        global = true,
        env = "BANTER_DATA_DIR",
        default_value = "./banter-data"
    )]
    pub data_dir: PathBuf,

    /// Keep everything in memory: no disk at all, nothing survives a restart
    /// (for tests and throwaway servers).
    #[arg(long, env = "BANTER_IN_MEMORY")]
    pub in_memory: bool,

    /// Messages of a room shown when entering it.
    #[arg(long, env = "BANTER_HISTORY_ON_JOIN", default_value_t = 20)]
    pub history_on_join: usize,

    /// Messages a room keeps; older ones are pruned in the background.
    #[arg(long, env = "BANTER_HISTORY_MAX", default_value_t = 10_000)]
    pub history_max: usize,

    /// Also store private messages (`:msg`); by default they are never written to disk.
    #[arg(long, env = "BANTER_STORE_PRIVATE_MESSAGES")]
    pub store_private_messages: bool,

    /// Most rooms on the server; `:new` past it is refused.
    #[arg(long, env = "BANTER_MAX_ROOMS", default_value_t = 10_000)]
    pub max_rooms: usize,

    /// Rooms one IP address may make a minute, on every door together (0 = no limit).
    #[arg(long, env = "BANTER_MAX_NEW_ROOMS_PER_MINUTE", default_value_t = 10)]
    pub max_new_rooms_per_minute: u32,

    /// Run as one node of a cluster: share rooms, names and history with the other nodes
    /// through this NATS server with JetStream (e.g. nats://127.0.0.1:4222). Off: one node alone.
    #[arg(long, env = "BANTER_CLUSTER")]
    pub cluster: Option<String>,

    /// This node's name in a cluster, shown in logs (default: the host name).
    #[arg(long, env = "BANTER_NODE_NAME")]
    pub node_name: Option<String>,

    /// Copies JetStream keeps of the cluster's log and names (1-5), when the first node
    /// creates them; 3 with three NATS servers in production, so one may fail.
    #[arg(long, env = "BANTER_CLUSTER_REPLICAS", default_value_t = 1,
          value_parser = clap::value_parser!(u8).range(1..=5))]
    pub cluster_replicas: u8,

    /// Log level of banter's own crates (off, error, warn, info, debug, trace); other crates
    /// stay at warn unless named, as in `debug,tungstenite=trace`. RUST_LOG wins when set.
    #[arg(long, global = true, env = "BANTER_LOG_LEVEL", default_value = "info")]
    pub log_level: String,

    /// A TOML file of settings, with the flag names as keys (e.g. `max-connections = 500`).
    /// Flags and BANTER_* variables override it.
    #[arg(long, global = true, env = "BANTER_CONFIG")]
    pub config: Option<PathBuf>,

    /// Instead of serving, do this and exit.
    #[command(subcommand)]
    pub task: Option<Task>,

    /// The server operators, from the config file's `[[operator]]` tables
    /// (no flag: a password hash on a command line would be in `ps`).
    #[arg(skip)]
    pub operators: Vec<Operator>,
}

/// One `[[operator]]` of the config file: who may become a server operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operator {
    /// The name given to `:oper` / `OPER` (not a screen name).
    pub name: String,
    /// The Argon2id PHC string of their password (`banterd operator add`).
    pub hash: String,
}

impl Operator {
    /// Checks one `[[operator]]` table: a `name` of letters, digits, `_`, `-`
    /// and `.`, and a `hash` that is an Argon2id PHC string.
    fn from_toml(value: &toml::Value, file: &str) -> anyhow::Result<Self> {
        let table = value
            .as_table()
            .with_context(|| format!("in config file {file}: each [[operator]] must be a table"))?;
        for key in table.keys() {
            if key != "name" && key != "hash" {
                bail!("in config file {file}: unknown key \"{key}\" in [[operator]] (it takes name and hash)");
            }
        }
        let text = |key: &str| {
            table
                .get(key)
                .and_then(toml::Value::as_str)
                .with_context(|| {
                    format!("in config file {file}: [[operator]] needs \"{key}\", a string")
                })
        };
        let name = text("name")?;
        let fine = |c: char| c.is_ascii_alphanumeric() || "_-.".contains(c);
        if name.is_empty() || name.len() > 32 || !name.chars().all(fine) {
            bail!("in config file {file}: operator name {name:?} must be 1-32 letters, digits, '_', '-' and '.'");
        }
        let hash = text("hash")?;
        let parsed = password_hash::PasswordHash::new(hash).map_err(|err| {
            anyhow::anyhow!("in config file {file}: the hash of operator {name} is not a PHC string ({err}); make one with `banterd operator add {name}`")
        })?;
        if parsed.algorithm.as_str() != "argon2id" {
            bail!(
                "in config file {file}: the hash of operator {name} must be Argon2id, not {}",
                parsed.algorithm
            );
        }
        Ok(Self {
            name: name.to_owned(),
            hash: hash.to_owned(),
        })
    }

    /// The `[[operator]]` lines of the config file for `name` and `hash`.
    pub fn toml_lines(name: &str, hash: &str) -> String {
        format!("[[operator]]\nname = \"{name}\"\nhash = \"{hash}\"\n")
    }
}

/// One-off jobs of the `banterd` binary. `--data-dir`, `--config` and
/// `--log-level` may come before or after the job's name.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum Task {
    /// Write a consistent copy of the database in --data-dir to FILE (SQLite's
    /// VACUUM INTO) and exit; safe while a banterd serves from that directory.
    Backup {
        /// The new file; it must not exist yet.
        file: PathBuf,
    },
    /// Server operators: `banterd operator add NAME`.
    Operator {
        #[command(subcommand)]
        action: OperatorTask,
    },
}

/// What `banterd operator` does.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum OperatorTask {
    /// Ask for NAME's password twice without echo (from stdin, one line each, when it is
    /// not a terminal) and print the `[[operator]]` lines to paste into the config file;
    /// with --config, append them to that file instead.
    Add {
        /// The operator's name, as given to `:oper` or `OPER`.
        name: String,
    },
}

impl Config {
    /// Every setting at its default, as tests and embedders start from.
    pub fn defaults() -> Self {
        Self::parse_from(["banterd"])
    }

    /// Reads flags from `args`, the environment, and the `--config` file if named.
    pub fn load<I, T>(args: I) -> anyhow::Result<Self>
    where
        I: IntoIterator<Item = T>,
        T: Into<OsString> + Clone,
    {
        let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
        let first = Self::try_parse_from(&args).unwrap_or_else(|err| err.exit());
        let Some(path) = &first.config else {
            return first.checked();
        };
        let mut merged = vec![args.first().cloned().unwrap_or_else(|| "banterd".into())];
        let (file_args, operators) = file_args(path)?;
        merged.extend(file_args);
        merged.extend(args.into_iter().skip(1));
        let mut config = Self::try_parse_from(merged)
            .map_err(|err| anyhow::anyhow!("{}", err.render()))
            .with_context(|| format!("in config file {}", path.display()))?;
        config.operators = operators;
        config.checked()
    }

    /// Settings that make sense alone but not together.
    fn checked(self) -> anyhow::Result<Self> {
        for (flag, addr) in [
            ("--tls-listen", self.tls_listen),
            ("--irc-tls-listen", self.irc_tls_listen),
        ] {
            if addr.0.is_some() && !self.has_certificate() {
                bail!("{flag} needs a certificate: --tls-cert and --tls-key, or --tls-self-signed");
            }
        }
        if self.max_output_bytes < self.outbox_bytes {
            bail!(
                "--max-output-bytes ({}) must be at least --outbox-bytes ({})",
                self.max_output_bytes,
                self.outbox_bytes
            );
        }
        Ok(self)
    }

    pub fn registration_timeout(&self) -> Duration {
        Duration::from_secs(self.registration_timeout)
    }

    pub fn password_lockout(&self) -> Duration {
        Duration::from_secs(self.password_lockout)
    }

    pub fn resume_grace(&self) -> Duration {
        Duration::from_secs(self.resume_grace)
    }

    pub fn write_coalesce(&self) -> Duration {
        Duration::from_millis(self.write_coalesce_ms)
    }

    pub fn write_stall_timeout(&self) -> Duration {
        Duration::from_secs(self.write_stall_timeout)
    }

    pub fn tls_handshake_timeout(&self) -> Duration {
        Duration::from_secs(self.tls_handshake_timeout)
    }

    /// Whether a certificate is configured, so TLS listeners can serve.
    pub fn has_certificate(&self) -> bool {
        self.tls_self_signed || self.tls_cert.is_some()
    }

    pub fn irc_ping_interval(&self) -> Duration {
        Duration::from_secs(self.irc_ping_interval.max(1))
    }
}

/// An IRC server name: it goes into every line's prefix, so only a host name's
/// characters.
/// Shared (`Arc<str>`): every IRC connection signs its lines with it.
fn server_name(text: &str) -> Result<Arc<str>, String> {
    let fine = |c: char| c.is_ascii_alphanumeric() || c == '.' || c == '-';
    if text.is_empty() || text.len() > 63 || !text.chars().all(fine) {
        return Err("1-63 letters, digits, '.' and '-'".into());
    }
    Ok(text.into())
}

/// Turns a TOML file into flags that go before the command line's own, so the
/// command line wins; a key whose `BANTER_*` variable is set is skipped, so the
/// environment wins too. Every key is checked on its own first, so a mistake
/// names the file and the key (and the nearest real key for a misspelt one)
/// rather than a command line the user never typed.
/// The config file's settings as flags, and its `[[operator]]` tables.
fn file_args(path: &Path) -> anyhow::Result<(Vec<OsString>, Vec<Operator>)> {
    let file = path.display();
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read config file {file}"))?;
    let table: toml::Table =
        toml::from_str(&text).with_context(|| format!("config file {file} is not valid TOML"))?;
    let command = Config::command();
    let mut args = Vec::new();
    let mut operators: Vec<Operator> = Vec::new();
    for (key, value) in table {
        if key == "operator" {
            let list = value.as_array().with_context(|| {
                format!("in config file {file}: operators are [[operator]] tables")
            })?;
            for entry in list {
                let operator = Operator::from_toml(entry, &file.to_string())?;
                if operators
                    .iter()
                    .any(|o| o.name.eq_ignore_ascii_case(&operator.name))
                {
                    bail!(
                        "in config file {file}: operator {} is named twice",
                        operator.name
                    );
                }
                operators.push(operator);
            }
            continue;
        }
        let flag = key.replace('_', "-");
        let Some(arg) = command
            .get_arguments()
            .find(|arg| arg.get_long() == Some(flag.as_str()))
        else {
            bail!("{}", unknown_key(&key, path, &command));
        };
        if flag == "config" {
            bail!("in config file {file}: a config file cannot name another");
        }
        let env = format!("BANTER_{}", flag.to_uppercase().replace('-', "_"));
        if std::env::var_os(env).is_some() {
            continue;
        }
        let is_switch = matches!(arg.get_action(), clap::ArgAction::SetTrue);
        let value = match (value, is_switch) {
            (toml::Value::Boolean(true), true) => {
                args.push(format!("--{flag}").into());
                continue;
            }
            (toml::Value::Boolean(false), true) => continue,
            (other, true) => bail!(
                "in config file {file}: \"{key}\" must be true or false, not {}",
                other.type_str()
            ),
            (toml::Value::String(text), false) => text,
            (toml::Value::Integer(number), false) => number.to_string(),
            (toml::Value::Array(items), false) if items.is_empty() => continue,
            (toml::Value::Array(items), false) if arg.get_value_delimiter().is_some() => items
                .iter()
                .map(|item| item.as_str().map(str::to_owned))
                .collect::<Option<Vec<_>>>()
                .with_context(|| {
                    format!("in config file {file}: \"{key}\" must be a list of strings")
                })?
                .join(","),
            (other, false) => bail!(
                "in config file {file}: \"{key}\" must be {}, not {}",
                expected(arg),
                other.type_str()
            ),
        };
        let alone = ["banterd".to_owned(), format!("--{flag}"), value.clone()];
        if let Err(err) = Config::try_parse_from(alone) {
            if matches!(
                err.kind(),
                clap::error::ErrorKind::ValueValidation | clap::error::ErrorKind::InvalidValue
            ) {
                bail!(
                    "in config file {file}: \"{key}\" must be {}, not {value:?}",
                    expected(arg)
                );
            }
        }
        args.push(format!("--{flag}").into());
        args.push(value.into());
    }
    Ok((args, operators))
}

/// `unknown key "listn" in bad.toml; did you mean "listen"?`
fn unknown_key(key: &str, path: &Path, command: &clap::Command) -> String {
    let flag = key.replace('_', "-");
    let nearest = command
        .get_arguments()
        .filter_map(|arg| arg.get_long())
        .filter(|long| *long != "config" && *long != "help" && *long != "version")
        .map(|long| (strsim::jaro_winkler(&flag, long), long))
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .filter(|(similarity, _)| *similarity >= 0.8);
    let mut text = format!("unknown key \"{key}\" in {}", path.display());
    if let Some((_, long)) = nearest {
        text.push_str(&format!("; did you mean \"{long}\"?"));
    }
    text
}

/// What a setting's value must be, in words.
fn expected(arg: &clap::Arg) -> String {
    let parser = arg.get_value_parser();
    let is = |other: clap::builder::ValueParser| other.type_id() == parser.type_id();
    if is(clap::value_parser!(u64).into())
        || is(clap::value_parser!(u32).into())
        || is(clap::value_parser!(usize).into())
    {
        "a whole number (0 or more)".into()
    } else if is(clap::value_parser!(SocketAddr).into()) {
        "an address such as \"127.0.0.1:8080\"".into()
    } else if is(clap::value_parser!(OptionalAddr).into()) {
        "an address such as \"127.0.0.1:8081\", or \"off\"".into()
    } else if let Some(values) = parser.possible_values() {
        let names: Vec<String> = values
            .map(|value| format!("\"{}\"", value.get_name()))
            .collect();
        format!("one of {}", names.join(", "))
    } else if is(clap::value_parser!(PathBuf)) {
        "a path".into()
    } else {
        "a string".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_the_documented_values() {
        let config = Config::defaults();
        assert_eq!(config.listen, "127.0.0.1:8080".parse().unwrap());
        assert_eq!(config.default_room, "lobby");
        assert_eq!(config.max_connections, 10_000);
        assert_eq!(config.max_line_bytes, 4096);
        assert_eq!(config.input_byte_rate, 65_536);
        assert_eq!(
            config.http_listen,
            OptionalAddr(Some("127.0.0.1:8081".parse().unwrap()))
        );
        assert_eq!(
            config.irc_listen,
            OptionalAddr(Some("127.0.0.1:6667".parse().unwrap()))
        );
        assert_eq!(config.max_rooms_per_user, 50);
        assert_eq!(
            Config::load(["banterd", "--http-listen", "off"])
                .unwrap()
                .http_listen,
            OptionalAddr(None)
        );
        assert_eq!(config.registration_timeout, 60);
        assert_eq!(config.write_stall_timeout, 30);
    }

    #[test]
    fn config_file_sets_values_and_flags_override_it() {
        let dir = std::env::temp_dir().join(format!("banter-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("banter.toml");
        std::fs::write(
            &path,
            "max-connections = 5\ndefault_room = \"hall\"\nrate-limit = 3\n",
        )
        .unwrap();
        let path_arg = path.to_str().unwrap();
        let config = Config::load(["banterd", "--config", path_arg, "--rate-limit", "7"]).unwrap();
        assert_eq!(config.max_connections, 5);
        assert_eq!(config.default_room, "hall");
        assert_eq!(config.rate_limit, 7);

        std::fs::write(&path, "no-such-setting = 1\n").unwrap();
        let err = Config::load(["banterd", "--config", path_arg]).unwrap_err();
        assert!(format!("{err:#}").contains("no-such-setting"), "{err:#}");
    }

    fn load_error(path: &Path, text: &str) -> String {
        std::fs::write(path, text).unwrap();
        let path = path.to_str().unwrap();
        format!(
            "{:#}",
            Config::load(["banterd", "--config", path]).unwrap_err()
        )
    }

    #[test]
    fn config_file_mistakes_name_the_file_and_the_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad1.toml");
        let file = path.display().to_string();
        assert_eq!(
            load_error(&path, "listn = \"0.0.0.0:8080\"\n"),
            format!("unknown key \"listn\" in {file}; did you mean \"listen\"?")
        );
        assert_eq!(
            load_error(&path, "max_conections = 5\n"),
            format!("unknown key \"max_conections\" in {file}; did you mean \"max-connections\"?")
        );
        assert_eq!(
            load_error(&path, "max-connections = \"lots\"\n"),
            format!("in config file {file}: \"max-connections\" must be a whole number (0 or more), not \"lots\"")
        );
        assert_eq!(
            load_error(&path, "in-memory = 1\n"),
            format!("in config file {file}: \"in-memory\" must be true or false, not integer")
        );
        assert_eq!(
            load_error(&path, "http-tls = \"maybe\"\n"),
            format!(
                "in config file {file}: \"http-tls\" must be one of \"on\", \"off\", not \"maybe\""
            )
        );
        assert_eq!(
            load_error(&path, "listen = [1]\n"),
            format!("in config file {file}: \"listen\" must be an address such as \"127.0.0.1:8080\", not array")
        );
        assert!(load_error(&path, "listen = \n").contains("is not valid TOML"));
    }
}
