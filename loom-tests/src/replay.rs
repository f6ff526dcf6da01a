//! The replay file: a versioned text file naming the scenario, variant,
//! kernel state and mutant, and the schedule (which thread made each step)
//! of a failing execution, with a digest of its trace. See `docs/replay.md`.
//!
//! The schedule is the model's own record, not loom's or shuttle's, so a
//! failure found by any explorer replays the same way: a guided shuttle run
//! that lets the recorded thread take each step.

use std::fmt::Write;
use std::io::Read;
use std::path::Path;
use std::process::ExitCode;

use daxcheck_core::trace::RecState;
use daxcheck_core::{KernelState, Mutant};

use crate::catalogue::{catalogue, resolve, Scenario};
use crate::cmd::{out, Fail, Res};
use crate::explore::{explore, Explorer};
use crate::run;

pub const MAGIC: &str = "daxcheck-replay";
/// Version 2 adds the scenario fingerprint; version 1 files (no
/// fingerprint) are still read.
pub const VERSION: u32 = 2;
/// Replay files are small (run-length encoded); anything larger is not one.
pub const MAX_BYTES: u64 = 1 << 20;
/// Far above any execution: shuttle stops a livelock at 200,000 scheduling
/// steps (a few more model steps are recorded), loom at 100,000 branches.
pub const MAX_STEPS: usize = 1_000_000;
pub const MAX_EXECUTION: usize = 1_000_000_000;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReplayFile {
    pub scenario: String,
    pub variant: String,
    pub kernel: KernelState,
    pub mutant: Option<Mutant>,
    /// The explorer that found the failure, as `Explorer::spec` writes it.
    pub explorer: String,
    /// 1-based number of the failing execution in that explorer's run.
    pub execution: usize,
    /// The broken check's id (I8, WARN, deadlock...).
    pub check: String,
    pub schedule: Vec<u8>,
    pub digest: u64,
    /// [`fingerprint`] of the scenario variant it was made for (version 2).
    pub fingerprint: Option<u64>,
}

fn fnv(h: &mut u64, s: &str) {
    for b in s.bytes() {
        *h ^= b as u64;
        *h = h.wrapping_mul(0x0100_0000_01b3);
    }
}

/// A digest of a scenario variant's definition: its name, its threads'
/// operations and its world (files, blocks, processes). A schedule is only
/// meaningful for the definition it was recorded on.
pub fn fingerprint(sc: &Scenario, variant: usize) -> u64 {
    let v = &sc.variants[variant];
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    fnv(&mut h, &format!("{}/{}\n", sc.name, v.name));
    for t in &v.threads {
        fnv(&mut h, &format!("thread {}\n", t.name));
    }
    let st = &v.setup;
    fnv(
        &mut h,
        &format!("mms {} frames {}\n", st.mms, st.dax_frames),
    );
    for f in &st.files {
        fnv(&mut h, &format!("file pages {} size {}", f.pages, f.size));
        for b in &f.blocks {
            match b {
                Some(b) => fnv(
                    &mut h,
                    &format!(" {}{}", b.pfn, if b.shared { "s" } else { "" }),
                ),
                None => fnv(&mut h, " -"),
            }
        }
        fnv(&mut h, "\n");
    }
    h
}

/// FNV-1a over the rendered trace and the violation: two runs with the same
/// digest printed the same report.
pub fn digest(rec: &RecState) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut feed = |s: &str| {
        for b in s.bytes() {
            h ^= b as u64;
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    };
    for e in &rec.events {
        feed(&format!("{}|{}|{}\n", e.tid, e.func, e.what));
    }
    if let Some(v) = rec.violations.first() {
        feed(&v.headline());
    }
    h
}

