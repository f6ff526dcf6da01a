//! `daxcheck replay` of a fuzz input: a raw input as libFuzzer saves it
//! (`--fuzz ops|schedules`, or told apart from a replay file by its first
//! line), or a replay file written from one (scenario `fuzz-ops` or
//! `fuzz-schedules`, the input as the variant, in hex).

use std::fmt::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use daxcheck_core::Config;

use super::render::render;
use super::run::{decode, run_program, FuzzRun, Program, Target, Verdict};
use crate::cmd::{out, Fail, Res};
use crate::explore::{explore, Explorer};
use crate::replay::{digest, ReplayFile, MAGIC};

fn fail(msg: impl std::fmt::Display) -> Res {
    Err(Fail(msg.to_string()))
}

/// The fingerprint of a fuzz replay file: an FNV-1a digest of the program
/// its input decodes to (world and operations, as the report prints them),
/// so a file made before the decoder changed is refused rather than
/// replayed as some other program.
pub fn fingerprint(p: &Program) -> u64 {
    p.header().bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ b as u64).wrapping_mul(0x0100_0000_01b3)
    })
}

pub fn hex(data: &[u8]) -> String {
    data.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

pub fn unhex(s: &str) -> Result<Vec<u8>, String> {
    if s.len() & 1 == 1 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err("the fuzz input (variant) is not hex".into());
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).map_err(|e| e.to_string()))
        .collect()
}

/// Which target a raw input belongs to: `--fuzz`, else a path component
/// named after a target (`fuzz/artifacts/schedules/crash-…`,
/// `corpus/fuzz/ops/…`), else `ops` for a file libFuzzer named
/// (`crash-…`, `timeout-…`, …). `None`: not a fuzz input.
fn target_of(file: &Path, fuzz: Option<&str>) -> Option<Result<Target, String>> {
    if let Some(t) = fuzz {
        return Some(Target::parse(t));
    }
    if let Some(t) = file
        .components()
        .filter_map(|c| Target::parse(&c.as_os_str().to_string_lossy()).ok())
        .next_back()
    {
        return Some(Ok(t));
    }
    let name = file.file_name()?.to_string_lossy();
    ["crash-", "timeout-", "leak-", "oom-", "slow-unit-"]
        .iter()
        .any(|p| name.starts_with(p))
        .then_some(Ok(Target::Ops))
}

/// The replay file of a fuzz run that violated a check.
pub fn replay_file(run: &FuzzRun, input: &[u8]) -> Option<ReplayFile> {
    let f = run.failure()?;
    Some(ReplayFile {
        scenario: run.program.target.scenario().into(),
        variant: hex(input),
        kernel: run.cfg.kernel,
        mutant: run.cfg.mutant,
        explorer: "guided".into(),
        execution: 1,
        check: f.violation.check.id(),
        schedule: f.rec.events.iter().map(|e| e.tid).collect(),
        digest: digest(&f.rec),
        fingerprint: Some(fingerprint(&run.program)),
    })
}

/// Save a fuzz run's replay file under `dir`; the name is stable.
pub fn save(run: &FuzzRun, input: &[u8], dir: &Path) -> Result<Option<PathBuf>, String> {
    let Some(rf) = replay_file(run, input) else {
        return Ok(None);
    };
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let path = dir.join(format!(
        "{}-{}-{}-{:08x}.replay",
        rf.scenario,
        rf.mutant.map_or("none", |m| m.name()),
        rf.kernel.name(),
        rf.digest as u32
    ));
    std::fs::write(&path, rf.render())
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(Some(path))
}

