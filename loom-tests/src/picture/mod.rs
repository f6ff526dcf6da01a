//! A picture of one failing execution, as a kernel developer draws it on a
//! whiteboard: one lane per thread with time going down, lock holds as bars
//! in the holder's lane, wait/wake arrows between lanes, the folios'
//! counters and fields as value tracks, and the violation's steps marked.
//!
//! [`Input`] is everything the picture needs, filled from the structured
//! trace (never from rendered text); [`Step::from_event`] is the only code
//! that reads the trace's event payloads. [`Layout`] derives what is drawn
//! (hold spans, wake arrows, value tracks); `svg` draws it and `html` wraps
//! it in a self-contained page with hover details.

pub mod html;
pub mod svg;

use std::collections::BTreeMap;
use std::path::Path;

use daxcheck_core::cx::LockId;
use daxcheck_core::trace::{file_name, Event, RecState, What};
use daxcheck_core::violation::{Check, Violation};

/// The kind of lock, which sets how its holds are drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LockClass {
    /// `mapping->i_pages` xa_lock.
    XaLock,
    /// A DAX entry lock (the LOCKED bit of an xarray entry).
    Entry,
    /// A page-table lock (`pmd_lock`, the PTE table lock).
    Ptl,
    /// A sleeping rwsem: `mmap_lock`, `i_mmap_rwsem`, the XFS inode locks.
    Rwsem,
    /// A waitqueue head's spinlock.
    WaitQueue,
    Other,
}

/// What a step did, as far as the picture cares.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Kind {
    Acquire {
        lock: String,
        class: LockClass,
        shared: bool,
    },
    Release {
        lock: String,
    },
    /// `prepare_to_wait*` on a queue (table and key).
    Enqueue {
        queue: String,
        /// `prepare_to_wait_exclusive` queues at the tail, the others at
        /// the head.
        exclusive: bool,
    },
    /// `schedule()`: the thread sleeps on a queue.
    Sleep {
        queue: String,
    },
    Woken,
    Wake {
        queue: String,
        mode: String,
        woken: usize,
    },
    /// A folio counter or field: its value after the step (`changed`), or
    /// the value the step read. `plain` marks a plain (non-atomic) store,
    /// the only kind of access that can be half of a data race.
    Value {
        track: Track,
        value: String,
        changed: bool,
        plain: bool,
    },
    Other,
}

/// A value track of a folio, in the order the columns are drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Track {
    Refcount,
    Mapcount,
    EntireMapcount,
    LargeMapcount,
    Pincount,
    /// The `index`/`share` union.
    ShareIndex,
    Mapping,
}

impl Track {
    /// The column title.
    pub fn short(self) -> &'static str {
        match self {
            Track::Refcount => "refcount",
            Track::Mapcount => "mapcount",
            Track::EntireMapcount => "entire",
            Track::LargeMapcount => "large",
            Track::Pincount => "pincount",
            Track::ShareIndex => "share/index",
            Track::Mapping => "mapping",
        }
    }
}

/// One step of the trace, as the picture reads it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    pub tid: u8,
    /// The modelled kernel function the step ran in.
    pub func: String,
    /// Function nesting (0: the thread's top-level operation).
    pub depth: u8,
    /// The event, as the text trace prints it.
    pub text: String,
    /// The page the step touched, if any.
    pub pfn: Option<u64>,
    pub kind: Kind,
}

fn lock_class(l: &LockId) -> LockClass {
    match l {
        LockId::XaLock(_) => LockClass::XaLock,
        LockId::Pmd(..) | LockId::Pte(..) => LockClass::Ptl,
        LockId::FsLock(_)
        | LockId::MmapLock(_)
        | LockId::IMmap(_)
        | LockId::ILock(_)
        | LockId::IoLock(_) => LockClass::Rwsem,
        LockId::WaitQueue(..) => LockClass::WaitQueue,
        LockId::Alloc => LockClass::Other,
    }
}

