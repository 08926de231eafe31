//! Goroutine dumps in Go's format (Go's `traceback.go`: `tracebackothers`,
//! `goroutineheader`, `printcreatedby`): after every fatal error, and on
//! demand (the machine's Ctrl+\, Go's SIGQUIT).
//!
//! ```text
//! goroutine 1 [sync.WaitGroup.Wait]:
//! runtime::sched::proc::gopark(...)
//!         +0x5e pc=0xffffffff80031a4e
//! selftest::sched::deadlock(...)
//!         +0x31 pc=0xffffffff8001f2c1
//! created by goroutine 0
//! ```
//! One paragraph per live goroutine, in creation order: id, state (the wait
//! reason of a parked one), the symbolized frames, and who started it. A
//! frame is its function's name with `(...)` for the arguments (we have no
//! argument metadata to print), then its offset in the function and its pc.
//!
//! ## Who does what
//! This file is the portable half: which goroutines, in which order, where
//! each one's trace starts, the text, and the folding below. The machine
//! supplies the rest through an [`Unwinder`]: reading a stack (its frame
//! layout, where an interrupt or a switch left the registers, stacks whose
//! pages were released) and naming the function around a pc. The host tests
//! below drive it with fake frames and names.
//!
//! ## The dump ([`dump`])
//! 1. Visit `allg` in creation order, giving up (printing nothing) if its
//!    lock stays taken: the CPU reporting a fatal error may hold it.
//! 2. Skip idle and dead Gs. For the others, decide where the trace starts
//!    ([`StackStart`]):
//!    - the goroutine taking the dump: the frame pointer its caller passed;
//!    - preempted asynchronously: its interrupt frame (`G::trap_frame`);
//!    - running or in a blocking call on another CPU: nowhere. Go prints
//!      "goroutine running on other thread; stack unavailable", and so do we
//!      (the other CPUs are stopped on a fatal error, but their registers are
//!      not recorded anywhere we can read);
//!    - otherwise (parked, or runnable after a switch): its saved stack
//!      pointer.
//! 3. The machine unwinds from there into at most [`MAX_FRAMES`] return
//!    addresses, after the interrupted instruction if there is one. Every
//!    read it makes is probed, so a goroutine that runs meanwhile (the Ctrl+\
//!    dump does not stop the world) can only make its trace end early.
//! 4. Print the trace in full, or fold it into the one before (below).
//!
//! ## Where we differ from Go: alike goroutines are folded
//! Go prints every goroutine in full. A serial console under TCG carries
//! about 100 paragraphs a second, so a fatal error among 20,000 parked
//! goroutines would print for minutes, which a user (or a test's timeout)
//! cannot tell from a hang. Goroutines that follow one another in the dump
//! with the same state, frames and creator as the last one printed are
//! folded into one line after it:
//! ```text
//! ... 19998 more goroutines (ids 3 to 20000) [chan receive] with the stack and creator of goroutine 2
//! ```
//! A goroutine that differs in anything but its id is printed in full, and
//! the goroutines alike to it are folded into it from then on.
use core::fmt::Write;

use super::g::{self, GStatus, G};
use super::m::getg;

/// Return addresses a trace keeps, after the interrupted instruction if any.
pub const MAX_FRAMES: usize = 64;

/// One frame of a trace: the pc printed, and the pc whose function names it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Frame {
    pub pc: u64,
    pub lookup: u64,
}

impl Frame {
    /// The instruction a goroutine was interrupted at, named as it is.
    pub fn interrupted(pc: u64) -> Frame {
        Frame { pc, lookup: pc }
    }

    /// A return address, named at `ret - 1`: inside the call, so a call that
    /// is its function's last instruction still names the caller (Go looks up
    /// `pc-1` for the same reason).
    pub fn returning_to(ret: u64) -> Frame {
        Frame { pc: ret, lookup: ret.wrapping_sub(1) }
    }
}

