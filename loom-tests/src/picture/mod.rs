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

mod geometry;
pub mod html;
mod layout;
mod step;
pub mod svg;

use std::path::Path;

use daxcheck_core::trace::RecState;
use daxcheck_core::violation::{Check, Violation};

pub use layout::{Arrow, Column, Layout, Nap, Span};
pub use step::{Kind, LockClass, Step, Track};

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
            // The same step the text report names as the cause.
            cause: crate::report::cause_of(v, &rec.events).map(|c| c.step.step),
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
