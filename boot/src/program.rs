//! Programs: finding one, building it, and making its disk images.
//!
//! A program is a binary crate with `gort` as a dependency (`programs/` in
//! the repo, or any path). To boot one, the runner:
//!
//! 1. resolves the name: a directory of `programs/` (the demos), one of
//!    the repo's test programs ([`TEST_PROGRAMS`]: `selftest`, the
//!    self-test scenarios, and `bench`, the mirrors of Go's benchmarks), or
//!    a path to a crate (a directory with a `Cargo.toml`);
//! 2. builds it for `x86_64-unknown-none` with Cargo, with the build
//!    settings every program shares (`gort/program.toml`: code model, link
//!    address, LTO, and the `gort-dev`/`gort-release` profiles), into one
//!    target directory (`target/programs`), so `gort` and its dependencies
//!    compile once for all programs, the repo's and others';
//! 3. reads the ELF's function symbols into a `runtime::symtab` blob, which
//!    rides along as the bootloader's ramdisk so the kernel can name the
//!    functions in its backtraces;
//! 4. writes the BIOS (MBR) and UEFI (GPT) images with the `bootloader`
//!    crate's builders, from a copy of the ELF without DWARF (the BIOS stage
//!    reads the kernel through INT 13h, slow under TCG, and debug info is
//!    most of the file; gdb and the symbol table use the full ELF).
//!
//! Images are rebuilt only when the ELF is newer; within one process a
//! program is built once (tests boot the same program dozens of times, in
//! parallel threads).
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};

use object::{Object, ObjectSection, ObjectSymbol, SymbolKind};

/// The repository this runner was built from.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("boot/ lives in the repo").to_path_buf()
}

/// The repo's test programs, top-level directories booted by name: the
/// self-test scenarios (`test=NAME`, what the QEMU tests boot) and the
/// mirrors of Go's benchmarks (`bench=NAME`, what the harness boots).
pub const TEST_PROGRAMS: &[&str] = &[DEFAULT_PROGRAM, BENCH_PROGRAM];

/// The program booted when none is named: the self-test program.
pub const DEFAULT_PROGRAM: &str = "selftest";

/// The bench program.
pub const BENCH_PROGRAM: &str = "bench";

/// How a program is built.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Profile {
    /// Optimised (TCG runs unoptimised code ~10x slower), with debug
    /// assertions and overflow checks: `./x run`, `./x test`.
    #[default]
    Dev,
    /// Without the checks: `./x bench`.
    Release,
}

impl Profile {
    fn cargo_name(self) -> &'static str {
        match self {
            Profile::Dev => "gort-dev",
            Profile::Release => "gort-release",
        }
    }
}

/// A built program: its ELF and its two disk images.
#[derive(Clone, Debug)]
pub struct Built {
    pub elf: PathBuf,
    pub bios: PathBuf,
    pub uefi: PathBuf,
}

/// The crate directory of `program`: a name under `programs/`, one of
/// [`TEST_PROGRAMS`], or a path to a crate.
pub fn locate(program: &str) -> Result<PathBuf, String> {
    let repo = repo();
    let named = if TEST_PROGRAMS.contains(&program) { repo.join(program) } else { repo.join("programs").join(program) };
    let is_name = !program.contains('/') && program != "." && program != "..";
    let dir = if is_name && named.join("Cargo.toml").is_file() { named } else { PathBuf::from(program) };
    if dir.join("Cargo.toml").is_file() {
        return dir.canonicalize().map_err(|e| format!("{}: {e}", dir.display()));
    }
    let known = list().join(", ");
    Err(format!("no program {program:?}: not a repo program ({known}), nor a directory with a Cargo.toml"))
}

/// The names `./x run` boots: the demos (`programs/*`, sorted), then
/// [`TEST_PROGRAMS`].
pub fn list() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(repo().join("programs"))
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.path().join("Cargo.toml").is_file())
        .filter_map(|e| e.file_name().into_string().ok())
        .collect();
    names.sort();
    names.extend(TEST_PROGRAMS.iter().map(|s| s.to_string()));
    names
}

/// Builds `program` (see [`locate`]) and makes its images; once per process
/// for each program and profile.
pub fn build(program: &str, profile: Profile) -> Result<Built, String> {
    type Slot = Arc<OnceLock<Result<Built, String>>>;
    static BUILT: OnceLock<Mutex<HashMap<(PathBuf, Profile), Slot>>> = OnceLock::new();
    let dir = locate(program)?;
    let slot = BUILT.get_or_init(Default::default).lock().unwrap().entry((dir.clone(), profile)).or_default().clone();
    // Other threads wanting the same program wait here; others go on.
    slot.get_or_init(|| build_uncached(&dir, profile)).clone()
}