fn track_of(name: &str) -> Option<Track> {
    Some(match name.trim_start_matches('_') {
        "refcount" => Track::Refcount,
        "mapcount" => Track::Mapcount,
        "entire_mapcount" => Track::EntireMapcount,
        "large_mapcount" => Track::LargeMapcount,
        "pincount" => Track::Pincount,
        "share" | "index" => Track::ShareIndex,
        "mapping" => Track::Mapping,
        _ => return None,
    })
}

impl Step {
    /// The one place that reads the trace's event payloads: everything the
    /// picture draws comes from the [`Kind`] made here.
    pub fn from_event(ev: &Event) -> Step {
        let entry = |file: u8, index: u64| format!("entry {}[{index}]", file_name(file));
        let mut pfn = None;
        let kind = match &ev.what {
            What::Acquire(l, how) => Kind::Acquire {
                lock: l.to_string(),
                class: lock_class(l),
                shared: *how == "down_read",
            },
            What::Release(l, _) => Kind::Release {
                lock: l.to_string(),
            },
            What::EntryLock { file, index, .. } => Kind::Acquire {
                lock: entry(*file, *index),
                class: LockClass::Entry,
                shared: false,
            },
            What::EntryUnlock { file, index, .. } => Kind::Release {
                lock: entry(*file, *index),
            },
            What::Enqueue {
                table,
                key,
                exclusive,
            } => Kind::Enqueue {
                queue: format!("{table} {key}"),
                exclusive: *exclusive,
            },
            What::Sleep { table, key } => Kind::Sleep {
                queue: format!("{table} {key}"),
            },
            What::Woken => Kind::Woken,
            What::Wake {
                table,
                key,
                mode,
                woken,
            } => Kind::Wake {
                queue: format!("{table} {key}"),
                mode: mode.to_string(),
                woken: *woken,
            },
            What::Ref { pfn: p, new, .. } => {
                pfn = Some(*p);
                Kind::Value {
                    track: Track::Refcount,
                    value: new.to_string(),
                    changed: true,
                    plain: false,
                }
            }
            What::Mapcount {
                pfn: p, which, new, ..
            } => {
                pfn = Some(*p);
                match track_of(which) {
                    Some(track) => Kind::Value {
                        track,
                        value: new.to_string(),
                        changed: true,
                        plain: false,
                    },
                    None => Kind::Other,
                }
            }
            What::Read { pfn: p, what, val } => {
                pfn = Some(*p);
                match track_of(what) {
                    Some(track) => Kind::Value {
                        track,
                        value: val.to_string(),
                        changed: false,
                        plain: false,
                    },
                    None => Kind::Other,
                }
            }
            What::Field {
                pfn: p, field, new, ..
            } => {
                pfn = Some(*p);
                match track_of(field) {
                    Some(track) => Kind::Value {
                        track,
                        value: if track == Track::ShareIndex {
                            format!("{field} {new}")
                        } else {
                            new.to_string()
                        },
                        changed: true,
                        plain: true,
                    },
                    None => Kind::Other,
                }
            }
            What::ReadField { pfn: p, .. } => {
                pfn = Some(*p);
                Kind::Other
            }
            _ => Kind::Other,
        };
        Step {
            tid: ev.tid,
            func: ev.func.to_string(),
            depth: ev.depth,
            text: ev.what.to_string(),
            pfn,
            kind,
        }
    }
}

/// A thread of the execution: its lane.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Thread {
    pub tid: u8,
    /// The scenario's description of what the thread runs.
    pub name: String,
    /// finished, stopped, or what it is blocked on.
    pub state: String,
}

/// The two accesses of a data race (1-based steps).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RacePair {
    pub first: usize,
    pub second: usize,
    /// How the pair was found, for the header (e.g. that the earlier access
    /// is inferred rather than recorded).
    pub note: String,
}

