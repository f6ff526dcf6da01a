//! The mm side: folio refcount and rmap helpers, `free_zone_device_folio`,
//! page-table insertion and zapping with a deferred TLB gather
//! (spec §3.7, §3.12.1–§3.12.4).

use crate::config::{KernelState, Mutant};
use crate::entry::{align_index, PG_PMD_NR, PMD_ORDER};
use crate::sync::Ordering;
use crate::trace::{LockId, Val, What};
use crate::violation::Check;
use crate::wait::{WaitKey, WakeMode};
use crate::world::{Cx, FrameKind, Pmd, Pte, World, HUGE_ZERO_PFN, ZERO_PFN};

/// What a fault handler returns (`vm_fault_t`), reduced to the cases the
/// model distinguishes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// VM_FAULT_NOPAGE: the mapping is installed (or already was).
    NoPage,
    Fallback,
    SigBus,
    SigSegv,
    Oom,
    /// VM_FAULT_NEEDDSYNC: the caller must fsync, then insert.
    NeedDsync,
}

/// `page_folio(pfn_to_page(pfn))`: the head pfn. Reading `compound_head`
/// dereferences the struct page, so a pfn with no struct page is a fatal
/// paging fault (bug B2/B7).
pub fn page_folio(cx: &Cx, pfn: u64) -> Option<u64> {
    let Some(f) = cx.w.frame(pfn) else {
        cx.violate(
            Check::Bug("page_folio: unable to handle page fault"),
            format!("pfn {pfn} has no struct page"),
        );
        return None;
    };
    // _compound_head(): READ_ONCE(page->compound_head).
    Some(
        cx.read_once(pfn, "compound_head", &f.compound_head, Val::Head)
            .unwrap_or(pfn),
    )
}

/// `folio_order`: the order bits live in page[1].
pub fn folio_order(cx: &Cx, head: u64) -> u32 {
    let f = &cx.w.frames[head as usize];
    if crate::access::read(cx, head, "PG_head", &f.head, Val::Flag) {
        cx.w.frames.get(head as usize + 1).map_or(0, |p1| {
            crate::access::read(cx, head + 1, "folio order", &p1.order, |v| {
                Val::Num(v as u64)
            }) as u32
        })
    } else {
        0
    }
}

/// `folio_ref_count`: `atomic_read` is a plain load, but every kernel
/// caller acts on the value with stores that depend on it (split, delete,
/// insert), which the LKMM orders after the load (a control dependency).
/// C11, which loom checks, has no such rule, so the model uses an acquire
/// load to stand for it.
pub fn folio_ref_count(cx: &Cx, head: u64) -> i32 {
    let r = cx.w.frames[head as usize].refcount.load(Ordering::Acquire);
    cx.ev(What::Read {
        pfn: head,
        what: "refcount",
        val: r,
    });
    r
}

/// `folio_mapcount`: page-table mappings of the folio, a PMD mapping
/// counting once: one read of `_large_mapcount` for a large folio, of the
/// page's own mapcount otherwise.
pub fn folio_mapcount(cx: &Cx, head: u64) -> i32 {
    let f = &cx.w.frames[head as usize];
    let (what, c) = if folio_order(cx, head) > 0 {
        ("large_mapcount", &f.large_mapcount)
    } else {
        ("mapcount", &f.mapcount)
    };
    // Acquire for the control-dependency reason given at folio_ref_count.
    let m = c.load(Ordering::Acquire);
    cx.ev(What::Read {
        pfn: head,
        what,
        val: m,
    });
    m
}

/// Model checks: the refcount, without a scheduling point or a step.
pub fn peek_ref_count(w: &World, head: u64) -> i32 {
    w.frames[head as usize].refcount.peek()
}

/// Model checks: the folio's mapcount, without a scheduling point or a step.
pub fn peek_mapcount(w: &World, head: u64) -> i32 {
    let f = &w.frames[head as usize];
    let large = f.head.peek()
        && w.frames
            .get(head as usize + 1)
            .is_some_and(|p| p.order.peek() > 0);
    if large {
        f.large_mapcount.peek()
    } else {
        f.mapcount.peek()
    }
}

