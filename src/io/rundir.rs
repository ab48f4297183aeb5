//! The run directory (`runs/<name>/`, DESIGN §7). It exists from the start of a run and
//! says what it is in `manifest.json`: this tool's, which run, and its status (running →
//! interrupted, failed or complete). Every file in it is written under a temporary name,
//! synced and renamed into place, so a reader never sees half a file; metrics rows are
//! appended as they come (see [`super::metrics_file`]).
//!
//! `--out` is checked before any work ([`claim`]): a regular file, a link, a parent that
//! cannot be written or a name too long are refused, and an existing directory is
//! replaced only with `--force` and only if its manifest says it is a run directory of
//! ours. Nothing is ever written beside the run directory.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};

/// The manifest's file name.
pub const MANIFEST: &str = "manifest.json";
/// What every manifest of ours says in `tool`.
const TOOL: &str = "emergence";
/// The longest file name most file systems allow (NAME_MAX).
const NAME_MAX: usize = 255;
/// The longest path Linux accepts (PATH_MAX, with its terminating NUL).
const PATH_MAX: usize = 4095;

/// Where a run stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Running,
    /// Stopped by a signal after writing a checkpoint: `run --resume` continues it.
    Interrupted,
    Failed,
    Complete,
}

impl Status {
    pub fn name(self) -> &'static str {
        match self {
            Status::Running => "running",
            Status::Interrupted => "interrupted",
            Status::Failed => "failed",
            Status::Complete => "complete",
        }
    }
}

/// A graph file a run read, recorded so that a resume or a re-run reads the same one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GraphFile {
    /// Absolute path.
    pub path: PathBuf,
    pub sha256: String,
    pub bytes: u64,
}

/// A file of a finished run directory, relative to it, with its size.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutputFile {
    pub path: String,
    pub bytes: u64,
}

/// `manifest.json`: what the directory is and where its run stands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Always "emergence": how `--force` tells a run directory of ours.
    pub tool: String,
    /// "run" or "scaling".
    pub kind: String,
    /// The crate version, and the git commit the binary was built from (when built from
    /// a checkout).
    pub version: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub git_commit: Option<String>,
    /// The command line that started the run (of its last segment, for a resumed run).
    #[serde(default)]
    pub command: Vec<String>,
    pub status: Status,
    /// The process's exit code once the run ended: 0 complete, 1 failed, 2 bad input,
    /// 3 interrupted (resumable).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub exit_code: Option<u8>,
    pub model: String,
    /// The backend the run uses ("cpu", "gpu"); a resume uses the same.
    pub backend: String,
    pub adapter: String,
    /// The adapter's driver and its version (empty on the CPU backend).
    #[serde(default)]
    pub adapter_driver: String,
    /// Bytes of the model's state buffers as planned before the start (on the device for
    /// the GPU backend, in host memory for the CPU one).
    #[serde(default)]
    pub planned_device_bytes: u64,
    pub agents: u64,
    pub seed: u64,
    /// Ticks asked for (an upper bound for models that stop early).
    pub ticks: u64,
    /// Ticks completed as far as the files on disk go (the last checkpoint's tick while
    /// running; the last row's at the end).
    pub tick: u64,
    /// SHA-256 of `config.toml`.
    pub config_sha256: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub graph_file: Option<GraphFile>,
    /// The last checkpoint, relative to the run directory.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub checkpoint: Option<String>,
    /// `--checkpoint-every` and `--checkpoint-every-s` as the run was started with (a
    /// resume keeps them).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub checkpoint_every: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub checkpoint_every_s: Option<f64>,
    /// `--snapshot-every` and `--snapshot-at` (a resume keeps them).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub snapshot_every: Option<u64>,
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub snapshot_at: Vec<u64>,
    /// The frames and movie the run renders (a movie by absolute path), which a resume
    /// continues.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub render: Option<crate::render::RenderRequest>,
    /// How many times the run was resumed.
    #[serde(default)]
    pub resumed: u32,
    /// UTC, `YYYY-mm-ddTHH:MM:SS.mmmZ`: when the directory was created, when the last
    /// segment of the run started (a resume starts one), when the manifest was last
    /// written and when the run ended.
    pub created: String,
    #[serde(default)]
    pub started: String,
    pub updated: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub ended: Option<String>,
    /// Wall time of the run's segments so far, in seconds.
    #[serde(default)]
    pub wall_s: f64,
    /// The run directory's files and their sizes, once the run ended.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub files: Vec<OutputFile>,
    /// The process that writes the run, and its host: a `running` run whose process is
    /// gone was killed, and may be resumed.
    pub pid: u32,
    pub host: String,
    /// Why the run failed.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub error: Option<String>,
}

