//! `mm/gup.c` (v6.15) for fsdax pages (spec §3.12.5): the slow path under
//! the PTL, GUP-fast (lockless walk, inc-not-zero, re-check), FOLL_PIN
//! accounting and unpin, which resolves the folio at unpin time.

use crate::config::Mutant;
use crate::cx::{Cx, LockId};
use crate::entry::*;
use crate::mm::folio::{folio_order, folio_put_refs, folio_ref_count, page_folio, ref_add};
use crate::mm::memory::handle_mm_fault_locked;
use crate::sync::Ordering;
use crate::trace::What;
use crate::violation::{Check, Inv};
use crate::vm::{Fault, FaultSize};
use crate::world::{File, Mm, PinRec, Pmd, Pte, HUGE_ZERO_PFN, ZERO_PFN};

/// `include/linux/mm.h` `GUP_PIN_COUNTING_BIAS`: a FOLL_PIN on a small folio
/// adds this much.
pub const GUP_PIN_COUNTING_BIAS: i32 = 1024;

/// `mm/gup.c` `gup_flags`: the FOLL_* bits the model distinguishes.
#[derive(Clone, Copy, Debug, Default)]
pub struct GupFlags {
    /// FOLL_WRITE
    pub write: bool,
    /// FOLL_PIN (else FOLL_GET)
    pub pin: bool,
    /// FOLL_LONGTERM
    pub longterm: bool,
    /// The VMA is PMD-aligned: a fault-in tries a PMD fault first.
    pub huge: bool,
    /// FOLL_FAST_ONLY: GUP-fast without the slow-path fallback.
    pub fast_only: bool,
}

/// A page returned by GUP, to be released by `unpin_user_page`/`put_page`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pinned {
    pub page: u64,
    pub pin: bool,
}

/// Model bookkeeping: note an outstanding GUP reference for I1.
pub(crate) fn record(cx: &Cx, page: u64, head: u64, refs: i32, large: bool) {
    let mut p = cx.w.pins.lock().unwrap_or_else(|e| e.into_inner());
    p.push(PinRec {
        tid: cx.tid,
        page,
        head,
        refs,
        large,
    });
}

/// The references a GET or PIN of one page adds to its folio.
fn grab_amount(large: bool, flags: GupFlags) -> i32 {
    if flags.pin && !large {
        GUP_PIN_COUNTING_BIAS
    } else {
        1
    }
}

/// `atomic_add(d, &folio->_pincount)` (a `page[1]` word), recorded.
fn pincount_add(cx: &Cx, head: u64, d: i32) {
    let old = cx.w.frames[head as usize + 1]
        .pincount
        .fetch_add(d, Ordering::Relaxed);
    cx.ev(What::Mapcount {
        pfn: head,
        which: "_pincount",
        old,
        new: old + d,
    });
}

/// `mm/gup.c` `try_grab_folio` (slow path, under the PTL): fails on refcount <=
/// 0.
fn try_grab_folio(cx: &Cx, page: u64, head: u64, flags: GupFlags) -> bool {
    let _f = cx.enter("try_grab_folio");
    let r = folio_ref_count(cx, head);
    if cx.warn_on(
        r <= 0,
        "mm/gup.c try_grab_folio: WARN_ON_ONCE(folio_ref_count(folio) <= 0)",
        || format!("folio {head} refcount {r}"),
    ) {
        return false;
    }
    let large = folio_order(cx, head) > 0;
    let refs = grab_amount(large, flags);
    ref_add(
        cx,
        head,
        refs,
        Ordering::Relaxed,
        if flags.pin {
            "try_grab_folio(PIN)"
        } else {
            "try_grab_folio(GET)"
        },
    );
    if flags.pin && large {
        pincount_add(cx, head, 1);
    }
    record(cx, page, head, refs, large);
    true
}

/// FOLL_LONGTERM on fsdax is refused (e5cb23256347); I18 checks that no
/// long-term pin ever succeeds.
fn longterm_refused(cx: &Cx, flags: GupFlags) -> bool {
    if flags.longterm && !cx.w.has(Mutant::M39) {
        cx.note("check_vma_flags: FOLL_LONGTERM on an fsdax VMA: -EOPNOTSUPP");
        return true;
    }
    false
}

