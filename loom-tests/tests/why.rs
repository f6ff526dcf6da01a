//! `daxcheck why`, the race story of `check`, and ANSWERS.md.

use std::path::Path;
use std::process::Command;

fn daxcheck(args: &[&str], dir: &Path) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_daxcheck"))
        .args(args)
        .env("DAXCHECK_FAILURE_DIR", dir)
        .output()
        .expect("daxcheck runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn scratch(tag: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("daxcheck-why-{tag}-{}", std::process::id()))
}

/// The path after `replay: daxcheck replay ` in an output.
fn replay_path(out: &str) -> String {
    out.lines()
        .find_map(|l| l.trim().strip_prefix("replay: daxcheck replay "))
        .unwrap_or_else(|| panic!("no replay line in {out}"))
        .to_string()
}

#[test]
fn list_names_every_field_and_unknown_fields_are_one_line_errors() {
    let dir = scratch("list");
    let (code, out, _) = daxcheck(&["why", "--list"], &dir);
    assert_eq!(code, 0);
    for f in [
        "folio.share",
        "folio.mapping",
        "folio.index",
        "folio.refcount",
        "folio.pgmap",
        "page.compound_head",
        "entry.lock",
        "mapping.nrpages",
        "page.mapcount",
        "folio.large_mapcount",
    ] {
        assert!(
            out.lines().any(|l| l.starts_with(f)),
            "`{f}` missing from\n{out}"
        );
    }
    let (code, _, err) = daxcheck(&["why", "folio.shar"], &dir);
    assert_eq!(code, 2, "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("folio.share"), "close names: {err}");
    let (code, _, err) = daxcheck(&["why", "--without", "nosuch"], &dir);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("vma_is_dax@zap_huge_pmd"), "{err}");
}

#[test]
fn share_is_serialized_by_xa_lock_within_a_file_and_races_across_files() {
    let dir = scratch("share");
    let (code, out, err) = daxcheck(
        &[
            "why",
            "folio.share",
            "--scenario",
            "S3/pte",
            "--scenario",
            "S7/faults",
            "--explorer",
            "loom",
        ],
        &dir,
    );
    assert_eq!(code, 0, "{err}");
    let verdict = out
        .lines()
        .find(|l| l.starts_with("verdict: "))
        .expect("a verdict line");
    assert!(
        verdict.contains("serialized by xa_lock(mapping)"),
        "{verdict}"
    );
    assert!(
        verdict.contains("cross-file") && verdict.ends_with("UNSYNCHRONIZED"),
        "{verdict}"
    );
    assert!(out.contains(">>"), "the witness marks its accesses:\n{out}");
    // The witness replays exactly.
    let (code, rout, err) = daxcheck(&["replay", &replay_path(&out)], &dir);
    assert_eq!(code, 0, "{rout}{err}");
    assert!(rout.contains("replay reproduced the recorded execution exactly"));
    let (code, json, _) = daxcheck(
        &[
            "why",
            "folio.share",
            "--scenario",
            "S7/faults",
            "--explorer",
            "loom",
            "--format",
            "json",
        ],
        &dir,
    );
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(json.trim()).expect("one JSON value");
    assert_eq!(v["field"], "folio.share");
    assert!(v["pairs"]
        .as_array()
        .is_some_and(|p| p.iter().any(|p| p["race"] == true)));
}

#[test]
fn refcount_at_the_fault_increment_can_be_zero() {
    let dir = scratch("at");
    let (code, out, err) = daxcheck(
        &[
            "why",
            "folio.refcount",
            "--at",
            "dax_fault_iter",
            "--scenario",
            "S1/pte",
            "--explorer",
            "loom",
        ],
        &dir,
    );
    assert_eq!(code, 0, "{err}");
    let zero = out
        .lines()
        .find(|l| l.trim_start().starts_with("0 at folio_ref_inc:"))
        .unwrap_or_else(|| panic!("value 0 at the increment:\n{out}"));
    assert!(zero.contains("witness S1/pte"), "{zero}");
    let file = out
        .lines()
        .find_map(|l| {
            l.trim()
                .strip_prefix("value 0 at folio_ref_inc: daxcheck replay ")
        })
        .expect("a replay file for value 0");
    let (code, rout, _) = daxcheck(&["replay", file], &dir);
    assert_eq!(code, 0, "{rout}");
}

