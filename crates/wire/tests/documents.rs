//! banter/1's documents held to banter-wire: every JSON example PROTOCOL.md
//! shows reads as banter-wire's types and writes back as the same JSON, and
//! the web page, which stays hand-written JavaScript, sends, handles and
//! offers only what PROTOCOL.md and proto's colon-command table say.
//!
//! Each check collects every mismatch and fails once, naming them all (the
//! example's line, the missing type, the command and its shapes).

use std::collections::BTreeSet;

use banter_proto::command::Shape;
use banter_proto::{CommandSpec, COMMANDS};
use banter_wire::{parse_frame, parse_request, Envelope, Frame, REQUEST_TYPES};
use serde_json::Value;

const PROTOCOL_MD: &str = include_str!("../../../PROTOCOL.md");
const APP_JS: &str = include_str!("../../server/src/doors/web/assets/app.js");
const PROTOCOL_JS: &str = include_str!("../../server/src/doors/web/assets/protocol.js");
const COMMANDS_JS: &str = include_str!("../../server/src/doors/web/assets/commands.js");

/// `type`s the page gives its own objects, which are no requests: its
/// scrollback's items (`notice`, `message`) and a `<button>`'s attribute.
const PAGE_OBJECT_TYPES: &[&str] = &["notice", "message", "button"];

/// Who sends an example.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum From {
    /// `>` in a block: a request.
    Client,
    /// `<` in a block: a server frame.
    Server,
    /// In running text: either, as its `type` says.
    Either,
}

#[derive(Debug)]
struct Example {
    /// Its first line in PROTOCOL.md.
    line: usize,
    from: From,
    json: String,
}

/// Every JSON example: the `>` and `<` lines of the ```text blocks (a line
/// starting with spaces continues the one before), and each `{"type"...}`
/// in backticks in the running text.
fn examples() -> Vec<Example> {
    let mut examples: Vec<Example> = Vec::new();
    let mut in_block = false;
    for (index, line) in PROTOCOL_MD.lines().enumerate() {
        let number = index + 1;
        if line.starts_with("```") {
            in_block = !in_block;
            continue;
        }
        if in_block {
            let from = match line.get(..2) {
                Some("> ") => From::Client,
                Some("< ") => From::Server,
                _ if line.starts_with(' ') => {
                    if let Some(last) = examples.last_mut() {
                        last.json.push_str(line.trim());
                    }
                    continue;
                }
                _ => continue,
            };
            examples.push(Example {
                line: number,
                from,
                json: line[2..].trim().to_owned(),
            });
            continue;
        }
        for span in line.split('`').skip(1).step_by(2) {
            if span.starts_with("{\"type\"") {
                examples.push(Example {
                    line: number,
                    from: From::Either,
                    json: span.to_owned(),
                });
            }
        }
    }
    examples
}

/// The example as a request, when it reads as one and writes back the same.
fn as_request(json: &str, original: &Value) -> Result<String, String> {
    let parsed = parse_request(json);
    let request = parsed
        .body
        .map_err(|err| format!("not a request: {err:?}"))?;
    let kind = original["type"].as_str().unwrap_or_default().to_owned();
    let written: Value = serde_json::from_str(
        &Envelope {
            body: request,
            id: parsed.id,
        }
        .to_json(),
    )
    .expect("written requests are JSON");
    if &written != original {
        return Err(format!("as a request it writes back as {written}"));
    }
    Ok(kind)
}

/// The example as a server frame, when it reads as a known one and writes
/// back the same.
fn as_frame(json: &str, original: &Value) -> Result<String, String> {
    let frame = parse_frame(json).map_err(|err| format!("not a server frame: {err}"))?;
    if frame.body == Frame::Unknown {
        return Err("banter-wire knows no server frame of this type".into());
    }
    let kind = original["type"].as_str().unwrap_or_default().to_owned();
    let written: Value = serde_json::from_str(&frame.to_json()).expect("written frames are JSON");
    if &written != original {
        return Err(format!("as a server frame it writes back as {written}"));
    }
    Ok(kind)
}

