//! Opting in and out, and purging, tell the truth and never harm what is not theirs: a
//! device, a FIFO or a symbolic link in place of the log, a relative log path, values
//! of `enabled:` and the variable that are neither on nor off, and the two files that
//! can opt in.

#![cfg(unix)]

mod common;
mod support;

use std::fs;
use std::path::Path;
use std::time::Duration;

use common::{Home, run, status_json};
use support::{events, opted_in};

/// Long enough for a slow machine, short enough that a hang fails the test.
const HANG: Duration = Duration::from_secs(20);

fn mkfifo(p: &Path) {
    let c = std::ffi::CString::new(p.to_str().unwrap()).unwrap();
    // SAFETY: mkfifo with a valid C string.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
}

/// A copy of /dev/null (a character device), when this test may create one (root).
fn mknod_null(p: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    let rdev = fs::metadata("/dev/null").unwrap().rdev();
    let c = std::ffi::CString::new(p.to_str().unwrap()).unwrap();
    // SAFETY: mknod with a valid C string, the mode and device of /dev/null.
    unsafe { libc::mknod(c.as_ptr(), libc::S_IFCHR | 0o666, rdev as libc::dev_t) == 0 }
}

#[test]
fn purge_never_deletes_a_device_named_as_the_log_and_says_what_it_is() {
    let home = Home::new();
    let dev = home.path().join("null-copy");
    if !mknod_null(&dev) {
        eprintln!("skipped: creating a device needs root");
        return;
    }
    for cmd in [vec!["purge", "--yes"], vec!["disable", "--purge"]] {
        let mut c = opted_in(&home);
        c.env("SPECFACT_TELEMETRY_LOCAL_PATH", &dev)
            .args(&cmd)
            .timeout(HANG);
        let (code, out, err) = run(c);
        assert_eq!(code, 0, "{cmd:?}: {out}{err}");
        assert!(out.contains("is a character device"), "{cmd:?}: {out}");
        assert!(
            !out.contains("Deleted")
                || !out.contains(&dev.display().to_string())
                || out.contains("Left"),
            "{out}"
        );
        use std::os::unix::fs::FileTypeExt;
        let t = fs::symlink_metadata(&dev).unwrap().file_type();
        assert!(t.is_char_device(), "{cmd:?}: the device was deleted");
    }
}

#[test]
fn purge_refuses_a_symlinked_log_and_reports_nothing_it_did_not_do() {
    let home = Home::new();
    let target = home.path().join("elsewhere.log");
    fs::write(&target, "{\"command\":\"a\",\"success\":true}\n").unwrap();
    fs::create_dir_all(home.path().join(".specfact")).unwrap();
    std::os::unix::fs::symlink(&target, support::log_path(&home)).unwrap();
    for cmd in [vec!["purge", "--yes"], vec!["disable", "--purge"]] {
        let mut c = home.cmd();
        c.args(&cmd);
        let (code, out, err) = run(c);
        assert_eq!(code, 1, "{cmd:?}: {out}{err}");
        assert!(!out.contains("Deleted"), "{cmd:?}: {out}");
        assert!(
            err.contains("is a symbolic link to") && err.contains("nothing was deleted"),
            "{err}"
        );
        assert!(fs::symlink_metadata(support::log_path(&home)).is_ok());
        assert_eq!(fs::read_to_string(&target).unwrap().lines().count(), 1);
    }
}

