//! The catalogue's shape: every scenario variant has a generated test under
//! each of its default explorers (tests/generated.rs runs them: each gives
//! its expected result and each finding replays to the identical trace; the
//! matrix test runs the whole unmutated catalogue once more as its
//! baseline), and the loom campaign covers every variant.

use std::collections::BTreeSet;

use daxcheck::cargo_test::{cases, test_name, Campaign};
use daxcheck::catalogue::{catalogue, DefaultExplorer, Expect};
use daxcheck::explore::{explore, Explorer};
use daxcheck::run::model_of;
use daxcheck_core::KernelState;

#[test]
fn every_variant_has_a_generated_test_per_default_explorer() {
    let cat = catalogue();
    let plain = Campaign::from_vars(false, |_| None).expect("defaults");
    let cs = cases(&cat, &plain);
    let names: BTreeSet<&str> = cs.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names.len(), cs.len(), "two generated tests share a name");
    let mut findings = 0;
    for (si, sc) in cat.iter().enumerate() {
        assert!(
            !sc.explorers.is_empty(),
            "{} has no default explorer",
            sc.name
        );
        for (vi, v) in sc.variants.iter().enumerate() {
            if sc.expected(vi, KernelState::V6_15) != Expect::Holds {
                findings += 1;
            }
            for (kind, module) in [
                (DefaultExplorer::Loom, "loom"),
                (DefaultExplorer::Pct, "pct"),
            ] {
                let name = format!("{module}::{}", test_name(sc.name, v.name));
                let found: Vec<_> = cs
                    .iter()
                    .filter(|c| c.scenario == si && c.variant == vi && c.explorer.kind() == module)
                    .collect();
                assert_eq!(found.len(), 1, "{name}: {} generated tests", found.len());
                assert_eq!(found[0].name, name);
                assert_eq!(
                    found[0].ignored,
                    !sc.explorers.contains(&kind),
                    "{name}: run by default exactly when {module} is a default explorer of {}",
                    sc.name
                );
            }
        }
    }
    assert!(findings > 0, "the catalogue asserts at least one finding");
    assert_eq!(test_name("S3", "pmd"), "s03_pmd");
    assert_eq!(test_name("S14", "busy-b"), "s14_busy_b");

    // Under --cfg loom: every variant under loom at bound 3, nothing else.
    let campaign = Campaign::from_vars(true, |_| None).expect("defaults");
    let lc = cases(&cat, &campaign);
    let variants: usize = cat.iter().map(|s| s.variants.len()).sum();
    assert_eq!(lc.len(), variants);
    for c in &lc {
        assert_eq!(c.explorer, Explorer::Loom { bound: 3 }, "{}", c.name);
        assert!(!c.ignored && c.name.starts_with("loom::"), "{}", c.name);
    }
}

#[test]
fn h5_holds_with_the_2026_reset() {
    let cat = catalogue();
    let sc = cat.iter().find(|s| s.name == "S15").expect("S15");
    for vi in 0..sc.variants.len() {
        let ex = Explorer::Pct {
            depth: 3,
            iterations: 200,
            seed: 1,
        };
        let o = explore(&model_of(sc, vi, KernelState::Y2026, None), &ex);
        assert!(
            o.failure.is_none(),
            "S15 on 2026: {:?}",
            o.failure.map(|f| f.violation.headline())
        );
        let o = explore(&model_of(sc, vi, KernelState::V6_15, None), &ex);
        assert!(o.failure.is_some(), "S15 on v6.15 must find H5");
    }
}
