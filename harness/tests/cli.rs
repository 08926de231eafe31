//! The harness refuses bad usage before doing any work.
use std::process::Command;

fn harness(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_harness")).args(args).output().unwrap();
    (out.status.code().unwrap(), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn bad_usage() {
    for (args, message) in [
        (&["--cpus", "0"][..], "--cpus: want a list of 1..=64"),
        (&["--count", "zero"][..], "--count: want a positive number"),
        (&["--benchtime", "1h"][..], "--benchtime: \"1h\" is not 1s, 200ms or 100x"),
        (&["--frob"][..], "unknown argument \"--frob\""),
    ] {
        let (code, err) = harness(args);
        assert_eq!(code, 64, "{args:?}: {err}");
        assert!(err.contains(message), "{args:?}: {err}");
    }
    assert_eq!(harness(&["--help"]).0, 0);
}
