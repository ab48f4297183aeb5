//! `sweep slurm`: the sbatch script of a sweep, a job array with one task per shard.
//! Each task runs `emergence sweep run` under `srun` (so the signal Slurm sends before
//! the time limit or a preemption reaches the run, which checkpoints and stops), with
//! `--requeue` so a preempted task comes back and resumes, per-task logs appended across
//! requeues, and the task's GPU named by PCI bus id: Vulkan does not read
//! `CUDA_VISIBLE_DEVICES`, so the script asks `nvidia-smi` for the bus id of the GPU
//! Slurm gave the task and passes it to `--adapter`.

use super::plan::Plan;
use crate::backend::BackendChoice;
use crate::error::{Error, Result};
use std::path::Path;

/// Slurm's usual `MaxArraySize` is 1001: indices 0 to 1000.
pub const MAX_ARRAY_TASKS: usize = 1000;

#[derive(Debug, Clone)]
pub struct SlurmOptions {
    /// Array tasks (shards); default: one per run, at most [`MAX_ARRAY_TASKS`].
    pub shards: Option<usize>,
    /// `--gres` of each task (`gpu:1` by default; `none` leaves it out).
    pub gres: String,
    pub time: Option<String>,
    pub partition: Option<String>,
    pub cpus_per_task: Option<u32>,
    pub mem: Option<String>,
    pub backend: BackendChoice,
    /// `--concurrent K` passed to each task.
    pub concurrent: u32,
    /// Seconds between checkpoints of each run.
    pub checkpoint_every_s: f64,
    pub keep_runs: bool,
    pub allow_software: bool,
}

/// Seconds between the signal and the kill: enough to finish the interval in flight and
/// write a checkpoint of the plan's largest run at a slow disk's 100 MB/s, and a minute
/// more; at least 2 minutes.
pub fn signal_lead_s(plan: &Plan) -> u64 {
    let largest = plan
        .runs
        .iter()
        .map(|r| r.checkpoint_bytes)
        .max()
        .unwrap_or(0);
    (60 + largest.div_ceil(100_000_000)).max(120)
}

/// Shell words are quoted unless plainly safe.
fn quote(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-+=:,@%".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// The script. `dir` is the sweep directory (absolute), holding the plan.
pub fn script(plan: &Plan, dir: &Path, exe: &Path, o: &SlurmOptions) -> Result<String> {
    let runs = plan.runs.len();
    if runs == 0 {
        return Err(Error::bad_input("the plan has no runs"));
    }
    let shards = o.shards.unwrap_or(runs.min(MAX_ARRAY_TASKS));
    if shards == 0 || shards > MAX_ARRAY_TASKS {
        return Err(Error::bad_input(format!(
            "--shards {shards}: allowed: 1 to {MAX_ARRAY_TASKS} (Slurm's usual MaxArraySize); a task runs several runs when there are more runs than tasks"
        )));
    }
    if shards > runs {
        return Err(Error::bad_input(format!(
            "--shards {shards}: more tasks than the plan's {runs} runs; allowed: 1 to {runs}"
        )));
    }
    if o.gres.trim().is_empty() || o.gres.contains(char::is_whitespace) {
        return Err(Error::bad_input(format!(
            "--gres {:?}: expected a Slurm gres such as gpu:1, or none",
            o.gres
        )));
    }
    let name: String = plan
        .header
        .name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let d = dir.display().to_string();
    let mut s = String::new();
    s.push_str("#!/bin/bash\n");
    s.push_str(&format!(
        "# emergence sweep {}: {runs} runs in {shards} array tasks (plan {}).\n",
        plan.header.name,
        &plan.sha256[..12]
    ));
    s.push_str(&format!(
        "# Submit with sbatch; follow with `emergence sweep status {d}`;\n# then `emergence sweep merge {d} --out {d}/tables`. A task that stops (preempted,\n# cancelled, out of time) leaves a checkpoint; submitting again runs only what is missing.\n"
    ));
    s.push_str(&format!("#SBATCH --job-name=emergence-{name}\n"));
    s.push_str(&format!("#SBATCH --array=0-{}\n", shards - 1));
    s.push_str("#SBATCH --requeue\n");
    s.push_str(&format!("#SBATCH --signal=TERM@{}\n", signal_lead_s(plan)));
    s.push_str(&format!("#SBATCH --output={}/logs/%A_%a.log\n", quote(&d)));
    s.push_str("#SBATCH --open-mode=append\n");
    s.push_str("#SBATCH --ntasks=1\n");
    if o.gres != "none" {
        s.push_str(&format!("#SBATCH --gres={}\n", o.gres));
    }
    if let Some(t) = &o.time {
        s.push_str(&format!("#SBATCH --time={t}\n"));
    }
    if let Some(p) = &o.partition {
        s.push_str(&format!("#SBATCH --partition={p}\n"));
    }
    if let Some(c) = o.cpus_per_task {
        s.push_str(&format!("#SBATCH --cpus-per-task={c}\n"));
    }
    if let Some(m) = &o.mem {
        s.push_str(&format!("#SBATCH --mem={m}\n"));
    }
    s.push_str("set -uo pipefail\n");
    s.push_str(&format!(
        "EMERGENCE={}\n",
        quote(&exe.display().to_string())
    ));
    s.push_str("ADAPTER=()\n");
    if o.gres != "none" && o.backend != BackendChoice::Cpu {
        s.push_str(
            r#"# Vulkan ignores CUDA_VISIBLE_DEVICES: name the task's GPU by its PCI bus id. With
# cgroup device confinement the task sees only its GPU (index 0 to nvidia-smi).
GPU="${SLURM_STEP_GPUS:-${SLURM_JOB_GPUS:-}}"
if [[ -n "$GPU" ]] && command -v nvidia-smi >/dev/null 2>&1; then
  BUS=$(nvidia-smi --query-gpu=pci.bus_id --format=csv,noheader -i "${GPU%%,*}" 2>/dev/null \
        || nvidia-smi --query-gpu=pci.bus_id --format=csv,noheader -i 0 2>/dev/null)
  BUS=$(printf '%s' "$BUS" | head -n1 | tr -d '[:space:]')
  if [[ -n "$BUS" ]]; then ADAPTER=(--adapter "$BUS"); fi
fi
"#,
        );
    }
    let mut args = vec![
        "sweep".to_string(),
        "run".into(),
        quote(&format!("{d}/{}", super::PLAN_FILE)),
        "--out".into(),
        quote(&d),
        "--backend".into(),
        o.backend.name().into(),
        "--checkpoint-every-s".into(),
        format!("{}", o.checkpoint_every_s),
    ];
    if o.concurrent > 1 {
        args.push(format!("--concurrent {}", o.concurrent));
    }
    if o.keep_runs {
        args.push("--keep-runs".into());
    }
    if o.allow_software {
        args.push("--allow-software".into());
    }
    s.push_str(&format!(
        "srun --ntasks=1 \"$EMERGENCE\" {} \"${{ADAPTER[@]}}\"\n",
        args.join(" ")
    ));
    Ok(s)
}