/// Everything the picture is drawn from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Input {
    /// "S3/pmd  kernel v6.15  mutant M6 ...".
    pub title: String,
    /// The broken check's short id (I1, WARN, data-race...).
    pub check: String,
    /// The report's text: the broken check and the state that broke it.
    pub headline: String,
    /// Who saw it ("T2", "the checker at quiescence").
    pub seen_by: String,
    /// The step after which it was seen (1-based; 0: before any step).
    pub seen: usize,
    /// The step that caused it, where the checker can tell (1-based).
    pub cause: Option<usize>,
    pub race: Option<RacePair>,
    /// Later violations of the same execution: (step, check id, text).
    pub later: Vec<(usize, String, String)>,
    /// One per lane (thread 0, the set-up and the checker, has none).
    pub threads: Vec<Thread>,
    pub steps: Vec<Step>,
    /// The command that replays the execution.
    pub replay: Option<String>,
}

impl Input {
    /// Fill the input from an execution's record and its (first) violation.
    pub fn from_record(
        title: String,
        rec: &RecState,
        v: &Violation,
        replay: Option<String>,
    ) -> Input {
        let steps: Vec<Step> = rec.events.iter().map(Step::from_event).collect();
        let threads = rec
            .names
            .iter()
            .enumerate()
            .skip(1)
            .map(|(t, name)| Thread {
                tid: t as u8,
                name: name.clone(),
                state: if rec.finished.get(t).copied().unwrap_or(false) {
                    "finished".to_string()
                } else {
                    match rec.blocked.get(t).cloned().flatten() {
                        Some(on) => format!("blocked: {on}"),
                        None => "stopped".to_string(),
                    }
                },
            })
            .collect();
        let seen_by = match v.check {
            Check::Deadlock | Check::Livelock | Check::DataRace | Check::Internal if v.tid == 0 => {
                "the explorer".to_string()
            }
            _ if v.tid == 0 => "the checker at quiescence".to_string(),
            _ => format!("T{}", v.tid),
        };
        let race = if v.check == Check::DataRace {
            infer_race(&steps, v.step)
        } else {
            None
        };
        let later = rec
            .violations
            .iter()
            .filter(|o| *o != v)
            .map(|o| (o.step, o.check.id(), o.headline()))
            .collect();
        Input {
            title,
            check: v.check.id(),
            headline: v.headline(),
            seen_by,
            seen: v.step,
            cause: None,
            race,
            later,
            threads,
            steps,
            replay,
        }
    }
}

/// The picture's input for a failure found or replayed by `daxcheck`.
pub fn from_failure(
    r: &crate::run::RunResult,
    f: &crate::explore::Failure,
    replay: Option<&Path>,
) -> Input {
    let title = format!(
        "{}  kernel {}  mutant {}  {} execution {}",
        r.label(),
        r.kernel.name(),
        r.mutant.map_or("none", |m| m.name()),
        r.explorer.describe(),
        f.execution
    );
    Input::from_record(
        title,
        &f.rec,
        &f.violation,
        replay.map(|p| format!("replay: daxcheck replay {}", p.display())),
    )
}

/// The command that draws a saved failure: the page goes beside the file.
pub fn command_for(replay: &Path) -> String {
    format!(
        "picture: daxcheck replay {} --html {}",
        replay.display(),
        replay.with_extension("html").display()
    )
}

/// `daxcheck check`'s line beside a failure's `replay:` line: the command
/// that draws it, or, with `--html-dir`, the page written there.
pub fn beside_replay(
    r: &crate::run::RunResult,
    f: &crate::explore::Failure,
    saved: Option<&Path>,
    dir: Option<&Path>,
) -> Option<String> {
    let Some(dir) = dir else {
        return saved.map(command_for);
    };
    let name = saved.and_then(|p| p.file_stem()).map_or_else(
        || format!("{}-{}", r.scenario, r.variant),
        |s| s.to_string_lossy().into_owned(),
    );
    let out = dir.join(format!("{name}.html"));
    let written = std::fs::create_dir_all(dir)
        .map_err(|e| format!("cannot create {}: {e}", dir.display()))
        .and_then(|()| write(&from_failure(r, f, saved), Some(&out), None));
    match written {
        Ok(()) => Some(format!("picture: {}", out.display())),
        Err(e) => {
            eprintln!("daxcheck: {e}");
            None
        }
    }
}