#[test]
fn a_fifo_as_the_log_never_hangs_a_command_and_is_reported() {
    let home = Home::new();
    fs::create_dir_all(home.path().join(".specfact")).unwrap();
    let fifo = support::log_path(&home);
    mkfifo(&fifo);
    for cmd in [
        vec!["status"],
        vec!["status", "--json"],
        vec!["show"],
        vec!["report"],
        vec!["doctor", "--no-send"],
        vec!["purge", "--yes"],
        vec!["record", "plan.init"],
    ] {
        let mut c = opted_in(&home);
        c.args(&cmd).timeout(HANG);
        let (code, out, err) = run(c);
        assert_ne!(code, -1, "{cmd:?} hung");
        let all = format!("{out}{err}");
        match cmd[0] {
            "record" => assert_eq!(
                (code, all.as_str()),
                (0, ""),
                "record treats it as unwritable"
            ),
            "status" | "doctor" | "purge" => {
                assert!(
                    all.contains("FIFO"),
                    "{cmd:?} does not say what it is: {all}"
                )
            }
            _ => {}
        }
    }
    let mut c = opted_in(&home);
    c.env("SPECFACT_TELEMETRY_DEBUG", "1")
        .args(["record", "plan.init"])
        .timeout(HANG);
    let (code, _, err) = run(c);
    assert_eq!(code, 0);
    assert!(err.contains("not a regular file"), "{err}");
    let mut c = opted_in(&home);
    c.args(["doctor", "--no-send"]).timeout(HANG);
    let (code, out, _) = run(c);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("is a FIFO (named pipe), not a regular file"),
        "{out}"
    );
}

#[test]
fn a_relative_local_path_never_writes_into_the_working_directory() {
    let home = Home::new();
    let cwd = tempfile::tempdir().unwrap();
    let mut c = opted_in(&home);
    c.current_dir(cwd.path())
        .env("SPECFACT_TELEMETRY_LOCAL_PATH", "relative.log")
        .args(["record", "plan.init"]);
    let (code, _, err) = run(c);
    assert_eq!((code, err.as_str()), (0, ""));
    assert_eq!(
        fs::read_dir(cwd.path()).unwrap().count(),
        0,
        "wrote into the working directory"
    );
    let log = home.specfact("relative.log");
    assert!(fs::read_to_string(&log).unwrap().contains("plan.init"));

    let mut c = opted_in(&home);
    c.current_dir(cwd.path())
        .env("SPECFACT_TELEMETRY_LOCAL_PATH", "relative.log")
        .args(["doctor", "--no-send"]);
    let (_, out, _) = run(c);
    assert!(
        out.contains(&format!("{} is writable", log.display())),
        "{out}"
    );
    assert_eq!(fs::read_dir(cwd.path()).unwrap().count(), 0);
}

#[test]
fn every_listed_value_of_enabled_works_and_anything_else_is_named() {
    for (value, enabled) in [
        ("1", true),
        ("yes", true),
        ("On", true),
        ("0", false),
        ("no", false),
    ] {
        let home = Home::new();
        home.write("telemetry.yaml", format!("enabled: {value}\n"));
        let j = status_json(home.cmd());
        assert_eq!(j["enabled"], enabled, "enabled: {value}: {j:#}");
        assert_eq!(
            j["diagnostics"].as_array().unwrap().len(),
            0,
            "{value}: {j:#}"
        );
    }
    for value in ["ture", "\"yes please\""] {
        let home = Home::new();
        home.write("telemetry.yaml", format!("enabled: {value}\n"));
        let j = status_json(home.cmd());
        assert_eq!(j["enabled"], false);
        let text = j["diagnostics"][0]["text"].as_str().unwrap();
        let shown = value.trim_matches('"');
        assert!(text.contains(&format!("`enabled` is `{shown}`")), "{text}");
        assert!(text.contains("taken as false"), "{text}");
    }
    let home = Home::new();
    let mut c = home.cmd();
    c.env("SPECFACT_TELEMETRY_OPT_IN", "garbage");
    let j = status_json(c);
    assert_eq!(j["enabled"], false);
    let text = j["diagnostics"][0]["text"].as_str().unwrap();
    assert!(
        text.contains("SPECFACT_TELEMETRY_OPT_IN") && text.contains("`garbage`"),
        "{text}"
    );
}

