//! Running a model under shuttle: the runner's configuration, the wrapper
//! that ends a run after the first execution that counts, and the scheduler
//! that follows a recorded schedule (replay).

use daxcheck_core::sync::{set_backend, Backend};
use daxcheck_core::trace;
use shuttle::scheduler::{Schedule, Scheduler, Task, TaskId};

use super::{rec_counts, Want};

pub(super) fn run_shuttle(
    s: impl Scheduler + 'static,
    want: Want,
    body: impl Fn() + Send + Sync + 'static,
) {
    run_shuttle_steps(s, want, body, 200_000)
}

/// `run_shuttle` with the step bound past which a run is a livelock.
pub(super) fn run_shuttle_steps(
    s: impl Scheduler + 'static,
    want: Want,
    body: impl Fn() + Send + Sync + 'static,
    max_steps: usize,
) {
    set_backend(Backend::Shuttle);
    let s = StopAfterViolation(s, want);
    let mut cfg = shuttle::Config::new();
    cfg.failure_persistence = shuttle::FailurePersistence::None;
    cfg.max_steps = shuttle::MaxSteps::FailAfter(max_steps);
    cfg.silence_warnings = true;
    shuttle::Runner::new(s, cfg).run(body);
}

/// Ends a shuttle run after the first execution that recorded a violation.
struct StopAfterViolation<S>(S, Want);

impl<S: Scheduler> Scheduler for StopAfterViolation<S> {
    fn new_execution(&mut self) -> Option<Schedule> {
        if trace::current().is_some_and(|r| rec_counts(self.1, &r)) {
            // Let the inner scheduler reach its own end, so that shuttle's
            // random scheduler does not print its seed report when dropped
            // (our replay file replaces it).
            while self.0.new_execution().is_some() {}
            return None;
        }
        self.0.new_execution()
    }

    fn next_task(
        &mut self,
        runnable: &[&Task],
        current: Option<TaskId>,
        yielding: bool,
    ) -> Option<TaskId> {
        self.0.next_task(runnable, current, yielding)
    }

    fn next_u64(&mut self) -> u64 {
        self.0.next_u64()
    }
}

/// Replays a recorded schedule: at every scheduling point, run the thread
/// that made the next recorded step. If that thread cannot run, keep the
/// current one (it is about to release what the other waits for).
pub(super) struct Guided {
    pub(super) schedule: Vec<u8>,
    pub(super) started: bool,
}

impl Scheduler for Guided {
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
        _yielding: bool,
    ) -> Option<TaskId> {
        let pos = trace::current().map_or(0, |r| r.steps());
        let ids: Vec<usize> = runnable.iter().map(|t| usize::from(t.id())).collect();
        if std::env::var_os("DAXCHECK_DEBUG_GUIDED").is_some() {
            eprintln!(
                "guided: pos {pos} want {:?} runnable {ids:?} current {current:?}",
                self.schedule.get(pos)
            );
        }
        // A thread that recorded `sleeps` still holds the wait-queue lock
        // until the condvar wait releases it, behind a scheduling point of
        // its own that no step records. Switching away there left the next
        // recorded thread blocked on that lock ("replay diverged" on fresh
        // PCT failures of S16 with M3); letting the sleeper block first
        // commutes with every other step, since the release only enables.
        if let (Some(c), Some(r)) = (current, trace::current()) {
            let c_id = usize::from(c);
            if ids.contains(&c_id) && u8::try_from(c_id).is_ok_and(|t| r.last_is_sleep_by(t)) {
                return Some(c);
            }
        }
        if let Some(&want) = self.schedule.get(pos) {
            if ids.contains(&(want as usize)) {
                return Some(TaskId::from(want as usize));
            }
        }
        if let Some(c) = current {
            if ids.contains(&usize::from(c)) {
                return Some(c);
            }
        }
        ids.into_iter().min().map(TaskId::from)
    }

    fn next_u64(&mut self) -> u64 {
        0
    }
}
