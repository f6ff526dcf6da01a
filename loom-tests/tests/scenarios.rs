//! The catalogue under loom and shuttle: every scenario holds on the
//! unmutated model, and each paired mutant is caught. A mutant test fails if
//! its scenario stops detecting the mutant.

use daxcheck::catalogue::{catalogue, Scenario};
use daxcheck::explore::{explore, Explorer, Outcome};
use daxcheck::run::model_of;
use daxcheck_core::violation::{Check, Inv};
use daxcheck_core::{KernelState, Mutant};

fn scenario(name: &str) -> Scenario {
    catalogue()
        .into_iter()
        .find(|s| s.name == name)
        .expect("scenario in catalogue")
}

fn run(name: &str, variant: &str, mutant: Option<Mutant>, ex: &Explorer) -> Outcome {
    let sc = scenario(name);
    let vi = sc
        .variants
        .iter()
        .position(|v| v.name == variant)
        .expect("variant");
    explore(&model_of(&sc, vi, KernelState::V6_15, mutant), ex)
}

const LOOM: Explorer = Explorer::Loom { bound: 2 };
const PCT: Explorer = Explorer::Pct {
    depth: 3,
    iterations: 500,
    seed: 7,
};

fn assert_holds(name: &str, ex: &Explorer) {
    for v in scenario(name).variants.iter().map(|v| v.name) {
        let o = run(name, v, None, ex);
        if let Some(f) = &o.failure {
            panic!(
                "{name}/{v} under {}: {}",
                ex.describe(),
                f.violation.headline()
            );
        }
        assert!(
            o.executions > 1,
            "{name}/{v}: explored only {} executions",
            o.executions
        );
    }
}

/// The mutant must be caught, by one of the checks its symptom names (a
/// kernel WARN on the way counts: under loom a thread may still read the
/// stale count the WARN tests).
fn assert_caught(name: &str, variant: &str, m: Mutant, ex: &Explorer, by: &[Check]) {
    let o = run(name, variant, Some(m), ex);
    let f = o
        .failure
        .unwrap_or_else(|| panic!("{m} survived {name}/{variant} under {}", ex.describe()));
    let ok = by.contains(&f.violation.check) || matches!(f.violation.check, Check::Warn(_));
    assert!(
        ok,
        "{m} caught by an unexpected check: {}",
        f.violation.headline()
    );
}

#[test]
fn s1_fault_vs_truncate_holds_under_loom() {
    assert_holds("S1", &LOOM);
}

#[test]
fn s1_fault_vs_truncate_holds_under_pct() {
    assert_holds("S1", &PCT);
}

#[test]
fn s3_fault_vs_munmap_vs_break_layout_holds_under_loom() {
    assert_holds("S3", &LOOM);
}

#[test]
fn s3_fault_vs_munmap_vs_break_layout_holds_under_pct() {
    assert_holds("S3", &PCT);
}

#[test]
fn s1_catches_m10_old_idle_rule() {
    // Break-layout passes over the deferred TLB put: the split and the
    // block free happen at refcount 1.
    let by = [
        Check::Inv(Inv::SplitOnlyWhenIdle),
        Check::Inv(Inv::BreakLayoutDone),
    ];
    for v in ["pte-exit", "pmd-exit"] {
        assert_caught("S1", v, Mutant::M10, &LOOM, &by);
        assert_caught("S1", v, Mutant::M10, &PCT, &by);
    }
}

#[test]
fn s3_pmd_catches_m6_special_huge_zap() {
    // The PMD's reference and entire mapcount leak: the busy scan sees
    // refcount == mapcount and the folio is split while referenced.
    let by = [
        Check::Inv(Inv::SplitOnlyWhenIdle),
        Check::Inv(Inv::BreakLayoutDone),
        Check::Inv(Inv::RefcountAccounting),
    ];
    assert_caught("S3", "pmd", Mutant::M6, &LOOM, &by);
    assert_caught("S3", "pmd", Mutant::M6, &PCT, &by);
}

#[test]
fn same_seed_same_result() {
    let a = run("S1", "pmd-exit", Some(Mutant::M10), &PCT);
    let b = run("S1", "pmd-exit", Some(Mutant::M10), &PCT);
    let (fa, fb) = (a.failure.expect("found"), b.failure.expect("found"));
    assert_eq!(a.executions, b.executions);
    assert_eq!(fa.rec.events, fb.rec.events);
}

#[test]
fn strict_same_value_races_reports_the_pgmap_race() {
    // Finding F1 (docs/findings.md): the split's same-value pgmap store races
    // with free_zone_device_folio's read; loom reports it when same-value
    // stores are modelled as stores.
    let sc = scenario("S1");
    let vi = sc
        .variants
        .iter()
        .position(|v| v.name == "pmd-exit")
        .expect("variant");
    let mut m = model_of(&sc, vi, KernelState::V6_15, None);
    m.cfg.strict_same_value_races = true;
    let f = explore(&m, &LOOM).failure.expect("loom reports the race");
    assert_eq!(
        f.violation.check,
        Check::DataRace,
        "{}",
        f.violation.headline()
    );
}
