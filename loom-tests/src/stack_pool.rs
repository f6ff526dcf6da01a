//! Keeps loom's thread stacks between executions.
//!
//! loom runs every model thread of every execution on a fresh coroutine
//! stack: the `generator` crate maps it (`mmap`), protects its guard page
//! (`mprotect`) and unmaps it when the thread ends (`munmap`). A loom search
//! of S16 at bound 3 is 1.4 million executions of five threads: those three
//! system calls per thread, and the page faults of touching each new stack,
//! were half of a loom run's time, in the kernel (BENCHMARKS.md, "loom stacks").
//! Neither loom nor `generator` offers a way to keep stacks, so this binary
//! supplies its own `mmap` and `munmap`: the static linker resolves
//! `generator`'s calls to them ahead of libc's. An anonymous `MAP_STACK`
//! mapping is taken from a free list of earlier ones of the same length, and
//! unmapping such a mapping puts it back; every other call goes straight to
//! the system call. glibc's own mappings (malloc, pthread stacks) use its
//! internal entry points and never come here.
//!
//! The reused stack keeps its guard page (`generator` protecting the same page
//! again is skipped) and its old contents (`generator` writes its own
//! sentinel words before use and never relies on zeroed memory). Nothing a
//! model thread computes depends on its stack's address, so schedules,
//! traces and digests are unchanged. `DAXCHECK_STACK_POOL=0` turns it off
//! (for measuring it).
//!
//! Only the `daxcheck` binary links this: the fuzz targets are built with
//! AddressSanitizer, which intercepts `mmap` itself.

#![allow(unsafe_code)]

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Mutex;

use libc::{c_int, c_long, c_void, off_t, size_t};

/// At most this many stacks are kept: a loom execution has at most loom's
/// thread limit of them live, and a few of each length suffice.
const KEEP: usize = 64;

/// Mappings handed out from or returned to the pool: (address, length).
struct Pool {
    free: Vec<(usize, usize)>,
    live: Vec<(usize, usize)>,
    /// Kept stacks whose lowest page is already the guard page.
    guarded: Vec<usize>,
}

static POOL: Mutex<Pool> = Mutex::new(Pool {
    free: Vec::new(),
    live: Vec::new(),
    guarded: Vec::new(),
});

/// 0 = not yet read from the environment, 1 = on, 2 = off.
static STATE: AtomicU8 = AtomicU8::new(0);

fn enabled() -> bool {
    match STATE.load(Ordering::Relaxed) {
        1 => true,
        2 => false,
        _ => {
            let on = !matches!(std::env::var_os("DAXCHECK_STACK_POOL"), Some(v) if v == "0");
            STATE.store(if on { 1 } else { 2 }, Ordering::Relaxed);
            on
        }
    }
}

fn is_stack_request(addr: *mut c_void, flags: c_int, fd: c_int, off: off_t) -> bool {
    addr.is_null()
        && fd == -1
        && off == 0
        && flags == libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_STACK
}

/// mmap(2), reusing a kept stack for an anonymous `MAP_STACK` request.
///
/// # Safety
/// As mmap(2).
#[no_mangle]
pub unsafe extern "C" fn mmap(
    addr: *mut c_void,
    len: size_t,
    prot: c_int,
    flags: c_int,
    fd: c_int,
    off: off_t,
) -> *mut c_void {
    let stack = prot == libc::PROT_READ | libc::PROT_WRITE
        && is_stack_request(addr, flags, fd, off)
        && enabled();
    if stack {
        let mut pool = POOL.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(i) = pool.free.iter().position(|&(_, l)| l == len) {
            let region = pool.free.swap_remove(i);
            pool.live.push(region);
            return region.0 as *mut c_void;
        }
    }
    let (prot, flags, fd) = (prot as c_long, flags as c_long, fd as c_long);
    // SAFETY: the raw system call takes the same arguments as mmap(2);
    // glibc's `syscall` returns -1 and sets errno on failure.
    let p = match unsafe { libc::syscall(libc::SYS_mmap, addr, len, prot, flags, fd, off) } {
        -1 => return libc::MAP_FAILED,
        r => r as *mut c_void,
    };
    if stack {
        let mut pool = POOL.lock().unwrap_or_else(|e| e.into_inner());
        pool.live.push((p as usize, len));
    }
    p
}

/// mprotect(2), skipping the call that would make a kept stack's guard page
/// again what it already is.
///
/// # Safety
/// As mprotect(2).
#[no_mangle]
pub unsafe extern "C" fn mprotect(addr: *mut c_void, len: size_t, prot: c_int) -> c_int {
    if prot == libc::PROT_NONE {
        let mut pool = POOL.lock().unwrap_or_else(|e| e.into_inner());
        let a = addr as usize;
        if pool.live.iter().any(|&(p, _)| p == a) {
            if pool.guarded.contains(&a) {
                return 0;
            }
            pool.guarded.push(a);
        }
    }
    // SAFETY: the raw system call takes the same arguments as mprotect(2);
    // glibc's `syscall` sets errno.
    unsafe { libc::syscall(libc::SYS_mprotect, addr, len, prot as c_long) as c_int }
}

/// munmap(2), keeping a stack that [`mmap`] handed out.
///
/// # Safety
/// As munmap(2).
#[no_mangle]
pub unsafe extern "C" fn munmap(addr: *mut c_void, len: size_t) -> c_int {
    {
        let mut pool = POOL.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(i) = pool.live.iter().position(|&r| r == (addr as usize, len)) {
            pool.live.swap_remove(i);
            if pool.free.len() < KEEP {
                pool.free.push((addr as usize, len));
                return 0;
            }
            pool.guarded.retain(|&p| p != addr as usize);
        }
    }
    // SAFETY: the raw system call takes the same arguments as munmap(2);
    // glibc's `syscall` sets errno.
    unsafe { libc::syscall(libc::SYS_munmap, addr, len) as c_int }
}
