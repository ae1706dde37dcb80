//! What every command shares: `--help` with examples, `--version`, usage errors with
//! exit status 2, and shell completions.

mod common;

use common::{Home, run};

/// The subcommands the top-level help lists.
fn subcommands(home: &Home) -> Vec<String> {
    let mut c = home.cmd();
    c.arg("--help");
    let (code, out, _) = run(c);
    assert_eq!(code, 0);
    out.lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        // A description wrapped onto a second line is indented further: not a name.
        .filter(|l| !l[2..].starts_with(' '))
        .filter_map(|l| l.split_whitespace().next().map(str::to_owned))
        .filter(|name| name != "help")
        .collect()
}

#[test]
fn every_subcommand_has_help_with_an_example() {
    let home = Home::new();
    let names = subcommands(&home);
    for expected in [
        "status",
        "enable",
        "disable",
        "init",
        "show",
        "record",
        "run",
        "export",
        "doctor",
        "purge",
        "completions",
        "report",
        "view",
    ] {
        assert!(
            names.iter().any(|n| n == expected),
            "{expected} in {names:?}"
        );
    }
    for name in &names {
        let mut c = home.cmd();
        c.args([name.as_str(), "--help"]);
        let (code, out, err) = run(c);
        assert_eq!((code, err.as_str()), (0, ""), "{name}");
        assert!(out.contains("Usage: specfact-telemetry "), "{name}: {out}");
        assert!(out.contains("Examples:"), "{name} has no example: {out}");
        assert!(
            out.contains(&format!("specfact-telemetry {name}")),
            "{name}: the example does not use the command: {out}"
        );
    }
    assert!(home.tree().is_empty());
}

#[test]
fn version_is_printed_for_the_tool_and_its_subcommands() {
    let home = Home::new();
    let expected = format!("specfact-telemetry {}\n", env!("CARGO_PKG_VERSION"));
    for args in [&["--version"][..], &["-V"]] {
        let mut c = home.cmd();
        c.args(args);
        let (code, out, _) = run(c);
        assert_eq!((code, out.as_str()), (0, expected.as_str()), "{args:?}");
    }
    let mut c = home.cmd();
    c.args(["show", "--version"]);
    let (code, out, _) = run(c);
    assert_eq!(code, 0);
    assert!(
        out.ends_with(&format!(" {}\n", env!("CARGO_PKG_VERSION"))),
        "{out}"
    );
}

#[test]
fn usage_errors_exit_2() {
    let home = Home::new();
    let cases: &[&[&str]] = &[
        &[],
        &["no-such-command"],
        &["show", "--no-such-flag"],
        &["show", "-n", "many"],
        &["record"],
        &["purge", "--older-than"],
        &["completions"],
        &["completions", "tcsh"],
    ];
    for args in cases {
        let mut c = home.cmd();
        c.args(*args);
        let (code, out, err) = run(c);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert_eq!(out, "", "{args:?}");
        assert!(
            err.contains("error:") || err.contains("Usage:"),
            "{args:?}: {err}"
        );
    }
}

#[test]
fn completions_for_every_supported_shell() {
    let home = Home::new();
    for (shell, marker) in [
        ("bash", "complete -F"),
        ("zsh", "#compdef specfact-telemetry"),
        ("fish", "complete -c specfact-telemetry"),
        ("powershell", "Register-ArgumentCompleter"),
        ("elvish", "edit:completion:arg-completer"),
    ] {
        let mut c = home.cmd();
        c.args(["completions", shell]);
        let (code, out, err) = run(c);
        assert_eq!((code, err.as_str()), (0, ""), "{shell}");
        assert!(out.contains(marker), "{shell}: {out:.300}");
        for sub in ["show", "record", "purge", "completions"] {
            assert!(out.contains(sub), "{shell} completion lacks {sub}");
        }
    }
}

#[cfg(unix)]
#[test]
fn bash_completion_completes_subcommands() {
    use std::process::Command;
    if Command::new("bash").arg("--version").output().is_err() {
        return;
    }
    let home = Home::new();
    let mut c = home.cmd();
    c.args(["completions", "bash"]);
    let (_, script, _) = run(c);
    let path = home.path().join("completion.bash");
    std::fs::write(&path, script).unwrap();
    let probe = format!(
        "source '{}'; COMP_WORDS=(specfact-telemetry pu); COMP_CWORD=1; COMP_LINE='specfact-telemetry pu'; COMP_POINT=${{#COMP_LINE}}; f=$(complete -p specfact-telemetry | sed -E 's/.*-F ([^ ]+).*/\\1/'); \"$f\" specfact-telemetry pu specfact-telemetry; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
        path.display()
    );
    let out = Command::new("bash")
        .args(["--norc", "--noprofile", "-c", &probe])
        .env_clear()
        .output()
        .unwrap();
    let words = String::from_utf8_lossy(&out.stdout);
    assert!(
        words.lines().any(|w| w == "purge"),
        "{words}{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Examples in `--help` are whole commands whatever the terminal's width, so they can
/// be copied and pasted; subcommands do not list `-V`, and a mistyped option is not
/// answered with `--version`.
#[test]
fn help_examples_are_never_wrapped_and_subcommands_do_not_offer_version() {
    let home = Home::new();
    let examples = |name: &str, columns: &str| {
        let mut c = home.cmd();
        c.env("COLUMNS", columns).args([name, "--help"]);
        let (code, out, _) = run(c);
        assert_eq!(code, 0, "{name}");
        let ex: Vec<String> = out
            .lines()
            .skip_while(|l| !l.starts_with("Examples:"))
            .map(str::to_owned)
            .collect();
        (out, ex)
    };
    for name in subcommands(&home) {
        let (narrow_help, narrow) = examples(&name, "60");
        let (_, wide) = examples(&name, "300");
        assert_eq!(narrow, wide, "{name}: an example is wrapped at 60 columns");
        assert!(!narrow_help.contains("-V, --version"), "{name} lists -V");
    }
    let mut c = home.cmd();
    c.args(["status", "--verbose"]);
    let (code, _, err) = run(c);
    assert_eq!(code, 2);
    assert!(!err.contains("--version"), "{err}");
}
