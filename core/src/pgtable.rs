//! Page-table entry values as the model stores them: a PTE or PMD, its
//! trace form (`pte(pfn 9,W)`), and its word encoding for the lockless
//! walker's marked cells.

use crate::sync::shadow::Word;

impl Word for Pte {
    fn to_word(self) -> u64 {
        match self {
            Pte::None => 0,
            Pte::Present {
                pfn,
                write,
                special,
            } => 1 | (write as u64) << 1 | (special as u64) << 2 | pfn << 8,
        }
    }
    fn from_word(w: u64) -> Self {
        if w & 1 == 0 {
            Pte::None
        } else {
            Pte::Present {
                pfn: w >> 8,
                write: w & 2 != 0,
                special: w & 4 != 0,
            }
        }
    }
}

impl Word for Pmd {
    fn to_word(self) -> u64 {
        match self {
            Pmd::None => 0,
            Pmd::Table => 1,
            Pmd::Huge {
                pfn,
                write,
                special,
            } => 2 | (write as u64) << 2 | (special as u64) << 3 | pfn << 8,
        }
    }
    fn from_word(w: u64) -> Self {
        match w & 3 {
            0 => Pmd::None,
            1 => Pmd::Table,
            _ => Pmd::Huge {
                pfn: w >> 8,
                write: w & 4 != 0,
                special: w & 8 != 0,
            },
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pmd {
    None,
    /// Points to the slot's PTE table.
    Table,
    Huge {
        pfn: u64,
        write: bool,
        special: bool,
    },
}

/// As the trace shows it: `none`, `table`, `pmd(pfn 8,W)`.
impl std::fmt::Display for Pmd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            Pmd::None => f.write_str("none"),
            Pmd::Table => f.write_str("table"),
            Pmd::Huge {
                pfn,
                write,
                special,
            } => write!(f, "pmd(pfn {pfn}{})", flags(write, special)),
        }
    }
}

/// The `,W` / `,special` suffix of a present entry.
fn flags(write: bool, special: bool) -> &'static str {
    match (write, special) {
        (false, false) => "",
        (true, false) => ",W",
        (false, true) => ",special",
        (true, true) => ",W,special",
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pte {
    None,
    Present {
        pfn: u64,
        write: bool,
        special: bool,
    },
}

/// As the trace shows it: `none`, `pte(pfn 9,W)`.
impl std::fmt::Display for Pte {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            Pte::None => f.write_str("none"),
            Pte::Present {
                pfn,
                write,
                special,
            } => write!(f, "pte(pfn {pfn}{})", flags(write, special)),
        }
    }
}
