//! `--shard I/N` splits a campaign; `daxcheck merge` of all the shards'
//! JSON outputs gives the unsharded run's JSON (timings aside) and verdict.

use std::process::Command;

use serde_json::Value;

fn daxcheck(args: &[&str], dir: &std::path::Path) -> (String, i32) {
    let out = Command::new(env!("CARGO_BIN_EXE_daxcheck"))
        .args(args)
        .current_dir(dir)
        .env_remove("DAXCHECK_FAILURE_DIR")
        .output()
        .expect("daxcheck runs");
    (
        String::from_utf8(out.stdout).expect("utf-8"),
        out.status.code().unwrap_or(-1),
    )
}

/// Timings differ from run to run; everything else must not.
fn untimed(mut v: Value) -> Value {
    match &mut v {
        Value::Object(m) => {
            m.remove("seconds");
            for x in m.values_mut() {
                *x = untimed(x.take());
            }
        }
        Value::Array(a) => {
            for x in a.iter_mut() {
                *x = untimed(x.take());
            }
        }
        _ => {}
    }
    v
}

fn lines(s: &str) -> Vec<Value> {
    s.lines()
        .map(|l| untimed(serde_json::from_str(l).expect("JSON line")))
        .collect()
}

fn union_equals_unsharded(args: &[&str], n: usize) {
    let dir = std::env::temp_dir().join(format!(
        "daxcheck-shard-test-{}-{}",
        std::process::id(),
        args[0]
    ));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let (whole, whole_rc) = daxcheck(args, &dir);
    let mut files = Vec::new();
    let mut runs = 0;
    for i in 1..=n {
        let shard = format!("{i}/{n}");
        let mut a = args.to_vec();
        a.extend(["--shard", &shard]);
        let (out, rc) = daxcheck(&a, &dir);
        assert!(rc <= 1, "shard {shard} of {args:?} exited {rc}");
        let f = dir.join(format!("shard-{i}.json"));
        std::fs::write(&f, &out).expect("write shard");
        runs += out.lines().count() - 1;
        files.push(f.display().to_string());
    }
    // Shards given in any order.
    files.reverse();
    let mut m = vec!["merge"];
    m.extend(files.iter().map(String::as_str));
    let (merged, merged_rc) = daxcheck(&m, &dir);
    assert_eq!(lines(&merged), lines(&whole), "merged JSON of {args:?}");
    assert_eq!(merged_rc, whole_rc, "merged verdict of {args:?}");
    if args[0] == "check" {
        assert_eq!(
            runs,
            whole.lines().count(),
            "every run in exactly one shard"
        );
    }
    // A missing or doubled shard is an error, not a smaller campaign.
    let (_, rc) = daxcheck(&m[..m.len() - 1], &dir);
    assert_eq!(rc, 2, "a shard missing");
    let mut doubled = m.clone();
    doubled.push(m[1]);
    let (_, rc) = daxcheck(&doubled, &dir);
    assert_eq!(rc, 2, "a shard given twice");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn check_shards_merge_to_the_unsharded_run() {
    union_equals_unsharded(
        &[
            "check",
            "S1",
            "S2",
            "S3",
            "S16",
            "--mutant",
            "M3",
            "--format",
            "json",
            "--jobs",
            "1",
            "--iterations",
            "300",
        ],
        3,
    );
}

#[test]
fn mutants_shards_merge_to_the_unsharded_matrix() {
    union_equals_unsharded(
        &[
            "mutants",
            "--scenario",
            "S1",
            "--scenario",
            "S2",
            "--scenario",
            "S4",
            "--explorer",
            "pct",
            "--format",
            "json",
            "--jobs",
            "1",
            "--iterations",
            "300",
        ],
        3,
    );
}

#[test]
fn bad_shards_are_refused() {
    let dir = std::env::temp_dir();
    for bad in ["0/2", "3/2", "x"] {
        let (_, rc) = daxcheck(&["check", "S1/pte", "--shard", bad], &dir);
        assert_eq!(rc, 2, "--shard {bad}");
    }
}