/// One recorded refcount change; a result below 0 is I2.
pub(crate) fn ref_add(cx: &Cx, head: u64, d: i32, o: Ordering, how: &'static str) -> i32 {
    let old = cx.w.frames[head as usize].refcount.fetch_add(d, o);
    cx.ev(What::Ref {
        pfn: head,
        old,
        new: old + d,
        how,
    });
    if old + d < 0 {
        cx.violate(
            Check::Inv(2),
            format!("{how}: folio {head} refcount {old} -> {}", old + d),
        );
    }
    old
}

/// `folio_ref_inc`: a raw relaxed increment with no zero check (§4 Q2).
pub fn folio_ref_inc(cx: &Cx, head: u64) {
    ref_add(cx, head, 1, Ordering::Relaxed, "folio_ref_inc");
}

/// `folio_get`: the debug build's `VM_BUG_ON_FOLIO(folio_ref_zero_or_close_to_overflow)`.
pub fn folio_get(cx: &Cx, head: u64) {
    let old = ref_add(cx, head, 1, Ordering::Relaxed, "folio_get");
    if old <= 0 {
        cx.violate(
            Check::Bug("folio_get: VM_BUG_ON_FOLIO(folio_ref_zero_or_close_to_overflow)"),
            format!("folio {head} refcount was {old}"),
        );
    }
}

/// `folio_put_refs` / `folio_put`: a fully ordered decrement; the last put of
/// a ZONE_DEVICE folio calls `free_zone_device_folio`.
pub fn folio_put_refs(cx: &Cx, head: u64, nr: i32) {
    let f = &cx.w.frames[head as usize];
    if f.kind == FrameKind::Zero {
        cx.violate(
            Check::Bug("folio_put: zero page is never refcounted"),
            format!("put on zero folio {head}"),
        );
        return;
    }
    let old = ref_add(cx, head, -nr, Ordering::SeqCst, "folio_put");
    if old == nr && f.kind == FrameKind::Dax {
        free_zone_device_folio(cx, head);
    }
}

/// `folio_put`
pub fn folio_put(cx: &Cx, head: u64) {
    folio_put_refs(cx, head, 1)
}

/// `free_zone_device_folio` for MEMORY_DEVICE_FS_DAX: no callback, no
/// refcount reset, `mapping` kept; uncharge the memcg and wake break-layout.
pub fn free_zone_device_folio(cx: &Cx, head: u64) {
    let _f = cx.enter("free_zone_device_folio");
    let w = cx.world();
    let f = &w.frames[head as usize];
    if cx.warn_on(
        crate::access::read(cx, head, "pgmap", &f.pgmap, |v| {
            Val::Num(v.unwrap_or(0) as u64)
        })
        .is_none(),
        "mm/memremap.c free_zone_device_folio: WARN_ON_ONCE(!pgmap)",
        || format!("folio {head} has no pgmap"),
    ) {
        return;
    }
    if w.has(Mutant::B8) {
        // v8: `WARN_ON_ONCE(!pgmap->ops)` and return, before the wake. The
        // B8 world is a virtio-fs/dcssblk pgmap, which has no ops.
        cx.warn_on(
            true,
            "mm/memremap.c free_zone_device_folio (v8): WARN_ON_ONCE(!pgmap->ops)",
            || format!("folio {head}: pgmap without ops, wake skipped"),
        );
        return;
    }
    // mem_cgroup_uncharge reads folio->memcg_data: a former page[1] that
    // kept `_nr_pages` there hands a bogus memcg to the uncharge (B3).
    let memcg = f.memcg.get();
    if memcg != 0 {
        cx.violate(
            Check::Bug("mem_cgroup_uncharge: bogus memcg_data"),
            format!("folio {head} memcg_data = {memcg} (stale _nr_pages)"),
        );
    }
    if w.has(Mutant::M9) {
        let order = folio_order(cx, head);
        if order > 0 {
            crate::dax::dax_split_folio(cx, head, order);
        }
    }
    if w.has(Mutant::M29) {
        return;
    }
    // M12: the wake names `&folio->_refcount`, not `&folio->page`.
    let key = if w.has(Mutant::M12) {
        WaitKey::VarRefcount { pfn: head }
    } else {
        WaitKey::Var { pfn: head }
    };
    wake_up_var(cx, key);
}

