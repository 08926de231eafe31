//! Scenarios of the heap (`runtime::heap`: size classes, per-P caches,
//! frees from any CPU); the table in `main.rs` lists them, and each
//! function's doc says what it proves.
extern crate alloc;

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, Ordering};

use runtime::chan::Chan;
use runtime::sched::{self, WaitGroup};

use crate::arch;
use crate::println;

/// How long `heapstress` runs.
const STRESS_NS: u64 = 10_000_000_000;

/// A block a producer made: its bytes, and the pattern they must hold.
struct Parcel {
    words: Box<[u64]>,
    seed: u64,
}

fn word(seed: u64, i: usize) -> u64 {
    seed ^ (i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15)
}

/// `test=heapstress`: on every CPU a producer allocates blocks of random
/// sizes (8 B to 64 KiB, large objects among them), fills each with its own
/// pattern and sends it to a consumer that runs elsewhere, which checks the
/// pattern and frees the block (a remote free, mostly); 10 s. Nothing is
/// lost or corrupted, and what the heap counts as live comes back to where
/// it was.
pub fn heapstress() -> bool {
    let pairs = sched::gomaxprocs(0);
    let before = runtime::heap::read_mem_stats();
    let deadline = arch::nanotime() + STRESS_NS;
    let sent = alloc::sync::Arc::new(AtomicU64::new(0));
    let bad = alloc::sync::Arc::new(AtomicU64::new(0));
    let received = alloc::sync::Arc::new(AtomicU64::new(0));
    let done = alloc::sync::Arc::new(WaitGroup::new());
    done.add(2 * pairs as i64);
    for p in 0..pairs {
        let ch = Chan::<Parcel>::new(64);
        let (tx, sent, done_p) = (ch.clone(), sent.clone(), done.clone());
        sched::go(move || {
            let mut rng = 0x2545_f491_4f6c_dd1d_u64 ^ (p as u64 + 1);
            while arch::nanotime() < deadline {
                rng ^= rng << 13;
                rng ^= rng >> 7;
                rng ^= rng << 17;
                let words = match rng % 16 {
                    0 => 1 + (rng >> 8) as usize % 8192, // up to 64 KiB: large ones too
                    1..4 => 1 + (rng >> 8) as usize % 512,
                    _ => 1 + (rng >> 8) as usize % 32,
                };
                let seed = rng;
                let block: Box<[u64]> = (0..words).map(|i| word(seed, i)).collect();
                tx.send(Parcel { words: block, seed });
                sent.fetch_add(1, Ordering::Relaxed);
            }
            tx.close();
            done_p.done();
        });
        let (rx, bad, received, done_c) = (ch, bad.clone(), received.clone(), done.clone());
        sched::go(move || {
            while let Some(parcel) = rx.recv() {
                if parcel.words.iter().enumerate().any(|(i, &w)| w != word(parcel.seed, i)) {
                    bad.fetch_add(1, Ordering::Relaxed);
                }
                received.fetch_add(1, Ordering::Relaxed);
                drop(parcel);
            }
            done_c.done();
        });
    }
    done.wait();
    // Let the exited goroutines' last frees settle, then count.
    sched::gosched();
    let after = runtime::heap::read_mem_stats();
    let (sent, received, bad) =
        (sent.load(Ordering::Relaxed), received.load(Ordering::Relaxed), bad.load(Ordering::Relaxed));
    let grown = after.heap_alloc as i64 - before.heap_alloc as i64;
    println!(
        "heapstress: {pairs} producers and consumers: {sent} blocks sent, {received} received, {bad} corrupted; \
         {} mallocs, {} frees meanwhile; heap in use {} -> {} bytes ({grown:+}); heap grown to {} bytes",
        after.mallocs - before.mallocs,
        after.frees - before.frees,
        before.heap_alloc,
        after.heap_alloc,
        after.heap_sys
    );
    // Live bytes may differ by the goroutines' own leftovers (Gs are kept
    // for reuse), not by a block per parcel.
    sent == received && bad == 0 && sent > 0 && grown.unsigned_abs() < 256 << 10
}

/// `test=oom`: keeps allocating 1 MiB blocks (touching each) until the
/// heap cannot grow: the fatal error `runtime: out of memory` with the
/// heap's figures, and the failure exit. Never returns.
pub fn oom() -> bool {
    let mut kept: Vec<Box<[u8]>> = Vec::new();
    loop {
        let mut block = alloc::vec![0u8; 1 << 20].into_boxed_slice();
        for b in block.iter_mut().step_by(4096) {
            *b = 1;
        }
        kept.push(block);
        if kept.len().is_multiple_of(16) {
            println!("oom: {} MiB allocated", kept.len());
        }
    }
}

