//! The explorer drivers: loom (bounded exhaustive), shuttle PCT and random,
//! and the guided replay. Each runs one scenario variant many times and
//! returns the first failing execution's record.
//!
//! Violations are values in the execution's record. To stop an explorer at
//! the first one, the execution's main thread panics with [`Stop`]; a
//! deadlock or a loom data race panics inside the runtime. Either way the
//! driver catches the panic and reads the record the execution left in
//! `trace::current()` (loom and shuttle run every model thread on the
//! driver's OS thread).

use std::cell::Cell;
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Once};
use std::time::{Duration, Instant};

use crate::engine::{classify, EngineStop};
use crate::report::On;
use daxcheck_core::exec::{execute, ThreadSpec};
use daxcheck_core::sync::{set_backend, Backend};
use daxcheck_core::trace::{self, Blocked, RecState, Recorder};
use daxcheck_core::violation::{Check, CheckKind, Violation};
use daxcheck_core::world::Setup;
use daxcheck_core::Config;
use shuttle::scheduler::{PctScheduler, RandomScheduler, Scheduler};

mod shuttle_run;
use shuttle_run::{run_shuttle, run_shuttle_steps, Guided};

/// An explorer named on the command line or as a scenario's default.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ExplorerKind {
    /// loom: exhaustive up to the preemption bound.
    Loom,
    /// shuttle's PCT scheduler (probabilistic concurrency testing).
    Pct,
    /// shuttle's uniformly random scheduler.
    Random,
    /// The threads on real OS threads, run again and again (`--iterations`
    /// runs): the stress test one would write by hand, as a baseline.
    Stress,
}

/// How to explore. JSON carries it as `{"kind": "pct", "depth": 3, ...}`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Explorer {
    /// loom, exhaustive up to `bound` preemptions per execution.
    Loom { bound: usize },
    /// shuttle's PCT scheduler.
    Pct {
        depth: usize,
        iterations: usize,
        seed: u64,
    },
    /// shuttle's uniformly random scheduler.
    Random { iterations: usize, seed: u64 },
    /// One execution that follows a recorded schedule (shuttle, guided).
    Replay { schedule: Vec<u8> },
    /// The scenario's threads on real OS threads, up to `runs` times
    /// (stress.rs).
    Stress { runs: usize },
    /// Re-run loom's deterministic exploration up to one execution: the
    /// exact replay of a loom-found failure, weak-memory values included.
    LoomReplay { bound: usize, execution: usize },
}

impl Explorer {
    pub fn kind(&self) -> &'static str {
        match self {
            Explorer::Loom { .. } => "loom",
            Explorer::Pct { .. } => "pct",
            Explorer::Random { .. } => "random",
            Explorer::Stress { .. } => "stress",
            Explorer::Replay { .. } | Explorer::LoomReplay { .. } => "replay",
        }
    }

    /// The machine-readable form kept in replay files.
    pub fn spec(&self) -> String {
        match self {
            Explorer::Loom { bound } | Explorer::LoomReplay { bound, .. } => {
                format!("loom bound={bound}")
            }
            Explorer::Pct {
                depth,
                iterations,
                seed,
            } => format!("pct depth={depth} iterations={iterations} seed={seed}"),
            Explorer::Random { iterations, seed } => {
                format!("random iterations={iterations} seed={seed}")
            }
            Explorer::Replay { .. } => "guided".into(),
            Explorer::Stress { runs } => format!("stress runs={runs}"),
        }
    }

    /// Parse [`Explorer::spec`]; one-line errors.
    pub fn parse_spec(s: &str) -> Result<Explorer, String> {
        let mut words = s.split_whitespace();
        let kind = words.next().unwrap_or("");
        let mut kv = std::collections::BTreeMap::new();
        for w in words {
            let (k, v) = w
                .split_once('=')
                .ok_or_else(|| format!("bad explorer parameter `{w}`"))?;
            let v: u64 = v
                .parse()
                .map_err(|_| format!("bad explorer parameter `{w}`"))?;
            kv.insert(k, v);
        }
        let get = |k: &str| {
            kv.get(k)
                .copied()
                .ok_or_else(|| format!("explorer `{kind}` needs `{k}=`"))
        };
        let within = |k: &str, lo: u64, hi: u64| {
            let v = get(k)?;
            if (lo..=hi).contains(&v) {
                Ok(v)
            } else {
                Err(format!(
                    "explorer parameter `{k}={v}` is out of range ({lo}..={hi})"
                ))
            }
        };
        match kind {
            "loom" => Ok(Explorer::Loom {
                bound: within("bound", 0, 255)? as usize,
            }),
            "pct" => Ok(Explorer::Pct {
                depth: within("depth", 1, 10_000)? as usize,
                iterations: within("iterations", 1, 1_000_000_000)? as usize,
                seed: get("seed")?,
            }),
            "random" => Ok(Explorer::Random {
                iterations: within("iterations", 1, 1_000_000_000)? as usize,
                seed: get("seed")?,
            }),
            // A guided run of a recorded schedule (fuzz crashes saved as
            // replay files).
            "guided" => Ok(Explorer::Replay {
                schedule: Vec::new(),
            }),
            "stress" => Ok(Explorer::Stress {
                runs: within("runs", 1, 1_000_000_000)? as usize,
            }),
            other => Err(format!("unknown explorer `{other}` in replay file")),
        }
    }

    /// A short description for tables and reports.
    pub fn describe(&self) -> String {
        match self {
            Explorer::Loom { bound } => format!("loom(bound={bound})"),
            Explorer::Pct { depth, seed, .. } => format!("pct(depth={depth},seed={seed})"),
            Explorer::Random { seed, .. } => format!("random(seed={seed})"),
            Explorer::Replay { .. } => "replay".into(),
            Explorer::Stress { runs } => format!("stress(runs={runs})"),
            Explorer::LoomReplay { bound, .. } => format!("loom(bound={bound}) replay"),
        }
    }
}