/// `daxcheck replay FILE --html OUT --svg OUT`: draw the replayed failure.
pub fn draw(
    r: &crate::run::RunResult,
    f: &crate::explore::Failure,
    replay: &Path,
    html_out: Option<&Path>,
    svg_out: Option<&Path>,
) -> Result<(), String> {
    if html_out.is_none() && svg_out.is_none() {
        return Ok(());
    }
    write(&from_failure(r, f, Some(replay)), html_out, svg_out)
}

/// The two accesses of a race the record does not name (loom reports only
/// "Concurrent read and write accesses"): the later one is made by the thread
/// that ran last, right after its last step; the earlier one is taken to be
/// the last plain store by another thread to a page that thread touched in
/// its last steps. Labelled as inferred in the picture.
pub fn infer_race(steps: &[Step], seen: usize) -> Option<RacePair> {
    let last = seen.checked_sub(1).and_then(|i| steps.get(i))?;
    let racer = last.tid;
    let pages: Vec<u64> = steps[..seen]
        .iter()
        .rev()
        .filter(|s| s.tid == racer)
        .take(8)
        .filter_map(|s| s.pfn)
        .collect();
    let first = steps[..seen].iter().rposition(|s| {
        s.tid != racer
            && matches!(s.kind, Kind::Value { plain: true, .. })
            && s.pfn.is_some_and(|p| pages.contains(&p))
    })?;
    Some(RacePair {
        first: first + 1,
        second: seen,
        note: format!(
            "inferred: loom names neither access; T{racer} raced right after step {seen}, \
             and step {} is the last plain store by another thread to a page it was reading",
            first + 1
        ),
    })
}

/// A lock held by one thread from one step to another.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Span {
    pub tid: u8,
    pub lock: String,
    pub class: LockClass,
    pub shared: bool,
    /// Index of the acquiring step.
    pub from: usize,
    /// Index of the releasing step; `None`: still held at the end.
    pub to: Option<usize>,
    /// Which bar column of the lane it is drawn in.
    pub slot: usize,
}

/// A wake-up: the waker's step and the step where the woken thread runs on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Arrow {
    pub from: usize,
    pub to: usize,
    pub label: String,
}

/// A sleep: from `schedule()` to being woken (or the end).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Nap {
    pub tid: u8,
    pub from: usize,
    pub to: Option<usize>,
}

/// One value track column: (folio, track), with (step index, value, changed).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Column {
    pub pfn: u64,
    pub track: Track,
    pub marks: Vec<(usize, String, bool)>,
}

/// What the picture draws, derived from the input.
pub struct Layout {
    pub spans: Vec<Span>,
    pub arrows: Vec<Arrow>,
    pub naps: Vec<Nap>,
    pub columns: Vec<Column>,
    /// Locks in order of first acquisition: their colour index.
    pub locks: Vec<String>,
    /// Bar columns per lane (by tid).
    pub slots: BTreeMap<u8, usize>,
}

