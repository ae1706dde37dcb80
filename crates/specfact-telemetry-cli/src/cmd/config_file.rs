//! Writing the files under `~/.specfact/` atomically and privately (0600), for `init`.
//! Editing `telemetry.yaml` (keeping the user's keys and comments) is the library's
//! `optin` module.

use std::path::Path;

use anyhow::Context as _;
use specfact_telemetry::private_file;

/// Writes `contents` to `path` atomically (temporary file + rename), mode 0600,
/// creating the parent directory with mode 0700.
pub fn write_private(path: &Path, contents: &str) -> anyhow::Result<()> {
    private_file::write_private(path, contents.as_bytes())
        .with_context(|| format!("cannot write {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    #[test]
    fn write_private_creates_0600_files_in_0700_dirs() {
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join("a/telemetry.yaml");
        write_private(&p, "enabled: true\n").unwrap();
        assert_eq!(fs::read_to_string(&p).unwrap(), "enabled: true\n");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                fs::metadata(&p).unwrap().permissions().mode() & 0o777,
                0o600
            );
            assert_eq!(
                fs::metadata(tmp.path().join("a"))
                    .unwrap()
                    .permissions()
                    .mode()
                    & 0o777,
                0o700
            );
        }
        assert_eq!(fs::read_dir(tmp.path().join("a")).unwrap().count(), 1);
    }
}
