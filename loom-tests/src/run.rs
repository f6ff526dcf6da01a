//! Running catalogue entries: one `Run` per (scenario, variant, kernel,
//! mutant, explorer), judged against the scenario's expected result, with
//! failures rendered and saved as replay files.

use std::fmt::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use daxcheck_core::{Config, KernelState, Mutant};

use crate::catalogue::{DefaultExplorer, Expect, Scenario};
use crate::explore::{explore, Explorer, Failure, Model, Outcome};
use crate::replay::{digest, ReplayFile};

/// Explorer budgets, from the command line or `DAXCHECK_*` variables.
#[derive(Clone, Debug)]
pub struct Budget {
    /// loom preemption bound (`DAXCHECK_LOOM_BOUND`, default 2).
    pub bound: usize,
    /// PCT depth (`DAXCHECK_PCT_DEPTH`, default 3).
    pub depth: usize,
    /// shuttle iterations per run (`DAXCHECK_ITERATIONS`, default 2000).
    pub iterations: usize,
    pub seed: u64,
}

impl Default for Budget {
    fn default() -> Self {
        Budget {
            bound: 2,
            depth: 3,
            iterations: 2000,
            seed: 1,
        }
    }
}

/// `Some(kind)` to force an explorer, `None` for each scenario's defaults.
pub fn explorers_for(
    kind: Option<&str>,
    sc: &Scenario,
    b: &Budget,
) -> Result<Vec<Explorer>, String> {
    let kinds: Vec<&str> = match kind {
        Some(k) => vec![k],
        None => sc
            .explorers
            .iter()
            .map(|e| match e {
                DefaultExplorer::Loom => "loom",
                DefaultExplorer::Pct => "pct",
            })
            .collect(),
    };
    kinds
        .into_iter()
        .map(|k| match k {
            "loom" => Ok(Explorer::Loom { bound: b.bound }),
            "pct" => Ok(Explorer::Pct {
                depth: b.depth,
                iterations: b.iterations,
                seed: b.seed,
            }),
            "random" => Ok(Explorer::Random {
                iterations: b.iterations,
                seed: b.seed,
            }),
            other => Err(format!(
                "unknown explorer `{other}` (known: loom, pct, random)"
            )),
        })
        .collect()
}

pub struct Run<'a> {
    pub scenario: &'a Scenario,
    pub variant: usize,
    pub kernel: KernelState,
    pub mutant: Option<Mutant>,
    pub explorer: Explorer,
}

pub struct RunResult {
    pub scenario: &'static str,
    pub variant: &'static str,
    pub kernel: KernelState,
    pub mutant: Option<Mutant>,
    pub explorer: Explorer,
    pub expected: Expect,
    pub outcome: Outcome,
}

impl RunResult {
    pub fn observed(&self) -> &'static str {
        if self.outcome.failure.is_some() {
            "violated"
        } else {
            "holds"
        }
    }

    /// Judged as litmus tools judge: `holds` must hold, `finds` must find.
    pub fn as_expected(&self) -> bool {
        match self.expected {
            Expect::Holds => self.outcome.failure.is_none(),
            Expect::Finds(_, checks) => self
                .outcome
                .failure
                .as_ref()
                .is_some_and(|f| checks.contains(&f.violation.check.id().as_str())),
        }
    }

    pub fn label(&self) -> String {
        format!("{}/{}", self.scenario, self.variant)
    }

    pub fn replay_file(&self, f: &Failure) -> ReplayFile {
        ReplayFile {
            scenario: self.scenario.to_string(),
            variant: self.variant.to_string(),
            kernel: self.kernel,
            mutant: self.mutant,
            explorer: crate::why::spec_with_accesses(&self.explorer, &f.rec),
            execution: f.execution,
            check: f.violation.check.id(),
            schedule: f.rec.events.iter().map(|e| e.tid).collect(),
            digest: digest(&f.rec),
        }
    }
}

