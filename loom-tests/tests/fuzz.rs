//! The fuzz decoder and runner on stable: every kept input under
//! `corpus/fuzz/<target>/` replays to the outcome its `.expect` sidecar
//! records; a fixed-seed smoke run per target; malformed and truncated
//! inputs are errors, never panics.

use std::path::{Path, PathBuf};

use daxcheck::fuzz::known;
use daxcheck::fuzz::run::{decode, run_input, MAX_INPUT};
use daxcheck::fuzz::{Target, Verdict};
use daxcheck::replay::ReplayFile;
use daxcheck_core::{Config, KernelState, Mutant};

fn corpus_dir(target: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../corpus/fuzz")
        .join(target)
}

/// A sidecar: `mutant M6`, `kernel v6.15`, and one `expect` line:
/// `holds`, `violated <check>`, `known <name>`, `error <words>` (ops and
/// schedules), or `replay`, `error <words>` (replay_file). `#` comments.
struct Expect {
    cfg: Config,
    expect: String,
}

fn sidecar(path: &Path) -> Expect {
    let side = PathBuf::from(format!("{}.expect", path.display()));
    let text = std::fs::read_to_string(&side)
        .unwrap_or_else(|e| panic!("{}: no sidecar ({e})", side.display()));
    let mut cfg = Config::default();
    let mut expect = None;
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (k, v) = line.split_once(' ').unwrap_or((line, ""));
        match k {
            "mutant" => cfg.mutant = Some(Mutant::parse(v).unwrap()),
            "kernel" => cfg.kernel = KernelState::parse(v).unwrap(),
            "expect" => expect = Some(v.to_string()),
            _ => panic!("{}: unknown sidecar line `{line}`", side.display()),
        }
    }
    Expect {
        cfg,
        expect: expect.unwrap_or_else(|| panic!("{}: no `expect` line", side.display())),
    }
}

fn inputs(target: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(corpus_dir(target))
        .unwrap_or_else(|e| panic!("corpus/fuzz/{target}: {e}"))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_none_or(|x| x != "expect"))
        .collect();
    v.sort();
    v
}

fn outcome(target: Target, data: &[u8], cfg: &Config) -> String {
    match run_input(target, data, cfg) {
        Ok(r) => r.verdict.word(),
        Err(e) => format!("error {e}"),
    }
}

fn check_corpus(target: Target) {
    let files = inputs(target.name());
    assert!(!files.is_empty(), "corpus/fuzz/{} is empty", target.name());
    let mut crashes = 0;
    for f in files {
        let e = sidecar(&f);
        let data = std::fs::read(&f).unwrap();
        let got = outcome(target, &data, &e.cfg);
        let ok = match e.expect.strip_prefix("error ") {
            Some(words) => got.starts_with("error ") && got.contains(words),
            None => got == e.expect,
        };
        assert!(
            ok,
            "{}: expected `{}`, got `{got}` (mutant {:?})",
            f.display(),
            e.expect,
            e.cfg.mutant
        );
        if got.starts_with("violated") && e.cfg.mutant.is_some() {
            crashes += 1;
        }
    }
    assert!(
        crashes > 0,
        "corpus/fuzz/{} keeps no crash input for a mutant",
        target.name()
    );
}

#[test]
fn ops_corpus_replays() {
    check_corpus(Target::Ops);
}

#[test]
fn schedules_corpus_replays() {
    check_corpus(Target::Schedules);
}

#[test]
fn replay_file_corpus_parses() {
    let files = inputs("replay_file");
    assert!(!files.is_empty());
    for f in files {
        let e = sidecar(&f);
        let text = String::from_utf8_lossy(&std::fs::read(&f).unwrap()).into_owned();
        let got = match ReplayFile::parse(&text) {
            Ok(_) => "replay".to_string(),
            Err(err) => format!("error {err}"),
        };
        let ok = match e.expect.strip_prefix("error ") {
            Some(words) => got.starts_with("error ") && got.contains(words),
            None => got == e.expect,
        };
        assert!(ok, "{}: expected `{}`, got `{got}`", f.display(), e.expect);
        daxcheck::fuzz::target::replay_file(text.as_bytes());
    }
}

