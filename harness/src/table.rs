//! From samples to the side-by-side table: medians, spreads, ratios, and
//! whether the difference is real.
//!
//! Each (benchmark, vCPU count) gets one row. Its Go and kernel columns are
//! the **median** ns/op of the rounds (runs vary up to ~1.7x under TCG, so a
//! mean would chase outliers); the spread is `(max - min) / median` of each
//! side; the ratio is `kernel / Go` (below 1: the kernel is faster). The
//! verdict is benchstat's: `faster` or `slower` only when the Mann-Whitney U
//! test of the two sides' rounds gives p < 0.05, else `~` ([`crate::stats`]).
//! The Go GC column is how many of Go's collection cycles ran inside the
//! reported run of each round (gctrace, see [`crate::parse`]): the range
//! over the rounds, so a reader sees which of Go's numbers include its
//! collector (the kernel's mirrors allocate without one). Go's native numbers (on the host, no emulation) are shown for reference
//! only: they are never part of a ratio.
//!
//! Outputs: a Markdown table (stdout and the README section between
//! [`BEGIN`] and [`END`]) and a JSON document for machines. serde_json
//! writes the JSON from views of the rows (`RowOut`, `StatsOut`: a row's
//! ratio and U test beside its sides' statistics) in the layout the file has
//! always had (`Layout`): one key of the document a line, one row a line,
//! numbers as Rust prints them, `null` for an absent or NaN one.
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io;

use serde::{Serialize, Serializer};
use serde_json::ser::Formatter;

use crate::stats::{self, Verdict};

/// Where a sample came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Side {
    /// Go's benchmark binary in the Linux guest under QEMU.
    Go,
    /// The kernel's mirror under the same QEMU.
    Kernel,
    /// Go's benchmark binary on the host, no emulation (reference).
    Native,
}

/// One measured ns/op.
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    pub benchmark: String,
    pub package: String,
    pub cpus: u32,
    pub side: Side,
    pub ns_per_op: f64,
    /// GC cycles inside the reported run, when the side printed gctrace.
    pub gc_cycles: Option<u32>,
}

/// Median, extremes and the samples of one side of one row.
#[derive(Clone, Debug, PartialEq)]
pub struct Stats {
    pub median: f64,
    pub min: f64,
    pub max: f64,
    pub samples: Vec<f64>,
}

impl Stats {
    /// `None` for no samples. The median of an even count is the mean of the
    /// middle two.
    pub fn of(samples: &[f64]) -> Option<Stats> {
        let mut s = samples.to_vec();
        s.sort_by(f64::total_cmp);
        let n = s.len();
        let median = match n {
            0 => return None,
            _ if n % 2 == 1 => s[n / 2],
            _ => (s[n / 2 - 1] + s[n / 2]) / 2.0,
        };
        Some(Stats { median, min: s[0], max: s[n - 1], samples: samples.to_vec() })
    }

    /// `(max - min) / median`.
    pub fn spread(&self) -> f64 {
        if self.median == 0.0 {
            0.0
        } else {
            (self.max - self.min) / self.median
        }
    }
}

/// One line of the table.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    pub benchmark: String,
    pub package: String,
    pub cpus: u32,
    pub go: Option<Stats>,
    pub kernel: Option<Stats>,
    pub native: Option<Stats>,
    /// Go's GC cycles inside the reported run, one per round that reported them.
    pub go_gc_cycles: Vec<u32>,
}

impl Row {
    /// `kernel / Go` of the medians, when both exist.
    pub fn ratio(&self) -> Option<f64> {
        Some(self.kernel.as_ref()?.median / self.go.as_ref()?.median)
    }

    /// The U test of the kernel's rounds against Go's: its two-sided
    /// p-value and what benchstat would say (faster, `~` or slower).
    pub fn u_test(&self) -> Option<(f64, Verdict)> {
        let p = stats::mann_whitney_p(&self.kernel.as_ref()?.samples, &self.go.as_ref()?.samples)?;
        Some((p, stats::verdict(p, self.ratio()?)))
    }
}

/// `faster (p=0.000)`, `~ (p=0.436)`, `slower (p=0.024)`, or `–`.
fn verdict_cell(r: &Row) -> String {
    let Some((p, verdict)) = r.u_test() else { return "–".into() };
    let word = match verdict {
        Verdict::Faster => "faster",
        Verdict::Same => "~",
        Verdict::Slower => "slower",
    };
    format!("{word} (p={p:.3})")
}

