//! The page allocator: which of the heap's 8 KiB pages are free, and the
//! lowest run of `n` free ones, at a cost that does not grow with the heap
//! (Go's mpagealloc.go).
//!
//! ## Go's design, and ours
//! Go keeps a bitmap of the heap's pages (a bit per page, set = in use) and,
//! over it, a radix tree of summaries: for each run of the bitmap, the
//! length of its free prefix (`start`), its longest free run (`max`) and its
//! free suffix (`end`) — `pallocSum`. Two neighbours' summaries make their
//! parent's without looking at the bits, so a search descends from the root
//! to the first place a run of `n` fits. Go's tree has five levels of fan-out
//! 8 over 512-page chunks, sized for 48-bit address spaces.
//!
//! Ours keeps the same summaries in a complete binary tree over 64-page
//! leaves (one `u64` of the bitmap each), sized for the region the machine
//! reserves (a power-of-two number of leaves, the unused tail marked in
//! use). A binary tree has more levels than Go's (19 for 4 GiB of pages
//! against 5), but each is one summary, not eight: the search reads two
//! summaries per level, where Go's scans up to eight. What matters here is
//! what Go gets too: [`alloc`](PageAlloc::alloc) reads `O(log pages)`
//! summaries and one leaf however fragmented the heap is, and marking a
//! run costs its length in words plus `O(log pages)` summaries.
//!
//! ## The search (first fit, lowest address, as Go)
//! At a node whose `max` is at least `n`: if the left child's `max` is, the
//! run is there (any run of `n` in the left child that is not its free
//! suffix ends before that suffix starts); else if the left child's free
//! suffix and the right child's free prefix make `n` together, the run
//! starts where that suffix does; else it is in the right child. In a leaf,
//! a run of `n` ≤ 64 free bits is found with shifts. A run longer than a
//! leaf is always found at an inner node (a leaf's `max` is at most 64).
//!
//! ## Invariants
//! - A leaf's summary is that of its bitmap word; an inner node's is the
//!   merge of its children's (`merge`); the root's `max` is the longest free
//!   run of the whole region.
//! - Pages past the region's length are in use from the start and never
//!   freed, so no run reaches past the end.
//!
//! The caller serialises access (the heap's lock): this is the heap's
//! slow path, reached when an mcentral needs a span or a large object is
//! made.
use alloc::vec;
use alloc::vec::Vec;

/// Pages per leaf: one bitmap word.
const LEAF_PAGES: usize = 64;

/// Go's `pallocSum`: the free prefix, longest free run and free suffix of a
/// range of pages, in pages.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Sum {
    start: u32,
    max: u32,
    end: u32,
}

impl Sum {
    /// The summary of one leaf's bitmap word (bit `i` set = page `i` in use).
    fn of_word(word: u64) -> Sum {
        let free = !word;
        if free == 0 {
            return Sum::default();
        }
        Sum { start: free.trailing_ones(), max: longest_ones(free), end: free.leading_ones() }
    }

    /// The summary of two neighbouring ranges of `half` pages each.
    fn merge(left: Sum, right: Sum, half: u32) -> Sum {
        Sum {
            start: if left.start == half { half + right.start } else { left.start },
            max: left.max.max(right.max).max(left.end + right.start),
            end: if right.end == half { half + left.end } else { right.end },
        }
    }
}

/// The length of the longest run of set bits in `x`.
fn longest_ones(mut x: u64) -> u32 {
    let mut n = 0;
    while x != 0 {
        x &= x << 1;
        n += 1;
    }
    n
}

/// The lowest bit index at which `n` (1..=64) set bits of `x` begin, if any.
fn first_run_of_ones(x: u64, n: u32) -> Option<u32> {
    // After k steps, bit i of `runs` is set iff bits i..i+k of x all are.
    let mut runs = x;
    let mut have = 1;
    while have < n && runs != 0 {
        let step = have.min(n - have);
        runs &= runs >> step;
        have += step;
    }
    (runs != 0).then(|| runs.trailing_zeros())
}

/// A bitmap of pages with a summary tree over it.
pub struct PageAlloc {
    /// Pages the allocator manages; the rest of the last leaves stay in use.
    pages: usize,
    /// One word per leaf.
    bits: Vec<u64>,
    /// Heap-ordered complete binary tree: node 1 is the root, node `i` has
    /// children `2i` and `2i + 1`, leaf `k` is node `leaves + k`.
    sums: Vec<Sum>,
    leaves: usize,
    /// Pages in use (in the managed range).
    in_use: usize,
}

