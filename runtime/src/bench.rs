//! `testing.B` in miniature: how many iterations to run, and how to print the
//! result exactly as `go test -bench` does, so one parser reads Go and us.
//!
//! ## The ramp-up (Go's `B.launch` and `predictN`, testing/benchmark.go)
//! 1. Run the body once (n = 1).
//! 2. While the last run took less than the benchtime and n < 1e9: predict
//!    `n = goal * prev_n / prev_ns` (multiply first: for fast bodies prev_n ≈
//!    prev_ns), add 20%, grow at most 100x over the last n, at least by one, at
//!    most 1e9; run again with that n.
//! 3. The result is the last run: its n and its total time. `-benchtime=Nx`
//!    skips the ramp and runs exactly N iterations (after the single warm-up).
//!
//! ## The line (Go's `BenchmarkResult.String` and `prettyPrint`)
//! `BenchmarkName-P<TAB>%8d<TAB>%10.0f ns/op`, where `-P` is GOMAXPROCS (left
//! out when it is 1) and the ns/op format keeps four significant figures for
//! small values with the decimal points aligned.
use alloc::format;
use alloc::string::String;
use core::fmt::Write;

/// How long to run each benchmark: Go's `-test.benchtime`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Benchtime {
    /// Run until the body has taken at least this many nanoseconds.
    Duration(u64),
    /// Run exactly this many iterations.
    Iterations(u64),
}

impl Default for Benchtime {
    fn default() -> Self {
        Benchtime::Duration(1_000_000_000)
    }
}

/// Parses `1s`, `500ms`, `1.5s`, `250us`, `2m`, or `100x` (Go's syntax).
pub fn parse_benchtime(s: &str) -> Option<Benchtime> {
    if let Some(n) = s.strip_suffix('x') {
        return n.parse::<u64>().ok().filter(|&n| n > 0).map(Benchtime::Iterations);
    }
    let split = s.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
    let (number, unit) = s.split_at(split);
    let scale: u64 = match unit {
        "ns" => 1,
        "us" | "µs" => 1_000,
        "ms" => 1_000_000,
        "s" => 1_000_000_000,
        "m" => 60_000_000_000,
        _ => return None,
    };
    let (whole, frac) = number.split_once('.').unwrap_or((number, ""));
    if whole.is_empty() && frac.is_empty() {
        return None;
    }
    let mut ns = if whole.is_empty() { 0 } else { whole.parse::<u64>().ok()?.checked_mul(scale)? };
    let mut place = scale;
    for d in frac.bytes() {
        if !d.is_ascii_digit() {
            return None;
        }
        place /= 10;
        ns = ns.checked_add(u64::from(d - b'0') * place)?;
    }
    (ns > 0).then_some(Benchtime::Duration(ns))
}

/// Go's `predictN`: the next iteration count.
pub fn predict_n(goal_ns: u64, prev_iters: u64, prev_ns: u64, last: u64) -> u64 {
    // In u128: Go's int64 arithmetic cannot overflow for real inputs, and
    // neither may ours for any input.
    let prev_ns = u128::from(prev_ns.max(1));
    let mut n = u128::from(goal_ns) * u128::from(prev_iters) / prev_ns;
    n += n / 5;
    n = n.min(u128::from(last) * 100);
    n = n.max(u128::from(last) + 1);
    n.min(u128::from(MAX_ITERS)) as u64
}

/// Go's cap on predicted iterations.
pub const MAX_ITERS: u64 = 1_000_000_000;

/// One benchmark result: iterations and the total time they took.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Result {
    pub n: u64,
    pub ns: u64,
}

impl Result {
    /// Nanoseconds per iteration.
    pub fn ns_per_op(&self) -> f64 {
        self.ns as f64 / self.n.max(1) as f64
    }
}

/// Runs a benchmark body until `benchtime` is met. `run_n(n)` runs the body
/// n times and returns the nanoseconds that took.
pub fn launch(benchtime: Benchtime, mut run_n: impl FnMut(u64) -> u64) -> Result {
    let mut last = Result { n: 1, ns: run_n(1) };
    match benchtime {
        Benchtime::Iterations(n) if n > 1 => Result { n, ns: run_n(n) },
        Benchtime::Iterations(_) => last,
        Benchtime::Duration(goal) => {
            while last.ns < goal && last.n < MAX_ITERS {
                let n = predict_n(goal, last.n, last.ns, last.n);
                last = Result { n, ns: run_n(n) };
            }
            last
        }
    }
}

/// `name` with Go's `-P` suffix (none when `procs` is 1).
pub fn full_name(name: &str, procs: usize) -> String {
    if procs == 1 {
        format!("Benchmark{name}")
    } else {
        format!("Benchmark{name}-{procs}")
    }
}

