//! Memory failure on FS-DAX pages (spec §3.11) and inode eviction (§3.8
//! `dax_break_layout_final`): the lockers `dax_lock_folio` /
//! `dax_lock_mapping_entry` with their non-exclusive wait, the two kill
//! paths of mm/memory-failure.c, and `xfs_fs_evict_inode`.
//!
//! What is left out: RCU (the inode free at eviction is immediate, so a
//! dereference of an evicted mapping is reported only where the kernel holds
//! no RCU read lock: in `dax_unlock_folio` and in the kill step), device-dax
//! (`S_ISCHR` hosts), `hwpoison_filter`, the pgmap type switch, `mf_mutex`
//! (scenarios run one memory failure at a time), and the signals themselves:
//! "kill" is the unmap of `unmap_and_kill`, over the locked entry's range
//! rather than over the largest mapping size of the collected tasks.
//!
//! ## READ_ONCE of `folio->mapping`
//! `dax_lock_folio` reads `folio->mapping` without any lock, while faults,
//! truncate and eviction write it (plain stores) under their own `xa_lock`.
//! An aligned word store cannot tear, and the kernel re-checks the value
//! under the `xa_lock` it then takes, so this read is not a data race the
//! kernel cares about; read through `DataCell::get` it would be one to loom.
//! The model reads the `mapping_once` mirror that every store to
//! `folio->mapping` also writes (`dax::set_mapping`): a marked atomic read,
//! so loom may return any value the memory model allows, and no data race is
//! reported for the lockless read itself.
//! The re-check, the `folio->index` read and `dax_unlock_folio`'s re-read
//! are plain reads in the kernel and stay plain (`get`) here.

use crate::cx::{Cx, Held};
use crate::dax::{self, dax_lock_entry, dax_unlock_entry, entry_key};
use crate::entry::*;
use crate::mm;
use crate::trace::{file_name, Val, What};
use crate::violation::Check;
use crate::wait::WaitKey;

/// `(dax_entry_t)~0UL`: "nothing to lock, nothing to unlock".
pub const COOKIE_NONE: u64 = u64::MAX;
/// `EBUSY`; functions return the negated value, as the kernel does.
pub const EBUSY: i32 = 16;

/// `wait_entry_unlocked`: sleep until the locked entry at `index` is
/// unlocked, as a non-exclusive waiter, and return without relocking. After
/// `xa_unlock` the mapping may be freed, so the guard is consumed here and
/// the caller gets nothing back to touch it with (B17).
pub fn wait_entry_unlocked<'a>(cx: &'a Cx, file: u8, xa: Held<'a, Xarray>, index: u64, e: u64) {
    let _f = cx.enter("wait_entry_unlocked");
    let key = entry_key(cx, file, index, e);
    // Non-exclusive: this locker may give up (mapping gone) without ever
    // passing on a WAKE_NEXT, so it must not take one from a waiter that will.
    cx.w.entry_wq.prepare_to_wait(cx, key, false);
    drop(xa);
    cx.w.entry_wq.schedule(cx, key);
    cx.w.entry_wq.finish_wait(cx, key);
}

/// `READ_ONCE(folio->mapping)`: a scheduling point, then the latest stored
/// value (module doc). A page that became a tail holds `TAIL_MAPPING`
/// poison there, which the model's frames do not store: reported here,
/// since `dax_mapping()` then dereferences the poison pointer.
pub fn read_once_mapping(cx: &Cx, folio: u64) -> Option<u8> {
    let fr = &cx.w.frames[folio as usize];
    let m = cx.read_once(
        folio,
        "mapping",
        &fr.mapping_once,
        crate::trace::Val::Mapping,
    );
    if let Some(head) = fr.compound_head.peek() {
        cx.violate(
            Check::Bug("fs/dax.c dax_lock_folio: dax_mapping() dereferences TAIL_MAPPING"),
            format!(
                "folio {folio} became a tail page of folio {head} after pfn_folio(): \
                 folio->mapping is the TAIL_MAPPING poison"
            ),
        );
    }
    m
}

/// `pfn_folio`: `page_folio(pfn_to_page(pfn))` without any lock or
/// reference (`compound_head` is read with READ_ONCE, as above).
pub fn pfn_folio(cx: &Cx, pfn: u64) -> Option<u64> {
    crate::mm::page_folio(cx, pfn)
}

