//! Running one execution: build the world, spawn the model threads, join
//! them, run the quiescent checker. The runner, not the machine, owns the
//! checker: the world calls the hook given here whenever the last thread
//! leaves an operation. The explorers call this once per execution;
//! std-mode tests drive `Sequential`.

use crate::violation::Inv;
use std::sync::Arc;

use crate::check;
use crate::config::Config;
use crate::cx::Cx;
use crate::sync::{Condvar, Mutex};
use crate::trace::{self, Recorder, What};
use crate::world::{Filesystem, Setup, World};
use crate::xfs::file::{XFS_DAX_VM_OPS, XFS_FILE_OPS};

/// Every file of a run lives on XFS (the only filesystem modelled).
const XFS: Filesystem = Filesystem {
    vm_ops: &XFS_DAX_VM_OPS,
    f_op: &XFS_FILE_OPS,
};

/// The body of one model thread.
pub type Body = Arc<dyn Fn(&Cx) + Send + Sync>;

#[derive(Clone)]
pub struct ThreadSpec {
    /// What the thread does, for the report header (`"fault A[0] (PTE, read)"`).
    pub name: String,
    pub body: Body,
}

/// One execution on the current backend. Returns its record; violations are
/// in the record, never panics (a deadlock panics inside loom/shuttle, and
/// the explorer reads the record the panic left behind).
pub fn execute(cfg: &Config, setup: &Setup, threads: &[ThreadSpec]) -> Arc<Recorder> {
    execute_into(Recorder::new(), cfg, setup, threads)
}

/// [`execute`] into a recorder the caller keeps: on real threads (the
/// stress explorer) the caller reads it when a run hangs and never returns.
pub fn execute_into(
    rec: Arc<Recorder>,
    cfg: &Config,
    setup: &Setup,
    threads: &[ThreadSpec],
) -> Arc<Recorder> {
    trace::set_current(Some(rec.clone()));
    let w = World::new(cfg.clone(), setup, rec.clone(), check::quiescent, XFS);
    let main = Cx::new(w.clone(), 0);
    if crate::sync::backend() == crate::sync::Backend::Std {
        w.os_threads
            .store(true, std::sync::atomic::Ordering::SeqCst);
    }
    // Every thread starts only once all are spawned, so that no thread's
    // steps interleave with spawning: a recorded schedule then never names a
    // thread the replay has not created yet.
    let gate = Arc::new((Mutex::new(false), Condvar::new()));
    let handles: Vec<_> = threads
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let tid = i as u8 + 1;
            rec.set_name(tid, &t.name);
            let (w, body, gate) = (w.clone(), t.body.clone(), gate.clone());
            crate::sync::thread::spawn(move || {
                let mut open = gate.0.lock();
                while !*open {
                    open = gate.1.wait(open);
                }
                drop(open);
                let cx = Cx::new(w, tid);
                body(&cx);
                tlb_check(&cx);
                cx.w.rec.set_finished(tid);
            })
        })
        .collect();
    {
        let mut open = gate.0.lock();
        *open = true;
        main.ev(What::Note(format!("start T1..T{}", threads.len())));
        gate.1.notify_all();
    }
    for h in handles {
        h.join();
    }
    crate::access::join_all(&main);
    check::quiescent(&main);
    rec
}

/// A thread must end holding no lock and with its TLB gather flushed.
fn tlb_check(cx: &Cx) {
    let held = cx.held_locks();
    if !held.is_empty() {
        cx.violate(
            crate::violation::Check::LockRule("return to user space holding no lock"),
            format!(
                "T{} finished holding {}",
                cx.tid,
                held.iter()
                    .map(|l| l.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        );
    }
    if !cx.gather.borrow().is_empty() {
        cx.violate(
            crate::violation::Check::Inv(Inv::RefcountAccounting),
            format!("T{} finished with unflushed TLB gather", cx.tid),
        );
    }
}

/// Sequential std-mode driving: one thread, the checker after every
/// operation.
pub struct Sequential {
    pub cx: Cx,
}

impl Sequential {
    pub fn new(cfg: Config, setup: &Setup) -> Sequential {
        crate::sync::set_backend(crate::sync::Backend::Std);
        let rec = Recorder::new();
        let w = World::new(cfg, setup, rec, check::quiescent, XFS);
        Sequential { cx: Cx::new(w, 1) }
    }

    /// Run one operation, then the quiescent checker; returns the violations
    /// recorded so far.
    pub fn op<R>(&self, f: impl FnOnce(&Cx) -> R) -> R {
        let r = f(&self.cx);
        let main = Cx::new(self.cx.w.clone(), 0);
        check::quiescent(&main);
        r
    }

    pub fn violations(&self) -> Vec<crate::violation::Violation> {
        self.cx.w.rec.snapshot().violations
    }
}
