//! The scenario catalogue. Each scenario reads like a litmus test: its
//! threads and what each runs, the property checked, the expected result,
//! and the mutants it is shown to catch (see `docs/catalogue.md`).

use std::sync::Arc;

use daxcheck_core::exec::{PostCheck, ThreadSpec};
use daxcheck_core::fs::{handle_mm_fault, xfs_punch_hole, xfs_truncate, FaultSize};
use daxcheck_core::mm::munmap;
use daxcheck_core::world::{Block, Cx, FileSetup, Setup, DAX_BASE};
use daxcheck_core::{KernelState, Mutant};

/// What a scenario is expected to show on an unmutated model.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expect {
    /// No execution breaks a check.
    Holds,
    /// Some execution breaks a check: a finding against the kernel (a spec
    /// hypothesis), asserted by the tests.
    Finds(&'static str),
}

impl Expect {
    pub fn word(self) -> &'static str {
        match self {
            Expect::Holds => "holds",
            Expect::Finds(_) => "finds",
        }
    }
}

/// The explorer a scenario runs under when none is named.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DefaultExplorer {
    Loom,
    Pct,
}

pub struct Variant {
    pub name: &'static str,
    pub setup: Setup,
    pub threads: Vec<ThreadSpec>,
    pub post: Option<PostCheck>,
}

pub struct Scenario {
    pub name: &'static str,
    pub title: &'static str,
    /// The litmus-style header: threads, operations, property.
    pub header: &'static str,
    pub expect: fn(KernelState) -> Expect,
    pub explorer: DefaultExplorer,
    /// Mutants this scenario is paired with: it must catch each of them.
    pub catches: &'static [Mutant],
    pub variants: Vec<Variant>,
}

fn thread(name: impl Into<String>, body: impl Fn(&Cx) + Send + Sync + 'static) -> ThreadSpec {
    ThreadSpec {
        name: name.into(),
        body: Arc::new(body),
    }
}

/// One file A of one PMD range (two pages) backed by the PMD-aligned blocks
/// pfn 8 and 9, mapped by `mms` processes.
fn file_a(mms: u8) -> Setup {
    Setup {
        files: vec![FileSetup {
            pages: 2,
            size: 2,
            blocks: vec![
                Some(Block {
                    pfn: DAX_BASE,
                    shared: false,
                }),
                Some(Block {
                    pfn: DAX_BASE + 1,
                    shared: false,
                }),
            ],
        }],
        mms,
        dax_frames: 2,
    }
}

fn size_name(s: FaultSize) -> &'static str {
    match s {
        FaultSize::Pte => "PTE",
        FaultSize::Pmd => "PMD",
    }
}

fn holds(_: KernelState) -> Expect {
    Expect::Holds
}

/// S1: fault vs truncate.
fn s1() -> Scenario {
    let variant = |name, size: FaultSize, exit: bool| Variant {
        name,
        setup: file_a(1),
        threads: vec![
            thread(
                format!(
                    "fault A[0] ({}, read){}",
                    size_name(size),
                    if exit { ", then exit (munmap)" } else { "" }
                ),
                move |cx| {
                    handle_mm_fault(cx, 0, 0, 0, false, size);
                    if exit {
                        munmap(cx, 0, 0);
                    }
                },
            ),
            thread("truncate A to 0", |cx| xfs_truncate(cx, 0, 0)),
        ],
        post: None,
    };
    Scenario {
        name: "S1",
        title: "fault vs truncate",
        header: "\
T1: handle_mm_fault(A[0]) under MMAPLOCK shared; in the -exit variants the process then exits
    (munmap: zap, unlink, TLB flush)
T2: xfs_setattr_size(A, 0): MMAPLOCK excl, dax_break_layout (callback drops/retakes MMAPLOCK),
    truncate, free blocks
Property: when break-layout returns, T1's folio has refcount 0 and mapcount 0 and no entry is
          left (I8); a deferred TLB put is waited for, not missed; blocks are freed FS-free (I6);
          T1 either never mapped (SIGBUS past i_size) or was zapped; no hang (I12/I13)
Result: holds",
        expect: holds,
        explorer: DefaultExplorer::Loom,
        catches: &[
            Mutant::M1,
            Mutant::M2,
            Mutant::M7,
            Mutant::M8,
            Mutant::M10,
            Mutant::M12,
            Mutant::M14,
            Mutant::M16,
            Mutant::M17,
            Mutant::M27,
            Mutant::M28,
            Mutant::M29,
            Mutant::M30,
            Mutant::M33,
            Mutant::M35,
            Mutant::B1,
            Mutant::B2,
            Mutant::B3,
            Mutant::B5,
            Mutant::B8,
            Mutant::B19,
            Mutant::B21,
        ],
        variants: vec![
            variant("pte", FaultSize::Pte, false),
            variant("pmd", FaultSize::Pmd, false),
            variant("pte-exit", FaultSize::Pte, true),
            variant("pmd-exit", FaultSize::Pmd, true),
        ],
    }
}