/// A vector no other handler uses, for `irqalloc`.
const ALLOC_VECTOR: u8 = 0xd0;

fn allocating_handler(_: &mut arch::trap::TrapFrame) {
    core::hint::black_box(Box::new(1u8));
}

/// `test=irqalloc`: an interrupt handler that allocates (which none may: it
/// could interrupt its CPU inside the P's cache) is a fatal error in debug
/// builds, naming the rule. Never returns.
pub fn irqalloc() -> bool {
    arch::trap::set_handler(ALLOC_VECTOR, allocating_handler);
    let me = arch::percpu::this().apic_id.load(Ordering::Relaxed);
    arch::apic::send_ipi(me, ALLOC_VECTOR);
    let deadline = arch::nanotime() + 1_000_000_000;
    while arch::nanotime() < deadline {
        core::hint::spin_loop();
    }
    println!("irqalloc: the handler allocated and nothing noticed");
    false
}

/// `test=heapgrow` (the test gives the guest 2 GiB): the heap grows past
/// 1 GiB (4 MiB blocks, each made on a goroutine of its own at a depth of its own, and a million small objects, each touched), then
/// everything is dropped and `free_os_memory` gives the frames back: the
/// free frames, measured in the frame allocator, come back to within the
/// page tables that stay. `read_mem_stats` follows along.
pub fn heapgrow() -> bool {
    const BIG: usize = 280;
    const BIG_BYTES: usize = 4 << 20; // the heap's growth step: each grows it
    const SMALL: usize = 1_000_000;
    let frames0 = arch::memory::free_frames();
    let s0 = runtime::heap::read_mem_stats();
    // Each big block on a goroutine of its own, at a stack depth of its
    // own: every block grows the heap (maps frames under the page-table
    // lock) from a stack that has not grown yet, its pointer somewhere else
    // in the page each time (`memory::prefault_own_stack`).
    let made = Chan::<(usize, Box<[u8]>)>::new(0);
    for i in 0..BIG {
        let made = made.clone();
        sched::go(move || {
            let mut b = None;
            at_depth(i % 64, &mut || b = Some(alloc::vec![0u8; BIG_BYTES].into_boxed_slice()));
            let mut b = b.expect("at_depth calls it");
            for byte in b.iter_mut().step_by(4096) {
                *byte = i as u8;
            }
            made.send((i, b));
        });
    }
    let mut big: Vec<Option<Box<[u8]>>> = (0..BIG).map(|_| None).collect();
    for _ in 0..BIG {
        let (i, b) = made.recv().expect("the channel stays open");
        big[i] = Some(b);
    }
    let big: Vec<Box<[u8]>> = big.into_iter().map(|b| b.expect("every index came once")).collect();
    let small: Vec<Box<[u64; 4]>> = (0..SMALL as u64).map(|i| Box::new([i; 4])).collect();
    let frames1 = arch::memory::free_frames();
    let s1 = runtime::heap::read_mem_stats();
    let intact = big.iter().enumerate().all(|(i, b)| b.iter().step_by(4096).all(|&x| x == i as u8))
        && small.iter().enumerate().all(|(i, b)| b[3] == i as u64);
    drop(big);
    drop(small);
    gort::runtime::debug::free_os_memory();
    let frames2 = arch::memory::free_frames();
    let s2 = runtime::heap::read_mem_stats();
    let used = frames0 - frames1;
    let kept = frames0.saturating_sub(frames2);
    println!(
        "heapgrow: heap in use {} -> {} -> {} bytes, grown to {} bytes, {} released; \
         {used} frames taken, {} given back, {kept} kept; {} objects live at the peak, intact: {intact}",
        s0.heap_alloc,
        s1.heap_alloc,
        s2.heap_alloc,
        s2.heap_sys,
        s2.heap_released,
        frames2 - frames1,
        s1.heap_objects
    );
    // What stays: the page tables of the heap's region (one per 2 MiB),
    // pages in use before and still, and the dead goroutines' Gs (kept for
    // reuse, as Go keeps them).
    intact
        && s1.heap_sys > 1 << 30
        && kept < used / 100 + 256
        && s2.heap_alloc <= s0.heap_alloc + (64 << 10) + BIG as u64 * 512
}

/// Calls `f` `depth` frames of about 100 bytes below the caller.
#[inline(never)]
fn at_depth(depth: usize, f: &mut dyn FnMut()) {
    let pad = core::hint::black_box([depth as u8; 64]);
    if depth == 0 {
        f();
    } else {
        at_depth(depth - 1, f);
    }
    core::hint::black_box(&pad);
}

