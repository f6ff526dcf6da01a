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
fn bad_replay_files_exit_2_with_one_line() {
    let dir = std::env::temp_dir().join(format!("daxcheck-cli-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("tmp");
    let cases: [(&str, &[u8], &str); 4] = [
        ("empty.replay", b"", "not a daxcheck replay file"),
        ("binary.replay", &[0xff, 0xfe, 0x00, 0x01], "not UTF-8"),
        ("foreign.replay", b"failing schedule:\n910203\n", "not a daxcheck replay file"),
        (
            "other-scenario.replay",
            b"daxcheck-replay 1\nscenario S42\nvariant pte\nkernel v6.15\nmutant none\nexplorer pct depth=3 iterations=10 seed=1\nexecution 1\ncheck I1\nsteps 1\nschedule 0\ndigest 0\n",
            "S42",
        ),
    ];
    for (name, bytes, needle) in cases {
        let p = dir.join(name);
        std::fs::write(&p, bytes).expect("write");
        one_line_error(&["replay", p.to_str().expect("utf8 path")], needle);
    }
    one_line_error(
        &["replay", dir.join("missing.replay").to_str().expect("utf8")],
        "missing.replay",
    );
    let _ = std::fs::remove_dir_all(dir);
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
