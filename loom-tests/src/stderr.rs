//! The command's stderr, kept free of the engines' own chatter.
//!
//! shuttle prints `Test deadlocked, and SHUTTLE_CAPTURE_BACKTRACE is not
//! set ...` for every deadlock it detects, and a deadlock is an expected
//! finding of several scenarios (I12, I13); turning the variable on instead
//! would capture a backtrace at every blocking step. So the command points
//! fd 2 at a pipe and a thread copies every line to the real stderr except
//! shuttle's. The progress bar draws straight to the real stderr.

use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::Mutex;
use std::thread::JoinHandle;

/// Lines the engines print on their own, which the report replaces.
const ENGINE_NOISE: [&str; 1] = ["Test deadlocked, and SHUTTLE_CAPTURE_BACKTRACE is not set"];

pub fn is_engine_noise(line: &str) -> bool {
    ENGINE_NOISE.iter().any(|n| line.starts_with(n))
}

struct Filter {
    /// The real stderr, duplicated before fd 2 was redirected.
    real: OwnedFd,
    copier: JoinHandle<()>,
}

static FILTER: Mutex<Option<Filter>> = Mutex::new(None);
static REAL: Mutex<Option<File>> = Mutex::new(None);

/// Point fd 2 at the filter. Does nothing if it cannot (the chatter then
/// reaches stderr unfiltered).
pub fn install() {
    let mut fds = [0; 2];
    // SAFETY: plain fd syscalls on fds this function owns; fd 2 is replaced
    // atomically by dup2 and restored by `finish`.
    let real = unsafe {
        if libc::pipe(fds.as_mut_ptr()) != 0 {
            return;
        }
        let real = libc::dup(2);
        if real < 0 || libc::dup2(fds[1], 2) < 0 {
            libc::close(fds[0]);
            libc::close(fds[1]);
            if real >= 0 {
                libc::close(real);
            }
            return;
        }
        libc::close(fds[1]);
        OwnedFd::from_raw_fd(real)
    };
    // SAFETY: fds[0] is the pipe's read end, owned by nobody else.
    let read = unsafe { File::from_raw_fd(fds[0]) };
    let Ok(out) = real.try_clone().map(File::from) else {
        return;
    };
    if let Ok(copy) = out.try_clone() {
        *REAL.lock().unwrap_or_else(|e| e.into_inner()) = Some(copy);
    }
    let copier = std::thread::spawn(move || {
        let mut out = out;
        for line in BufReader::new(read).split(b'\n') {
            let Ok(mut line) = line else { break };
            if is_engine_noise(&String::from_utf8_lossy(&line)) {
                continue;
            }
            line.push(b'\n');
            let _ = out.write_all(&line);
        }
    });
    *FILTER.lock().unwrap_or_else(|e| e.into_inner()) = Some(Filter { real, copier });
}

/// Put the real stderr back on fd 2 and wait until every filtered line is
/// out. Call before exiting.
pub fn finish() {
    let f = FILTER.lock().unwrap_or_else(|e| e.into_inner()).take();
    if let Some(f) = f {
        // SAFETY: restores fd 2 from a duplicate this module owns; the pipe's
        // last write end closes with it, so the copier reads end-of-file.
        unsafe {
            libc::dup2(f.real.as_raw_fd(), 2);
        }
        let _ = f.copier.join();
    }
}

/// The progress bar's target: the real stderr when it is a terminal (and
/// not CI), else nothing.
pub fn progress_target() -> indicatif::ProgressDrawTarget {
    if std::env::var_os("CI").is_some() {
        return indicatif::ProgressDrawTarget::hidden();
    }
    let real = REAL
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .as_ref()
        .and_then(|f| f.try_clone().ok());
    match real {
        Some(w) => match w.try_clone() {
            Ok(r) => indicatif::ProgressDrawTarget::term(console::Term::read_write_pair(r, w), 20),
            Err(_) => indicatif::ProgressDrawTarget::hidden(),
        },
        None => indicatif::ProgressDrawTarget::stderr(),
    }
}

/// Let a write to a closed pipe end the process quietly, as it ends `cat`
/// (Rust ignores SIGPIPE by default and turns it into an error, which
/// `println!` turns into a panic).
pub fn restore_sigpipe() {
    // SAFETY: setting a signal's disposition to its default is async-safe
    // and done before any thread starts.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

/// `RUST_LOG` selects tracing output on stderr (tracing-subscriber's
/// `EnvFilter`); without it there is none, since stdout already has the
/// trace. The model's events are under the `daxcheck` target at TRACE, with
/// the thread and kernel function as fields; violations at WARN; loom and
/// shuttle trace their schedulers under their own targets.
pub fn init_tracing() {
    let Ok(filter) = tracing_subscriber::EnvFilter::try_from_default_env() else {
        return;
    };
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .without_time()
        .try_init();
}

#[cfg(test)]
mod tests {
    #[test]
    fn shuttle_deadlock_line_is_noise_and_ours_is_not() {
        assert!(super::is_engine_noise(
            "Test deadlocked, and SHUTTLE_CAPTURE_BACKTRACE is not set. If either of those are set then the backtrace of each task will be collected and printed as part of the panic message."
        ));
        assert!(!super::is_engine_noise("daxcheck: unknown scenario `S99`"));
    }
}
