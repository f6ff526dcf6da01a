//! A violation is a value: which check broke, where, and the state that broke
//! it. One renderer turns it into text (`Violation::headline`); the explorer
//! adds the trace and the replay command.

use std::fmt;

/// What was broken.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Check {
    /// An invariant of spec §5.
    Inv(Inv),
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

/// An invariant of spec §5. The discriminant is the spec's number: `I1`
/// is `RefcountAccounting`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum Inv {
    /// I1: refcount accounting.
    RefcountAccounting = 1,
    /// I2: no refcount underflow.
    NoRefcountUnderflow = 2,
    /// I3: tail pages hold no references.
    TailsHoldNoRefs = 3,
    /// I4: folio association matches the xarray.
    AssociationMatchesXarray = 4,
    /// I5: index/share union discipline.
    IndexShareUnion = 5,
    /// I6: FS-free state.
    FsFreeState = 6,
    /// I7: no block reuse while referenced.
    NoBlockReuseWhileReferenced = 7,
    /// I8: break-layout postcondition.
    BreakLayoutDone = 8,
    /// I9: split only when idle.
    SplitOnlyWhenIdle = 9,
    /// I10: entry lock mutual exclusion.
    EntryLockExclusion = 10,
    /// I11: association changes only under xa_lock and entry lock.
    AssociationUnderLocks = 11,
    /// I12: no lost entry wakeups.
    NoLostEntryWakeup = 12,
    /// I13: break-layout var-wait liveness.
    BreakLayoutLiveness = 13,
    /// I14: PMD/PTE exclusivity in the xarray.
    PmdPteExclusive = 14,
    /// I15: page tables match the xarray.
    PageTablesMatchXarray = 15,
    /// I16: dirty tracking.
    DirtyTracking = 16,
    /// I17: sync fault durability.
    SyncFaultDurability = 17,
    /// I18: no long-term pins.
    NoLongtermPins = 18,
    /// I19: memory-failure lock.
    MemoryFailureLock = 19,
    /// I20: nrpages accounting.
    NrpagesAccounting = 20,
    /// I21: a fault that returns NOPAGE has mapped its access (the model's
    /// own postcondition, not in the spec's §5).
    FaultMapsItsAccess = 21,
    /// I22: memory-failure unmap (the model's own, not in spec §5).
    MemoryFailureUnmap = 22,
}

impl Inv {
    /// Every invariant, in spec order.
    pub const ALL: [Inv; 22] = [
        Inv::RefcountAccounting,
        Inv::NoRefcountUnderflow,
        Inv::TailsHoldNoRefs,
        Inv::AssociationMatchesXarray,
        Inv::IndexShareUnion,
        Inv::FsFreeState,
        Inv::NoBlockReuseWhileReferenced,
        Inv::BreakLayoutDone,
        Inv::SplitOnlyWhenIdle,
        Inv::EntryLockExclusion,
        Inv::AssociationUnderLocks,
        Inv::NoLostEntryWakeup,
        Inv::BreakLayoutLiveness,
        Inv::PmdPteExclusive,
        Inv::PageTablesMatchXarray,
        Inv::DirtyTracking,
        Inv::SyncFaultDurability,
        Inv::NoLongtermPins,
        Inv::MemoryFailureLock,
        Inv::NrpagesAccounting,
        Inv::FaultMapsItsAccess,
        Inv::MemoryFailureUnmap,
    ];

    /// The spec's number (`I{n}`).
    pub fn number(self) -> u8 {
        self as u8
    }

    /// The invariant's short name from spec §5.
    pub fn name(self) -> &'static str {
        match self {
            Inv::RefcountAccounting => "refcount accounting",
            Inv::NoRefcountUnderflow => "no refcount underflow",
            Inv::TailsHoldNoRefs => "tail pages hold no references",
            Inv::AssociationMatchesXarray => "folio association matches the xarray",
            Inv::IndexShareUnion => "index/share union discipline",
            Inv::FsFreeState => "FS-free state",
            Inv::NoBlockReuseWhileReferenced => "no block reuse while referenced",
            Inv::BreakLayoutDone => "break-layout postcondition",
            Inv::SplitOnlyWhenIdle => "split only when idle",
            Inv::EntryLockExclusion => "entry lock mutual exclusion",
            Inv::AssociationUnderLocks => "association changes only under xa_lock and entry lock",
            Inv::NoLostEntryWakeup => "no lost entry wakeups",
            Inv::BreakLayoutLiveness => "break-layout var-wait liveness",
            Inv::PmdPteExclusive => "PMD/PTE exclusivity in the xarray",
            Inv::PageTablesMatchXarray => "page tables match the xarray",
            Inv::DirtyTracking => "dirty tracking",
            Inv::SyncFaultDurability => "sync fault durability",
            Inv::NoLongtermPins => "no long-term pins",
            Inv::MemoryFailureLock => "memory-failure lock",
            Inv::NrpagesAccounting => "nrpages accounting",
            Inv::FaultMapsItsAccess => "a fault maps its access",
            Inv::MemoryFailureUnmap => "memory-failure unmap",
        }
    }
}

