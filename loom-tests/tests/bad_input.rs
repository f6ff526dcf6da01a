//! Every bad input, on the command line or in a replay file, gets exit 2,
//! one line on stderr, no panic and no file written. One table.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const BASE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../corpus/replays/S3-pmd-M6-v6.15-8239406b.replay"
);

struct Ran {
    code: Option<i32>,
    out: String,
    err: String,
}

fn daxcheck(cwd: &Path, args: &[&str], env: &[(&str, &str)]) -> Ran {
    let mut c = Command::new(env!("CARGO_BIN_EXE_daxcheck"));
    c.args(args)
        .current_dir(cwd)
        .env_remove("DAXCHECK_FAILURE_DIR")
        .env_remove("DAXCHECK_LOOM_BOUND")
        .env_remove("DAXCHECK_PCT_DEPTH")
        .env_remove("DAXCHECK_ITERATIONS");
    for (k, v) in env {
        c.env(k, v);
    }
    let o = c.output().expect("daxcheck runs");
    Ran {
        code: o.status.code(),
        out: String::from_utf8_lossy(&o.stdout).into_owned(),
        err: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("daxcheck-bad-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("scratch dir");
    d
}

fn files_in(d: &Path) -> Vec<String> {
    let mut v: Vec<String> = walk(d)
        .into_iter()
        .map(|p| p.display().to_string())
        .collect();
    v.sort();
    v
}

fn walk(d: &Path) -> Vec<PathBuf> {
    let mut v = Vec::new();
    if let Ok(rd) = std::fs::read_dir(d) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                v.extend(walk(&p));
            }
            v.push(p);
        }
    }
    v
}

/// Exit 2, one line on stderr, no panic, nothing written in `cwd`.
fn refused(cwd: &Path, case: &str, args: &[&str], env: &[(&str, &str)]) {
    let before = files_in(cwd);
    let r = daxcheck(cwd, args, env);
    assert_eq!(
        r.code,
        Some(2),
        "{case}: exit 2\nstdout: {}\nstderr: {}",
        r.out,
        r.err
    );
    assert_eq!(
        r.err.trim().lines().count(),
        1,
        "{case}: one line, got {:?}",
        r.err
    );
    assert!(r.err.starts_with("daxcheck: "), "{case}: {}", r.err);
    assert!(!r.err.contains("panicked"), "{case}: {}", r.err);
    assert_eq!(files_in(cwd), before, "{case}: no file written");
}

/// (what is wrong, arguments, environment)
type Case<'a> = (&'a str, &'a [&'a str], &'a [(&'a str, &'a str)]);

