//! A physical-frame allocator: one bit per 4 KiB frame.
//!
//! The machine layer (`gort/src/kernel/arch/x86_64/memory.rs`) owns the physical
//! memory map and the page tables; the bookkeeping of which frames are free
//! is this portable bitmap, so it can be tested on the host.
//!
//! ## Algorithm
//! - A set bit means "in use". The map starts all-used; the owner frees the
//!   usable ranges, then reserves what it took for itself.
//! - [`FrameBitmap::alloc`] is next-fit: scan from a hint (one past the last
//!   allocation) to the end, then wrap to the start. Whole 64-frame words that
//!   are full are skipped in one step, so a scan over a mostly-used region
//!   costs a word per 64 frames.
//! - [`FrameBitmap::alloc_in`] scans a fixed range from its start, for callers
//!   that need a frame below a limit (the AP trampoline under 1 MiB).
//!
//! ## Invariants
//! - `free` always equals the number of clear bits below `frames`.
//! - Freeing a frame that is already free is a bug in the caller and panics:
//!   a double free of a physical page would hand one page to two owners.
//! - Frame numbers at or past `frames` are never handed out.
//!
//! Go has no counterpart (its heap sits on the OS's `mmap`); this is the
//! layer beneath what will be our `mheap`.

/// Free/used bits for `frames` frames.
pub struct FrameBitmap<'a> {
    words: &'a mut [u64],
    frames: u64,
    hint: u64,
    free: u64,
}

impl<'a> FrameBitmap<'a> {
    /// A bitmap over `frames` frames stored in `words` (at least
    /// `frames.div_ceil(64)` of them), with every frame marked used.
    pub fn new_all_used(words: &'a mut [u64], frames: u64) -> Self {
        assert!(words.len() as u64 * 64 >= frames, "bitmap storage too small");
        words.fill(u64::MAX);
        FrameBitmap { words, frames, hint: 0, free: 0 }
    }

    /// Number of frames the bitmap covers.
    pub fn frames(&self) -> u64 {
        self.frames
    }

    /// Number of free frames.
    pub fn free_count(&self) -> u64 {
        self.free
    }

    /// True if frame `f` is in use (frames past the end count as used).
    pub fn is_used(&self, f: u64) -> bool {
        f >= self.frames || self.words[(f / 64) as usize] & (1 << (f % 64)) != 0
    }

    fn set(&mut self, f: u64, used: bool) {
        let w = &mut self.words[(f / 64) as usize];
        let bit = 1u64 << (f % 64);
        match (used, *w & bit != 0) {
            (true, false) => self.free -= 1,
            (false, true) => self.free += 1,
            _ => {}
        }
        if used {
            *w |= bit
        } else {
            *w &= !bit
        }
    }

    /// Marks frames `[start, end)` free (clamped to the bitmap).
    pub fn release_range(&mut self, start: u64, end: u64) {
        for f in start..end.min(self.frames) {
            self.set(f, false);
        }
    }

    /// Marks frames `[start, end)` used (clamped to the bitmap).
    pub fn reserve_range(&mut self, start: u64, end: u64) {
        for f in start..end.min(self.frames) {
            self.set(f, true);
        }
    }

    /// Sets where the next `alloc` starts looking.
    pub fn set_hint(&mut self, f: u64) {
        self.hint = f.min(self.frames);
    }

    /// Allocates the first free frame in `[from, to)`.
    pub fn alloc_in(&mut self, from: u64, to: u64) -> Option<u64> {
        let to = to.min(self.frames);
        let mut f = from;
        while f < to {
            let w = self.words[(f / 64) as usize];
            if w == u64::MAX && f.is_multiple_of(64) {
                f += 64;
                continue;
            }
            if w & (1 << (f % 64)) == 0 {
                self.set(f, true);
                return Some(f);
            }
            f += 1;
        }
        None
    }

    /// Allocates a free frame, next-fit from the hint.
    pub fn alloc(&mut self) -> Option<u64> {
        let f = self.alloc_in(self.hint, self.frames).or_else(|| self.alloc_in(0, self.hint))?;
        self.hint = f + 1;
        Some(f)
    }

    /// Frees frame `f`. Panics if it is already free or out of range.
    pub fn free(&mut self, f: u64) {
        assert!(f < self.frames, "free of frame {f:#x} past the end");
        assert!(self.is_used(f), "double free of frame {f:#x}");
        self.set(f, false);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count_clear(b: &FrameBitmap<'_>) -> u64 {
        (0..b.frames()).filter(|&f| !b.is_used(f)).count() as u64
    }

    #[test]
    fn starts_full_and_tracks_free_count() {
        let mut words = [0u64; 4];
        let mut b = FrameBitmap::new_all_used(&mut words, 200);
        assert_eq!(b.free_count(), 0);
        assert_eq!(b.alloc(), None);
        b.release_range(10, 150);
        assert_eq!(b.free_count(), 140);
        b.reserve_range(20, 30);
        assert_eq!(b.free_count(), 130);
        assert_eq!(count_clear(&b), b.free_count());
        b.release_range(190, 1000);
        assert_eq!(b.free_count(), 140, "clamped to 200 frames");
    }

    #[test]
    fn alloc_is_next_fit_and_wraps() {
        let mut words = [0u64; 2];
        let mut b = FrameBitmap::new_all_used(&mut words, 128);
        b.release_range(0, 128);
        b.set_hint(100);
        assert_eq!(b.alloc(), Some(100));
        assert_eq!(b.alloc(), Some(101));
        b.reserve_range(102, 128);
        assert_eq!(b.alloc(), Some(0), "wraps to the start");
        b.free(101);
        assert_eq!(b.alloc(), Some(1), "next-fit continues after the last allocation");
    }

    #[test]
    fn exhaustion_returns_none_and_every_frame_once() {
        let mut words = [0u64; 3];
        let mut b = FrameBitmap::new_all_used(&mut words, 150);
        b.release_range(1, 150);
        let mut seen = std::collections::HashSet::new();
        while let Some(f) = b.alloc() {
            assert!(seen.insert(f), "frame {f} handed out twice");
        }
        assert_eq!(seen.len(), 149);
        assert!(!seen.contains(&0));
        assert_eq!(b.free_count(), 0);
        for f in seen {
            b.free(f);
        }
        assert_eq!(b.free_count(), 149);
        assert_eq!(count_clear(&b), 149);
    }

    #[test]
    fn alloc_in_respects_limits() {
        let mut words = [0u64; 4];
        let mut b = FrameBitmap::new_all_used(&mut words, 256);
        b.release_range(200, 256);
        assert_eq!(b.alloc_in(0, 200), None, "nothing free below 200");
        b.release_range(70, 71);
        assert_eq!(b.alloc_in(1, 200), Some(70), "skips full words, finds the one bit");
        assert_eq!(b.alloc_in(250, 1000), Some(250));
    }

    #[test]
    #[should_panic(expected = "double free")]
    fn double_free_panics() {
        let mut words = [0u64; 1];
        let mut b = FrameBitmap::new_all_used(&mut words, 64);
        b.release_range(0, 64);
        let f = b.alloc().unwrap();
        b.free(f);
        b.free(f);
    }

    #[test]
    #[should_panic(expected = "past the end")]
    fn free_out_of_range_panics() {
        let mut words = [0u64; 1];
        let mut b = FrameBitmap::new_all_used(&mut words, 10);
        b.free(10);
    }
}
