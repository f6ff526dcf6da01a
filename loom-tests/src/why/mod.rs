//! `daxcheck why FIELD`: what synchronizes a modelled field, which values it
//! takes at a site, and which guards the catalogue needs, answered from
//! executions run with access recording on (`daxcheck_core::access`).
//!
//! - `report`: the per-field aggregation (sites, locksets, conflicting pairs,
//!   values at a site) and its text and JSON renderings;
//! - `ablate`: `--without CHECK`, the guard sites and their mutants;
//! - `race`: the two-event story that replaces loom's race text in `check`;
//! - `answers`: ANSWERS.md, the review questions of spec §4.

pub mod ablate;
pub mod answers;
pub mod cli;
pub mod race;
pub mod report;

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::rc::Rc;
use std::sync::Arc;

use daxcheck_core::access::{self, Mode};
use daxcheck_core::trace::{RecState, Recorder};
use daxcheck_core::{KernelState, Mutant};

use crate::catalogue::{resolve, Scenario};
use crate::cmd;
use crate::explore::{explore, Explorer, ExplorerKind};
use crate::replay::{digest, ReplayFile};
use crate::run::{self, Budget};

/// What `observe` calls.
type Observer = Box<dyn FnMut(&Arc<Recorder>)>;

/// What `explore_recorded` feeds every execution to.
pub type Sink = Rc<RefCell<dyn FnMut(&Origin, usize, &Arc<Recorder>, &[access::Access])>>;

thread_local! {
    /// Called after every execution the explorers run on this OS thread.
    static OBSERVER: RefCell<Option<Observer>> = const { RefCell::new(None) };
}

/// Hook in the explorer: hand a finished execution to `daxcheck why`.
pub fn observe(rec: &Arc<Recorder>) {
    OBSERVER.with(|o| {
        if let Some(f) = o.borrow_mut().as_mut() {
            f(rec)
        }
    });
}

/// The explorer spec a replay file records: recorded executions say so,
/// because their plain reads are steps (`accesses=N`, an extra parameter
/// older readers ignore).
pub fn spec_with_accesses(ex: &Explorer, rec: &RecState) -> String {
    if rec.accesses == 0 {
        ex.spec()
    } else {
        format!("{} accesses={}", ex.spec(), rec.accesses)
    }
}

/// The recording mode a replay file's explorer spec asks for.
pub fn mode_of_spec(spec: &str) -> Mode {
    spec.split_whitespace()
        .find_map(|w| w.strip_prefix("accesses="))
        .and_then(|n| n.parse().ok())
        .map_or(Mode::Off, Mode::from_number)
}

/// What to explore: scenario variants, kernel state, mutant, explorers.
pub struct Scope {
    pub runs: Vec<(usize, Vec<usize>)>,
    pub kernel: KernelState,
    pub mutant: Option<Mutant>,
    pub explorer: Option<ExplorerKind>,
    pub budget: Budget,
}

impl Scope {
    /// `specs` empty: the whole catalogue.
    pub fn new(
        cat: &[Scenario],
        specs: &[String],
        kernel: KernelState,
        mutant: Option<Mutant>,
        explorer: Option<ExplorerKind>,
        budget: Budget,
    ) -> Result<Scope, String> {
        let mut runs = Vec::new();
        if specs.is_empty() {
            runs = (0..cat.len())
                .map(|i| (i, (0..cat[i].variants.len()).collect()))
                .collect();
        }
        for s in specs {
            runs.push(resolve(cat, s)?);
        }
        Ok(Scope {
            runs,
            kernel,
            mutant,
            explorer,
            budget,
        })
    }

    /// The command-line words that select this scope (for reproduce lines).
    pub fn describe(&self, cat: &[Scenario]) -> String {
        let names: Vec<String> = self
            .runs
            .iter()
            .flat_map(|(si, vis)| {
                vis.iter()
                    .map(|&vi| format!("{}/{}", cat[*si].name, cat[*si].variants[vi].name))
            })
            .collect();
        names.join(" ")
    }
}

/// One execution's identity, enough to replay it.
#[derive(Clone)]
pub struct Origin {
    pub scenario: &'static str,
    pub variant: &'static str,
    pub kernel: KernelState,
    pub mutant: Option<Mutant>,
    pub explorer: Explorer,
}

