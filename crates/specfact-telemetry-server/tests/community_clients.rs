//! End to end, once per store: events from our CLI (`record` with an endpoint) and from the
//! original SpecFact CLI 0.20.5 reach the server, its community figures count them, and
//! `specfact-telemetry report --compare` against the server shows both sides.

mod support;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::{Backend, cli_binary, http, required, run_specfact, workspace_root};

store_tests!(both_clients_reach_the_community_figures_and_compare_shows_them);

fn ours(home: &Path, endpoint: Option<&str>, args: &[&str]) -> String {
    let mut c = Command::new(cli_binary());
    c.args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("SPECFACT_TELEMETRY_OPT_IN", "true")
        .env("COLUMNS", "200")
        .stdin(Stdio::null());
    if let Some(e) = endpoint {
        c.env("SPECFACT_TELEMETRY_ENDPOINT", e);
    }
    let out = c.output().unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn specfact(exe: &Path, home: &Path, repo: &Path, endpoint: &str, args: &[&str]) {
    std::fs::create_dir_all(home).unwrap();
    std::fs::create_dir_all(repo).unwrap();
    let git = Command::new("git")
        .args(["init", "-q", "."])
        .current_dir(repo)
        .status()
        .unwrap();
    assert!(git.success());
    run_specfact(exe, home, repo, endpoint, args);
}

fn both_clients_reach_the_community_figures_and_compare_shows_them(b: &Backend) {
    let exe = workspace_root().join(".venv-test/bin/specfact");
    let Some(exe) = required(
        exe.is_file().then_some(exe),
        "SpecFact CLI 0.20.5 (.venv-test/bin/specfact)",
    ) else {
        return;
    };
    let server = b.start(&[
        "--min-sessions",
        "2",
        "--community-cutoff",
        "now",
        "--community-refresh",
        "1s",
    ]);
    let endpoint = server.traces_url();
    // Our CLI: two users, each a session of repro.run that prevented regressions.
    let (alice, bob) = (b.dir.path().join("alice"), b.dir.path().join("bob"));
    for (home, violations) in [(&alice, "3"), (&bob, "5")] {
        std::fs::create_dir_all(home).unwrap();
        ours(
            home,
            Some(&endpoint),
            &[
                "record",
                "repro.run",
                "--field",
                &format!("violations_detected={violations}"),
                "--duration-ms",
                "120",
            ],
        );
    }
    // Bob also runs an in-house command, in a session of its own.
    ours(
        &bob,
        Some(&endpoint),
        &["record", "acme.deploy", "--duration-ms", "9"],
    );
    // SpecFact 0.20.5: two users run `plan init`, one also `enforce stage`, in one session.
    for who in ["carol", "dave"] {
        let home = b.dir.path().join(who);
        let repo = b.dir.path().join(format!("{who}-repo"));
        specfact(
            &exe,
            &home,
            &repo,
            &endpoint,
            &["--no-banner", "plan", "init", "demo", "--no-interactive"],
        );
    }
    let carol = b.dir.path().join("carol");
    specfact(
        &exe,
        &carol,
        &b.dir.path().join("carol-repo"),
        &endpoint,
        &["--no-banner", "enforce", "stage", "--preset", "strict"],
    );

    let deadline = Instant::now() + Duration::from_secs(60);
    let community = loop {
        let r = http(server.port, "GET", "/api/community.json", &[], b"");
        if r.status == 200 {
            let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
            if v["events"] == 6 {
                break v;
            }
        }
        assert!(Instant::now() < deadline, "never 6 events: {}", r.text());
        std::thread::sleep(Duration::from_millis(200));
    };
    let names: Vec<&str> = community["commands"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["command"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"repro.run") && names.contains(&"plan.init"),
        "{community}"
    );
    // enforce.stage and acme.deploy ran in one session each: held back, named nowhere, and
    // pooled (2 sessions together, so no published command has to join them).
    assert!(!names.contains(&"enforce.stage"), "{community}");
    assert!(!community.to_string().contains("acme"), "{community}");
    assert_eq!(community["held_back"]["commands"], 2, "{community}");
    let page = http(server.port, "GET", "/", &[], b"").text();
    assert!(
        !page.contains("acme") && !page.contains("enforce.stage"),
        "{page}"
    );
    assert!(page.contains(r#"data-command="plan.init""#), "{page}");
    assert_eq!(community["regressions"]["contract_violations"]["count"], 8);

    // Alice compares: her numbers and the community's, in JSON and as a table.
    let url = format!("http://127.0.0.1:{}", server.port);
    let json: serde_json::Value = serde_json::from_str(&ours(
        &alice,
        None,
        &["report", "--format", "json", "--compare", &url],
    ))
    .unwrap();
    let cmp = &json["compare"];
    assert_eq!(cmp["community_sessions"], 6, "{cmp}");
    let repro = cmp["commands"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["command"] == "repro.run")
        .unwrap();
    assert_eq!(repro["mine"]["runs"], 1);
    assert_eq!(repro["community"]["runs"], 2);
    assert_eq!(repro["community"]["median_ms"], 120.0);
    assert_eq!(cmp["headlines"]["contract_share"]["mine"], 1.0);
    assert_eq!(cmp["headlines"]["contract_share"]["community"], 1.0);
    let table = ours(&alice, None, &["report", "--compare", &url]);
    assert!(table.contains("Compared with the community"), "{table}");
    assert!(table.contains("6 sessions"), "{table}");
    let html = ours(
        &alice,
        None,
        &["report", "--format", "html", "--compare", &url],
    );
    assert!(html.contains(r#"<section id="compare">"#), "{html}");
    assert!(
        html.contains(r#"data-metric="compare_contract_share" data-mine="1" data-community="1""#),
        "{html}"
    );
}
