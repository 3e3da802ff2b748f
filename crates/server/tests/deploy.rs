//! The files in `deploy/` are what their programs accept:
//! `deploy/banterd.service` passes `systemd-analyze verify` (with `ExecStart`
//! pointed at the binary the tests built, since verify checks that the program
//! exists), and `deploy/haproxy-cluster.cfg` passes `haproxy -c`.

use std::path::PathBuf;
use std::process::Command;

#[test]
fn the_systemd_unit_verifies() {
    let unit = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../deploy/banterd.service");
    let text = std::fs::read_to_string(unit).unwrap();
    for needed in [
        "DynamicUser=yes",
        "StateDirectory=banter",
        "ProtectSystem=strict",
        "NoNewPrivileges=yes",
        "ExecReload=/bin/kill -HUP $MAINPID",
    ] {
        assert!(text.contains(needed), "the unit lacks {needed}");
    }
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("banterd.service");
    std::fs::write(
        &copy,
        text.replace("/usr/local/bin/banterd", env!("CARGO_BIN_EXE_banterd")),
    )
    .unwrap();
    let output = Command::new("systemd-analyze")
        .arg("verify")
        .arg(&copy)
        .output()
        .expect("systemd-analyze is installed (scripts/test installs systemd)");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(stderr.trim().is_empty(), "{stderr}");
}

#[test]
fn the_haproxy_configuration_for_a_cluster_is_valid() {
    let config = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../deploy/haproxy-cluster.cfg");
    let text = std::fs::read_to_string(&config).unwrap();
    // Every door reaches every node, the web side by its readiness.
    for needed in [
        "backend text_nodes",
        "backend irc_nodes",
        "option httpchk GET /readyz",
    ] {
        assert!(text.contains(needed), "the configuration lacks {needed}");
    }
    let output = Command::new("haproxy")
        .arg("-c")
        .arg("-f")
        .arg(&config)
        .output()
        .expect("haproxy is installed (scripts/test installs it)");
    let said = String::from_utf8_lossy(&output.stdout) + String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{said}");
    assert!(said.contains("Configuration file is valid"), "{said}");
}
