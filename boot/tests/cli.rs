//! The `boot` command's exit status mirrors the kernel's verdict, and a timeout
//! is its own, distinct failure.
use std::process::Command;

fn boot(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_boot")).args(args).output().expect("run boot");
    let text = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.code().expect("exit status"), text)
}

#[test]
fn pass_fail_and_timeout_have_distinct_statuses() {
    let (code, text) = boot(&["--timeout", "60", "test=boot"]);
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("kernel entry after") && text.contains("all CPUs online after"), "{text}");
    let (code, text) = boot(&["--timeout", "60", "test=panic"]);
    assert_eq!(code, 1, "{text}");
    let (code, text) = boot(&["--timeout", "8", "test=hang"]);
    assert_eq!(code, 3, "{text}");
    assert!(text.contains("timed out after 8 s"), "{text}");
}

#[test]
fn bad_usage_is_refused_without_booting() {
    let (code, text) = boot(&["--cpus", "0"]);
    assert_eq!(code, 64, "{text}");
    let (code, text) = boot(&["--mem", "8"]);
    assert_eq!(code, 64, "{text}");
    assert!(text.contains("--mem: want 64..="), "{text}");
    let (code, text) = boot(&["--frobnicate"]);
    assert_eq!(code, 64, "{text}");
    assert!(text.contains("unknown argument \"--frobnicate\""), "{text}");
    let (code, text) = boot(&["--dry-run", "--uefi", "--cpus", "8", "GOMAXPROCS=4"]);
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("OVMF_CODE_4M.fd") && text.contains("string=GOMAXPROCS=4"), "{text}");
}