/// What one variant is, ready to run.
#[derive(Clone)]
pub struct Model {
    pub setup: Setup,
    pub threads: Vec<ThreadSpec>,
    pub cfg: Config,
    /// The violations that end the search. An execution that breaks only
    /// other checks is passed over, so the search goes on to the finding it
    /// is after.
    pub want: Want,
}

/// Which violations count as a failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Want {
    /// Any violation (a `holds` run, a mutant run).
    Any,
    /// Only these checks: a finding's own.
    Checks(&'static [CheckKind]),
    /// None: every execution runs (`daxcheck why` collects them all).
    Nothing,
}

impl Want {
    pub fn counts(self, c: &Check) -> bool {
        match self {
            Want::Any => true,
            Want::Checks(ks) => ks.contains(&c.kind()),
            Want::Nothing => false,
        }
    }

    /// Whether the search looks for exactly this check (not merely any).
    fn names(self, c: &Check) -> bool {
        matches!(self, Want::Checks(ks) if ks.contains(&c.kind()))
    }
}

/// Whether a record holds a violation that counts for `want`.
pub fn counts(want: Want, rec: &RecState) -> bool {
    rec.violations.iter().any(|v| want.counts(&v.check))
}

/// [`counts`] on a live recorder, without copying its record (asked after
/// every execution).
fn rec_counts(want: Want, rec: &Recorder) -> bool {
    rec.any_violation(|v| want.counts(&v.check))
}

/// The first failing execution.
#[derive(Clone)]
pub struct Failure {
    pub violation: Violation,
    pub rec: RecState,
    /// 1-based number of the failing execution.
    pub execution: usize,
}

pub struct Outcome {
    pub executions: usize,
    pub elapsed: Duration,
    /// loom only: the preemption bound may have limited the search (set
    /// until [`loom_bound_reached`] shows otherwise).
    pub bounded: bool,
    pub failure: Option<Failure>,
    /// Replays only: the record of the replayed execution, failing or not.
    pub last: Option<RecState>,
}

/// The payload an execution panics with to stop the explorer at a violation.
pub struct Stop;

thread_local! {
    static QUIET: Cell<bool> = const { Cell::new(false) };
}

/// Own the panic output: while an explorer runs, panics are the explorer's
/// control flow and are not printed. shuttle installs its own hook on its
/// first run; replace it (we own failure reporting, notes pitfall 4).
fn install_quiet_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let default = panic::take_hook();
        shuttle::check_random(|| {}, 1);
        let _shuttle_hook = panic::take_hook();
        // DAXCHECK_SHOW_PANICS=1 shows the explorers' own panics (debugging).
        let show = std::env::var_os("DAXCHECK_SHOW_PANICS").is_some();
        panic::set_hook(Box::new(move |info| {
            if show || !QUIET.with(|q| q.get()) {
                default(info)
            }
        }));
    });
}

/// One execution. loom can only be stopped by a panic; shuttle is stopped
/// by [`StopAfterViolation`] between executions, which keeps shuttle from
/// printing a panic report of its own.
fn one_execution(m: &Model, count: &AtomicUsize, stop_by_panic: bool) {
    count.fetch_add(1, Ordering::Relaxed);
    let rec = execute(&m.cfg, &m.setup, &m.threads);
    crate::why::observe(&rec);
    if stop_by_panic && rec_counts(m.want, &rec) {
        panic::panic_any(Stop);
    }
}

fn panic_text(p: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        String::new()
    }
}

