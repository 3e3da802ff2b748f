//! The log filter: `--log-level` (or `RUST_LOG`) sets the level of banter's own
//! crates; dependencies stay at `warn` unless the operator names them.
//!
//! A dependency's trace or debug output is not ours to vouch for: tungstenite
//! logs every WebSocket message it receives at trace, passwords included. So a
//! bare level (`debug`, `trace`) applies to [`OWN_CRATES`] only, and a
//! dependency logs below `warn` only through a directive that names it
//! (`--log-level debug,tungstenite=trace`).

use tracing_subscriber::filter::{LevelFilter, Targets};

/// The log targets of banter's own code: the server library, the shared
/// vocabulary and the binary.
pub const OWN_CRATES: [&str; 3] = ["banter_server", "banter_proto", "banterd"];

/// The level banter's own crates log at when the filter names no bare level.
const DEFAULT_LEVEL: LevelFilter = LevelFilter::INFO;

/// The most dependencies log without being named.
const DEPENDENCY_CEILING: LevelFilter = LevelFilter::WARN;

/// `RUST_LOG` when set, else `level` (the `--log-level` setting), as a filter
/// of `level` and `target=level` directives (no span or field filters).
pub fn filter(level: &str) -> Result<Targets, String> {
    let spec = std::env::var("RUST_LOG").unwrap_or_else(|_| level.to_owned());
    directives(&spec)?
        .parse()
        .map_err(|err| format!("{spec:?}: {err}"))
}

/// Rewrites a filter so that its bare levels apply to [`OWN_CRATES`] and
/// everything else logs at most at `warn` (less when the bare level is
/// quieter); directives naming a target (`tungstenite=trace`) are kept as they
/// are, after the rest, so the operator's own word wins. A word that is neither
/// a level nor a directive (`verbose`) is refused rather than read as a target.
pub fn directives(spec: &str) -> Result<String, String> {
    let mut own = DEFAULT_LEVEL;
    let mut named = Vec::new();
    for part in spec
        .split(',')
        .map(str::trim)
        .filter(|part| !part.is_empty())
    {
        match part.parse::<LevelFilter>() {
            Ok(level) => own = level,
            Err(_) if part.contains('=') => named.push(part),
            Err(_) => {
                return Err(format!(
                    "{part:?} is not a log level (off, error, warn, info, debug, trace) \
                     nor a directive such as tungstenite=trace"
                ))
            }
        }
    }
    let mut all = vec![own.min(DEPENDENCY_CEILING).to_string()];
    all.extend(OWN_CRATES.iter().map(|krate| format!("{krate}={own}")));
    all.extend(named.into_iter().map(str::to_owned));
    Ok(all.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bare_level_reaches_only_banters_own_crates() {
        assert_eq!(
            directives("trace").unwrap(),
            "warn,banter_server=trace,banter_proto=trace,banterd=trace"
        );
        assert_eq!(
            directives("error").unwrap(),
            "error,banter_server=error,banter_proto=error,banterd=error"
        );
    }

    #[test]
    fn a_named_dependency_keeps_its_level() {
        assert_eq!(
            directives("debug,tungstenite=trace").unwrap(),
            "warn,banter_server=debug,banter_proto=debug,banterd=debug,tungstenite=trace"
        );
        assert_eq!(
            directives("banter_server::doors=trace").unwrap(),
            "warn,banter_server=info,banter_proto=info,banterd=info,banter_server::doors=trace"
        );
    }

    #[test]
    fn a_bad_filter_is_refused() {
        assert!(directives("verbose")
            .unwrap_err()
            .contains("\"verbose\" is not a log level"));
        assert!(directives("tungstenite=nope")
            .unwrap()
            .parse::<Targets>()
            .is_err());
    }
}