#[test]
fn bad_command_lines() {
    let cwd = scratch("cli");
    let cases: &[Case] = &[
        ("unknown scenario", &["check", "S99"], &[]),
        ("unknown variant", &["check", "S3/xyz"], &[]),
        ("empty scenario", &["check", ""], &[]),
        (
            "unknown explorer",
            &["check", "S1", "--explorer", "foo"],
            &[],
        ),
        ("unknown mutant", &["check", "S1", "--mutant", "M99"], &[]),
        ("unknown kernel", &["check", "S1", "--kernel", "v6.14"], &[]),
        ("unknown format", &["check", "S1", "--format", "xml"], &[]),
        (
            "bound above loom's",
            &["check", "S1", "--bound", "256"],
            &[],
        ),
        (
            "bound absurd",
            &["check", "S1", "--bound", "18446744073709551615"],
            &[],
        ),
        (
            "zero iterations",
            &["check", "S1", "--iterations", "0"],
            &[],
        ),
        ("zero jobs", &["check", "S1", "--jobs", "0"], &[]),
        ("zero depth", &["check", "S1", "--depth", "0"], &[]),
        ("absurd depth", &["check", "S1", "--depth", "1000000"], &[]),
        ("zero seeds", &["bench-mutants", "--seeds", "0"], &[]),
        ("scenarios and --all", &["check", "S1/pte", "--all"], &[]),
        ("unknown flag", &["check", "--frobnicate"], &[]),
        ("replay without a file", &["replay"], &[]),
        ("unknown subcommand", &["nonsense"], &[]),
        (
            "mutants: unknown scenario",
            &["mutants", "--scenario", "S99"],
            &[],
        ),
        (
            "mutants: unknown mutant",
            &["mutants", "--mutant", "M99"],
            &[],
        ),
        (
            "bad bound variable",
            &["check", "S1"],
            &[("DAXCHECK_LOOM_BOUND", "abc")],
        ),
        (
            "zero iterations variable",
            &["check", "S1"],
            &[("DAXCHECK_ITERATIONS", "0")],
        ),
        (
            "zero depth variable",
            &["check", "S1"],
            &[("DAXCHECK_PCT_DEPTH", "0")],
        ),
    ];
    for (case, args, env) in cases {
        refused(&cwd, case, args, env);
    }
    // clap's whole message survives on its one line.
    let r = daxcheck(&cwd, &["replay"], &[]);
    assert!(r.err.contains("<FILE>"), "{}", r.err);
    let r = daxcheck(&cwd, &["check", "--explorer", "lom"], &[]);
    assert!(r.err.contains("tip:"), "{}", r.err);
    // Bare `daxcheck` is bad usage: help on stderr, exit 2.
    let r = daxcheck(&cwd, &[], &[]);
    assert_eq!(r.code, Some(2));
    assert!(r.err.contains("Usage:"), "{}", r.err);
    assert!(files_in(&cwd).is_empty());
    let _ = std::fs::remove_dir_all(cwd);
}

#[test]
fn bad_replay_files() {
    let cwd = scratch("replay");
    let inputs = scratch("replay-inputs");
    let good = std::fs::read(BASE).expect("corpus file");
    let text = String::from_utf8(good.clone()).expect("utf8");
    let edit = |from: &str, to: &str| {
        assert!(text.contains(from), "{from}");
        text.replacen(from, to, 1).into_bytes()
    };
    let mut cases: Vec<(String, Vec<u8>)> = vec![
        ("empty".into(), Vec::new()),
        (
            "garbage".into(),
            (0..4096u32)
                .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
                .collect(),
        ),
        (
            "text garbage".into(),
            b"failing schedule:\n910203\n".to_vec(),
        ),
        ("oversized".into(), {
            let mut v = good.clone();
            v.extend(std::iter::repeat_n(b'a', 2 << 20));
            v
        }),
        (
            "foreign version".into(),
            edit("daxcheck-replay 2", "daxcheck-replay 3"),
        ),
        (
            "relabelled scenario".into(),
            edit("scenario S3", "scenario S1"),
        ),
        (
            "unknown scenario".into(),
            edit("scenario S3", "scenario S42"),
        ),
        ("unknown variant".into(), edit("variant pmd", "variant xyz")),
        ("unknown mutant".into(), edit("mutant M6", "mutant M99")),
        ("unknown kernel".into(), edit("kernel v6.15", "kernel v9")),
        ("unknown check".into(), edit("check I1", "check bogus")),
        ("other check".into(), edit("check I1", "check I9")),
        ("thread out of range".into(), edit("3*47", "3*46 9")),
        ("execution zero".into(), edit("execution 1", "execution 0")),
        (
            "execution past the iterations".into(),
            edit("execution 1", "execution 5000"),
        ),
        (
            "execution absurd".into(),
            edit("execution 1", "execution 99999999999999999999"),
        ),
        (
            "steps beyond any execution".into(),
            edit(
                "steps 106\nschedule 0 1*49 2*9 3*47",
                "steps 1200106\nschedule 0 1*49 2*9 3*47 1*600000 2*600000",
            ),
        ),
        (
            "extra steps".into(),
            edit(
                "steps 106\nschedule 0 1*49 2*9 3*47",
                "steps 111\nschedule 0 1*49 2*9 3*52",
            ),
        ),
        (
            "explorer bound out of range".into(),
            edit(
                "explorer pct depth=3 iterations=2000 seed=1",
                "explorer loom bound=100000",
            ),
        ),
        ("explorer depth zero".into(), edit("depth=3", "depth=0")),
        (
            "digest truncated".into(),
            edit("digest 354c99498239406b", "digest 354c9949"),
        ),
        (
            "fingerprint flipped".into(),
            edit(
                "fingerprint d63dd83e4ca7c11f",
                "fingerprint d63dd83e4ca7c11e",
            ),
        ),
        (
            "duplicate key".into(),
            edit("check I1\n", "check I1\ncheck I1\n"),
        ),
        (
            "unknown key".into(),
            edit("check I1\n", "check I1\nbogus 1\n"),
        ),
    ];
    for cut in [
        1,
        17,
        60,
        100,
        150,
        180,
        200,
        good.len() - 20,
        good.len() - 2,
    ] {
        cases.push((format!("truncated at {cut}"), good[..cut].to_vec()));
    }
    // Flipped bytes: high bits anywhere (not UTF-8), low bits in the magic,
    // a key, a variant name.
    for (at, bit) in [
        (3, 0x80),
        (20, 0x80),
        (100, 0x80),
        (150, 0x80),
        (3, 1),
        (20, 1),
        (40, 1),
        (60, 1),
    ] {
        let mut v = good.clone();
        v[at] ^= bit;
        cases.push((format!("byte {at} flipped ({bit:#x})"), v));
    }
    for (i, (case, bytes)) in cases.iter().enumerate() {
        let p = inputs.join(format!("case{i}.replay"));
        std::fs::write(&p, bytes).expect("write case");
        refused(&cwd, case, &["replay", p.to_str().expect("utf8")], &[]);
    }
    refused(&cwd, "missing file", &["replay", "missing.replay"], &[]);
    refused(
        &cwd,
        "a directory",
        &["replay", inputs.to_str().expect("utf8")],
        &[],
    );
    // CRLF line endings are tolerated: the same file, reproduced.
    let crlf = inputs.join("crlf.replay");
    std::fs::write(&crlf, text.replace('\n', "\r\n")).expect("write");
    let r = daxcheck(&cwd, &["replay", crlf.to_str().expect("utf8")], &[]);
    assert_eq!(r.code, Some(0), "crlf: {}{}", r.out, r.err);
    let _ = std::fs::remove_dir_all(cwd);
    let _ = std::fs::remove_dir_all(inputs);
}

