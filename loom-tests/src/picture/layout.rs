//! What is drawn, derived from the steps: lock hold spans, wake arrows,
//! naps and the folios' value columns.

use std::collections::BTreeMap;

use super::{Input, Kind, LockClass, Step, Track};

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
