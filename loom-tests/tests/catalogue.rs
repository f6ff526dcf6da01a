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

/// An expectation in the words a `Result:` line uses, spelled here
/// independently of the renderer.
fn words(e: Expect) -> String {
    match e {
        Expect::Holds => "holds".into(),
        Expect::Finds(f) => {
            let checks: Vec<String> = f.checks.iter().map(|c| c.to_string()).collect();
            format!("finds {} ({})", f.id(), checks.join("|"))
        }
    }
}

/// What a rendered `Result:` text says for kernel state `k`: `holds`, or
/// the part of `finds ... on v6.15, v6.16; holds on 2026` naming `k`.
fn said_for(text: &str, k: KernelState) -> Option<String> {
    let parts: Vec<&str> = text.split("; ").collect();
    if let [one] = parts.as_slice() {
        if !one.contains(" on ") {
            return Some(one.to_string());
        }
    }
    parts.iter().find_map(|p| {
        let (what, states) = p.rsplit_once(" on ")?;
        states
            .split(", ")
            .any(|s| s == k.name())
            .then(|| what.to_string())
    })
}

/// The header `daxcheck list` and `docs/catalogue.md` show ends in a
/// `Result:` that states, for every variant and kernel state, the very
/// expectation the generated tests judge; the written header has none.
#[test]
fn each_headers_result_line_states_what_the_tests_judge() {
    for sc in catalogue() {
        assert!(
            !sc.header.lines().any(|l| l.contains("Result:")),
            "{}: the written header has its own Result line",
            sc.name
        );
        let shown = sc.rendered_header();
        let (_, block) = shown
            .split_once("\nResult: ")
            .unwrap_or_else(|| panic!("{}: no Result line in\n{shown}", sc.name));
        let lines: Vec<&str> = block.lines().map(str::trim).collect();
        let mut per_variant: Vec<(Vec<&str>, &str)> = Vec::new();
        for l in &lines {
            match l.split_once(": ") {
                Some((names, text)) => per_variant.push((names.split(", ").collect(), text)),
                None => {
                    assert_eq!(lines.len(), 1, "{}: {block}", sc.name);
                    let all = sc.variants.iter().map(|v| v.name).collect();
                    per_variant.push((all, l));
                }
            }
        }
        for (vi, v) in sc.variants.iter().enumerate() {
            let stated: Vec<&str> = per_variant
                .iter()
                .filter(|(names, _)| names.contains(&v.name))
                .map(|(_, text)| *text)
                .collect();
            assert_eq!(stated.len(), 1, "{}/{}: {block}", sc.name, v.name);
            for k in KernelState::ALL {
                assert_eq!(
                    said_for(stated[0], k),
                    Some(words(sc.expected(vi, k))),
                    "{}/{} on {k}: the header says `{}`",
                    sc.name,
                    v.name,
                    stated[0]
                );
            }
        }
    }
}

/// A window declared out of the uniform random scheduler's reach names a
/// real variant and either that variant's own finding or a mutant paired
/// with the scenario, and says how it was measured: a misspelt name would
/// match no run, and an undeclared miss must stay a failure.
#[test]
fn every_out_of_reach_window_names_a_finding_or_a_paired_mutant() {
    let mut declared = 0;
    for sc in catalogue() {
        for o in sc.tuning.random_out_of_reach {
            declared += 1;
            let vi = sc
                .variants
                .iter()
                .position(|v| v.name == o.variant)
                .unwrap_or_else(|| panic!("{}: no variant `{}`", sc.name, o.variant));
            match o.mutant {
                Some(m) => assert!(
                    sc.catches.contains(&m),
                    "{}/{}: {} is not paired with {}",
                    sc.name,
                    o.variant,
                    m.name(),
                    sc.name
                ),
                None => assert_ne!(
                    sc.expected(vi, KernelState::V6_15),
                    Expect::Holds,
                    "{}/{}: out of reach, but there is no finding to reach",
                    sc.name,
                    o.variant
                ),
            }
            assert!(
                o.why.contains("--explorer random"),
                "{}/{}: the reason gives no measuring command",
                sc.name,
                o.variant
            );
            assert_eq!(sc.random_out_of_reach(vi, o.mutant), Some(o.why));
        }
    }
    assert!(declared > 0);
}