/// `mm/gup.c` `__get_user_pages` → `follow_page_mask` for one page, faulting it
/// in (`faultin_page`) once if it is not mapped as needed.
pub fn __get_user_pages(
    cx: &Cx,
    mm: Mm,
    file: File,
    index: u64,
    flags: GupFlags,
) -> Result<Pinned, &'static str> {
    let _f = cx.enter("__get_user_pages");
    let (mm, file) = (mm.0, file.0);
    let w = &cx.w;
    let m = &w.mms[mm as usize];
    let _l = cx.down_read(&m.mmap_lock, LockId::MmapLock(mm));
    if !m.vma_live[file as usize].get() {
        return Err("-EFAULT");
    }
    if longterm_refused(cx, flags) {
        return Err("-EOPNOTSUPP");
    }
    for attempt in 0..2 {
        match follow_page_mask(cx, mm, file, index, flags) {
            Some(Ok(p)) => {
                if flags.longterm {
                    cx.violate(
                        Check::Inv(Inv::NoLongtermPins),
                        format!("FOLL_LONGTERM pin of fsdax page {} succeeded", p.page),
                    );
                }
                return Ok(p);
            }
            Some(Err(e)) => return Err(e),
            None if attempt == 0 => {
                let size = if flags.huge {
                    FaultSize::Pmd
                } else {
                    FaultSize::Pte
                };
                let r = handle_mm_fault_locked(cx, mm, file, index, flags.write, size);
                if r != Fault::NoPage {
                    return Err("-EFAULT");
                }
            }
            None => {}
        }
    }
    Err("-EFAULT")
}

/// A page-table leaf at one address as a GUP grab sees it: which level,
/// and the pfn it maps there with its write bit (None: not present).
#[derive(Clone, Copy)]
struct Leaf {
    what: &'static str,
    maps: Option<(u64, bool)>,
}

impl Leaf {
    fn of_pmd(p: Pmd, index: u64) -> Leaf {
        Leaf {
            what: "PMD",
            maps: match p {
                Pmd::Huge { pfn, write, .. } => {
                    Some((pfn + (index - align_index(index, PMD_ORDER)), write))
                }
                _ => None,
            },
        }
    }

    fn of_pte(p: Pte) -> Leaf {
        Leaf {
            what: "PTE",
            maps: match p {
                Pte::Present { pfn, write, .. } => Some((pfn, write)),
                Pte::None => None,
            },
        }
    }
}

/// The postcondition of a FOLL_WRITE grab, judged on the leaf as it was
/// when the grab took effect: read from the page table under the PTL in the
/// slow path; in GUP-fast, the value its re-check read (a relaxed read may
/// return an older value than the latest store, and that value is what the
/// re-check validated). `can_follow_write_pte` and `can_follow_write_pmd`
/// (a shared mapping: no FOLL_FORCE override) and GUP-fast's
/// `pte_access_permitted`/`pmd_access_permitted` grant it only through a
/// writable PTE/PMD of that page, which only the write fault installs,
/// after tagging the entry DIRTY (I16); a read-only one sends the slow path
/// to `faultin_page` with FAULT_FLAG_WRITE and GUP-fast to the slow path.
/// So no zero folio is ever pinned for write: its PTE/PMD is never
/// writable. Only at this moment: the entry's DIRTY tag is not re-checked
/// here (a CoW write(2) clears it before it zaps the writable PTE), and
/// afterwards fsync may clean the entry and write-protect the PTE while the
/// pin is held (GUP does not hold off writeback). None when it holds.
fn write_grab_unmapped(mm: u8, file: u8, index: u64, page: u64, leaf: Leaf) -> Option<String> {
    let Leaf { what, maps: mapped } = leaf;
    let zero = if page == ZERO_PFN {
        " (the zero page)"
    } else if page == HUGE_ZERO_PFN || page == HUGE_ZERO_PFN + 1 {
        " (the huge zero folio)"
    } else {
        ""
    };
    let broken = match mapped {
        Some((pfn, true)) if pfn == page => return None,
        Some((pfn, true)) => format!("its {what} maps pfn {pfn}"),
        Some((_, false)) => format!("its {what} is read-only"),
        None => format!("no {what} maps it"),
    };
    let harm = if zero.is_empty() {
        "no write fault tagged the entry DIRTY, so data written through the pin escapes fsync"
    } else {
        "a write through the pin would change the zero folio every hole maps"
    };
    Some(format!(
        "FOLL_WRITE pin of mm{mm} {}[{index}] -> pfn {page}{zero} granted, but {broken}: {harm}",
        crate::trace::file_name(file)
    ))
}

