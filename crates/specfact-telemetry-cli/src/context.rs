//! What every subcommand starts from: one environment snapshot, the home directory and
//! the settings resolved from them.

use std::path::PathBuf;

use specfact_telemetry::{DeliveryOptions, EnvSnapshot, LocalLog, Settings, UploaderCommand};

/// The environment a subcommand runs in.
#[derive(Debug, Clone)]
pub struct Context {
    /// The variables telemetry reads, captured once.
    pub env: EnvSnapshot,
    /// The home directory, if known.
    pub home: Option<PathBuf>,
    /// Settings resolved from `env` and `home`.
    pub settings: Settings,
    /// The command that starts this executable as the detached uploader (`None`:
    /// deliver from a thread).
    pub uploader: Option<UploaderCommand>,
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
            uploader: None,
        }
    }

    /// The same context, delivering through this uploader command.
    pub fn with_uploader(mut self, uploader: Option<UploaderCommand>) -> Self {
        self.uploader = uploader;
        self
    }

    /// How handles recording for this command deliver: a detached uploader when there
    /// is a command for it.
    pub fn delivery_options(&self) -> DeliveryOptions {
        DeliveryOptions {
            uploader: self.uploader.clone(),
            ..DeliveryOptions::default()
        }
    }

    /// The local log, unless there is neither a home directory nor a configured path.
    pub fn local_log(&self) -> Option<LocalLog> {
        self.settings.local_path.value.clone().map(LocalLog::new)
    }
}
