//! How two accesses of one cell relate: a common lock, a happens-before
//! edge, an atomic side, or a data race; and the race told as a story.

use super::Access;
use crate::vclock::Edge;

/// How two accesses to one cell relate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Relation {
    /// Both reads, or the same thread: nothing to order.
    NoConflict,
    /// Ordered by holding these locks in common.
    CommonLocks(Vec<String>),
    /// No common lock, but ordered by this happens-before edge.
    HappensBefore(Edge),
    /// Unordered, but one side is marked or atomic: no data race.
    Atomic,
    /// No common lock, no happens-before, a plain access: a data race.
    Race,
}

impl Relation {
    pub fn describe(&self) -> String {
        match self {
            Relation::NoConflict => "no conflict".into(),
            Relation::CommonLocks(l) => format!("common lock {}", l.join(" + ")),
            Relation::HappensBefore(e) => format!("no common lock; happens-before via {e}"),
            Relation::Atomic => {
                "no common lock; no happens-before; a marked or atomic access (no data race)".into()
            }
            Relation::Race => "no common lock; no happens-before".into(),
        }
    }
}

/// Relate an earlier access `a` and a later access `b` of the same cell.
pub fn relate(a: &Access, b: &Access) -> Relation {
    if a.tid == b.tid || !(a.kind.is_write() || b.kind.is_write()) {
        return Relation::NoConflict;
    }
    // Two holders of an rwsem in shared mode do not exclude each other.
    let common: Vec<String> = a
        .locks
        .iter()
        .filter(|la| {
            b.locks.iter().any(|lb| {
                lock_name(la) == lock_name(lb) && !(la.ends_with(SHARED) && lb.ends_with(SHARED))
            })
        })
        .map(|l| lock_name(l).to_string())
        .collect();
    if !common.is_empty() {
        return Relation::CommonLocks(common);
    }
    if a.clock.before(a.tid, &b.clock) {
        let e = b
            .via
            .get(a.tid as usize)
            .cloned()
            .flatten()
            .unwrap_or(Edge::Thread("spawn"));
        return Relation::HappensBefore(e);
    }
    // The model's marked and atomic cells stand for accesses the kernel
    // makes whole (READ_ONCE against a word store): only two plain accesses
    // race, as loom judges the model's plain cells.
    if !a.kind.is_plain() || !b.kind.is_plain() {
        return Relation::Atomic;
    }
    Relation::Race
}

/// How a lock held in shared mode is written in a lockset.
pub const SHARED: &str = " (shared)";

/// A lockset entry without its mode.
pub fn lock_name(l: &str) -> &str {
    l.strip_suffix(SHARED).unwrap_or(l)
}

/// The first data race of an execution: the earliest later access that races
/// with an earlier one (the latest such earlier one).
pub fn first_race(acc: &[Access]) -> Option<(&Access, &Access)> {
    for (j, b) in acc.iter().enumerate() {
        for a in acc[..j].iter().rev() {
            if a.cell == b.cell && relate(a, b) == Relation::Race {
                return Some((a, b));
            }
        }
    }
    None
}

/// One line per access for a race story.
pub fn describe(a: &Access) -> String {
    format!(
        "step {} T{} {}: {} {}; locks held: {}",
        a.step,
        a.tid,
        a.func,
        a.field,
        a.op,
        if a.locks.is_empty() {
            "none".to_string()
        } else {
            a.locks.join(", ")
        }
    )
}

/// A race as a two-event story: the cell, then both accesses.
pub fn race_story(a: &Access, b: &Access) -> String {
    format!(
        "{}: {}\n  earlier: {}\n  later:   {}",
        a.cell,
        Relation::Race.describe(),
        describe(a),
        describe(b)
    )
}
