//! `deploy/banterd.service` is a unit systemd accepts: `systemd-analyze
//! verify` on it, with `ExecStart` pointed at the binary the tests built (verify
//! checks that the program exists).

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