/// A broken [`write_grab_unmapped`] is I16's: data written through the pin
/// would bypass dirty tracking, as through a writable PTE of a clean entry.
fn violate_write_grab(cx: &Cx, broken: Option<String>) {
    if let Some(detail) = broken {
        cx.violate(Check::Inv(Inv::DirtyTracking), detail);
    }
}

/// `pmd_write(pmd)` as the FOLL_WRITE test of a huge PMD reads it; M54
/// inverts it in both paths (refusing a writable PMD, granting a read-only
/// one).
fn pmd_write_as_tested(cx: &Cx, write: bool) -> bool {
    write != cx.w.has(Mutant::M54)
}

/// The grab at the end of `follow_huge_pmd` and `follow_page_pte`, under
/// the PTL that `leaf` reads the mapping through: a FOLL_WRITE pin is
/// checked against the leaf as it stands once the grab has taken effect.
fn grab_under_ptl(
    cx: &Cx,
    (mm, file, index): (u8, u8, u64),
    page: u64,
    head: u64,
    flags: GupFlags,
    leaf: impl FnOnce() -> Leaf,
) -> Result<Pinned, &'static str> {
    if !try_grab_folio(cx, page, head, flags) {
        return Err("-ENOMEM");
    }
    if flags.write {
        violate_write_grab(cx, write_grab_unmapped(mm, file, index, page, leaf()));
    }
    Ok(Pinned {
        page,
        pin: flags.pin,
    })
}

/// `mm/gup.c` `follow_page_mask`: under the PMD or PTE lock, grab the page if
/// it is mapped with the access asked for. None: fault it in first.
fn follow_page_mask(
    cx: &Cx,
    mm: u8,
    file: u8,
    index: u64,
    flags: GupFlags,
) -> Option<Result<Pinned, &'static str>> {
    let _f = cx.enter("follow_page_mask");
    let s = &cx.w.mms[mm as usize].pt[file as usize][(index / PG_PMD_NR) as usize];
    let sl = (index / PG_PMD_NR) as u8;
    let pmd = cx.lock(&s.pmd, LockId::Pmd(mm, file, sl));
    match *pmd {
        Pmd::Huge { pfn, write, .. } => {
            if flags.write && !pmd_write_as_tested(cx, write) {
                return None;
            }
            let page = pfn + (index - align_index(index, PMD_ORDER));
            Some(grab_under_ptl(
                cx,
                (mm, file, index),
                page,
                pfn,
                flags,
                || Leaf::of_pmd(s.pmd_word.peek(), index),
            ))
        }
        Pmd::None => None,
        Pmd::Table => {
            drop(pmd);
            let ptes = cx.lock(&s.ptes, LockId::Pte(mm, file, sl));
            match ptes[(index % PG_PMD_NR) as usize] {
                Pte::None => None,
                Pte::Present { special: true, .. } => {
                    Some(Err("-EFAULT (zero page: not a DAX folio)"))
                }
                // M53 grants a FOLL_WRITE pin of a read-only PTE.
                Pte::Present { write, .. } if flags.write && !write && !cx.w.has(Mutant::M53) => {
                    None
                }
                Pte::Present { pfn, .. } => {
                    let head = page_folio(cx, pfn)?;
                    Some(grab_under_ptl(
                        cx,
                        (mm, file, index),
                        pfn,
                        head,
                        flags,
                        || Leaf::of_pte(s.pte_words[(index % PG_PMD_NR) as usize].peek()),
                    ))
                }
            }
        }
    }
}