impl Manifest {
    /// A manifest for a run starting now, by this process.
    pub fn new(kind: &str, model: &str) -> Manifest {
        let now = utc_now();
        Manifest {
            tool: TOOL.into(),
            kind: kind.into(),
            version: env!("CARGO_PKG_VERSION").into(),
            git_commit: option_env!("EMERGENCE_GIT_COMMIT").map(str::to_string),
            command: Vec::new(),
            status: Status::Running,
            exit_code: None,
            model: model.into(),
            backend: String::new(),
            adapter: String::new(),
            adapter_driver: String::new(),
            planned_device_bytes: 0,
            agents: 0,
            seed: 0,
            ticks: 0,
            tick: 0,
            config_sha256: String::new(),
            graph_file: None,
            checkpoint: None,
            checkpoint_every: None,
            checkpoint_every_s: None,
            snapshot_every: None,
            snapshot_at: Vec::new(),
            render: None,
            resumed: 0,
            created: now.clone(),
            started: now.clone(),
            updated: now,
            ended: None,
            wall_s: 0.0,
            files: Vec::new(),
            pid: std::process::id(),
            host: hostname(),
            error: None,
        }
    }

    /// The manifest of the run directory `dir`, if it has one of ours.
    pub fn read(dir: &Path) -> Option<Manifest> {
        let text = std::fs::read_to_string(dir.join(MANIFEST)).ok()?;
        serde_json::from_str::<Manifest>(&text)
            .ok()
            .filter(|m| m.tool == TOOL)
    }

    /// Whether the process that wrote this manifest may still be writing the run: it says
    /// `running` and its process is alive on this host (or it ran on another host).
    pub fn maybe_running(&self) -> bool {
        self.status == Status::Running
            && (self.host != hostname() || Path::new(&format!("/proc/{}", self.pid)).exists())
    }
}

/// What [`claim`] found: `--out` may be written, and whether a run directory of ours is
/// to be replaced there.
#[derive(Debug)]
pub struct Claim {
    path: PathBuf,
    replace: bool,
}

/// Check that `path` may become a run directory, before any work: nothing is written or
/// removed here. `flag` names the option in messages (`--out`).
pub fn claim(path: &Path, force: bool, flag: &str) -> Result<Claim> {
    let shown = path.display();
    let bad = |why: String| Error::bad_input(format!("{flag} {shown}: {why}"));
    let Some(name) = path.file_name() else {
        return Err(bad(
            "not a directory name (give a path that ends in a name, e.g. runs/a)".into(),
        ));
    };
    if name.len() > NAME_MAX {
        return Err(bad(format!(
            "the name is {} bytes long; a file name may have at most {NAME_MAX}",
            name.len()
        )));
    }
    if path.as_os_str().len() > PATH_MAX {
        return Err(bad(format!(
            "the path is {} bytes long; at most {PATH_MAX} are allowed",
            path.as_os_str().len()
        )));
    }
    let mut replace = false;
    match std::fs::symlink_metadata(path) {
        Ok(md) if md.file_type().is_symlink() => {
            return Err(bad(if path.exists() {
                "is a symbolic link; give the directory it points to".into()
            } else {
                "is a symbolic link to nothing (dangling); remove it or choose another --out".into()
            }));
        }
        Ok(md) if !md.is_dir() => {
            return Err(bad(
                "is a file, not a directory; --out names a run directory to create".into(),
            ));
        }
        Ok(_) => {
            let manifest = Manifest::read(path);
            match (&manifest, force) {
                (Some(m), _) if m.maybe_running() => {
                    return Err(bad(format!(
                        "is a run in progress (process {} on {}); wait for it or choose another --out",
                        m.pid, m.host
                    )));
                }
                (Some(m), false) if matches!(m.status, Status::Interrupted | Status::Running) => {
                    return Err(bad(format!(
                        "holds an unfinished run (status {}); continue it with `emergence run --resume {shown}`, or pass --force to replace it",
                        m.status.name()
                    )));
                }
                (_, false) => {
                    return Err(bad(
                        "already exists; choose another --out, or pass --force to replace a run directory"
                            .into(),
                    ));
                }
                (None, true) => {
                    return Err(bad(format!(
                        "is not a run directory of emergence (it has no {MANIFEST} of ours); --force replaces only run directories, and nothing was removed"
                    )));
                }
                (Some(_), true) => replace = true,
            }
        }
        // Absent, or under something that is not a directory (said below).
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory
            ) => {}
        Err(e) => return Err(bad(format!("cannot be inspected ({e})"))),
    }
    // The nearest folder that exists must be a directory this process can create in.
    let mut ancestor = path.parent();
    while let Some(a) = ancestor {
        let dir = if a.as_os_str().is_empty() {
            Path::new(".")
        } else {
            a
        };
        match std::fs::metadata(dir) {
            Ok(md) if md.is_dir() => {
                probe_writable(dir).map_err(|e| {
                    bad(format!(
                        "cannot create a directory in {} ({e})",
                        dir.display()
                    ))
                })?;
                break;
            }
            Ok(_) => return Err(bad(format!("{} is not a directory", dir.display()))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => ancestor = a.parent(),
            Err(e) => return Err(bad(format!("{} cannot be inspected ({e})", dir.display()))),
        }
    }
    Ok(Claim {
        path: path.to_path_buf(),
        replace,
    })
}

