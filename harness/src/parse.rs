//! Reading `go test -bench` output, which the kernel's bench mode prints too,
//! with the Go runtime's `GODEBUG=gctrace=1` lines mixed in.
//!
//! A result line is `BenchmarkName[-P] <iterations> <value> ns/op [<value>
//! <unit>]...` (fields separated by tabs or spaces); `P` is GOMAXPROCS, absent
//! when 1. A `pkg: <path>` line names the package of the lines that follow.
//! Everything else (boot logs, `goos:`, `PASS`, firmware noise) is skipped, so
//! the console of a whole QEMU run can be fed in as is.
//!
//! ## GC lines, and which benchmark they belong to
//! Go's testing package prints a benchmark's name (no newline) *before* it
//! runs the benchmark and the rest of the line after, and every run
//! (`B.runN`) begins with a `runtime.GC()`, which gctrace reports as
//! `gc N @T.s U%: ... P (forced)`. With gctrace on, Go's output therefore
//! reads
//!
//! ```text
//! BenchmarkX-2   \tgc 7 @1.0s 0%: ... 2 P (forced)      <- the name, then run 2's GC
//! gc 8 @1.2s 1%: ... 2 P (forced)                        <- the final run starts
//! gc 9 @1.5s 3%: ... 2 P                                 <- a cycle inside it
//!   1000000\t      1033 ns/op                            <- the result
//! ```
//!
//! The first run (`b.N` = 1) happens before the name is printed. So the
//! cycles that ran inside the reported run's timed region are the
//! non-forced ones after the last forced one and before the result; a
//! cycle that ends during the run's `b.StopTimer` sections or cleanup is
//! counted too (gctrace reports a cycle when it ends). [`Line::gc_cycles`]
//! is that count, or `None` when the output held no gctrace line for the
//! benchmark at all (the kernel, native runs).
//!
//! The runtime writes a gctrace line in several `write`s, so a line another
//! thread prints meanwhile can land inside it; only background cycles can
//! be cut so (a forced cycle ends before the benchmark goes on), and the
//! parser takes a result's iterations and value from the two fields before
//! `ns/op` wherever they stand in a line that begins with a GC record.

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
    /// GC cycles that ended inside the reported run (see the module essay);
    /// `None` without gctrace.
    pub gc_cycles: Option<u32>,
}

/// Every result line in `output`, in order.
pub fn parse(output: &str) -> Vec<Line> {
    let mut reader = Reader::default();
    for raw in output.lines() {
        reader.line(raw.trim());
    }
    reader.lines
}

/// Parses one complete result line (without package and GC count).
pub fn parse_line(text: &str) -> Option<Line> {
    let tokens = tokens(text);
    let (first, k) = (tokens.first()?.1, ns_per_op_token(&tokens)?);
    if k != 3 {
        return None;
    }
    let (name, procs) = benchmark_name(first)?;
    let (iterations, ns_per_op) = result_fields(&tokens, k)?;
    Some(Line { package: None, name, procs, iterations, ns_per_op, gc_cycles: None })
}

/// GC cycles seen since a benchmark's name was printed.
#[derive(Clone, Copy, Default)]
struct Cycles {
    /// Any gctrace record at all.
    seen: bool,
    /// Non-forced cycles since the last forced one.
    since_forced: u32,
}

impl Cycles {
    fn record(&mut self, forced: bool) {
        self.seen = true;
        self.since_forced = if forced { 0 } else { self.since_forced + 1 };
    }
}

#[derive(Default)]
struct Reader {
    package: Option<String>,
    /// A name printed without its result yet: (name, procs).
    pending: Option<(String, u32)>,
    cycles: Cycles,
    lines: Vec<Line>,
}