/// Whether any process maps the file (`mapping_mapped`: i_mmap not empty).
pub fn mapping_mapped(cx: &Cx, file: u8) -> bool {
    let w = cx.world();
    let _i = cx.down_read(&w.files[file as usize].i_mmap, LockId::IMmap(file));
    w.mms.iter().any(|m| m.vma_live[file as usize].get())
}

/// `wake_up_var(&folio->page)`.
pub fn wake_up_var(cx: &Cx, key: WaitKey) {
    cx.w.var_wq.wake_up(cx, key, WakeMode::Next);
}

/// One rmap counter change, recorded.
fn mapcount_add(cx: &Cx, pfn: u64, which: &'static str, d: i32) -> i32 {
    let f = &cx.w.frames[pfn as usize];
    let c = match which {
        "entire_mapcount" => &f.entire_mapcount,
        "large_mapcount" => &f.large_mapcount,
        _ => &f.mapcount,
    };
    let old = c.fetch_add(d, Ordering::Relaxed);
    cx.ev(What::Mapcount {
        pfn,
        which,
        old,
        new: old + d,
    });
    old + d
}

/// `folio_add_file_rmap_pte`: the page's mapcount, and the folio's
/// `_large_mapcount` when it is large.
fn folio_add_file_rmap_pte(cx: &Cx, pfn: u64) {
    mapcount_add(cx, pfn, "mapcount", 1);
    if let Some(head) = page_folio(cx, pfn) {
        if folio_order(cx, head) > 0 {
            mapcount_add(cx, head, "large_mapcount", 1);
        }
    }
}

/// `folio_remove_rmap_pte`
fn folio_remove_rmap_pte(cx: &Cx, pfn: u64) {
    let m = mapcount_add(cx, pfn, "mapcount", -1);
    cx.warn_on(
        m < 0,
        "mm/rmap.c __folio_remove_rmap: mapcount underflow",
        || format!("page {pfn} mapcount {m}"),
    );
    if let Some(head) = page_folio(cx, pfn) {
        if folio_order(cx, head) > 0 {
            mapcount_add(cx, head, "large_mapcount", -1);
        }
    }
}

/// `folio_add_file_rmap_pmd`
fn folio_add_file_rmap_pmd(cx: &Cx, head: u64) {
    mapcount_add(cx, head, "entire_mapcount", 1);
    mapcount_add(cx, head, "large_mapcount", 1);
}

/// `folio_remove_rmap_pmd`
fn folio_remove_rmap_pmd(cx: &Cx, head: u64) {
    let order = folio_order(cx, head);
    cx.warn_on(
        order != PMD_ORDER,
        "mm/rmap.c __folio_remove_rmap: VM_WARN_ON_FOLIO(PMD rmap of a small folio)",
        || format!("PMD rmap removal on folio {head} of order {order}"),
    );
    let e = mapcount_add(cx, head, "entire_mapcount", -1);
    mapcount_add(cx, head, "large_mapcount", -1);
    cx.warn_on(
        e < 0,
        "mm/huge_memory.c zap_huge_pmd: WARN_ON_ONCE(folio_mapcount(folio) < 0)",
        || format!("folio {head} entire_mapcount {e}"),
    );
}

/// The page-table slot of (mm, file, index).
fn slot(cx: &Cx, mm: u8, file: u8, index: u64) -> &crate::world::PmdSlot {
    &cx.w.mms[mm as usize].pt[file as usize][(index / PG_PMD_NR) as usize]
}

fn pte_str(p: Pte) -> String {
    match p {
        Pte::None => "none".into(),
        Pte::Present {
            pfn,
            write,
            special,
        } => {
            format!(
                "pte(pfn {pfn}{}{})",
                if write { ",W" } else { "" },
                if special { ",special" } else { "" }
            )
        }
    }
}

fn pmd_str(p: Pmd) -> String {
    match p {
        Pmd::None => "none".into(),
        Pmd::Table => "table".into(),
        Pmd::Huge {
            pfn,
            write,
            special,
        } => {
            format!(
                "pmd(pfn {pfn}{}{})",
                if write { ",W" } else { "" },
                if special { ",special" } else { "" }
            )
        }
    }
}