/// The result line exactly as `go test -bench` prints it (no trailing newline).
pub fn format_line(name: &str, procs: usize, result: Result) -> String {
    let mut line = format!("{}\t{:8}\t", full_name(name, procs), result.n);
    pretty_print(&mut line, result.ns_per_op(), "ns/op");
    line
}

/// Go's `prettyPrint`.
fn pretty_print(out: &mut String, x: f64, unit: &str) {
    let y = if x < 0.0 { -x } else { x };
    let _ = match y {
        _ if y == 0.0 || y >= 999.95 => write!(out, "{x:10.0} {unit}"),
        _ if y >= 99.995 => write!(out, "{x:12.1} {unit}"),
        _ if y >= 9.9995 => write!(out, "{x:13.2} {unit}"),
        _ if y >= 0.99995 => write!(out, "{x:14.3} {unit}"),
        _ if y >= 0.099995 => write!(out, "{x:15.4} {unit}"),
        _ if y >= 0.0099995 => write!(out, "{x:16.5} {unit}"),
        _ if y >= 0.00099995 => write!(out, "{x:17.6} {unit}"),
        _ => write!(out, "{x:18.7} {unit}"),
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn benchtime_forms() {
        assert_eq!(parse_benchtime("1s"), Some(Benchtime::Duration(1_000_000_000)));
        assert_eq!(parse_benchtime("200ms"), Some(Benchtime::Duration(200_000_000)));
        assert_eq!(parse_benchtime("1.5s"), Some(Benchtime::Duration(1_500_000_000)));
        assert_eq!(parse_benchtime(".5ms"), Some(Benchtime::Duration(500_000)));
        assert_eq!(parse_benchtime("250us"), Some(Benchtime::Duration(250_000)));
        assert_eq!(parse_benchtime("2m"), Some(Benchtime::Duration(120_000_000_000)));
        assert_eq!(parse_benchtime("100x"), Some(Benchtime::Iterations(100)));
        for bad in ["", "1", "s", "0s", "0x", "x", "1h", "1.2.3s", "-1s", "1e3s", "."] {
            assert_eq!(parse_benchtime(bad), None, "{bad}");
        }
    }

    #[test]
    fn predict_n_matches_go() {
        // Values worked through Go's predictN by hand.
        assert_eq!(predict_n(1_000_000_000, 1, 1000, 1), 100, "capped at 100x the last n");
        assert_eq!(predict_n(1_000_000_000, 100, 100_000, 100), 10_000);
        assert_eq!(predict_n(1_000_000_000, 10_000, 10_000_000, 10_000), 1_000_000);
        assert_eq!(predict_n(1_000_000_000, 1_000_000, 800_000_000, 1_000_000), 1_500_000);
        assert_eq!(predict_n(1_000_000_000, 5, 2_000_000_000, 5), 6, "at least one more");
        assert_eq!(predict_n(u64::MAX / 2, 1_000_000_000, 1, 900_000_000), MAX_ITERS);
        assert_eq!(predict_n(1000, 1, 0, 1), 100, "prev_ns 0 counts as 1");
    }

    #[test]
    fn launch_ramps_until_the_goal() {
        // A body costing 50 ns per iteration, 1 ms goal.
        let mut runs = Vec::new();
        let r = launch(Benchtime::Duration(1_000_000), |n| {
            runs.push(n);
            n * 50
        });
        assert_eq!(runs, [1, 100, 10_000, 24_000]);
        assert_eq!(r, Result { n: 24_000, ns: 1_200_000 });
        assert!((r.ns_per_op() - 50.0).abs() < 1e-9);
    }

    #[test]
    fn launch_with_fixed_iterations() {
        let mut runs = Vec::new();
        let r = launch(Benchtime::Iterations(7), |n| {
            runs.push(n);
            n
        });
        assert_eq!(runs, [1, 7]);
        assert_eq!(r.n, 7);
        assert_eq!(launch(Benchtime::Iterations(1), |n| n).n, 1);
    }

    #[test]
    fn lines_look_like_go() {
        let r = |n, ns| Result { n, ns };
        assert_eq!(
            format_line("ChanSync", 4, r(7_290_194, 1_189_000_000)),
            "BenchmarkChanSync-4\t 7290194\t       163.1 ns/op"
        );
        assert_eq!(
            format_line("NowUnixNano", 1, r(1000, 95_300)),
            "BenchmarkNowUnixNano\t    1000\t        95.30 ns/op"
        );
        assert_eq!(format_line("X", 2, r(1, 2_500)), "BenchmarkX-2\t       1\t      2500 ns/op");
        assert_eq!(format_line("X", 2, r(1000, 4_500)), "BenchmarkX-2\t    1000\t         4.500 ns/op");
        assert_eq!(format_line("X", 2, r(10_000, 4_500)), "BenchmarkX-2\t   10000\t         0.4500 ns/op");
    }
}
