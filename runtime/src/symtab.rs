//! A compact, sorted symbol table for symbolizing kernel addresses.
//!
//! The bootloader loads only the kernel's loadable segments, so the ELF `.symtab`
//! is not in memory at run time. Instead the host build (`boot/build.rs`) reads
//! the kernel ELF, keeps its function symbols, and writes them in the format below;
//! the disk image carries the blob as the bootloader's ramdisk, and the kernel
//! looks program counters up in it when it prints a backtrace or a fault report.
//!
//! ## Format (little-endian)
//! ```text
//! magic   8 bytes  "GORTSYM1"
//! count   u32      number of entries
//! entries count x { addr: u64, size: u32, name_off: u32 }   sorted by addr
//! names   NUL-terminated mangled names, referenced by name_off from the start of `names`
//! ```
//! ## Invariants
//! - Entries are sorted by address, so a lookup is one binary search.
//! - [`Table::parse`] validates every offset once, so [`Table::lookup`] can never
//!   index out of bounds, whatever bytes it was handed (a corrupt ramdisk gives
//!   `None`, not a fault inside the fault handler).
//! - Names stay mangled (demangling needs no allocation; the kernel demangles
//!   at print time with `rustc-demangle`).
use alloc::vec::Vec;

const MAGIC: &[u8; 8] = b"GORTSYM1";
const ENTRY: usize = 16;

/// One function symbol, as read from the ELF.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Symbol<'a> {
    pub addr: u64,
    pub size: u32,
    pub name: &'a str,
}

/// Encodes `symbols` (any order; duplicates at one address keep the first name).
pub fn encode(symbols: &[Symbol<'_>]) -> Vec<u8> {
    let mut sorted: Vec<Symbol<'_>> = symbols.to_vec();
    sorted.sort_by_key(|s| s.addr);
    sorted.dedup_by_key(|s| s.addr);
    let mut names = Vec::new();
    let mut out = Vec::with_capacity(12 + sorted.len() * ENTRY);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&(sorted.len() as u32).to_le_bytes());
    for s in &sorted {
        out.extend_from_slice(&s.addr.to_le_bytes());
        out.extend_from_slice(&s.size.to_le_bytes());
        out.extend_from_slice(&(names.len() as u32).to_le_bytes());
        names.extend_from_slice(s.name.as_bytes());
        names.push(0);
    }
    out.extend_from_slice(&names);
    out
}

/// A validated view of an encoded table.
#[derive(Clone, Copy, Debug)]
pub struct Table<'a> {
    entries: &'a [u8],
    names: &'a [u8],
}

/// Where an address falls.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Location<'a> {
    /// The mangled name of the enclosing function.
    pub name: &'a str,
    /// Bytes from the function's start.
    pub offset: u64,
}

impl<'a> Table<'a> {
    /// Validates `bytes`; `None` if it is not a well-formed table.
    pub fn parse(bytes: &'a [u8]) -> Option<Self> {
        let rest = bytes.strip_prefix(MAGIC)?;
        let count = u32::from_le_bytes(rest.get(..4)?.try_into().ok()?) as usize;
        let rest = &rest[4..];
        let entries = rest.get(..count.checked_mul(ENTRY)?)?;
        let names = &rest[entries.len()..];
        let table = Table { entries, names };
        let mut prev = 0;
        for i in 0..count {
            let (addr, _, off) = table.entry(i);
            let name = names.get(off as usize..)?;
            let end = name.iter().position(|&b| b == 0)?;
            core::str::from_utf8(&name[..end]).ok()?;
            if addr < prev {
                return None;
            }
            prev = addr;
        }
        Some(table)
    }

    /// Number of symbols.
    pub fn len(&self) -> usize {
        self.entries.len() / ENTRY
    }