impl Reader {
    fn line(&mut self, text: &str) {
        if let Some(p) = text.strip_prefix("pkg: ") {
            self.package = Some(p.trim().to_string());
            self.pending = None;
            return;
        }
        let tokens = tokens(text);
        let records = gc_records(text);
        let result_at = ns_per_op_token(&tokens);
        let named = tokens.first().and_then(|t| benchmark_name(t.1));
        let starts_with_record = records.first().is_some_and(|r| r.0 == 0);
        match (named, result_at) {
            // `BenchmarkX-2 1000 12 ns/op`: a whole result on one line.
            (Some(name), Some(3)) => {
                self.start(name);
                self.finish(&tokens, 3);
            }
            // `BenchmarkX-2 \tgc 7 @...`: the name, then GC lines follow.
            (Some(name), None) if tokens.len() == 1 || records.first().is_some_and(|r| r.0 == tokens[1].0) => {
                self.start(name);
                self.add_records(&records, usize::MAX);
            }
            // `  1000\t 12 ns/op`, or a GC line cut by it: the pending result.
            (None, Some(k)) if self.pending.is_some() && (k == 2 || starts_with_record) => {
                self.add_records(&records, tokens[k].0);
                self.finish(&tokens, k);
            }
            _ => {
                if !starts_with_record {
                    // Any other line ends what a name started (`--- FAIL`, `PASS`).
                    self.pending = None;
                }
                self.add_records(&records, usize::MAX);
            }
        }
    }

    fn start(&mut self, name: (String, u32)) {
        self.pending = Some(name);
        self.cycles = Cycles::default();
    }

    /// Counts the records that begin before byte `before` of the line.
    fn add_records(&mut self, records: &[(usize, bool)], before: usize) {
        if self.pending.is_some() {
            for &(_, forced) in records.iter().filter(|r| r.0 < before) {
                self.cycles.record(forced);
            }
        }
    }

    /// Emits the pending benchmark with the fields before token `k` (`ns/op`).
    fn finish(&mut self, tokens: &[(usize, &str)], k: usize) {
        let Some((name, procs)) = self.pending.take() else { return };
        let Some((iterations, ns_per_op)) = result_fields(tokens, k) else { return };
        let gc_cycles = self.cycles.seen.then_some(self.cycles.since_forced);
        self.lines.push(Line { package: self.package.clone(), name, procs, iterations, ns_per_op, gc_cycles });
    }
}

/// The whitespace-separated fields of `text` with their byte offsets.
fn tokens(text: &str) -> Vec<(usize, &str)> {
    text.split_whitespace().map(|t| (t.as_ptr() as usize - text.as_ptr() as usize, t)).collect()
}

/// The index of the `ns/op` field, if there is one with two fields before
/// it (3 in a whole result line, 2 in the rest of a line a name began).
fn ns_per_op_token(tokens: &[(usize, &str)]) -> Option<usize> {
    tokens.iter().position(|t| t.1 == "ns/op").filter(|&k| k >= 2)
}

/// Iterations and ns/op from the two fields before `ns/op` (token `k`).
fn result_fields(tokens: &[(usize, &str)], k: usize) -> Option<(u64, f64)> {
    let iterations = tokens[k - 2].1.parse::<u64>().ok()?;
    let ns_per_op = tokens[k - 1].1.parse::<f64>().ok().filter(|v| v.is_finite())?;
    Some((iterations, ns_per_op))
}

/// `BenchmarkName-P` as (`Name`, P); P is 1 without a numeric suffix.
fn benchmark_name(field: &str) -> Option<(String, u32)> {
    let full = field.strip_prefix("Benchmark")?;
    let (name, procs) = match full.rsplit_once('-') {
        Some((name, p)) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => (name, p.parse().ok()?),
        _ => (full, 1),
    };
    (!name.is_empty()).then(|| (name.to_string(), procs))
}

