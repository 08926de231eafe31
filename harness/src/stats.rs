//! Whether the kernel's rounds and Go's differ at all: the Mann-Whitney U
//! test, the test `benchstat` applies to two sets of Go benchmark runs.
//!
//! A ratio of medians says how far apart the two sides are; it does not say
//! whether that distance is more than the host's noise. Under TCG on a shared
//! host the noise is large and one-sided: the host itself runs in episodes of
//! about three quarters of its speed, lasting from a tenth of a second to
//! several seconds (a native loop on the host shows them too), and any round
//! that overlaps one comes out slower, kernel or Go. Two loops made of the
//! same instructions can then have medians 40% apart in one run and level
//! in the next. Go's engineers read such a pair with `benchstat`, which
//! prints `~` unless a rank test says the samples differ with p < 0.05; this
//! module is that test, so that the table says the same.
//!
//! The test ranks the pooled samples (tied values share the mean of their
//! ranks) and asks how likely a rank sum at least as extreme as the kernel's
//! would be if the labels "kernel" and "Go" had been dealt at random. The
//! distribution is counted exactly, by dynamic programming over the pooled
//! ranks (doubled, so midranks stay integers), ties included. Go's own
//! statistics package (golang.org/x/perf, behind benchstat) computes the same
//! exact distribution for small samples, ties included, by Klotz's method;
//! the subset-sum count here is simpler and ample for tens of rounds. The
//! p-value is two-sided: twice the smaller tail, at most 1.

use serde::Serialize;

/// The level below which a difference counts (benchstat's default alpha).
pub const ALPHA: f64 = 0.05;

/// How the kernel's samples compare with Go's (in the JSON: `faster`,
/// `same`, `slower`).
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// Significantly fewer ns/op than Go.
    Faster,
    /// No significant difference (benchstat's `~`).
    Same,
    /// Significantly more ns/op than Go.
    Slower,
}

/// Two-sided p-value of the Mann-Whitney U test of `a` against `b`, or
/// `None` if either is empty.
pub fn mann_whitney_p(a: &[f64], b: &[f64]) -> Option<f64> {
    if a.is_empty() || b.is_empty() {
        return None;
    }
    let mut pooled: Vec<(f64, bool)> = a.iter().map(|&x| (x, true)).chain(b.iter().map(|&x| (x, false))).collect();
    pooled.sort_by(|x, y| x.0.total_cmp(&y.0));
    let n = pooled.len();
    // Doubled midranks: a run of equal values at sorted positions i..j
    // (ranks i+1..=j) shares the rank (i+1+j)/2.
    let mut rank2 = vec![0usize; n];
    let mut i = 0;
    while i < n {
        let mut j = i + 1;
        while j < n && pooled[j].0 == pooled[i].0 {
            j += 1;
        }
        rank2[i..j].fill(i + 1 + j);
        i = j;
    }
    let observed: usize = pooled.iter().zip(&rank2).filter(|((_, in_a), _)| *in_a).map(|(_, r)| r).sum();
    // ways[k][s]: how many k-element subsets of the pooled samples have
    // doubled rank sum s. Counts reach C(n, n/2), kept in f64 (exact up to
    // 2^53, then rounded, harmless for a probability).
    let k_max = a.len();
    let s_max: usize = rank2.iter().sum();
    let mut ways = vec![vec![0f64; s_max + 1]; k_max + 1];
    ways[0][0] = 1.0;
    for &r in &rank2 {
        for k in (1..=k_max).rev() {
            let (below, this) = ways.split_at_mut(k);
            for s in (r..=s_max).rev() {
                this[0][s] += below[k - 1][s - r];
            }
        }
    }
    let dist = &ways[k_max];
    let total: f64 = dist.iter().sum();
    let low: f64 = dist[..=observed].iter().sum();
    let high: f64 = dist[observed..].iter().sum();
    Some((2.0 * low.min(high) / total).min(1.0))
}