/// Run-length encoding: `0*3 1*12 2`.
fn encode(s: &[u8]) -> String {
    let mut out = String::new();
    let mut i = 0;
    while i < s.len() {
        let mut j = i;
        while j < s.len() && s[j] == s[i] {
            j += 1;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        if j - i == 1 {
            let _ = write!(out, "{}", s[i]);
        } else {
            let _ = write!(out, "{}*{}", s[i], j - i);
        }
        i = j;
    }
    out
}

fn decode(s: &str) -> Result<Vec<u8>, String> {
    let mut out: Vec<u8> = Vec::new();
    for tok in s.split_whitespace() {
        let (t, n) = match tok.split_once('*') {
            Some((t, n)) => (
                t,
                n.parse::<usize>()
                    .map_err(|_| format!("bad run length in `{tok}`"))?,
            ),
            None => (tok, 1),
        };
        let t = t
            .parse::<u8>()
            .map_err(|_| format!("bad thread id in `{tok}`"))?;
        if n == 0 || n > MAX_STEPS {
            return Err(format!("bad run length in `{tok}`"));
        }
        if out.len() + n > MAX_STEPS {
            return Err(format!(
                "schedule longer than {MAX_STEPS} steps (no execution is that long)"
            ));
        }
        out.extend(std::iter::repeat_n(t, n));
    }
    Ok(out)
}

impl ReplayFile {
    pub fn render(&self) -> String {
        let mut s = String::new();
        // A file without a fingerprint is a version 1 file: written as
        // version 2 it would not parse back (found by the replay_file
        // fuzz target).
        let version = if self.fingerprint.is_some() {
            VERSION
        } else {
            1
        };
        let _ = writeln!(s, "{MAGIC} {version}");
        let _ = writeln!(s, "scenario {}", self.scenario);
        let _ = writeln!(s, "variant {}", self.variant);
        let _ = writeln!(s, "kernel {}", self.kernel.name());
        let _ = writeln!(s, "mutant {}", self.mutant.map_or("none", |m| m.name()));
        let _ = writeln!(s, "explorer {}", self.explorer);
        let _ = writeln!(s, "execution {}", self.execution);
        let _ = writeln!(s, "check {}", self.check);
        let _ = writeln!(s, "steps {}", self.schedule.len());
        let _ = writeln!(s, "schedule {}", encode(&self.schedule));
        let _ = writeln!(s, "digest {:016x}", self.digest);
        if let Some(fp) = self.fingerprint {
            let _ = writeln!(s, "fingerprint {fp:016x}");
        }
        s
    }

    /// Parse a replay file; every error is one line naming the problem.
    pub fn parse(text: &str) -> Result<ReplayFile, String> {
        let mut lines = text.lines();
        let first = lines.next().unwrap_or("");
        let Some(ver) = first.strip_prefix(MAGIC).map(str::trim) else {
            return Err(
                "not a daxcheck replay file (first line is not `daxcheck-replay <version>`)".into(),
            );
        };
        let version = match ver {
            "1" => 1,
            "2" => 2,
            _ => {
                return Err(format!(
                    "replay file version `{ver}` is not supported (this daxcheck reads versions 1 and {VERSION})"
                ))
            }
        };
        let mut get = std::collections::BTreeMap::new();
        for (n, line) in lines.enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let (k, v) = line
                .split_once(' ')
                .ok_or_else(|| format!("line {}: expected `key value`, got `{line}`", n + 2))?;
            const KEYS: [&str; 11] = [
                "fingerprint",
                "scenario",
                "variant",
                "kernel",
                "mutant",
                "explorer",
                "execution",
                "check",
                "steps",
                "schedule",
                "digest",
            ];
            if !KEYS.contains(&k) || (k == "fingerprint" && version < 2) {
                return Err(format!("line {}: unknown key `{k}`", n + 2));
            }
            if get.insert(k, v.trim()).is_some() {
                return Err(format!("line {}: key `{k}` given twice", n + 2));
            }
        }
        let field = |k: &str| {
            get.get(k)
                .copied()
                .ok_or_else(|| format!("truncated replay file: no `{k}` line"))
        };
        let kernel = KernelState::parse(field("kernel")?)?;
        let mutant = match field("mutant")? {
            "none" => None,
            m => Some(Mutant::parse(m)?),
        };
        let steps: usize = field("steps")?
            .parse()
            .map_err(|_| "bad `steps` value".to_string())?;
        let schedule = decode(field("schedule")?)?;
        if schedule.len() != steps {
            return Err(format!(
                "truncated replay file: schedule has {} steps, header says {steps}",
                schedule.len()
            ));
        }
        let hex16 = |k: &str| -> Result<u64, String> {
            let v = field(k)?;
            if v.len() != 16 || !v.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(format!("bad `{k}` value `{v}` (16 hex digits)"));
            }
            u64::from_str_radix(v, 16).map_err(|_| format!("bad `{k}` value `{v}`"))
        };
        let digest = hex16("digest")?;
        let fingerprint = if version >= 2 {
            Some(hex16("fingerprint")?)
        } else {
            None
        };
        let explorer = field("explorer")?;
        let how = crate::explore::Explorer::parse_spec(explorer)?;
        let execution: usize = field("execution")?
            .parse()
            .map_err(|_| "bad `execution` value".to_string())?;
        if execution == 0 || execution > MAX_EXECUTION {
            return Err(format!(
                "`execution {execution}` is out of range (1..={MAX_EXECUTION})"
            ));
        }
        if let Explorer::Pct { iterations, .. } | Explorer::Random { iterations, .. } = how {
            if execution > iterations {
                return Err(format!(
                    "`execution {execution}` is past the explorer's {iterations} iterations"
                ));
            }
        }
        let check = field("check")?;
        // `none`: a `daxcheck why` witness, an execution that breaks no check.
        if check != "none" && !crate::checks::is_check(check) {
            return Err(format!("unknown check `{check}`"));
        }
        Ok(ReplayFile {
            scenario: field("scenario")?.to_string(),
            variant: field("variant")?.to_string(),
            kernel,
            mutant,
            explorer: explorer.to_string(),
            execution,
            check: check.to_string(),
            schedule,
            digest,
            fingerprint,
        })
    }

    /// Check the file against the catalogue: the scenario and variant exist,
    /// the file was made for this definition of them, and every thread it
    /// names exists. Gives (scenario, variant) indices.
    pub fn validate(&self, cat: &[Scenario]) -> Result<(usize, usize), String> {
        let (si, vis) = resolve(cat, &format!("{}/{}", self.scenario, self.variant))?;
        let vi = vis[0];
        if let Some(fp) = self.fingerprint {
            let now = fingerprint(&cat[si], vi);
            if fp != now {
                return Err(format!(
                    "this file was made for a different definition of {}/{} (fingerprint {fp:016x}, the catalogue's is {now:016x}): relabelled, or the scenario changed since",
                    self.scenario, self.variant
                ));
            }
        }
        let threads = cat[si].variants[vi].threads.len();
        if let Some(&t) = self.schedule.iter().find(|&&t| t as usize > threads) {
            return Err(format!(
                "the schedule names thread {t}, but {}/{} has threads 1..={threads}",
                self.scenario, self.variant
            ));
        }
        Ok((si, vi))
    }
}

