//! A small host CLI that records a few commands into a scratch home directory and
//! shows what was recorded. It never touches your real `~/.specfact`.
//!
//! ```text
//! cargo run -p specfact-telemetry --example demo            # a scratch directory, removed at the end
//! cargo run -p specfact-telemetry --example demo -- DIR     # or one you choose, kept
//! ```

use std::path::PathBuf;
use std::time::Duration;

use specfact_telemetry::{EnvSnapshot, LocalLog, Settings, Telemetry, metadata};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // A directory we create is removed when the demo ends (also on an error); one you
    // name is kept.
    let scratch;
    let home = match std::env::args_os().nth(1) {
        Some(dir) => PathBuf::from(dir),
        None => {
            scratch = tempfile::Builder::new()
                .prefix("specfact-telemetry-demo-")
                .tempdir()?;
            scratch.path().to_owned()
        }
    };
    std::fs::create_dir_all(&home)?;
    println!("scratch home: {}\n", home.display());

    // Opt in for this process only, with debug output, as a user would with
    // SPECFACT_TELEMETRY_OPT_IN=true SPECFACT_TELEMETRY_DEBUG=true.
    let env = EnvSnapshot::from_pairs([
        ("SPECFACT_TELEMETRY_OPT_IN", "true"),
        ("SPECFACT_TELEMETRY_DEBUG", "true"),
    ]);
    let settings = Settings::resolve(&env, Some(&home));
    let telemetry = Telemetry::builder(settings).cli_version("0.21.0").build();

    println!("-- plan.init: succeeds");
    let guard = telemetry.track_command("plan.init", metadata!());
    guard.success();

    println!("-- import.from_code: a repository path slips into the metadata and is dropped");
    let mut guard = telemetry.track_command("import.from_code", metadata! { "mode" => "cicd" });
    std::thread::sleep(Duration::from_millis(20));
    guard.record(metadata! {
        "files_analyzed" => 143,
        "features_detected" => 27,
        "stories_detected" => 112,
        "repository" => home.join("acme/payments").display().to_string(),
    });
    guard.success();

    println!("-- repro.run: contracts catch two violations; an error message is not an error type");
    let mut guard = telemetry.track_command("repro.run", metadata! { "mode" => "repro" });
    guard.record(
        metadata! { "checks_total" => 6, "checks_failed" => 2, "violations_detected" => 2 },
    );
    guard.failure("could not open plan.yaml in /srv/acme"); // a message: dropped, failure kept

    println!("-- plan.compare: returns early without finishing the guard");
    let result: Result<(), std::io::Error> = (|| {
        let _guard = telemetry.track_command("plan.compare", metadata!());
        Err(std::io::Error::other("cannot read /home/someone/plan.yaml"))?;
        Ok(())
    })();
    assert!(result.is_err());

    let log = LocalLog::new(home.join(".specfact/telemetry.log"));
    println!("\n{} now holds:", log.path().display());
    print!("{}", std::fs::read_to_string(log.path())?);
    let stats = log.stats()?;
    println!(
        "\n{} events, {} malformed lines, {} bytes",
        stats.events, stats.malformed, stats.bytes
    );
    Ok(())
}
