//! One failure report as a value: the broken check, where it was seen, the
//! step that caused it where the checker can tell, the checks broken after
//! it, each thread's state, the trace and the replay path. It is built once
//! from a run's record and rendered twice: as text (`Display`) and as JSON
//! (`serde`), the way miri's diagnostics and shuttle's failure module keep
//! one value behind every rendering.

use std::fmt;
use std::path::Path;

use daxcheck_core::trace::{Blocked, Event, RecState, What};
use daxcheck_core::violation::{Check, Inv, Violation};
use serde::Serialize;

use crate::explore::Failure;
use crate::run::RunResult;

/// What a thread is blocked on, as the report tells it: the model's typed
/// [`Blocked`] state with the wait key's repeated table name dropped.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum On {
    /// A sleeping lock or spinlock (`down_read mmap_lock(mm0)`, `xa_lock(A)`).
    Lock { lock: String },
    /// A hashed waitqueue: `table` is `entry` (grab/get_next_unlocked_entry)
    /// or `var` (break-layout's `wait_var_event`).
    Wait { table: String, key: String },
}

impl From<&Blocked> for On {
    fn from(b: &Blocked) -> On {
        match b {
            Blocked::Sleeping { table, key } => {
                let key = key.to_string();
                // The model's keys repeat their table's name (`var page 8`).
                let key = key
                    .strip_prefix(table)
                    .map_or(key.as_str(), |k| k.trim_start())
                    .to_string();
                On::Wait {
                    table: table.to_string(),
                    key,
                }
            }
            other => On::Lock {
                lock: other.to_string(),
            },
        }
    }
}

impl fmt::Display for On {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            On::Lock { lock } => f.write_str(lock),
            On::Wait { table, key } => write!(f, "sleeping on {table} waitqueue, key {key}"),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "lowercase")]
pub enum ThreadState {
    Finished,
    Blocked {
        on: On,
    },
    /// Neither finished nor blocked: the execution stopped at the violation.
    Stopped,
}

impl fmt::Display for ThreadState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ThreadState::Finished => f.write_str("finished"),
            ThreadState::Blocked { on } => write!(f, "blocked: {on}"),
            ThreadState::Stopped => f.write_str("stopped"),
        }
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct Thread {
    pub tid: u8,
    /// The top-level operation it runs.
    pub name: String,
    #[serde(flatten)]
    pub state: ThreadState,
}

/// The thread states of a record (T1 onwards).
pub fn thread_states(rec: &RecState) -> Vec<Thread> {
    rec.names
        .iter()
        .enumerate()
        .skip(1)
        .map(|(t, name)| Thread {
            tid: t as u8,
            name: name.clone(),
            state: if rec.finished.get(t).copied().unwrap_or(false) {
                ThreadState::Finished
            } else {
                match rec.blocked.get(t).cloned().flatten() {
                    Some(on) => ThreadState::Blocked { on: On::from(&on) },
                    None => ThreadState::Stopped,
                }
            },
        })
        .collect()
}

/// One step of the trace.
#[derive(Clone, Debug, Serialize)]
pub struct Step {
    /// 1-based.
    pub step: usize,
    pub thread: u8,
    /// The kernel function that made it.
    pub func: &'static str,
    pub event: String,
}

/// An event as the report prints it. The model's wait keys repeat their
/// table's name (`wake entry entry A[0]`); the report drops the repeat.
/// (The replay digest hashes the model's own rendering, so this does not
/// move it.)
fn event_text(w: &What) -> String {
    let dedup = |table: &str, key: &str| {
        key.strip_prefix(table)
            .map_or(key, |k| k.trim_start())
            .to_string()
    };
    match w {
        What::Sleep { table, key } => format!("sleeps: {table} {}", dedup(table, &key.to_string())),
        What::Wake {
            table,
            key,
            mode,
            woken,
        } => format!(
            "wake {table} {} {mode}: {woken} woken",
            dedup(table, &key.to_string())
        ),
        What::Enqueue {
            table,
            key,
            exclusive,
        } => format!(
            "prepare_to_wait{} {table} {}",
            if *exclusive { "_exclusive" } else { "" },
            dedup(table, &key.to_string())
        ),
        _ => w.to_string(),
    }
}

fn step_of(i: usize, e: &Event) -> Step {
    Step {
        step: i + 1,
        thread: e.tid,
        func: e.func,
        event: event_text(&e.what),
    }
}