/// `daxcheck replay [--fuzz TARGET] FILE` when FILE is a fuzz input (see
/// `target_of`) or a fuzz replay file; `None` hands a catalogue replay file back to the
/// caller. Exit 0 when the run breaks no check or reproduces its replay
/// file, 1 when a raw input violates a check or a replay diverges, 2 on a
/// bad file. Pictures (`--html`, `--svg`) are drawn for catalogue replays
/// only.
pub fn replay(file: &Path, fuzz: Option<&str>, picture: bool) -> Option<Res> {
    let r = replay_fuzz(file, fuzz)?;
    if picture {
        return Some(fail(format!(
            "{}: --html and --svg draw catalogue replay files, not fuzz inputs",
            file.display()
        )));
    }
    Some(r)
}

fn replay_fuzz(file: &Path, fuzz: Option<&str>) -> Option<Res> {
    // An unreadable file is the catalogue replay's error to report.
    let data = match std::fs::read(file) {
        Ok(d) => d,
        Err(e) if fuzz.is_some() => return Some(fail(format!("{}: {e}", file.display()))),
        Err(_) => return None,
    };
    if data.starts_with(MAGIC.as_bytes()) && fuzz.is_none() {
        let text = String::from_utf8_lossy(&data);
        let rf = ReplayFile::parse(&text).ok()?;
        let target = match rf.scenario.as_str() {
            "fuzz-ops" => Target::Ops,
            "fuzz-schedules" => Target::Schedules,
            _ => return None,
        };
        return Some(replay_saved(file, target, &rf));
    }
    let target = match target_of(file, fuzz)? {
        Ok(t) => t,
        Err(e) => return Some(fail(e)),
    };
    let cfg = match super::run::config_from_env() {
        Ok(c) => c,
        Err(e) => return Some(fail(e)),
    };
    let program = match decode(target, &data) {
        Ok(p) => p,
        Err(e) => return Some(fail(format!("{}: {e}", file.display()))),
    };
    let run = run_program(program, &cfg);
    let saved = match save(&run, &data, &crate::run::failure_dir(false)) {
        Ok(p) => p,
        Err(e) => return Some(fail(e)),
    };
    if let Err(e) = out(&render(&run, saved.as_deref())) {
        return Some(Err(e));
    }
    Some(Ok(match run.verdict {
        Verdict::Holds => ExitCode::SUCCESS,
        _ => ExitCode::from(1),
    }))
}

/// Re-run a fuzz replay file under its recorded schedule.
fn replay_saved(file: &Path, target: Target, rf: &ReplayFile) -> Res {
    let input = match unhex(&rf.variant) {
        Ok(d) => d,
        Err(e) => return fail(format!("{}: {e}", file.display())),
    };
    let program = match decode(target, &input) {
        Ok(p) => p,
        Err(e) => return fail(format!("{}: {e}", file.display())),
    };
    if let Some(fp) = rf.fingerprint {
        let now = fingerprint(&program);
        if fp != now {
            return fail(format!(
                "{}: this file was made for a different decoding of its input (fingerprint {fp:016x}, the decoder's is {now:016x}): the fuzz decoder changed since",
                file.display()
            ));
        }
    }
    let cfg = Config {
        kernel: rf.kernel,
        mutant: rf.mutant,
        ..Config::default()
    };
    let outcome = explore(
        &program.model(&cfg),
        &Explorer::Replay {
            schedule: rf.schedule.clone(),
        },
    );
    let run = super::run::judge(program, &cfg, outcome);
    out(&render(&run, Some(file)))?;
    match run.failure() {
        Some(f) if digest(&f.rec) == rf.digest => {
            out(&format!(
                "\nreplay reproduced the recorded execution exactly ({} steps, digest {:016x})\n",
                rf.schedule.len(),
                rf.digest
            ))?;
            Ok(ExitCode::SUCCESS)
        }
        Some(_) => {
            out(&format!("\nreplay diverged: the trace differs from the recorded one (was the model changed since {} was written?)\n", file.display()))?;
            Ok(ExitCode::from(1))
        }
        None => {
            out(&format!(
                "\nreplay of {} ran to completion without a violation: the model no longer fails on this schedule\n",
                file.display()
            ))?;
            Ok(ExitCode::from(1))
        }
    }
}