/// Where a goroutine's trace starts (step 2 of the module essay).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StackStart {
    /// The goroutine taking the dump: the frame pointer its caller passed.
    Here { fp: u64 },
    /// Preempted asynchronously: the address of its interrupt frame.
    Preempted { trap_frame: usize },
    /// Suspended by a switch: its saved stack pointer (0 if it never ran).
    Switched { sp: usize },
    /// Running, or in a blocking call, on another CPU: no stack to show.
    Elsewhere,
}

impl StackStart {
    /// Where the trace of a goroutine in `status` starts; `mine`: it is the
    /// one taking the dump.
    fn of(status: GStatus, mine: bool, trap_frame: usize, saved_sp: usize, here_fp: u64) -> StackStart {
        if mine {
            StackStart::Here { fp: here_fp }
        } else if trap_frame != 0 {
            StackStart::Preempted { trap_frame }
        } else if status == GStatus::Running || status == GStatus::Syscall {
            StackStart::Elsewhere
        } else {
            StackStart::Switched { sp: saved_sp }
        }
    }
}

/// What a dump needs of the machine: stacks read and pcs named.
pub trait Unwinder {
    /// Fills `frames` with the trace that starts at `from`, innermost first
    /// (the interrupted instruction of a preempted goroutine, then return
    /// addresses); returns how many it filled. A stack it cannot read ends
    /// the trace early; it never faults.
    fn unwind(&self, from: StackStart, frames: &mut [Frame]) -> usize;

    /// Writes the name of the function that contains `pc`, and returns
    /// `pc`'s offset in it; writes nothing and returns `None` if no known
    /// function contains it.
    fn write_function(&self, out: &mut dyn Write, pc: u64) -> Option<u64>;
}

/// Writes the dump of every live goroutine (see the module essay);
/// `here_fp` starts the trace of the goroutine running on this CPU, if any.
pub fn dump(out: &mut dyn Write, here_fp: u64, unwinder: &dyn Unwinder) {
    let me = getg().map(|g| g as *const G);
    let mut printer = Printer::new(out, unwinder);
    g::try_for_each_g(|g| {
        let status = g.status();
        if status == GStatus::Dead || status == GStatus::Idle {
            return;
        }
        let start = StackStart::of(status, me == Some(g as *const G), g.trap_frame(), g.saved_sp(), here_fp);
        let mut trace = Trace::new(g.goid(), status, g.parent_goid());
        trace.unwind(start, unwinder);
        printer.goroutine(&trace);
    });
    printer.finish();
}

/// The live goroutine that owns stack `id` (the stack-overflow report
/// names it), if any.
pub fn goroutine_of_stack(id: usize) -> Option<u64> {
    let mut found = None;
    g::try_for_each_g(|g| {
        if g.stack_bounds().is_some_and(|s| s.id == id) && g.status() != GStatus::Dead {
            found = Some(g.goid());
        }
    });
    found
}

/// What the dump prints of one goroutine. Two traces are alike when
/// everything but the id is: state, frames and creator.
#[derive(Clone, Copy)]
struct Trace {
    goid: u64,
    status: GStatus,
    parent: u64,
    /// Running on another CPU: no stack to show.
    elsewhere: bool,
    frames: [Frame; MAX_FRAMES + 1],
    len: usize,
}

impl PartialEq for Trace {
    fn eq(&self, other: &Trace) -> bool {
        self.status == other.status
            && self.parent == other.parent
            && self.elsewhere == other.elsewhere
            && self.frames[..self.len] == other.frames[..other.len]
    }
}

impl Trace {
    fn new(goid: u64, status: GStatus, parent: u64) -> Trace {
        Trace { goid, status, parent, elsewhere: false, frames: [Frame::default(); MAX_FRAMES + 1], len: 0 }
    }

    fn unwind(&mut self, start: StackStart, unwinder: &dyn Unwinder) {
        self.elsewhere = start == StackStart::Elsewhere;
        if !self.elsewhere {
            self.len = unwinder.unwind(start, &mut self.frames).min(self.frames.len());
        }
    }
}