/// The request and server frame types PROTOCOL.md's examples show, and
/// every example that did not read and write back as banter-wire's types.
fn documented_types() -> (BTreeSet<String>, BTreeSet<String>, Vec<String>) {
    let mut requests = BTreeSet::new();
    let mut frames = BTreeSet::new();
    let mut wrong = Vec::new();
    for example in examples() {
        let original: Value = match serde_json::from_str(&example.json) {
            Ok(value) => value,
            Err(err) => {
                wrong.push(format!(
                    "PROTOCOL.md:{}: not JSON ({err}): {}",
                    example.line, example.json
                ));
                continue;
            }
        };
        let outcome = match example.from {
            From::Client => as_request(&example.json, &original).map(|kind| (kind, true)),
            From::Server => as_frame(&example.json, &original).map(|kind| (kind, false)),
            From::Either => as_request(&example.json, &original)
                .map(|kind| (kind, true))
                .or_else(|as_one| {
                    as_frame(&example.json, &original)
                        .map(|kind| (kind, false))
                        .map_err(|as_other| format!("{as_one}; {as_other}"))
                }),
        };
        match outcome {
            Ok((kind, true)) => {
                requests.insert(kind);
            }
            Ok((kind, false)) => {
                frames.insert(kind);
            }
            Err(why) => wrong.push(format!(
                "PROTOCOL.md:{}: {why}: {}",
                example.line, example.json
            )),
        }
    }
    (requests, frames, wrong)
}

#[test]
fn every_example_in_protocol_md_reads_and_writes_back_as_banter_wire() {
    let (requests, frames, wrong) = documented_types();
    assert!(
        wrong.is_empty(),
        "examples banter-wire does not match:\n{}",
        wrong.join("\n")
    );
    let unshown: Vec<_> = REQUEST_TYPES
        .iter()
        .filter(|kind| !requests.contains(**kind))
        .collect();
    assert!(
        unshown.is_empty(),
        "request types with no example in PROTOCOL.md: {unshown:?}"
    );
    // The examples cover the protocol: a test that found none proves nothing.
    assert!(
        requests.len() >= 20 && frames.len() >= 30,
        "{requests:?} {frames:?}"
    );
}

/// Every `"..."` right after each `prefix` in `text`.
fn quoted_after<'a>(text: &'a str, prefix: &str) -> Vec<&'a str> {
    text.match_indices(prefix)
        .filter_map(|(at, _)| {
            let rest = &text[at + prefix.len()..];
            rest.find('"').map(|end| &rest[..end])
        })
        .collect()
}

/// The request types the page sends: the `type` of each object it builds,
/// less its own objects; those `hostRequest` is given; the kinds `say` is
/// called with.
fn requests_the_page_sends() -> BTreeSet<&'static str> {
    let mut sent: BTreeSet<&str> = [APP_JS, PROTOCOL_JS]
        .iter()
        .flat_map(|file| quoted_after(file, "type: \""))
        .filter(|kind| !PAGE_OBJECT_TYPES.contains(kind))
        .collect();
    sent.extend(quoted_after(APP_JS, "hostRequest(\""));
    sent.extend(quoted_after(APP_JS, "kind = \""));
    for line in APP_JS.lines().filter(|line| line.contains(" say(")) {
        let (_, arguments) = line.split_once(" say(").expect("the line holds a call");
        sent.extend(arguments.split('"').skip(1).step_by(2));
    }
    sent
}

/// The frame types the page handles: the cases of its event switch and the
/// types it compares a frame's with.
fn frames_the_page_handles() -> BTreeSet<&'static str> {
    let (_, switch) = APP_JS
        .split_once("switch (frame.type) {")
        .expect("app.js switches on frame.type");
    let (cases, _) = switch
        .split_once("default:")
        .expect("the switch has a default");
    let mut handled: BTreeSet<&str> = quoted_after(cases, "case \"").into_iter().collect();
    for file in [APP_JS, PROTOCOL_JS] {
        handled.extend(quoted_after(file, "frame.type === \""));
        handled.extend(quoted_after(file, "frame.type !== \""));
    }
    handled
}

