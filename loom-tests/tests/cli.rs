//! The `daxcheck` command: exit codes, one-line errors, the report.

use std::process::Command;

fn daxcheck(args: &[&str]) -> (i32, String, String) {
    let dir = std::env::temp_dir().join(format!("daxcheck-cli-{}", std::process::id()));
    let out = Command::new(env!("CARGO_BIN_EXE_daxcheck"))
        .args(args)
        .env("DAXCHECK_FAILURE_DIR", &dir)
        .output()
        .expect("daxcheck runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn one_line_error(args: &[&str], needle: &str) {
    let (code, _, err) = daxcheck(args);
    assert_eq!(code, 2, "{args:?}: {err}");
    assert_eq!(
        err.trim().lines().count(),
        1,
        "{args:?}: one line, got {err}"
    );
    assert!(
        err.contains(needle),
        "{args:?}: `{err}` should name `{needle}`"
    );
}

#[test]
fn bad_usage_exits_2_with_one_line() {
    one_line_error(&["check", "S999"], "S999");
    one_line_error(&["check", "S1", "--explorer", "nosuch"], "nosuch");
    one_line_error(&["check", "S1", "--mutant", "M999"], "M999");
    one_line_error(&["check", "S1", "--kernel", "v9"], "v9");
    one_line_error(&["check", "S1/nosuch"], "nosuch");
    one_line_error(&["check", "--frobnicate"], "--frobnicate");
}

#[test]
fn check_prints_the_table_and_exits_0_when_scenarios_hold() {
    for ex in ["loom", "pct"] {
        let (code, out, err) =
            daxcheck(&["check", "S1", "S3", "--explorer", ex, "--iterations", "300"]);
        assert_eq!(code, 0, "{out}{err}");
        assert!(out.starts_with("scenario"), "{out}");
        let rows = out.lines().skip(1).take_while(|l| !l.is_empty()).count();
        assert!(rows >= 4, "{out}");
        assert_eq!(
            out.lines().filter(|l| l.ends_with(" ok")).count(),
            rows,
            "{out}"
        );
    }
}

#[test]
fn a_caught_mutant_exits_1_with_invariant_trace_and_replay_line() {
    let (code, out, _) = daxcheck(&["check", "S3", "--mutant", "M6", "--explorer", "pct"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("VIOLATION I"), "{out}");
    assert!(
        out.contains("trace (step, thread, kernel function: event):"),
        "{out}"
    );
    let replay = out
        .lines()
        .find_map(|l| l.strip_prefix("replay: daxcheck replay "))
        .expect("replay line");
    let (code, out2, _) = daxcheck(&["replay", replay]);
    assert_eq!(code, 0, "replay: {out2}");
    assert!(
        out2.contains("reproduced the recorded execution exactly"),
        "{out2}"
    );
}

#[test]
fn json_output_is_one_object_per_run() {
    let (code, out, err) = daxcheck(&["check", "S9", "--format", "json", "--jobs", "1"]);
    assert_eq!(code, 0, "{out}{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert!(!lines.is_empty());
    for l in lines {
        assert!(
            l.starts_with('{') && l.ends_with('}'),
            "one JSON object per line: {l}"
        );
        for key in [
            "\"scenario\":",
            "\"observed\":",
            "\"violation\":",
            "\"as_expected\":true",
        ] {
            assert!(l.contains(key), "{key} in {l}");
        }
    }
    one_line_error(&["check", "S1", "--format", "xml"], "xml");
}

#[test]
fn a_passing_default_check_is_short_and_ends_with_its_verdict() {
    let dir = std::env::temp_dir().join(format!("daxcheck-cli-default-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("tmp");
    let out = Command::new(env!("CARGO_BIN_EXE_daxcheck"))
        .arg("check")
        .current_dir(&dir)
        .env_remove("DAXCHECK_FAILURE_DIR")
        .output()
        .expect("daxcheck runs");
    let text = String::from_utf8_lossy(&out.stdout);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{text}{err}");
    let lines: Vec<&str> = text.lines().collect();
    let last = lines.last().copied().unwrap_or("");
    assert!(
        last.starts_with("ok: ") && last.contains("runs gave their expected result"),
        "verdict last: {last}"
    );
    // One row per run and at most one line per expected finding (no full
    // report), plus the header, a blank line and the verdict.
    let runs: usize = last
        .trim_start_matches("ok: ")
        .split(' ')
        .next()
        .and_then(|n| n.parse().ok())
        .expect("the verdict counts the runs");
    assert!(
        lines.len() <= 2 * runs + 3,
        "{} lines for {runs} runs:\n{text}",
        lines.len()
    );
    // No engine chatter, and a passing check writes no file.
    assert!(err.is_empty(), "stderr: {err}");
    let left: Vec<_> = std::fs::read_dir(&dir).expect("dir").collect();
    assert!(left.is_empty(), "a passing check wrote {left:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn two_checks_at_once_in_one_directory_write_whole_files() {
    let dir = std::env::temp_dir().join(format!("daxcheck-cli-two-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("tmp");
    let spawn = || {
        Command::new(env!("CARGO_BIN_EXE_daxcheck"))
            .args(["check", "S9", "S10", "--save-findings", "--jobs", "1"])
            .current_dir(&dir)
            .env_remove("DAXCHECK_FAILURE_DIR")
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("spawns")
    };
    let (mut a, mut b) = (spawn(), spawn());
    assert!(a.wait().expect("a").success());
    assert!(b.wait().expect("b").success());
    let saved: Vec<_> = std::fs::read_dir(dir.join("daxcheck-failures"))
        .expect("failure dir")
        .map(|e| e.expect("entry").path())
        .collect();
    assert_eq!(saved.len(), 4, "{saved:?}");
    for p in saved {
        assert_eq!(
            p.extension().and_then(|e| e.to_str()),
            Some("replay"),
            "no temp file left: {p:?}"
        );
        let (code, out, err) = daxcheck(&["replay", p.to_str().expect("utf8")]);
        assert_eq!(code, 0, "{p:?}: {out}{err}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_caught_mutant_reads_as_caught() {
    let (code, out, _) = daxcheck(&["check", "S3/pmd", "--mutant", "M6"]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.lines()
            .any(|l| l.contains("violated I1") && l.ends_with("caught")),
        "{out}"
    );
    let last = out.lines().last().unwrap_or("");
    assert!(last.starts_with("M6 caught by S3/pmd"), "{last}");
}

/// `--seeds N` makes N shuttle runs per variant and explorer, on consecutive
/// seeds, and leaves loom's single run alone; the runs of a seed are those
/// `--seed` alone gives.
#[test]
fn seeds_make_one_run_per_seed() {
    let args = ["check", "S3/pte", "--format", "json", "--jobs", "2"];
    let (code, out, err) = daxcheck(&[&args[..], &["--seed", "5", "--seeds", "3"]].concat());
    assert_eq!(code, 0, "{out}{err}");
    let explorers: Vec<&str> = out
        .lines()
        .filter_map(|l| l.split("\"explorer\":").nth(1))
        .map(|e| e.split('}').next().unwrap_or(""))
        .collect();
    assert_eq!(explorers.len(), 4, "loom once, PCT on seeds 5, 6, 7: {out}");
    assert_eq!(explorers.iter().filter(|e| e.contains("loom")).count(), 1);
    for seed in 5..8 {
        assert!(
            explorers
                .iter()
                .any(|e| e.contains(&format!("\"seed\":{seed}"))),
            "seed {seed} in {explorers:?}"
        );
        let (_, alone, _) = daxcheck(&[&args[..], &["--seed", &seed.to_string()]].concat());
        let pct = |s: &str| {
            s.lines()
                .filter(|l| l.contains(&format!("\"seed\":{seed}")))
                .map(|l| l.split("\"seconds\":").next().unwrap_or("").to_string())
                .collect::<Vec<_>>()
        };
        assert_eq!(pct(&out), pct(&alone), "seed {seed}");
    }
    one_line_error(&["check", "S3/pte", "--seeds", "0"], "--seeds");
}

/// `--explorer random` reports a window its scenario declares out of the
/// uniform random scheduler's reach as `out of reach`, by name in the
/// verdict, and does not fail on it; the same miss under another explorer
/// is still a failure.
#[test]
fn a_window_out_of_randoms_reach_is_reported_not_hidden() {
    let (code, out, _) = daxcheck(&[
        "check",
        "S7/pin-punch",
        "--explorer",
        "random",
        "--iterations",
        "50",
    ]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.lines()
            .any(|l| l.starts_with("S7/pin-punch") && l.ends_with("out of reach")),
        "{out}"
    );
    let last = out.lines().last().unwrap_or("");
    assert!(
        last.contains("out of that explorer's reach") && last.contains("S7/pin-punch random"),
        "{last}"
    );
    let (code, json, _) = daxcheck(&[
        "check",
        "S7/pin-punch",
        "--explorer",
        "random",
        "--iterations",
        "50",
        "--format",
        "json",
    ]);
    assert_eq!(code, 0, "{json}");
    assert!(json.contains("\"as_expected\":false"), "{json}");
    assert!(
        json.contains("\"out_of_reach\":\"T1's lockless walk"),
        "{json}"
    );
    // PCT finds it at execution 21: five executions miss it, and that miss
    // is a failure.
    let (code, out, _) = daxcheck(&[
        "check",
        "S7/pin-punch",
        "--explorer",
        "pct",
        "--iterations",
        "5",
    ]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("UNEXPECTED"), "{out}");
}

/// Issue 10 §4: the uniform random scheduler gives every expected result of
/// the unmutated catalogue at each scenario's budget, but for the windows
/// declared out of its reach, which it names.
#[test]
fn the_random_scheduler_gives_every_expected_result_or_names_its_reach() {
    let (code, out, _) = daxcheck(&["check", "--explorer", "random"]);
    assert_eq!(code, 0, "{out}");
    assert!(!out.contains("UNEXPECTED"), "{out}");
    let last = out.lines().last().unwrap_or("");
    assert!(last.starts_with("ok: "), "{last}");
}

/// The binary reuses loom's coroutine stacks (`stack_pool.rs`); no result
/// may depend on it: the same loom executions, labels and verdicts with the
/// pool off (`DAXCHECK_STACK_POOL=0`).
#[test]
fn loom_results_do_not_depend_on_the_stack_pool() {
    let run = |pool: &str| {
        let out = Command::new(env!("CARGO_BIN_EXE_daxcheck"))
            .args(["check", "S1", "S3/pte", "S7", "--explorer", "loom"])
            .args(["--format", "json", "--jobs", "1"])
            .env("DAXCHECK_STACK_POOL", pool)
            .env("DAXCHECK_FAILURE_DIR", std::env::temp_dir())
            .output()
            .expect("daxcheck runs");
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let runs: Vec<String> = text
            .lines()
            .map(
                |l| match (l.find("\"seconds\":"), l.find(",\"expected\":")) {
                    (Some(a), Some(b)) if a < b => format!("{}{}", &l[..a], &l[b..]),
                    _ => l.to_string(),
                },
            )
            .collect();
        (out.status.code(), runs)
    };
    let (on, off) = (run("1"), run("0"));
    assert_eq!(on.0, Some(0), "{:?}", on.1);
    assert!(on.1.len() >= 8, "{:?}", on.1);
    assert_eq!(on, off);
}
