//! The QEMU runner: builds a program, boots its image and reports how it ended.
//!
//! Used by the `boot` command line (`cargo run -p boot -- ...`), by every
//! integration test in `tests/`, and by the harness. One function, [`run`],
//! does the work:
//!
//! 0. Build the program and its disk images ([`program`]), once per process.
//! 1. Build the QEMU command line from a [`Config`]: q35 machine, TCG by default
//!    (KVM only when asked: nested KVM is broken on our machines), `-no-reboot`
//!    so a triple fault ends QEMU instead of looping, `isa-debug-exit` on port
//!    0xf4 for the kernel's verdict, boot parameters as the `fw_cfg` file
//!    `opt/gort/cmdline`, and the disk image opened with `snapshot=on` so that
//!    parallel runs never contend for its write lock.
//! 2. Read the serial console line by line, echo it (to stdout or a callback),
//!    and time-stamp the milestone lines the kernel prints.
//! 3. Wait for QEMU to exit or for the timeout, whichever comes first.
//! 4. Map QEMU's exit status: `isa-debug-exit` turns the kernel's value `v` into
//!    `(v << 1) | 1`, so 33 is [`Verdict::Pass`] and 35 is [`Verdict::Fail`].
//!    Any other status means the kernel never reached its exit path (a triple
//!    fault, a QEMU error), and a timeout is its own verdict.
use std::io::{BufRead, BufReader, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

pub mod new;
pub mod program;

pub use program::{Built, Profile};

/// Exit codes the kernel produces through `isa-debug-exit`.
pub const QEMU_PASS: i32 = 33;
pub const QEMU_FAIL: i32 = 35;

/// Lines the kernel prints at its milestones (see `gort/src/kernel/mod.rs`).
pub const MARK_ENTRY: &str = "gort: kernel entry";
pub const MARK_ALL_ONLINE: &str = "smp: all CPUs online";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Firmware {
    Bios,
    Uefi,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Accel {
    Tcg,
    Kvm,
}

/// How to boot.
#[derive(Clone, Debug)]
pub struct Config {
    /// The program to boot: a repo program's name (`programs/`, `selftest`,
    /// `bench`) or a crate's path; empty for no disk at all (the harness boots Linux with
    /// `-kernel` in `extra_args`).
    pub program: String,
    pub profile: Profile,
    pub cpus: u32,
    pub memory_mib: u32,
    pub firmware: Firmware,
    pub accel: Accel,
    /// Start halted with a gdb stub on :1234 (`-s -S`); disables the timeout.
    pub gdb: bool,
    /// Boot parameters, `KEY=VALUE` words separated by spaces.
    pub cmdline: String,
    pub timeout: Duration,
    /// Extra QEMU arguments, appended last.
    pub extra_args: Vec<String>,
    /// Console input: when a line containing `.0` appears, type `.1` on the
    /// serial console (each at most once, in order). Tests use it for Ctrl+\.
    pub input: Vec<(String, Vec<u8>)>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            program: program::DEFAULT_PROGRAM.into(),
            profile: Profile::Dev,
            cpus: 1,
            memory_mib: 512,
            firmware: Firmware::Bios,
            accel: Accel::Tcg,
            gdb: false,
            cmdline: String::new(),
            timeout: Duration::from_secs(60),
            extra_args: Vec::new(),
            input: Vec::new(),
        }
    }
}

/// How a run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The kernel exited with success.
    Pass,
    /// The kernel exited with failure (a failed test, a fatal error, a panic).
    Fail,
    /// QEMU exited without the kernel's verdict (e.g. a triple fault under
    /// `-no-reboot`, or QEMU refused its arguments): the raw status.
    NoVerdict(Option<i32>),
    /// Killed after `Config::timeout`.
    Timeout,
}

impl Verdict {
    /// The runner's own exit status: 0 pass, 1 fail, 2 no verdict, 3 timeout.
    pub fn exit_code(self) -> i32 {
        match self {
            Verdict::Pass => 0,
            Verdict::Fail => 1,
            Verdict::NoVerdict(_) => 2,
            Verdict::Timeout => 3,
        }
    }
}

/// Everything a run produced.
#[derive(Clone, Debug)]
pub struct Outcome {
    pub verdict: Verdict,
    /// The serial console, lines joined with `\n`.
    pub output: String,
    /// Time from QEMU start to the kernel's first line.
    pub to_entry: Option<Duration>,
    /// Time from QEMU start to "all CPUs online".
    pub to_all_online: Option<Duration>,
    pub elapsed: Duration,
    /// Every line with its arrival time from QEMU start.
    pub stamped: Vec<(Duration, String)>,
}

impl Outcome {
    /// The time at which a line containing `needle` arrived, from QEMU start.
    pub fn line_time(&self, needle: &str) -> Option<Duration> {
        self.stamped.iter().find(|(_, l)| l.contains(needle)).map(|(t, _)| *t)
    }
}

