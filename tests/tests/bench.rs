//! The kernel's bench mode prints Go's benchmark format, and refuses unknown
//! benchmarks and malformed benchtimes with a clear error.
use tests::*;

#[test]
fn bench_mode_prints_go_lines() {
    let out = boot(2, Firmware::Bios, "bench=all benchtime=1000x count=2");
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

#[test]
fn unknown_benchmark_is_refused() {
    let out = boot(1, Firmware::Bios, "bench=NowUnixNano,ChanSink");
    expect_verdict(&out, Verdict::Fail);
    expect_line(&out, "fatal error: unknown benchmark \"ChanSink\" in bench=NowUnixNano,ChanSink");
    expect_line(&out, "valid benchmarks: all, NowUnixNano");
}

#[test]
fn bad_benchtime_is_refused() {
    let out = boot(1, Firmware::Bios, "bench=all benchtime=1h");
    expect_verdict(&out, Verdict::Fail);
    expect_line(&out, "fatal error: bad value \"1h\" for boot parameter benchtime");
}
