//! The run directory (`runs/<name>/`): `config.toml`, `metrics.csv`, `summary.json`.
//! Files are written into `<dir>.partial-<pid>` and the whole directory is renamed into
//! place at the end; an existing directory is refused unless `--force`.

use crate::error::{Error, Result};
use std::path::{Path, PathBuf};

pub struct RunDir {
    final_path: PathBuf,
    staging: PathBuf,
    force: bool,
}

impl RunDir {
    /// Check that `path` may be written (before any work starts) and open a staging
    /// directory beside it.
    pub fn create(path: &Path, force: bool) -> Result<RunDir> {
        if path.exists() && !force {
            return Err(Error::bad_input(format!(
                "--out {}: the directory already exists; choose another --out or pass --force to replace it",
                path.display()
            )));
        }
        let name = path.file_name().ok_or_else(|| {
            Error::bad_input(format!("--out {}: not a directory name", path.display()))
        })?;
        let staging = path.with_file_name(format!(
            ".{}.partial-{}",
            name.to_string_lossy(),
            std::process::id()
        ));
        if staging.exists() {
            std::fs::remove_dir_all(&staging).map_err(|e| Error::io(&staging, e))?;
        }
        std::fs::create_dir_all(&staging).map_err(|e| Error::io(&staging, e))?;
        Ok(RunDir {
            final_path: path.to_path_buf(),
            staging,
            force,
        })
    }

    /// The staging folder files are written into until [`RunDir::finish`].
    pub fn staging_path(&self) -> &Path {
        &self.staging
    }

    pub fn write(&self, file: &str, contents: impl AsRef<[u8]>) -> Result<()> {
        let p = self.staging.join(file);
        std::fs::write(&p, contents).map_err(|e| Error::io(&p, e))
    }

    /// Move the finished directory into place; returns its path.
    pub fn finish(mut self) -> Result<PathBuf> {
        if self.final_path.exists() && self.force {
            std::fs::remove_dir_all(&self.final_path)
                .map_err(|e| Error::io(&self.final_path, e))?;
        }
        std::fs::rename(&self.staging, &self.final_path)
            .map_err(|e| Error::io(&self.final_path, e))?;
        // Nothing is left to clean up once the staging directory has become the run.
        self.staging = PathBuf::new();
        Ok(self.final_path.clone())
    }
}

impl Drop for RunDir {
    /// A run that fails leaves nothing behind.
    fn drop(&mut self) {
        if !self.staging.as_os_str().is_empty() {
            let _ = std::fs::remove_dir_all(&self.staging);
        }
    }
}

/// The default run directory of a model: `runs/<model>-<UTC time>`.
pub fn default_out(model: &str) -> PathBuf {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    PathBuf::from("runs").join(format!("{model}-{}", utc_stamp(secs)))
}

/// `YYYYmmdd-HHMMSS` in UTC (civil-from-days, Howard Hinnant's algorithm).
fn utc_stamp(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + if m <= 2 { 1 } else { 0 };
    format!(
        "{y:04}{m:02}{d:02}-{:02}{:02}{:02}",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}
