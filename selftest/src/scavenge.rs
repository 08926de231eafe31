//! Scenarios of giving parked goroutines' stack pages back
//! (`sched::free_os_memory`, the kernel's `stack::release`); the table in
//! `main.rs` lists them, and each function's doc says what it proves.
extern crate alloc;

use alloc::sync::Arc;
use core::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

use runtime::chan::Chan;
use runtime::sched::{self, WaitGroup};

use crate::arch::{self, memory, stack};
use crate::println;

/// `test=parked`: bytes per parked goroutine: frames (stack pages and the page tables that
/// map them) plus kernel heap (G, closure, bookkeeping), for N goroutines
/// blocked receiving on a channel (Go 1.27: about 2.75 KB with 1M), then
/// again after `free_os_memory` released their stack pages. Then each gets a
/// value by direct handoff into its released stack and checks that the
/// frames it left there came back intact.
pub fn parked() -> bool {
    const N: usize = 20_000;
    let gate = Chan::<u64>::new(0);
    let results = Chan::<bool>::new(N);
    let started = Arc::new(WaitGroup::new());
    started.add(N as i64);
    // Frames outside the heap (free, or backing the heap's pages, span
    // records' included: those are counted as heap bytes, not twice), and
    // heap bytes in use (objects and span records).
    let usage = || {
        let heap = runtime::heap::read_mem_stats();
        let heap_frames = (heap.sys - heap.heap_released) / 4096;
        let in_use = heap.heap_alloc + heap.mspan_inuse;
        (memory::free_frames() + heap_frames, in_use as usize + arch::heap::arena_stats().0)
    };
    let (frames0, heap0) = usage();
    for i in 0..N {
        let (gate, results, started) = (gate.clone(), results.clone(), started.clone());
        sched::go(move || {
            // Frames that must survive the release: a pattern on this stack.
            let pattern = core::hint::black_box([i as u64 ^ 0x5a5a_5a5a_5a5a_5a5a; 4]);
            started.done();
            let v = gate.recv().expect("the gate stays open");
            let intact = core::hint::black_box(&pattern).iter().all(|&w| w == i as u64 ^ 0x5a5a_5a5a_5a5a_5a5a);
            results.send(intact && v < N as u64);
        });
    }
    started.wait();
    let parked = || {
        let mut n = 0;
        sched::for_each_g(|g| n += usize::from(g.status() == sched::GStatus::Waiting(sched::WaitReason::ChanReceive)));
        n
    };
    while parked() < N {
        sched::sleep(1_000_000);
    }
    let per_g = |(frames, heap): (u64, usize)| {
        let (f, h) = ((frames0 - frames) as usize * 4096 / N, (heap - heap0) / N);
        (f + h, f, h)
    };
    let (before, bf, bh) = per_g(usage());
    println!("parked: {N} goroutines blocked on a channel: {before} bytes each ({bf} B of frames for stacks and page tables, {bh} B of heap)");
    let t0 = arch::nanotime();
    let r = sched::free_os_memory();
    let took_ms = (arch::nanotime() - t0) / 1_000_000;
    let (after, af, ah) = per_g(usage());
    println!(
        "parked: after free_os_memory ({took_ms} ms; {} stacks released, {} frames returned, {} B kept per stack): {after} bytes each ({af} B of frames, {ah} B of heap)",
        r.stacks,
        r.frames,
        r.bytes_kept / r.stacks.max(1),
    );
    let restores0 = stack::swap_ins().1;
    for v in 0..N as u64 {
        gate.send(v);
    }
    let intact = (0..N).filter(|_| results.recv() == Some(true)).count();
    let swapped_in = stack::swap_ins().1 - restores0;
    println!("parked: woken by direct handoff into released stacks: {intact} of {N} intact; {swapped_in} pages faulted back in");
    before > 0 && r.stacks >= N && after < before && intact == N && swapped_in >= N as u64
}

/// Where the parked goroutine's counter lives (an address on its stack).
static CELL: AtomicUsize = AtomicUsize::new(0);
static STOP: AtomicBool = AtomicBool::new(false);
static LAST: AtomicU64 = AtomicU64::new(0);
static PARKED_GOID: AtomicU64 = AtomicU64::new(0);

fn cell() -> &'static AtomicU64 {
    // SAFETY: the cell lives in the parked goroutine's frame, which stays
    // until the gate opens, after every writer stopped.
    unsafe { &*(CELL.load(Ordering::Acquire) as *const AtomicU64) }
}