fn build_uncached(dir: &Path, profile: Profile) -> Result<Built, String> {
    let elf = cargo_build(dir, profile)?;
    let images = elf.with_extension("images");
    std::fs::create_dir_all(&images).map_err(|e| format!("{}: {e}", images.display()))?;
    let built = Built { bios: images.join("bios.img"), uefi: images.join("uefi.img"), elf };
    if !newer(&built.bios, &built.elf) || !newer(&built.uefi, &built.elf) {
        make_images(&built, &images)?;
    }
    Ok(built)
}

/// Whether `a` exists and was written after `b`.
fn newer(a: &Path, b: &Path) -> bool {
    let time = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    matches!((time(a), time(b)), (Some(a), Some(b)) if a >= b)
}

/// `cargo build` of the program; returns the ELF's path.
fn cargo_build(dir: &Path, profile: Profile) -> Result<PathBuf, String> {
    let repo = repo();
    let toolchain = toolchain();
    let mut cmd = Command::new("cargo");
    cmd.env("RUSTUP_TOOLCHAIN", &toolchain)
        .arg("build")
        .arg("--config")
        .arg(repo.join("gort/program.toml"))
        .args(["--target", "x86_64-unknown-none", "--profile", profile.cargo_name()])
        .arg("--manifest-path")
        .arg(dir.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(repo.join("target/programs"))
        .args(["--message-format", "json", "--quiet"])
        .current_dir(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    // A program in the repo is a member of its workspace; its packages are
    // named by the manifest path alone.
    let out = cmd.output().map_err(|e| format!("cannot run cargo: {e}"))?;
    let mut elf = None;
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let Ok(msg) = serde_json::from_str::<serde_json::Value>(line) else { continue };
        if msg["reason"] == "compiler-artifact" {
            if let Some(exe) = msg["executable"].as_str() {
                elf = Some(PathBuf::from(exe));
            }
        }
        if msg["reason"] == "compiler-message" {
            if let Some(text) = msg["message"]["rendered"].as_str().filter(|t| !expected_warning(t)) {
                eprint!("{text}");
            }
        }
    }
    if !out.status.success() {
        return Err(format!("building {} failed ({})", dir.display(), out.status));
    }
    elf.ok_or_else(|| format!("building {} made no executable: is it a binary crate?", dir.display()))
}

/// The functions of `elf` whose (v0-mangled) names end with one of
/// `suffixes`, as (name, first byte, size).
pub fn functions_named(elf: &Path, suffixes: &[&str]) -> Result<Vec<(String, u64, u64)>, String> {
    let bytes = std::fs::read(elf).map_err(|e| format!("{}: {e}", elf.display()))?;
    let file = object::File::parse(&*bytes).map_err(|e| format!("{}: {e}", elf.display()))?;
    Ok(functions(&file)
        .filter(|(_, _, name)| suffixes.iter().any(|x| name.ends_with(x)))
        .map(|(addr, size, name)| (name, addr, size))
        .collect())
}

/// The functions of an ELF: (first byte, size, name).
fn functions<'a>(file: &'a object::File<'a>) -> impl Iterator<Item = (u64, u64, String)> + 'a {
    file.symbols()
        .filter(|s| s.kind() == SymbolKind::Text && s.address() != 0)
        .filter_map(|s| Some((s.address(), s.size(), s.name().ok()?.to_string())))
}

/// The one warning every crate of a program gets, by design: rustc does not
/// list LLVM's `slow-incdec` tuning feature that `gort/program.toml` asks
/// for (why, there), warns that it is unknown, and passes it on.
fn expected_warning(rendered: &str) -> bool {
    rendered.starts_with("warning: unknown and unstable feature specified for `-Ctarget-feature`: `slow-incdec`")
}

/// The toolchain the repo pins (`rust-toolchain.toml`): programs outside
/// the repo are built with it too.
pub fn toolchain() -> String {
    let pinned = include_str!("../../rust-toolchain.toml");
    pinned
        .lines()
        .find_map(|l| {
            l.trim().strip_prefix("channel")?.trim().strip_prefix('=')?.trim().strip_prefix('"')?.split('"').next()
        })
        .expect("rust-toolchain.toml names a channel")
        .to_string()
}

/// The direct calls (`call rel32`) in `elf`'s code to the functions named
/// `targets`, as (calling function, called function): what a check that
/// they inlined everywhere expects to be empty. Decodes no instructions: it
/// looks for the call opcode followed by a displacement that lands exactly
/// on a target, which other bytes match by chance about once in 2^32.
pub fn direct_calls(elf: &Path, targets: &[&str]) -> Result<Vec<(String, String)>, String> {
    let bytes = std::fs::read(elf).map_err(|e| format!("{}: {e}", elf.display()))?;
    let file = object::File::parse(&*bytes).map_err(|e| format!("{}: {e}", elf.display()))?;
    let functions: Vec<(u64, u64, String)> = functions(&file).collect();
    let wanted: HashMap<u64, &str> =
        functions.iter().filter(|(_, _, n)| targets.contains(&n.as_str())).map(|(a, _, n)| (*a, n.as_str())).collect();
    let text = file.section_by_name(".text").ok_or_else(|| format!("{}: no .text", elf.display()))?;
    let (base, code) = (text.address(), text.data().map_err(|e| format!("{}: {e}", elf.display()))?);
    let mut calls = Vec::new();
    for (i, window) in code.windows(5).enumerate() {
        if window[0] != 0xe8 {
            continue;
        }
        let at = base + i as u64;
        let displacement = i32::from_le_bytes([window[1], window[2], window[3], window[4]]);
        let target = (at + 5).wrapping_add_signed(i64::from(displacement));
        if let Some(callee) = wanted.get(&target) {
            let caller = functions.iter().find(|(a, size, _)| (*a..a + size).contains(&at));
            calls.push((caller.map_or_else(|| format!("{at:#x}"), |(_, _, n)| n.clone()), callee.to_string()));
        }
    }
    Ok(calls)
}

fn make_images(built: &Built, dir: &Path) -> Result<(), String> {
    let elf = std::fs::read(&built.elf).map_err(|e| format!("{}: {e}", built.elf.display()))?;
    let file = object::File::parse(&*elf).map_err(|e| format!("{}: {e}", built.elf.display()))?;
    let symbols: Vec<runtime::symtab::Symbol<'_>> = file
        .symbols()
        .filter(|s| s.kind() == SymbolKind::Text && s.address() != 0)
        .filter_map(|s| {
            Some(runtime::symtab::Symbol {
                addr: s.address(),
                size: u32::try_from(s.size()).ok()?,
                name: s.name().ok()?,
            })
        })
        .collect();
    // Written under temporary names and renamed: a parallel run (another
    // test process) sees either the old image or the new one, whole.
    let tmp = |name: &str| dir.join(format!("{name}.{}", std::process::id()));
    let symtab = tmp("kernel.sym");
    std::fs::write(&symtab, runtime::symtab::encode(&symbols)).map_err(|e| format!("{}: {e}", symtab.display()))?;
    let stripped = tmp("kernel.stripped");
    strip_debug(&built.elf, &stripped)?;

    let mut config = bootloader::BootConfig::default();
    config.serial_logging = false;
    config.frame_buffer_logging = false;
    for (image, uefi) in [(&built.bios, false), (&built.uefi, true)] {
        let part = tmp(if uefi { "uefi.img" } else { "bios.img" });
        let made = if uefi {
            bootloader::UefiBoot::new(&stripped).set_ramdisk(&symtab).set_boot_config(&config).create_disk_image(&part)
        } else {
            bootloader::BiosBoot::new(&stripped).set_ramdisk(&symtab).set_boot_config(&config).create_disk_image(&part)
        };
        made.map_err(|e| format!("create {}: {e}", image.display()))?;
        std::fs::rename(&part, image).map_err(|e| format!("{}: {e}", image.display()))?;
    }
    let _ = std::fs::remove_file(&symtab);
    let _ = std::fs::remove_file(&stripped);
    Ok(())
}

/// Writes `elf` without debug sections with the toolchain's `llvm-objcopy`
/// (rustup component `llvm-tools`, listed in rust-toolchain.toml).
fn strip_debug(elf: &Path, out: &Path) -> Result<(), String> {
    let sysroot = Command::new("rustc")
        .env("RUSTUP_TOOLCHAIN", toolchain())
        .args(["--print", "sysroot"])
        .output()
        .map_err(|e| format!("rustc --print sysroot: {e}"))?;
    let sysroot = String::from_utf8_lossy(&sysroot.stdout).trim().to_string();
    let bin = std::fs::read_dir(Path::new(&sysroot).join("lib/rustlib"))
        .map_err(|e| format!("{sysroot}: {e}"))?
        .flatten()
        .map(|e| e.path().join("bin/llvm-objcopy"))
        .find(|p| p.is_file())
        .ok_or_else(|| format!("no llvm-objcopy under {sysroot}: run `./x setup`"))?;
    let status = Command::new(&bin)
        .arg("--strip-debug")
        .arg(elf)
        .arg(out)
        .status()
        .map_err(|e| format!("{}: {e}", bin.display()))?;
    if !status.success() {
        return Err(format!("llvm-objcopy failed: {status}"));
    }
    Ok(())
}
