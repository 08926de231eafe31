//! Reading `go test -bench` output, which the kernel's bench mode prints too.
//!
//! A result line is `BenchmarkName[-P] <iterations> <value> ns/op [<value>
//! <unit>]...` (fields separated by tabs or spaces); `P` is GOMAXPROCS, absent
//! when 1. A `pkg: <path>` line names the package of the lines that follow.
//! Everything else (boot logs, `goos:`, `PASS`, firmware noise) is skipped, so
//! the console of a whole QEMU run can be fed in as is.

/// One benchmark result line.
#[derive(Clone, Debug, PartialEq)]
pub struct Line {
    /// The latest `pkg:` line before this one, if any.
    pub package: Option<String>,
    /// The name without `Benchmark` and without the `-P` suffix.
    pub name: String,
    pub procs: u32,
    pub iterations: u64,
    pub ns_per_op: f64,
}

/// Every result line in `output`, in order.
pub fn parse(output: &str) -> Vec<Line> {
    let mut package = None;
    let mut lines = Vec::new();
    for raw in output.lines() {
        let text = raw.trim();
        if let Some(p) = text.strip_prefix("pkg: ") {
            package = Some(p.trim().to_string());
        } else if let Some(mut line) = parse_line(text) {
            line.package = package.clone();
            lines.push(line);
        }
    }
    lines
}

/// Parses one result line (without package).
pub fn parse_line(text: &str) -> Option<Line> {
    let mut fields = text.split_whitespace();
    let full = fields.next()?.strip_prefix("Benchmark")?;
    let iterations = fields.next()?.parse::<u64>().ok()?;
    let rest: Vec<&str> = fields.collect();
    let ns_per_op = rest.windows(2).find(|w| w[1] == "ns/op")?[0].parse::<f64>().ok()?;
    let (name, procs) = match full.rsplit_once('-') {
        Some((name, p)) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => (name, p.parse().ok()?),
        _ => (full, 1),
    };
    if name.is_empty() || !ns_per_op.is_finite() {
        return None;
    }
    Some(Line { package: None, name: name.to_string(), procs, iterations, ns_per_op })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_lines() {
        let l = parse_line("BenchmarkChanSync-4   \t 7290194\t       163.1 ns/op").unwrap();
        assert_eq!((l.name.as_str(), l.procs, l.iterations, l.ns_per_op), ("ChanSync", 4, 7290194, 163.1));
        let l = parse_line("BenchmarkNowUnixNano\t    1000\t        95.30 ns/op").unwrap();
        assert_eq!((l.name.as_str(), l.procs), ("NowUnixNano", 1));
        let l = parse_line("BenchmarkMalloc8-2  50000000  25.0 ns/op  8 B/op  1 allocs/op").unwrap();
        assert_eq!(l.ns_per_op, 25.0);
        let l = parse_line("BenchmarkStackGrowth/deep-8 100 1.234e+06 ns/op").unwrap();
        assert_eq!((l.name.as_str(), l.procs, l.ns_per_op), ("StackGrowth/deep", 8, 1.234e6));
        let l = parse_line("BenchmarkFoo-bar 10 5 ns/op").unwrap();
        assert_eq!((l.name.as_str(), l.procs), ("Foo-bar", 1), "a non-numeric suffix is part of the name");
    }

    #[test]
    fn not_results() {
        for text in [
            "",
            "PASS",
            "goos: linux",
            "BenchmarkChanSync-4",
            "BenchmarkChanSync-4 notanumber 1 ns/op",
            "BenchmarkChanSync-4 10 12 MB/s",
            "Benchmark 10 1 ns/op",
            "--- FAIL: BenchmarkX",
            "[    0.1] cpu0 INFO  BenchmarkX 10 1 ns/op",
        ] {
            assert_eq!(parse_line(text), None, "{text:?}");
        }
    }

    #[test]
    fn packages_apply_to_following_lines() {
        let out = "boot noise\npkg: time\nBenchmarkNow-2 10 5 ns/op\r\npkg: runtime\n  BenchmarkChanSync-2 10 100 ns/op\nPASS\n";
        let lines = parse(out);
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].package.as_deref(), Some("time"));
        assert_eq!(lines[1].package.as_deref(), Some("runtime"));
        assert_eq!(lines[1].name, "ChanSync");
    }
}