/// `set_pmd_at`/`pmdp_get_and_clear` under `pmd_lock`: the value, its
/// lockless view, and the step.
pub(crate) fn set_pmd(cx: &Cx, mm: u8, file: u8, base: u64, pmd: &mut Pmd, new: Pmd) {
    let old = *pmd;
    *pmd = new;
    slot(cx, mm, file, base).pmd_word.store_raw(new);
    cx.ev(What::Pte {
        mm,
        file,
        index: base,
        old: pmd_str(old),
        new: pmd_str(new),
    });
}

/// `set_pte_at`/`ptep_get_and_clear` under the PTE lock.
pub(crate) fn set_pte(
    cx: &Cx,
    mm: u8,
    file: u8,
    index: u64,
    ptes: &mut [Pte; PG_PMD_NR as usize],
    new: Pte,
) {
    let i = (index % PG_PMD_NR) as usize;
    let old = ptes[i];
    ptes[i] = new;
    slot(cx, mm, file, index).pte_words[i].store_raw(new);
    cx.ev(What::Pte {
        mm,
        file,
        index,
        old: pte_str(old),
        new: pte_str(new),
    });
}

/// `pte_alloc` under `pmd_lock`: give the slot a PTE table. Returns false if
/// a huge PMD is there (the fault raced with a PMD fault).
pub fn pte_alloc(cx: &Cx, mm: u8, file: u8, index: u64) -> bool {
    let s = slot(cx, mm, file, index);
    let sl = (index / PG_PMD_NR) as u8;
    let mut pmd = cx.lock(&s.pmd, LockId::Pmd(mm, file, sl));
    match *pmd {
        Pmd::None => {
            set_pmd(
                cx,
                mm,
                file,
                align_index(index, PMD_ORDER),
                &mut pmd,
                Pmd::Table,
            );
            true
        }
        Pmd::Table => true,
        Pmd::Huge { .. } => false,
    }
}

/// Whether the PMD of the slot is a huge mapping (`pmd_trans_huge`).
pub fn pmd_is_huge(cx: &Cx, mm: u8, file: u8, index: u64) -> bool {
    let s = slot(cx, mm, file, index);
    let pmd = cx.lock(&s.pmd, LockId::Pmd(mm, file, (index / PG_PMD_NR) as u8));
    matches!(*pmd, Pmd::Huge { .. })
}

/// `Some(writable)` if the slot holds a huge PMD (`pmd_trans_huge`).
pub fn pmd_huge_writable(cx: &Cx, mm: u8, file: u8, index: u64) -> Option<bool> {
    let s = slot(cx, mm, file, index);
    let pmd = cx.lock(&s.pmd, LockId::Pmd(mm, file, (index / PG_PMD_NR) as u8));
    match *pmd {
        Pmd::Huge { write, .. } => Some(write),
        _ => None,
    }
}

/// Whether a PTE table hangs off the slot (`!pmd_none && !pmd_trans_huge`).
pub fn pmd_is_table(cx: &Cx, mm: u8, file: u8, index: u64) -> bool {
    let s = slot(cx, mm, file, index);
    let pmd = cx.lock(&s.pmd, LockId::Pmd(mm, file, (index / PG_PMD_NR) as u8));
    matches!(*pmd, Pmd::Table)
}

/// `validate_page_before_insert`: refuses a folio with refcount 0 (the reason
/// for the fault's temporary reference).
fn validate_page_before_insert(cx: &Cx, pfn: u64) -> bool {
    if pfn == ZERO_PFN {
        return true;
    }
    match page_folio(cx, pfn) {
        Some(head) => folio_ref_count(cx, head) != 0,
        None => false,
    }
}