/// A broken check, as JSON carries it.
#[derive(Clone, Debug, Serialize)]
pub struct Broken {
    /// Stable id: `I1`..`I22`, `WARN`, `BUG`, `lock-rule`, `data-race`,
    /// `deadlock`, `livelock`, `internal`.
    pub check: String,
    /// The check and the state that broke it, in one line.
    pub headline: String,
}

impl Broken {
    fn of(v: &Violation) -> Broken {
        Broken {
            check: v.check.id(),
            headline: v.headline(),
        }
    }
}

/// Who saw the violation.
#[derive(Clone, Debug, Serialize)]
pub struct Seen {
    /// `T<n>`, `checker` (at quiescence) or `explorer` (deadlock, step
    /// bound, data race).
    pub by: String,
    /// The step after which it was seen.
    pub step: usize,
}

/// The step that caused the violation, when the checker can tell.
#[derive(Clone, Debug, Serialize)]
pub struct Cause {
    #[serde(flatten)]
    pub step: Step,
    /// Why this step is named.
    pub why: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub scenario: String,
    pub variant: String,
    pub kernel: String,
    pub mutant: Option<String>,
    /// The explorer run, e.g. `pct(depth=3,seed=1)`.
    pub explorer: String,
    /// 1-based number of the failing execution.
    pub execution: usize,
    #[serde(flatten)]
    pub violation: Broken,
    pub seen: Seen,
    pub cause: Option<Cause>,
    /// A livelock's likely cause, in words.
    pub suggestion: Option<String>,
    /// Checks broken later in the same execution.
    pub then: Vec<Broken>,
    pub threads: Vec<Thread>,
    pub trace: Vec<Step>,
    /// The replay file written for this failure.
    pub replay: Option<String>,
}

/// The folio a check's detail names (`folio 8 ...`).
fn folio_in(detail: &str) -> Option<u64> {
    let rest = &detail[detail.find("folio ")? + "folio ".len()..];
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// Whether a page-table value (`pmd(pfn 8,special)`) maps `pfn`.
fn maps(pte: &str, pfn: u64) -> bool {
    let needle = format!("pfn {pfn}");
    pte.match_indices(&needle).any(|(i, _)| {
        !pte[i + needle.len()..]
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_digit())
    })
}

/// For refcount-accounting checks (I1, I8, I9) the cause is the last
/// refcount or page-table change of the folio before the check saw it: the
/// step that left the count and the mappings disagreeing.
pub fn cause_of(v: &Violation, events: &[Event]) -> Option<Cause> {
    if !matches!(
        v.check,
        Check::Inv(Inv::RefcountAccounting | Inv::BreakLayoutDone | Inv::SplitOnlyWhenIdle)
    ) {
        return None;
    }
    let pfn = folio_in(&v.detail)?;
    let upto = v.step.min(events.len());
    let (i, e) = events[..upto]
        .iter()
        .enumerate()
        .rev()
        .find(|(_, e)| match &e.what {
            What::Ref { pfn: p, .. } => *p == pfn,
            What::Pte { old, new, .. } => {
                maps(&old.to_string(), pfn) || maps(&new.to_string(), pfn)
            }
            _ => false,
        })?;
    Some(Cause {
        step: step_of(i, e),
        why: format!("the last refcount or page-table change of folio {pfn}"),
    })
}

/// A livelock's likely cause: the function an unfinished thread keeps
/// repeating at the end of the trace.
pub fn livelock_suggestion(rec: &RecState) -> Option<String> {
    let tail = &rec.events[rec.events.len().saturating_sub(200)..];
    let mut best: Option<(u8, &str, usize, usize)> = None;
    for t in 1..rec.names.len() {
        if rec.finished.get(t).copied().unwrap_or(false) {
            continue;
        }
        let mine: Vec<&Event> = tail.iter().filter(|e| e.tid as usize == t).collect();
        let mut counts: Vec<(&str, usize)> = Vec::new();
        for e in &mine {
            match counts.iter_mut().find(|(f, _)| *f == e.func) {
                Some(c) => c.1 += 1,
                None => counts.push((e.func, 1)),
            }
        }
        if let Some(&(f, n)) = counts.iter().max_by_key(|(_, n)| *n) {
            if best.is_none_or(|b| n > b.2) {
                best = Some((t as u8, f, n, mine.len()));
            }
        }
    }
    let (t, func, n, of) = best?;
    Some(format!(
        "T{t} keeps repeating {func} ({n} of its last {of} steps): a retry loop whose condition \
         never changes; look for the wake or the reference drop it waits for"
    ))
}