/// Create and remove a folder in `dir`: the only sure test that a directory can be made
/// there (permissions, read-only mounts, quotas on inodes).
fn probe_writable(dir: &Path) -> std::io::Result<()> {
    // Unique per call: runs of one sweep claim folders side by side in one process.
    static PROBES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let k = PROBES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let probe = dir.join(format!(".emergence-probe-{}-{k}", std::process::id()));
    std::fs::create_dir(&probe)?;
    std::fs::remove_dir(&probe)
}

impl Claim {
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Create the run directory (replacing the run directory of ours that was there) and
    /// write its manifest.
    pub fn create(self, manifest: Manifest) -> Result<RunDir> {
        if self.replace {
            // Checked by `claim`: a run directory of ours, not running.
            std::fs::remove_dir_all(&self.path).map_err(|e| Error::io(&self.path, e))?;
        }
        if let Some(parent) = self.path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
        }
        std::fs::create_dir(&self.path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::AlreadyExists {
                Error::bad_input(format!(
                    "--out {}: another process created it meanwhile",
                    self.path.display()
                ))
            } else {
                Error::io(&self.path, e)
            }
        })?;
        let dir = RunDir {
            path: self.path,
            manifest,
            since: std::time::Instant::now(),
            wall_before: 0.0,
        };
        dir.write_manifest()?;
        Ok(dir)
    }
}

/// An open run directory, written by this process.
pub struct RunDir {
    path: PathBuf,
    manifest: Manifest,
    /// When this process took the run, and the wall time of the segments before.
    since: std::time::Instant,
    wall_before: f64,
}