/// `vmf_insert_page_mkwrite` → `insert_page` → `insert_page_into_pte_locked`.
pub fn vmf_insert_page_mkwrite(
    cx: &Cx,
    mm: u8,
    file: u8,
    index: u64,
    pfn: u64,
    write: bool,
) -> Fault {
    let _f = cx.enter("vmf_insert_page_mkwrite");
    if !validate_page_before_insert(cx, pfn) {
        cx.note(format!(
            "validate_page_before_insert: page {pfn} has refcount 0: -EINVAL"
        ));
        return Fault::SigBus;
    }
    if !pte_alloc(cx, mm, file, index) {
        return Fault::NoPage;
    }
    let s = slot(cx, mm, file, index);
    let i = (index % PG_PMD_NR) as usize;
    let mut ptes = cx.lock(&s.ptes, LockId::Pte(mm, file, (index / PG_PMD_NR) as u8));
    let old = ptes[i];
    let mkwrite = write;
    let new = match old {
        Pte::Present {
            pfn: opfn,
            write: ow,
            special,
        } => {
            if !mkwrite {
                return Fault::NoPage; // -EBUSY
            }
            if opfn != pfn {
                cx.warn_on(
                    opfn != ZERO_PFN,
                    "mm/memory.c insert_page_into_pte_locked: WARN_ON_ONCE(!is_zero_pfn)",
                    || format!("PTE maps pfn {opfn}, insert of pfn {pfn}"),
                );
                return Fault::SigBus; // -EFAULT
            }
            // The mkwrite upgrade: same page, no new reference.
            if cx.w.has(Mutant::M18) {
                if let Some(head) = page_folio(cx, pfn) {
                    folio_get(cx, head);
                }
            }
            Pte::Present {
                pfn,
                write: ow || write,
                special,
            }
        }
        Pte::None if pfn == ZERO_PFN => Pte::Present {
            pfn,
            write: false,
            special: true,
        },
        Pte::None => {
            let Some(head) = page_folio(cx, pfn) else {
                return Fault::SigBus;
            };
            folio_get(cx, head);
            folio_add_file_rmap_pte(cx, pfn);
            Pte::Present {
                pfn,
                write: mkwrite,
                special: false,
            }
        }
    };
    set_pte(cx, mm, file, index, &mut ptes, new);
    Fault::NoPage
}

/// `vmf_insert_folio_pmd` (v6.15 form, and the 6.16 `insert_pmd` form).
pub fn vmf_insert_folio_pmd(
    cx: &Cx,
    mm: u8,
    file: u8,
    index: u64,
    head: u64,
    write: bool,
) -> Fault {
    let _f = cx.enter("vmf_insert_folio_pmd");
    let order = folio_order(cx, head);
    if cx.warn_on(
        order != PMD_ORDER,
        "mm/huge_memory.c vmf_insert_folio_pmd: WARN_ON_ONCE(folio_order(folio) != PMD_ORDER)",
        || format!("folio {head} has order {order}"),
    ) {
        return Fault::SigBus;
    }
    let base = align_index(index, PMD_ORDER);
    let s = slot(cx, mm, file, base);
    let mut pmd = cx.lock(&s.pmd, LockId::Pmd(mm, file, (base / PG_PMD_NR) as u8));
    let old = *pmd;
    let new = match old {
        Pmd::None => {
            folio_get(cx, head);
            folio_add_file_rmap_pmd(cx, head);
            // v6.15 built the PMD through the pfn path: special (B5).
            let special = cx.w.cfg.kernel == KernelState::V6_15 || cx.w.has(Mutant::B5);
            if special && cx.w.cfg.kernel != KernelState::V6_15 {
                // The rule since 6.16: a refcounted folio is never mapped by
                // a special PMD (vm_normal_page_pmd would skip it).
                cx.violate(
                    Check::Bug(
                        "mm/huge_memory.c insert_pmd: refcounted folio behind a special PMD",
                    ),
                    format!("PMD for folio {head} built special"),
                );
            }
            Pmd::Huge {
                pfn: head,
                write,
                special,
            }
        }
        Pmd::Huge {
            pfn,
            write: ow,
            special,
        } if write => {
            if pfn != head {
                cx.warn_on(
                    pfn != HUGE_ZERO_PFN,
                    "mm/huge_memory.c insert_pfn_pmd: WARN_ON_ONCE(!is_huge_zero_pmd)",
                    || format!("PMD maps pfn {pfn}, insert of folio {head}"),
                );
                return Fault::NoPage; // -EEXIST
            }
            Pmd::Huge {
                pfn,
                write: ow || write,
                special,
            }
        }
        _ => return Fault::NoPage, // -EEXIST
    };
    set_pmd(cx, mm, file, base, &mut pmd, new);
    Fault::NoPage
}

