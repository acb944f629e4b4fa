//! The binary's start-up contract: config errors stop it with a message naming key and line.

use std::process::Command;

fn corral() -> Command {
    Command::new(env!("CARGO_BIN_EXE_corral"))
}

fn temp_cfg(name: &str, text: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("corral-cli-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("zoo.cfg");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn malformed_value_stops_start_up_naming_key_and_line() {
    let cfg = temp_cfg("bad", "tickTime=2000\n# comment\nclientPort=twenty\n");
    let out = corral()
        .args(["server", "--config"])
        .arg(&cfg)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("zoo.cfg:3: clientPort: 'twenty' is not a valid number"),
        "{err}"
    );
}

#[test]
fn missing_config_file_is_reported() {
    let out = corral()
        .args(["server", "--config", "/nonexistent/zoo.cfg"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read /nonexistent/zoo.cfg"));
}

#[test]
fn unknown_arguments_print_usage() {
    let out = corral().args(["server", "--bogus"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("usage: corral server"));
}
