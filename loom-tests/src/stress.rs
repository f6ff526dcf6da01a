//! The stress baseline: what a kernel developer would write without
//! daxcheck. The scenario's threads run on real OS threads, again and again,
//! with the checker on, until a run breaks a check, a run hangs, or the runs
//! or the time allowed are used up. The quiescent checker is sound on real
//! threads because it takes the world exclusively (the gate in `Cx::enter`);
//! the every-step checks are off there (core/src/cx.rs `Cx::ev`).

use std::sync::mpsc;
use std::time::{Duration, Instant};

use daxcheck_core::exec::execute_into;
use daxcheck_core::sync::{set_backend, Backend};
use daxcheck_core::trace::{Blocked, RecState, Recorder};
use daxcheck_core::violation::{Check, Violation};

use crate::explore::{counts, Failure, Model, Outcome};

/// A run that takes this long has hung (a lost wakeup on real threads never
/// ends); its threads are left behind, and the stress run stops there.
pub const HANG: Duration = Duration::from_secs(5);

/// The wall-time cap of one stress exploration.
pub const CAP: Duration = Duration::from_secs(60);

/// Up to `runs` runs, or `cap` of wall time, whichever ends first.
pub fn explore(m: &Model, runs: usize, cap: Duration) -> Outcome {
    let start = Instant::now();
    let mut executions = 0;
    let mut failure = None;
    while executions < runs && start.elapsed() < cap {
        executions += 1;
        let (tx, rx) = mpsc::channel();
        let model = m.clone();
        let rec = Recorder::for_stress();
        let theirs = rec.clone();
        // One OS thread per run as the driver, so that a hung run can be
        // abandoned; the scenario's threads are its children.
        let spawned = std::thread::Builder::new()
            .name("daxcheck-stress".into())
            .spawn(move || {
                set_backend(Backend::Std);
                let rec = execute_into(theirs, &model.cfg, &model.setup, &model.threads);
                let _ = tx.send(rec.snapshot());
            });
        if spawned.is_err() {
            break;
        }
        match rx.recv_timeout(HANG) {
            Ok(rec) => {
                if counts(m.want, &rec) {
                    let violation = rec
                        .violations
                        .iter()
                        .find(|v| m.want.counts(&v.check))
                        .unwrap_or(&rec.violations[0])
                        .clone();
                    failure = Some(Failure {
                        violation,
                        rec,
                        execution: executions,
                    });
                    break;
                }
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                rec.abandon();
                failure = Some(hung(rec.snapshot(), executions));
                break;
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                failure = Some(Failure {
                    violation: Violation {
                        check: Check::Internal,
                        detail: format!("run {executions}: a thread panicked on real threads"),
                        tid: 0,
                        step: 0,
                    },
                    rec: RecState::default(),
                    execution: executions,
                });
                break;
            }
        }
    }
    Outcome {
        executions,
        elapsed: start.elapsed(),
        bounded: false,
        failure,
        last: None,
    }
}

/// A run that made no progress for [`HANG`]: told from its record as the
/// explorers tell it, a deadlock (its check as `Blocked::liveness` names
/// it) when every unfinished thread is blocked, else a livelock.
fn hung(rec: RecState, execution: usize) -> Failure {
    let unfinished: Vec<usize> = (1..rec.names.len())
        .filter(|&t| !rec.finished.get(t).copied().unwrap_or(false))
        .collect();
    let blocked: Vec<(u8, Blocked)> = unfinished
        .iter()
        .filter_map(|&t| {
            Some((
                u8::try_from(t).ok()?,
                rec.blocked.get(t).copied().flatten()?,
            ))
        })
        .collect();
    let check = if !unfinished.is_empty() && blocked.len() == unfinished.len() {
        Blocked::liveness(&blocked)
    } else {
        Check::Livelock
    };
    let step = rec.events.len();
    Failure {
        violation: Violation {
            check,
            detail: format!(
                "run {execution} made no progress for {} s on real threads (a hang; {} of {} unfinished threads blocked)",
                HANG.as_secs(),
                blocked.len(),
                unfinished.len()
            ),
            tid: 0,
            step,
        },
        rec,
        execution,
    }
}
