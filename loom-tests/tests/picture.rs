//! The picture of a failing execution, opened in a real browser: every
//! corpus replay is drawn with `daxcheck replay FILE --html --svg` and loaded
//! in headless Chromium, which must run the page's script to the end with no
//! console message, no script error and no blocked load, and find one lane
//! per thread. The README's example (S3/pmd with M6) and the S7 race are
//! also screenshot at a laptop's 1440x900, and the shots must not be blank.
//!
//! Without Chromium the test says so and skips; under CI (`CI` set) a
//! missing Chromium fails it, since `.ci/run` installs Debian's `chromium`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../corpus/replays");

fn chromium() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("CHROMIUM") {
        return Some(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH")?;
    for dir in std::env::split_paths(&path) {
        for name in ["chromium", "chromium-browser", "google-chrome"] {
            let p = dir.join(name);
            if p.is_file() {
                return Some(p);
            }
        }
    }
    None
}

/// A fresh directory of its own for this test process.
fn scratch(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("daxcheck-picture-{}-{tag}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

/// Run a command to its end, or kill it after `limit`; (status ok, stdout, stderr).
fn run(mut cmd: Command, limit: Duration) -> (bool, String, String) {
    static RUNS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = RUNS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let out_path = scratch(&format!("run-{n}"));
    let (o, e) = (out_path.join("stdout"), out_path.join("stderr"));
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&o).expect("stdout file"))
        .stderr(std::fs::File::create(&e).expect("stderr file"))
        .spawn()
        .expect("spawn");
    let start = Instant::now();
    let ok = loop {
        if let Some(st) = child.try_wait().expect("wait") {
            break st.success();
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{cmd:?} did not finish within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let out = std::fs::read_to_string(&o).unwrap_or_default();
    let err = std::fs::read_to_string(&e).unwrap_or_default();
    let _ = std::fs::remove_dir_all(&out_path);
    (ok, out, err)
}

struct Drawn {
    html: PathBuf,
    svg: PathBuf,
    /// `daxcheck replay`'s own report.
    report: String,
}

fn draw(replay: &Path, dir: &Path) -> Drawn {
    let stem = replay.file_stem().expect("file name").to_string_lossy();
    let html = dir.join(format!("{stem}.html"));
    let svg = dir.join(format!("{stem}.svg"));
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_daxcheck"));
    cmd.arg("replay")
        .arg(replay)
        .arg("--html")
        .arg(&html)
        .arg("--svg")
        .arg(&svg);
    let (ok, report, err) = run(cmd, Duration::from_secs(300));
    assert!(
        ok,
        "daxcheck replay {} failed: {report}{err}",
        replay.display()
    );
    Drawn { html, svg, report }
}

const FLAGS: [&str; 8] = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
];

/// Open a page; (the DOM after its scripts ran, the console messages).
fn open(chrome: &Path, page: &Path, dir: &Path, extra: &[String]) -> (String, Vec<String>) {
    let profile = scratch(&format!(
        "profile-{}",
        page.file_name().unwrap_or_default().to_string_lossy()
    ));
    let mut cmd = Command::new(chrome);
    cmd.args(FLAGS)
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(["--enable-logging=stderr", "--v=0"])
        .args(extra)
        .arg(format!(
            "file://{}",
            page.canonicalize().expect("page").display()
        ))
        .current_dir(dir);
    let (ok, dom, log) = run(cmd, Duration::from_secs(120));
    let _ = std::fs::remove_dir_all(&profile);
    assert!(ok, "chromium failed on {}: {log}", page.display());
    let console = log
        .lines()
        .filter(|l| l.contains(":CONSOLE"))
        .map(str::to_string)
        .collect();
    (dom, console)
}

/// The value of `attr` on the element with id `id`, from a dumped DOM.
fn attr(dom: &str, id: &str, attr: &str) -> Option<String> {
    let at = dom.find(&format!("id=\"{id}\""))?;
    let start = dom[..at].rfind('<')?;
    let end = start + dom[start..].find('>')?;
    let tag = &dom[start..end];
    let key = format!("{attr}=\"");
    let v = tag.find(&key)? + key.len();
    Some(tag[v..v + tag[v..].find('"')?].to_string())
}

/// Threads listed in the text report.
fn threads_in(report: &str) -> usize {
    report
        .lines()
        .skip_while(|l| *l != "threads:")
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .count()
}

/// "seen by ... after step N".
fn seen_step(report: &str) -> usize {
    report
        .lines()
        .find_map(|l| l.trim().strip_prefix("seen by "))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|n| n.parse().ok())
        .expect("the report names the step where the violation was seen")
}

/// Checks one page in the browser; returns the marked steps ("59:seen ...").
fn check_page(chrome: &Path, d: &Drawn, dir: &Path) -> String {
    let html = std::fs::read_to_string(&d.html).expect("page written");
    // Self-contained: the only URL is the SVG namespace.
    let urls = html.matches("://").count();
    let ns = html.matches("http://www.w3.org/2000/svg").count();
    assert_eq!(urls, ns, "{} refers to a URL", d.html.display());
    let (dom, console) = open(chrome, &d.html, dir, &["--dump-dom".to_string()]);
    assert!(
        console.is_empty(),
        "{}: console messages: {console:#?}",
        d.html.display()
    );
    assert_eq!(
        attr(&dom, "daxcheck-status", "data-ready").as_deref(),
        Some("1"),
        "{}: the page's script did not run to its end",
        d.html.display()
    );
    assert_eq!(
        attr(&dom, "daxcheck-status", "data-errors").as_deref(),
        Some("0"),
        "{}: script errors or blocked loads: {dom}",
        d.html.display()
    );
    let lanes: usize = attr(&dom, "daxcheck-status", "data-lanes")
        .and_then(|n| n.parse().ok())
        .expect("lane count");
    assert_eq!(
        lanes,
        threads_in(&d.report),
        "{}: one lane per thread",
        d.html.display()
    );
    let seen = seen_step(&d.report);
    let marked = attr(&dom, "daxcheck-status", "data-marked").unwrap_or_default();
    if seen > 0 {
        assert!(
            marked.split(' ').any(|m| m == format!("{seen}:seen")),
            "{}: step {seen} is not marked as where the violation was seen (marked: {marked})",
            d.html.display()
        );
    }
    // The SVG alone parses (an XML error shows as a parsererror element).
    let (svg_dom, svg_console) = open(chrome, &d.svg, dir, &["--dump-dom".to_string()]);
    assert!(
        svg_console.is_empty() && !svg_dom.contains("parsererror") && svg_dom.contains("<svg"),
        "{} does not load as SVG: {svg_console:?}",
        d.svg.display()
    );
    marked
}

/// Screenshot at 1440x900; asserts it is not blank.
fn screenshot(chrome: &Path, page: &Path, dir: &Path, png: &Path) {
    open(
        chrome,
        page,
        dir,
        &[
            format!("--screenshot={}", png.display()),
            "--window-size=1440,900".to_string(),
            "--hide-scrollbars".to_string(),
        ],
    );
    let file = std::fs::File::open(png).expect("screenshot written");
    let mut dec = png::Decoder::new(std::io::BufReader::new(file));
    dec.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut reader = dec.read_info().expect("a PNG");
    let mut buf = vec![0; reader.output_buffer_size().expect("size")];
    let info = reader.next_frame(&mut buf).expect("a frame");
    assert_eq!((info.width, info.height), (1440, 900), "window size");
    let px = info.color_type.samples();
    let mut colours = std::collections::HashSet::new();
    let mut ink = 0usize;
    for p in buf[..info.buffer_size()].chunks(px) {
        let rgb = (p[0], p[1], p[2]);
        colours.insert(rgb);
        if rgb.0 < 200 || rgb.1 < 200 || rgb.2 < 200 {
            ink += 1;
        }
    }
    let total = (info.width * info.height) as usize;
    assert!(
        colours.len() >= 32 && ink * 50 >= total,
        "{} looks blank: {} colours, {ink} of {total} pixels inked",
        png.display(),
        colours.len()
    );
}

#[test]
fn every_corpus_replay_draws_in_chromium() {
    let Some(chrome) = chromium() else {
        if std::env::var_os("CI").is_some() {
            panic!("chromium is not installed: CI must run this test (.ci/run installs Debian's `chromium`)");
        }
        // Straight to the process's stderr: the test harness would hide an
        // eprintln! of a passing test.
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED picture test: no chromium on PATH (install Debian's `chromium`, or set CHROMIUM=/path/to/chrome)"
        );
        return;
    };
    let dir = scratch("pages");
    let mut replays: Vec<PathBuf> = std::fs::read_dir(CORPUS)
        .expect("corpus/replays")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "replay"))
        .collect();
    replays.sort();
    assert!(replays.len() >= 2, "the corpus holds replays");
    let mut shot = 0;
    for r in &replays {
        let name = r
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        let d = draw(r, &dir);
        let marked = check_page(&chrome, &d, &dir);
        if name.starts_with("S3-pmd-M6-") || name.starts_with("S7-faults-") {
            screenshot(&chrome, &d.html, &dir, &dir.join(format!("{name}.png")));
            shot += 1;
        }
        if name.starts_with("S7-faults-") {
            // A race: the report's step and an earlier access are marked.
            let seen = seen_step(&d.report);
            assert!(
                marked.split(' ').any(|m| m
                    .strip_suffix(":race")
                    .and_then(|n| n.parse::<usize>().ok())
                    .is_some_and(|n| n < seen)),
                "{name}: no earlier racing access marked (marked: {marked})"
            );
        }
    }
    assert_eq!(
        shot, 2,
        "the README example and the S7 race were screenshot"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn check_prints_the_drawing_command_and_writes_pages() {
    let dir = scratch("check");
    let failures = dir.join("failures");
    let pages = dir.join("pages");
    let check = |extra: &[&str]| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_daxcheck"));
        cmd.args(["check", "S3/pmd", "--mutant", "M6", "--explorer", "pct"])
            .args(extra)
            .env("DAXCHECK_FAILURE_DIR", &failures);
        let (_, out, _) = run(cmd, Duration::from_secs(300));
        let lines: Vec<String> = out.lines().map(str::to_string).collect();
        let at = lines
            .iter()
            .position(|l| l.starts_with("replay: daxcheck replay "))
            .unwrap_or_else(|| panic!("no replay line in {out}"));
        let replay = lines[at]["replay: daxcheck replay ".len()..].to_string();
        (replay, lines.get(at + 1).cloned().unwrap_or_default())
    };
    let (replay, line) = check(&[]);
    let page = Path::new(&replay).with_extension("html");
    assert_eq!(
        line,
        format!(
            "picture: daxcheck replay {replay} --html {}",
            page.display()
        )
    );
    let pages_arg = pages.display().to_string();
    let (replay, line) = check(&["--html-dir", &pages_arg]);
    let stem = Path::new(&replay)
        .file_stem()
        .expect("name")
        .to_string_lossy()
        .into_owned();
    let written = pages.join(format!("{stem}.html"));
    assert_eq!(line, format!("picture: {}", written.display()));
    let html = std::fs::read_to_string(&written).expect("page written");
    assert!(html.contains("VIOLATION I1 (refcount accounting)"));
    let _ = std::fs::remove_dir_all(&dir);
}

/// The picture marks the same cause step as the text report (the README's
/// example: M6's `zap_huge_pmd`, which cleared the PMD and dropped no
/// reference). Needs no browser.
#[test]
fn the_picture_marks_the_reports_cause_step() {
    let dir = scratch("cause");
    let replay = std::fs::read_dir(CORPUS)
        .expect("corpus/replays")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("S3-pmd-M6-"))
        })
        .expect("the S3/pmd M6 replay in the corpus");
    let d = draw(&replay, &dir);
    let cause = d
        .report
        .lines()
        .find_map(|l| l.trim_start().strip_prefix("cause: step "))
        .and_then(|r| r.split_whitespace().next())
        .unwrap_or_else(|| panic!("the report names no cause:\n{}", d.report));
    let svg = std::fs::read_to_string(&d.svg).expect("svg");
    assert!(
        svg.contains(&format!("cause: step {cause}<")),
        "the picture does not mark cause step {cause}"
    );
    let html = std::fs::read_to_string(&d.html).expect("html");
    assert!(
        html.contains(&format!(r#"class="hit cause" id="step-{cause}""#)),
        "the page does not mark cause step {cause}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