/// xorshift64: the smoke run's fixed-seed inputs.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn bytes(&mut self, max: usize) -> Vec<u8> {
        let n = (self.next() % max as u64) as usize;
        (0..n).map(|_| self.next() as u8).collect()
    }
}

/// A few thousand random inputs per model target on the unmutated model:
/// each decodes or is refused, runs, and breaks no check that a known
/// finding does not explain.
fn smoke(target: Target, n: usize) {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let cfg = Config::default();
    let mut ran = 0;
    for _ in 0..n {
        let data = rng.bytes(160);
        let Ok(r) = run_input(target, &data, &cfg) else {
            continue;
        };
        ran += 1;
        known::count(&r.program, &r.verdict);
        if let Verdict::Violated(_) = r.verdict {
            panic!(
                "unexplained violation on the unmutated model:\n{}",
                daxcheck::fuzz::render::render(&r, None)
            );
        }
    }
    assert!(ran > n / 2, "only {ran} of {n} random inputs decoded");
    eprintln!(
        "{}: {ran} runs; known findings reached: {}",
        target.name(),
        known::summary()
    );
}

#[test]
fn ops_smoke() {
    smoke(Target::Ops, 3000);
}

#[test]
fn schedules_smoke() {
    smoke(Target::Schedules, 3000);
}

#[test]
fn replay_file_smoke() {
    let mut rng = Rng(7);
    let good = std::fs::read_to_string(corpus_dir("replay_file").join("s3-pmd-m6.replay")).unwrap();
    for _ in 0..5000 {
        // Random bytes, and the good file with random bytes changed.
        daxcheck::fuzz::target::replay_file(&rng.bytes(200));
        let mut b = good.clone().into_bytes();
        for _ in 0..1 + rng.next() % 4 {
            let i = (rng.next() % b.len() as u64) as usize;
            b[i] = rng.next() as u8;
        }
        daxcheck::fuzz::target::replay_file(&b);
    }
}

#[test]
fn malformed_inputs_are_errors() {
    for t in [Target::Ops, Target::Schedules] {
        let cases: [(Vec<u8>, &str); 3] = [
            (vec![], "empty"),
            (vec![1, 2, 3], "truncated fuzz input: the world needs"),
            (vec![0; MAX_INPUT + 1], "longer than"),
        ];
        for (data, want) in cases {
            let e = decode(t, &data).expect_err(want);
            assert!(e.contains(want), "`{e}` should say `{want}`");
            assert!(!e.contains('\n'));
        }
        // Every prefix of every kept input decodes or is refused.
        for f in inputs(t.name()) {
            let data = std::fs::read(&f).unwrap();
            for n in 0..=data.len() {
                let _ = decode(t, &data[..n]);
            }
        }
    }
}

#[test]
fn the_input_alone_fixes_the_run() {
    let mut rng = Rng(11);
    let cfg = Config::default();
    for _ in 0..50 {
        let data = rng.bytes(160);
        let (Ok(a), Ok(b)) = (
            run_input(Target::Schedules, &data, &cfg),
            run_input(Target::Schedules, &data, &cfg),
        ) else {
            continue;
        };
        let trace = |r: &daxcheck::fuzz::run::FuzzRun| {
            r.record().map(daxcheck::replay::digest).unwrap_or(0)
        };
        assert_eq!(trace(&a), trace(&b));
        assert_eq!(a.verdict, b.verdict);
    }
}

