//! The scenario catalogue. Each scenario reads like a litmus test: its
//! threads and what each runs, the property checked, the expected result,
//! and the mutants it is shown to catch (see `docs/catalogue.md`).

mod common;
mod s01_fault_truncate;
mod s02_scan_locked_entry;
mod s03_fault_munmap_break;
mod s04_gup_pin_truncate;
mod s05_faults_same_entry;
mod s06_mixed_pmd_pte;
mod s07_reflink_two_files;
mod s08_memory_failure;
mod s09_invalidate_mapped_pmd;
mod s10_shared_refault_unpin;
mod s11_sync_fault_cow;
mod s12_mkwrite_writeback;
mod s13_refault_break_wait;
mod s14_reflink_remap_lock;
mod s15_reuse_after_disassociation;
mod s16_three_invalidators;
mod s17_shared_refault_one_file;
mod s18_shared_pte_in_pmd;

use daxcheck_core::exec::ThreadSpec;
use daxcheck_core::world::Setup;
use daxcheck_core::{KernelState, Mutant};

/// What a scenario is expected to show on an unmutated model.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expect {
    /// No execution breaks a check.
    Holds,
    /// Some execution breaks one of the named checks (ids as in
    /// `Check::id`): a finding against the kernel (a spec hypothesis),
    /// asserted by the tests. Another check breaking instead is unexpected.
    Finds(&'static str, &'static [&'static str]),
}

impl Expect {
    pub fn word(self) -> &'static str {
        match self {
            Expect::Holds => "holds",
            Expect::Finds(..) => "finds",
        }
    }
}

/// The explorer a scenario runs under when none is named.
pub type DefaultExplorer = crate::explore::ExplorerKind;

pub struct Variant {
    pub name: &'static str,
    pub setup: Setup,
    pub threads: Vec<ThreadSpec>,
    /// This variant's own expected result, when it differs from the
    /// scenario's.
    pub expect: Option<fn(KernelState) -> Expect>,
}

pub struct Scenario {
    pub name: &'static str,
    pub title: &'static str,
    /// The litmus-style header: threads, operations, property.
    pub header: &'static str,
    pub expect: fn(KernelState) -> Expect,
    /// The explorers it runs under when none is named: a mutant or finding
    /// counts as caught when any of them catches it (loom's bounded search
    /// and PCT's sampling miss different interleavings).
    pub explorers: &'static [DefaultExplorer],
    /// Mutants this scenario is paired with: it must catch each of them.
    pub catches: &'static [Mutant],
    pub variants: Vec<Variant>,
}

impl Scenario {
    /// The expected result of one variant under a kernel state.
    pub fn expected(&self, variant: usize, k: KernelState) -> Expect {
        let f = self.variants[variant].expect.unwrap_or(self.expect);
        f(k)
    }
}

/// The whole catalogue, in order.
pub fn catalogue() -> Vec<Scenario> {
    vec![
        s01_fault_truncate::scenario(),
        s02_scan_locked_entry::scenario(),
        s03_fault_munmap_break::scenario(),
        s04_gup_pin_truncate::scenario(),
        s05_faults_same_entry::scenario(),
        s06_mixed_pmd_pte::scenario(),
        s07_reflink_two_files::scenario(),
        s08_memory_failure::scenario(),
        s09_invalidate_mapped_pmd::scenario(),
        s10_shared_refault_unpin::scenario(),
        s11_sync_fault_cow::scenario(),
        s12_mkwrite_writeback::scenario(),
        s13_refault_break_wait::scenario(),
        s14_reflink_remap_lock::scenario(),
        s15_reuse_after_disassociation::scenario(),
        s16_three_invalidators::scenario(),
        s17_shared_refault_one_file::scenario(),
        s18_shared_pte_in_pmd::scenario(),
    ]
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