/// The verdict from the test's `p` and the `ratio` of the medians (kernel
/// over Go): `Same` unless the test rejects equality at [`ALPHA`]; then the
/// side the medians are on.
pub fn verdict(p: f64, ratio: f64) -> Verdict {
    if p >= ALPHA || ratio == 1.0 {
        Verdict::Same
    } else if ratio < 1.0 {
        Verdict::Faster
    } else {
        Verdict::Slower
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(x: f64, y: f64) -> bool {
        (x - y).abs() < 1e-9
    }

    #[test]
    fn exact_p_without_ties_matches_the_tables() {
        // Fully separated 3 vs 3: 1 arrangement of 20 in each tail.
        assert!(close(mann_whitney_p(&[1.0, 2.0, 3.0], &[4.0, 5.0, 6.0]).unwrap(), 0.1));
        assert!(close(mann_whitney_p(&[4.0, 5.0, 6.0], &[1.0, 2.0, 3.0]).unwrap(), 0.1));
        // Fully separated 9 vs 9: 2 / C(18, 9).
        let a: Vec<f64> = (0..9).map(f64::from).collect();
        let b: Vec<f64> = (9..18).map(f64::from).collect();
        assert!(close(mann_whitney_p(&a, &b).unwrap(), 2.0 / 48620.0));
        // 4 vs 4 with U = 2 (b below a in 2 of 16 pairs): 4 of the 70
        // arrangements have U <= 2, two-sided 8/70 (R's wilcox.test: 0.1143).
        let p = mann_whitney_p(&[1.0, 2.0, 4.0, 5.0], &[3.0, 6.0, 7.0, 8.0]).unwrap();
        assert!(close(p, 8.0 / 70.0), "{p}");
        let p = mann_whitney_p(&[3.0, 6.0, 7.0, 8.0], &[1.0, 2.0, 4.0, 5.0]).unwrap();
        assert!(close(p, 8.0 / 70.0), "{p}");
    }

    #[test]
    fn identical_and_interleaved_samples_do_not_differ() {
        assert!(close(mann_whitney_p(&[5.0; 9], &[5.0; 9]).unwrap(), 1.0));
        let a = [1.0, 3.0, 5.0, 7.0, 9.0];
        let b = [2.0, 4.0, 6.0, 8.0, 10.0];
        assert!(mann_whitney_p(&a, &b).unwrap() > 0.5);
        assert_eq!(mann_whitney_p(&[], &b), None);
        assert!(close(mann_whitney_p(&[1.0], &[2.0]).unwrap(), 1.0), "one round each proves nothing");
    }

    #[test]
    fn ties_get_midranks() {
        // a = {1, 2, 2}, b = {2, 3, 3}: ranks 1, 3, 3 | 3, 5.5, 5.5. Of the
        // 20 ways to deal 3 of the 6, a sum of at most a's 7 takes the 1
        // and two of the three 3s: 3 ways, 3/20; two-sided 0.3.
        assert!(close(mann_whitney_p(&[1.0, 2.0, 2.0], &[2.0, 3.0, 3.0]).unwrap(), 0.3));
    }

    #[test]
    fn a_two_valued_side_against_a_steady_one() {
        // The README's run of 2026-12-01 (sync.MutexUncontended, 1 vCPU):
        // five of the kernel's rounds fell in slow host episodes. U = 15,
        // below the 17 that a 5% two-sided test needs for 9 and 9.
        let kernel = [12.27, 8.468, 8.325, 7.861, 12.16, 12.17, 12.8, 8.088, 11.25];
        let go = [8.394, 9.175, 8.041, 8.132, 8.206, 8.092, 7.744, 8.025, 7.825];
        let p = mann_whitney_p(&kernel, &go).unwrap();
        assert!(p < ALPHA && p > 0.01, "{p}");
        assert_eq!(verdict(p, 11.25 / 8.092), Verdict::Slower);
        // The same pair with two of the slow rounds fast: no difference.
        let kernel = [12.27, 8.468, 8.325, 7.861, 8.16, 8.17, 12.8, 8.088, 11.25];
        let p = mann_whitney_p(&kernel, &go).unwrap();
        assert!(p >= ALPHA, "{p}");
        assert_eq!(verdict(p, 8.325 / 8.092), Verdict::Same);
        assert_eq!(verdict(0.0001, 0.5), Verdict::Faster);
    }
}