/// The release hook of phase 2: a write in the window between the shootdown
/// and the copy.
fn write_in_window() {
    cell().store(1_000_001, Ordering::Release);
}

/// `test=stackrelease`: no write is lost: (1) a blocking call (running without
/// a P, so the stopped world does not stop it) writes a counter into a parked
/// goroutine's stack without pause while the main goroutine releases that stack
/// 300 times, and the stack ends with the last value written; (2) a write
/// placed between the release's shootdown and its copy puts the same frame back
/// (the release is undone); (3) a write after the copy refills the page from
/// the saved bytes; (4) a goroutine dump shows the released stack's frames from
/// its buffer, leaving it released; the goroutine wakes to the last value.
pub fn stackrelease() -> bool {
    const ROUNDS: usize = 300;
    let gate = Chan::<()>::new(0);
    let seen = Chan::<u64>::new(1);
    let (gate2, seen2) = (gate.clone(), seen.clone());
    sched::go(move || {
        let cell = AtomicU64::new(0);
        PARKED_GOID.store(sched::getg().expect("a goroutine").goid(), Ordering::Release);
        CELL.store(&cell as *const AtomicU64 as usize, Ordering::Release);
        gate2.recv();
        seen2.send(cell.load(Ordering::Acquire));
    });
    while CELL.load(Ordering::Acquire) == 0 {
        sched::gosched();
    }
    // 1. A writer that never pauses, against releases.
    let writer_done = Arc::new(WaitGroup::new());
    writer_done.add(1);
    let wd = writer_done.clone();
    sched::go(move || {
        sched::blocking(|| {
            let mut v = 0;
            while !STOP.load(Ordering::Acquire) {
                v += 1;
                cell().store(v, Ordering::Release);
                LAST.store(v, Ordering::Release);
            }
        });
        wd.done();
    });
    while LAST.load(Ordering::Acquire) == 0 {
        sched::gosched();
    }
    let ((c0, r0), mut released) = (stack::swap_ins(), 0);
    for _ in 0..ROUNDS {
        released += sched::free_os_memory().stacks;
    }
    STOP.store(true, Ordering::Release);
    writer_done.wait();
    let (c1, r1) = stack::swap_ins();
    let last = LAST.load(Ordering::Acquire);
    let racing_ok = cell().load(Ordering::Acquire) == last;
    println!(
        "stackrelease: racing writer, {ROUNDS} rounds: released {released} times, put back {} times as the same frame and {} times from saved bytes; the stack holds the last value written ({last}): {racing_ok}",
        c1 - c0,
        r1 - r0
    );
    // 2. A write between the shootdown and the copy: the release is undone.
    stack::set_release_hook(Some(write_in_window));
    sched::free_os_memory();
    stack::set_release_hook(None);
    let (c2, r2) = stack::swap_ins();
    // 3. No write until the copy is done: the write refills the page.
    sched::free_os_memory();
    cell().store(1_000_002, Ordering::Release);
    let (c3, r3) = stack::swap_ins();
    let windows_ok = (c2 - c1, r2 - r1, c3 - c2, r3 - r2) == (1, 0, 0, 1);
    println!(
        "stackrelease: a write in the window put the frame back: {}; a write after the copy refilled it: {}",
        (c2 - c1, r2 - r1) == (1, 0),
        (c3 - c2, r3 - r2) == (0, 1)
    );
    // 4. A goroutine dump reads a released stack without faulting it back.
    sched::free_os_memory();
    let mut dump = alloc::string::String::new();
    arch::traceback::dump(&mut dump, 0);
    let head = alloc::format!("goroutine {} [chan receive]:\n", PARKED_GOID.load(Ordering::Acquire));
    let para = dump.split_once(&head).map_or("", |(_, rest)| rest.split("\n\n").next().unwrap_or(""));
    let dump_ok = para.contains("gopark") && para.contains("scavenge::stackrelease") && stack::swap_ins() == (c3, r3);
    println!("stackrelease: the dump shows the released stack's frames, still released: {dump_ok}");
    gate.send(());
    let got = seen.recv().expect("the parked goroutine reports");
    println!("stackrelease: the parked goroutine woke to {got} (want 1000002)");
    racing_ok && windows_ok && dump_ok && got == 1_000_002
}