#[test]
fn check_tells_the_race_as_two_accesses() {
    let dir = scratch("race");
    let (_, out, _) = daxcheck(
        &[
            "check",
            "S7/faults",
            "--explorer",
            "loom",
            "-v",
            "--save-findings",
        ],
        &dir,
    );
    let v = out
        .lines()
        .find(|l| l.starts_with("VIOLATION data race: "))
        .expect("a race report");
    assert!(v.contains("page 8 folio->mapping"), "{v}");
    assert!(v.ends_with("no common lock; no happens-before"), "{v}");
    let step = |tag: &str| -> usize {
        let l = out
            .lines()
            .find(|l| l.trim_start().starts_with(tag))
            .unwrap_or_else(|| panic!("no `{tag}` line in\n{out}"));
        assert!(l.contains("locks held: "), "{l}");
        l.split_whitespace()
            .nth(2)
            .and_then(|n| n.parse().ok())
            .expect("a step number")
    };
    for s in [step("earlier:"), step("later:")] {
        assert!(
            out.lines()
                .any(|l| l.split_whitespace().next() == Some(&s.to_string())),
            "step {s} is a trace line"
        );
    }
    let (code, rout, _) = daxcheck(&["replay", &replay_path(&out)], &dir);
    assert_eq!(code, 0, "{rout}");
}

#[test]
fn both_vma_is_dax_guards_are_needed() {
    let dir = scratch("without");
    for (g, broken) in [
        ("vma_is_dax@zap_huge_pmd", "S3/pmd"),
        ("vma_is_dax@__split_huge_pmd_locked", "S3/pmd-dontneed"),
    ] {
        let (code, out, err) = daxcheck(
            &[
                "why",
                "--without",
                g,
                "--scenario",
                "S3",
                "--explorer",
                "loom",
            ],
            &dir,
        );
        assert_eq!(code, 0, "{err}");
        assert!(out.contains(&format!("broken in {broken}")), "{g}:\n{out}");
    }
}

#[test]
fn answers_md_is_what_daxcheck_answers_writes_now() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let dir = scratch("answers");
    let text = daxcheck::why::answers::render(&dir, "corpus/witnesses").expect("answers render");
    let checked_in = std::fs::read_to_string(root.join("ANSWERS.md")).expect("ANSWERS.md");
    assert!(
        text == checked_in,
        "ANSWERS.md is stale: run `cargo run --release -p daxcheck -- answers`"
    );
    for e in std::fs::read_dir(&dir).expect("witnesses written") {
        let p = e.expect("entry").path();
        let name = p.file_name().expect("name");
        let want = std::fs::read_to_string(root.join("corpus/witnesses").join(name))
            .unwrap_or_else(|_| panic!("{} is not checked in", name.to_string_lossy()));
        assert_eq!(
            std::fs::read_to_string(&p).expect("read"),
            want,
            "{} differs",
            name.to_string_lossy()
        );
    }
}

#[test]
fn every_checked_in_witness_replays() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let dir = scratch("witnesses");
    let mut n = 0;
    for e in std::fs::read_dir(root.join("corpus/witnesses")).expect("corpus/witnesses") {
        let p = e.expect("entry").path();
        let (code, out, err) = daxcheck(&["replay", &p.to_string_lossy()], &dir);
        assert_eq!(code, 0, "{}: {out}{err}", p.display());
        n += 1;
    }
    assert!(n >= 3, "ANSWERS.md's witnesses are checked in");
}

#[test]
fn the_default_check_names_the_field_and_both_accesses_of_the_race() {
    // An expected finding prints one line; for a race that line still
    // names the field and both accesses (issue 12: `daxcheck check S7`).
    let dir = scratch("race-one-line");
    let (code, out, _) = daxcheck(&["check", "S7/faults", "--explorer", "loom"], &dir);
    assert_eq!(code, 0, "{out}");
    let line = out
        .lines()
        .find(|l| l.contains("data race"))
        .unwrap_or_else(|| panic!("no race line in:\n{out}"));
    for want in [
        "page 8 folio->mapping",
        "earlier: step",
        "later: step",
        "no happens-before",
    ] {
        assert!(line.contains(want), "{want:?} missing from {line:?}");
    }
}
