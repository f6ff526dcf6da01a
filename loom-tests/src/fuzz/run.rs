//! Fuzz input → (world, threads, schedule), and one run of it.
//!
//! Both targets run under shuttle, the `ops` target with one model thread
//! (so the scheduler has no choice to make) and `schedules` with 2-4 threads
//! whose every scheduling choice is read from the input. The model's
//! quiescent checker runs whenever no thread is inside an operation: after
//! every operation of a one-thread run, and at the end of every run. One
//! model thread still runs under shuttle rather than on std threads so that
//! a run that hangs (a mutant leaking a lock or a reference, then waiting
//! for it) is reported as a deadlock or livelock instead of hanging the
//! fuzzer.

use std::sync::Arc;

use arbitrary::Unstructured;
use daxcheck_core::cx::Cx;
use daxcheck_core::exec::ThreadSpec;
use daxcheck_core::trace::RecState;
use daxcheck_core::{Config, KernelState, Mutant};
use shuttle::scheduler::{Schedule, Scheduler, Task, TaskId};

use super::known::{self, Known};
use super::ops::{apply, release_all, Op, ThreadState};
use super::world::{pick, FuzzWorld, WORLD_BYTES};
use crate::explore::{explore_with, Failure, Model, Outcome};

/// The fuzz targets that run the model.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    Ops,
    Schedules,
}

impl Target {
    pub fn name(self) -> &'static str {
        match self {
            Target::Ops => "ops",
            Target::Schedules => "schedules",
        }
    }

    /// The pseudo-scenario name its replay files carry.
    pub fn scenario(self) -> &'static str {
        match self {
            Target::Ops => "fuzz-ops",
            Target::Schedules => "fuzz-schedules",
        }
    }

    pub fn parse(s: &str) -> Result<Target, String> {
        match s {
            "ops" => Ok(Target::Ops),
            "schedules" => Ok(Target::Schedules),
            other => Err(format!(
                "unknown fuzz target `{other}` (known: ops, schedules)"
            )),
        }
    }
}

/// Steps after which a fuzz run counts as a livelock: far above any
/// finishing run of `MAX_OPS` operations, and cheap enough that a mutant
/// that retries forever does not stall a campaign.
pub const MAX_STEPS: usize = 20_000;

/// Longest input the decoder accepts.
pub const MAX_INPUT: usize = 4096;
/// Operations of one `ops` input at most.
pub const MAX_OPS: usize = 24;
/// Operations of one `schedules` input at most (over all its threads).
pub const MAX_SCHED_OPS: usize = 8;

/// A decoded input: the world, each thread's operations, and the
/// scheduling choices (`schedules` only).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Program {
    pub target: Target,
    pub world: FuzzWorld,
    pub threads: Vec<Vec<Op>>,
    pub choices: Vec<u8>,
}

/// Decode an input. Every error is one line naming the problem.
pub fn decode(target: Target, data: &[u8]) -> Result<Program, String> {
    if data.is_empty() {
        return Err("empty fuzz input".into());
    }
    if data.len() > MAX_INPUT {
        return Err(format!(
            "fuzz input of {} bytes is longer than {MAX_INPUT}",
            data.len()
        ));
    }
    let Some((head, rest)) = data.split_first_chunk::<WORLD_BYTES>() else {
        return Err(format!(
            "truncated fuzz input: the world needs {WORLD_BYTES} bytes, got {}",
            data.len()
        ));
    };
    let world = FuzzWorld::decode(head);
    let mut u = Unstructured::new(rest);
    let (threads, choices) = match target {
        Target::Ops => {
            let mut ops = Vec::new();
            while ops.len() < MAX_OPS {
                match Op::decode(&mut u, &world) {
                    Some(op) => ops.push(op),
                    None => break,
                }
            }
            (vec![ops], Vec::new())
        }
        Target::Schedules => {
            let n = 2 + pick(&mut u, 3) as usize;
            let nops = 2 + pick(&mut u, (MAX_SCHED_OPS - 1) as u64) as usize;
            let mut threads = vec![Vec::new(); n];
            for _ in 0..nops {
                let t = pick(&mut u, n as u64) as usize;
                match Op::decode(&mut u, &world) {
                    Some(op) => threads[t].push(op),
                    None => break,
                }
            }
            threads.retain(|t: &Vec<Op>| !t.is_empty());
            let choices = u.take_rest().to_vec();
            (threads, choices)
        }
    };
    if threads.iter().all(|t| t.is_empty()) {
        return Err("truncated fuzz input: no operation after the world".into());
    }
    Ok(Program {
        target,
        world,
        threads,
        choices,
    })
}

