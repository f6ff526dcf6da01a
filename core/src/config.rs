//! Run-time choices: which kernel state is modelled and which single mutant
//! (deliberate mistake) is switched on. One build runs them all.

use std::fmt;

/// The historical kernel state the model follows (spec §0).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum KernelState {
    /// The merged series (fs/dax.c at 00c010e1), the default.
    #[default]
    V6_15,
    /// Hildenbrand's June 2025 change: refcounted PMDs are no longer special (B5 fix).
    V6_16,
    /// `dax_folio_reset_order()` (clears `share` for every order) and the B2 guard order.
    Y2026,
}

impl KernelState {
    pub const ALL: [KernelState; 3] = [KernelState::V6_15, KernelState::V6_16, KernelState::Y2026];

    pub fn name(self) -> &'static str {
        match self {
            KernelState::V6_15 => "v6.15",
            KernelState::V6_16 => "v6.16",
            KernelState::Y2026 => "2026",
        }
    }

    pub fn parse(s: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|k| k.name() == s)
            .ok_or_else(|| {
                let known: Vec<_> = Self::ALL.iter().map(|k| k.name()).collect();
                format!("unknown kernel state `{s}` (known: {})", known.join(", "))
            })
    }
}

/// A deliberate mistake in the model, used to show that a scenario can fail.
/// Numbers follow spec §7; each is a single change a kernel developer could
/// plausibly make.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Mutant {
    M6,
    M10,
}

impl Mutant {
    pub const ALL: [Mutant; 2] = [Mutant::M6, Mutant::M10];

    pub fn name(self) -> &'static str {
        match self {
            Mutant::M6 => "M6",
            Mutant::M10 => "M10",
        }
    }

    /// One line: what the mutant changes, in kernel terms.
    pub fn describe(self) -> &'static str {
        match self {
            Mutant::M6 => {
                "zap_huge_pmd treats DAX VMAs as special-huge: no rmap removal, no refcount put"
            }
            Mutant::M10 => {
                "old idle rule: busy iff refcount > 1, dax_page_is_idle iff refcount == 1"
            }
        }
    }

    pub fn parse(s: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|m| m.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| {
                let known: Vec<_> = Self::ALL.iter().map(|m| m.name()).collect();
                format!("unknown mutant `{s}` (known: {})", known.join(", "))
            })
    }
}

impl fmt::Display for Mutant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Everything that selects the model's behaviour for one run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    pub kernel: KernelState,
    pub mutant: Option<Mutant>,
    /// Number of hashed entry waitqueues; 1 makes every key collide, which
    /// exercises the key filter of the wake function.
    pub wait_buckets: usize,
    /// Model a plain store of the value a field already holds as a store
    /// (C memory model) rather than as no store (KCSAN's value-change rule).
    pub strict_same_value_races: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            kernel: KernelState::V6_15,
            mutant: None,
            wait_buckets: 8,
            strict_same_value_races: false,
        }
    }
}

impl Config {
    pub fn has(&self, m: Mutant) -> bool {
        self.mutant == Some(m)
    }
}
