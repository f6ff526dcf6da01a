//! A violation is a value: which check broke, where, and the state that broke
//! it. One renderer turns it into text (`Violation::headline`); the explorer
//! adds the trace and the replay command.

use std::fmt;

/// What was broken.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Check {
    /// An invariant of spec §5, by number.
    Inv(u8),
    /// A kernel `WARN_ON_ONCE`/`WARN` site, quoted.
    Warn(&'static str),
    /// A kernel `BUG_ON`/`VM_BUG_ON` site, quoted.
    Bug(&'static str),
    /// A lock-discipline rule of spec §2.
    LockRule(&'static str),
    /// Two accesses to a plain field not ordered by any lock (reported by loom).
    DataRace,
    /// Every remaining thread is blocked (I12 entry waits, I13 var waits).
    Deadlock,
    /// Threads keep running without finishing: the explorer's step bound
    /// was hit (a retry loop that never succeeds; I12's liveness).
    Livelock,
    /// A model thread panicked for a reason that is not a model check.
    Internal,
}

impl Check {
    /// The invariant's short name from spec §5.
    pub fn inv_name(n: u8) -> &'static str {
        match n {
            1 => "refcount accounting",
            2 => "no refcount underflow",
            3 => "tail pages hold no references",
            4 => "folio association matches the xarray",
            5 => "index/share union discipline",
            6 => "FS-free state",
            7 => "no block reuse while referenced",
            8 => "break-layout postcondition",
            9 => "split only when idle",
            10 => "entry lock mutual exclusion",
            11 => "association changes only under xa_lock and entry lock",
            12 => "no lost entry wakeups",
            13 => "break-layout var-wait liveness",
            14 => "PMD/PTE exclusivity in the xarray",
            15 => "page tables match the xarray",
            16 => "dirty tracking",
            17 => "sync fault durability",
            18 => "no long-term pins",
            19 => "memory-failure lock",
            20 => "nrpages accounting",
            _ => "unknown invariant",
        }
    }

    /// A stable identifier, used in JSON output and replay files.
    pub fn id(&self) -> String {
        match self {
            Check::Inv(n) => format!("I{n}"),
            Check::Warn(_) => "WARN".into(),
            Check::Bug(_) => "BUG".into(),
            Check::LockRule(_) => "lock-rule".into(),
            Check::DataRace => "data-race".into(),
            Check::Deadlock => "deadlock".into(),
            Check::Livelock => "livelock".into(),
            Check::Internal => "internal".into(),
        }
    }
}

impl fmt::Display for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Check::Inv(n) => write!(f, "I{n} ({})", Check::inv_name(*n)),
            Check::Warn(site) => write!(f, "WARN at {site}"),
            Check::Bug(site) => write!(f, "BUG at {site}"),
            Check::LockRule(rule) => write!(f, "lock rule: {rule}"),
            Check::DataRace => f.write_str("data race"),
            Check::Deadlock => f.write_str("deadlock"),
            Check::Livelock => f.write_str("livelock"),
            Check::Internal => f.write_str("[daxcheck internal bug]"),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    pub check: Check,
    /// The state that broke the check, in kernel terms.
    pub detail: String,
    /// The thread that saw it (0 is the checker at quiescence).
    pub tid: u8,
    /// The step of the trace at which it was seen (1-based; 0 = before any step).
    pub step: usize,
}

impl Violation {
    pub fn headline(&self) -> String {
        format!("{}: {}", self.check, self.detail)
    }
}
