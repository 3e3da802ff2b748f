//! `banter.example.toml` at the repository root cannot drift from the flags:
//! it parses, its values are the defaults, and it names every flag
//! `banterd --help` lists.

use std::path::PathBuf;

use banter_server::Config;
use clap::CommandFactory;

fn example() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../banter.example.toml")
}

#[test]
fn the_example_config_parses_and_holds_the_defaults() {
    let path = example();
    let mut loaded = Config::load(["banterd".into(), "--config".into(), path.into_os_string()])
        .expect("banter.example.toml loads");
    loaded.config = None;
    assert_eq!(
        format!("{loaded:?}"),
        format!("{:?}", Config::defaults()),
        "the example's values differ from the defaults"
    );
}

#[test]
fn the_example_config_names_every_flag() {
    let text = std::fs::read_to_string(example()).unwrap();
    let keys: Vec<&str> = text
        .lines()
        .map(|line| line.trim_start_matches("# "))
        .filter_map(|line| line.split_once(" = ").map(|(key, _)| key))
        .collect();
    let help = String::from_utf8(
        std::process::Command::new(env!("CARGO_BIN_EXE_banterd"))
            .arg("--help")
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    for arg in Config::command().get_arguments() {
        let Some(flag) = arg.get_long() else { continue };
        if matches!(flag, "help" | "version" | "config") {
            continue;
        }
        assert!(help.contains(&format!("--{flag}")), "--help lacks --{flag}");
        assert!(keys.contains(&flag), "banter.example.toml lacks {flag}");
    }
}
