//! The replay file: a versioned text file naming the scenario, variant,
//! kernel state and mutant, and the schedule (which thread made each step)
//! of a failing execution, with a digest of its trace. See `docs/replay.md`.
//!
//! The schedule is the model's own record, not loom's or shuttle's, so a
//! failure found by any explorer replays the same way: a guided shuttle run
//! that lets the recorded thread take each step.

use std::fmt::Write;

use daxcheck_core::trace::RecState;
use daxcheck_core::{KernelState, Mutant};

pub const MAGIC: &str = "daxcheck-replay";
pub const VERSION: u32 = 1;

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
    let mut out = Vec::new();
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
        if n == 0 || n > 10_000_000 {
            return Err(format!("bad run length in `{tok}`"));
        }
        out.extend(std::iter::repeat_n(t, n));
    }
    Ok(out)
}

impl ReplayFile {
    pub fn render(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "{MAGIC} {VERSION}");
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
        if ver != VERSION.to_string() {
            return Err(format!("replay file version `{ver}` is not supported (this daxcheck reads version {VERSION})"));
        }
        let mut get = std::collections::BTreeMap::new();
        for (n, line) in lines.enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let (k, v) = line
                .split_once(' ')
                .ok_or_else(|| format!("line {}: expected `key value`, got `{line}`", n + 2))?;
            const KEYS: [&str; 10] = [
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
            if !KEYS.contains(&k) {
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
        let digest = u64::from_str_radix(field("digest")?, 16)
            .map_err(|_| "bad `digest` value".to_string())?;
        Ok(ReplayFile {
            scenario: field("scenario")?.to_string(),
            variant: field("variant")?.to_string(),
            kernel,
            mutant,
            explorer: {
                let e = field("explorer")?;
                crate::explore::Explorer::parse_spec(e)?;
                e.to_string()
            },
            execution: field("execution")?
                .parse()
                .map_err(|_| "bad `execution` value".to_string())?,
            check: field("check")?.to_string(),
            schedule,
            digest,
        })
    }
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
                good.replace("daxcheck-replay 1", "daxcheck-replay 9"),
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
