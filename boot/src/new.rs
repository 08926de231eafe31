//! `./x new PATH`: a program crate, ready to boot.
//!
//! Writes `Cargo.toml` (the crate named after the directory, `gort` by path
//! from this repo), `src/main.rs` (a `#[gort::main]` that starts goroutines
//! talking over a channel), the repo's `rust-toolchain.toml` (so editors and
//! a plain `cargo` use the same nightly) and the repo's `Cargo.lock` (so the
//! program builds with the versions the repo was tested with and shares
//! their build in `target/programs`; Cargo drops what it does not need). A
//! crate outside the repo gets an empty `[workspace]`, so that it is its own
//! workspace wherever it lives; one inside `programs/` joins the repo's.
use std::path::Path;

use crate::program::repo;

/// The `main.rs` of a new program.
pub const TEMPLATE: &str = r#"//! A gort program: `./x run PATH` builds and boots it.
#![no_std]
#![no_main]

use gort::chan::Chan;
use gort::println;
use gort::time::{self, Duration};

#[gort::main]
fn main() {
    let results = Chan::new(0);
    for id in 0..4 {
        let results = results.clone();
        gort::go(move || {
            time::sleep(Duration::from_millis(10 * id));
            results.send(id * id);
        });
    }
    let mut sum = 0;
    for _ in 0..4 {
        sum += results.recv().unwrap();
    }
    println!("hello from gort: the squares add up to {sum}");
}
"#;

/// Creates the crate at `path`; returns its name.
pub fn create(path: &Path) -> Result<String, String> {
    if path.exists() && path.read_dir().map_err(|e| format!("{}: {e}", path.display()))?.next().is_some() {
        return Err(format!("{} exists and is not empty", path.display()));
    }
    let name = crate_name(path)?;
    std::fs::create_dir_all(path.join("src")).map_err(|e| format!("{}: {e}", path.display()))?;
    let repo = repo().canonicalize().map_err(|e| format!("the repo: {e}"))?;
    let abs = path.canonicalize().map_err(|e| format!("{}: {e}", path.display()))?;
    let in_repo_programs = abs.parent() == Some(repo.join("programs").as_path());
    let (gort, workspace) = if in_repo_programs {
        ("../../gort".to_string(), "")
    } else {
        (repo.join("gort").display().to_string(), "\n# A workspace of its own, wherever it lives.\n[workspace]\n")
    };
    let manifest = format!(
        "[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2021\"\npublish = false\n\n\
         [dependencies]\ngort = {{ path = {gort:?} }}\n{workspace}"
    );
    let write = |file: &str, text: &str| {
        std::fs::write(path.join(file), text).map_err(|e| format!("{}: {e}", path.join(file).display()))
    };
    write("Cargo.toml", &manifest)?;
    write("src/main.rs", TEMPLATE)?;
    if !in_repo_programs {
        write("rust-toolchain.toml", include_str!("../../rust-toolchain.toml"))?;
        write(".gitignore", "/target\n")?;
        if let Ok(lock) = std::fs::read_to_string(repo.join("Cargo.lock")) {
            write("Cargo.lock", &lock)?;
        }
    }
    Ok(name)
}

/// The directory's name as a crate name: letters, digits, `-` and `_`,
/// not starting with a digit.
fn crate_name(path: &Path) -> Result<String, String> {
    let base = path
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| format!("{}: no directory name to call the program by", path.display()))?;
    let name: String =
        base.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '-' }).collect();
    if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) || name.trim_matches('-').is_empty() {
        return Err(format!("{base:?} does not make a crate name: start it with a letter"));
    }
    Ok(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_come_from_the_directory() {
        assert_eq!(crate_name(Path::new("/tmp/my prog")).unwrap(), "my-prog");
        assert_eq!(crate_name(Path::new("hello_2")).unwrap(), "hello_2");
        assert!(crate_name(Path::new("/tmp/2fast")).is_err());
        assert!(crate_name(Path::new("/")).is_err());
    }

    #[test]
    fn a_new_crate_outside_the_repo_is_its_own_workspace() {
        let dir = std::env::temp_dir().join(format!("gort-new-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let name = create(&dir.join("demo")).unwrap();
        assert_eq!(name, "demo");
        let manifest = std::fs::read_to_string(dir.join("demo/Cargo.toml")).unwrap();
        assert!(manifest.contains("name = \"demo\"") && manifest.contains("[workspace]"), "{manifest}");
        assert!(manifest.contains(&repo().canonicalize().unwrap().join("gort").display().to_string()), "{manifest}");
        assert_eq!(std::fs::read_to_string(dir.join("demo/src/main.rs")).unwrap(), TEMPLATE);
        assert!(dir.join("demo/rust-toolchain.toml").is_file() && dir.join("demo/Cargo.lock").is_file());
        assert!(create(&dir.join("demo")).unwrap_err().contains("not empty"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
