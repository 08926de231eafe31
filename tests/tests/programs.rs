//! Programs of one's own: `./x new` makes a crate anywhere, `./x run` boots it,
//! and the repo's programs boot by name.
use std::path::{Path, PathBuf};
use std::process::Command;

use tests::*;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

/// `./x ARGS...`: exit status and everything it printed.
fn x(args: &[&str]) -> (i32, String) {
    let out = Command::new(repo().join("x")).args(args).output().expect("run ./x");
    let text = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.code().unwrap_or(-1), text)
}

fn git_status() -> String {
    let out = Command::new("git").arg("-C").arg(repo()).args(["status", "--porcelain"]).output().expect("git status");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A new user's first program: created outside the repo, edited to start
/// goroutines that exchange values over a channel, booted on 2 CPUs; it
/// prints what it computed and exits 0, and no file of the repo changed.
#[test]
fn a_new_program_outside_the_repo_boots() {
    let before = git_status();
    let dir = std::env::temp_dir().join(format!("gort-user-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let program = dir.join("pipeline");
    let (code, text) = x(&["new", program.to_str().unwrap()]);
    assert_eq!(code, 0, "{text}");
    let main = program.join("src/main.rs");
    let template = std::fs::read_to_string(&main).unwrap();
    let start = template.find("#[gort::main]").expect("the template has a main");
    let edited = template[..start].to_string()
        + r#"#[gort::main]
fn main() {
    // A pipeline: numbers -> squarer -> summer -> main.
    let numbers = Chan::new(0);
    let squares = Chan::new(4);
    let total = Chan::new(0);
    let (n, s) = (numbers.clone(), squares.clone());
    gort::go(move || {
        for v in n.iter() {
            s.send(v * v);
        }
        s.close();
    });
    let (s, t) = (squares.clone(), total.clone());
    gort::go(move || t.send(s.iter().sum::<u64>()));
    for v in 1..=100u64 {
        numbers.send(v);
    }
    numbers.close();
    time::sleep(Duration::from_millis(1));
    println!("user program: sum of squares 1..=100 is {}", total.recv().unwrap());
}
"#;
    std::fs::write(&main, edited).unwrap();
    let (code, text) = x(&["run", program.to_str().unwrap(), "--cpus", "2", "--timeout", "120"]);
    assert!(text.contains("user program: sum of squares 1..=100 is 338350"), "{text}");
    assert_eq!(code, 0, "{text}");
    assert_eq!(git_status(), before, "./x new and ./x run changed the repo");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A repo program boots by name; `--list` names it, and the test programs
/// after the demos; an unknown name is a usage error that lists the programs.
#[test]
fn repo_programs_boot_by_name() {
    let (code, text) = x(&["run", "--list"]);
    assert_eq!(code, 0, "{text}");
    let names: Vec<&str> = text.lines().collect();
    let at = |name: &str| names.iter().position(|l| *l == name);
    let order = (at("hello"), at("selftest"), at("bench"));
    assert!(matches!(order, (Some(h), Some(s), Some(b)) if h < s && s < b), "{text}");
    let (code, text) = x(&["run", "no-such-program"]);
    assert_eq!(code, 64, "{text}");
    assert!(text.contains("no program \"no-such-program\"") && text.contains("hello"), "{text}");

    let out = boot_program("hello", 2, "");
    expect_verdict(&out, Verdict::Pass);
    expect_line(&out, "hello, world: 2 CPUs, GOMAXPROCS=2");
    expect_line(&out, "sum of 1..=1000000 = 500000500000 (want 500000500000)");
    expect_line(&out, "ping-pong: 1000 hand-offs");
}

/// A program without boot parameters of its own still refuses a key it does
/// not know (the test program's `demo=`), listing the runtime's.
#[test]
fn a_bad_boot_parameter_to_a_program_lists_the_valid_ones() {
    let out = boot_program("hello", 1, "demo=sieve");
    expect_verdict(&out, Verdict::Fail);
    expect_line(&out, "fatal error: unknown boot parameter");
    expect_line(&out, "GOMAXPROCS=");
}
