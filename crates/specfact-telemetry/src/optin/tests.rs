use std::fs;
use std::path::Path;

use super::*;
use crate::EnvSnapshot;
use crate::settings::FileSays;

fn settings(home: &Path) -> Settings {
    Settings::resolve(&EnvSnapshot::empty(), Some(home))
}

fn settings_with(home: &Path, pairs: &[(&str, &str)]) -> Settings {
    let env = EnvSnapshot::from_pairs(pairs.iter().map(|(k, v)| (*k, *v)));
    Settings::resolve(&env, Some(home))
}

#[cfg(unix)]
fn mode(p: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    fs::metadata(p).unwrap().permissions().mode() & 0o777
}

#[cfg(unix)]
fn mkfifo(p: &Path) {
    let c = std::ffi::CString::new(p.to_str().unwrap()).unwrap();
    // SAFETY: mkfifo with a valid C string.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
}

#[test]
fn enabling_locally_writes_a_private_opt_in_file() {
    let home = tempfile::tempdir().unwrap();
    let written = enable_locally(&settings(home.path())).unwrap();
    assert_eq!(written.path, home.path().join(".specfact/telemetry.opt-in"));
    assert_eq!(fs::read_to_string(&written.path).unwrap(), "true\n");
    assert_eq!(written.files.opt_in_says, FileSays::On);
    assert_eq!(written.files.config_says, FileSays::Absent);
    #[cfg(unix)]
    assert_eq!(mode(&written.path), 0o600);
    assert!(settings(home.path()).enabled);
}

#[test]
fn enabling_with_an_endpoint_keeps_the_users_keys_and_comments() {
    let home = tempfile::tempdir().unwrap();
    let dir = home.path().join(".specfact");
    fs::create_dir_all(&dir).unwrap();
    fs::write(
        dir.join("telemetry.yaml"),
        "# team settings\nservice_name: acme # keep me\nenabled: false\n",
    )
    .unwrap();
    let headers = parse_headers(&["Authorization: Bearer abc"]).unwrap();
    let written = enable_with_endpoint(
        &settings(home.path()),
        Some("http://127.0.0.1:4318/v1/traces"),
        &headers,
    )
    .unwrap();
    let text = fs::read_to_string(&written.path).unwrap();
    assert!(
        text.starts_with("# team settings\nservice_name: acme # keep me\nenabled: true\n"),
        "{text}"
    );
    assert!(
        text.contains("endpoint: \"http://127.0.0.1:4318/v1/traces\""),
        "{text}"
    );
    assert!(text.contains("\"Authorization\": \"Bearer abc\""), "{text}");
    #[cfg(unix)]
    assert_eq!(mode(&written.path), 0o600);
    assert_eq!(written.files.config_says, FileSays::On);
    let now = settings(home.path());
    assert!(
        now.enabled && now.diagnostics.is_empty(),
        "{:?}",
        now.diagnostics
    );
    assert_eq!(now.headers.len(), 1);
}

#[test]
fn bad_endpoints_and_headers_are_usage_errors_and_write_nothing() {
    let home = tempfile::tempdir().unwrap();
    let s = settings(home.path());
    let e = enable_with_endpoint(&s, Some("ftp://x"), &[]).unwrap_err();
    assert!(e.is_usage(), "{e}");
    let e = parse_headers(&["Fine: yes", "no colon secret"]).unwrap_err();
    assert!(e.is_usage());
    assert_eq!(
        e.to_string(),
        "--header number 2 has no `:` between the header name and its value"
    );
    let e = enable_with_endpoint(&s, None, &[("A".into(), "b".into())]).unwrap_err();
    assert!(matches!(e, OptInError::HeaderNeedsEndpoint));
    assert!(!home.path().join(".specfact").exists());
}

#[test]
fn disabling_leaves_neither_file_enabling() {
    for (yaml, opt_in) in [
        (Some("enabled: true\n"), Some("true")),
        // The opt-in file enables after `enabled: false`; disable must remove it.
        (Some("# mine\nenabled: false\n"), Some("true")),
        (None, Some("true")),
        (Some("endpoint: http://127.0.0.1:1/v1/traces\n"), None),
    ] {
        let home = tempfile::tempdir().unwrap();
        let dir = home.path().join(".specfact");
        fs::create_dir_all(&dir).unwrap();
        if let Some(y) = yaml {
            fs::write(dir.join("telemetry.yaml"), y).unwrap();
        }
        if let Some(o) = opt_in {
            fs::write(dir.join("telemetry.opt-in"), o).unwrap();
        }
        let done = disable(&settings(home.path())).unwrap();
        let files = done.files.unwrap();
        assert!(!files.any_enables(), "{yaml:?} {opt_in:?}: {files:?}");
        assert_eq!(done.removed_opt_in.is_some(), opt_in.is_some());
        assert_eq!(done.config_set_false.is_some(), yaml.is_some());
        assert!(!settings(home.path()).enabled);
        if let Some(y) = yaml
            && y.starts_with("# mine")
        {
            assert_eq!(
                fs::read_to_string(dir.join("telemetry.yaml")).unwrap(),
                "# mine\nenabled: false\n"
            );
        }
    }
}

