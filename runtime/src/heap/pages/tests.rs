//! Host tests of the page allocator against a model: a plain vector of
//! page states searched page by page.
use super::*;

use crate::heap::test_rng::Rng;

/// The model: `true` = in use.
fn model_first_fit(used: &[bool], n: usize) -> Option<usize> {
    let mut run = 0;
    for (page, &u) in used.iter().enumerate() {
        run = if u { 0 } else { run + 1 };
        if run == n {
            return Some(page + 1 - n);
        }
    }
    None
}

fn model_longest(used: &[bool]) -> usize {
    used.split(|&u| u).map(<[bool]>::len).max().unwrap_or(0)
}

#[test]
fn leaf_helpers_find_runs() {
    assert_eq!(longest_ones(0), 0);
    assert_eq!(longest_ones(u64::MAX), 64);
    assert_eq!(longest_ones(0b1110_1111_0011), 4);
    assert_eq!(first_run_of_ones(0b1110_1111_0011, 2), Some(0));
    assert_eq!(first_run_of_ones(0b1110_1111_0011, 3), Some(4));
    assert_eq!(first_run_of_ones(0b1110_1111_0011, 5), None);
    assert_eq!(first_run_of_ones(u64::MAX, 64), Some(0));
    assert_eq!(first_run_of_ones(u64::MAX << 1, 63), Some(1));
    assert_eq!(first_run_of_ones(u64::MAX << 1, 64), None);
    assert_eq!(Sum::of_word(0), Sum { start: 64, max: 64, end: 64 });
    assert_eq!(Sum::of_word(u64::MAX), Sum::default());
    assert_eq!(Sum::of_word(1 << 3 | 1 << 60), Sum { start: 3, max: 56, end: 3 });
}

#[test]
fn a_new_allocator_has_nothing_free_until_it_grows() {
    let mut pa = PageAlloc::new(1000);
    assert_eq!((pa.in_use(), pa.longest_free(), pa.alloc(1)), (1000, 0, None));
    pa.free(0, 1000);
    assert_eq!((pa.in_use(), pa.longest_free()), (0, 1000));
    assert_eq!(pa.alloc(1001), None, "the pages past the region are never free");
    assert_eq!(pa.alloc(1000), Some(0));
    assert_eq!(pa.alloc(1), None);
}

#[test]
fn runs_across_leaves_and_subtrees_are_found_lowest_first() {
    let mut pa = PageAlloc::new(1024);
    pa.free(0, 1024);
    assert_eq!(pa.alloc(60), Some(0));
    assert_eq!(pa.alloc(10), Some(60), "a run across the first leaf boundary");
    assert_eq!(pa.alloc(300), Some(70), "a run across several leaves");
    pa.free(60, 10);
    assert_eq!(pa.alloc(11), Some(370), "the 10-page hole is too small");
    assert_eq!(pa.alloc(10), Some(60), "the hole, lowest first");
    pa.free(0, 60);
    pa.free(70, 300);
    assert_eq!(pa.alloc(360), Some(381), "0..60 and 70..370 are free but apart: the tail");
    assert_eq!(pa.alloc(300), Some(70));
    assert_eq!(pa.alloc(284), None, "283 pages left at the end");
}

#[test]
#[should_panic(expected = "already free")]
fn freeing_a_free_page_is_caught() {
    let mut pa = PageAlloc::new(128);
    pa.free(0, 128);
    pa.free(5, 1);
}

/// Random allocations and frees of random lengths, checked step by step
/// against the model: the same first page, the same longest run, the same
/// count in use.
#[test]
fn random_allocations_and_frees_match_the_model() {
    for (seed, pages) in [(1u64, 64usize), (2, 1000), (3, 4096 + 17), (4, 20_000)] {
        let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
        let mut pa = PageAlloc::new(pages);
        let mut used = vec![true; pages];
        // Grow in a few steps, as the heap does.
        for step in 0..4 {
            let (lo, hi) = (pages * step / 4, pages * (step + 1) / 4);
            pa.free(lo, hi - lo);
            used[lo..hi].fill(false);
        }
        let mut live: Vec<(usize, usize)> = Vec::new();
        let ops = (4_000_000 / pages).clamp(2_000, 20_000);
        for op in 0..ops {
            if live.is_empty() || rng.below(100) < 55 {
                let n = match rng.below(10) {
                    0 => 1 + rng.below(pages / 4 + 1),
                    1..=3 => 1 + rng.below(100),
                    _ => 1 + rng.below(8),
                };
                let got = pa.alloc(n);
                assert_eq!(got, model_first_fit(&used, n), "seed {seed} op {op}: alloc({n})");
                if let Some(first) = got {
                    used[first..first + n].fill(true);
                    live.push((first, n));
                }
            } else {
                let (first, n) = live.swap_remove(rng.below(live.len()));
                pa.free(first, n);
                used[first..first + n].fill(false);
            }
            assert_eq!(pa.longest_free(), model_longest(&used), "seed {seed} op {op}");
            assert_eq!(pa.in_use(), used.iter().filter(|&&u| u).count(), "seed {seed} op {op}");
        }
        for (page, &u) in used.iter().enumerate() {
            assert_eq!(pa.is_in_use(page), u, "seed {seed}: page {page}");
        }
    }
}