/// I5 at a read of the union cell as `index`: `mapping` must be set.
fn read_index(cx: &Cx, folio: u64, site: &str) -> u64 {
    let fr = &cx.w.frames[folio as usize];
    if fr.mapping.peek().is_none() {
        cx.violate(
            Check::Inv(5),
            format!(
                "{site} reads folio {folio}'s index/share cell as index while mapping is NULL \
                 (the cell is a share count, {})",
                fr.index_share.peek()
            ),
        );
    }
    fr.index_share.get()
}

/// B16: a dereference of `folio->mapping` outside RCU. None for NULL or a
/// freed inode: the kernel oopses there, so the thread stops (holding its
/// entry lock, as the oopsed task would).
fn deref_mapping(cx: &Cx, folio: u64, m: Option<u8>, site: &'static str) -> Option<u8> {
    let Some(m) = m else {
        cx.violate(
            Check::Bug("NULL pointer dereference of folio->mapping"),
            format!("{site}: folio {folio} has mapping NULL"),
        );
        return None;
    };
    if cx.w.file(m).evicted.peek() {
        cx.violate(
            Check::Bug("use-after-free of an evicted inode's address_space"),
            format!(
                "{site}: folio {folio}'s mapping {} was evicted and freed",
                file_name(m)
            ),
        );
        return None;
    }
    Some(m)
}

/// I19: the cookie holder holds the entry lock of (folio.mapping,
/// folio.index), and the mapping is still the one it locked.
fn check_mf_lock(cx: &Cx, folio: u64, locked: u8, when: &str) {
    let fr = &cx.w.frames[folio as usize];
    let (m, cell) = (fr.mapping.peek(), fr.index_share.peek());
    if m != Some(locked) {
        cx.violate(
            Check::Inv(19),
            format!(
                "{when}: T{} holds a cookie for folio {folio} locked through {}, \
                 but folio->mapping is now {}",
                cx.tid,
                file_name(locked),
                m.map_or("NULL".to_string(), |m| file_name(m).to_string())
            ),
        );
        return;
    }
    let xa = cx.w.file(locked).xa.peek();
    let held = xa
        .load(cell)
        .filter(|&(_, e)| dax_is_locked(e))
        .and_then(|(b, _)| xa.owners.get(&b).copied());
    if held != Some(cx.tid) {
        cx.violate(
            Check::Inv(19),
            format!(
                "{when}: T{} holds a cookie for folio {folio} but not the entry lock of {}[{cell}] \
                 (owner {held:?})",
                cx.tid,
                file_name(locked)
            ),
        );
    }
}

/// Model-side, for I19: the file whose entry `cookie` this thread locked
/// (read from the lock owners, so a racing change of `folio->mapping`
/// cannot hide which mapping the lock was taken through).
fn locked_through(cx: &Cx, cookie: u64) -> Option<u8> {
    cx.w.files.iter().find_map(|ino| {
        let xa = ino.xa.peek();
        let mine = xa
            .entries()
            .any(|(b, e)| e == cookie | DAX_LOCKED && xa.owners.get(&b) == Some(&cx.tid));
        mine.then_some(ino.id)
    })
}

/// `dax_lock_folio`: lock the entry of (folio->mapping, folio->index).
/// Returns the entry (the cookie), or 0 when the folio has no single owner
/// (free, just disassociated, or shared by reflink: the caller's -EBUSY).
pub fn dax_lock_folio(cx: &Cx, folio: u64) -> u64 {
    let _f = cx.enter("dax_lock_folio");
    // rcu_read_lock(): not modelled; the inode free is checked only where
    // the kernel holds no RCU read lock.
    loop {
        let Some(m) = read_once_mapping(cx, folio) else {
            return 0;
        };
        // dax_mapping(m) holds for every modelled file; no S_ISCHR host.
        let mut xa = cx.xa_lock(m);
        let fr = &cx.w.frames[folio as usize];
        // M40 drops the re-check (pre-c93db7bb6ef3 shape, B16).
        if fr.mapping.get() != Some(m) && !cx.w.has(crate::config::Mutant::M40) {
            drop(xa);
            continue;
        }
        let index = read_index(cx, folio, "dax_lock_folio");
        match xa.load(index) {
            Some((_, e)) if dax_is_locked(e) => {
                // rcu_read_unlock(); wait; rcu_read_lock(); retry from the
                // READ_ONCE, since the mapping may be gone by then.
                wait_entry_unlocked(cx, m, xa, index, e);
            }
            Some((base, e)) => {
                dax_lock_entry(cx, &mut xa, m, base, e);
                return e;
            }
            None => {
                // Unreachable while I4 holds. The kernel would lock the NULL
                // it loaded: store xa_mk_value(DAX_LOCKED) and return 0, so
                // the caller never unlocks it.
                dax_lock_entry(cx, &mut xa, m, index, 0);
                cx.ev(What::XaStore {
                    file: m,
                    index,
                    old: None,
                    new: Some(DAX_LOCKED),
                });
                cx.violate(
                    Check::Inv(19),
                    format!(
                        "dax_lock_folio: folio {folio} says {}[{index}] but no entry is there; \
                         a locked NULL value is stored and cookie 0 returned",
                        file_name(m)
                    ),
                );
                return 0;
            }
        }
    }
}