/// Read a replay file: at most [`MAX_BYTES`], UTF-8, parsed and validated
/// against the catalogue.
pub fn load(path: &Path, cat: &[Scenario]) -> Result<(ReplayFile, usize, usize), String> {
    let name = path.display();
    let file = std::fs::File::open(path).map_err(|e| format!("{name}: {e}"))?;
    let mut bytes = Vec::new();
    file.take(MAX_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("{name}: {e}"))?;
    if bytes.len() as u64 > MAX_BYTES {
        return Err(format!(
            "{name}: not a daxcheck replay file (larger than {MAX_BYTES} bytes)"
        ));
    }
    let text = String::from_utf8(bytes)
        .map_err(|_| format!("{name}: not a daxcheck replay file (not UTF-8 text)"))?;
    let rf = ReplayFile::parse(&text).map_err(|e| format!("{name}: {e}"))?;
    let (si, vi) = rf.validate(cat).map_err(|e| format!("{name}: {e}"))?;
    Ok((rf, si, vi))
}

/// How a file is replayed: loom runs re-run loom's deterministic search to
/// the failing execution (weak-memory values included); shuttle runs
/// impose the recorded schedule.
pub fn how(rf: &ReplayFile) -> Result<Explorer, String> {
    Ok(match Explorer::parse_spec(&rf.explorer)? {
        Explorer::Loom { bound } => Explorer::LoomReplay {
            bound,
            execution: rf.execution,
        },
        _ => Explorer::Replay {
            schedule: rf.schedule.clone(),
        },
    })
}