/// Groups samples into rows, ordered by package, benchmark, then vCPUs.
pub fn rows(samples: &[Sample]) -> Vec<Row> {
    type Group = (BTreeMap<Side, Vec<f64>>, Vec<u32>);
    let mut groups: BTreeMap<(String, String, u32), Group> = BTreeMap::new();
    for s in samples {
        let (sides, gcs) = groups.entry((s.package.clone(), s.benchmark.clone(), s.cpus)).or_default();
        sides.entry(s.side).or_default().push(s.ns_per_op);
        if s.side == Side::Go {
            gcs.extend(s.gc_cycles);
        }
    }
    groups
        .into_iter()
        .map(|((package, benchmark, cpus), (sides, go_gc_cycles))| {
            let stats = |side| sides.get(&side).and_then(|v| Stats::of(v));
            Row {
                benchmark,
                package,
                cpus,
                go: stats(Side::Go),
                kernel: stats(Side::Kernel),
                native: stats(Side::Native),
                go_gc_cycles,
            }
        })
        .collect()
}

/// ns/op with four significant figures.
fn ns(v: Option<&Stats>) -> String {
    match v.map(|s| s.median) {
        None => "–".into(),
        Some(x) if x >= 1000.0 => format!("{x:.0}"),
        Some(x) if x >= 100.0 => format!("{x:.1}"),
        Some(x) if x >= 10.0 => format!("{x:.2}"),
        Some(x) => format!("{x:.3}"),
    }
}

/// `0`, `3`, `2-5` (the range over the rounds), or `–` without gctrace.
fn gc_cell(r: &Row) -> String {
    match (r.go_gc_cycles.iter().min(), r.go_gc_cycles.iter().max()) {
        (Some(lo), Some(hi)) if lo == hi => format!("{lo}"),
        (Some(lo), Some(hi)) => format!("{lo}-{hi}"),
        _ => "–".into(),
    }
}

fn spread(v: Option<&Stats>) -> String {
    v.map_or("–".into(), |s| format!("{:.0}%", s.spread() * 100.0))
}

/// The Markdown table.
pub fn markdown(rows: &[Row]) -> String {
    let mut out = String::new();
    out.push_str("| benchmark | vCPUs | Go in guest, ns/op | kernel, ns/op | kernel / Go | U test | spread Go | spread kernel | Go GCs in run | Go native, ns/op |\n");
    out.push_str("|---|---|---|---|---|---|---|---|---|---|\n");
    for r in rows {
        let ratio = r.ratio().map_or("–".into(), |x| format!("{x:.2}"));
        let _ = writeln!(
            out,
            "| {}.{} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            r.package,
            r.benchmark,
            r.cpus,
            ns(r.go.as_ref()),
            ns(r.kernel.as_ref()),
            ratio,
            verdict_cell(r),
            spread(r.go.as_ref()),
            spread(r.kernel.as_ref()),
            gc_cell(r),
            ns(r.native.as_ref())
        );
    }
    out
}

/// The JSON document: `meta`'s pairs (date, machine, versions, settings) as
/// its first keys, in their order, then `rows`.
#[derive(Serialize)]
struct Document<'a> {
    #[serde(flatten, serialize_with = "pairs")]
    meta: &'a [(&'a str, String)],
    rows: Vec<RowOut<'a>>,
}

fn pairs<S: Serializer>(meta: &&[(&str, String)], s: S) -> Result<S::Ok, S::Error> {
    s.collect_map(meta.iter().map(|(k, v)| (k, v)))
}

/// A [`Row`] as the JSON has it: its computed ratio and U test beside the
/// sides' statistics. Absent values are `null`.
#[derive(Serialize)]
struct RowOut<'a> {
    benchmark: &'a str,
    package: &'a str,
    cpus: u32,
    ratio: Option<f64>,
    p: Option<f64>,
    verdict: Option<Verdict>,
    go: Option<StatsOut<'a>>,
    kernel: Option<StatsOut<'a>>,
    native: Option<StatsOut<'a>>,
    go_gc_cycles: &'a [u32],
}

/// [`Stats`] with its spread.
#[derive(Serialize)]
struct StatsOut<'a> {
    median: f64,
    min: f64,
    max: f64,
    spread: f64,
    samples: &'a [f64],
}

impl<'a> From<&'a Row> for RowOut<'a> {
    fn from(r: &'a Row) -> Self {
        let test = r.u_test();
        let stats = |s: &'a Option<Stats>| {
            s.as_ref().map(|s| StatsOut {
                median: s.median,
                min: s.min,
                max: s.max,
                spread: s.spread(),
                samples: &s.samples,
            })
        };
        RowOut {
            benchmark: &r.benchmark,
            package: &r.package,
            cpus: r.cpus,
            ratio: r.ratio(),
            p: test.map(|(p, _)| p),
            verdict: test.map(|(_, v)| v),
            go: stats(&r.go),
            kernel: stats(&r.kernel),
            native: stats(&r.native),
            go_gc_cycles: &r.go_gc_cycles,
        }
    }
}

