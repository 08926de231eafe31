//! `harness`: the kernel against Go, one run, side by side (`./x bench`).
//!
//! ```text
//! harness [--bench LIST] [--cpus 1,2] [--count N] [--benchtime 1s]
//!         [--no-native] [--out FILE] [--readme FILE] [--work DIR]
//! ```
//! The command line is read with lexopt, as the runner's is (`--count 3` or
//! `--count=3`); bad usage prints what is wrong on one line, then the usage,
//! and exits 64 before any work; `--help` prints the usage and exits 0.
//!
//! 1. Prepare the Go side (cached after the first run: Go, its benchmark
//!    binaries, the guest kernel and initramfs).
//! 2. For each vCPU count, `count` rounds; each round boots the kernel with
//!    `bench=LIST count=1`, then the Linux guest running Go's binaries for the
//!    same benchmarks. Alternating spreads slow phases of the host over both
//!    sides instead of one. The kernel's `pkg:` lines say which Go binary holds
//!    each benchmark, so the list of benchmarks lives only in the kernel.
//! 3. Go natively on the host, `count` times (reference only).
//! 4. Print the table, write the JSON file, optionally rewrite the README
//!    section. A benchmark that one side did not report is an error (exit 1)
//!    after the table is printed: a missing ratio must not pass silently.
use std::ffi::OsString;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use harness::go::{self, GoBench};
use harness::parse;
use harness::table::{self, Sample, Side};
use lexopt::prelude::*;

const USAGE: &str = "usage: harness [--bench LIST] [--cpus 1,2] [--count N] [--benchtime 1s] \
[--no-native] [--out FILE] [--readme FILE] [--work DIR]
  --bench LIST     kernel benchmark names, comma-separated, or all (default all)
  --cpus LIST      vCPU counts (default 1,2)
  --count N        rounds per vCPU count; medians are taken over them (default 5)
  --benchtime T    per benchmark run, Go's syntax: 1s, 200ms, 100x (default 1s)
  --no-native      skip Go's native reference runs
  --out FILE       JSON results (default <work>/results.json)
  --readme FILE    rewrite the generated section of this README
  --work DIR       cache for Go, the guest and results (default target/bench)";

/// What a run measures, and where its results go.
#[derive(Debug, PartialEq)]
struct Options {
    bench: String,
    cpus: Vec<u32>,
    count: u32,
    benchtime: String,
    native: bool,
    out: Option<PathBuf>,
    readme: Option<PathBuf>,
    work: PathBuf,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            bench: "all".into(),
            cpus: vec![1, 2],
            count: 5,
            benchtime: "1s".into(),
            native: true,
            out: None,
            readme: None,
            work: PathBuf::from("target/bench"),
        }
    }
}

/// What the command line asks for.
#[derive(Debug, PartialEq)]
enum Action {
    Run(Options),
    Help,
}

/// The command line (without the program's name), or a one-line message for
/// bad usage.
fn parse_args(args: impl IntoIterator<Item = impl Into<OsString>>) -> Result<Action, String> {
    let mut o = Options::default();
    let mut parser = lexopt::Parser::from_args(args);
    while let Some(arg) = parser.next().map_err(|e| e.to_string())? {
        match arg {
            Long("bench") => o.bench = value(&mut parser, "--bench")?,
            Long("cpus") => {
                o.cpus = value(&mut parser, "--cpus")?
                    .split(',')
                    .map(|c| c.parse().ok().filter(|n| (1..=64).contains(n)))
                    .collect::<Option<_>>()
                    .ok_or("--cpus: want a list of 1..=64")?
            }
            Long("count") => {
                o.count = value(&mut parser, "--count")?
                    .parse()
                    .ok()
                    .filter(|&n| n > 0)
                    .ok_or("--count: want a positive number")?
            }
            Long("benchtime") => {
                let t = value(&mut parser, "--benchtime")?;
                runtime::bench::parse_benchtime(&t).ok_or(format!("--benchtime: {t:?} is not 1s, 200ms or 100x"))?;
                o.benchtime = t;
            }
            Long("no-native") => o.native = false,
            Long("out") => o.out = Some(value_os(&mut parser, "--out")?.into()),
            Long("readme") => o.readme = Some(value_os(&mut parser, "--readme")?.into()),
            Long("work") => o.work = value_os(&mut parser, "--work")?.into(),
            Short('h') | Long("help") => return Ok(Action::Help),
            Long(name) => return Err(format!("unknown argument {:?}", format!("--{name}"))),
            Short(c) => return Err(format!("unknown argument {:?}", format!("-{c}"))),
            Value(v) => return Err(format!("unknown argument {v:?}")),
        }
    }
    Ok(Action::Run(o))
}