impl Report {
    pub fn new(r: &RunResult, f: &Failure, replay: Option<&Path>) -> Report {
        let v = &f.violation;
        let by = match v.check {
            Check::Deadlock | Check::Livelock | Check::DataRace | Check::Internal if v.tid == 0 => {
                "explorer".to_string()
            }
            _ if v.tid == 0 => "checker".to_string(),
            _ => format!("T{}", v.tid),
        };
        Report {
            scenario: r.scenario.to_string(),
            variant: r.variant.to_string(),
            kernel: r.kernel.name().to_string(),
            mutant: r.mutant.map(|m| m.name().to_string()),
            explorer: r.explorer.describe(),
            execution: f.execution,
            violation: Broken::of(v),
            seen: Seen { by, step: v.step },
            cause: cause_of(v, &f.rec.events),
            suggestion: match v.check {
                Check::Livelock => livelock_suggestion(&f.rec),
                _ => None,
            },
            then: f.rec.violations.iter().skip(1).map(Broken::of).collect(),
            threads: thread_states(&f.rec),
            trace: f
                .rec
                .events
                .iter()
                .enumerate()
                .map(|(i, e)| step_of(i, e))
                .collect(),
            replay: replay.map(|p| p.display().to_string()),
        }
    }

    /// The report in one line, for an expected finding.
    pub fn one_line(&self) -> String {
        let mut s = format!(
            "{}/{}  {}  {}",
            self.scenario,
            self.variant,
            self.explorer,
            self.violation.headline.lines().next().unwrap_or_default()
        );
        // A race's headline goes on with its two accesses, one a line: the
        // one-line form still names both (without their locksets).
        let accesses: Vec<String> = self
            .violation
            .headline
            .lines()
            .skip(1)
            .map(str::trim)
            .filter(|l| l.starts_with("earlier:") || l.starts_with("later:"))
            .map(|l| {
                let access = l.split("; locks held").next().unwrap_or(l);
                access.split_whitespace().collect::<Vec<_>>().join(" ")
            })
            .collect();
        if !accesses.is_empty() {
            s.push_str(&format!(" [{}]", accesses.join(" | ")));
        }
        if let Some(p) = &self.replay {
            s.push_str(&format!("  (replay: {p})"));
        }
        s
    }

    fn seen_by(&self) -> String {
        match self.seen.by.as_str() {
            "explorer" => "the explorer".to_string(),
            "checker" => "the checker at quiescence".to_string(),
            t => t.to_string(),
        }
    }
}