#[test]
fn status_enable_disable_and_doctor_name_both_files_and_what_each_says() {
    let home = Home::new();
    home.write("telemetry.yaml", "# mine\nenabled: false\n");
    home.write("telemetry.opt-in", "true\n");
    let config = home.specfact("telemetry.yaml").display().to_string();
    let opt_in = home.specfact("telemetry.opt-in").display().to_string();
    for cmd in [vec!["status"], vec!["doctor", "--no-send"], vec!["enable"]] {
        let mut c = home.cmd();
        c.args(&cmd);
        let (_, out, _) = run(c);
        assert!(
            out.contains(&config) && out.contains("enabled: false"),
            "{cmd:?}: {out}"
        );
        assert!(
            out.contains(&opt_in) && out.contains("says true"),
            "{cmd:?}: {out}"
        );
        assert!(
            out.contains("leaves the decision to the opt-in file"),
            "{cmd:?}: {out}"
        );
    }
    let j = status_json(home.cmd());
    assert_eq!(j["files"]["config"]["says"], "off");
    assert_eq!(j["files"]["opt_in"]["says"], "on");
    let mut c = home.cmd();
    c.arg("disable");
    let (code, out, _) = run(c);
    assert_eq!(code, 0);
    assert!(out.contains(&config) && out.contains(&opt_in), "{out}");
    assert!(out.contains("Telemetry is disabled."), "{out}");
    let j = status_json(home.cmd());
    assert_eq!(j["enabled"], false);
    assert_eq!(j["files"]["opt_in"]["says"], "absent");
    assert_eq!(j["files"]["config"]["says"], "off");
}

#[test]
fn status_says_where_every_file_lives_even_when_absent() {
    let home = Home::new();
    let mut c = home.cmd();
    c.arg("status");
    let (_, out, _) = run(c);
    for name in [
        "telemetry.yaml",
        "telemetry.opt-in",
        "telemetry.log",
        "telemetry-delivery",
    ] {
        let p = home.specfact(name).display().to_string();
        assert!(out.contains(&p), "{name} missing: {out}");
    }
    let j = status_json(home.cmd());
    assert_eq!(j["files"]["config"]["exists"], false);
    assert!(
        j["files"]["delivery_state"]
            .as_str()
            .unwrap()
            .ends_with("telemetry-delivery")
    );
}

#[test]
fn enable_under_do_not_track_says_first_that_telemetry_stays_off() {
    let home = Home::new();
    let mut c = home.cmd();
    c.env("DO_NOT_TRACK", "1").arg("enable");
    let (code, out, _) = run(c);
    assert_eq!(code, 0);
    let first = out.lines().next().unwrap();
    assert!(
        first.starts_with("Telemetry stays OFF: DO_NOT_TRACK is set"),
        "{out}"
    );
    assert!(!out.contains("Telemetry is enabled"), "{out}");
}

#[test]
fn enable_disable_purge_and_init_speak_json() {
    let home = Home::new();
    let json = |args: &[&str]| {
        let mut c = home.cmd();
        c.args(args);
        let (code, out, err) = run(c);
        assert_eq!(code, 0, "{args:?}: {err}");
        serde_json::from_str::<serde_json::Value>(&out)
            .unwrap_or_else(|e| panic!("{args:?}: not JSON ({e}): {out}"))
    };
    let j = json(&["enable", "--json"]);
    assert_eq!(j["enabled"], true);
    assert_eq!(j["files"]["opt_in"]["says"], "on");
    let mut c = opted_in(&home);
    c.args(["record", "plan.init"]);
    assert_eq!(run(c).0, 0);
    assert_eq!(events(&home).len(), 1);
    let j = json(&["purge", "--yes", "--json"]);
    assert_eq!(j["log_deleted"], true);
    assert_eq!(j["events_deleted"], 1);
    let j = json(&["disable", "--json"]);
    assert_eq!(j["enabled"], false);
    assert_eq!(j["files"]["opt_in"]["says"], "absent");
    let j = json(&["init", "--json"]);
    assert!(j["written"].as_str().unwrap().ends_with("telemetry.yaml"));
}

#[test]
fn export_of_a_fifo_log_fails_without_hanging() {
    let home = Home::new();
    fs::create_dir_all(home.path().join(".specfact")).unwrap();
    mkfifo(&support::log_path(&home));
    let mut c = opted_in(&home);
    c.env(
        "SPECFACT_TELEMETRY_ENDPOINT",
        "http://127.0.0.1:9/v1/traces",
    )
    .args(["export", "--all", "--dry-run"])
    .timeout(HANG);
    let (code, out, err) = run(c);
    assert_ne!(code, -1, "export hung");
    assert_eq!(code, 1, "{out}{err}");
    assert!(err.contains("not a regular file"), "{err}");
}
