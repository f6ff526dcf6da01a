//! The violation report shown in README.md is real: this renders it again
//! and compares it with an insta snapshot, and checks README quotes it.
//! Review a changed report with `cargo insta review` (or
//! `INSTA_UPDATE=always cargo test --release --test readme`).

use daxcheck::catalogue::catalogue;
use daxcheck::explore::Explorer;
use daxcheck::run::{execute_run, render_failure, Run};
use daxcheck_core::{KernelState, Mutant};

fn render() -> String {
    let cat = catalogue();
    let sc = cat.iter().find(|s| s.name == "S3").expect("S3");
    let vi = sc
        .variants
        .iter()
        .position(|v| v.name == "pmd")
        .expect("pmd");
    let ex = Explorer::Pct {
        depth: 3,
        iterations: 2000,
        seed: 1,
    };
    let r = execute_run(&Run {
        scenario: sc,
        variant: vi,
        kernel: KernelState::V6_15,
        mutant: Some(Mutant::M6),
        explorer: ex,
    });
    let f = r.outcome.failure.as_ref().expect("S3/pmd catches M6");
    let name = format!(
        "daxcheck-failures/{}",
        daxcheck::run::replay_name(&r, daxcheck::replay::digest(&f.rec))
    );
    render_failure(&r, f, Some(std::path::Path::new(&name)))
}

#[test]
fn readme_violation_example_is_real_output() {
    let now = render();
    insta::assert_snapshot!("readme_violation", now);
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md"))
        .expect("README");
    let quoted: Vec<&str> = readme
        .lines()
        .skip_while(|l| !l.starts_with("== S3/pmd"))
        .take_while(|l| !l.starts_with("```"))
        .filter(|l| l.trim() != "...")
        .collect();
    assert!(!quoted.is_empty(), "README quotes the report");
    for line in quoted {
        assert!(
            now.lines().any(|s| s == line),
            "README quotes a line the real report does not have: {line:?}"
        );
    }
}

/// The race example of README.md: `check S7/faults --explorer loom`, told
/// by the access checker.
fn render_race() -> String {
    let cat = catalogue();
    let sc = cat.iter().find(|s| s.name == "S7").expect("S7");
    let vi = sc
        .variants
        .iter()
        .position(|v| v.name == "faults")
        .expect("faults");
    let mut r = execute_run(&Run {
        scenario: sc,
        variant: vi,
        kernel: KernelState::V6_15,
        mutant: None,
        explorer: Explorer::Loom { bound: 2 },
    });
    daxcheck::why::race::explain(&cat, &mut r);
    let f = r.outcome.failure.as_ref().expect("S7/faults races");
    render_failure(&r, f, None)
}

#[test]
fn readme_race_example_is_real_output() {
    let now = render_race();
    insta::assert_snapshot!("readme_race", now);
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md"))
        .expect("README");
    let quoted: Vec<&str> = readme
        .lines()
        .skip_while(|l| !l.starts_with("== S7/faults"))
        .take_while(|l| !l.starts_with("```"))
        .filter(|l| l.trim() != "...")
        .collect();
    assert!(quoted.len() > 3, "README quotes the race report");
    for line in quoted {
        assert!(
            now.lines().any(|s| s == line),
            "README quotes a line the real report does not have: {line:?}"
        );
    }
}
