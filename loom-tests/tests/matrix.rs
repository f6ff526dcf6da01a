//! The paired mutant matrix, each scenario under its default explorers and
//! budget (what `daxcheck mutants` runs): every paired mutant must be
//! caught, and the unmutated model must give every expected result in the
//! same run.

use daxcheck::catalogue::{catalogue, Expect, Scenario};
use daxcheck::matrix::{render, render_markdown, run_matrix};
use daxcheck::run::{explorers_for, Budget};
use daxcheck_core::{KernelState, Mutant};

#[test]
fn every_paired_mutant_is_caught_and_the_baseline_holds() {
    let cat = catalogue();
    let scenarios: Vec<usize> = (0..cat.len()).collect();
    let budget = Budget::default();
    let pick = |sc: &Scenario| explorers_for(None, sc, &budget);
    let jobs = std::thread::available_parallelism().map_or(1, |n| n.get());
    let m = run_matrix(
        &cat,
        Mutant::ALL,
        &scenarios,
        false,
        &pick,
        KernelState::V6_15,
        jobs,
        None,
    );
    let text = render(&m, Mutant::ALL);
    assert!(m.paired > 0, "{text}");
    assert!(m.ok(), "{text}");
    // A scenario expected to hold must be shown able to fail by a mutant; a
    // `finds` scenario fails on the unmutated model already (its test
    // asserts the finding).
    for sc in &cat {
        let finds =
            (0..sc.variants.len()).all(|v| sc.expected(v, KernelState::V6_15) != Expect::Holds);
        assert!(
            finds || !sc.catches.is_empty(),
            "{} is paired with no mutant",
            sc.name
        );
    }
    // docs/mutants.md carries the table this run prints with
    // `daxcheck mutants --format markdown`.
    let table = render_markdown(&m, Mutant::ALL);
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/mutants.md"))
        .expect("docs/mutants.md");
    let generated: String = doc
        .lines()
        .skip_while(|l| !l.starts_with("| name | kind |"))
        .take_while(|l| l.starts_with('|'))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_eq!(
        generated, table,
        "docs/mutants.md is stale: replace its table with `daxcheck mutants --format markdown`"
    );
}