impl Layout {
    pub fn new(input: &Input) -> Layout {
        let steps = &input.steps;
        let mut spans: Vec<Span> = Vec::new();
        let mut locks: Vec<String> = Vec::new();
        // Open holds, by index into `spans`.
        let mut open: Vec<usize> = Vec::new();
        let mut naps = Vec::new();
        let mut napping: BTreeMap<u8, usize> = BTreeMap::new();
        // Wait-queue locks given up by `schedule()` and retaken on wake-up.
        let mut parked: BTreeMap<u8, Vec<usize>> = BTreeMap::new();
        for (i, s) in steps.iter().enumerate() {
            match &s.kind {
                Kind::Acquire {
                    lock,
                    class,
                    shared,
                } => {
                    if !locks.contains(lock) {
                        locks.push(lock.clone());
                    }
                    open.push(spans.len());
                    spans.push(Span {
                        tid: s.tid,
                        lock: lock.clone(),
                        class: *class,
                        shared: *shared,
                        from: i,
                        to: None,
                        slot: 0,
                    });
                }
                Kind::Release { lock } => {
                    // The holder's own hold; an entry lock may be dropped by
                    // another thread than the one that took it.
                    let pos = open
                        .iter()
                        .rposition(|&k| spans[k].lock == *lock && spans[k].tid == s.tid)
                        .or_else(|| open.iter().rposition(|&k| spans[k].lock == *lock));
                    if let Some(p) = pos {
                        let k = open.remove(p);
                        spans[k].to = Some(i);
                    }
                }
                Kind::Sleep { .. } => {
                    napping.insert(s.tid, naps.len());
                    naps.push(Nap {
                        tid: s.tid,
                        from: i,
                        to: None,
                    });
                    // schedule() sleeps with the queue lock dropped.
                    let mine: Vec<usize> = open
                        .iter()
                        .copied()
                        .filter(|&k| {
                            spans[k].tid == s.tid && spans[k].class == LockClass::WaitQueue
                        })
                        .collect();
                    open.retain(|k| !mine.contains(k));
                    for &k in &mine {
                        spans[k].to = Some(i);
                    }
                    parked.insert(s.tid, mine);
                }
                Kind::Woken => {
                    if let Some(n) = napping.remove(&s.tid) {
                        naps[n].to = Some(i);
                    }
                    for k in parked.remove(&s.tid).unwrap_or_default() {
                        let again = Span {
                            from: i,
                            to: None,
                            ..spans[k].clone()
                        };
                        open.push(spans.len());
                        spans.push(again);
                    }
                }
                _ => {}
            }
        }
        // Bar columns: the first column free over the whole hold.
        let mut slots: BTreeMap<u8, usize> = BTreeMap::new();
        let end = steps.len();
        let mut busy: BTreeMap<u8, Vec<usize>> = BTreeMap::new(); // per slot: free from
        for sp in spans.iter_mut() {
            let cols = busy.entry(sp.tid).or_default();
            let slot = cols
                .iter()
                .position(|&free| free <= sp.from)
                .unwrap_or_else(|| {
                    cols.push(0);
                    cols.len() - 1
                });
            cols[slot] = sp.to.unwrap_or(end) + 1;
            sp.slot = slot;
            let n = slots.entry(sp.tid).or_insert(0);
            *n = (*n).max(slot + 1);
        }
        let arrows = wake_arrows(steps);
        let mut cols: BTreeMap<(u64, Track), Column> = BTreeMap::new();
        for (i, s) in steps.iter().enumerate() {
            if let (
                Some(pfn),
                Kind::Value {
                    track,
                    value,
                    changed,
                    ..
                },
            ) = (s.pfn, &s.kind)
            {
                cols.entry((pfn, *track))
                    .or_insert_with(|| Column {
                        pfn,
                        track: *track,
                        marks: Vec::new(),
                    })
                    .marks
                    .push((i, value.clone(), *changed));
            }
        }
        // A track only a reader looked at tells nothing over time.
        let columns = cols
            .into_values()
            .filter(|c| c.marks.iter().any(|m| m.2))
            .collect();
        Layout {
            spans,
            arrows,
            naps,
            columns,
            locks,
            slots,
        }
    }

    /// The locks each thread holds just after step index `i`.
    pub fn held_after(&self, i: usize) -> BTreeMap<u8, Vec<String>> {
        let mut out: BTreeMap<u8, Vec<String>> = BTreeMap::new();
        for sp in &self.spans {
            if sp.from <= i && sp.to.is_none_or(|t| t > i) {
                let how = if sp.shared { " (shared)" } else { "" };
                out.entry(sp.tid)
                    .or_default()
                    .push(format!("{}{how}", sp.lock));
            }
        }
        out
    }
}

