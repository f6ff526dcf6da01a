//! The violation report shown in README.md is real: this renders it again
//! and compares it with the snapshot, and checks README quotes the snapshot.
//! `UPDATE_SNAPSHOTS=1 cargo test --release --test readme` rewrites it.

use daxcheck::catalogue::catalogue;
use daxcheck::explore::Explorer;
use daxcheck::run::{execute_run, render_failure, Run};
use daxcheck_core::{KernelState, Mutant};

const SNAPSHOT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/snapshots/readme-violation.txt"
);

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
        "daxcheck-failures/S3-pmd-M6-v6.15-{:08x}.replay",
        daxcheck::replay::digest(&f.rec) as u32
    );
    render_failure(&r, f, Some(std::path::Path::new(&name)))
}

#[test]
fn readme_violation_example_is_real_output() {
    let now = render();
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(SNAPSHOT, &now).expect("write snapshot");
    }
    let snap =
        std::fs::read_to_string(SNAPSHOT).expect("snapshot exists (UPDATE_SNAPSHOTS=1 creates it)");
    assert_eq!(
        now, snap,
        "the report changed: review it, then UPDATE_SNAPSHOTS=1"
    );
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md"))
        .expect("README");
    for line in readme
        .lines()
        .skip_while(|l| !l.starts_with("== S3/pmd"))
        .take_while(|l| !l.starts_with("```"))
    {
        if line.trim() == "..." {
            continue;
        }
        assert!(
            snap.lines().any(|s| s == line),
            "README quotes a line the real report does not have: {line:?}"
        );
    }
    assert!(
        readme.contains(snap.lines().next().unwrap_or("")),
        "README must quote the report's first line"
    );
}
