//! The host mock of the machine interface: OS threads as CPUs.
//!
//! Under `cargo test` the scheduler runs unchanged on `NCPU` threads, each an
//! M. A goroutine is an OS thread too, but only one thread per mock CPU runs at
//! a time: a context is a baton, and `switch(from, to)` hands the CPU's
//! identity to `to`'s thread, wakes it, and blocks on `from`'s baton. So the
//! run queues, stealing, parking, timers and idle/wake protocol are exercised
//! for real, with real parallelism between the mock CPUs.
//!
//! Not modelled: interrupts (no asynchronous preemption on the host; the
//! timer only ends a halt), stack growth, FPU state. A goroutine that exits
//! leaves its thread blocked for good (a few thousand per test run).
//! `throw` prints Go's `fatal error:` line and aborts the test process.
use std::cell::Cell;
use std::fmt;
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, OnceLock};
use std::time::{Duration, Instant};

use super::machine::{Context, Entry, Machine, Stack, StackRelease};

pub const NCPU: usize = 4;
/// The CPU id reported to threads that are not mock CPUs (a test's own thread).
const OUTSIDER: usize = super::p::MAX_M - 1;

/// True on a thread that is no mock CPU (a test's own thread): it is no M,
/// and its locks are not rank-checked.
pub(crate) fn is_outsider() -> bool {
    CPU.with(|c| c.get()) == OUTSIDER
}

thread_local! {
    static CPU: Cell<usize> = const { Cell::new(OUTSIDER) };
}

struct Baton {
    ready: Mutex<bool>,
    cv: Condvar,
    cpu: AtomicUsize,
}

impl Baton {
    fn new() -> &'static Baton {
        Box::leak(Box::new(Baton { ready: Mutex::new(false), cv: Condvar::new(), cpu: AtomicUsize::new(OUTSIDER) }))
    }
    fn post(&self, cpu: usize) {
        self.cpu.store(cpu, Ordering::Release);
        *self.ready.lock().unwrap() = true;
        self.cv.notify_one();
    }
    fn wait(&self) {
        let mut ready = self.ready.lock().unwrap();
        while !*ready {
            ready = self.cv.wait(ready).unwrap();
        }
        *ready = false;
        CPU.with(|c| c.set(self.cpu.load(Ordering::Acquire)));
    }
}

fn baton(ctx: *mut Context) -> &'static Baton {
    // SAFETY: the scheduler passes valid context slots.
    let ctx = unsafe { &mut *ctx };
    if ctx.sp == 0 {
        ctx.sp = Baton::new() as *const Baton as usize; // a g0's first save
    }
    // SAFETY: non-zero slots hold leaked batons.
    unsafe { &*(ctx.sp as *const Baton) }
}

struct Halt {
    woken: Mutex<bool>,
    cv: Condvar,
    deadline: AtomicU64,
}

fn halts() -> &'static [Halt] {
    static H: OnceLock<Vec<Halt>> = OnceLock::new();
    H.get_or_init(|| {
        (0..super::p::MAX_M)
            .map(|_| Halt { woken: Mutex::new(false), cv: Condvar::new(), deadline: AtomicU64::new(0) })
            .collect()
    })
}

fn epoch() -> Instant {
    static E: OnceLock<Instant> = OnceLock::new();
    *E.get_or_init(Instant::now)
}

/// The host mock: threads as CPUs (see the module essay).
pub struct MockMachine;

impl Machine for MockMachine {
    #[inline]
    fn cpu() -> usize {
        CPU.with(|c| c.get())
    }

    #[inline]
    fn ncpu() -> usize {
        NCPU
    }

    #[inline]
    fn nanotime() -> u64 {
        epoch().elapsed().as_nanos() as u64 + 1
    }