impl PageAlloc {
    /// An allocator for `pages` pages, all in use until [`free`](Self::free)d
    /// (the heap frees a range when it grows into it).
    pub fn new(pages: usize) -> PageAlloc {
        assert!(pages > 0 && pages <= u32::MAX as usize / 2, "page allocator of {pages} pages");
        let leaves = pages.div_ceil(LEAF_PAGES).next_power_of_two();
        PageAlloc { pages, bits: vec![u64::MAX; leaves], sums: vec![Sum::default(); 2 * leaves], leaves, in_use: pages }
    }

    /// Pages managed.
    pub fn pages(&self) -> usize {
        self.pages
    }

    /// Pages in use.
    pub fn in_use(&self) -> usize {
        self.in_use
    }

    /// The longest run of free pages.
    pub fn longest_free(&self) -> usize {
        self.sums[1].max as usize
    }

    /// Takes the lowest run of `n` free pages; returns its first page.
    pub fn alloc(&mut self, n: usize) -> Option<usize> {
        if n == 0 || n > self.longest_free() {
            return None;
        }
        let first = self.find(n as u32);
        self.mark(first, n, true);
        Some(first)
    }

    /// Frees `n` pages from `first`, which must all be in use.
    pub fn free(&mut self, first: usize, n: usize) {
        assert!(first + n <= self.pages, "free of pages {first}..{} past {}", first + n, self.pages);
        self.mark(first, n, false);
    }

    /// Takes the `n` pages from `first`, which must all be free (the
    /// scavenger holds runs it releases this way).
    pub fn take(&mut self, first: usize, n: usize) {
        assert!(first + n <= self.pages, "take of pages {first}..{} past {}", first + n, self.pages);
        self.mark(first, n, true);
    }

    /// The in-use bits of the 64 pages from `64 * leaf` (bit `i` set: page
    /// `64 * leaf + i` in use).
    pub fn leaf_bits(&self, leaf: usize) -> u64 {
        self.bits[leaf]
    }

    /// True if page `page` is in use.
    pub fn is_in_use(&self, page: usize) -> bool {
        self.bits[page / LEAF_PAGES] & (1 << (page % LEAF_PAGES)) != 0
    }

    /// The first page of the lowest run of `n` free pages; the root's `max`
    /// is at least `n`.
    fn find(&self, n: u32) -> usize {
        let mut node = 1;
        let mut half = (self.leaves * LEAF_PAGES / 2) as u32; // pages under each child
        let mut base = 0usize; // first page under `node`
        while node < self.leaves {
            let (left, right) = (self.sums[2 * node], self.sums[2 * node + 1]);
            if left.max >= n {
                node *= 2;
            } else if left.end + right.start >= n {
                return base + (half - left.end) as usize;
            } else {
                node = 2 * node + 1;
                base += half as usize;
            }
            half /= 2;
        }
        let leaf = node - self.leaves;
        let at = first_run_of_ones(!self.bits[leaf], n).expect("page summary says the leaf has the run");
        base + at as usize
    }

    /// Sets (`used`) or clears pages `first..first + n`, each in the other
    /// state before, and updates the summaries above the leaves touched.
    fn mark(&mut self, first: usize, n: usize, used: bool) {
        let end = first + n;
        let mut page = first;
        while page < end {
            let leaf = page / LEAF_PAGES;
            let lo = page % LEAF_PAGES;
            let hi = (end - leaf * LEAF_PAGES).min(LEAF_PAGES);
            let mask = if hi - lo == LEAF_PAGES { u64::MAX } else { ((1u64 << (hi - lo)) - 1) << lo };
            let word = &mut self.bits[leaf];
            let expect = if used { 0 } else { mask };
            assert!(
                *word & mask == expect,
                "pages {first}..{end}: some already {}",
                if used { "in use" } else { "free" }
            );
            *word ^= mask;
            page = (leaf + 1) * LEAF_PAGES;
        }
        if used {
            self.in_use += n;
        } else {
            self.in_use -= n;
        }
        self.update(first / LEAF_PAGES, (end - 1) / LEAF_PAGES);
    }

    /// Recomputes the summaries of leaves `lo..=hi` and their ancestors.
    fn update(&mut self, lo: usize, hi: usize) {
        for leaf in lo..=hi {
            self.sums[self.leaves + leaf] = Sum::of_word(self.bits[leaf]);
        }
        let (mut lo, mut hi) = (self.leaves + lo, self.leaves + hi);
        let mut half = LEAF_PAGES as u32;
        while lo > 1 {
            lo /= 2;
            hi /= 2;
            for node in lo..=hi {
                self.sums[node] = Sum::merge(self.sums[2 * node], self.sums[2 * node + 1], half);
            }
            half *= 2;
        }
    }
}

#[cfg(test)]
mod tests;
