//! `daxcheck why --without CHECK`: is this guard needed? Each named guard
//! site of the model is a mutant that removes it; the catalogue runs with
//! the guard removed and reports which scenarios break and how.

use daxcheck_core::{KernelState, Mutant};

use crate::catalogue::Scenario;
use crate::explore::ExplorerKind;
use crate::run::{self, Budget, Run};

/// A guard site and the mutant that removes it.
pub struct Guard {
    pub name: &'static str,
    /// The kernel code, as the review quotes it.
    pub site: &'static str,
    pub mutant: Mutant,
}

/// Every guard `--without` knows.
pub const GUARDS: [Guard; 7] = [
    Guard {
        name: "vma_is_dax@zap_huge_pmd",
        site: "mm/huge_memory.c zap_huge_pmd: `!vma_is_dax(vma) && vma_is_special_huge(vma)`",
        mutant: Mutant::M6,
    },
    Guard {
        name: "vma_is_dax@__split_huge_pmd_locked",
        site: "mm/huge_memory.c __split_huge_pmd_locked: `!vma_is_dax(vma) && vma_is_special_huge(vma)`",
        mutant: Mutant::M41,
    },
    Guard {
        name: "dax_is_zero_entry@dax_disassociate_entry",
        site: "fs/dax.c dax_disassociate_entry: `if (dax_is_zero_entry(entry) || dax_is_empty_entry(entry)) return`",
        mutant: Mutant::M16,
    },
    Guard {
        name: "dax_is_zero_entry@grab_mapping_entry",
        site: "fs/dax.c grab_mapping_entry: `if (dax_is_zero_entry(entry))` unmap before the PMD downgrade",
        mutant: Mutant::M23,
    },
    Guard {
        name: "folio_ref_count@dax_busy_page",
        site: "fs/dax.c dax_busy_page: `if (folio_ref_count(folio) - folio_mapcount(folio))`",
        mutant: Mutant::M42,
    },
    Guard {
        name: "mapping@dax_lock_folio",
        site: "fs/dax.c dax_lock_folio: `if (mapping != folio->mapping)` re-check under xa_lock",
        mutant: Mutant::M40,
    },
    Guard {
        name: "vma_is_fsdax@check_vma_flags",
        site: "mm/gup.c check_vma_flags: `if ((gup_flags & FOLL_LONGTERM) && vma_is_fsdax(vma))`",
        mutant: Mutant::M39,
    },
];

/// A guard by name (or its mutant's name), or a one-line error.
pub fn guard(name: &str) -> Result<&'static Guard, String> {
    GUARDS
        .iter()
        .find(|g| g.name == name || g.mutant.name().eq_ignore_ascii_case(name))
        .ok_or_else(|| {
            let known: Vec<&str> = GUARDS.iter().map(|g| g.name).collect();
            format!(
                "unknown guard `{name}` (known: {}, or all)",
                known.join(", ")
            )
        })
}

/// One scenario run the removal broke.
pub struct Broken {
    pub run: String,
    pub explorer: String,
    pub headline: String,
    pub execution: usize,
}

pub struct Ablation {
    pub guard: &'static Guard,
    pub broken: Vec<Broken>,
    pub runs: usize,
}

impl Ablation {
    pub fn summary(&self) -> String {
        if self.broken.is_empty() {
            return "no scenario notices: the check is dead or the catalogue misses it".into();
        }
        let mut seen = std::collections::BTreeSet::new();
        let names: Vec<String> = self
            .broken
            .iter()
            .filter(|b| seen.insert(b.run.clone()))
            .map(|b| b.run.clone())
            .collect();
        format!("broken in {}", names.join(", "))
    }

    pub fn render(&self) -> String {
        let g = self.guard;
        let mut o = format!(
            "without {} ({}; mutant {}: {}):\n  {} of {} runs: {}\n",
            g.name,
            g.site,
            g.mutant.name(),
            g.mutant.describe(),
            self.broken.len(),
            self.runs,
            self.summary()
        );
        for b in &self.broken {
            o.push_str(&format!(
                "    {} {} execution {}: {}\n",
                b.run, b.explorer, b.execution, b.headline
            ));
        }
        o
    }
}

/// Run the scenarios with the guard removed; a run whose result is not
/// the catalogue's expectation is broken.
pub fn ablate(
    cat: &[Scenario],
    g: &'static Guard,
    scenarios: &[(usize, Vec<usize>)],
    explorer: Option<ExplorerKind>,
    kernel: KernelState,
    budget: &Budget,
    jobs: usize,
) -> Result<Ablation, String> {
    let mut runs = Vec::new();
    for (si, vis) in scenarios {
        let ex = run::explorers_for(explorer, &cat[*si], budget);
        for &vi in vis {
            for e in &ex {
                runs.push(Run {
                    scenario: &cat[*si],
                    variant: vi,
                    kernel,
                    mutant: Some(g.mutant),
                    explorer: e.clone(),
                });
            }
        }
    }
    let results = run::execute_all(&runs, jobs);
    let broken = results
        .iter()
        .filter(|r| !r.as_expected())
        .map(|r| Broken {
            run: r.label(),
            explorer: r.explorer.describe(),
            headline: r.outcome.failure.as_ref().map_or_else(
                || "no longer finds what the catalogue expects".to_string(),
                |f| {
                    f.violation
                        .headline()
                        .lines()
                        .next()
                        .unwrap_or("")
                        .to_string()
                },
            ),
            execution: r.outcome.failure.as_ref().map_or(0, |f| f.execution),
        })
        .collect();
    Ok(Ablation {
        guard: g,
        broken,
        runs: results.len(),
    })
}