/// Who woke whom. The wait queues are replayed from the trace: a wake
/// removes the first `woken` waiters of its queue, in queue order; a removed
/// sleeper runs on at its `woken` step, a waiter removed before it slept at
/// its next step. (`finish_wait` is not recorded, so a waiter that left the
/// queue on its own stays in the replayed queue until it queues elsewhere or
/// sleeps; a sleeper no replayed wake removed is credited to the last wake
/// of its queue during its sleep.)
fn wake_arrows(steps: &[Step]) -> Vec<Arrow> {
    let label = |w: &Step| match &w.kind {
        Kind::Wake { queue, mode, .. } => format!("{mode} {queue}"),
        _ => String::new(),
    };
    let mut arrows = Vec::new();
    let mut queues: BTreeMap<&str, Vec<u8>> = BTreeMap::new();
    let mut asleep: BTreeMap<u8, (usize, &str)> = BTreeMap::new();
    // Sleepers removed by a wake, waiting for their `woken` step.
    let mut woken_by: BTreeMap<u8, usize> = BTreeMap::new();
    // Waiters removed before they slept: (wake, thread).
    let mut early: Vec<(usize, u8)> = Vec::new();
    for (j, s) in steps.iter().enumerate() {
        match &s.kind {
            Kind::Enqueue { queue, exclusive } => {
                // A task waits on one queue at a time.
                for (q, v) in queues.iter_mut() {
                    if *q != queue.as_str() {
                        v.retain(|t| *t != s.tid);
                    }
                }
                let v = queues.entry(queue.as_str()).or_default();
                if !v.contains(&s.tid) {
                    if *exclusive {
                        v.push(s.tid);
                    } else {
                        v.insert(0, s.tid);
                    }
                }
            }
            Kind::Sleep { queue } => {
                asleep.insert(s.tid, (j, queue.as_str()));
            }
            Kind::Woken => {
                let nap = asleep.remove(&s.tid);
                let waker = woken_by.remove(&s.tid).or_else(|| {
                    let (si, queue) = nap?;
                    (si + 1..j).rev().find(|&w| {
                        steps[w].tid != s.tid
                            && matches!(&steps[w].kind, Kind::Wake { queue: q, woken, .. } if q == queue && *woken > 0)
                    })
                });
                for v in queues.values_mut() {
                    v.retain(|t| *t != s.tid);
                }
                if let Some(w) = waker {
                    arrows.push(Arrow {
                        from: w,
                        to: j,
                        label: label(&steps[w]),
                    });
                }
            }
            Kind::Wake { queue, woken, .. } if *woken > 0 => {
                let v = queues.entry(queue.as_str()).or_default();
                let n = (*woken).min(v.len());
                for t in v.drain(..n) {
                    if asleep.contains_key(&t) {
                        woken_by.insert(t, j);
                    } else {
                        early.push((j, t));
                    }
                }
            }
            _ => {}
        }
    }
    for (w, t) in early {
        if let Some(next) = steps[w + 1..].iter().position(|x| x.tid == t) {
            arrows.push(Arrow {
                from: w,
                to: w + 1 + next,
                label: format!("{} (before it slept)", label(&steps[w])),
            });
        }
    }
    arrows.sort_by_key(|a| (a.from, a.to));
    arrows
}

/// Escape text for HTML and SVG.
pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