/// The value of option `name`.
fn value_os(parser: &mut lexopt::Parser, name: &str) -> Result<OsString, String> {
    parser.value().map_err(|_| format!("{name} needs a value"))
}

/// The value of option `name`, as text.
fn value(parser: &mut lexopt::Parser, name: &str) -> Result<String, String> {
    value_os(parser, name)?.into_string().map_err(|v| format!("{name}: {v:?} is not UTF-8"))
}

/// Seconds a run of `benches` benchmarks may take, boot included.
fn run_timeout(o: &Options, benches: usize) -> Duration {
    let per = match runtime::bench::parse_benchtime(&o.benchtime) {
        Some(runtime::bench::Benchtime::Duration(ns)) => ns as f64 / 1e9,
        _ => 1.0,
    };
    Duration::from_secs_f64(120.0 + 10.0 * per * benches.max(1) as f64)
}

fn kernel_round(o: &Options, cpus: u32, benches: usize) -> Result<Vec<parse::Line>, String> {
    let config = boot::Config {
        program: boot::program::BENCH_PROGRAM.into(),
        cpus,
        // `./x bench` builds the harness in release and measures a release
        // kernel; a debug harness (its pipeline test) boots the dev build.
        profile: if cfg!(debug_assertions) { boot::Profile::Dev } else { boot::Profile::Release },
        memory_mib: 1024,
        cmdline: format!("bench={} benchtime={} count=1 GOMAXPROCS={cpus} loglevel=warn", o.bench, o.benchtime),
        timeout: run_timeout(o, benches),
        ..boot::Config::default()
    };
    let out = boot::run(&config, |_| {})?;
    if out.verdict != boot::Verdict::Pass {
        return Err(format!("the kernel's bench run ended {:?}:\n{}", out.verdict, out.output));
    }
    Ok(parse::parse(&out.output))
}

fn samples(lines: &[parse::Line], benches: &[GoBench], cpus: u32, side: Side) -> Vec<Sample> {
    lines
        .iter()
        .filter_map(|l| {
            let b = benches.iter().find(|b| b.name == l.name)?;
            Some(Sample {
                benchmark: l.name.clone(),
                package: b.package.into(),
                cpus,
                side,
                ns_per_op: l.ns_per_op,
                gc_cycles: l.gc_cycles,
            })
        })
        .collect()
}

fn command_line(cmd: &str, args: &[&str]) -> String {
    Command::new(cmd)
        .args(args)
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).lines().next().unwrap_or("").trim().to_string())
        .unwrap_or_default()
}

fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map_or("unknown CPU", |m| m.trim_start_matches([' ', '\t', ':']));
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    format!("{cores}-core host ({model})")
}

