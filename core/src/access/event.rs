//! The hook every model step passes through: one trace event turned into
//! vector-clock updates and, for a field access, an `Access` checked for
//! a race against the earlier accesses of its cell.

use super::{field_of, marked, race_story, relate, Access, Kind, Relation, SHARED};
use crate::cx::{Cx, LockId};
use crate::trace::{file_name, What};
use crate::vclock::Edge;

/// Hook in `Cx::ev`: turn one step into clock updates and an access.
pub fn on_event(cx: &Cx, what: &What) {
    let Some(log) = &cx.w.acc else { return };
    let step = cx.w.rec.steps() + 1;
    let tid = cx.tid;
    // (kind, field, cell, value, what the step did)
    type Acc = (Kind, &'static str, String, String, String);
    let entry_cell = |file: u8, index: u64| format!("entry {}[{index}]", file_name(file));
    let acc: Option<Acc> = match what {
        What::Acquire(id, how) => {
            let key = id.to_string();
            log.with(|s| {
                s.taken_at(tid, key.clone(), step, *how == "down_read");
                if let Some((w, r)) = s.locks.get(&key).cloned() {
                    s.acquire(tid, &w, Edge::Lock(key.clone()));
                    if *how != "down_read" {
                        s.acquire(tid, &r, Edge::Lock(key.clone()));
                    }
                }
            });
            None
        }
        What::Release(id, _) => {
            log.with(|s| {
                if let Some(m) = s.taken.get_mut(tid as usize) {
                    m.remove(&id.to_string());
                }
            });
            None
        }
        What::Woken => {
            log.with(|s| {
                for l in cx.held_locks() {
                    if let LockId::WaitQueue(..) = l {
                        let key = l.to_string();
                        if let Some((w, _)) = s.locks.get(&key).cloned() {
                            s.acquire(tid, &w, Edge::Wake(key));
                        }
                    }
                }
            });
            None
        }
        // The entry lock bit changes with an xarray store under xa_lock (its
        // own XaStore step); the lock and unlock steps are the model's
        // record of it, told after xa_lock is dropped, so they are marked:
        // they order nothing and race with nothing.
        What::EntryLock { file, index, entry } => {
            let key = format!("entry lock {}[{index}]", file_name(*file));
            log.with(|s| s.entry_taken(tid, *file, *index, key, step));
            let v = format!("locked ({})", crate::trace::entry_str(*entry));
            Some((
                Kind::MarkedWrite,
                "entry.lock",
                entry_cell(*file, *index),
                v.clone(),
                v,
            ))
        }
        What::EntryUnlock { file, index, entry } => {
            let key = format!("entry lock {}[{index}]", file_name(*file));
            log.with(|s| s.entry_dropped(tid, *file, *index, key));
            let v = format!("unlocked ({})", crate::trace::entry_str(*entry));
            Some((
                Kind::MarkedWrite,
                "entry.lock",
                entry_cell(*file, *index),
                v.clone(),
                v,
            ))
        }
        What::XaStore {
            file,
            index,
            old,
            new,
        } => {
            // A store of a locked entry takes the entry lock (a new
            // placeholder is born locked); storing it unlocked, or deleting
            // it, drops it.
            let locked = |e: &Option<u64>| e.is_some_and(crate::entry::dax_is_locked);
            let key = format!("entry lock {}[{index}]", file_name(*file));
            log.with(|s| match (locked(old), locked(new)) {
                (false, true) => s.entry_taken(tid, *file, *index, key, step),
                (true, false) => s.entry_dropped(tid, *file, *index, key),
                _ => {}
            });
            let v = new.map_or_else(|| "NULL".into(), crate::trace::entry_str);
            Some((
                Kind::Write,
                "xarray.entry",
                format!("{}->i_pages[{index}]", file_name(*file)),
                v.clone(),
                format!("xa store {v}"),
            ))
        }
        What::ReadField { pfn, field, val } => {
            let (name, cell) = field_of(*pfn, field);
            Some((
                Kind::MarkedRead,
                name,
                cell,
                val.to_string(),
                format!("READ_ONCE = {val}"),
            ))
        }
        What::Load { pfn, field, val } => {
            let (name, cell) = field_of(*pfn, field);
            Some((
                Kind::Read,
                name,
                cell,
                val.to_string(),
                format!("read = {val}"),
            ))
        }
        What::Field {
            pfn,
            field,
            old,
            new,
        } => {
            let (name, cell) = field_of(*pfn, field);
            let kind = if marked(field) {
                Kind::MarkedWrite
            } else {
                Kind::Write
            };
            Some((
                kind,
                name,
                cell,
                new.to_string(),
                format!("{} {old} -> {new}", kind.name()),
            ))
        }
        What::Read { pfn, what, val } => {
            let (name, cell) = field_of(*pfn, what);
            // The model's counter reads are acquire loads (mm::folio_ref_count).
            log.with(|s| {
                if let Some(c) = s.atomics.get(&cell).cloned() {
                    s.acquire(tid, &c, Edge::Atomic(cell.clone()));
                }
            });
            Some((
                Kind::AtomicRead,
                name,
                cell,
                val.to_string(),
                format!("atomic_read = {val}"),
            ))
        }
        What::Ref { pfn, old, new, how } => {
            let (_, cell) = field_of(*pfn, "refcount");
            // folio_put and folio_try_get are fully ordered; the increments
            // are relaxed and only continue the release sequence.
            if matches!(*how, "folio_put" | "folio_try_get") {
                log.with(|s| {
                    if let Some(c) = s.atomics.get(&cell).cloned() {
                        s.acquire(tid, &c, Edge::Atomic(cell.clone()));
                    }
                    let mine = s.clock(tid).0.clone();
                    s.atomics.entry(cell.clone()).or_default().join(&mine);
                    s.clock(tid).0.tick(tid);
                });
            }
            Some((
                Kind::AtomicRmw,
                "folio.refcount",
                cell,
                old.to_string(),
                format!("{how} {old} -> {new}"),
            ))
        }
        What::Mapcount {
            pfn,
            which,
            old,
            new,
        } => {
            let (name, cell) = field_of(*pfn, which);
            Some((
                Kind::AtomicRmw,
                name,
                cell,
                old.to_string(),
                format!("atomic {old} -> {new}"),
            ))
        }
        What::Nrpages { file, old, new } => Some((
            Kind::Write,
            "mapping.nrpages",
            format!("{}->nrpages", file_name(*file)),
            new.to_string(),
            format!("write {old} -> {new}"),
        )),
        What::Pte {
            mm,
            file,
            index,
            old,
            new,
        } => Some((
            Kind::Write,
            "pagetable.entry",
            format!("mm{mm} {}[{index}] page table entry", file_name(*file)),
            new.to_string(),
            format!("{old} -> {new}"),
        )),
        _ => None,
    };
    let Some((kind, field, cell, val, op)) = acc else {
        return;
    };
    let mut locks: Vec<String> = cx.held_locks().iter().map(|l| l.to_string()).collect();
    let race = log.with(|s| {
        if let Some(es) = s.entries.get(tid as usize) {
            locks.extend(
                es.iter()
                    .map(|(f, i)| format!("entry lock {}[{i}]", file_name(*f))),
            );
        }
        let taken = s.taken.get(tid as usize);
        let lock_steps = locks
            .iter()
            .map(|l| taken.and_then(|m| m.get(l)).map_or(0, |t| t.0))
            .collect();
        for l in locks.iter_mut() {
            if taken.and_then(|m| m.get(l.as_str())).is_some_and(|t| t.1) {
                l.push_str(SHARED);
            }
        }
        let (clock, via) = s.clock(tid).clone();
        let a = Access {
            step,
            tid,
            func: cx.func(),
            kind,
            field,
            cell: cell.clone(),
            val,
            op,
            locks,
            lock_steps,
            clock,
            via,
        };
        let mut race = None;
        let earlier = s.by_cell.entry(cell).or_default();
        if !s.raced {
            race = earlier
                .iter()
                .rev()
                .map(|&i| &s.accesses[i])
                .find(|e| relate(e, &a) == Relation::Race)
                .map(|e| race_story(e, &a));
        }
        earlier.push(s.accesses.len());
        s.accesses.push(a);
        s.raced |= race.is_some();
        race
    });
    if let Some(detail) = race {
        cx.w.rec.violate(crate::violation::Violation {
            check: crate::violation::Check::DataRace,
            detail,
            tid,
            step,
        });
    }
}