#[test]
fn closed_pipes_and_full_disks_end_without_a_panic() {
    let cwd = scratch("pipes");
    let commands: &[&[&str]] = &[
        &["list"],
        &["list", "--checks"],
        &["list", "--mutants"],
        &["check", "S9"],
        &["check", "S9", "--format", "json"],
        &["mutants", "--scenario", "S3", "--mutant", "M6"],
        &["replay", BASE],
    ];
    for args in commands {
        let full = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .expect("/dev/full");
        let o = Command::new(env!("CARGO_BIN_EXE_daxcheck"))
            .args(*args)
            .current_dir(&cwd)
            .stdout(full)
            .stderr(Stdio::piped())
            .output()
            .expect("runs");
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?} > /dev/full: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{args:?}: {err}");
        assert!(err.contains("No space left"), "{args:?}: {err}");
    }
    // `check ... | head -1`: the reader goes away after one line.
    let mut child = Command::new(env!("CARGO_BIN_EXE_daxcheck"))
        .args([
            "check",
            "S7",
            "S8",
            "S9",
            "S10",
            "S11",
            "S13",
            "S15",
            "S18",
            "--show-findings",
        ])
        .current_dir(&cwd)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawns");
    {
        use std::io::BufRead;
        let mut first = String::new();
        let mut r = std::io::BufReader::new(child.stdout.take().expect("stdout"));
        r.read_line(&mut first).expect("one line");
        assert!(first.starts_with("scenario"), "{first}");
    }
    let o = child.wait_with_output().expect("ends");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!err.contains("panicked"), "{err}");
    assert!(o.status.code() != Some(101), "{err}");
    let _ = std::fs::remove_dir_all(cwd);
}