fn run(o: &Options) -> Result<bool, String> {
    let go = go::prepare(&o.work)?;
    let mut all = Vec::new();
    let mut benches: Vec<GoBench> = Vec::new();
    let mut guest_facts = Vec::new();
    for &cpus in &o.cpus {
        for round in 1..=o.count {
            eprintln!("harness: {cpus} vCPU(s), round {round}/{}: kernel", o.count);
            let lines = kernel_round(o, cpus, benches.len())?;
            for l in &lines {
                if !benches.iter().any(|b| b.name == l.name) {
                    let package = l.package.clone().ok_or(format!("kernel printed {} without a pkg: line", l.name))?;
                    benches
                        .push(GoBench { package: Box::leak(package.into()), name: Box::leak(l.name.clone().into()) });
                }
            }
            if benches.is_empty() {
                return Err(format!("the kernel ran no benchmark for bench={}", o.bench));
            }
            all.extend(samples(&lines, &benches, cpus, Side::Kernel));
            eprintln!("harness: {cpus} vCPU(s), round {round}/{}: Go in the guest", o.count);
            let text = go.run_guest(cpus, &benches, &o.benchtime, run_timeout(o, benches.len()))?;
            if guest_facts.is_empty() {
                guest_facts = go::guest_facts(&text);
            }
            all.extend(samples(&parse::parse(&text), &benches, cpus, Side::Go));
        }
        if o.native {
            for _ in 0..o.count {
                let text = go.run_native(cpus, &benches, &o.benchtime)?;
                all.extend(samples(&parse::parse(&text), &benches, cpus, Side::Native));
            }
        }
    }
    let rows = table::rows(&all);
    let md = table::markdown(&rows);
    print!("{md}");
    let date = command_line("date", &["-u", "+%Y-%m-%d"]);
    let qemu = command_line("qemu-system-x86_64", &["--version"]);
    let mut meta = vec![
        ("date", date.clone()),
        ("machine", machine()),
        ("qemu", qemu.clone()),
        ("go", go.go_version.clone()),
        ("benchtime", o.benchtime.clone()),
        ("count", o.count.to_string()),
    ];
    // Every round checked the clocksource (tsc before and after, or it
    // failed); the command line and mitigations are the same in each.
    meta.extend(guest_facts);
    let out = o.out.clone().unwrap_or_else(|| o.work.join("results.json"));
    std::fs::write(&out, table::json(&meta, &rows)).map_err(|e| format!("{}: {e}", out.display()))?;
    eprintln!("harness: results in {}", out.display());
    if let Some(readme) = &o.readme {
        let text = std::fs::read_to_string(readme).map_err(|e| format!("{}: {e}", readme.display()))?;
        let fact = |key: &str| meta.iter().find(|(k, _)| *k == key).map_or("?", |(_, v)| v.as_str());
        // The benchmark list is the table itself: shorten it.
        let cmdline: Vec<&str> = fact("guest_cmdline")
            .split_whitespace()
            .map(|w| if w.starts_with("gobench=") { "gobench=..." } else { w })
            .collect();
        let section = format!(
            "Measured {date} on a {}, {qemu} TCG (`-machine q35 -cpu max`); {} in a Debian cloud-kernel \
             guest under the same QEMU (command line `{}`; clocksource tsc before and after every round, \
             checked; CPU mitigations as Linux chose them: {}). Median of {} rounds alternating kernel \
             and Go, benchtime {}; kernel / Go below 1 means the kernel is faster. U test: benchstat's \
             Mann-Whitney U test of the kernel's rounds against Go's, `faster` or `slower` at p < 0.05, \
             else `~` (no difference the host's noise could not make). Go GCs in run: Go's collection \
             cycles inside the reported run (`GODEBUG=gctrace=1`), the range over the rounds; the \
             kernel has no collector yet. Go native is the host without emulation, for reference.\n\n{md}",
            machine(),
            go.go_version,
            cmdline.join(" "),
            fact("guest_mitigations"),
            o.count,
            o.benchtime
        );
        std::fs::write(readme, table::replace_section(&text, &section)?)
            .map_err(|e| format!("{}: {e}", readme.display()))?;
        eprintln!("harness: rewrote the benchmark section of {}", readme.display());
    }
    let missing: Vec<String> = rows
        .iter()
        .filter(|r| r.go.is_none() || r.kernel.is_none())
        .map(|r| format!("{}.{} with {} vCPU(s)", r.package, r.benchmark, r.cpus))
        .collect();
    if !missing.is_empty() {
        eprintln!("harness: no ratio for {} (one side reported no result)", missing.join(", "));
    }
    let slower: Vec<String> = rows
        .iter()
        .filter(|r| matches!(r.u_test(), Some((_, harness::stats::Verdict::Slower))))
        .map(|r| format!("{}.{} with {} vCPU(s)", r.package, r.benchmark, r.cpus))
        .collect();
    if !slower.is_empty() {
        eprintln!("harness: the kernel is slower than Go (U test, p < 0.05) on {}", slower.join(", "));
    }
    Ok(missing.is_empty())
}