/// `daxcheck replay FILE`: 0 when the file reproduced its trace exactly,
/// 1 when the model no longer gives it, 2 for a file that is not a valid
/// replay of this catalogue.
pub fn run(path: &Path, html: Option<&Path>, svg: Option<&Path>) -> Res {
    let cat = catalogue();
    let (rf, si, vi) = load(path, &cat).map_err(Fail)?;
    let how = how(&rf).map_err(|e| Fail(format!("{}: {e}", path.display())))?;
    let m = run::model_of(&cat[si], vi, rf.kernel, rf.mutant);
    // A file made with access recording on has its plain reads as steps.
    daxcheck_core::access::set_mode(crate::why::mode_of_spec(&rf.explorer));
    let outcome = explore(&m, &how);
    daxcheck_core::access::set_mode(daxcheck_core::access::Mode::Off);
    if matches!(how, Explorer::LoomReplay { .. }) && outcome.executions < rf.execution {
        return Err(Fail(format!(
            "{}: `execution {}` is past the end of loom's search ({} executions)",
            path.display(),
            rf.execution,
            outcome.executions
        )));
    }
    let result = run::RunResult {
        scenario: cat[si].name,
        variant: cat[si].variants[vi].name,
        kernel: rf.kernel,
        mutant: rf.mutant,
        expected: cat[si].expected(vi, rf.kernel),
        explorer: how,
        outcome,
        out_of_reach: None,
    };
    let got: Vec<u8> = match (&result.outcome.failure, &result.outcome.last) {
        (Some(f), _) => f.rec.events.iter().map(|e| e.tid).collect(),
        (None, Some(r)) => r.events.iter().map(|e| e.tid).collect(),
        (None, None) => Vec::new(),
    };
    let diverged_at = got
        .iter()
        .zip(&rf.schedule)
        .position(|(a, b)| a != b)
        .map(|i| i + 1);
    let Some(f) = &result.outcome.failure else {
        if rf.check == "none" {
            // A `why` witness of an execution that breaks no check.
            return crate::why::replay_clean(&result, &rf, path);
        }
        out(&format!(
            "replay of {} ran to completion without a violation (schedule diverged at step {}): the model no longer fails on this schedule\n",
            path.display(),
            diverged_at.unwrap_or(got.len().min(rf.schedule.len()) + 1)
        ))?;
        if html.is_some() || svg.is_some() {
            eprintln!("daxcheck: no picture written: the replay did not fail");
        }
        return Ok(ExitCode::from(1));
    };
    out(&run::render_failure(&result, f, Some(path)))?;
    crate::picture::draw(&result, f, path, html, svg).map_err(Fail)?;
    let d = digest(&f.rec);
    if d != rf.digest {
        let at = match diverged_at {
            Some(s) => format!("the schedule diverged at step {s}"),
            None => "same schedule, different events".to_string(),
        };
        out(&format!(
            "\nreplay diverged: the trace differs from the recorded one ({at}; was the model changed since {} was written?)\n",
            path.display()
        ))?;
        return Ok(ExitCode::from(1));
    }
    // The same trace: the rest of the file must agree with it.
    if got.len() != rf.schedule.len() {
        return Err(Fail(format!(
            "{}: the file's schedule has {} steps, but the execution it records ends at step {}",
            path.display(),
            rf.schedule.len(),
            got.len()
        )));
    }
    let seen = f.violation.check.id();
    if seen != rf.check {
        return Err(Fail(format!(
            "{}: the file says `check {}`, but its schedule breaks {seen}",
            path.display(),
            rf.check
        )));
    }
    out(&format!(
        "\nreplay reproduced the recorded execution exactly ({} steps, digest {:016x})\n",
        rf.schedule.len(),
        rf.digest
    ))?;
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> ReplayFile {
        ReplayFile {
            scenario: "S3".into(),
            variant: "pmd".into(),
            kernel: KernelState::V6_15,
            mutant: Some(Mutant::M6),
            explorer: "pct depth=3 iterations=2000 seed=1".into(),
            execution: 2,
            check: "I9".into(),
            schedule: vec![0, 0, 0, 1, 1, 2, 1, 1, 1, 1],
            digest: 0xdead_beef,
            fingerprint: Some(0x0123_4567_89ab_cdef),
        }
    }

    #[test]
    fn round_trip() {
        let f = sample();
        assert_eq!(ReplayFile::parse(&f.render()), Ok(f));
    }

    #[test]
    fn malformed_inputs_get_one_line_errors() {
        let good = sample().render();
        let cases = [
            (String::new(), "not a daxcheck replay file"),
            ("hello world\n".to_string(), "not a daxcheck replay file"),
            (
                good.replace("daxcheck-replay 2", "daxcheck-replay 9"),
                "version `9`",
            ),
            (
                good.lines().take(5).collect::<Vec<_>>().join("\n"),
                "truncated",
            ),
            (good.replace("steps 10", "steps 11"), "truncated"),
            (
                good.replace("kernel v6.15", "kernel v9.9"),
                "unknown kernel state",
            ),
            (good.replace("mutant M6", "mutant M999"), "unknown mutant"),
            (
                good.replace("schedule 0*3", "schedule x*3"),
                "bad thread id",
            ),
            (
                good.replace("digest 00000000deadbeef", "digest zz"),
                "bad `digest`",
            ),
            (format!("{good}bogus 1\n"), "unknown key"),
            (
                good.replace("explorer pct", "explorer nosuch"),
                "unknown explorer",
            ),
            (
                good.replace("execution 2", "execution two"),
                "bad `execution`",
            ),
        ];
        for (text, want) in cases {
            let err = ReplayFile::parse(&text).expect_err(want);
            assert!(err.contains(want), "`{err}` should mention `{want}`");
            assert!(!err.contains('\n'), "error is one line: {err}");
        }
    }
}
