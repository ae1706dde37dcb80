//! What every subcommand starts from: one environment snapshot, the home directory and
//! the settings resolved from them.

use std::path::PathBuf;

use specfact_telemetry::{EnvSnapshot, LocalLog, Settings};

/// The environment a subcommand runs in.
#[derive(Debug, Clone)]
pub struct Context {
    /// The variables telemetry reads, captured once.
    pub env: EnvSnapshot,
    /// The home directory, if known.
    pub home: Option<PathBuf>,
    /// Settings resolved from `env` and `home`.
    pub settings: Settings,
}

impl Context {
    /// Captures the process environment.
    pub fn from_process() -> Self {
        let env = EnvSnapshot::from_process();
        let home = env.home();
        let settings = Settings::resolve(&env, home.as_deref());
        Context {
            env,
            home,
            settings,
        }
    }

    /// The local log, unless there is neither a home directory nor a configured path.
    pub fn local_log(&self) -> Option<LocalLog> {
        self.settings.local_path.value.clone().map(LocalLog::new)
    }
}
