//! `gort`'s public API, as its documentation shows it, exposes none of the
//! runtime's insides: no G, P or M, no context or context switch, no
//! `mcall`/`gopark`/`nanotime`, and no duration or instant as a raw count
//! of nanoseconds (`core::time::Duration` and `gort::time::Time` are the
//! types for those). It reads the HTML that `cargo doc -p gort` writes
//! (`./x test` runs it first), every page but the integration surface
//! `gort::kernel`, which is `#[doc(hidden)]` and says it is no user API.
//! Re-exported items are inlined there, methods included, so the pages are
//! the whole surface a program sees.

use std::path::{Path, PathBuf};

/// Words no public signature may contain.
const INSIDES: [&str; 10] = ["G", "P", "M", "Context", "switch", "mcall", "gopark", "nanotime", "Hook", "Machine"];

/// Go's own API with nanoseconds in it, kept as Go has it: `time.Unix(sec,
/// nsec)` and `Time.UnixNano()` are wall-clock values, not durations.
const GO_NANOSECOND_API: [&str; 2] =
    ["pub fn unix_time(sec: i64, nsec: i64) -> Time", "pub fn unix_nano(&self) -> i64"];

fn docs() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/x86_64-unknown-none/doc/gort")
}

fn pages(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        if path.is_dir() {
            if path.file_name().is_some_and(|n| n != "kernel") {
                pages(&path, out);
            }
        } else if path.extension().is_some_and(|e| e == "html")
            // `core::time::Duration`, re-exported: the blessed duration type,
            // whose own constructors take seconds and nanoseconds.
            && path.file_name().is_some_and(|n| n != "struct.Duration.html")
        {
            out.push(path);
        }
    }
}

/// The text of every signature on a page: the item's declaration and each
/// method's header, tags stripped and entities decoded.
fn signatures(html: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (open, close) in [("<pre class=\"rust item-decl\">", "</pre>"), ("<h4 class=\"code-header\">", "</h4>")] {
        let mut rest = html;
        while let Some(at) = rest.find(open) {
            rest = &rest[at + open.len()..];
            let end = rest.find(close).unwrap_or(rest.len());
            out.push(text(&rest[..end]));
            rest = &rest[end..];
        }
    }
    out
}

fn text(html: &str) -> String {
    let mut s = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => s.push(c),
            _ => {}
        }
    }
    let s = s.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&").replace("&quot;", "\"");
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The generic parameters `sig` declares (`fn f<G, P: Tr>` or `impl<P>`):
/// core's iterator methods name theirs `G` and `P`.
fn generic_params(sig: &str) -> Vec<&str> {
    let mut out = Vec::new();
    for head in ["fn ", "impl"] {
        let Some(at) = sig.find(head) else { continue };
        let rest = &sig[at + head.len()..];
        let rest = rest.trim_start_matches(|c: char| c.is_alphanumeric() || c == '_');
        let Some(list) = rest.strip_prefix('<') else { continue };
        let mut depth = 1;
        let end = list
            .char_indices()
            .find(|&(_, c)| {
                depth += match c {
                    '<' => 1,
                    '>' => -1,
                    _ => 0,
                };
                depth == 0
            })
            .map_or(list.len(), |(i, _)| i);
        for param in list[..end].split(',') {
            let name = param.trim().trim_start_matches("const ").split([':', ' ']).next().unwrap_or("");
            out.push(name);
        }
    }
    out
}

/// What is wrong with `sig`, if anything.
fn leak(sig: &str) -> Option<String> {
    let words: Vec<&str> = sig.split(|c: char| !(c.is_alphanumeric() || c == '_')).filter(|w| !w.is_empty()).collect();
    let generics = generic_params(sig);
    if let Some(w) = INSIDES.iter().find(|i| words.contains(i) && !generics.contains(*i)) {
        return Some(format!("names the runtime's `{w}`"));
    }
    if GO_NANOSECOND_API.contains(&sig) {
        return None;
    }
    // A parameter or field of an integer type named for time.
    for part in sig.split([',', '(', ')', '{', '}', ';']) {
        let Some((name, ty)) = part.split_once(':') else { continue };
        let (name, ty) = (name.trim().trim_start_matches("pub ").to_lowercase(), ty.trim());
        let integer = ["u64", "i64", "u128", "i128", "usize", "isize", "u32", "i32"].contains(&ty);
        let timeish = ["ns", "nanos", "nsec", "nanoseconds", "when", "deadline", "period", "timeout", "delay"]
            .iter()
            .any(|t| name == *t || name.ends_with(&format!("_{t}")));
        if integer && timeish {
            return Some(format!("takes a raw time count `{}`", part.trim()));
        }
    }
    None
}

#[test]
fn the_public_api_exposes_no_runtime_insides() {
    let root = docs();
    assert!(
        root.join("index.html").exists(),
        "{} has no docs: run `cargo doc --no-deps -p gort --target x86_64-unknown-none` (./x test does)",
        root.display()
    );
    let mut all = Vec::new();
    pages(&root, &mut all);
    let mut checked = 0;
    let mut leaks = Vec::new();
    for page in &all {
        let html = std::fs::read_to_string(page).unwrap();
        for sig in signatures(&html) {
            checked += 1;
            if let Some(why) = leak(&sig) {
                leaks.push(format!("{}: `{sig}` {why}", page.strip_prefix(&root).unwrap().display()));
            }
        }
    }
    assert!(checked > 200, "only {checked} signatures found: has rustdoc's HTML changed?");
    assert!(leaks.is_empty(), "gort's public API exposes the runtime's insides:\n{}", leaks.join("\n"));
}

/// The checks themselves, on signatures that must pass and must fail.
#[test]
fn the_leak_check_tells_insides_from_go_api() {
    assert_eq!(leak("pub fn sleep(d: Duration)"), None);
    assert_eq!(leak("pub fn unix_nano(&self) -> i64"), None);
    assert_eq!(leak("pub fn go(f: impl FnOnce() + Send + 'static)"), None);
    assert!(leak("pub fn sleep(ns: u64)").is_some());
    assert!(leak("pub fn after_func(when_ns: u64, f: F)").is_some());
    assert!(leak("pub fn current() -> &'static G").is_some());
    assert!(leak("pub unsafe fn switch(from: *mut Context, to: *const Context)").is_some());
    assert!(leak("pub fn nanotime() -> u64").is_some());
    assert_eq!(leak("fn filter<P>(self, predicate: P) -> Filter<Self, P>"), None, "a generic parameter named P");
}