/// Write the picture of a failure: `.svg` alone, or the HTML page.
pub fn write(
    input: &Input,
    html_out: Option<&std::path::Path>,
    svg_out: Option<&std::path::Path>,
) -> Result<(), String> {
    if let Some(p) = html_out {
        std::fs::write(p, html::page(input))
            .map_err(|e| format!("cannot write {}: {e}", p.display()))?;
    }
    if let Some(p) = svg_out {
        std::fs::write(p, svg::standalone(input))
            .map_err(|e| format!("cannot write {}: {e}", p.display()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(tid: u8, func: &str, kind: Kind) -> Step {
        Step {
            tid,
            func: func.into(),
            depth: 0,
            text: format!("{kind:?}"),
            pfn: match kind {
                Kind::Value { .. } => Some(8),
                _ => None,
            },
            kind,
        }
    }

    fn lock(l: &str) -> Kind {
        Kind::Acquire {
            lock: l.into(),
            class: LockClass::XaLock,
            shared: false,
        }
    }

    fn unlock(l: &str) -> Kind {
        Kind::Release { lock: l.into() }
    }

    fn store(v: &str) -> Kind {
        Kind::Value {
            track: Track::Mapping,
            value: v.into(),
            changed: true,
            plain: true,
        }
    }

    fn input(steps: Vec<Step>) -> Input {
        Input {
            title: "t".into(),
            check: "I1".into(),
            headline: "h".into(),
            seen_by: "T1".into(),
            seen: steps.len(),
            cause: None,
            race: None,
            later: Vec::new(),
            threads: vec![
                Thread {
                    tid: 1,
                    name: "one".into(),
                    state: "finished".into(),
                },
                Thread {
                    tid: 2,
                    name: "two".into(),
                    state: "finished".into(),
                },
            ],
            steps,
            replay: None,
        }
    }

    #[test]
    fn holds_nest_and_pair_by_holder() {
        let i = input(vec![
            step(1, "f", lock("xa_lock(A)")),
            step(2, "g", lock("xa_lock(B)")),
            step(1, "f", lock("entry A[0]")),
            step(1, "f", unlock("xa_lock(A)")),
            step(2, "g", unlock("xa_lock(B)")),
        ]);
        let l = Layout::new(&i);
        let spans: Vec<(u8, &str, usize, Option<usize>, usize)> = l
            .spans
            .iter()
            .map(|s| (s.tid, s.lock.as_str(), s.from, s.to, s.slot))
            .collect();
        assert_eq!(
            spans,
            vec![
                (1, "xa_lock(A)", 0, Some(3), 0),
                (2, "xa_lock(B)", 1, Some(4), 0),
                (1, "entry A[0]", 2, None, 1),
            ]
        );
        let held = l.held_after(3);
        assert_eq!(held[&1], vec!["entry A[0]".to_string()]);
        assert_eq!(held[&2], vec!["xa_lock(B)".to_string()]);
        assert_ne!(
            svg::lock_colour(&l, "xa_lock(A)"),
            svg::lock_colour(&l, "xa_lock(B)")
        );
    }

    #[test]
    fn a_wake_points_at_the_sleeper_it_woke() {
        let q = "entry entry A[0]".to_string();
        let i = input(vec![
            step(
                2,
                "w",
                Kind::Enqueue {
                    queue: q.clone(),
                    exclusive: true,
                },
            ),
            step(
                2,
                "w",
                Kind::Acquire {
                    lock: "entry_wq[0].lock".into(),
                    class: LockClass::WaitQueue,
                    shared: false,
                },
            ),
            step(2, "w", Kind::Sleep { queue: q.clone() }),
            step(
                1,
                "dax_unlock_entry",
                Kind::Wake {
                    queue: q.clone(),
                    mode: "WAKE_NEXT".into(),
                    woken: 1,
                },
            ),
            step(2, "w", Kind::Woken),
            step(2, "w", unlock("entry_wq[0].lock")),
        ]);
        let l = Layout::new(&i);
        assert_eq!(
            l.arrows,
            vec![Arrow {
                from: 3,
                to: 4,
                label: format!("WAKE_NEXT {q}"),
            }]
        );
        assert_eq!(
            l.naps,
            vec![Nap {
                tid: 2,
                from: 2,
                to: Some(4)
            }]
        );
        // schedule() drops the queue lock while asleep.
        assert!(!l.held_after(3).contains_key(&2));
        assert_eq!(l.held_after(4)[&2], vec!["entry_wq[0].lock".to_string()]);
    }

    #[test]
    fn a_wake_before_the_sleep_points_at_the_next_step() {
        let q = "var var page 8".to_string();
        let i = input(vec![
            step(
                2,
                "w",
                Kind::Enqueue {
                    queue: q.clone(),
                    exclusive: true,
                },
            ),
            step(
                1,
                "dax_folio_put",
                Kind::Wake {
                    queue: q.clone(),
                    mode: "WAKE_ALL".into(),
                    woken: 1,
                },
            ),
            step(2, "w", Kind::Other),
        ]);
        let l = Layout::new(&i);
        assert_eq!(l.arrows.len(), 1);
        assert_eq!((l.arrows[0].from, l.arrows[0].to), (1, 2));
    }

    #[test]
    fn value_tracks_keep_changed_fields_only() {
        let read = Kind::Value {
            track: Track::Refcount,
            value: "1".into(),
            changed: false,
            plain: false,
        };
        let i = input(vec![step(1, "f", store("A")), step(2, "g", read)]);
        let l = Layout::new(&i);
        assert_eq!(l.columns.len(), 1);
        assert_eq!(l.columns[0].track, Track::Mapping);
        assert_eq!(l.columns[0].marks, vec![(0, "A".to_string(), true)]);
    }

    #[test]
    fn race_partner_is_the_last_plain_store_to_the_racers_page() {
        let mut rd = step(2, "dax_associate_entry", Kind::Other);
        rd.pfn = Some(8);
        let steps = vec![
            step(1, "a", store("A")),
            step(1, "b", lock("xa_lock(A)")),
            step(2, "c", Kind::Other),
            rd,
        ];
        let r = infer_race(&steps, 4).expect("a pair");
        assert_eq!((r.first, r.second), (1, 4));
        // No plain store to the page: no guess.
        assert_eq!(infer_race(&steps[1..], 3), None);
    }

    #[test]
    fn pages_mark_the_seen_cause_and_race_steps() {
        let mut i = input(vec![
            step(1, "a", store("A")),
            step(2, "b", Kind::Other),
            step(2, "c", Kind::Other),
        ]);
        i.cause = Some(2);
        i.race = Some(RacePair {
            first: 1,
            second: 3,
            note: "n".into(),
        });
        let page = html::page(&i);
        assert!(page.contains(r#"class="hit seen" id="step-3""#));
        assert!(page.contains(r#"class="hit cause" id="step-2""#));
        assert!(page.contains(r#"class="hit race" id="step-1""#));
        assert_eq!(page.matches(r#"<div class="lane""#).count(), 2);
        let svg = svg::standalone(&i);
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
    }

    #[test]
    fn a_long_trace_keeps_its_first_and_last_steps() {
        // A hold taken before the cut and released after it stays drawn.
        let mut steps = vec![step(1, "f", lock("xa_lock(A)"))];
        steps.extend((0..998).map(|k| step(1 + (k % 2) as u8, "g", Kind::Other)));
        steps.push(step(1, "f", unlock("xa_lock(A)")));
        let i = input(steps);
        let page = html::page(&i);
        assert!(page.contains(r#"id="step-150""#));
        assert!(!page.contains(r#"id="step-151""#));
        assert!(!page.contains(r#"id="step-750""#));
        assert!(page.contains(r#"id="step-751""#));
        assert!(page.contains("steps 151–750 left out"));
        assert!(page.contains("xa_lock(A) held by T1: steps 1–1000"));
        assert_eq!(page.matches(r#"class="hit"#).count(), 400);
    }

    #[test]
    fn wakes_take_waiters_in_queue_order() {
        let q = || "entry entry A[0]".to_string();
        let enq = || Kind::Enqueue {
            queue: q(),
            exclusive: true,
        };
        let wake = || Kind::Wake {
            queue: q(),
            mode: "WAKE_NEXT".into(),
            woken: 1,
        };
        let sleep = || Kind::Sleep { queue: q() };
        let mut i = input(vec![
            step(2, "w", enq()),       // 0
            step(2, "w", sleep()),     // 1
            step(3, "w", enq()),       // 2
            step(1, "u", wake()),      // 3: T2, first in the queue
            step(2, "w", Kind::Woken), // 4
            step(2, "w", enq()),       // 5
            step(2, "w", sleep()),     // 6
            step(1, "u", wake()),      // 7: T3, still awake
            step(3, "w", Kind::Other), // 8
            step(3, "u", wake()),      // 9: T2
            step(2, "w", Kind::Woken), // 10
        ]);
        i.threads.push(Thread {
            tid: 3,
            name: "three".into(),
            state: "finished".into(),
        });
        let l = Layout::new(&i);
        let got: Vec<(usize, usize)> = l.arrows.iter().map(|a| (a.from, a.to)).collect();
        assert_eq!(got, vec![(3, 4), (7, 8), (9, 10)]);
    }
}