/// Install the huge zero folio PMD (`dax_pmd_load_hole`'s set_pmd_at):
/// FALLBACK if the pmd is not none.
pub fn set_huge_zero_pmd(cx: &Cx, mm: u8, file: u8, index: u64) -> Fault {
    let base = align_index(index, PMD_ORDER);
    let s = slot(cx, mm, file, base);
    let mut pmd = cx.lock(&s.pmd, LockId::Pmd(mm, file, (base / PG_PMD_NR) as u8));
    if *pmd != Pmd::None {
        return Fault::Fallback;
    }
    let new = Pmd::Huge {
        pfn: HUGE_ZERO_PFN,
        write: false,
        special: false,
    };
    set_pmd(cx, mm, file, base, &mut pmd, new);
    Fault::NoPage
}

/// `zap_huge_pmd` for a DAX VMA, under the PMD lock: clear, drop the rmap
/// now and the reference at the TLB flush.
fn zap_huge_pmd(cx: &Cx, mm: u8, file: u8, base: u64, pmd: &mut Pmd) {
    let _f = cx.enter("zap_huge_pmd");
    let old = *pmd;
    let Pmd::Huge { pfn, .. } = old else { return };
    set_pmd(cx, mm, file, base, pmd, Pmd::None);
    if cx.w.has(Mutant::M6) {
        // `vma_is_special_huge()` still says yes for DAX: no rmap, no put.
        return;
    }
    if pfn == HUGE_ZERO_PFN {
        return;
    }
    folio_remove_rmap_pmd(cx, pfn);
    cx.gather.borrow_mut().push(pfn);
}

/// `__split_huge_pmd_locked` for a file VMA: a DAX PMD "split" is a zap with
/// an immediate `folio_put`.
fn split_huge_pmd_locked(cx: &Cx, mm: u8, file: u8, base: u64, pmd: &mut Pmd) {
    let _f = cx.enter("__split_huge_pmd_locked");
    let old = *pmd;
    let Pmd::Huge { pfn, .. } = old else { return };
    set_pmd(cx, mm, file, base, pmd, Pmd::None);
    if cx.w.has(Mutant::M41) {
        // `vma_is_special_huge()` without the `!vma_is_dax()` guard: no rmap, no put.
        return;
    }
    if pfn == HUGE_ZERO_PFN {
        return;
    }
    folio_remove_rmap_pmd(cx, pfn);
    folio_put(cx, pfn);
}

/// `split_huge_pmd(vma, pmd, address)`.
pub fn split_huge_pmd(cx: &Cx, mm: u8, file: u8, index: u64) {
    let base = align_index(index, PMD_ORDER);
    let s = slot(cx, mm, file, base);
    let mut pmd = cx.lock(&s.pmd, LockId::Pmd(mm, file, (base / PG_PMD_NR) as u8));
    if matches!(*pmd, Pmd::Huge { .. }) {
        split_huge_pmd_locked(cx, mm, file, base, &mut pmd);
    }
}

/// `zap_pte_range` over `[first, last]` of one PMD slot's PTE table: clear,
/// remove the rmap under the PTL, queue the page for the TLB flush.
fn zap_pte_range(cx: &Cx, mm: u8, file: u8, first: u64, last: u64) {
    let _f = cx.enter("zap_pte_range");
    let s = slot(cx, mm, file, first);
    let mut ptes = cx.lock(&s.ptes, LockId::Pte(mm, file, (first / PG_PMD_NR) as u8));
    for index in first..=last {
        let i = (index % PG_PMD_NR) as usize;
        let old = ptes[i];
        let Pte::Present { pfn, special, .. } = old else {
            continue;
        };
        set_pte(cx, mm, file, index, &mut ptes, Pte::None);
        if special {
            continue; // vm_normal_page() == NULL: the zero page
        }
        if !cx.w.has(Mutant::M28) {
            folio_remove_rmap_pte(cx, pfn);
        }
        cx.gather.borrow_mut().push(pfn);
    }
}