/// S3: fault vs munmap vs break-layout.
fn s3() -> Scenario {
    let variant = |name, size: FaultSize| Variant {
        name,
        setup: file_a(1),
        threads: vec![
            thread(
                format!("fault A[0] ({}, read)", size_name(size)),
                move |cx| {
                    handle_mm_fault(cx, 0, 0, 0, false, size);
                },
            ),
            thread("munmap A in mm0", |cx| munmap(cx, 0, 0)),
            thread("punch hole A[0..1] (break-layout)", |cx| {
                xfs_punch_hole(cx, 0, 0, 1)
            }),
        ],
        post: None,
    };
    Scenario {
        name: "S3",
        title: "fault vs munmap vs break-layout",
        header: "\
T1: handle_mm_fault(A[0]) in mm0
T2: munmap(mm0, A): zap under the PTL (mapcount-1), unlink, then the TLB flush drops the reference
T3: xfs_free_file_space(A, 0..1): MMAPLOCK excl, dax_break_layout, delete entries, free blocks
Property: T3 waits while refcount - mapcount > 0 (the deferred put) and is woken by free_zone_device_folio
          (I13); it never completes early (I8, I9); every reference is accounted (I1)
Result: holds",
        expect: holds,
        explorer: DefaultExplorer::Loom,
        catches: &[Mutant::M6, Mutant::M9, Mutant::M10, Mutant::M12, Mutant::M29, Mutant::M30, Mutant::B19],
        variants: vec![variant("pte", FaultSize::Pte), variant("pmd", FaultSize::Pmd)],
    }
}

/// The whole catalogue, in order.
pub fn catalogue() -> Vec<Scenario> {
    vec![s1(), s3()]
}

pub fn names() -> Vec<&'static str> {
    catalogue().iter().map(|s| s.name).collect()
}

/// Resolve `S1` (every variant) or `S1/pte` (one variant) to
/// (scenario index, variant indices).
pub fn resolve(cat: &[Scenario], spec: &str) -> Result<(usize, Vec<usize>), String> {
    let (sname, vname) = match spec.split_once('/') {
        Some((s, v)) => (s, Some(v)),
        None => (spec, None),
    };
    let Some(si) = cat.iter().position(|s| s.name.eq_ignore_ascii_case(sname)) else {
        return Err(format!(
            "unknown scenario `{spec}` (known: {})",
            cat.iter().map(|s| s.name).collect::<Vec<_>>().join(", ")
        ));
    };
    let sc = &cat[si];
    match vname {
        None => Ok((si, (0..sc.variants.len()).collect())),
        Some(v) => match sc.variants.iter().position(|x| x.name == v) {
            Some(vi) => Ok((si, vec![vi])),
            None => Err(format!(
                "unknown variant `{v}` of {} (known: {})",
                sc.name,
                sc.variants
                    .iter()
                    .map(|x| x.name)
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        },
    }
}
