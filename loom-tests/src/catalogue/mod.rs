//! The scenario catalogue. Each scenario reads like a litmus test: its
//! threads and what each runs, the property checked, the expected result,
//! and the mutants it is shown to catch (see `docs/catalogue.md`).

mod faults;
mod gup;
mod reflink;
mod writeback;

use std::sync::Arc;

use daxcheck_core::cx::Cx;
use daxcheck_core::exec::ThreadSpec;
use daxcheck_core::vm::FaultSize;
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

pub(crate) fn thread(
    name: impl Into<String>,
    body: impl Fn(&Cx) + Send + Sync + 'static,
) -> ThreadSpec {
    ThreadSpec {
        name: name.into(),
        body: Arc::new(body),
    }
}

/// One file A of one PMD range (two pages) backed by the PMD-aligned blocks
/// pfn 8 and 9, mapped by `mms` processes.
pub(crate) fn file_a(mms: u8) -> Setup {
    Setup::file(2).mms(mms)
}

pub(crate) fn size_name(s: FaultSize) -> &'static str {
    match s {
        FaultSize::Pte => "PTE",
        FaultSize::Pmd => "PMD",
    }
}

pub(crate) fn holds(_: KernelState) -> Expect {
    Expect::Holds
}

/// The whole catalogue, in order.
pub fn catalogue() -> Vec<Scenario> {
    vec![
        faults::s1(),
        writeback::s2(),
        faults::s3(),
        gup::s4(),
        faults::s5(),
        faults::s6(),
        reflink::s7(),
        writeback::s8(),
        writeback::s9(),
        gup::s10(),
        writeback::s11(),
        writeback::s12(),
        gup::s13(),
        reflink::s14(),
        reflink::s15(),
        writeback::s16(),
        reflink::s17(),
        reflink::s18(),
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