/// Run every execution of the scope with recording on, feeding each to `f`
/// with its origin, its number in its run and its record.
pub fn explore_recorded(cat: &[Scenario], scope: &Scope, f: Sink) -> Result<usize, String> {
    let mut total = 0;
    for (si, vis) in &scope.runs {
        let sc = &cat[*si];
        let explorers = run::explorers_for(scope.explorer, sc, &scope.budget);
        for &vi in vis {
            for ex in &explorers {
                let mut m = run::model_of(sc, vi, scope.kernel, scope.mutant);
                // Never stop at a violation: every execution is evidence.
                m.want = crate::explore::Want::Nothing;
                let origin = Origin {
                    scenario: sc.name,
                    variant: sc.variants[vi].name,
                    kernel: scope.kernel,
                    mutant: scope.mutant,
                    explorer: ex.clone(),
                };
                let n = Rc::new(std::cell::Cell::new(0usize));
                let (f2, n2) = (f.clone(), n.clone());
                OBSERVER.with(|o| {
                    *o.borrow_mut() = Some(Box::new(move |rec: &Arc<Recorder>| {
                        n2.set(n2.get() + 1);
                        let acc = access::current().map(|l| l.accesses()).unwrap_or_default();
                        (f2.borrow_mut())(&origin, n2.get(), rec, &acc);
                    }))
                });
                access::set_mode(Mode::Own);
                explore(&m, ex);
                access::set_mode(Mode::Off);
                OBSERVER.with(|o| *o.borrow_mut() = None);
                total += n.get();
            }
        }
    }
    Ok(total)
}

/// A witness execution: where it came from and its record.
#[derive(Clone)]
pub struct Witness {
    pub origin: Origin,
    pub execution: usize,
    /// The steps to mark in its trace.
    pub steps: Vec<usize>,
    pub rec: Rc<RecState>,
}

impl Witness {
    pub fn label(&self) -> String {
        format!(
            "{}/{} {} execution {}",
            self.origin.scenario,
            self.origin.variant,
            self.origin.explorer.describe(),
            self.execution
        )
    }

    pub fn replay_file(&self) -> ReplayFile {
        ReplayFile {
            scenario: self.origin.scenario.to_string(),
            variant: self.origin.variant.to_string(),
            kernel: self.origin.kernel,
            mutant: self.origin.mutant,
            explorer: spec_with_accesses(&self.origin.explorer, &self.rec),
            execution: self.execution,
            check: self
                .rec
                .violations
                .first()
                .map_or_else(|| "none".to_string(), |v| v.check.id()),
            schedule: self.rec.events.iter().map(|e| e.tid).collect(),
            digest: digest(&self.rec),
            fingerprint: {
                let cat = crate::catalogue::catalogue();
                resolve(
                    &cat,
                    &format!("{}/{}", self.origin.scenario, self.origin.variant),
                )
                .ok()
                .map(|(si, vis)| crate::replay::fingerprint(&cat[si], vis[0]))
            },
        }
    }

    /// Write the replay file into `dir`; returns its file name.
    pub fn save(&self, dir: &Path, tag: &str) -> Result<String, String> {
        let rf = self.replay_file();
        let name = format!(
            "why-{tag}-{}-{}-{:08x}.replay",
            rf.scenario,
            rf.variant,
            rf.digest & 0xffff_ffff
        );
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let p = dir.join(&name);
        std::fs::write(&p, rf.render()).map_err(|e| format!("{}: {e}", p.display()))?;
        Ok(name)
    }

    /// The marked steps with a line of context either side.
    pub fn excerpt(&self) -> String {
        let mut out = String::new();
        let n = self.rec.events.len();
        let mut shown = std::collections::BTreeSet::new();
        for &s in &self.steps {
            for k in s.saturating_sub(1).max(1)..=(s + 1).min(n) {
                shown.insert(k);
            }
        }
        let mut last = 0;
        for k in shown {
            if last != 0 && k > last + 1 {
                out.push_str("       ...\n");
            }
            let e = &self.rec.events[k - 1];
            let mark = if self.steps.contains(&k) { ">>" } else { "  " };
            let indent = "    ".repeat(e.tid.saturating_sub(1) as usize);
            out.push_str(&format!(
                "  {mark} {k:>4}  T{} {indent}{}: {}\n",
                e.tid, e.func, e.what
            ));
            last = k;
        }
        out
    }
}

/// Where `why` writes witness replay files.
pub fn witness_dir() -> PathBuf {
    run::failure_dir(false)
}

/// `daxcheck replay` of a witness that breaks no check: reproduced when the
/// trace has the recorded digest.
pub fn replay_clean(r: &run::RunResult, rf: &ReplayFile, file: &Path) -> cmd::Res {
    let Some(rec) = &r.outcome.last else {
        cmd::out(&format!(
            "replay of {} produced no execution\n",
            file.display()
        ))?;
        return Ok(ExitCode::from(1));
    };
    let mut out = format!(
        "== {}  kernel {}  mutant {}  {} (a witness: no check broken)\n\ntrace (step, thread, kernel function: event):\n",
        r.label(),
        r.kernel.name(),
        r.mutant.map_or("none", |m| m.name()),
        r.explorer.describe()
    );
    rec.render_trace(&mut out);
    cmd::out(&out)?;
    if digest(rec) != rf.digest || !rec.violations.is_empty() {
        cmd::out(&format!("\nreplay diverged: the trace differs from the recorded one (was the model changed since {} was written?)\n", file.display()))?;
        return Ok(ExitCode::from(1));
    }
    cmd::out(&format!(
        "\nreplay reproduced the recorded execution exactly ({} steps, digest {:016x})\n",
        rf.schedule.len(),
        rf.digest
    ))?;
    Ok(ExitCode::SUCCESS)
}
