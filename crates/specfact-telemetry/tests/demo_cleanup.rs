//! The demo example leaves nothing behind in the temporary directory.

use std::process::Command;

/// The demo as the README runs it (built first if needed, so it is never stale).
fn demo() -> Command {
    let mut c = Command::new(env!("CARGO"));
    c.args(["run", "-q", "-p", "specfact-telemetry", "--example", "demo"]);
    c
}

#[test]
fn the_demo_removes_its_scratch_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let out = demo()
        .env("TMPDIR", tmp.path())
        .env_remove("SPECFACT_TELEMETRY_OPT_IN")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("scratch home: "), "{stdout}");
    assert!(stdout.contains("specfact-telemetry-demo-"), "{stdout}");
    let left: Vec<_> = std::fs::read_dir(tmp.path()).unwrap().collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}