impl Program {
    /// The thread specs the model runs.
    pub fn thread_specs(&self) -> Vec<ThreadSpec> {
        self.threads
            .iter()
            .map(|ops| {
                let ops = ops.clone();
                let fw = self.world.clone();
                ThreadSpec {
                    name: ops
                        .iter()
                        .map(|o| o.to_string())
                        .collect::<Vec<_>>()
                        .join("; "),
                    body: Arc::new(move |cx: &Cx| {
                        let st = ThreadState::default();
                        for op in &ops {
                            apply(cx, &fw, &st, op);
                        }
                        // The process's I/O completes: what it still holds
                        // is released, as a task's exit would.
                        release_all(cx, &st);
                    }),
                }
            })
            .collect()
    }

    pub fn model(&self, cfg: &Config) -> Model {
        Model {
            setup: self.world.setup(),
            threads: self.thread_specs(),
            cfg: cfg.clone(),
            want: crate::explore::Want::Any,
        }
    }

    /// The program as a scenario: a litmus-style header.
    pub fn header(&self) -> String {
        let mut s = self.world.describe();
        for (t, ops) in self.threads.iter().enumerate() {
            for (i, op) in ops.iter().enumerate() {
                let lead = if i == 0 {
                    format!("T{}:", t + 1)
                } else {
                    String::new()
                };
                s.push_str(&format!("{lead:<4}{op}\n"));
            }
        }
        match self.target {
            Target::Ops => s.push_str("Schedule: one thread, operations in order\n"),
            Target::Schedules => s.push_str(&format!(
                "Schedule: {} scheduling choices from the input, then each thread runs on until it blocks\n",
                self.choices.len()
            )),
        }
        s.push_str("Property: every invariant after every operation (one thread) or at quiescence, and at the end\n");
        s
    }
}

/// A shuttle scheduler driven by the input alone: at a scheduling point
/// with more than one runnable thread it reads one byte and runs
/// `runnable[byte % n]`. Once the bytes are used up it lets the current
/// thread run on, and a thread that yields (a busy retry) hands over to the
/// next runnable one, so the run stays deterministic and finishes.
pub struct InputScheduler {
    choices: Vec<u8>,
    pos: usize,
    started: bool,
}

impl InputScheduler {
    pub fn new(choices: Vec<u8>) -> InputScheduler {
        InputScheduler {
            choices,
            pos: 0,
            started: false,
        }
    }
}

impl Scheduler for InputScheduler {
    fn new_execution(&mut self) -> Option<Schedule> {
        if self.started {
            return None;
        }
        self.started = true;
        Some(Schedule::new(0))
    }

    fn next_task(
        &mut self,
        runnable: &[&Task],
        current: Option<TaskId>,
        yielding: bool,
    ) -> Option<TaskId> {
        let mut ids: Vec<usize> = runnable.iter().map(|t| usize::from(t.id())).collect();
        ids.sort_unstable();
        if ids.len() <= 1 {
            return ids.first().map(|&i| TaskId::from(i));
        }
        if let Some(&b) = self.choices.get(self.pos) {
            self.pos += 1;
            return Some(TaskId::from(ids[b as usize % ids.len()]));
        }
        let cur = current.map(usize::from);
        match cur {
            Some(c) if ids.contains(&c) && !yielding => Some(TaskId::from(c)),
            Some(c) => {
                let next = ids.iter().copied().find(|&i| i > c).unwrap_or(ids[0]);
                Some(TaskId::from(next))
            }
            None => Some(TaskId::from(ids[0])),
        }
    }