/// Prints traces, folding each run of alike ones into the one printed
/// before it.
struct Printer<'a> {
    out: &'a mut dyn Write,
    unwinder: &'a dyn Unwinder,
    /// The last goroutine printed in full.
    shown: Option<Trace>,
    /// Goroutines folded into `shown` since: how many, the first and last id.
    folded: u64,
    first: u64,
    last: u64,
}

impl<'a> Printer<'a> {
    fn new(out: &'a mut dyn Write, unwinder: &'a dyn Unwinder) -> Printer<'a> {
        Printer { out, unwinder, shown: None, folded: 0, first: 0, last: 0 }
    }

    fn goroutine(&mut self, trace: &Trace) {
        if self.shown.as_ref() == Some(trace) {
            if self.folded == 0 {
                self.first = trace.goid;
            }
            self.folded += 1;
            self.last = trace.goid;
            return;
        }
        self.flush();
        self.write(trace);
        self.shown = Some(*trace);
    }

    fn finish(mut self) {
        self.flush();
    }

    /// Writes the line for the goroutines folded into `shown`, if any.
    fn flush(&mut self) {
        if let (Some(like), true) = (&self.shown, self.folded > 0) {
            let _ = if self.folded == 1 {
                write!(self.out, "\n... 1 more goroutine (id {})", self.first)
            } else {
                write!(self.out, "\n... {} more goroutines (ids {} to {})", self.folded, self.first, self.last)
            };
            let _ = writeln!(
                self.out,
                " [{}] with the stack and creator of goroutine {}",
                like.status.describe(),
                like.goid
            );
        }
        self.folded = 0;
    }

    /// Writes `t` in full (Go's `goroutineheader`, the frames, `printcreatedby`).
    fn write(&mut self, t: &Trace) {
        let out = &mut *self.out;
        let _ = writeln!(out, "\ngoroutine {} [{}]:", t.goid, t.status.describe());
        if t.elsewhere {
            let _ = writeln!(out, "goroutine running on other thread; stack unavailable");
        }
        for f in &t.frames[..t.len] {
            let offset = self.unwinder.write_function(out, f.lookup);
            if offset.is_none() {
                let _ = out.write_str("?");
            }
            let _ = writeln!(out, "(...)");
            let _ = match offset {
                Some(offset) => write!(out, "\t+{offset:#x}"),
                None => write!(out, "\t+?"),
            };
            let _ = writeln!(out, " pc={:#x}", f.pc);
        }
        let _ = writeln!(out, "created by goroutine {}", t.parent);
    }
}

#[cfg(test)]
mod tests {
    use std::string::String;
    use std::sync::{Arc, Mutex};
    use std::vec::Vec;

    use super::*;
    use crate::sched::mock::run;
    use crate::sched::tests::serial;
    use crate::sched::{go, WaitGroup, WaitReason};

    /// A machine of make-believe: function `main::fN` spans
    /// `[N * 0x100, N * 0x100 + 0x100)`, pcs below 0x100 are in none, and
    /// each way into a stack has its own fixed frames.
    struct Fake;

    impl Unwinder for Fake {
        fn unwind(&self, from: StackStart, frames: &mut [Frame]) -> usize {
            let trace = match from {
                StackStart::Here { fp } => vec![Frame::returning_to(fp)],
                StackStart::Preempted { .. } => vec![Frame::interrupted(0x234), Frame::returning_to(0x311)],
                StackStart::Switched { .. } => vec![Frame::returning_to(0x411), Frame::returning_to(0x520)],
                StackStart::Elsewhere => unreachable!("no stack to unwind"),
            };
            frames[..trace.len()].copy_from_slice(&trace);
            trace.len()
        }

        fn write_function(&self, out: &mut dyn Write, pc: u64) -> Option<u64> {
            (pc >= 0x100).then(|| {
                let _ = write!(out, "main::f{}", pc >> 8);
                pc & 0xff
            })
        }
    }

