//! Opting in and out: what `enable`, `disable` and `init` write, keep and warn about.

mod common;

use std::fs;

use common::{Home, run, status_json};

fn args(home: &Home, a: &[&str]) -> (i32, String, String) {
    let mut c = home.cmd();
    c.args(a);
    run(c)
}

#[test]
fn enable_is_local_only_by_default_and_says_what_it_collects() {
    let home = Home::new();
    let (code, out, err) = args(&home, &["enable"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        fs::read_to_string(home.specfact("telemetry.opt-in")).unwrap(),
        "true\n"
    );
    assert!(out.contains("Sent to:   nowhere (local only)"), "{out}");
    assert!(
        out.contains(&home.specfact("telemetry.log").display().to_string()),
        "{out}"
    );
    assert!(out.contains("Never:"), "{out}");
    assert_eq!(err, "");
    let j = status_json(home.cmd());
    assert_eq!(j["enabled"], true);
    assert_eq!(j["opt_in_source"], "file");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &std::path::Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&home.specfact("telemetry.opt-in")), 0o600);
        assert_eq!(mode(&home.path().join(".specfact")), 0o700);
    }
}

#[test]
fn enable_with_an_endpoint_keeps_the_users_comments_and_keys() {
    let home = Home::new();
    let yaml = home.write(
        "telemetry.yaml",
        "# my team's settings\nservice_name: acme # keep me\nenabled: false\nheaders:\n  X-Old: old-value\n",
    );
    let (code, out, err) = args(
        &home,
        &[
            "enable",
            "--endpoint",
            "https://otlp.example.com/v1/traces",
            "--header",
            "Authorization: Bearer tok-123-secret",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let text = fs::read_to_string(&yaml).unwrap();
    assert!(
        text.starts_with("# my team's settings\nservice_name: acme # keep me\n"),
        "{text}"
    );
    assert!(text.contains("enabled: true"), "{text}");
    assert!(
        !text.contains("X-Old"),
        "headers are replaced as a whole: {text}"
    );
    assert!(
        !out.contains("tok-123-secret") && !err.contains("tok-123-secret"),
        "{out}{err}"
    );
    assert!(out.contains("Authorization: Bearer ****"), "{out}");
    let j = status_json(home.cmd());
    assert_eq!(j["enabled"], true);
    assert_eq!(
        j["settings"]["endpoint"]["value"],
        "https://otlp.example.com/v1/traces"
    );
    assert_eq!(j["settings"]["service_name"]["value"], "acme");
}

#[test]
fn enable_warns_when_the_environment_overrides_it() {
    let home = Home::new();
    let mut c = home.cmd();
    c.env("DO_NOT_TRACK", "true").arg("enable");
    let (code, _, err) = run(c);
    assert_eq!(code, 0);
    assert!(
        err.contains("warning: telemetry is still off: DO_NOT_TRACK"),
        "{err}"
    );

    let mut c = home.cmd();
    c.env(
        "SPECFACT_TELEMETRY_ENDPOINT",
        "http://127.0.0.1:9/v1/traces",
    )
    .args(["enable", "--endpoint", "https://otlp.example.com/v1/traces"]);
    let (code, _, err) = run(c);
    assert_eq!(code, 0);
    assert!(
        err.contains("SPECFACT_TELEMETRY_ENDPOINT is set and overrides"),
        "{err}"
    );
}

#[test]
fn enable_refuses_bad_endpoints_and_headers_as_usage_errors_without_writing() {
    let home = Home::new();
    for bad in [
        vec!["enable", "--endpoint", "ftp://example.com/x"],
        vec![
            "enable",
            "--endpoint",
            "https://user:pa55word@example.com/v1/traces",
        ],
        vec![
            "enable",
            "--endpoint",
            "http://ok.example/v1/traces",
            "--header",
            "NoColonHere-secret",
        ],
        vec!["enable", "--header", "Authorization: Bearer x"],
    ] {
        let (code, out, err) = args(&home, &bad);
        assert_eq!(code, 2, "{bad:?}: {out}{err}");
        assert!(err.contains("Usage:"), "{err}");
        assert!(err.starts_with("error: "), "{err}");
        assert!(
            !err.contains("pa55word") && !err.contains("NoColonHere-secret"),
            "{err}"
        );
        assert!(home.tree().is_empty(), "{bad:?} wrote {:?}", home.tree());
    }
}

#[test]
fn disable_opts_out_everywhere_and_purge_deletes_the_data() {
    let home = Home::new();
    assert_eq!(args(&home, &["enable"]).0, 0);
    home.write(
        "telemetry.yaml",
        "enabled: true # on\nendpoint: http://127.0.0.1:4318/v1/traces\n",
    );
    home.write("telemetry.log", "{\"command\":\"a\",\"success\":true}\n");
    let (code, out, err) = args(&home, &["disable", "--purge"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("Telemetry is disabled."), "{out}");
    assert!(!home.specfact("telemetry.opt-in").exists());
    assert!(!home.specfact("telemetry.log").exists());
    let yaml = fs::read_to_string(home.specfact("telemetry.yaml")).unwrap();
    assert_eq!(
        yaml,
        "enabled: false\nendpoint: http://127.0.0.1:4318/v1/traces\n"
    );
    assert_eq!(
        status_json(home.cmd())["disabled_reason"]["code"],
        "opted_out"
    );
}

#[test]
fn disable_says_when_the_environment_still_enables() {
    let home = Home::new();
    let mut c = home.cmd();
    c.env("SPECFACT_TELEMETRY_OPT_IN", "1").arg("disable");
    let (code, out, err) = run(c);
    assert_eq!(code, 0);
    assert!(out.contains("Nothing to change"), "{out}");
    assert!(
        err.contains("still enabled by SPECFACT_TELEMETRY_OPT_IN"),
        "{err}"
    );
}

#[test]
fn init_writes_a_template_that_parses_and_never_overwrites_without_force() {
    let home = Home::new();
    let (code, _, err) = args(&home, &["init"]);
    assert_eq!(code, 0, "{err}");
    let j = status_json(home.cmd());
    assert_eq!(j["diagnostics"].as_array().unwrap().len(), 0, "{j:#}");
    assert_eq!(j["enabled"], false);

    fs::write(home.specfact("telemetry.yaml"), "enabled: true\n").unwrap();
    let (code, _, err) = args(&home, &["init"]);
    assert_eq!(code, 1);
    assert!(err.contains("--force"), "{err}");
    assert_eq!(
        fs::read_to_string(home.specfact("telemetry.yaml")).unwrap(),
        "enabled: true\n"
    );
    assert_eq!(args(&home, &["init", "--force"]).0, 0);
    assert!(
        fs::read_to_string(home.specfact("telemetry.yaml"))
            .unwrap()
            .contains("# specfact-telemetry configuration.")
    );

    let (code, out, _) = args(&home, &["init", "--print"]);
    assert_eq!(code, 0);
    assert!(out.contains("regression_categories"));
}

#[test]
fn every_key_in_the_template_is_a_known_key_when_uncommented() {
    let home = Home::new();
    let (_, template, _) = args(&home, &["init", "--print"]);
    // Uncomment every commented key line (`# key: value` and its indented children).
    let uncommented: String = template
        .lines()
        .filter_map(|l| {
            let body = l.strip_prefix("# ")?;
            let key_like = body.split(':').next().is_some_and(|k| {
                !k.is_empty()
                    && k.trim_start()
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
            }) && body.contains(':');
            key_like.then(|| format!("{body}\n"))
        })
        .collect();
    home.write("telemetry.yaml", format!("enabled: false\n{uncommented}"));
    let j = status_json(home.cmd());
    assert_eq!(
        j["diagnostics"].as_array().unwrap().len(),
        0,
        "{uncommented}\n{j:#}"
    );
    assert_eq!(
        j["settings"]["endpoint"]["value"],
        "http://localhost:4318/v1/traces"
    );
}

#[test]
fn opt_in_record_show_disable_purge_leaves_nothing_behind() {
    let home = Home::new();
    assert_eq!(args(&home, &["enable"]).0, 0);
    for cmd in ["plan.init", "repro.run"] {
        let (code, out, err) = args(&home, &["record", cmd, "--field", "checks_total=3"]);
        assert_eq!((code, out.as_str(), err.as_str()), (0, "", ""), "{cmd}");
    }
    let (code, out, _) = args(&home, &["show"]);
    assert_eq!(code, 0);
    assert!(
        out.contains("plan.init") && out.contains("repro.run"),
        "{out}"
    );
    let (code, _, err) = args(&home, &["disable"]);
    assert_eq!(code, 0, "{err}");
    // Opted out: recording now writes nothing.
    let before = fs::read(home.specfact("telemetry.log")).unwrap();
    assert_eq!(args(&home, &["record", "plan.init"]).0, 0);
    assert_eq!(fs::read(home.specfact("telemetry.log")).unwrap(), before);
    let (code, out, err) = args(&home, &["purge", "--yes"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(home.tree().is_empty(), "left behind: {:?}", home.tree());
}

#[test]
fn enable_warns_about_refused_credentials_and_carried_over_headers() {
    let home = Home::new();
    let (code, out, err) = args(
        &home,
        &[
            "enable",
            "--endpoint",
            "http://collector.example.com/v1/traces",
            "--header",
            "Authorization: Bearer tok-warn-1",
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("warning: nothing will be sent: refusing to send credentials over plain http"),
        "{err}"
    );
    assert!(!out.contains("tok-warn-1") && !err.contains("tok-warn-1"));

    let (code, _, err) = args(
        &home,
        &["enable", "--endpoint", "https://new.example.com/v1/traces"],
    );
    assert_eq!(code, 0);
    assert!(
        err.contains(
            "headers already configured (Authorization) will be sent to this endpoint too"
        ),
        "{err}"
    );
}

#[test]
fn an_endpoint_query_is_never_shown() {
    let home = Home::new();
    let (code, out, err) = args(
        &home,
        &[
            "enable",
            "--endpoint",
            "https://otlp.example.com/v1/traces?api_key=QS3CRET",
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert!(!out.contains("QS3CRET"), "{out}");
    let (_, status, _) = args(&home, &["status"]);
    let (_, json, _) = args(&home, &["status", "--json"]);
    for text in [status, json] {
        assert!(!text.contains("QS3CRET"), "{text}");
        assert!(
            text.contains("https://otlp.example.com/v1/traces?****"),
            "{text}"
        );
    }
}
