//! S8: memory failure's cookie against truncate and a shared-extent fault (H3, B16).

use daxcheck_core::mm::memory::handle_mm_fault;
use daxcheck_core::mm::memory_failure::{mf_dax_kill_procs, mf_generic_kill_procs};
use daxcheck_core::violation::CheckKind;
use daxcheck_core::vm::Access::Read;
use daxcheck_core::vm::FaultSize;
use daxcheck_core::world::{Mm, Setup, DAX_BASE, FILE_A, FILE_B};
use daxcheck_core::xfs::inode::xfs_setattr_size;
use daxcheck_core::xfs::notify_failure::xfs_dax_failure_fn;
use daxcheck_core::{KernelState, Mutant};

use super::common::{file_a, finds_b4_on_v6_15, holds, shared_ab, thread};
use super::{DefaultExplorer, Expect, Finding, Scenario, Tuning, Variant};
use crate::checks::Hyp;

/// The litmus-style header; `Result:` is derived from `expect`.
const HEADER: &str = "\
T1: mm0 read fault A[0], then mf_generic_kill_procs(pfn 8): dax_lock_folio (READ_ONCE mapping, xa_lock,
    re-check, lock the entry), poison, unmap the processes, dax_unlock_folio (re-reads mapping)
T2: -truncate: xfs_setattr_size(A, 0); -shared (S8b): mm1 read fault B[0] on the extent A shares;
    -fault: mm1 read fault A[0] (the same, unshared page: its entry lock against the cookie's)
-second-slot: A has 4 pages (two PMD slots). T1: mm0 read fault A[2], then kill pfn 10; T2: mm1 read
    fault A[2] (as -fault, at a non-zero index in the second PMD slot)
-unowned: T1: mm0 read fault A[0], truncate A to 0, then kill pfn 8 (no owner left: -EBUSY);
    T2: mm1 read fault A[1]
-fs-shared: A[0] and B[0] share pfn 8, A[1] is a hole. T1: mm0 read fault A[0], mm1 read fault B[0]
    (the associations in turn), then the FS reports the shared block failed: mf_dax_kill_procs over
    A[0..1] and B[0] (dax_lock_mapping_entry by (mapping, index), poison, unmap, unlock); T2: mm1 read
    fault A[1] (a zero entry: nothing to lock, no page)
-fs-second-slot: as -second-slot, but the FS reports the block failed: xfs_dax_failure_fn(A, 2..3) ->
    mf_dax_kill_procs (lock A[2]'s entry, poison, unmap, unlock)
Property: the cookie holder holds the entry lock of (mapping, index) and mapping stays set until unlock
          (I19); no NULL or freed mapping is dereferenced (B16); no hang (non-exclusive waiter, B17);
          dax_lock_mapping_entry's cookie is the locked real entry of the page it names (I19); when memory
          failure unlocks the entry, the page it poisoned is HWPoison and no process maps it there; when
          mf_dax_kill_procs returns 0, the page of an entry that stayed the same all through is HWPoison (I22)";

/// Markdown for `docs/catalogue.md`.
const NOTES: &str =
    "`shared` (S8b): the shared association sets `mapping` = NULL while T1 holds the cookie, and \
`dax_unlock_folio` dereferences it (H3, in the shape of B16). M40: without the re-check, \
`dax_lock_folio` reads the index/share cell as an index after truncate cleared `mapping`. \
Finding F4 (with `collect_procs`/`collect_procs_file`/`unmap_and_kill`'s reads of `folio->mapping`: \
`--explorer pct --seed 11` dereferences NULL in `unmap_and_kill`). `truncate` on the v6.15 tag finds \
B4: truncate's `dax_delete_mapping_range` waits for the entry lock memory failure holds \
(`dax_lock_folio`), then moves past the entry, which is left behind (I8, then \
`truncate_folio_batch_exceptionals`' WARN); found by `--explorer random` first, then by loom at \
bound 3 and PCT at depth 5, hence S8's budget; M40 is judged on v6.15.y. `fs-shared` (issue 10) \
is the holds counterpart of `shared` on the FS's path, `mf_dax_kill_procs`, which locks by \
(mapping, index) and reads no folio field; no association changes while it runs (the zero entry \
T2 makes has no folio). It catches M44 and the generated mutants of `dax_lock_mapping_entry` \
(its body replaced by `(0, Some(1))`; `||` for `&&` in its zero/empty test), through I19's check \
of that function's result, which nothing caught before. The hole at A[1] stands for an unwritten \
extent, which XFS's rmap reports and whose read faults load the zero page (the model has no \
unwritten state). `fault` (issue 10) is the holds counterpart of `truncate` for \
`mf_generic_kill_procs` on an unshared folio: mm1's read fault of the same page holds the entry \
lock `dax_lock_folio` wants (its wait-and-retry arm) or waits behind the cookie's lock; the \
folio's mapping never changes. It catches M46 (no wait: the cookie locks over the fault's \
lock, I10), which nothing caught before. `second-slot` (issue 10) is `fault` at A[2], in the \
second PMD slot of a 4-page file: `folio->index` is 2, so `dax_lock_folio`'s index read and \
`unmap_and_kill`'s range arithmetic are judged (every other memory failure is at index 0). With \
I22, checked just before `dax_unlock_folio` and `dax_unlock_mapping_entry` (the page memory \
failure poisoned is HWPoison and no process maps it at that (mapping, index); a fault needs the \
entry lock memory failure holds, so the unmap stands until the unlock), it catches M49 \
(`collect_procs` collects nobody: `fault` catches it too), M50 (`unmap_and_kill`'s range \
`base - pages - 1`: empty from index 2 on, where `fault`'s A[0] wraps to the whole file) and the \
generated mutants that read `folio->index` as 0 (I19: `dax_lock_folio` finds no entry at A[0]), which nothing caught before. \
`fs-second-slot` (issue 10) is `second-slot` on the FS's path: XFS's `xfs_dax_failure_fn` calls \
`mf_dax_kill_procs` and, when it returns 0, checks I22 from outside: an entry of the range that \
was the same real entry before and after the call (no store in the mapping changed more than a \
lock bit meanwhile) was locked by the call, so its page is HWPoison. It catches M51 \
(`mf_dax_kill_procs` returns 0 at once) and the generated mutant that replaces its body with `0`, \
which no check inside the function can see. \
`unowned` (issue 10) kills a page truncate already \
took from its file: `dax_lock_folio` finds `mapping` NULL and `mf_generic_kill_procs` gives up \
(-EBUSY); it catches M48 (going on with cookie 0: I19, a cookie with no entry lock, then \
`dax_unlock_folio` dereferences the NULL mapping), which no holds variant caught before.";

/// S8: memory failure vs truncate, and vs a shared-extent fault (S8b, H3).
pub(crate) fn scenario() -> Scenario {
    fn finds_s8b(_: KernelState) -> Expect {
        Expect::Finds(Finding {
            hypotheses: &[Hyp::H3],
            bug: Some("B16"),
            what: "folio->mapping turns NULL under a memory-failure cookie",
            checks: &[
                CheckKind::Bug,
                CheckKind::I19,
                CheckKind::I10,
                CheckKind::I5,
                CheckKind::DataRace,
            ],
        })
    }
    Scenario {
        name: "S8",
        title: "memory failure vs truncate / a shared fault",
        header: HEADER,
        notes: NOTES,
        expect: holds,
        explorers: &[DefaultExplorer::Loom, DefaultExplorer::Pct],
        catches: &[
            Mutant::M40,
            Mutant::M44,
            Mutant::M46,
            Mutant::M48,
            Mutant::M49,
            Mutant::M50,
            Mutant::M51,
        ],
        // The uniform random scheduler reaches `shared`'s window far more
        // rarely than PCT: seed 1 finds it at iteration 3,351 (`daxcheck
        // check S8/shared --explorer random --iterations 100000`).
        // `truncate`'s B4 window on the v6.15 tag needs loom bound 3
        // (execution 192; bound 2 misses it) and PCT depth 4 or more (depth 5:
        // execution 21; depth 3 misses it in 20,000): `daxcheck check
        // S8/truncate --explorer loom --bound 3`, `--explorer pct --depth 5`.
        tuning: Tuning {
            loom_bound: 3,
            pct_depth: 5,
            random_factor: 3,
            ..Tuning::DEFAULT
        },
        variants: vec![
            Variant {
                name: "truncate",
                setup: file_a(2),
                threads: vec![
                    thread("mm0 read fault A[0], kill pfn 8", |cx| {
                        handle_mm_fault(cx, Mm(0), FILE_A, 0, Read, FaultSize::Pte);
                        mf_generic_kill_procs(cx, DAX_BASE);
                    }),
                    thread("truncate A to 0", |cx| xfs_setattr_size(cx, FILE_A, 0)),
                ],
                expect: Some(finds_b4_on_v6_15),
            },
            Variant {
                name: "shared",
                setup: shared_ab(2, 0),
                threads: vec![
                    thread("mm0 read fault A[0], kill pfn 8", |cx| {
                        handle_mm_fault(cx, Mm(0), FILE_A, 0, Read, FaultSize::Pte);
                        mf_generic_kill_procs(cx, DAX_BASE);
                    }),
                    thread("mm1 read fault B[0] (shared extent)", |cx| {
                        handle_mm_fault(cx, Mm(1), FILE_B, 0, Read, FaultSize::Pte);
                    }),
                ],
                expect: Some(finds_s8b),
            },
            kill_while_faulted("fault", file_a(2), 0),
            kill_while_faulted("second-slot", Setup::file(4).mms(2), 2),
            Variant {
                name: "unowned",
                setup: file_a(2),
                threads: vec![
                    thread(
                        "mm0 read fault A[0], truncate A to 0, kill pfn 8 (no owner)",
                        |cx| {
                            handle_mm_fault(cx, Mm(0), FILE_A, 0, Read, FaultSize::Pte);
                            xfs_setattr_size(cx, FILE_A, 0);
                            mf_generic_kill_procs(cx, DAX_BASE);
                        },
                    ),
                    thread("mm1 read fault A[1]", |cx| {
                        handle_mm_fault(cx, Mm(1), FILE_A, 1, Read, FaultSize::Pte);
                    }),
                ],
                expect: Some(holds),
            },
            Variant {
                name: "fs-shared",
                setup: {
                    let mut s = shared_ab(2, 0);
                    s.files[0].blocks[1] = None;
                    s
                },
                threads: vec![
                    thread(
                        "mm0 read fault A[0], mm1 read fault B[0]; the FS kills the shared block: \
                         mf_dax_kill_procs(A, 0..1), (B, 0)",
                        |cx| {
                            handle_mm_fault(cx, Mm(0), FILE_A, 0, Read, FaultSize::Pte);
                            handle_mm_fault(cx, Mm(1), FILE_B, 0, Read, FaultSize::Pte);
                            mf_dax_kill_procs(cx, FILE_A.0, 0, 2);
                            mf_dax_kill_procs(cx, FILE_B.0, 0, 1);
                        },
                    ),
                    thread("mm1 read fault A[1] (a hole: zero entry)", |cx| {
                        handle_mm_fault(cx, Mm(1), FILE_A, 1, Read, FaultSize::Pte);
                    }),
                ],
                expect: Some(holds),
            },
            Variant {
                name: "fs-second-slot",
                setup: Setup::file(4).mms(2),
                threads: vec![
                    thread(
                        "mm0 read fault A[2]; the FS kills the block: xfs_dax_failure_fn(A, 2..3)",
                        |cx| {
                            handle_mm_fault(cx, Mm(0), FILE_A, 2, Read, FaultSize::Pte);
                            xfs_dax_failure_fn(cx, FILE_A.0, 2, 1);
                        },
                    ),
                    thread("mm1 read fault A[2] (the same page)", |cx| {
                        handle_mm_fault(cx, Mm(1), FILE_A, 2, Read, FaultSize::Pte);
                    }),
                ],
                expect: Some(holds),
            },
        ],
    }
}

/// mm0 faults A[index] in and memory failure kills its page (pfn
/// `DAX_BASE + index`: the setups back A with consecutive blocks), while
/// mm1 faults the same page: the poisoned page must end up unmapped in both
/// (I22), whichever fault comes last.
fn kill_while_faulted(name: &'static str, setup: Setup, index: u64) -> Variant {
    let pfn = DAX_BASE + index;
    Variant {
        name,
        setup,
        threads: vec![
            thread(
                format!("mm0 read fault A[{index}], kill pfn {pfn}"),
                move |cx| {
                    handle_mm_fault(cx, Mm(0), FILE_A, index, Read, FaultSize::Pte);
                    mf_generic_kill_procs(cx, pfn);
                },
            ),
            thread(
                format!("mm1 read fault A[{index}] (the same page)"),
                move |cx| {
                    handle_mm_fault(cx, Mm(1), FILE_A, index, Read, FaultSize::Pte);
                },
            ),
        ],
        expect: Some(holds),
    }
}