impl RunDir {
    /// Go on writing the run directory of an interrupted run (`run --resume`): this
    /// process takes it over.
    pub fn reopen(path: &Path, mut manifest: Manifest) -> Result<RunDir> {
        manifest.status = Status::Running;
        manifest.pid = std::process::id();
        manifest.host = hostname();
        manifest.error = None;
        manifest.exit_code = None;
        manifest.ended = None;
        manifest.files.clear();
        manifest.started = utc_now();
        manifest.resumed += 1;
        let wall_before = manifest.wall_s;
        let dir = RunDir {
            path: path.to_path_buf(),
            manifest,
            since: std::time::Instant::now(),
            wall_before,
        };
        dir.write_manifest()?;
        Ok(dir)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// Change the manifest and write it.
    pub fn update(&mut self, f: impl FnOnce(&mut Manifest)) -> Result<()> {
        f(&mut self.manifest);
        self.write_manifest()
    }

    fn write_manifest(&self) -> Result<()> {
        let mut m = self.manifest.clone();
        m.updated = utc_now();
        let text = serde_json::to_string_pretty(&m).expect("a manifest serialises") + "\n";
        self.write(MANIFEST, text)
    }

    /// Write `file` atomically: a temporary name in the run directory, synced, renamed.
    pub fn write(&self, file: &str, contents: impl AsRef<[u8]>) -> Result<()> {
        write_atomic(&self.path.join(file), contents.as_ref())
    }

    /// Mark the run ended with `status` (an error's message for a failed run) and the
    /// process's exit code: the end time, the wall time and the files are recorded.
    pub fn end(&mut self, status: Status, exit_code: u8, error: Option<String>) -> Result<()> {
        let wall = self.wall_before + self.since.elapsed().as_secs_f64();
        let files = output_files(&self.path);
        self.update(|m| {
            m.status = status;
            m.exit_code = Some(exit_code);
            m.error = error;
            m.ended = Some(utc_now());
            m.wall_s = wall;
            m.files = files;
        })
    }
}

impl RunDir {
    /// Record the directory's files again (after the report of a complete run).
    pub fn record_files(&mut self) -> Result<()> {
        let files = output_files(&self.path);
        self.update(|m| m.files = files)
    }
}

impl Drop for RunDir {
    /// A run directory left without [`RunDir::end`] (an error on the way out) says it
    /// failed rather than that it is still running.
    fn drop(&mut self) {
        if self.manifest.status == Status::Running {
            let error = self
                .manifest
                .error
                .clone()
                .unwrap_or_else(|| "the run stopped before it finished".into());
            let _ = self.end(Status::Failed, 1, Some(error));
        }
    }
}

/// Every file under `dir` (but the manifest and temporaries), relative, with its size,
/// in name order.
fn output_files(dir: &Path) -> Vec<OutputFile> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(folder) = stack.pop() {
        for entry in std::fs::read_dir(&folder).into_iter().flatten().flatten() {
            let path = entry.path();
            let Ok(meta) = entry.metadata() else { continue };
            let name = entry.file_name().to_string_lossy().into_owned();
            if meta.is_dir() {
                stack.push(path);
            } else if !name.starts_with('.') && path != dir.join(MANIFEST) {
                let relative = path.strip_prefix(dir).unwrap_or(&path);
                files.push(OutputFile {
                    path: relative.to_string_lossy().into_owned(),
                    bytes: meta.len(),
                });
            }
        }
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    files
}

/// Write `path` under a temporary name beside it (in the same directory, so the rename
/// is atomic), sync it and rename it into place; the temporary is removed on failure.
pub fn write_atomic(path: &Path, contents: &[u8]) -> Result<()> {
    write_atomic_with(path, |w| w.write_all(contents))
}

/// [`write_atomic`] of what `fill` writes (large files, written as they are made).
pub fn write_atomic_with(
    path: &Path,
    fill: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<()> {
    write_atomic_file(path, |f| {
        let mut w = std::io::BufWriter::with_capacity(1 << 20, f);
        fill(&mut w)?;
        w.into_inner().map_err(|e| e.into_error())
    })
}

/// [`write_atomic`] of what `fill` writes to the file it is handed and hands back (for
/// writers that own their file, such as Parquet's).
pub fn write_atomic_file(
    path: &Path,
    fill: impl FnOnce(std::fs::File) -> std::io::Result<std::fs::File>,
) -> Result<()> {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
    let temp = path.with_file_name(format!(
        ".{}.tmp-{}",
        name.unwrap_or_default(),
        std::process::id()
    ));
    let written = (|| {
        let f = fill(std::fs::File::create(&temp)?)?;
        f.sync_all()?;
        std::fs::rename(&temp, path)?;
        // The rename itself is durable once the directory is synced.
        if let Some(dir) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::File::open(dir)?.sync_all()?;
        }
        Ok(())
    })();
    written.map_err(|e| {
        let _ = std::fs::remove_file(&temp);
        Error::io(path, e)
    })
}

/// The default run directory of a model: `runs/<model>-<UTC time to the millisecond>`,
/// with `-2`, `-3`, ... when runs start within the same millisecond.
pub fn default_out(model: &str) -> PathBuf {
    let base = format!("{model}-{}", utc_stamp(now_ms(), false));
    let mut path = PathBuf::from("runs").join(&base);
    let mut k = 2;
    while std::fs::symlink_metadata(&path).is_ok() {
        path = PathBuf::from("runs").join(format!("{base}-{k}"));
        k += 1;
    }
    path
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Now, as ISO 8601 in UTC.
pub fn utc_now() -> String {
    utc_stamp(now_ms(), true)
}

/// `YYYYmmdd-HHMMSS.mmm` (or ISO 8601 with `iso`) in UTC (civil-from-days, Howard
/// Hinnant's algorithm).
fn utc_stamp(ms: u64, iso: bool) -> String {
    let secs = ms / 1000;
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
    let (h, min, s, milli) = (rem / 3600, rem / 60 % 60, rem % 60, ms % 1000);
    if iso {
        format!("{y:04}-{m:02}-{d:02}T{h:02}:{min:02}:{s:02}.{milli:03}Z")
    } else {
        format!("{y:04}{m:02}{d:02}-{h:02}{min:02}{s:02}.{milli:03}")
    }
}

/// This machine's name (Linux; empty elsewhere).
pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

/// SHA-256 of some bytes, as lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// SHA-256 of a file, read in blocks, and its length.
pub fn sha256_file(path: &Path) -> Result<(String, u64)> {
    use sha2::Digest;
    use std::io::Read;
    let mut f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut hasher = sha2::Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut total = 0u64;
    loop {
        let n = f.read(&mut buf).map_err(|e| Error::io(path, e))?;
        if n == 0 {
            break;
        }
        total += n as u64;
        hasher.update(&buf[..n]);
    }
    let hex = hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    Ok((hex, total))
}