#[test]
fn the_web_page_sends_and_handles_only_documented_types() {
    let (requests, frames, _) = documented_types();
    let sent = requests_the_page_sends();
    let handled = frames_the_page_handles();
    let mut wrong = Vec::new();
    for kind in &sent {
        if !requests.contains(*kind) {
            wrong.push(format!(
                "the page sends a request of type {kind:?}, which no PROTOCOL.md request example shows"
            ));
        }
    }
    for kind in &handled {
        if !frames.contains(*kind) {
            wrong.push(format!(
                "the page handles a frame of type {kind:?}, which no PROTOCOL.md server example shows"
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    // What the page is known to use, so a change to how it is written cannot
    // leave these checks with nothing to look at.
    for kind in ["hello", "join", "say", "emote", "set_password", "host_add"] {
        assert!(sent.contains(kind), "no {kind:?} found among {sent:?}");
    }
    for kind in ["message", "member_left", "error", "host_added", "shutdown"] {
        assert!(
            handled.contains(kind),
            "no {kind:?} found among {handled:?}"
        );
    }
}

/// One row of commands.js's table.
#[derive(Debug)]
struct PageCommand {
    name: String,
    aliases: Vec<String>,
    /// More names for a text-door command, the page's own.
    page_aliases: Vec<String>,
    shape: String,
    /// A command only the page has.
    page_only: bool,
}

/// The words of the `[...]` list after `key` in `row`.
fn list(row: &str, key: &str) -> Vec<String> {
    row.split_once(key)
        .and_then(|(_, rest)| rest.split_once(']'))
        .map(|(inside, _)| {
            inside
                .split(',')
                .map(|word| word.trim().trim_matches('"').to_owned())
                .filter(|word| !word.is_empty())
                .collect()
        })
        .unwrap_or_default()
}

fn page_commands() -> Vec<PageCommand> {
    COMMANDS_JS
        .lines()
        .filter(|line| line.trim_start().starts_with("{ name: \""))
        .map(|row| PageCommand {
            name: quoted_after(row, "name: \"")[0].to_owned(),
            aliases: list(row, "aliases: ["),
            page_aliases: list(row, "pageAliases: ["),
            shape: quoted_after(row, "shape: \"")[0].to_owned(),
            page_only: row.contains("pageOnly: true"),
        })
        .collect()
}

/// A shape as commands.js names it.
fn page_shape(shape: Shape) -> &'static str {
    match shape {
        Shape::None => "none",
        Shape::OptionalWord => "optional-word",
        Shape::Word => "word",
        Shape::WordThenText => "word-text",
        Shape::Text => "text",
        Shape::OptionalText => "optional-text",
        Shape::WordThenOptionalText => "word-optional-text",
        Shape::Switch => "switch",
    }
}

#[test]
fn the_web_pages_colon_commands_are_protos() {
    let commands = page_commands();
    assert!(commands.len() >= COMMANDS.len(), "{commands:?}");
    let mut wrong = Vec::new();
    for command in &commands {
        if command.page_only {
            for name in std::iter::once(&command.name).chain(&command.aliases) {
                if let Some(spec) = CommandSpec::find(name) {
                    wrong.push(format!(
                        ":{name}, marked pageOnly, is the text door's :{}",
                        spec.name
                    ));
                }
            }
            continue;
        }
        let Some(spec) = CommandSpec::find(&command.name).filter(|s| s.name == command.name) else {
            wrong.push(format!(
                ":{} is no command of proto's table (mark it pageOnly if only the page has it)",
                command.name
            ));
            continue;
        };
        let ours: BTreeSet<&str> = command.aliases.iter().map(String::as_str).collect();
        let protos: BTreeSet<&str> = spec.aliases.iter().copied().collect();
        if ours != protos {
            wrong.push(format!(
                ":{} has aliases {ours:?} on the page and {protos:?} in proto",
                command.name
            ));
        }
        for alias in &command.page_aliases {
            if let Some(other) = CommandSpec::find(alias) {
                wrong.push(format!(
                    ":{alias}, a page alias of :{}, is the text door's :{}",
                    command.name, other.name
                ));
            }
        }
        if command.shape != page_shape(spec.shape()) {
            wrong.push(format!(
                ":{} takes {:?} on the page and {:?} in proto",
                command.name,
                command.shape,
                page_shape(spec.shape())
            ));
        }
    }
    // The page offers the text door's commands: every one of them.
    for spec in COMMANDS {
        if !commands.iter().any(|c| !c.page_only && c.name == spec.name) {
            wrong.push(format!(
                ":{} of proto's table is missing on the page",
                spec.name
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