/// `mm/gup.c` `gup_fast_fallback` for one page, as `get_user_pages_fast` /
/// `pin_user_pages_fast` call it: the lockless walk, falling back to the slow
/// path when it bails, unless `FOLL_FAST_ONLY` (`get_user_pages_fast_only`)
/// forbids the fallback (and so any fault in the slow path). Recorded as
/// `gup_fast`, the function whose walk the scope stands for.
pub fn gup_fast(
    cx: &Cx,
    mm: Mm,
    file: File,
    index: u64,
    flags: GupFlags,
) -> Result<Pinned, &'static str> {
    let _f = cx.enter("gup_fast");
    let walked = gup_fast_pgd_range(cx, mm.0, file.0, index, flags);
    if flags.fast_only {
        return walked.ok_or("-EFAULT (fast only)");
    }
    if let Some(p) = walked {
        return Ok(p);
    }
    cx.note("gup_fast bailed: slow path");
    __get_user_pages(cx, mm, file, index, flags)
}

/// `mm/gup.c` `folio_try_get`: inc-not-zero, fully ordered.
fn folio_try_get(cx: &Cx, head: u64, refs: i32) -> bool {
    let c = &cx.w.frames[head as usize].refcount;
    if cx.w.has(Mutant::M20) {
        // A plain increment: a freed folio goes 0 → refs.
        let old = c.fetch_add(refs, Ordering::SeqCst);
        cx.ev(What::Ref {
            pfn: head,
            old,
            new: old + refs,
            how: "folio_ref_add (no zero check)",
        });
        return true;
    }
    // atomic_add_unless(&refcount, refs, 0): read, then cmpxchg, retried.
    loop {
        let old = c.load(Ordering::Relaxed);
        cx.ev(What::Read {
            pfn: head,
            what: "refcount",
            val: old,
        });
        if old == 0 {
            cx.note("folio_try_get: refcount is 0, fail");
            return false;
        }
        match c.compare_exchange(old, old + refs, Ordering::SeqCst) {
            Ok(_) => {
                cx.ev(What::Ref {
                    pfn: head,
                    old,
                    new: old + refs,
                    how: "folio_try_get",
                });
                return true;
            }
            Err(_) => cx.note("folio_try_get: cmpxchg lost, retry"),
        }
    }
}