/// `unmap_page_range` of one file VMA over `[first, last]` in `mm`, queuing
/// pages in this thread's gather.
pub fn zap_vma_range(cx: &Cx, mm: u8, file: u8, first: u64, last: u64) {
    let npages = cx.w.mms[mm as usize].pt[file as usize].len() as u64 * PG_PMD_NR;
    let last = last.min(npages.saturating_sub(1));
    let mut base = align_index(first, PMD_ORDER);
    while base <= last && base < npages {
        let s = slot(cx, mm, file, base);
        let sl = (base / PG_PMD_NR) as u8;
        let lo = first.max(base);
        let hi = last.min(base + PG_PMD_NR - 1);
        let mut pmd = cx.lock(&s.pmd, LockId::Pmd(mm, file, sl));
        match *pmd {
            Pmd::Huge { .. } if lo == base && hi == base + PG_PMD_NR - 1 => {
                zap_huge_pmd(cx, mm, file, base, &mut pmd)
            }
            Pmd::Huge { .. } => split_huge_pmd_locked(cx, mm, file, base, &mut pmd),
            Pmd::Table => {
                drop(pmd);
                zap_pte_range(cx, mm, file, lo, hi);
            }
            Pmd::None => {}
        }
        base += PG_PMD_NR;
    }
}

/// `tlb_finish_mmu`: the deferred puts land now (`folios_put_refs`), each
/// page resolved to its folio at flush time.
pub fn tlb_finish_mmu(cx: &Cx) {
    let _f = cx.enter("tlb_finish_mmu");
    let pages: Vec<u64> = std::mem::take(&mut *cx.gather.borrow_mut());
    for pfn in pages {
        if let Some(head) = page_folio(cx, pfn) {
            folio_put(cx, head);
        }
    }
}

/// `unmap_mapping_pages(mapping, first, nr, false)`: zap every process's
/// mappings of the range, finishing each VMA's gather before going on.
pub fn unmap_mapping_pages(cx: &Cx, file: u8, first: u64, last: u64) {
    let _f = cx.enter("unmap_mapping_pages");
    if cx.holds(LockId::XaLock(file)) {
        cx.violate(
            Check::LockRule("unmap_mapping_pages must not be called with xa_lock held"),
            format!("file {}", crate::trace::file_name(file)),
        );
    }
    let w = cx.world();
    let _i = cx.down_read(&w.files[file as usize].i_mmap, LockId::IMmap(file));
    for mm in &w.mms {
        if !mm.vma_live[file as usize].get() {
            continue;
        }
        zap_vma_range(cx, mm.id, file, first, last);
        tlb_finish_mmu(cx);
    }
}

/// `munmap` of the file's whole VMA in `mm`: zap, unlink the VMA from
/// `i_mmap`, then flush the gather (the references drop last).
pub fn munmap(cx: &Cx, mm: u8, file: u8) {
    let _f = cx.enter("munmap");
    let w = cx.world();
    let m = &w.mms[mm as usize];
    let _l = cx.down_write(&m.mmap_lock, LockId::MmapLock(mm));
    if !m.vma_live[file as usize].get() {
        return;
    }
    zap_vma_range(cx, mm, file, 0, u64::MAX);
    {
        let _i = cx.down_write(&w.files[file as usize].i_mmap, LockId::IMmap(file));
        m.vma_live[file as usize].set(false);
        cx.note(format!(
            "unlink_file_vma: mm{mm} VMA of {} leaves i_mmap",
            crate::trace::file_name(file)
        ));
    }
    tlb_finish_mmu(cx);
}

/// `madvise(MADV_DONTNEED)` over `[first, last]` of one file VMA
/// (`madvise_dontneed_single_vma`): `mmap_lock` shared, zap, flush. A range
/// inside a huge PMD splits it (`__split_huge_pmd_locked`).
pub fn madvise_dontneed(cx: &Cx, mm: u8, file: u8, first: u64, last: u64) {
    let _f = cx.enter("madvise_dontneed");
    let m = &cx.w.mms[mm as usize];
    let _l = cx.down_read(&m.mmap_lock, LockId::MmapLock(mm));
    if !m.vma_live[file as usize].get() {
        return;
    }
    zap_vma_range(cx, mm, file, first, last);
    tlb_finish_mmu(cx);
}

/// Restore the per-frame `pgmap` (split path helper): every DAX frame points
/// back to the one pgmap.
pub fn page_pgmap(cx: &Cx, pfn: u64) -> Option<u8> {
    let f = &cx.w.frames[pfn as usize];
    if f.kind == FrameKind::Dax {
        crate::access::read(cx, pfn, "pgmap", &f.pgmap, |v| {
            Val::Num(v.unwrap_or(0) as u64)
        })
    } else {
        None
    }
}