/// serde_json's compact output with the file's layout: the document one key
/// a line and the rows one a line (so a diff or `grep` sees one row a line),
/// everything inside a row on its line with `, ` and `: `, and numbers as
/// Rust prints them (`1`, not `1.0`). NaN and infinities are `null`:
/// serde_json writes them so without asking the formatter.
#[derive(Default)]
struct Layout {
    /// Containers open around the value being written (the document is 1).
    depth: usize,
}

impl Layout {
    /// Whether the innermost open container puts each member on a line of
    /// its own: the document and the rows array.
    fn by_lines(&self) -> bool {
        self.depth <= 2
    }

    fn open<W: ?Sized + io::Write>(&mut self, w: &mut W, bracket: &[u8]) -> io::Result<()> {
        self.depth += 1;
        w.write_all(bracket)
    }

    fn member<W: ?Sized + io::Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        match (first, self.by_lines()) {
            (_, true) => write!(w, "{}\n{:2$}", if first { "" } else { "," }, "", 2 * self.depth),
            (true, false) => Ok(()),
            (false, false) => w.write_all(b", "),
        }
    }

    fn close<W: ?Sized + io::Write>(&mut self, w: &mut W, bracket: &[u8]) -> io::Result<()> {
        if self.by_lines() {
            write!(w, "\n{:1$}", "", 2 * (self.depth - 1))?;
        }
        self.depth -= 1;
        w.write_all(bracket)
    }
}

impl Formatter for Layout {
    fn write_f64<W: ?Sized + io::Write>(&mut self, w: &mut W, value: f64) -> io::Result<()> {
        write!(w, "{value}")
    }
    fn begin_object<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.open(w, b"{")
    }
    fn begin_object_key<W: ?Sized + io::Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        self.member(w, first)
    }
    fn begin_object_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        w.write_all(b": ")
    }
    fn end_object<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.close(w, b"}")
    }
    fn begin_array<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.open(w, b"[")
    }
    fn begin_array_value<W: ?Sized + io::Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        self.member(w, first)
    }
    fn end_array<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.close(w, b"]")
    }
}

/// The JSON document: `meta` (string pairs: date, machine, versions, settings)
/// and one object per row.
pub fn json(meta: &[(&str, String)], rows: &[Row]) -> String {
    let doc = Document { meta, rows: rows.iter().map(RowOut::from).collect() };
    let mut out = Vec::new();
    doc.serialize(&mut serde_json::Serializer::with_formatter(&mut out, Layout::default()))
        .expect("a Vec takes any JSON, and every key is a string");
    out.push(b'\n');
    String::from_utf8(out).expect("serde_json writes UTF-8")
}

/// Markers of the README's generated section.
pub const BEGIN: &str = "<!-- bench:begin (generated by ./x bench --readme; edits here are overwritten) -->";
pub const END: &str = "<!-- bench:end -->";