/// The QEMU command for `config` and its disk `image` (exposed for tests and `--dry-run`).
pub fn qemu_command(config: &Config, image: Option<&Path>) -> Command {
    let mut cmd = Command::new("qemu-system-x86_64");
    cmd.args(["-machine", "q35", "-cpu", "max", "-no-reboot", "-display", "none"]);
    cmd.args(["-serial", "stdio", "-monitor", "none"]);
    cmd.args(["-device", "isa-debug-exit,iobase=0xf4,iosize=0x04"]);
    cmd.args(["-smp", &config.cpus.to_string(), "-m", &format!("{}M", config.memory_mib)]);
    match config.accel {
        Accel::Tcg => cmd.args(["-accel", "tcg,thread=multi"]),
        Accel::Kvm => cmd.args(["-accel", "kvm"]),
    };
    if config.firmware == Firmware::Uefi {
        let (code, vars) = ovmf_paths();
        cmd.arg("-drive").arg(format!("if=pflash,format=raw,readonly=on,file={}", code.display()));
        cmd.arg("-drive").arg(format!("if=pflash,format=raw,snapshot=on,file={}", vars.display()));
    }
    if let Some(image) = image {
        cmd.arg("-drive").arg(format!("format=raw,snapshot=on,file={}", image.display()));
    }
    // QEMU refuses an empty string; the kernel reads a missing file as an empty
    // line. QEMU's option syntax escapes a comma by doubling it.
    if !config.cmdline.trim().is_empty() {
        cmd.arg("-fw_cfg").arg(format!("name=opt/gort/cmdline,string={}", config.cmdline.replace(',', ",,")));
    }
    if config.gdb {
        cmd.args(["-s", "-S"]);
    }
    cmd.args(&config.extra_args);
    cmd
}

impl Built {
    /// The disk image for `firmware`.
    pub fn image(&self, firmware: Firmware) -> &Path {
        match firmware {
            Firmware::Bios => &self.bios,
            Firmware::Uefi => &self.uefi,
        }
    }
}

/// OVMF's firmware and variable store, as Debian's `ovmf` package installs them.
pub fn ovmf_paths() -> (PathBuf, PathBuf) {
    let dir = Path::new("/usr/share/OVMF");
    (dir.join("OVMF_CODE_4M.fd"), dir.join("OVMF_VARS_4M.fd"))
}

/// Checks that QEMU (and OVMF, for UEFI) are installed, with a clear message if not.
pub fn check_tools(firmware: Firmware) -> Result<(), String> {
    let qemu = Command::new("qemu-system-x86_64").arg("--version").stdout(Stdio::null()).status();
    if !matches!(qemu, Ok(s) if s.success()) {
        return Err("qemu-system-x86_64 not found: run `./x setup` (or `apt-get install qemu-system-x86`)".into());
    }
    if firmware == Firmware::Uefi && !ovmf_paths().0.exists() {
        return Err(format!("{} not found: run `./x setup` (or `apt-get install ovmf`)", ovmf_paths().0.display()));
    }
    Ok(())
}

