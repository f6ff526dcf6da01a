//! Running catalogue entries: one `Run` per (scenario, variant, kernel,
//! mutant, explorer), judged against the scenario's expected result, with
//! failures rendered and saved as replay files.

use std::fmt::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;

use daxcheck_core::{Config, KernelState, Mutant};

use crate::catalogue::{Expect, Scenario};
use crate::explore::{
    explore, loom_bound_reached, Explorer, ExplorerKind, Failure, Model, Outcome, Want,
};
use crate::replay::{digest, ReplayFile};
use crate::report::Report;

/// Explorer budgets, from the command line or `DAXCHECK_*` variables.
#[derive(Clone, Debug)]
pub struct Budget {
    /// loom preemption bound (`DAXCHECK_LOOM_BOUND`, default 2).
    pub bound: usize,
    /// PCT depth (`DAXCHECK_PCT_DEPTH`, default 3).
    pub depth: usize,
    /// shuttle iterations per run (`DAXCHECK_ITERATIONS`, default 2000).
    pub iterations: usize,
    /// The first shuttle seed.
    pub seed: u64,
    /// shuttle runs per variant and explorer, on seeds `seed..seed + seeds`
    /// (`--seeds`, default 1): separate runs, so `--jobs` spreads one
    /// scenario's seeds over the cores as it spreads scenarios.
    pub seeds: u64,
}

impl Default for Budget {
    fn default() -> Self {
        Budget {
            bound: 2,
            depth: 3,
            iterations: 2000,
            seed: 1,
            seeds: 1,
        }
    }
}

/// `Some(kind)` to force an explorer, `None` for each scenario's defaults.
pub fn explorers_for(kind: Option<ExplorerKind>, sc: &Scenario, b: &Budget) -> Vec<Explorer> {
    let kinds: Vec<ExplorerKind> = match kind {
        Some(k) => vec![k],
        None => sc.explorers.to_vec(),
    };
    let mut out = Vec::new();
    for k in kinds {
        match k {
            ExplorerKind::Pct | ExplorerKind::Random => {
                for i in 0..b.seeds.max(1) {
                    let seeded = Budget {
                        seed: b.seed.wrapping_add(i),
                        ..b.clone()
                    };
                    out.push(explorer_for(k, sc, &seeded));
                }
            }
            ExplorerKind::Loom | ExplorerKind::Stress => out.push(explorer_for(k, sc, b)),
        }
    }
    out
}

/// One explorer at the budget, raised to the scenario's own floor
/// (`Scenario::tuning`).
pub fn explorer_for(k: ExplorerKind, sc: &Scenario, b: &Budget) -> Explorer {
    let t = sc.tuning;
    match k {
        ExplorerKind::Loom => Explorer::Loom {
            bound: b.bound.max(t.loom_bound),
        },
        ExplorerKind::Pct => Explorer::Pct {
            depth: b.depth.max(t.pct_depth),
            iterations: b.iterations.saturating_mul(t.pct_factor),
            seed: b.seed,
        },
        ExplorerKind::Stress => Explorer::Stress { runs: b.iterations },
        ExplorerKind::Random => Explorer::Random {
            iterations: b.iterations.saturating_mul(t.random_factor),
            seed: b.seed,
        },
    }
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
    /// The scenario's reason why this explorer cannot reach this run's
    /// window (`Tuning::random_out_of_reach`), if it gives one.
    pub out_of_reach: Option<&'static str>,
}

impl RunResult {
    /// The declared reason, when the run missed a window declared out of
    /// its explorer's reach: reported as such, neither ok nor a failure. A
    /// run that breaks another check than the expected one is still a
    /// failure.
    pub fn beyond_reach(&self) -> Option<&'static str> {
        self.out_of_reach
            .filter(|_| self.outcome.failure.is_none() && !self.as_expected())
    }

    /// As expected, or beyond its explorer's declared reach: what the exit
    /// status judges.
    pub fn accepted(&self) -> bool {
        self.as_expected() || self.beyond_reach().is_some()
    }

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
            Expect::Finds(finding) => self
                .outcome
                .failure
                .as_ref()
                .is_some_and(|f| finding.checks.contains(&f.violation.check.kind())),
        }
    }

    /// `holds`, or `violated` and the check (`violated I4`).
    pub fn observed_text(&self) -> String {
        match &self.outcome.failure {
            Some(f) => format!("violated {}", f.violation.check.id()),
            None => "holds".into(),
        }
    }

    /// The table's last column: `ok`, `caught` (a mutant broke a check that
    /// holds without it), `out of reach` (see [`RunResult::beyond_reach`])
    /// or `UNEXPECTED`.
    pub fn judgement(&self) -> &'static str {
        if self.as_expected() {
            "ok"
        } else if self.beyond_reach().is_some() {
            "out of reach"
        } else if self.mutant.is_some()
            && self.expected == Expect::Holds
            && self.outcome.failure.is_some()
        {
            "caught"
        } else {
            "UNEXPECTED"
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
            fingerprint: {
                let cat = crate::catalogue::catalogue();
                crate::catalogue::resolve(&cat, &self.label())
                    .ok()
                    .map(|(si, vis)| crate::replay::fingerprint(&cat[si], vis[0]))
            },
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
        (None, Expect::Finds(f)) => Want::Checks(f.checks),
        _ => Want::Any,
    };
    Model {
        setup: v.setup.clone(),
        threads: v.threads.clone(),
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
        out_of_reach: match r.explorer {
            Explorer::Random { .. } => r.scenario.random_out_of_reach(r.variant, r.mutant),
            _ => None,
        },
    }
}