/// `readme` with the text between the markers replaced by `section`.
pub fn replace_section(readme: &str, section: &str) -> Result<String, String> {
    let begin = readme.find(BEGIN).ok_or("README has no bench:begin marker")?;
    let end = readme[begin..].find(END).ok_or("README has no bench:end marker after bench:begin")? + begin;
    Ok(format!("{}{BEGIN}\n{}{}", &readme[..begin], section, &readme[end..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(b: &str, cpus: u32, side: Side, ns: f64) -> Sample {
        Sample { benchmark: b.into(), package: "time".into(), cpus, side, ns_per_op: ns, gc_cycles: None }
    }

    #[test]
    fn stats_median_and_spread() {
        let s = Stats::of(&[30.0, 10.0, 20.0]).unwrap();
        assert_eq!((s.median, s.min, s.max), (20.0, 10.0, 30.0));
        assert!((s.spread() - 1.0).abs() < 1e-12);
        assert_eq!(Stats::of(&[1.0, 2.0, 3.0, 10.0]).unwrap().median, 2.5);
        assert_eq!(Stats::of(&[]), None);
        assert_eq!(Stats::of(&[5.0]).unwrap().spread(), 0.0);
    }

    #[test]
    fn rows_group_and_ratio() {
        let samples = [
            sample("Now", 1, Side::Go, 100.0),
            sample("Now", 1, Side::Go, 120.0),
            sample("Now", 1, Side::Go, 110.0),
            sample("Now", 1, Side::Kernel, 55.0),
            sample("Now", 4, Side::Kernel, 60.0),
            sample("Now", 1, Side::Native, 5.0),
        ];
        let rows = rows(&samples);
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].cpus, 1);
        assert_eq!(rows[0].ratio(), Some(0.5));
        assert_eq!(rows[0].native.as_ref().unwrap().median, 5.0);
        assert_eq!(rows[1].ratio(), None, "no Go sample for 4 vCPUs");
        let md = markdown(&rows);
        assert!(md.contains("| time.Now | 1 | 110.0 | 55.00 | 0.50 | ~ (p=0.500) | 18% | 0% | – | 5.000 |"), "{md}");
        assert!(md.contains("| time.Now | 4 | – | 60.00 | – | – | – | 0% | – | – |"), "{md}");
    }

    #[test]
    fn verdicts_need_the_test_not_just_the_ratio() {
        let side = |b: &str, side, v: &[f64]| v.iter().map(|&x| sample(b, 1, side, x)).collect::<Vec<_>>();
        let mut all = side("Fast", Side::Go, &[10.0, 11.0, 12.0, 10.5, 11.5]);
        all.extend(side("Fast", Side::Kernel, &[5.0, 5.5, 6.0, 5.2, 5.8]));
        all.extend(side("Level", Side::Go, &[10.0, 11.0, 12.0, 10.5, 11.5]));
        all.extend(side("Level", Side::Kernel, &[10.2, 14.0, 11.2, 10.4, 15.0]));
        let rows = rows(&all);
        assert_eq!((rows[0].benchmark.as_str(), rows[0].u_test().unwrap().1), ("Fast", Verdict::Faster));
        assert_eq!(rows[1].u_test().unwrap().1, Verdict::Same, "ratio {:?}", rows[1].ratio());
        assert!(rows[1].ratio().unwrap() > 1.0);
        let md = markdown(&rows);
        assert!(md.contains("| 0.50 | faster (p=0.008) |"), "{md}");
    }

    #[test]
    fn go_gc_cycles_show_their_range_over_rounds() {
        let gc = |n, side| Sample { gc_cycles: n, ..sample("After", 2, side, 10.0) };
        let rows =
            rows(&[gc(Some(3), Side::Go), gc(Some(1), Side::Go), gc(None, Side::Kernel), gc(Some(9), Side::Native)]);
        assert_eq!(rows[0].go_gc_cycles, [3, 1], "only Go's guest rounds count");
        assert!(markdown(&rows).contains("| 0% | 0% | 1-3 | 10.00 |"), "{}", markdown(&rows));
        assert!(json(&[], &rows).contains("\"go_gc_cycles\": [3, 1]}"));
        let level = super::rows(&[gc(Some(0), Side::Go), gc(Some(0), Side::Go)]);
        assert_eq!(gc_cell(&level[0]), "0");
    }

    #[test]
    fn json_has_one_row_a_line_and_parses_back() {
        let rows = rows(&[
            sample("Now", 2, Side::Go, 10.0),
            sample("Now", 2, Side::Kernel, 5.0),
            sample("Odd", 1, Side::Kernel, f64::NAN),
        ]);
        let j = json(&[("date", "2026-11-23".into()), ("machine", "a \"quoted\"\tbox".into())], &rows);
        assert_eq!(
            j,
            r#"{
  "date": "2026-11-23",
  "machine": "a \"quoted\"\tbox",
  "rows": [
    {"benchmark": "Now", "package": "time", "cpus": 2, "ratio": 0.5, "p": 1, "verdict": "same", "go": {"median": 10, "min": 10, "max": 10, "spread": 0, "samples": [10]}, "kernel": {"median": 5, "min": 5, "max": 5, "spread": 0, "samples": [5]}, "native": null, "go_gc_cycles": []},
    {"benchmark": "Odd", "package": "time", "cpus": 1, "ratio": null, "p": null, "verdict": null, "go": null, "kernel": {"median": null, "min": null, "max": null, "spread": null, "samples": [null]}, "native": null, "go_gc_cycles": []}
  ]
}
"#
        );
        let v: serde_json::Value = serde_json::from_str(&j).unwrap();
        assert_eq!(v["machine"], "a \"quoted\"\tbox");
        assert_eq!((v["rows"][0]["ratio"].as_f64(), v["rows"][1]["kernel"]["median"].is_null()), (Some(0.5), true));
        assert_eq!(json(&[], &[]), "{\n  \"rows\": [\n  ]\n}\n");
    }

    #[test]
    fn readme_section_replacement() {
        let readme = format!("# T\nbefore\n{BEGIN}\nold table\n{END}\nafter\n");
        let new = replace_section(&readme, "new table\n").unwrap();
        assert_eq!(new, format!("# T\nbefore\n{BEGIN}\nnew table\n{END}\nafter\n"));
        assert_eq!(replace_section(&new, "new table\n").unwrap(), new, "idempotent");
        assert!(replace_section("no markers", "x").is_err());
        assert!(replace_section(&format!("{BEGIN} but no end"), "x").is_err());
    }
}