    /// True if the table has no symbols.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn entry(&self, i: usize) -> (u64, u32, u32) {
        let e = &self.entries[i * ENTRY..(i + 1) * ENTRY];
        let word = |r: core::ops::Range<usize>| u32::from_le_bytes(e[r].try_into().unwrap());
        (u64::from_le_bytes(e[..8].try_into().unwrap()), word(8..12), word(12..16))
    }

    fn name(&self, off: u32) -> &'a str {
        let name = &self.names[off as usize..];
        let end = name.iter().position(|&b| b == 0).unwrap_or(name.len());
        // Validated in `parse`.
        core::str::from_utf8(&name[..end]).unwrap_or("?")
    }

    /// The function containing `pc`: the last symbol at or below it, if `pc` lies
    /// within its size (a zero size counts as "up to the next symbol").
    pub fn lookup(&self, pc: u64) -> Option<Location<'a>> {
        let n = self.len();
        // First index whose address is > pc.
        let (mut lo, mut hi) = (0, n);
        while lo < hi {
            let mid = (lo + hi) / 2;
            if self.entry(mid).0 <= pc {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        let (addr, size, off) = self.entry(lo.checked_sub(1)?);
        let offset = pc - addr;
        if size != 0 && offset >= u64::from(size) {
            return None;
        }
        Some(Location { name: self.name(off), offset })
    }

    /// The address of the symbol named `name` (mangled or a demangled prefix match is
    /// the caller's business; this is an exact match on the stored name).
    pub fn address_of(&self, name: &str) -> Option<u64> {
        (0..self.len()).map(|i| self.entry(i)).find(|e| self.name(e.2) == name).map(|e| e.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<u8> {
        encode(&[
            Symbol { addr: 0x3000, size: 0x10, name: "c" },
            Symbol { addr: 0x1000, size: 0x100, name: "a" },
            Symbol { addr: 0x2000, size: 0, name: "b" },
            Symbol { addr: 0x2000, size: 8, name: "b_alias" },
        ])
    }

    #[test]
    fn lookup_finds_enclosing_function() {
        let bytes = sample();
        let t = Table::parse(&bytes).unwrap();
        assert_eq!(t.len(), 3);
        assert_eq!(t.lookup(0x1000), Some(Location { name: "a", offset: 0 }));
        assert_eq!(t.lookup(0x10ff), Some(Location { name: "a", offset: 0xff }));
        assert_eq!(t.lookup(0x1100), None, "past a's size");
        assert_eq!(t.lookup(0x2fff), Some(Location { name: "b", offset: 0xfff }), "size 0 runs on");
        assert_eq!(t.lookup(0x300f), Some(Location { name: "c", offset: 0xf }));
        assert_eq!(t.lookup(0x3010), None);
        assert_eq!(t.lookup(0xfff), None, "below the first symbol");
        assert_eq!(t.address_of("c"), Some(0x3000));
        assert_eq!(t.address_of("zz"), None);
    }

    #[test]
    fn empty_table() {
        let bytes = encode(&[]);
        let t = Table::parse(&bytes).unwrap();
        assert!(t.is_empty());
        assert_eq!(t.lookup(42), None);
    }

    #[test]
    fn corrupt_tables_are_rejected_not_trusted() {
        let good = sample();
        assert!(Table::parse(&good[..good.len() - 1]).is_none(), "last NUL cut off");
        assert!(Table::parse(&good[..20]).is_none(), "entries cut off");
        assert!(Table::parse(b"GORTSYM0\0\0\0\0").is_none(), "bad magic");
        let mut huge = good.clone();
        huge[8..12].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(Table::parse(&huge).is_none(), "count overflows the blob");
        let mut bad_off = good.clone();
        bad_off[12 + 12..12 + 16].copy_from_slice(&9999u32.to_le_bytes());
        assert!(Table::parse(&bad_off).is_none(), "name offset out of range");
        let mut unsorted = good;
        unsorted[12..20].copy_from_slice(&0xffffu64.to_le_bytes());
        assert!(Table::parse(&unsorted).is_none(), "unsorted");
        // Every truncation of a valid table either parses or is refused; none panics.
        let bytes = sample();
        for n in 0..bytes.len() {
            let _ = Table::parse(&bytes[..n]).map(|t| t.lookup(0x2000));
        }
    }
}