    fn next_u64(&mut self) -> u64 {
        0
    }
}

/// How one run ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    Holds,
    /// The first violation is a known finding (suppressed unless asked).
    Known(&'static str, String),
    /// A violation no known finding explains: the fuzzer's crash.
    Violated(String),
}

impl Verdict {
    /// The sidecar form: `holds`, `known H3 I4`, `violated I1`.
    pub fn word(&self) -> String {
        match self {
            Verdict::Holds => "holds".into(),
            Verdict::Known(k, c) => format!("known {k} {c}"),
            Verdict::Violated(c) => format!("violated {c}"),
        }
    }
}

pub struct FuzzRun {
    pub program: Program,
    pub cfg: Config,
    pub outcome: Outcome,
    pub verdict: Verdict,
}

impl FuzzRun {
    pub fn failure(&self) -> Option<&Failure> {
        self.outcome.failure.as_ref()
    }

    pub fn record(&self) -> Option<&RecState> {
        self.outcome
            .failure
            .as_ref()
            .map(|f| &f.rec)
            .or(self.outcome.last.as_ref())
    }
}

/// Run a decoded program once.
pub fn run_program(p: Program, cfg: &Config) -> FuzzRun {
    let outcome = explore_with(
        &p.model(cfg),
        InputScheduler::new(p.choices.clone()),
        MAX_STEPS,
    );
    judge(p, cfg, outcome)
}

/// Judge a run's outcome: holds, a known finding, or a violation.
pub fn judge(p: Program, cfg: &Config, outcome: Outcome) -> FuzzRun {
    let verdict = match &outcome.failure {
        None => Verdict::Holds,
        Some(f) => {
            let check = f.violation.check.id();
            match known::classify(&p, cfg, f) {
                Some(Known { name, .. }) => Verdict::Known(name, check),
                None => Verdict::Violated(check),
            }
        }
    };
    FuzzRun {
        program: p,
        cfg: cfg.clone(),
        outcome,
        verdict,
    }
}

/// Decode and run an input.
pub fn run_input(target: Target, data: &[u8], cfg: &Config) -> Result<FuzzRun, String> {
    Ok(run_program(decode(target, data)?, cfg))
}

/// The kernel state and mutant a campaign runs against:
/// `DAXCHECK_KERNEL` (default v6.15) and `DAXCHECK_MUTANT` (default none).
pub fn config_from_env() -> Result<Config, String> {
    let kernel = match std::env::var("DAXCHECK_KERNEL") {
        Ok(k) if !k.is_empty() => {
            KernelState::parse(&k).map_err(|e| format!("DAXCHECK_KERNEL: {e}"))?
        }
        _ => KernelState::default(),
    };
    let mutant = match std::env::var("DAXCHECK_MUTANT") {
        Ok(m) if !m.is_empty() && m != "none" => {
            Some(Mutant::parse(&m).map_err(|e| format!("DAXCHECK_MUTANT: {e}"))?)
        }
        _ => None,
    };
    Ok(Config {
        kernel,
        mutant,
        ..Config::default()
    })
}

/// Whether known findings are reported as crashes
/// (`DAXCHECK_FUZZ_REPORT_KNOWN=1`).
pub fn report_known() -> bool {
    std::env::var("DAXCHECK_FUZZ_REPORT_KNOWN").is_ok_and(|v| v == "1")
}

/// What a fuzz target does with one input: `Err` (a crash) with the report
/// when the run violates a check no known finding explains (or any check,
/// with `DAXCHECK_FUZZ_REPORT_KNOWN=1`). Inputs the decoder rejects are
/// not interesting and pass.
pub fn fuzz_one(
    target: Target,
    data: &[u8],
    cfg: &Config,
    report_known: bool,
) -> Result<(), String> {
    let Ok(run) = run_input(target, data, cfg) else {
        return Ok(());
    };
    known::count(&run.program, &run.verdict);
    match &run.verdict {
        Verdict::Holds => Ok(()),
        Verdict::Known(..) if !report_known => Ok(()),
        _ => Err(super::render::render(&run, None)),
    }
}