/// `dax_unlock_folio`: re-read `folio->mapping` (no NULL check, no RCU) and
/// unlock the entry at `folio->index` with the cookie.
pub fn dax_unlock_folio(cx: &Cx, folio: u64, cookie: u64) {
    let _f = cx.enter("dax_unlock_folio");
    let fr = &cx.w.frames[folio as usize];
    let m = fr.mapping.get();
    // `S_ISCHR(mapping->host->i_mode)` is the first dereference.
    let Some(m) = deref_mapping(cx, folio, m, "dax_unlock_folio") else {
        return;
    };
    check_mf_lock(cx, folio, m, "dax_unlock_folio");
    let index = read_index(cx, folio, "dax_unlock_folio");
    dax_unlock_entry(cx, m, index, cookie);
}

/// `dax_lock_mapping_entry`: lock the entry at (mapping, index) for an FS
/// that has already resolved the failed block to file offsets. Returns the
/// cookie and the entry's page; `COOKIE_NONE` and no page for a hole, a
/// zero or an empty entry.
pub fn dax_lock_mapping_entry(cx: &Cx, file: u8, index: u64) -> (u64, Option<u64>) {
    let _f = cx.enter("dax_lock_mapping_entry");
    // The caller holds an inode reference: the mapping cannot be freed.
    loop {
        let mut xa = cx.xa_lock(file);
        match xa.load(index) {
            Some((_, e)) if dax_is_locked(e) => wait_entry_unlocked(cx, file, xa, index, e),
            None => return (COOKIE_NONE, None),
            Some((_, e)) if dax_is_zero_entry(e) || dax_is_empty_entry(e) => {
                return (COOKIE_NONE, None)
            }
            Some((base, e)) => {
                dax_lock_entry(cx, &mut xa, file, base, e);
                return (e, Some(dax_to_pfn(e)));
            }
        }
    }
}

/// `dax_unlock_mapping_entry`
pub fn dax_unlock_mapping_entry(cx: &Cx, file: u8, index: u64, cookie: u64) {
    let _f = cx.enter("dax_unlock_mapping_entry");
    if cookie == COOKIE_NONE {
        return;
    }
    dax_unlock_entry(cx, file, index, cookie);
}

/// `SetPageHWPoison`
fn set_page_hwpoison(cx: &Cx, pfn: u64) {
    let fr = &cx.w.frames[pfn as usize];
    cx.field(pfn, "PG_hwpoison", &fr.hwpoison, true, Val::Flag);
}

/// `unmap_and_kill`: unmap the poisoned range from every process mapping
/// it, over the locked entry's range (then SIGBUS, not modelled).
fn unmap_and_kill(cx: &Cx, file: u8, index: u64, cookie: u64) {
    let _f = cx.enter("unmap_and_kill");
    let base = align_index(index, dax_entry_order(cookie));
    mm::unmap_mapping_pages(cx, file, base, base + dax_entry_pages(cookie) - 1);
}