    const RECV: GStatus = GStatus::Waiting(WaitReason::ChanReceive);

    fn trace(goid: u64, status: GStatus, parent: u64, frames: &[Frame]) -> Trace {
        let mut t = Trace::new(goid, status, parent);
        t.frames[..frames.len()].copy_from_slice(frames);
        t.len = frames.len();
        t
    }

    fn print(traces: &[Trace]) -> String {
        let mut out = String::new();
        let mut printer = Printer::new(&mut out, &Fake);
        for t in traces {
            printer.goroutine(t);
        }
        printer.finish();
        out
    }

    /// The headers and fold lines of a dump, in order.
    fn outline(dump: &str) -> Vec<&str> {
        dump.lines().filter(|l| (l.starts_with("goroutine ") && l.ends_with("]:")) || l.starts_with("... ")).collect()
    }

    #[test]
    fn a_goroutine_prints_as_go_does() {
        let frames = [Frame::interrupted(0x234), Frame::returning_to(0x311), Frame::returning_to(0x42)];
        assert_eq!(
            print(&[trace(7, RECV, 1, &frames)]),
            "\ngoroutine 7 [chan receive]:\n\
             main::f2(...)\n\t+0x34 pc=0x234\n\
             main::f3(...)\n\t+0x10 pc=0x311\n\
             ?(...)\n\t+? pc=0x42\n\
             created by goroutine 1\n"
        );
    }

    #[test]
    fn a_goroutine_on_another_cpu_has_no_stack() {
        let mut t = Trace::new(4, GStatus::Running, 1);
        t.unwind(StackStart::Elsewhere, &Fake);
        assert_eq!(
            print(&[t]),
            "\ngoroutine 4 [running]:\ngoroutine running on other thread; stack unavailable\ncreated by goroutine 1\n"
        );
    }

    #[test]
    fn alike_goroutines_fold_into_the_first() {
        let frames = [Frame::returning_to(0x411)];
        let dump = print(&[3, 4, 5, 6].map(|goid| trace(goid, RECV, 1, &frames)));
        assert_eq!(
            dump,
            "\ngoroutine 3 [chan receive]:\nmain::f4(...)\n\t+0x10 pc=0x411\ncreated by goroutine 1\n\
             \n... 3 more goroutines (ids 4 to 6) [chan receive] with the stack and creator of goroutine 3\n"
        );
    }

    #[test]
    fn goroutines_that_differ_in_anything_but_the_id_are_printed_in_full() {
        let frames = [Frame::returning_to(0x411)];
        let base = |goid| trace(goid, RECV, 1, &frames);
        let mut elsewhere = base(9);
        elsewhere.elsewhere = true;
        let dump = print(&[
            base(2),
            trace(3, GStatus::Waiting(WaitReason::Sleep), 1, &frames),
            base(4),
            trace(5, RECV, 2, &frames),
            base(6),
            trace(7, RECV, 1, &[frames[0], Frame::returning_to(0x520)]),
            base(8),
            elsewhere,
        ]);
        let headers: Vec<&str> = outline(&dump).into_iter().map(|l| l.split(' ').nth(1).unwrap()).collect();
        assert_eq!(headers, ["2", "3", "4", "5", "6", "7", "8", "9"], "{dump}");
    }

    #[test]
    fn a_run_folds_into_the_goroutine_just_before_it() {
        let (a, b) = ([Frame::returning_to(0x411)], [Frame::returning_to(0x520)]);
        let dump = print(&[
            trace(1, RECV, 0, &a),
            trace(2, RECV, 0, &a),
            trace(3, GStatus::Runnable, 1, &b),
            trace(4, GStatus::Runnable, 1, &b),
            trace(5, GStatus::Runnable, 1, &b),
            trace(6, RECV, 0, &a),
        ]);
        assert_eq!(
            outline(&dump),
            [
                "goroutine 1 [chan receive]:",
                "... 1 more goroutine (id 2) [chan receive] with the stack and creator of goroutine 1",
                "goroutine 3 [runnable]:",
                "... 2 more goroutines (ids 4 to 5) [runnable] with the stack and creator of goroutine 3",
                "goroutine 6 [chan receive]:",
            ]
        );
    }