/// Turn what a failed run left behind into a `Failure`.
fn failure_from(payload: Box<dyn std::any::Any + Send>, execution: usize, want: Want) -> Failure {
    let rec = trace::current().map(|r| r.snapshot()).unwrap_or_default();
    let wanted = rec.violations.iter().find(|v| want.counts(&v.check));
    // When the engine stopped the run (a hang, the step bound, a race) and
    // that stop is what the scenario looks for, it is the finding even if
    // the every-step checks recorded other breaks on the way (H7's waiter:
    // the state breaks I4/I20 first, then the waiter hangs).
    let stop = || {
        let step = rec.events.len();
        let (check, detail) = match classify(&panic_text(payload.as_ref())) {
            EngineStop::Deadlock => {
                let blocked: Vec<(u8, Blocked)> = rec
                    .blocked
                    .iter()
                    .enumerate()
                    .filter(|(t, _)| !rec.finished.get(*t).copied().unwrap_or(false))
                    .filter_map(|(t, b)| Some((t as u8, (*b)?)))
                    .collect();
                let detail = blocked
                    .iter()
                    .map(|(t, b)| format!("T{t} {}", On::from(b)))
                    .collect::<Vec<_>>()
                    .join("; ");
                (
                    Blocked::liveness(&blocked),
                    format!("no thread can run: {detail}"),
                )
            }
            EngineStop::StepBound => {
                let unfinished: Vec<String> = (1..rec.names.len())
                    .filter(|&t| !rec.finished.get(t).copied().unwrap_or(false))
                    .map(|t| format!("T{t}"))
                    .collect();
                (
                    Check::Livelock,
                    format!(
                        "{} still running after {step} steps (the explorer's step bound)",
                        unfinished.join(", ")
                    ),
                )
            }
            EngineStop::DataRace(first) => (Check::DataRace, format!("loom: {first}")),
            EngineStop::Other(first) => (Check::Internal, first),
        };
        Violation {
            check,
            detail,
            tid: 0,
            step,
        }
    };
    let violation = match (wanted, rec.violations.first()) {
        (Some(v), _) => v.clone(),
        (None, first) => {
            let engine = stop();
            let looked_for = want.names(&engine.check);
            match first {
                Some(v) if !looked_for => v.clone(),
                _ => engine,
            }
        }
    };
    Failure {
        violation,
        rec,
        execution,
    }
}

/// Run `f` with panics silenced; `Err` carries the panic payload.
fn quietly<R>(f: impl FnOnce() -> R) -> Result<R, Box<dyn std::any::Any + Send>> {
    install_quiet_hook();
    QUIET.with(|q| q.set(true));
    let r = panic::catch_unwind(AssertUnwindSafe(f));
    QUIET.with(|q| q.set(false));
    set_backend(Backend::Std);
    r
}

pub fn explore(m: &Model, ex: &Explorer) -> Outcome {
    if let Explorer::Stress { runs } = ex {
        return crate::stress::explore(m, *runs, crate::stress::CAP);
    }
    let count = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    trace::set_current(None);
    let model = Arc::new(m.clone());
    let loom_body = {
        let (model, count) = (model.clone(), count.clone());
        move || one_execution(&model, &count, true)
    };
    // Replaying loom execution N: run the same deterministic exploration,
    // emit tracing only for execution N, stop after it.
    let loom_replay_body = {
        let (model, count) = (model.clone(), count.clone());
        let target = match ex {
            Explorer::LoomReplay { execution, .. } => *execution,
            _ => 0,
        };
        move || {
            let n = count.load(Ordering::Relaxed) + 1;
            trace::set_emit(n == target);
            one_execution(&model, &count, false);
            if n >= target {
                panic::panic_any(Stop);
            }
        }
    };
    let body = {
        let (model, count) = (model.clone(), count.clone());
        move || one_execution(&model, &count, false)
    };
    let result = match ex {
        Explorer::Loom { bound } => quietly(|| {
            set_backend(Backend::Loom);
            let b = crate::loom_env::builder(*bound);
            crate::loom_env::with_log(|| b.check(loom_body));
        }),
        Explorer::Pct {
            depth,
            iterations,
            seed,
        } => {
            let s = PctScheduler::new_from_seed(*seed, *depth, *iterations);
            quietly(|| run_shuttle(s, m.want, body))
        }
        Explorer::Random { iterations, seed } => {
            let s = RandomScheduler::new_from_seed(*seed, *iterations);
            quietly(|| run_shuttle(s, m.want, body))
        }
        Explorer::LoomReplay { bound, .. } => quietly(|| {
            set_backend(Backend::Loom);
            crate::loom_env::builder(*bound).check(loom_replay_body);
        }),
        Explorer::Replay { schedule } => {
            let s = Guided {
                schedule: schedule.clone(),
                started: false,
            };
            trace::set_step_limit(Some(schedule.len()));
            let r = quietly(|| run_shuttle(s, m.want, body));
            trace::set_step_limit(None);
            r
        }
        Explorer::Stress { .. } => {
            unreachable!("[daxcheck internal bug] stress runs in stress.rs")
        }
    };
    conclude(m, ex, result, count.load(Ordering::Relaxed), start)
}

