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
//! [`BEGIN`] and [`END`]) and a JSON document for machines.
use std::collections::BTreeMap;
use std::fmt::Write;

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

fn json_str(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn json_num(x: f64) -> String {
    if x.is_finite() {
        format!("{x}")
    } else {
        "null".into()
    }
}

fn json_stats(s: Option<&Stats>) -> String {
    match s {
        None => "null".into(),
        Some(s) => format!(
            "{{\"median\": {}, \"min\": {}, \"max\": {}, \"spread\": {}, \"samples\": [{}]}}",
            json_num(s.median),
            json_num(s.min),
            json_num(s.max),
            json_num(s.spread()),
            s.samples.iter().map(|&x| json_num(x)).collect::<Vec<_>>().join(", ")
        ),
    }
}

/// The JSON document: `meta` (string pairs: date, machine, versions, settings)
/// and one object per row.
pub fn json(meta: &[(&str, String)], rows: &[Row]) -> String {
    let mut out = String::from("{\n");
    for (k, v) in meta {
        let _ = writeln!(out, "  {}: {},", json_str(k), json_str(v));
    }
    out.push_str("  \"rows\": [\n");
    for (i, r) in rows.iter().enumerate() {
        let test = r.u_test();
        let _ = writeln!(
            out,
            "    {{\"benchmark\": {}, \"package\": {}, \"cpus\": {}, \"ratio\": {}, \"p\": {}, \"verdict\": {}, \"go\": {}, \"kernel\": {}, \"native\": {}, \"go_gc_cycles\": [{}]}}{}",
            json_str(&r.benchmark),
            json_str(&r.package),
            r.cpus,
            r.ratio().map_or("null".into(), json_num),
            test.map_or("null".into(), |(p, _)| json_num(p)),
            test.map_or("null".into(), |(_, v)| json_str(&format!("{v:?}").to_lowercase())),
            json_stats(r.go.as_ref()),
            json_stats(r.kernel.as_ref()),
            json_stats(r.native.as_ref()),
            r.go_gc_cycles.iter().map(u32::to_string).collect::<Vec<_>>().join(", "),
            if i + 1 < rows.len() { "," } else { "" }
        );
    }
    out.push_str("  ]\n}\n");
    out
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
    fn json_is_well_formed_enough() {
        let rows = rows(&[sample("Now", 2, Side::Go, 10.0), sample("Now", 2, Side::Kernel, 5.0)]);
        let j = json(&[("date", "2026-11-23".into()), ("machine", "a \"quoted\" box".into())], &rows);
        assert!(j.contains("\"machine\": \"a \\\"quoted\\\" box\","));
        assert!(j.contains("\"ratio\": 0.5, \"p\": 1, \"verdict\": \"same\""), "{j}");
        assert!(j.contains("\"native\": null"));
        assert_eq!(j.matches('{').count(), j.matches('}').count());
        assert_eq!(j.matches('[').count(), j.matches(']').count());
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
