//! The self-test program's one table of scenarios (`SCENARIOS` in
//! `selftest/src/main.rs`): `test=list` prints it, every scenario in it is
//! booted by some test, and no test names a scenario it lacks (the boot
//! would refuse such a name; this says which test, and that the table and
//! the tests agree both ways); the README's row for `test=` names them all.
use std::path::Path;

use tests::*;

/// The deliberately unknown name that `faults::bad_boot_parameter_values_are_refused` boots.
const REFUSED: &str = "nope";

/// The tests that boot scenarios, as (file, text): this crate's, and the
/// runner's command-line test (pass, fail and timeout statuses).
fn test_sources() -> Vec<(String, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files: Vec<_> = std::fs::read_dir(root.join("tests"))
        .expect("tests/tests")
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "rs"))
        .collect();
    files.push(root.join("../boot/tests/cli.rs"));
    files.into_iter().map(|p| (p.display().to_string(), std::fs::read_to_string(&p).expect("read a test"))).collect()
}

/// Every `test=NAME` written out in `source` (names are lowercase:
/// `test={..}`, `test=<..` and `test=NAME`, a name formatted in, a message
/// and prose, are not).
fn named(source: &str) -> Vec<&str> {
    source
        .match_indices("test=")
        .filter_map(|(i, m)| {
            let rest = &source[i + m.len()..];
            let end =
                rest.find(|c: char| !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')).unwrap_or(rest.len());
            (end > 0).then(|| &rest[..end])
        })
        .collect()
}

#[test]
fn every_scenario_is_booted_by_a_test_and_no_test_names_a_missing_one() {
    let out = boot(1, Firmware::Bios, "test=list");
    expect_verdict(&out, Verdict::Pass);
    let header = find_line(&out, "selftest: ").expect("the list's header");
    let (count, default) = header
        .strip_prefix("selftest: ")
        .and_then(|h| h.split_once(" scenarios; with no test=, "))
        .and_then(|(n, d)| Some((n.parse::<usize>().ok()?, d.strip_suffix(" runs")?)))
        .unwrap_or_else(|| panic!("malformed header {header:?}"));
    let scenarios: Vec<&str> =
        out.output.lines().filter_map(|l| l.strip_prefix("scenario ")?.split_whitespace().next()).collect();
    assert_eq!(scenarios.len(), count, "{}", out.output);
    assert!(scenarios.contains(&default), "{}", out.output);

    let sources = test_sources();
    for (file, text) in &sources {
        for name in named(text) {
            assert!(
                name == REFUSED || scenarios.contains(&name),
                "{file} boots test={name}, which the table lacks: {scenarios:?}"
            );
        }
    }
    // Booted: as `test=NAME`, or a quoted name in a list a test formats
    // into `test={..}`; the default by every boot without `test=` (such as
    // `smp::default_demo_greets_from_every_cpu`).
    for s in scenarios.iter().filter(|s| **s != default) {
        let quoted = format!("\"{s}\"");
        let booted = sources.iter().any(|(_, text)| named(text).contains(s) || text.contains(&quoted));
        assert!(booted, "no test in tests/tests or boot/tests boots scenario {s}");
    }
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md")).expect("README");
    let row = readme.lines().find(|l| l.starts_with("| `test` ")).expect("README's boot parameter row for test=");
    for s in &scenarios {
        assert!(row.contains(&format!("`{s}`")), "README's test= row lacks scenario {s}");
    }
}