#[test]
fn purging_deletes_the_log_and_the_state_and_says_how_much() {
    let home = tempfile::tempdir().unwrap();
    let dir = home.path().join(".specfact");
    fs::create_dir_all(dir.join("telemetry-delivery")).unwrap();
    fs::write(
        dir.join("telemetry.log"),
        "{\"command\":\"a\",\"success\":true}\n{\"command\":\"b\",\"success\":true}\n",
    )
    .unwrap();
    let s = settings_with(
        home.path(),
        &[(
            "SPECFACT_TELEMETRY_ENDPOINT",
            "http://127.0.0.1:1/v1/traces",
        )],
    );
    let plan = plan_purge(&s).unwrap();
    assert_eq!(
        plan.log,
        LogFound::Log {
            events: 2,
            bytes: 62
        }
    );
    let done = purge(&s).unwrap();
    assert!(done.log_deleted);
    assert!(!dir.join("telemetry.log").exists());
    assert!(!dir.join("telemetry-delivery").exists());
    assert!(!dir.exists(), "an empty ~/.specfact is removed");
}

#[cfg(unix)]
#[test]
fn a_symlinked_log_is_refused_and_nothing_is_deleted() {
    let home = tempfile::tempdir().unwrap();
    let dir = home.path().join(".specfact");
    fs::create_dir_all(&dir).unwrap();
    let target = home.path().join("real.log");
    fs::write(&target, "{\"command\":\"a\",\"success\":true}\n").unwrap();
    std::os::unix::fs::symlink(&target, dir.join("telemetry.log")).unwrap();
    let s = settings(home.path());
    assert_eq!(
        plan_purge(&s).unwrap().log,
        LogFound::Symlink(target.clone())
    );
    let e = purge(&s).unwrap_err();
    assert!(
        matches!(e, OptInError::Log(LogError::Symlink { .. })),
        "{e}"
    );
    let message = e.to_string();
    assert!(
        message.contains("is a symbolic link to") && message.contains("nothing was deleted"),
        "{message}"
    );
    assert!(fs::symlink_metadata(dir.join("telemetry.log")).is_ok());
    assert_eq!(fs::read_to_string(&target).unwrap().lines().count(), 1);
}

#[cfg(unix)]
#[test]
fn a_fifo_or_device_in_place_of_the_log_is_left_alone_without_blocking() {
    let home = tempfile::tempdir().unwrap();
    let dir = home.path().join(".specfact");
    fs::create_dir_all(dir.join("telemetry-delivery")).unwrap();
    let log = dir.join("telemetry.log");
    mkfifo(&log);
    let s = settings_with(
        home.path(),
        &[(
            "SPECFACT_TELEMETRY_ENDPOINT",
            "http://127.0.0.1:1/v1/traces",
        )],
    );
    assert_eq!(
        plan_purge(&s).unwrap().log,
        LogFound::NotARegularFile("a FIFO (named pipe)")
    );
    let done = purge(&s).unwrap();
    assert!(!done.log_deleted);
    assert!(
        fs::symlink_metadata(&log).is_ok(),
        "the FIFO is still there"
    );
    assert_eq!(done.state_deleted.len(), 1);
    // Reading and appending never block either.
    let l = LocalLog::new(&log);
    assert!(matches!(l.stats(), Err(LogError::NotARegularFile { .. })));
    assert!(matches!(l.delete(), Err(LogError::NotARegularFile { .. })));
}

#[cfg(unix)]
#[test]
fn settings_kept_as_links_stay_links() {
    let home = tempfile::tempdir().unwrap();
    let dir = home.path().join(".specfact");
    let dotfiles = home.path().join("dotfiles");
    fs::create_dir_all(&dir).unwrap();
    fs::create_dir_all(&dotfiles).unwrap();
    fs::write(dotfiles.join("telemetry.yaml"), "# mine\nenabled: true\n").unwrap();
    std::os::unix::fs::symlink("../dotfiles/telemetry.yaml", dir.join("telemetry.yaml")).unwrap();
    // The opt-in link dangles: enabling creates the file it names.
    std::os::unix::fs::symlink(dotfiles.join("opt-in"), dir.join("telemetry.opt-in")).unwrap();

    disable(&settings(home.path())).unwrap();
    let link = dir.join("telemetry.yaml");
    assert!(
        fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(
        fs::read_to_string(dotfiles.join("telemetry.yaml")).unwrap(),
        "# mine\nenabled: false\n"
    );

    enable_with_endpoint(
        &settings(home.path()),
        Some("https://collector.example"),
        &[],
    )
    .unwrap();
    assert!(
        fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    let text = fs::read_to_string(dotfiles.join("telemetry.yaml")).unwrap();
    assert!(
        text.contains("enabled: true") && text.contains("collector.example"),
        "{text}"
    );

    std::os::unix::fs::symlink(dotfiles.join("opt-in"), dir.join("telemetry.opt-in")).unwrap();
    enable_locally(&settings(home.path())).unwrap();
    assert!(
        fs::symlink_metadata(dir.join("telemetry.opt-in"))
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(
        fs::read_to_string(dotfiles.join("opt-in")).unwrap(),
        "true\n"
    );
}