    #[test]
    fn a_trace_starts_where_the_goroutine_left_its_registers() {
        let of = StackStart::of;
        let (sleep, fp) = (GStatus::Waiting(WaitReason::Sleep), 0xf00);
        assert_eq!(of(GStatus::Running, true, 0x88, 0x77, fp), StackStart::Here { fp });
        assert_eq!(of(GStatus::Runnable, false, 0x88, 0x77, fp), StackStart::Preempted { trap_frame: 0x88 });
        assert_eq!(of(GStatus::Running, false, 0, 0x77, fp), StackStart::Elsewhere);
        assert_eq!(of(GStatus::Syscall, false, 0, 0x77, fp), StackStart::Elsewhere);
        assert_eq!(of(sleep, false, 0, 0x77, fp), StackStart::Switched { sp: 0x77 });
        assert_eq!(of(GStatus::Runnable, false, 0, 0x77, fp), StackStart::Switched { sp: 0x77 });
    }

    /// On the mock machine: the dumper traced from its frame pointer,
    /// parked goroutines from their switch and folded, in `allg` order.
    #[test]
    fn dump_shows_every_live_goroutine_once() {
        let _s = serial();
        const N: usize = 5;
        let (dump, me, ids, owner) = run(|| {
            let gate = crate::chan::Chan::<()>::new(0);
            let ids = Arc::new(Mutex::new(Vec::new()));
            let wg = Arc::new(WaitGroup::new());
            wg.add(N as i64);
            for _ in 0..N {
                let (gate, ids, wg) = (gate.clone(), ids.clone(), wg.clone());
                go(move || {
                    ids.lock().unwrap().push(getg().unwrap().goid());
                    gate.recv();
                    wg.done();
                });
            }
            let parked = |ids: &[u64]| {
                let mut n = 0;
                g::for_each_g(|g| n += usize::from(g.status() == RECV && ids.contains(&g.goid())));
                n
            };
            while ids.lock().unwrap().len() < N || parked(&ids.lock().unwrap()) < N {
                crate::sched::gosched();
            }
            let mut dump = String::new();
            super::dump(&mut dump, 0x151, &Fake);
            let me = getg().unwrap();
            let owner = goroutine_of_stack(me.stack_bounds().unwrap().id);
            gate.close();
            wg.wait();
            let ids = ids.lock().unwrap().clone();
            (dump, me.goid(), ids, owner)
        });
        assert_eq!(owner, Some(me), "the dumper's stack is its own");
        let mine = format!("\ngoroutine {me} [running]:\nmain::f1(...)\n\t+0x50 pc=0x151\ncreated by goroutine 0\n");
        assert!(dump.contains(&mine), "{dump}");
        let parked = format!(
            " [chan receive]:\nmain::f4(...)\n\t+0x10 pc=0x411\nmain::f5(...)\n\t+0x1f pc=0x520\ncreated by goroutine {me}\n"
        );
        // Each parked goroutine is printed in full or folded, once.
        let mut shown = 0;
        for line in outline(&dump) {
            if let Some(id) = line.strip_prefix("goroutine ").and_then(|l| l.strip_suffix(" [chan receive]:")) {
                assert!(ids.contains(&id.parse().unwrap()), "{dump}");
                assert!(dump.contains(&format!("goroutine {id}{parked}")), "{dump}");
                shown += 1;
            } else if let Some(rest) = line.strip_prefix("... ") {
                assert!(rest.contains("[chan receive]"), "{dump}");
                shown += rest.split(' ').next().unwrap().parse::<usize>().unwrap();
            }
        }
        assert_eq!(shown, N, "{dump}");
        assert!(shown > outline(&dump).iter().filter(|l| l.ends_with("[chan receive]:")).count(), "nothing folded");
    }
}