/// One shuttle run of `m` under a caller's scheduler (the fuzzer's, whose
/// every choice comes from its input). The outcome keeps the last record.
pub fn explore_with(m: &Model, s: impl Scheduler + 'static, max_steps: usize) -> Outcome {
    let count = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    trace::set_current(None);
    let model = Arc::new(m.clone());
    let body = {
        let count = count.clone();
        move || one_execution(&model, &count, false)
    };
    let result = quietly(|| run_shuttle_steps(s, m.want, body, max_steps));
    let ex = Explorer::Replay {
        schedule: Vec::new(),
    };
    conclude(m, &ex, result, count.load(Ordering::Relaxed), start)
}

/// The outcome of a finished explorer run: the first failure, if any.
fn conclude(
    m: &Model,
    ex: &Explorer,
    result: Result<(), Box<dyn std::any::Any + Send>>,
    executions: usize,
    start: Instant,
) -> Outcome {
    trace::set_emit(true);
    let failure = match result {
        Err(p)
            if p.downcast_ref::<Stop>().is_some()
                && !trace::current().is_some_and(|r| r.has_violation()) =>
        {
            None
        }
        Err(p) => Some(failure_from(p, executions, m.want)),
        // shuttle stopped after an execution that recorded a violation
        Ok(()) => trace::current()
            .filter(|r| rec_counts(m.want, r))
            .map(|_| failure_from(Box::new(()), executions, m.want)),
    };
    let last = match ex {
        Explorer::Replay { .. } | Explorer::LoomReplay { .. } => {
            trace::current().map(|r| r.snapshot())
        }
        _ => None,
    };
    trace::set_current(None);
    Outcome {
        last,
        executions,
        elapsed: start.elapsed(),
        bounded: matches!(ex, Explorer::Loom { .. }),
        failure,
    }
}

/// A bound + 1 probe that would have to pass more executions than this is
/// skipped: the run is reported as possibly cut. The probe costs as much
/// as the run it labels, so at bound 3 it doubled the campaign (S16/hole:
/// 1.4 million executions) to learn only what was near certain.
pub const PROBE_LIMIT: usize = 50_000;

/// Whether loom's preemption bound may have cut a search that found
/// `executions` executions at `bound`.
///
/// Executions needing `k` preemptions exist for every `k` up to the most
/// any execution needs (cut an execution at its last preemption and run on
/// without one: an execution with one fewer). So the search is complete
/// when one bound lower finds as many executions (no execution needs the
/// last preemption allowed), or when one bound higher finds no more. The
/// lower search is tried first: it is the cheap one. The higher probe stops
/// as soon as it passes `executions`, and is not run past [`PROBE_LIMIT`];
/// without either proof the answer is "may have cut" (true).
pub fn loom_bound_reached(m: &Model, bound: usize, executions: usize) -> bool {
    if bound >= 255 {
        return true;
    }
    if bound > 0 && loom_count_up_to(m, bound - 1, executions) == Some(executions) {
        return false;
    }
    if executions > PROBE_LIMIT {
        return true;
    }
    loom_count_up_to(m, bound + 1, executions).is_none_or(|n| n > executions)
}

/// The number of executions of a loom search at `bound`, stopped as soon as
/// it passes `limit` (then `limit + 1`); `None` when a check fails in it (a
/// finding that only this bound reaches).
fn loom_count_up_to(m: &Model, bound: usize, limit: usize) -> Option<usize> {
    let count = Arc::new(AtomicUsize::new(0));
    trace::set_current(None);
    let body = {
        let (model, count) = (Arc::new(m.clone()), count.clone());
        move || {
            let n = count.fetch_add(1, Ordering::Relaxed) + 1;
            trace::set_emit(false);
            execute(&model.cfg, &model.setup, &model.threads);
            if n > limit {
                panic::panic_any(Stop);
            }
        }
    };
    let r = quietly(|| {
        set_backend(Backend::Loom);
        let mut b = loom::model::Builder::new();
        b.preemption_bound = Some(bound);
        b.max_branches = 100_000;
        b.check(body);
    });
    trace::set_emit(true);
    trace::set_current(None);
    let n = count.load(Ordering::Relaxed);
    match r {
        Ok(()) => Some(n),
        Err(p) if p.downcast_ref::<Stop>().is_some() => Some(n),
        Err(_) => None,
    }
}