    /// The host's wall clock and the mock's monotonic clock (two reads: the
    /// host has no clock that gives both).
    #[inline]
    fn time_now() -> (i64, u64) {
        let wall =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos() as i64);
        (wall, Self::nanotime())
    }

    #[inline]
    fn stack_alloc() -> Stack {
        static NEXT: AtomicUsize = AtomicUsize::new(1);
        Stack { id: NEXT.fetch_add(1, Ordering::Relaxed), lo: 0, hi: 0 }
    }

    #[inline]
    fn stack_trim(_stack: &Stack) {}

    /// Mock stacks have no pages: record which ones the scheduler offered.
    #[inline]
    fn stack_release(parked: &[(Stack, usize)]) -> StackRelease {
        *RELEASED.lock().unwrap() = parked.iter().map(|(s, _)| s.id).collect();
        StackRelease { stacks: parked.len(), ..StackRelease::default() }
    }

    #[inline]
    fn context_new(_stack: &Stack, entry: Entry, arg: usize) -> Context {
        let b = Baton::new();
        std::thread::Builder::new()
            .stack_size(256 << 10)
            .spawn(move || {
                b.wait();
                entry(arg)
            })
            .expect("mock: cannot spawn a goroutine thread");
        Context { sp: b as *const Baton as usize }
    }

    #[inline]
    unsafe fn switch(from: *mut Context, to: *const Context) {
        let from = baton(from);
        // SAFETY: `to` is a live context slot holding a baton.
        let to = unsafe { &*((*to).sp as *const Baton) };
        to.post(Self::cpu());
        from.wait();
    }

    #[inline]
    unsafe fn switch_final(to: *const Context) -> ! {
        // SAFETY: as in `switch`.
        let to = unsafe { &*((*to).sp as *const Baton) };
        to.post(Self::cpu());
        loop {
            std::thread::park();
        }
    }

    #[inline]
    fn acquirem() {
        LOCKS[Self::cpu()].fetch_add(1, Ordering::Relaxed);
    }

    #[inline]
    fn releasem() -> bool {
        let before = LOCKS[Self::cpu()].fetch_sub(1, Ordering::Relaxed);
        assert!(before & !super::machine::PREEMPT_REQUESTED > 0, "releasem without acquirem");
        before - 1 == super::machine::PREEMPT_REQUESTED
    }

    #[inline]
    fn mlocks() -> u32 {
        LOCKS[Self::cpu()].load(Ordering::Relaxed)
    }

    #[inline]
    fn request_preempt() {
        LOCKS[Self::cpu()].fetch_or(super::machine::PREEMPT_REQUESTED, Ordering::Relaxed);
    }

    #[inline]
    fn take_preempt_request() -> bool {
        let before = LOCKS[Self::cpu()].fetch_and(!super::machine::PREEMPT_REQUESTED, Ordering::Relaxed);
        before & super::machine::PREEMPT_REQUESTED != 0
    }

    #[inline]
    fn irq_disable() -> bool {
        true
    }

    #[inline]
    fn irq_restore(_enabled: bool) {}

    #[inline]
    fn wake(cpu: usize) {
        WAKES.fetch_add(1, Ordering::Relaxed);
        let h = &halts()[cpu];
        *h.woken.lock().unwrap() = true;
        h.cv.notify_one();
    }

    #[inline]
    fn halt() {
        let h = &halts()[Self::cpu()];
        let mut woken = h.woken.lock().unwrap();
        while !*woken {
            let deadline = h.deadline.load(Ordering::Acquire);
            let now = Self::nanotime();
            if deadline != 0 && now >= deadline {
                break;
            }
            let wait = if deadline == 0 { Duration::from_millis(50) } else { Duration::from_nanos(deadline - now) };
            woken = h.cv.wait_timeout(woken, wait).unwrap().0;
        }
        *woken = false;
        drop(woken);
        // The "interrupt": the timer, if it was due.
        let deadline = h.deadline.load(Ordering::Acquire);
        if deadline != 0 && Self::nanotime() >= deadline {
            h.deadline.store(0, Ordering::Release);
            super::preempt::on_timer();
        }
    }

    #[inline]
    fn arm_timer(deadline: u64) {
        halts()[Self::cpu()].deadline.store(deadline, Ordering::Release);
    }

    #[inline]
    fn throw(what: fmt::Arguments<'_>) -> ! {
        eprintln!("fatal error: {what}\n\n{}", std::backtrace::Backtrace::force_capture());
        std::process::abort()
    }
}

crate::provide_machine!(MockMachine);

/// Wake-ups sent to halted CPUs (`wake`), for tests of who wakes whom.
pub(crate) static WAKES: AtomicU64 = AtomicU64::new(0);

/// The stack ids the last `stack_release` was given.
static RELEASED: Mutex<Vec<usize>> = Mutex::new(Vec::new());

/// The stack ids the last `stack_release` was given (tests).
pub fn last_released() -> Vec<usize> {
    RELEASED.lock().unwrap().clone()
}

/// Per mock CPU `m.locks` (no interrupts here, so plain atomics suffice).
static LOCKS: [AtomicU32; super::p::MAX_M] = [const { AtomicU32::new(0) }; super::p::MAX_M];

/// Starts the mock machine once: `NCPU` M threads, GOMAXPROCS = `NCPU`.
pub fn boot() {
    static BOOTED: OnceLock<()> = OnceLock::new();
    BOOTED.get_or_init(|| {
        let (tx, rx) = std::sync::mpsc::channel();
        spawn_cpu(0, move || {
            super::init(NCPU, 10_000_000);
            for cpu in 1..NCPU {
                spawn_cpu(cpu, || {
                    super::mstart();
                });
            }
            tx.send(()).unwrap();
            super::start_main(|| {});
        });
        rx.recv().unwrap();
        // The boot's own main goroutine (empty) is still counted until it
        // exits: wait, so the first test's `num_goroutine()` baseline is its own.
        wait_until_no_goroutine();
    });
}

fn wait_until_no_goroutine() {
    let deadline = Instant::now() + Duration::from_secs(10);
    while super::num_goroutine() > 0 {
        assert!(Instant::now() < deadline, "mock: goroutines still live 10 s after the test's end");
        std::thread::yield_now();
    }
}

fn spawn_cpu(cpu: usize, body: impl FnOnce() + Send + 'static) {
    std::thread::Builder::new()
        .name(format!("mock-cpu{cpu}"))
        .spawn(move || {
            CPU.with(|c| c.set(cpu));
            body()
        })
        .unwrap();
}

/// Runs `f` on a goroutine and returns its result to the test's thread.
pub fn run<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    boot();
    let (tx, rx) = std::sync::mpsc::channel();
    super::proc::go_global(move || {
        let _ = tx.send(f());
    });
    let result = rx.recv_timeout(Duration::from_secs(60)).expect("mock: the goroutine did not finish within 60 s");
    // The goroutine sent its result and is exiting: wait for that, so the next
    // test's `num_goroutine()` baseline is its own.
    wait_until_no_goroutine();
    result
}