/// Run every job on up to `jobs` OS threads (each explorer keeps its state
/// per OS thread); results come back in job order.
pub fn execute_all(runs: &[Run], jobs: usize) -> Vec<RunResult> {
    execute_all_with(runs, jobs, false)
}

/// As [`execute_all`]; with `probe`, a passing loom run also learns whether
/// its preemption bound limited the search ([`loom_bound_reached`]).
pub fn execute_all_with(runs: &[Run], jobs: usize, probe: bool) -> Vec<RunResult> {
    let next = std::sync::atomic::AtomicUsize::new(0);
    // Progress on stderr, only for a person watching a terminal (indicatif
    // draws nothing otherwise).
    let bar = {
        let b = indicatif::ProgressBar::with_draw_target(
            Some(runs.len() as u64),
            crate::stderr::progress_target(),
        );
        if let Ok(style) = indicatif::ProgressStyle::with_template(
            "{elapsed_precise} [{bar:30}] {pos}/{len} runs  {msg}",
        ) {
            b.set_style(style);
        }
        b
    };
    let slots: Vec<std::sync::Mutex<Option<RunResult>>> =
        runs.iter().map(|_| std::sync::Mutex::new(None)).collect();
    let order = dispatch_order(runs);
    std::thread::scope(|s| {
        for _ in 0..jobs.clamp(1, runs.len().max(1)) {
            s.spawn(|| loop {
                let n = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(&i) = order.get(n) else { break };
                let r = &runs[i];
                let mut res = execute_run(r);
                if let (true, Explorer::Loom { bound }, None) =
                    (probe, &res.explorer, &res.outcome.failure)
                {
                    let m = model_of(r.scenario, r.variant, r.kernel, r.mutant);
                    res.outcome.bounded = loom_bound_reached(&m, *bound, res.outcome.executions);
                }
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

/// The order in which the jobs are started: the likely longest first, so
/// that with `--jobs N` the longest run does not start last and leave the
/// other workers idle at the end (at `--bound 3`, S16/hole's loom search is
/// half the campaign). loom runs come first, more threads first (loom's
/// search grows with each thread); ties keep the catalogue order. The
/// results are still reported in job order.
fn dispatch_order(runs: &[Run]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..runs.len()).collect();
    order.sort_by_key(|&i| {
        let r = &runs[i];
        let loom = matches!(r.explorer, Explorer::Loom { .. });
        let threads = r.scenario.variants[r.variant].threads.len();
        (std::cmp::Reverse(loom), std::cmp::Reverse(threads))
    });
    order
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
        if let (Explorer::Loom { .. }, None) = (&r.explorer, &r.outcome.failure) {
            execs.push_str(if r.outcome.bounded {
                " (bounded)"
            } else {
                " (exhaustive)"
            });
        }
        rows.push([
            r.label(),
            r.kernel.name().into(),
            r.mutant.map_or("-".into(), |m| m.name().into()),
            r.explorer.describe(),
            execs,
            secs(r.outcome.elapsed),
            r.expected.word().into(),
            r.observed_text(),
            r.judgement().into(),
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

/// The full story of a failure: the broken check, its cause, the threads,
/// the trace, and the command that replays it.
pub fn render_failure(r: &RunResult, f: &Failure, replay_path: Option<&Path>) -> String {
    Report::new(r, f, replay_path).to_string()
}

/// Where replay files go: `corpus/replays` when asked, else
/// `$DAXCHECK_FAILURE_DIR` or `daxcheck-failures`.
pub fn failure_dir(corpus: bool) -> PathBuf {
    if corpus {
        return PathBuf::from("corpus/replays");
    }
    // An empty value means unset, not the current directory.
    std::env::var_os("DAXCHECK_FAILURE_DIR")
        .filter(|d| !d.is_empty())
        .map_or_else(|| PathBuf::from("daxcheck-failures"), PathBuf::from)
}

/// The file name of a failure's replay: scenario, variant, mutant, kernel,
/// explorer and the digest's low 32 bits.
pub fn replay_name(r: &RunResult, digest: u64) -> String {
    format!(
        "{}-{}-{}-{}-{}-{:08x}.replay",
        r.scenario,
        r.variant,
        r.mutant.map_or("none", |m| m.name()),
        r.kernel.name(),
        r.explorer.kind(),
        digest as u32
    )
}

/// Save the failure's replay file. The name is stable for the same failure
/// and names the explorer, so loom and PCT findings never share a file. The
/// file is written whole under a temporary name and renamed into place, so
/// a concurrent reader or writer never sees a torn file; an identical file
/// is left alone.
pub fn save_replay(r: &RunResult, f: &Failure, dir: &Path) -> Result<PathBuf, String> {
    let file = r.replay_file(f);
    let name = replay_name(r, file.digest);
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let path = dir.join(&name);
    let text = file.render();
    if std::fs::read_to_string(&path).is_ok_and(|old| old == text) {
        return Ok(path);
    }
    static SERIAL: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let tmp = dir.join(format!(
        ".{name}.{}.{}.tmp",
        std::process::id(),
        SERIAL.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    ));
    std::fs::write(&tmp, &text)
        .and_then(|_| std::fs::rename(&tmp, &path))
        .map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            format!("cannot write {}: {e}", path.display())
        })?;
    Ok(path)
}

/// What a run was expected to show, as JSON carries it.
#[derive(Serialize)]
pub struct Expected {
    /// `holds` or `finds`.
    pub result: &'static str,
    /// The hypothesis a `finds` confirms (`H3: ...`).
    pub hypothesis: Option<String>,
    /// The checks a `finds` accepts as its finding.
    pub checks: Vec<String>,
}

impl From<Expect> for Expected {
    fn from(e: Expect) -> Expected {
        match e {
            Expect::Holds => Expected {
                result: "holds",
                hypothesis: None,
                checks: Vec::new(),
            },
            Expect::Finds(f) => Expected {
                result: "finds",
                hypothesis: Some(f.to_string()),
                checks: f.checks.iter().map(|c| c.to_string()).collect(),
            },
        }
    }
}

/// One scenario run as `check --format json` prints it (one JSON object
/// per line; the shape is `docs/json.md`).
#[derive(Serialize)]
pub struct RunJson<'a> {
    pub scenario: &'static str,
    pub variant: &'static str,
    pub kernel: &'static str,
    pub mutant: Option<&'static str>,
    pub explorer: &'a Explorer,
    pub executions: usize,
    /// loom only: whether the preemption bound cut the search.
    pub bounded: bool,
    pub seconds: f64,
    pub expected: Expected,
    /// `holds` or `violated`.
    pub observed: &'static str,
    pub as_expected: bool,
    /// Not as expected, but the window is declared out of this explorer's
    /// reach: the scenario's reason (the exit status accepts it).
    pub out_of_reach: Option<&'static str>,
    /// The failure report, when a check broke.
    pub violation: Option<Report>,
    pub replay: Option<String>,
}

impl<'a> RunJson<'a> {
    pub fn new(r: &'a RunResult, replay: Option<&Path>) -> RunJson<'a> {
        RunJson {
            scenario: r.scenario,
            variant: r.variant,
            kernel: r.kernel.name(),
            mutant: r.mutant.map(|m| m.name()),
            explorer: &r.explorer,
            executions: r.outcome.executions,
            bounded: r.outcome.bounded,
            seconds: r.outcome.elapsed.as_secs_f64(),
            expected: r.expected.into(),
            observed: r.observed(),
            as_expected: r.as_expected(),
            out_of_reach: r.beyond_reach(),
            violation: r
                .outcome
                .failure
                .as_ref()
                .map(|f| Report::new(r, f, replay)),
            replay: replay.map(|p| p.display().to_string()),
        }
    }
}

/// One scenario run as a JSON object.
pub fn render_json(r: &RunResult, replay: Option<&Path>) -> String {
    serde_json::to_string(&RunJson::new(r, replay))
        .unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
}
