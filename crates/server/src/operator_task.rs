//! `banterd operator add NAME`: asks for an operator's password twice
//! without echo, hashes it with Argon2id, and prints the `[[operator]]`
//! lines for the config file, or appends them to the file `--config` names.
//!
//! The password is read from the terminal with echo off (and echo restored
//! however reading ends); when stdin is not a terminal (a script, a test)
//! it is read from stdin, one line each time. It is never printed.

use std::fs::OpenOptions;
use std::io::{BufRead, IsTerminal, Write};
use std::path::Path;

use anyhow::{bail, Context};
use argon2::password_hash::{PasswordHasher, SaltString};
use banter_server::config::Operator;
use rustix::termios::{self, LocalModes, OptionalActions};

/// Runs the task: prompts, hashes, prints or appends.
pub(crate) fn add(name: &str, config: Option<&Path>) -> anyhow::Result<()> {
    let fine = |c: char| c.is_ascii_alphanumeric() || "_-.".contains(c);
    if name.is_empty() || name.len() > 32 || !name.chars().all(fine) {
        bail!("an operator name is 1-32 letters, digits, '_', '-' and '.'");
    }
    if let Some(path) = config {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read config file {}", path.display()))?;
        let table: toml::Table = toml::from_str(&text)
            .with_context(|| format!("config file {} is not valid TOML", path.display()))?;
        let taken = table
            .get("operator")
            .and_then(toml::Value::as_array)
            .is_some_and(|list| {
                list.iter().any(|entry| {
                    entry
                        .get("name")
                        .and_then(toml::Value::as_str)
                        .is_some_and(|n| n.eq_ignore_ascii_case(name))
                })
            });
        if taken {
            bail!(
                "{} already has an operator named {name}; remove it first",
                path.display()
            );
        }
    }
    let first = read_secret(&format!("password for operator {name}: "))?;
    if first.is_empty() {
        bail!("the password is empty; nothing written");
    }
    let again = read_secret("the same password again: ")?;
    if first != again {
        bail!("the passwords differ; nothing written");
    }
    let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
    let hash = argon2::Argon2::default()
        .hash_password(first.as_bytes(), &salt)
        .map_err(|err| anyhow::anyhow!("hashing failed: {err}"))?
        .to_string();
    let lines = Operator::toml_lines(name, &hash);
    match config {
        None => {
            println!("# paste into banterd's config file:");
            print!("{lines}");
        }
        Some(path) => {
            let mut file = OpenOptions::new()
                .append(true)
                .open(path)
                .with_context(|| format!("cannot write config file {}", path.display()))?;
            file.write_all(format!("\n{lines}").as_bytes())
                .with_context(|| format!("cannot write config file {}", path.display()))?;
            println!(
                "operator {name} added to {}; restart banterd to use it",
                path.display()
            );
        }
    }
    Ok(())
}

/// One line of secret input: from the terminal with echo off, or from stdin.
fn read_secret(prompt: &str) -> anyhow::Result<String> {
    let stdin = std::io::stdin();
    let mut line = String::new();
    if stdin.is_terminal() {
        eprint!("{prompt}");
        std::io::stderr().flush()?;
        let saved = termios::tcgetattr(&stdin).context("cannot read the terminal's settings")?;
        let mut quiet = saved.clone();
        quiet.local_modes.remove(LocalModes::ECHO);
        termios::tcsetattr(&stdin, OptionalActions::Flush, &quiet)
            .context("cannot turn the terminal's echo off")?;
        let read = stdin.lock().read_line(&mut line);
        // Echo back on whatever happened, then end the prompt's line.
        let restored = termios::tcsetattr(&stdin, OptionalActions::Flush, &saved);
        eprintln!();
        read.context("cannot read the password")?;
        restored.context("cannot turn the terminal's echo back on")?;
    } else {
        let read = stdin
            .lock()
            .read_line(&mut line)
            .context("cannot read the password")?;
        if read == 0 {
            bail!("no password on stdin; nothing written");
        }
    }
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}
