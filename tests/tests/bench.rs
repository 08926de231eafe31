//! The bench program (`bench/`, what the harness boots) prints Go's
//! benchmark format, and refuses unknown benchmarks and malformed benchtimes
//! with a clear error.
use tests::*;

#[test]
fn bench_mode_prints_go_lines() {
    let out = boot_program("bench", 2, "bench=NowUnixNano,ChanSync benchtime=1000x count=2");
    expect_verdict(&out, Verdict::Pass);
    expect_line(&out, "goos: gort");
    expect_line(&out, "pkg: time");
    let lines: Vec<&str> = out.output.lines().filter(|l| l.starts_with("BenchmarkNowUnixNano-2\t")).collect();
    assert_eq!(lines.len(), 2, "count=2 runs:\n{}", out.output);
    for line in lines {
        let fields: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(fields[1], "1000", "benchtime=1000x: {line}");
        assert_eq!(fields[3], "ns/op", "{line}");
        let ns: f64 = fields[2].parse().unwrap();
        assert!(ns > 0.0 && ns < 100_000.0, "{line}");
    }
    expect_line(&out, "PASS");
}

/// Every mirror runs to completion on 2 CPUs (RunParallel, PingPongHog's
/// GOMAXPROCS changes, the garbage timers of the time benchmarks) and
/// prints one line under its Go package.
#[test]
fn every_mirror_runs() {
    let out = boot_program("bench", 2, "bench=all benchtime=20x");
    expect_verdict(&out, Verdict::Pass);
    let mut package = "";
    let mut seen = Vec::new();
    for line in out.output.lines() {
        if let Some(p) = line.strip_prefix("pkg: ") {
            package = p;
        } else if let Some(rest) = line.strip_prefix("Benchmark") {
            let fields: Vec<&str> = rest.split_whitespace().collect();
            assert_eq!(fields[1], "20", "benchtime=20x: {line}");
            seen.push((package, fields[0].trim_end_matches("-2")));
        }
    }
    for (package, name) in [
        ("time", "NowUnixNano"),
        ("time", "AfterFunc1000"),
        ("time", "Sleep1000"),
        ("runtime", "CreateGoroutines"),
        ("runtime", "CreateGoroutinesParallel"),
        ("runtime", "StackGrowth"),
        ("runtime", "StackGrowthDeep"),
        ("runtime", "PingPongHog"),
        ("runtime", "ChanSync"),
        ("runtime", "ChanProdCons0"),
        ("runtime", "ChanProdCons10"),
        ("runtime", "ChanProdCons100"),
        ("runtime", "ChanNonblocking"),
        ("runtime", "SelectUncontended"),
        ("runtime", "SelectProdCons"),
        ("runtime", "Malloc8"),
        ("runtime", "Malloc16"),
        ("runtime", "Malloc32"),
        ("runtime", "MallocTypeInfo8"),
        ("runtime", "MallocTypeInfo16"),
        ("runtime", "MallocTypeInfo32"),
        ("runtime", "MallocLargeStruct"),
        ("sync", "MutexUncontended"),
        ("sync", "Mutex"),
        ("sync", "RWMutexUncontended"),
        ("sync", "WaitGroupUncontended"),
        ("sync", "Once"),
        ("sync", "Cond2"),
        ("gort", "Gosched"),
        ("gort", "AtomicCASAdd"),
        ("gort", "StackGrowthNewG"),
        ("gort", "StackGrowthDeepNewG"),
        ("gort", "MallocParallel8"),
        ("gort", "MallocParallel64"),
    ] {
        assert!(seen.contains(&(package, name)), "no {package}.{name} line:\n{}", out.output);
    }
}

#[test]
fn unknown_benchmark_is_refused() {
    let out = boot_program("bench", 1, "bench=NowUnixNano,ChanSink");
    expect_verdict(&out, Verdict::Fail);
    expect_line(&out, "fatal error: unknown benchmark \"ChanSink\" in bench=NowUnixNano,ChanSink");
    expect_line(&out, "valid benchmarks: all, NowUnixNano");
}

#[test]
fn bad_benchtime_is_refused() {
    let out = boot_program("bench", 1, "bench=all benchtime=1h");
    expect_verdict(&out, Verdict::Fail);
    expect_line(&out, "fatal error: bad value \"1h\" for boot parameter benchtime");
}
