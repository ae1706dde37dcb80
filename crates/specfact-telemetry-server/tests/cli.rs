//! The binary's command line: help with examples, clear errors for a bad store or address.

use std::process::Command;

fn server() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_specfact-telemetry-server"));
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy()
            .starts_with("SPECFACT_TELEMETRY_SERVER_")
        {
            c.env_remove(k);
        }
    }
    c
}

#[test]
fn help_lists_every_flag_its_variable_and_examples() {
    let out = server().arg("--help").output().unwrap();
    assert!(out.status.success());
    let help = String::from_utf8(out.stdout).unwrap();
    for flag in [
        "listen",
        "store",
        "ingest-token",
        "retain",
        "max-body",
        "max-decompressed",
        "sqlite-sync",
        "max-concurrent",
    ] {
        assert!(help.contains(&format!("--{flag}")), "--{flag} in:\n{help}");
        let var = format!(
            "SPECFACT_TELEMETRY_SERVER_{}",
            flag.replace('-', "_").to_uppercase()
        );
        assert!(help.contains(&var), "{var} in:\n{help}");
    }
    assert!(help.contains("Examples:") && help.contains("clickhouse:http://"));
    assert!(help.contains("127.0.0.1:4318"));
}

#[test]
fn bad_arguments_say_what_to_do() {
    let run = |args: &[&str]| {
        let out = server().args(args).output().unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, err) = run(&["--store", "postgres://u:pw@db/x"]);
    assert_eq!(code, Some(2));
    assert!(
        err.contains("use sqlite:PATH") && !err.contains("pw@"),
        "{err}"
    );
    let (code, err) = run(&["--store", "clickhouse:http://h:1"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("DATABASE"), "{err}");
    let (code, err) = run(&["--retain", "10s", "--store", "sqlite:/dev/null/x"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("at least one hour"), "{err}");

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("f");
    std::fs::write(&file, "").unwrap();
    let store = format!("sqlite:{}", file.join("x.sqlite3").display());
    let (code, err) = run(&["--store", &store, "--listen", "127.0.0.1:0"]);
    assert_eq!(code, Some(1));
    assert!(err.contains("choose another --store"), "{err}");
}