/// Boots `config`, sending each serial line to `on_line` as it arrives.
pub fn run(config: &Config, mut on_line: impl FnMut(&str)) -> Result<Outcome, String> {
    check_tools(config.firmware)?;
    let built = match config.program.as_str() {
        "" => None,
        program => Some(program::build(program, config.profile)?),
    };
    let mut cmd = qemu_command(config, built.as_ref().map(|b| b.image(config.firmware)));
    // A terminal is handed to QEMU (which puts it in raw mode), so keys such
    // as Ctrl+\ reach the kernel's console; otherwise nothing is typed.
    let stdin = match (config.gdb || std::io::stdin().is_terminal(), config.input.is_empty()) {
        (_, false) => Stdio::piped(),
        (true, true) => Stdio::inherit(),
        (false, true) => Stdio::null(),
    };
    cmd.stdin(stdin).stdout(Stdio::piped()).stderr(Stdio::piped());
    let start = Instant::now();
    let mut child = cmd.spawn().map_err(|e| format!("cannot start qemu-system-x86_64: {e}"))?;

    let mut console_in = child.stdin.take();
    let mut pending_input = config.input.iter();
    let mut next_input = pending_input.next();
    let (tx, rx) = mpsc::channel::<String>();
    let stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || read_lines(stdout, tx));
    let mut stderr = child.stderr.take().unwrap();
    let err_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });

    let deadline = if config.gdb { None } else { Some(start + config.timeout) };
    let mut stamped = Vec::new();
    let mut timed_out = false;
    loop {
        let wait = deadline.map_or(Duration::from_millis(100), |d| {
            d.saturating_duration_since(Instant::now()).min(Duration::from_millis(100))
        });
        match rx.recv_timeout(wait) {
            Ok(line) => {
                on_line(&line);
                if let (Some((trigger, bytes)), Some(input)) = (next_input, console_in.as_mut()) {
                    if line.contains(trigger.as_str()) {
                        let _ = input.write_all(bytes).and_then(|_| input.flush());
                        next_input = pending_input.next();
                    }
                }
                stamped.push((start.elapsed(), line));
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
            Err(mpsc::RecvTimeoutError::Timeout) => {}
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            timed_out = true;
            let _ = child.kill();
            if std::io::stdin().is_terminal() && !config.gdb {
                // QEMU had the terminal in raw mode and was killed before it
                // could restore it.
                let _ = child.wait();
                let _ = Command::new("stty").arg("sane").stdin(Stdio::inherit()).status();
            }
            // Drain whatever the kernel had printed.
            for line in rx.try_iter() {
                on_line(&line);
                stamped.push((start.elapsed(), line));
            }
            break;
        }
    }
    let status = wait_child(&mut child);
    let _ = reader.join();
    let qemu_err = err_reader.join().unwrap_or_default();
    for line in rx.try_iter() {
        on_line(&line);
        stamped.push((start.elapsed(), line));
    }
    let verdict = if timed_out {
        Verdict::Timeout
    } else {
        match status {
            Some(QEMU_PASS) => Verdict::Pass,
            Some(QEMU_FAIL) => Verdict::Fail,
            other => Verdict::NoVerdict(other),
        }
    };
    if let Verdict::NoVerdict(_) = verdict {
        for line in qemu_err.lines() {
            on_line(&format!("qemu: {line}"));
        }
    }
    let mut outcome = Outcome {
        verdict,
        output: stamped.iter().map(|(_, l)| l.as_str()).collect::<Vec<_>>().join("\n"),
        to_entry: None,
        to_all_online: None,
        elapsed: start.elapsed(),
        stamped,
    };
    outcome.to_entry = outcome.line_time(MARK_ENTRY);
    outcome.to_all_online = outcome.line_time(MARK_ALL_ONLINE);
    Ok(outcome)
}

fn wait_child(child: &mut Child) -> Option<i32> {
    child.wait().ok().and_then(|s| s.code())
}

/// Splits the serial byte stream into lines. Firmware (OVMF) writes escape
/// sequences and carriage returns; both are stripped so tests can match text.
fn read_lines(stdout: impl Read, tx: mpsc::Sender<String>) {
    let mut reader = BufReader::new(stdout);
    let mut buf = Vec::new();
    loop {
        buf.clear();
        match reader.read_until(b'\n', &mut buf) {
            Ok(0) | Err(_) => return,
            Ok(_) => {
                let line = clean_line(&buf);
                if tx.send(line).is_err() {
                    return;
                }
            }
        }
    }
}

/// Removes ANSI escape sequences, CR and the trailing newline.
pub fn clean_line(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\x1b' => {
                // CSI: ESC [ params final-byte(0x40..=0x7e); other escapes: one char.
                if chars.peek() == Some(&'[') {
                    chars.next();
                    for c in chars.by_ref() {
                        if ('\x40'..='\x7e').contains(&c) {
                            break;
                        }
                    }
                } else {
                    chars.next();
                }
            }
            '\r' | '\n' => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_line_strips_escapes() {
        assert_eq!(clean_line(b"\x1b[2J\x1b[01;01Hhello\r\n"), "hello");
        assert_eq!(clean_line(b"plain\n"), "plain");
        assert_eq!(clean_line(b"\x1bcX"), "X");
    }

    #[test]
    fn command_escapes_commas_and_adds_firmware() {
        let config =
            Config { firmware: Firmware::Uefi, cmdline: "GODEBUG=a=1,b=2".into(), cpus: 4, ..Config::default() };
        let cmd = qemu_command(&config, Some(Path::new("/x.img")));
        let args: Vec<String> = cmd.get_args().map(|a| a.to_string_lossy().into_owned()).collect();
        assert!(args.contains(&"name=opt/gort/cmdline,string=GODEBUG=a=1,,b=2".to_string()));
        assert!(args.iter().any(|a| a.contains("OVMF_CODE_4M.fd")));
        assert!(args.contains(&"-no-reboot".to_string()));
        let smp = args.iter().position(|a| a == "-smp").unwrap();
        assert_eq!(args[smp + 1], "4");
        assert!(args.contains(&"tcg,thread=multi".to_string()), "TCG unless asked");
    }

    #[test]
    fn verdict_exit_codes_are_distinct() {
        let codes =
            [Verdict::Pass, Verdict::Fail, Verdict::NoVerdict(Some(0)), Verdict::Timeout].map(Verdict::exit_code);
        assert_eq!(codes, [0, 1, 2, 3]);
    }
}