pub fn model_of(
    sc: &Scenario,
    variant: usize,
    kernel: KernelState,
    mutant: Option<Mutant>,
) -> Model {
    let v = &sc.variants[variant];
    // An unmutated run of a `finds` scenario looks for its own finding.
    let want = match (mutant, sc.expected(variant, kernel)) {
        (None, Expect::Finds(_, checks)) => checks.to_vec(),
        _ => Vec::new(),
    };
    Model {
        setup: v.setup.clone(),
        threads: v.threads.clone(),
        post: v.post.clone(),
        cfg: Config {
            kernel,
            mutant,
            ..Config::default()
        },
        want,
    }
}

pub fn execute_run(r: &Run) -> RunResult {
    let m = model_of(r.scenario, r.variant, r.kernel, r.mutant);
    let outcome = explore(&m, &r.explorer);
    RunResult {
        scenario: r.scenario.name,
        variant: r.scenario.variants[r.variant].name,
        kernel: r.kernel,
        mutant: r.mutant,
        explorer: r.explorer.clone(),
        expected: r.scenario.expected(r.variant, r.kernel),
        outcome,
    }
}

/// Run every job on up to `jobs` OS threads (each explorer keeps its state
/// per OS thread); results come back in job order.
pub fn execute_all(runs: &[Run], jobs: usize) -> Vec<RunResult> {
    let next = std::sync::atomic::AtomicUsize::new(0);
    // Progress on stderr, only for a person watching a terminal (indicatif
    // draws nothing otherwise).
    let bar = {
        use std::io::IsTerminal;
        if std::io::stderr().is_terminal() && std::env::var_os("CI").is_none() {
            let b = indicatif::ProgressBar::new(runs.len() as u64);
            if let Ok(style) = indicatif::ProgressStyle::with_template(
                "{elapsed_precise} [{bar:30}] {pos}/{len} runs  {msg}",
            ) {
                b.set_style(style);
            }
            b
        } else {
            indicatif::ProgressBar::hidden()
        }
    };
    let slots: Vec<std::sync::Mutex<Option<RunResult>>> =
        runs.iter().map(|_| std::sync::Mutex::new(None)).collect();
    std::thread::scope(|s| {
        for _ in 0..jobs.clamp(1, runs.len().max(1)) {
            s.spawn(|| loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(r) = runs.get(i) else { break };
                let res = execute_run(r);
                let rate =
                    res.outcome.executions as f64 / res.outcome.elapsed.as_secs_f64().max(1e-6);
                bar.set_message(format!(
                    "{} {} {}: {} executions ({rate:.0}/s)",
                    res.label(),
                    res.mutant.map_or("-", |m| m.name()),
                    res.explorer.describe(),
                    res.outcome.executions
                ));
                bar.inc(1);
                *slots[i].lock().unwrap_or_else(|e| e.into_inner()) = Some(res);
            });
        }
    });
    bar.finish_and_clear();
    slots
        .into_iter()
        .filter_map(|m| m.into_inner().unwrap_or_else(|e| e.into_inner()))
        .collect()
}

fn secs(d: Duration) -> String {
    format!("{:.2}s", d.as_secs_f64())
}

