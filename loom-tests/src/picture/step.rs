//! One step of the picture: what a trace event becomes ([`Step::from_event`]
//! is the only code that reads event payloads).

use daxcheck_core::cx::LockId;
use daxcheck_core::trace::{file_name, Event, What};

/// The kind of lock, which sets how its holds are drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LockClass {
    /// `mapping->i_pages` xa_lock.
    XaLock,
    /// A DAX entry lock (the LOCKED bit of an xarray entry).
    Entry,
    /// A page-table lock (`pmd_lock`, the PTE table lock).
    Ptl,
    /// A sleeping rwsem: `mmap_lock`, `i_mmap_rwsem`, the XFS inode locks.
    Rwsem,
    /// A waitqueue head's spinlock.
    WaitQueue,
    Other,
}

/// What a step did, as far as the picture cares.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Kind {
    Acquire {
        lock: String,
        class: LockClass,
        shared: bool,
    },
    Release {
        lock: String,
    },
    /// `prepare_to_wait*` on a queue (table and key).
    Enqueue {
        queue: String,
        /// `prepare_to_wait_exclusive` queues at the tail, the others at
        /// the head.
        exclusive: bool,
    },
    /// `schedule()`: the thread sleeps on a queue.
    Sleep {
        queue: String,
    },
    Woken,
    Wake {
        queue: String,
        mode: String,
        woken: usize,
    },
    /// A folio counter or field: its value after the step (`changed`), or
    /// the value the step read. `plain` marks a plain (non-atomic) store,
    /// the only kind of access that can be half of a data race.
    Value {
        track: Track,
        value: String,
        changed: bool,
        plain: bool,
    },
    Other,
}

/// A value track of a folio, in the order the columns are drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Track {
    Refcount,
    Mapcount,
    EntireMapcount,
    LargeMapcount,
    Pincount,
    /// The `index`/`share` union.
    ShareIndex,
    Mapping,
}

impl Track {
    /// The column title.
    pub fn short(self) -> &'static str {
        match self {
            Track::Refcount => "refcount",
            Track::Mapcount => "mapcount",
            Track::EntireMapcount => "entire",
            Track::LargeMapcount => "large",
            Track::Pincount => "pincount",
            Track::ShareIndex => "share/index",
            Track::Mapping => "mapping",
        }
    }
}

/// One step of the trace, as the picture reads it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    pub tid: u8,
    /// The modelled kernel function the step ran in.
    pub func: String,
    /// Function nesting (0: the thread's top-level operation).
    pub depth: u8,
    /// The event, as the text trace prints it.
    pub text: String,
    /// The page the step touched, if any.
    pub pfn: Option<u64>,
    pub kind: Kind,
}

fn lock_class(l: &LockId) -> LockClass {
    match l {
        LockId::XaLock(_) => LockClass::XaLock,
        LockId::Pmd(..) | LockId::Pte(..) => LockClass::Ptl,
        LockId::FsLock(_)
        | LockId::MmapLock(_)
        | LockId::IMmap(_)
        | LockId::ILock(_)
        | LockId::IoLock(_) => LockClass::Rwsem,
        LockId::WaitQueue(..) => LockClass::WaitQueue,
        LockId::Alloc => LockClass::Other,
    }
}

fn track_of(name: &str) -> Option<Track> {
    Some(match name.trim_start_matches('_') {
        "refcount" => Track::Refcount,
        "mapcount" => Track::Mapcount,
        "entire_mapcount" => Track::EntireMapcount,
        "large_mapcount" => Track::LargeMapcount,
        "pincount" => Track::Pincount,
        "share" | "index" => Track::ShareIndex,
        "mapping" => Track::Mapping,
        _ => return None,
    })
}

impl Step {
    /// The one place that reads the trace's event payloads: everything the
    /// picture draws comes from the [`Kind`] made here.
    pub fn from_event(ev: &Event) -> Step {
        let entry = |file: u8, index: u64| format!("entry {}[{index}]", file_name(file));
        let mut pfn = None;
        let kind = match &ev.what {
            What::Acquire(l, how) => Kind::Acquire {
                lock: l.to_string(),
                class: lock_class(l),
                shared: *how == "down_read",
            },
            What::Release(l, _) => Kind::Release {
                lock: l.to_string(),
            },
            What::EntryLock { file, index, .. } => Kind::Acquire {
                lock: entry(*file, *index),
                class: LockClass::Entry,
                shared: false,
            },
            What::EntryUnlock { file, index, .. } => Kind::Release {
                lock: entry(*file, *index),
            },
            What::Enqueue {
                table,
                key,
                exclusive,
            } => Kind::Enqueue {
                queue: format!("{table} {key}"),
                exclusive: *exclusive,
            },
            What::Sleep { table, key } => Kind::Sleep {
                queue: format!("{table} {key}"),
            },
            What::Woken => Kind::Woken,
            What::Wake {
                table,
                key,
                mode,
                woken,
            } => Kind::Wake {
                queue: format!("{table} {key}"),
                mode: mode.to_string(),
                woken: *woken,
            },
            What::Ref { pfn: p, new, .. } => {
                pfn = Some(*p);
                Kind::Value {
                    track: Track::Refcount,
                    value: new.to_string(),
                    changed: true,
                    plain: false,
                }
            }
            What::Mapcount {
                pfn: p, which, new, ..
            } => {
                pfn = Some(*p);
                match track_of(which) {
                    Some(track) => Kind::Value {
                        track,
                        value: new.to_string(),
                        changed: true,
                        plain: false,
                    },
                    None => Kind::Other,
                }
            }
            What::Read { pfn: p, what, val } => {
                pfn = Some(*p);
                match track_of(what) {
                    Some(track) => Kind::Value {
                        track,
                        value: val.to_string(),
                        changed: false,
                        plain: false,
                    },
                    None => Kind::Other,
                }
            }
            What::Field {
                pfn: p, field, new, ..
            } => {
                pfn = Some(*p);
                match track_of(field) {
                    Some(track) => Kind::Value {
                        track,
                        value: if track == Track::ShareIndex {
                            format!("{field} {new}")
                        } else {
                            new.to_string()
                        },
                        changed: true,
                        plain: true,
                    },
                    None => Kind::Other,
                }
            }
            What::ReadField { pfn: p, .. } => {
                pfn = Some(*p);
                Kind::Other
            }
            _ => Kind::Other,
        };
        Step {
            tid: ev.tid,
            func: ev.func.to_string(),
            depth: ev.depth,
            text: ev.what.to_string(),
            pfn,
            kind,
        }
    }
}