/// `test=bgscavenge` (1 GiB guest): 256 MiB of blocks made and dropped
/// without `free_os_memory`; with the scavenger's age shortened to 200 ms,
/// main sleeps and the idle CPUs give the free pages' frames back on their
/// own (measured in the frame allocator). Not before their age: right
/// after the drop, nothing went back. Then the heap is used again (pages
/// backed again on the way) and the blocks hold their bytes.
pub fn bgscavenge() -> bool {
    use runtime::heap::scavenger;
    const BLOCKS: usize = 1024;
    let old_age = scavenger::set_scavenge_age(200_000_000);
    let make = |seed: u8| -> Vec<Box<[u8]>> {
        (0..BLOCKS)
            .map(|i| {
                let mut b = alloc::vec![0u8; 256 << 10].into_boxed_slice();
                b.iter_mut().step_by(4096).for_each(|x| *x = seed ^ i as u8);
                b
            })
            .collect()
    };
    let intact = |blocks: &[Box<[u8]>], seed: u8| {
        blocks.iter().enumerate().all(|(i, b)| b.iter().step_by(4096).all(|&x| x == seed ^ i as u8))
    };
    let frames0 = arch::memory::free_frames();
    let blocks = make(1);
    let frames1 = arch::memory::free_frames();
    let ok1 = intact(&blocks, 1);
    drop(blocks);
    let (frames2, scavenged2) = (arch::memory::free_frames(), scavenger::scavenged_pages());
    runtime::sched::time::sleep(1_500_000_000);
    let (frames3, scavenged3) = (arch::memory::free_frames(), scavenger::scavenged_pages());
    let blocks = make(2);
    let ok2 = intact(&blocks, 2);
    drop(blocks);
    scavenger::set_scavenge_age(old_age);
    let used = frames0.saturating_sub(frames1);
    println!(
        "bgscavenge: {used} frames taken for 256 MiB; {} back right after the drop; {} back after 1.5 s idle ({} heap pages released in the background); blocks intact: {}",
        frames2.saturating_sub(frames1),
        frames3.saturating_sub(frames1),
        scavenged3 - scavenged2,
        ok1 && ok2
    );
    ok1 && ok2 && used >= 65536 && frames2 < frames1 + used / 10 && frames3 >= frames1 + used * 9 / 10
}

/// `test=heapresize` (4 CPUs): goroutines on every P keep objects of a
/// dozen size classes, so the Ps' caches hold spans; `gomaxprocs(1)` takes
/// three Ps away, and their caches hold none afterwards (Go's
/// `mcache.releaseAll` as `procresize` destroys a P). The objects they
/// handed out are then freed from the one P left (remote frees into spans
/// no cache holds) and the heap's object count returns to where it was,
/// but for the dead goroutines' Gs.
pub fn heapresize() -> bool {
    let procs = sched::gomaxprocs(0);
    let objects0 = runtime::heap::read_mem_stats().heap_objects;
    let kept = Chan::<Vec<Box<[u8]>>>::new(64);
    let done = alloc::sync::Arc::new(WaitGroup::new());
    done.add(64);
    for g in 0..64usize {
        let (kept, done) = (kept.clone(), done.clone());
        sched::go(move || {
            let blocks = (0..96).map(|i| alloc::vec![g as u8; 16 << (i % 12)].into_boxed_slice()).collect();
            sched::gosched();
            kept.send(blocks);
            done.done();
        });
    }
    done.wait();
    let before = runtime::heap::cached_spans();
    let holding = before[..procs].iter().filter(|&&n| n > 0).count();
    sched::gomaxprocs(1);
    let after = runtime::heap::cached_spans();
    let dead_hold: usize = after[1..procs].iter().sum();
    let mut intact = true;
    for _ in 0..64 {
        let blocks = kept.recv().expect("the channel stays open");
        intact &= blocks.iter().all(|b| b.iter().all(|&x| x == b[0]));
    }
    drop((kept, done));
    let objects1 = runtime::heap::read_mem_stats().heap_objects;
    sched::gomaxprocs(procs);
    println!(
        "heapresize: {holding} of {procs} Ps' caches held spans ({:?}); after gomaxprocs(1) the dead Ps hold {dead_hold}; objects back to {objects1} (from {objects0}); blocks intact: {intact}",
        &before[..procs]
    );
    // What stays: the 64 dead goroutines' Gs, kept for reuse (as in Go),
    // and the two vectors of counts above.
    holding >= 2 && dead_hold == 0 && intact && objects1 <= objects0 + 64 + 2
}
