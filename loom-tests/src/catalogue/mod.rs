//! The scenario catalogue. Each scenario reads like a litmus test: its
//! threads and what each runs, the property checked, the expected result,
//! and the mutants it is shown to catch (see `docs/catalogue.md`).

mod common;
mod page;
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
use daxcheck_core::violation::CheckKind;
use daxcheck_core::world::Setup;
use daxcheck_core::{KernelState, Mutant};

use crate::checks::Hyp;

pub use page::render_markdown;

/// What a scenario is expected to show on an unmutated model.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expect {
    /// No execution breaks a check.
    Holds,
    /// Some execution breaks one of the finding's checks: a finding against
    /// the kernel (a spec hypothesis), asserted by the tests. Another check
    /// breaking instead is unexpected.
    Finds(Finding),
}

impl Expect {
    pub fn word(self) -> &'static str {
        match self {
            Expect::Holds => "holds",
            Expect::Finds(..) => "finds",
        }
    }

    /// `holds`, or `finds H3 (data-race|I4|I9|I13)`: the hypothesis and the
    /// checks that count as the finding.
    pub fn words(self) -> String {
        match self {
            Expect::Holds => "holds".into(),
            Expect::Finds(f) => format!("finds {} ({})", f.id(), f.checks_joined("|")),
        }
    }
}

/// What a `finds` expects, as a litmus test's `exists` clause: the
/// hypothesis it confirms and the checks that count as seeing it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Finding {
    /// The hypotheses it confirms, the one it tests first (`H2/H1`).
    pub hypotheses: &'static [Hyp],
    /// A historical kernel bug of the same shape, named after them (`H3/B16`).
    pub bug: Option<&'static str>,
    /// The finding in one line.
    pub what: &'static str,
    /// The checks that count as the finding.
    pub checks: &'static [CheckKind],
}

impl Finding {
    /// `H3`, `H2/H1`, `H3/B16`.
    pub fn id(&self) -> String {
        let mut ids: Vec<String> = self.hypotheses.iter().map(|h| h.to_string()).collect();
        ids.extend(self.bug.map(str::to_string));
        ids.join("/")
    }

    /// The check ids joined by `sep` (`I4|WARN`).
    pub fn checks_joined(&self, sep: &str) -> String {
        let ids: Vec<String> = self.checks.iter().map(|c| c.to_string()).collect();
        ids.join(sep)
    }
}

/// `H3: two files associate one folio under two different xa_locks`.
impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.id(), self.what)
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
    /// The litmus-style header: setup, threads, property. The `Result:`
    /// line is not written here: [`Scenario::rendered_header`] derives it
    /// from `expect`.
    pub header: &'static str,
    /// Markdown for `docs/catalogue.md` after the header: why the result is
    /// what it is, what the paired mutants break, the findings it backs.
    pub notes: &'static str,
    pub expect: fn(KernelState) -> Expect,
    /// The explorers it runs under when none is named: a mutant or finding
    /// counts as caught when any of them catches it (loom's bounded search
    /// and PCT's sampling miss different interleavings).
    pub explorers: &'static [DefaultExplorer],
    /// Mutants this scenario is paired with: it must catch each of them.
    pub catches: &'static [Mutant],
    /// What it needs beyond the default shuttle budget.
    pub tuning: Tuning,
    pub variants: Vec<Variant>,
}

/// A scenario's own floor over the shuttle budget, for windows the
/// default budget reaches too rarely (measured; the scenario says how).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tuning {
    /// loom runs at least this preemption bound.
    pub loom_bound: usize,
    /// PCT runs at least this depth.
    pub pct_depth: usize,
    /// PCT runs this many times the iterations.
    pub pct_factor: usize,
    /// The uniform random scheduler runs this many times the iterations.
    pub random_factor: usize,
    /// Windows the uniform random scheduler does not reach at any feasible
    /// budget (measured; each says why): a run that misses one is reported
    /// as out of reach, not as a failure, and not as ok.
    pub random_out_of_reach: &'static [OutOfReach],
}

/// A window out of one explorer's reach: one variant's own finding, or the
/// window one mutant needs in it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OutOfReach {
    pub variant: &'static str,
    /// `None`: the variant's own expected finding.
    pub mutant: Option<Mutant>,
    /// Why, with the figures that show it.
    pub why: &'static str,
}

impl Tuning {
    /// The default budget as it is.
    pub const DEFAULT: Tuning = Tuning {
        loom_bound: 0,
        pct_depth: 1,
        pct_factor: 1,
        random_factor: 1,
        random_out_of_reach: &[],
    };
}

impl Scenario {
    /// Why the uniform random scheduler cannot reach this variant's window
    /// (its finding, or a mutant's), when the scenario says so.
    pub fn random_out_of_reach(
        &self,
        variant: usize,
        mutant: Option<Mutant>,
    ) -> Option<&'static str> {
        let name = self.variants[variant].name;
        self.tuning
            .random_out_of_reach
            .iter()
            .find(|o| o.variant == name && o.mutant == mutant)
            .map(|o| o.why)
    }

    /// The expected result of one variant under a kernel state.
    pub fn expected(&self, variant: usize, k: KernelState) -> Expect {
        let f = self.variants[variant].expect.unwrap_or(self.expect);
        f(k)
    }

    /// The header as `daxcheck list` and `docs/catalogue.md` show it: the
    /// written lines, then the `Result:` line derived from the same
    /// expectations the tests judge.
    pub fn rendered_header(&self) -> String {
        format!("{}\n{}", self.header, self.result_line())
    }

    /// `Result: holds`; variants that differ get one line each (`pte:
    /// holds`, then `pte-index1: finds H5 (I4|WARN|I6) on v6.15, v6.16;
    /// holds on 2026`), variants that agree share one.
    pub fn result_line(&self) -> String {
        let mut groups: Vec<(String, Vec<&str>)> = Vec::new();
        for (vi, v) in self.variants.iter().enumerate() {
            let r = self.variant_result(vi);
            match groups.iter_mut().find(|(g, _)| *g == r) {
                Some((_, names)) => names.push(v.name),
                None => groups.push((r, vec![v.name])),
            }
        }
        if let [(r, _)] = groups.as_slice() {
            return format!("Result: {r}");
        }
        let lines: Vec<String> = groups
            .iter()
            .map(|(r, names)| format!("{}: {r}", names.join(", ")))
            .collect();
        format!("Result: {}", lines.join("\n        "))
    }

    /// One variant's expectation over the kernel states: `holds` when all
    /// agree, else each result with the states it holds on.
    pub fn variant_result(&self, variant: usize) -> String {
        let mut groups: Vec<(String, Vec<KernelState>)> = Vec::new();
        for k in KernelState::ALL {
            let r = self.expected(variant, k).words();
            match groups.iter_mut().find(|(g, _)| *g == r) {
                Some((_, ks)) => ks.push(k),
                None => groups.push((r, vec![k])),
            }
        }
        if let [(r, _)] = groups.as_slice() {
            return r.clone();
        }
        let parts: Vec<String> = groups
            .iter()
            .map(|(r, ks)| {
                let ks: Vec<&str> = ks.iter().map(|k| k.name()).collect();
                format!("{r} on {}", ks.join(", "))
            })
            .collect();
        parts.join("; ")
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