/// `mf_generic_kill_procs` for an FS_DAX page the filesystem did not claim:
/// lock the folio's entry, poison, unmap it everywhere, unlock. Returns 0
/// or -EBUSY.
pub fn mf_generic_kill_procs(cx: &Cx, pfn: u64) -> i32 {
    let _f = cx.enter("mf_generic_kill_procs");
    let Some(folio) = pfn_folio(cx, pfn) else {
        return -EBUSY;
    };
    let cookie = dax_lock_folio(cx, folio);
    if cookie == 0 {
        cx.note(format!("folio {folio} has no single owner: -EBUSY"));
        return -EBUSY;
    }
    let fr = &cx.w.frames[folio as usize];
    let locked = locked_through(cx, cookie);
    match locked {
        Some(l) => check_mf_lock(cx, folio, l, "mf_generic_kill_procs after dax_lock_folio"),
        None => cx.violate(
            Check::Inv(19),
            format!(
                "T{} has cookie for folio {folio} but owns no such entry lock",
                cx.tid
            ),
        ),
    }
    set_page_hwpoison(cx, folio);
    // collect_procs() returns nothing for a NULL mapping; otherwise
    // unmap_and_kill(folio->mapping, folio->index) unmaps.
    let m = fr.mapping.get();
    if m.is_some() {
        if let Some(m) = deref_mapping(cx, folio, m, "mf_generic_kill_procs: unmap_and_kill") {
            if let Some(l) = locked {
                check_mf_lock(cx, folio, l, "mf_generic_kill_procs before unmap_and_kill");
            }
            let index = read_index(cx, folio, "mf_generic_kill_procs");
            unmap_and_kill(cx, m, index, cookie);
        }
    }
    dax_unlock_folio(cx, folio, cookie);
    0
}

/// `mf_dax_kill_procs`: the FS holder path (XFS `notify_failure` after its
/// rmap lookup): per index, lock the entry, poison its page, unmap, unlock.
pub fn mf_dax_kill_procs(cx: &Cx, file: u8, index: u64, count: u64) -> i32 {
    let _f = cx.enter("mf_dax_kill_procs");
    for i in index..index.saturating_add(count) {
        let (cookie, page) = dax_lock_mapping_entry(cx, file, i);
        if cookie == 0 {
            return -EBUSY;
        }
        if let Some(p) = page {
            set_page_hwpoison(cx, p);
            unmap_and_kill(cx, file, i, cookie);
        }
        dax_unlock_mapping_entry(cx, file, i, cookie);
    }
    0
}

/// `wait_page_idle_uninterruptible`: `___wait_var_event(page,
/// dax_page_is_idle(page), TASK_UNINTERRUPTIBLE, 0, 0, schedule())`.
fn wait_page_idle_uninterruptible(cx: &Cx, page: u64) {
    let _f = cx.enter("wait_page_idle_uninterruptible");
    let key = WaitKey::Var { pfn: page };
    loop {
        cx.w.var_wq.prepare_to_wait(cx, key, false);
        if dax::dax_page_is_idle(cx, page) {
            break;
        }
        cx.w.var_wq.schedule(cx, key);
    }
    cx.w.var_wq.finish_wait(cx, key);
}

/// `dax_break_layout_final`: the eviction form of `dax_break_layout` over
/// the whole file: wait (plain schedule, no FS lock to drop, no signals)
/// until no folio is busy, then delete every entry.
pub fn dax_break_layout_final(cx: &Cx, file: u8) {
    let _f = cx.enter("dax_break_layout_final");
    while let Some(page) = dax::dax_layout_busy_page_range(cx, file, 0, u64::MAX) {
        wait_page_idle_uninterruptible(cx, page);
    }
    dax::dax_delete_mapping_range(cx, file, 0, u64::MAX);
}

/// `xfs_fs_evict_inode` for a DAX inode, then `destroy_inode`: break the
/// layout for good, truncate the page cache, cycle `xa_lock` in
/// `clear_inode` (the barrier `dax_lock_folio`'s re-check relies on), free.
pub fn xfs_fs_evict_inode(cx: &Cx, file: u8) {
    let _f = cx.enter("xfs_fs_evict_inode");
    dax_break_layout_final(cx, file);
    // truncate_inode_pages_final: any entry left is the truncate WARN.
    crate::fs::truncate_inode_pages_range(cx, file, 0, u64::MAX);
    drop(cx.xa_lock(file));
    destroy_inode(cx, file);
}

/// `destroy_inode`: the inode and its `address_space` are freed (at once:
/// no RCU grace period is modelled).
pub fn destroy_inode(cx: &Cx, file: u8) {
    let _f = cx.enter("destroy_inode");
    cx.w.file(file).evicted.set(true);
    cx.note(format!("{} freed", file_name(file)));
}