/// The per-thread trace: one line per step, each thread in its own column
/// band, as litmus tools print them. A livelock runs to the step bound:
/// keep the start and the end.
fn write_trace(f: &mut fmt::Formatter<'_>, trace: &[Step]) -> fmt::Result {
    let n = trace.len();
    let width = n.to_string().len().max(2);
    let (head, tail) = (150, 250);
    for (i, s) in trace.iter().enumerate() {
        if n > head + tail && i >= head && i < n - tail {
            if i == head {
                writeln!(
                    f,
                    "  {:>width$}  ... {} steps elided ...",
                    "",
                    n - head - tail
                )?;
            }
            continue;
        }
        let indent = "    ".repeat(s.thread.saturating_sub(1) as usize);
        writeln!(
            f,
            "  {:>width$}  T{} {indent}{}: {}",
            s.step, s.thread, s.func, s.event
        )?;
    }
    Ok(())
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "== {}/{}  kernel {}  mutant {}  {} execution {}",
            self.scenario,
            self.variant,
            self.kernel,
            self.mutant.as_deref().unwrap_or("none"),
            self.explorer,
            self.execution
        )?;
        writeln!(f, "VIOLATION {}", self.violation.headline)?;
        writeln!(
            f,
            "  seen by {} after step {}",
            self.seen_by(),
            self.seen.step
        )?;
        if let Some(c) = &self.cause {
            writeln!(
                f,
                "  cause: step {} T{} {}: {} ({})",
                c.step.step, c.step.thread, c.step.func, c.step.event, c.why
            )?;
        }
        if let Some(s) = &self.suggestion {
            writeln!(f, "  likely cause: {s}")?;
        }
        for other in self.then.iter().take(5) {
            writeln!(f, "  then: {}", other.headline)?;
        }
        if self.then.len() > 5 {
            writeln!(f, "  (+{} more)", self.then.len() - 5)?;
        }
        writeln!(f, "\nthreads:")?;
        for t in &self.threads {
            writeln!(f, "  T{}  {:<50}  {}", t.tid, t.name, t.state)?;
        }
        writeln!(f, "\ntrace (step, thread, kernel function: event):")?;
        write_trace(f, &self.trace)?;
        if let Some(p) = &self.replay {
            writeln!(f, "\nreplay: daxcheck replay {p}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocked_states_tell_locks_and_waits() {
        use daxcheck_core::wait::WaitKey;
        assert_eq!(
            On::from(&Blocked::Sleeping {
                table: "var",
                key: WaitKey::Var { pfn: 8 }
            }),
            On::Wait {
                table: "var".into(),
                key: "page 8".into()
            }
        );
        assert_eq!(
            On::from(&Blocked::Sleeping {
                table: "entry",
                key: WaitKey::Entry { file: 0, index: 0 }
            }),
            On::Wait {
                table: "entry".into(),
                key: "A[0]".into()
            }
        );
        assert_eq!(
            On::from(&Blocked::DownRead(daxcheck_core::cx::LockId::MmapLock(0))),
            On::Lock {
                lock: "down_read mmap_lock(mm0)".into()
            }
        );
    }

    #[test]
    fn folio_and_pfn_matching() {
        assert_eq!(folio_in("folio 8 refcount 1 but 0"), Some(8));
        assert_eq!(folio_in("block pfn 8 of A[0] freed"), None);
        assert!(maps("pmd(pfn 8,special)", 8));
        assert!(!maps("pmd(pfn 81,special)", 8));
        assert!(!maps("none", 8));
    }

    fn ev(tid: u8, func: &'static str, what: What) -> Event {
        Event {
            tid,
            func,
            depth: 0,
            what,
        }
    }

    #[test]
    fn refcount_checks_name_the_last_change_of_their_folio() {
        let events = vec![
            ev(
                1,
                "dax_fault_iter",
                What::Ref {
                    pfn: 8,
                    old: 0,
                    new: 1,
                    how: "folio_ref_inc",
                },
            ),
            ev(
                1,
                "vmf_insert_folio_pmd",
                What::Ref {
                    pfn: 9,
                    old: 0,
                    new: 1,
                    how: "folio_get",
                },
            ),
            ev(
                2,
                "zap_huge_pmd",
                What::Pte {
                    mm: 0,
                    file: 0,
                    index: 0,
                    old: daxcheck_core::trace::PtEntry::Pmd(daxcheck_core::world::Pmd::Huge {
                        pfn: 8,
                        write: false,
                        special: true,
                    }),
                    new: daxcheck_core::trace::PtEntry::Pmd(daxcheck_core::world::Pmd::None),
                },
            ),
            ev(2, "munmap", What::Begin),
        ];
        let v = Violation {
            check: Check::Inv(Inv::RefcountAccounting),
            detail: "folio 8 refcount 1 but 0 page-table mappings".into(),
            tid: 0,
            step: 4,
        };
        let c = cause_of(&v, &events).expect("a cause");
        assert_eq!((c.step.step, c.step.func), (3, "zap_huge_pmd"));
        // Seen before the zap: the last change is the first step.
        let early = Violation {
            step: 2,
            ..v.clone()
        };
        assert_eq!(cause_of(&early, &events).map(|c| c.step.step), Some(1));
        // Other checks do not claim a cause.
        let other = Violation {
            check: Check::Inv(Inv::AssociationMatchesXarray),
            ..v
        };
        assert!(cause_of(&other, &events).is_none());
    }

    #[test]
    fn a_livelock_suggests_the_loop_an_unfinished_thread_repeats() {
        let mut rec = RecState {
            names: vec!["main".into(), "remap".into(), "fault".into()],
            finished: vec![false, false, true],
            ..Default::default()
        };
        for _ in 0..50 {
            rec.events
                .push(ev(1, "dax_layout_busy_page_range", What::Begin));
            rec.events
                .push(ev(1, "xfs_mmaplock_two_inodes", What::Begin));
            rec.events
                .push(ev(1, "dax_layout_busy_page_range", What::Begin));
        }
        let s = livelock_suggestion(&rec).expect("a suggestion");
        assert!(
            s.starts_with("T1 keeps repeating dax_layout_busy_page_range"),
            "{s}"
        );
    }
}