/// The results table: expected and observed side by side.
pub fn render_table(results: &[RunResult]) -> String {
    let mut rows = vec![[
        "scenario".to_string(),
        "kernel".into(),
        "mutant".into(),
        "explorer".into(),
        "executions".into(),
        "time".into(),
        "expected".into(),
        "observed".into(),
        "".into(),
    ]];
    for r in results {
        let mut execs = r.outcome.executions.to_string();
        if r.outcome.bounded && r.outcome.failure.is_none() {
            execs.push_str(" (bounded)");
        }
        rows.push([
            r.label(),
            r.kernel.name().into(),
            r.mutant.map_or("-".into(), |m| m.name().into()),
            r.explorer.describe(),
            execs,
            secs(r.outcome.elapsed),
            r.expected.word().into(),
            r.observed().into(),
            if r.as_expected() {
                "ok".into()
            } else {
                "UNEXPECTED".into()
            },
        ]);
    }
    let widths: Vec<usize> = (0..9)
        .map(|c| rows.iter().map(|r| r[c].len()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for r in rows {
        let line: Vec<String> = r
            .iter()
            .enumerate()
            .map(|(c, s)| format!("{s:<w$}", w = widths[c]))
            .collect();
        let _ = writeln!(out, "{}", line.join("  ").trim_end());
    }
    out
}

/// The full story of a failure: the broken check, the threads, the trace,
/// and the command that replays it.
pub fn render_failure(r: &RunResult, f: &Failure, replay_path: Option<&Path>) -> String {
    let mut out = String::new();
    let v = &f.violation;
    let _ = writeln!(
        out,
        "== {}  kernel {}  mutant {}  {} execution {}",
        r.label(),
        r.kernel.name(),
        r.mutant.map_or("none", |m| m.name()),
        r.explorer.describe(),
        f.execution
    );
    let _ = writeln!(out, "VIOLATION {}", v.headline());
    use daxcheck_core::violation::Check;
    let who = match v.check {
        Check::Deadlock | Check::Livelock | Check::DataRace | Check::Internal if v.tid == 0 => {
            "the explorer".to_string()
        }
        _ if v.tid == 0 => "the checker at quiescence".to_string(),
        _ => format!("T{}", v.tid),
    };
    let _ = writeln!(out, "  seen by {who} after step {}", v.step);
    for other in f.rec.violations.iter().skip(1).take(5) {
        let _ = writeln!(out, "  then: {}", other.headline());
    }
    if f.rec.violations.len() > 6 {
        let _ = writeln!(out, "  (+{} more)", f.rec.violations.len() - 6);
    }
    let _ = writeln!(out, "\nthreads:");
    for (t, name) in f.rec.names.iter().enumerate().skip(1) {
        let state = if f.rec.finished.get(t).copied().unwrap_or(false) {
            "finished".to_string()
        } else {
            match f.rec.blocked.get(t).cloned().flatten() {
                Some(on) => format!("blocked: {on}"),
                None => "stopped".to_string(),
            }
        };
        let _ = writeln!(out, "  T{t}  {name:<50}  {state}");
    }
    let _ = writeln!(out, "\ntrace (step, thread, kernel function: event):");
    f.rec.render_trace(&mut out);
    if let Some(p) = replay_path {
        let _ = writeln!(out, "\nreplay: daxcheck replay {}", p.display());
    }
    out
}

/// Where replay files go: `corpus/replays` when asked, else
/// `$DAXCHECK_FAILURE_DIR` or `daxcheck-failures`.
pub fn failure_dir(corpus: bool) -> PathBuf {
    if corpus {
        return PathBuf::from("corpus/replays");
    }
    std::env::var_os("DAXCHECK_FAILURE_DIR")
        .map_or_else(|| PathBuf::from("daxcheck-failures"), PathBuf::from)
}

/// Save the failure's replay file; the name is stable for the same failure.
pub fn save_replay(r: &RunResult, f: &Failure, dir: &Path) -> Result<PathBuf, String> {
    let file = r.replay_file(f);
    let name = format!(
        "{}-{}-{}-{}-{:08x}.replay",
        r.scenario,
        r.variant,
        r.mutant.map_or("none", |m| m.name()),
        r.kernel.name(),
        file.digest as u32
    );
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let path = dir.join(name);
    std::fs::write(&path, file.render())
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(path)
}

/// One scenario run as a JSON object (stable field names).
pub fn render_json(r: &RunResult, replay: Option<&Path>) -> String {
    let f = r.outcome.failure.as_ref();
    let v = serde_json::json!({
        "scenario": r.scenario,
        "variant": r.variant,
        "kernel": r.kernel.name(),
        "mutant": r.mutant.map(|m| m.name()),
        "explorer": r.explorer.spec(),
        "executions": r.outcome.executions,
        "bounded": r.outcome.bounded,
        "seconds": r.outcome.elapsed.as_secs_f64(),
        "expected": r.expected.word(),
        "observed": r.observed(),
        "as_expected": r.as_expected(),
        "violation": f.map(|f| serde_json::json!({
            "check": f.violation.check.id(),
            "headline": f.violation.headline(),
            "thread": f.violation.tid,
            "step": f.violation.step,
            "execution": f.execution,
            "trace": f.rec.events.iter().map(|e| format!("T{} {}: {}", e.tid, e.func, e.what)).collect::<Vec<_>>(),
        })),
        "replay": replay.map(|p| p.display().to_string()),
    });
    v.to_string()
}