/// `I1` … `I22`, the spec's name for the invariant.
impl fmt::Display for Inv {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "I{}", self.number())
    }
}

/// A check without its site or rule: what a scenario's `finds` names, the
/// way a litmus test's `exists` clause names an outcome, and what
/// [`Check::id`] prints.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CheckKind {
    Inv(Inv),
    Warn,
    Bug,
    LockRule,
    DataRace,
    Deadlock,
    Livelock,
    Internal,
}

impl CheckKind {
    pub const I1: CheckKind = CheckKind::Inv(Inv::RefcountAccounting);
    pub const I2: CheckKind = CheckKind::Inv(Inv::NoRefcountUnderflow);
    pub const I3: CheckKind = CheckKind::Inv(Inv::TailsHoldNoRefs);
    pub const I4: CheckKind = CheckKind::Inv(Inv::AssociationMatchesXarray);
    pub const I5: CheckKind = CheckKind::Inv(Inv::IndexShareUnion);
    pub const I6: CheckKind = CheckKind::Inv(Inv::FsFreeState);
    pub const I7: CheckKind = CheckKind::Inv(Inv::NoBlockReuseWhileReferenced);
    pub const I8: CheckKind = CheckKind::Inv(Inv::BreakLayoutDone);
    pub const I9: CheckKind = CheckKind::Inv(Inv::SplitOnlyWhenIdle);
    pub const I10: CheckKind = CheckKind::Inv(Inv::EntryLockExclusion);
    pub const I11: CheckKind = CheckKind::Inv(Inv::AssociationUnderLocks);
    pub const I12: CheckKind = CheckKind::Inv(Inv::NoLostEntryWakeup);
    pub const I13: CheckKind = CheckKind::Inv(Inv::BreakLayoutLiveness);
    pub const I14: CheckKind = CheckKind::Inv(Inv::PmdPteExclusive);
    pub const I15: CheckKind = CheckKind::Inv(Inv::PageTablesMatchXarray);
    pub const I16: CheckKind = CheckKind::Inv(Inv::DirtyTracking);
    pub const I17: CheckKind = CheckKind::Inv(Inv::SyncFaultDurability);
    pub const I18: CheckKind = CheckKind::Inv(Inv::NoLongtermPins);
    pub const I19: CheckKind = CheckKind::Inv(Inv::MemoryFailureLock);
    pub const I20: CheckKind = CheckKind::Inv(Inv::NrpagesAccounting);
    pub const I21: CheckKind = CheckKind::Inv(Inv::FaultMapsItsAccess);
    pub const I22: CheckKind = CheckKind::Inv(Inv::MemoryFailureUnmap);
}

/// The stable identifier (`I4`, `WARN`, `data-race`) that JSON output and
/// replay files carry.
impl fmt::Display for CheckKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CheckKind::Inv(i) => f.pad(&i.to_string()),
            CheckKind::Warn => f.pad("WARN"),
            CheckKind::Bug => f.pad("BUG"),
            CheckKind::LockRule => f.pad("lock-rule"),
            CheckKind::DataRace => f.pad("data-race"),
            CheckKind::Deadlock => f.pad("deadlock"),
            CheckKind::Livelock => f.pad("livelock"),
            CheckKind::Internal => f.pad("internal"),
        }
    }
}

impl Check {
    /// The check without its site or rule.
    pub fn kind(&self) -> CheckKind {
        match self {
            Check::Inv(i) => CheckKind::Inv(*i),
            Check::Warn(_) => CheckKind::Warn,
            Check::Bug(_) => CheckKind::Bug,
            Check::LockRule(_) => CheckKind::LockRule,
            Check::DataRace => CheckKind::DataRace,
            Check::Deadlock => CheckKind::Deadlock,
            Check::Livelock => CheckKind::Livelock,
            Check::Internal => CheckKind::Internal,
        }
    }

    /// A stable identifier, used in JSON output and replay files.
    pub fn id(&self) -> String {
        self.kind().to_string()
    }
}

impl fmt::Display for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Check::Inv(i) => write!(f, "{i} ({})", i.name()),
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