fn main() {
    let options = match parse_args(std::env::args_os().skip(1)) {
        Ok(Action::Run(o)) => o,
        Ok(Action::Help) => {
            eprintln!("{USAGE}");
            return;
        }
        Err(e) => {
            eprintln!("harness: {e}");
            eprintln!("{USAGE}");
            std::process::exit(64);
        }
    };
    match run(&options) {
        Ok(true) => {}
        Ok(false) => std::process::exit(1),
        Err(e) => {
            eprintln!("harness: {e}");
            std::process::exit(1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_every_option() {
        assert_eq!(parse_args([""; 0]), Ok(Action::Run(Options::default())));
        let args = [
            "--bench",
            "Gosched,Once",
            "--cpus",
            "1,4,64",
            "--count",
            "3",
            "--benchtime",
            "100x",
            "--no-native",
            "--out",
            "r.json",
            "--readme",
            "README.md",
            "--work=w",
        ];
        let want = Options {
            bench: "Gosched,Once".into(),
            cpus: vec![1, 4, 64],
            count: 3,
            benchtime: "100x".into(),
            native: false,
            out: Some("r.json".into()),
            readme: Some("README.md".into()),
            work: "w".into(),
        };
        assert_eq!(parse_args(args), Ok(Action::Run(want)));
        assert_eq!(parse_args(["--help"]), Ok(Action::Help));
        assert_eq!(parse_args(["--count", "2", "-h"]), Ok(Action::Help));
        // A value is the next argument whole, even one that looks like an option.
        let Ok(Action::Run(o)) = parse_args(["--bench", "--cpus"]) else { panic!("not a run") };
        assert_eq!((o.bench.as_str(), o.cpus), ("--cpus", vec![1, 2]));
    }

    #[test]
    fn bad_usage_is_one_line_naming_the_problem() {
        for (args, message) in [
            (&["--frob"][..], "unknown argument \"--frob\""),
            (&["-x"], "unknown argument \"-x\""),
            (&["--count", "2", "extra"], "unknown argument \"extra\""),
            (&["--cpus"], "--cpus needs a value"),
            (&["--work"], "--work needs a value"),
            (&["--no-native=yes"], "unexpected argument for option '--no-native': \"yes\""),
            (&["--cpus", "0"], "--cpus: want a list of 1..=64"),
            (&["--cpus", "1,,2"], "--cpus: want a list of 1..=64"),
            (&["--cpus", "65"], "--cpus: want a list of 1..=64"),
            (&["--count", "zero"], "--count: want a positive number"),
            (&["--count", "0"], "--count: want a positive number"),
            (&["--count", "-1"], "--count: want a positive number"),
            (&["--benchtime", "1h"], "--benchtime: \"1h\" is not 1s, 200ms or 100x"),
        ] {
            assert_eq!(parse_args(args), Err(message.to_string()), "{args:?}");
        }
        #[cfg(unix)]
        {
            use std::os::unix::ffi::OsStrExt;
            let bad = std::ffi::OsStr::from_bytes(b"a\xffb");
            assert_eq!(
                parse_args([OsString::from("--bench"), bad.into()]),
                Err(r#"--bench: "a\xFFb" is not UTF-8"#.into())
            );
            assert!(
                matches!(parse_args([OsString::from("--out"), bad.into()]), Ok(Action::Run(_))),
                "paths need not be UTF-8"
            );
        }
    }
}
