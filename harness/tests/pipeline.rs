//! The whole pipeline on one short benchmark, so it cannot rot: prepare the Go
//! side (cached in target/bench after the first run), boot the kernel's bench
//! mode, boot the Linux guest running Go's own binary, run Go natively, print
//! the table, write the JSON, rewrite a README section.
use std::process::Command;

#[test]
fn one_short_benchmark_end_to_end() {
    let work = concat!(env!("CARGO_MANIFEST_DIR"), "/../target/bench");
    let scratch = std::env::temp_dir().join(format!("harness-pipeline-{}", std::process::id()));
    std::fs::create_dir_all(&scratch).unwrap();
    let json = scratch.join("results.json");
    let readme = scratch.join("README.md");
    std::fs::write(&readme, format!("# x\n{}\nold\n{}\ntail\n", harness::table::BEGIN, harness::table::END)).unwrap();

    let out = Command::new(env!("CARGO_BIN_EXE_harness"))
        .args(["--bench", "NowUnixNano", "--cpus", "1", "--count", "1", "--benchtime", "20ms"])
        .arg("--work")
        .arg(work)
        .arg("--out")
        .arg(&json)
        .arg("--readme")
        .arg(&readme)
        .output()
        .expect("run the harness");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "harness failed\nstdout:\n{stdout}\nstderr:\n{stderr}");

    let row = stdout.lines().find(|l| l.starts_with("| time.NowUnixNano | 1 |")).unwrap_or_else(|| panic!("{stdout}"));
    let cells: Vec<&str> = row.split('|').map(str::trim).collect();
    // | benchmark | vCPUs | Go | kernel | ratio | U test | spread Go | spread kernel | Go GCs | native |
    for (i, what) in [(3, "Go"), (4, "kernel"), (5, "ratio"), (10, "native")] {
        let v: f64 = cells[i].parse().unwrap_or_else(|_| panic!("{what} is not a number in {row}"));
        assert!(v > 0.0, "{what} in {row}");
    }
    assert_eq!(cells[6], "~ (p=1.000)", "one round each side can show no difference: {row}");
    assert!(cells[9].parse::<u32>().is_ok(), "Go's gctrace was read: {row}");

    let json = std::fs::read_to_string(&json).unwrap();
    assert!(json.contains("\"benchmark\": \"NowUnixNano\""), "{json}");
    assert!(json.contains("\"go\": \"go1.27"), "{json}");
    assert!(!json.contains("\"ratio\": null"), "{json}");
    assert!(json.contains("\"p\": 1, \"verdict\": \"same\""), "{json}");
    assert!(json.contains("\"guest_clocksource\": \"tsc before, tsc after\""), "{json}");
    assert!(json.contains("\"guest_cmdline\": \"console=ttyS0 quiet panic=-1 tsc=reliable gobench="), "{json}");
    assert!(json.contains("\"guest_mitigations\": \"") && !json.contains("\"guest_mitigations\": \"?\""), "{json}");

    let readme = std::fs::read_to_string(&readme).unwrap();
    assert!(
        readme.contains("| time.NowUnixNano | 1 |") && !readme.contains("\nold\n") && readme.ends_with("tail\n"),
        "{readme}"
    );
    let _ = std::fs::remove_dir_all(&scratch);
}