/// The gctrace records in a line: each `gc N @` (at the start or after
/// whitespace) with its byte offset, and whether the text up to the next
/// record says `(forced)`.
fn gc_records(text: &str) -> Vec<(usize, bool)> {
    let starts: Vec<usize> = text
        .match_indices("gc ")
        .map(|(i, _)| i)
        .filter(|&i| i == 0 || text[..i].ends_with(char::is_whitespace))
        .filter(|&i| {
            let rest = &text[i + 3..];
            let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
            digits > 0 && rest[digits..].starts_with(" @")
        })
        .collect();
    starts
        .iter()
        .enumerate()
        .map(|(n, &i)| {
            let end = starts.get(n + 1).copied().unwrap_or(text.len());
            (i, text[i..end].contains("(forced)"))
        })
        .collect()
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
            assert_eq!(parse(text), [], "{text:?}");
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
        assert!(lines.iter().all(|l| l.gc_cycles.is_none()), "no gctrace, no count");
    }

    /// What the guest printed for two benchmarks with gctrace on (trimmed).
    const GCTRACE: &str = "\
gc 1 @0.004s 1%: 0.010+0.2+0.005 ms clock, 0.010+0/0.1/0+0.005 ms cpu, 0->0->0 MB, 4 MB goal, 0 MB stacks, 0 MB globals, 2 P (forced)
BenchmarkAfterFunc1000-2   \tgc 2 @0.010s 1%: 0.01+0.2+0.01 ms clock, 0.02+0/0.1/0+0.01 ms cpu, 1->1->0 MB, 4 MB goal, 0 MB stacks, 0 MB globals, 2 P (forced)
gc 3 @0.05s 2%: 0.01+0.3+0.01 ms clock, 0.02+0.1/0.2/0+0.02 ms cpu, 4->4->1 MB, 4 MB goal, 0 MB stacks, 0 MB globals, 2 P
gc 4 @0.07s 2%: 0.01+0.2+0.01 ms clock, 0.02+0/0.1/0+0.01 ms cpu, 1->1->0 MB, 4 MB goal, 0 MB stacks, 0 MB globals, 2 P (forced)
gc 5 @0.5s 2%: 0.01+0.3+0.01 ms clock, 0.02+0.1/0.2/0+0.02 ms cpu, 4->4->1 MB, 4 MB goal, 0 MB stacks, 0 MB globals, 2 P
gc 6 @0.9s 2%: 0.01+0.3+0.01 ms clock,      358\t   3402188 ns/op
 0.02+0.1/0.2/0+0.02 ms cpu, 4->4->1 MB, 4 MB goal, 0 MB stacks, 0 MB globals, 2 P
gc 7 @1.0s 1%: 0.01+0.2+0.01 ms clock, 0.02+0/0.1/0+0.01 ms cpu, 1->1->0 MB, 4 MB goal, 0 MB stacks, 0 MB globals, 2 P (forced)
BenchmarkNowUnixNano-2     \tgc 8 @1.1s 1%: 0.01+0.2+0.01 ms clock, 0.02+0/0.1/0+0.01 ms cpu, 0->0->0 MB, 4 MB goal, 0 MB stacks, 0 MB globals, 2 P (forced)
gc 9 @1.2s 1%: 0.01+0.2+0.01 ms clock, 0.02+0/0.1/0+0.01 ms cpu, 0->0->0 MB, 4 MB goal, 0 MB stacks, 0 MB globals, 2 P (forced)
 4632471\t       256.2 ns/op
PASS
";

    #[test]
    fn gctrace_lines_split_results_and_are_counted_per_run() {
        let lines = parse(&format!("pkg: time\n{GCTRACE}"));
        assert_eq!(lines.len(), 2, "{lines:?}");
        let (a, b) = (&lines[0], &lines[1]);
        assert_eq!((a.name.as_str(), a.procs, a.iterations, a.ns_per_op), ("AfterFunc1000", 2, 358, 3402188.0));
        // gc 3 ran in the ramp-up run; gc 5 and the cut gc 6 in the final one.
        assert_eq!(a.gc_cycles, Some(2));
        assert_eq!(a.package.as_deref(), Some("time"));
        assert_eq!((b.name.as_str(), b.iterations, b.ns_per_op, b.gc_cycles), ("NowUnixNano", 4632471, 256.2, Some(0)));
    }

    #[test]
    fn a_result_without_its_name_is_not_taken() {
        let out = "BenchmarkX-2\t\nPASS\n  1000\t 5 ns/op\ngc 1 @0.1s 0%: 1000 5 ns/op\n";
        assert_eq!(parse(out), []);
    }
}
