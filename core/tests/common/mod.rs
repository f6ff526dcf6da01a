//! Helpers shared by the std-mode tests (each test file uses a part).
#![allow(dead_code)]

use daxcheck_core::entry::PG_PMD_NR;
use daxcheck_core::exec::Sequential;
use daxcheck_core::trace::What;
use daxcheck_core::world::Pte;

/// No violation was recorded so far.
pub fn clean(s: &Sequential) {
    let v = s.violations();
    assert!(v.is_empty(), "unexpected violations: {v:#?}");
}

/// Every step recorded so far.
pub fn events(s: &Sequential) -> Vec<What> {
    s.cx.w
        .rec
        .snapshot()
        .events
        .into_iter()
        .map(|e| e.what)
        .collect()
}

/// Position of the first event that `f` accepts.
#[track_caller]
pub fn pos(ev: &[What], f: impl Fn(&What) -> bool) -> usize {
    ev.iter()
        .position(f)
        .unwrap_or_else(|| panic!("no such event in {ev:#?}"))
}

/// The PTE of file A's page `index` in process `mm`.
pub fn pte(s: &Sequential, mm: usize, index: usize) -> Pte {
    let n = PG_PMD_NR as usize;
    s.cx.w.mms[mm].pt[0][index / n].ptes.peek()[index % n]
}