/// `test=pressure`, booted with little memory (the test gives 128 MiB):
/// twice as many goroutines parked on a channel as the free frames could
/// hold unreleased (2 frames each), then all woken at once; releases under
/// memory pressure (from `go` and `goexit`) keep it alive, every goroutine
/// delivers its value, the count returns to its baseline.
pub fn pressure() -> bool {
    let (free0, total) = (memory::free_frames() as usize, memory::total_frames() as usize);
    // Each parked goroutine would hold its stack page and its page table;
    // after release, about 650 B of kernel heap. Stay inside the heap.
    let heap_free = arch::heap::stats().1;
    let n = free0.min(heap_free / 1024);
    let live = sched::num_goroutine();
    let releases0 = sched::pressure_releases();
    let gate = Chan::<u64>::new(0);
    let results = Chan::<u64>::new(n);
    let started = Arc::new(WaitGroup::new());
    started.add(n as i64);
    let mut low = free0;
    for _ in 0..n {
        let (gate, results, started) = (gate.clone(), results.clone(), started.clone());
        sched::go(move || {
            started.done();
            let v = gate.recv().expect("the gate stays open");
            results.send(v);
        });
        low = low.min(memory::free_frames() as usize);
    }
    started.wait();
    let spawned_releases = sched::pressure_releases() - releases0;
    println!(
        "pressure: {n} goroutines parked with {free0} of {total} frames free (unreleased they need {}); {spawned_releases} releases under pressure while spawning (main saw as few as {low} frames free)",
        2 * n
    );
    let mut sum = 0u64;
    for v in 0..n as u64 {
        gate.send(v);
    }
    for _ in 0..n {
        sum += results.recv().expect("results stay open");
    }
    let t0 = arch::nanotime();
    while sched::num_goroutine() > live && arch::nanotime() - t0 < 5_000_000_000 {
        sched::sleep(1_000_000);
    }
    let want = (n as u64) * (n as u64 - 1) / 2;
    let releases = sched::pressure_releases() - releases0;
    println!(
        "pressure: all woken at once: values sum {sum} (want {want}); {releases} releases under pressure in all; back to {} goroutines (baseline {live})",
        sched::num_goroutine()
    );
    2 * n > free0
        && sum == want
        && spawned_releases >= 1
        && releases > spawned_releases
        && sched::num_goroutine() == live
}

/// `test=million` (the test boots 4 GiB): a million goroutines parked on a
/// channel at once, each on a stack of its own (2 TiB of reservations, in
/// the arena's eight PML4 slots), which whole pages could not hold (8.5 KB
/// each: 8.5 GB): memory pressure releases the parked ones' pages as more
/// are made. Then all of them are woken, each adds what it received, and
/// all exit. Prints the bytes per parked goroutine (frames taken, heap
/// included; Go 1.27 needs about 2.75 KB) and the times under TCG.
pub fn million() -> bool {
    const N: usize = 1_000_000;
    static SUM: AtomicU64 = AtomicU64::new(0);
    let (free0, live) = (memory::free_frames() as usize, sched::num_goroutine());
    let releases0 = sched::pressure_releases();
    let gate = Chan::<u64>::new(0);
    let (started, finished) = (Arc::new(WaitGroup::new()), Arc::new(WaitGroup::new()));
    started.add(N as i64);
    finished.add(N as i64);
    let t0 = arch::nanotime();
    for _ in 0..N {
        let (gate, started, finished) = (gate.clone(), started.clone(), finished.clone());
        sched::go(move || {
            started.done();
            SUM.fetch_add(gate.recv().expect("the gate stays open"), Ordering::Relaxed);
            finished.done();
        });
    }
    started.wait();
    let t1 = arch::nanotime();
    let (parked, free1) = (sched::num_goroutine() - live, memory::free_frames() as usize);
    let per_goroutine = free0.saturating_sub(free1) * 4096 / N;
    println!(
        "million: {parked} goroutines parked in {} ms; {per_goroutine} bytes each (frames taken, heap included); {} releases under pressure",
        (t1 - t0) / 1_000_000,
        sched::pressure_releases() - releases0
    );
    for v in 0..N as u64 {
        gate.send(v);
    }
    finished.wait();
    let t2 = arch::nanotime();
    let t = arch::nanotime();
    while sched::num_goroutine() > live && arch::nanotime() - t < 10_000_000_000 {
        sched::sleep(1_000_000);
    }
    let (sum, want) = (SUM.load(Ordering::Relaxed), (N as u64) * (N as u64 - 1) / 2);
    println!(
        "million: all woken and done in {} ms: values sum {sum} (want {want}); back to {} goroutines (baseline {live})",
        (t2 - t1) / 1_000_000,
        sched::num_goroutine()
    );
    parked >= N && sum == want && sched::num_goroutine() == live && per_goroutine < 2750
}