#[test]
fn cli_replays_a_fuzz_crash_and_its_saved_replay_file() {
    let bin = env!("CARGO_BIN_EXE_daxcheck");
    let dir = std::env::temp_dir().join(format!("daxcheck-fuzz-cli-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let input = corpus_dir("ops").join("m6-crash");
    let out = std::process::Command::new(bin)
        .args(["replay", "--fuzz", "ops"])
        .arg(&input)
        .env("DAXCHECK_MUTANT", "M6")
        .env("DAXCHECK_FAILURE_DIR", &dir)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    for want in [
        "T1: mm0 read then write fault A[0] (mkwrite)",
        "Result: violated I9",
        "VIOLATION I9 (split only when idle)",
        "trace (step, thread, kernel function: event):",
        "zap_huge_pmd",
        "replay: daxcheck replay",
    ] {
        assert!(text.contains(want), "missing `{want}` in\n{text}");
    }
    // The saved replay file reproduces the run exactly, with no variable set.
    let saved = std::fs::read_dir(&dir)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let again = std::process::Command::new(bin)
        .arg("replay")
        .arg(&saved)
        .env_remove("DAXCHECK_MUTANT")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&again.stdout);
    assert_eq!(again.status.code(), Some(0), "{text}");
    assert!(text.contains("replay reproduced the recorded execution exactly"));
    // A truncated input is a one-line error and exit 2.
    let bad = std::process::Command::new(bin)
        .args(["replay", "--fuzz", "ops"])
        .arg(corpus_dir("ops").join("truncated"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&bad.stderr);
    assert_eq!(bad.status.code(), Some(2));
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("truncated fuzz input"));
    let _ = std::fs::remove_dir_all(&dir);
}

/// The model functions (`cx.enter("…")` in core/src) that no trace of the
/// inputs in `DAXCHECK_FUZZ_CORPUS=<dir>:<target>` reaches, next to those
/// one schedule of every catalogue variant reaches. A function
/// counts as reached when an event is recorded inside it (BENCHMARKS.md,
/// "Coverage"). Run by hand after a campaign:
/// `DAXCHECK_FUZZ_CORPUS=fuzz/corpus/ops:ops cargo test --release -p daxcheck --test fuzz -- --ignored --nocapture`
#[test]
#[ignore]
fn coverage_of_a_campaign() {
    use std::collections::BTreeSet;
    let spec = std::env::var("DAXCHECK_FUZZ_CORPUS").expect("DAXCHECK_FUZZ_CORPUS=<dir>:<target>");
    let (dir, target) = spec.rsplit_once(':').expect("<dir>:<target>");
    let target = Target::parse(target).unwrap();
    let mut all = BTreeSet::new();
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../core/src");
    let mut stack = vec![src];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
                continue;
            }
            let text = std::fs::read_to_string(&p).unwrap();
            for part in text.split("enter(").skip(1) {
                let names = part.split(')').next().unwrap_or("");
                for n in names.split('"').skip(1).step_by(2) {
                    all.insert(n.to_string());
                }
            }
        }
    }
    let mut reached = BTreeSet::new();
    let mut n = 0;
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(dir);
    for e in std::fs::read_dir(&dir).unwrap() {
        let data = std::fs::read(e.unwrap().path()).unwrap();
        if let Ok(r) = run_input(target, &data, &Config::default()) {
            n += 1;
            for ev in &r.record().unwrap().events {
                reached.insert(ev.func.to_string());
            }
        }
    }
    let mut cat = BTreeSet::new();
    for sc in daxcheck::catalogue::catalogue() {
        for v in 0..sc.variants.len() {
            let m = daxcheck::run::model_of(&sc, v, KernelState::V6_15, None);
            // One guided run with no recorded schedule: each thread runs on.
            let o = daxcheck::explore::explore(
                &m,
                &daxcheck::explore::Explorer::Replay {
                    schedule: Vec::new(),
                },
            );
            if let Some(rec) = o.failure.map(|f| f.rec).or(o.last) {
                for ev in &rec.events {
                    cat.insert(ev.func.to_string());
                }
            }
        }
    }
    let missed: Vec<String> = all
        .iter()
        .filter(|f| !reached.contains(*f))
        .map(|f| {
            if cat.contains(f) {
                format!("{f} (the catalogue reaches it)")
            } else {
                f.clone()
            }
        })
        .collect();
    eprintln!(
        "{} inputs of {}: {} of {} model functions reached ({} by the catalogue); never reached:\n  {}",
        n,
        dir.display(),
        all.iter().filter(|f| reached.contains(*f)).count(),
        all.len(),
        cat.len(),
        missed.join("\n  ")
    );
}