/// `mm/gup.c` `gup_fast_pte_range` / `gup_fast_pmd_leaf` for one address: None
/// when it bails to the slow path.
fn gup_fast_pgd_range(cx: &Cx, mm: u8, file: u8, index: u64, flags: GupFlags) -> Option<Pinned> {
    let s = &cx.w.mms[mm as usize].pt[file as usize][(index / PG_PMD_NR) as usize];
    let pmd = cx.read_once(index, "pmd (lockless)", &s.pmd_word, |p| {
        crate::trace::Val::Num(crate::sync::shadow::Word::to_word(p))
    });
    // The re-check returns whether the walk still stands and the leaf it
    // read (what the grab took effect through).
    type Reread<'a> = Box<dyn Fn() -> (bool, Leaf) + 'a>;
    let (page, head_guess, walked, reread): (u64, u64, Leaf, Reread) = match pmd {
        Pmd::None => return None,
        Pmd::Huge { special: true, .. } => return None, // v6.15 (B5): special PMDs go slow
        Pmd::Huge { pfn, write, .. } => {
            if flags.write && !pmd_write_as_tested(cx, write) {
                return None;
            }
            let page = pfn + (index - align_index(index, PMD_ORDER));
            let cur = pmd;
            (
                page,
                pfn,
                Leaf::of_pmd(pmd, index),
                Box::new(move || {
                    let now = cx.read_once(index, "pmd (recheck)", &s.pmd_word, word);
                    (now == cur, Leaf::of_pmd(now, index))
                }),
            )
        }
        Pmd::Table => {
            let i = (index % PG_PMD_NR) as usize;
            let pte = cx.read_once(index, "pte (lockless)", &s.pte_words[i], word);
            match pte {
                Pte::None | Pte::Present { special: true, .. } => return None,
                // M52 lets GUP-fast grab a read-only PTE for FOLL_WRITE.
                Pte::Present { write, .. } if flags.write && !write && !cx.w.has(Mutant::M52) => {
                    return None
                }
                Pte::Present { pfn, .. } => {
                    let head = page_folio(cx, pfn)?;
                    // gup_fast_pte_range re-checks the PMD value it walked
                    // through as well as the PTE (a PTE table freed or
                    // replaced under the walk).
                    let cur = pmd;
                    (
                        pfn,
                        head,
                        Leaf::of_pte(pte),
                        Box::new(move || {
                            let pmd_now = cx.read_once(index, "pmd (recheck)", &s.pmd_word, word);
                            if pmd_now != cur {
                                return (false, Leaf::of_pmd(pmd_now, index));
                            }
                            let now = cx.read_once(index, "pte (recheck)", &s.pte_words[i], word);
                            // M61 inverts the test: an unchanged PTE bails,
                            // a changed one keeps the reference.
                            let same = (now == pte) != cx.w.has(crate::config::Mutant::M61);
                            (same, Leaf::of_pte(now))
                        }),
                    )
                }
            }
        }
    };
    // try_grab_folio_fast: take the reference, then make sure the folio did
    // not change under us.
    if !folio_try_get(cx, head_guess, 1) {
        return None;
    }
    let head = page_folio(cx, page)?;
    if head != head_guess {
        folio_put_refs(cx, head_guess, 1);
        cx.note("gup_fast: folio changed under us (split): retry in the slow path");
        return None;
    }
    // Still try_grab_folio_fast, FOLL_PIN: a FOLL_LONGTERM pin checks
    // folio_is_longterm_pinnable() only now, with the reference taken; an
    // fsdax folio is not, so the reference is put again. A busy scan that
    // reads the refcount in between sees it (F3).
    if flags.longterm {
        cx.note("try_grab_folio_fast: FOLL_LONGTERM and !folio_is_longterm_pinnable (fsdax): put");
        folio_put_refs(cx, head, 1);
        return None;
    }
    let large = folio_order(cx, head) > 0;
    let refs = grab_amount(large, flags);
    if refs > 1 {
        ref_add(
            cx,
            head,
            refs - 1,
            Ordering::Relaxed,
            "folio_ref_add(PIN bias)",
        );
    }
    if flags.pin && large {
        pincount_add(cx, head, 1);
    }
    // M20 skips the re-check: the grab takes effect through the walked leaf.
    let (stands, leaf) = if cx.w.has(Mutant::M20) {
        (true, walked)
    } else {
        reread()
    };
    if !stands {
        folio_put_refs(cx, head, refs);
        if flags.pin && large {
            pincount_add(cx, head, -1);
        }
        cx.note("gup_fast: PTE/PMD changed: put and bail");
        return None;
    }
    let write_post = flags
        .write
        .then(|| write_grab_unmapped(mm, file, index, page, leaf))
        .flatten();
    if !large {
        // gup_fast_folio_allowed: an order-0 folio whose mapping is NULL
        // (shared or just disassociated) is not pinned here.
        let m = cx.read_once(
            head,
            "mapping",
            &cx.w.frames[head as usize].mapping_once,
            crate::trace::Val::Mapping,
        );
        if m.is_none() {
            folio_put_refs(cx, head, refs);
            cx.note("gup_fast_folio_allowed: folio->mapping is NULL: bail");
            return None;
        }
    }
    violate_write_grab(cx, write_post);
    record(cx, page, head, refs, large);
    Some(Pinned {
        page,
        pin: flags.pin,
    })
}

/// A page-table word as a trace value (the lockless walk's reads).
fn word<T: crate::sync::shadow::Word>(v: T) -> crate::trace::Val {
    crate::trace::Val::Num(v.to_word())
}

/// `mm/gup.c` `unpin_user_page` / `put_page`: the folio is resolved now, at
/// unpin time.
pub fn unpin_user_page(cx: &Cx, p: Pinned) {
    let _f = cx.enter(if p.pin { "unpin_user_page" } else { "put_page" });
    let Some(head) = page_folio(cx, p.page) else {
        return;
    };
    let large = folio_order(cx, head) > 0;
    let refs = grab_amount(
        large,
        GupFlags {
            pin: p.pin,
            ..GupFlags::default()
        },
    );
    {
        let mut pins = cx.w.pins.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(i) = pins
            .iter()
            .position(|r| r.tid == cx.tid && r.page == p.page)
        {
            pins.remove(i);
        }
    }
    if p.pin && large {
        pincount_add(cx, head, -1);
    }
    folio_put_refs(cx, head, refs);
}
