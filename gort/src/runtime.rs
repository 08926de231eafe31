//! Go's `runtime` package: the scheduler's knobs and counters.
//!
//! ```ignore
//! gort::println!("{} CPUs, GOMAXPROCS {}", gort::runtime::num_cpu(), gort::runtime::gomaxprocs(0));
//! ```
use crate::kernel::runtime::sched;

/// Go's `runtime.GOMAXPROCS(n)`: sets the number of Ps (goroutines running
/// at once) to `n` if `n > 0`, and returns the previous setting. Values above
/// the CPU count are clamped.
///
/// ```ignore
/// let prev = gort::runtime::gomaxprocs(1); // one goroutine at a time
/// gort::runtime::gomaxprocs(prev);
/// ```
pub fn gomaxprocs(n: usize) -> usize {
    sched::gomaxprocs(n)
}

/// Go's `runtime.NumCPU()`: the CPUs the machine brought online.
///
/// ```ignore
/// assert!(gort::runtime::num_cpu() >= 1);
/// ```
pub fn num_cpu() -> usize {
    sched::num_cpu()
}

/// Go's `runtime.NumGoroutine()`: goroutines that exist now (main included).
///
/// ```ignore
/// gort::println!("{} goroutines", gort::runtime::num_goroutine());
/// ```
pub fn num_goroutine() -> usize {
    sched::num_goroutine()
}

/// Go's `runtime.Gosched()`: yields the CPU; the goroutine stays runnable and
/// runs again later.
///
/// ```ignore
/// while !ready() {
///     gort::runtime::gosched();
/// }
/// ```
pub fn gosched() {
    sched::gosched()
}

/// Go's `runtime.Goexit()`: ends the calling goroutine. Called from the main
/// goroutine, the program goes on until the other goroutines are done or
/// deadlocked, as in Go.
///
/// ```ignore
/// gort::go(|| {
///     gort::runtime::goexit();
/// });
/// ```
pub fn goexit() -> ! {
    sched::goexit()
}

/// Go's `runtime.LockOSThread()`: the goroutine runs only on this CPU, and
/// nothing else runs there, until as many [`unlock_os_thread`] calls.
///
/// ```ignore
/// gort::runtime::lock_os_thread();
/// // per-CPU state stays this goroutine's
/// gort::runtime::unlock_os_thread();
/// ```
pub fn lock_os_thread() {
    sched::lock_os_thread()
}

/// Go's `runtime.UnlockOSThread()`: undoes one [`lock_os_thread`].
///
/// ```ignore
/// gort::runtime::unlock_os_thread();
/// ```
pub fn unlock_os_thread() {
    sched::unlock_os_thread()
}

/// Go's `runtime.MemStats`: the fields that have a meaning in gort (no
/// collector yet: the `GC*` and pause fields are left out). Bytes unless
/// named otherwise.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemStats {
    /// Bytes of live heap objects.
    pub heap_alloc: u64,
    /// Bytes allocated over the program's life (never decreases).
    pub total_alloc: u64,
    /// Bytes of address space the heap has grown into (backed by memory,
    /// or released and backed again when used).
    pub heap_sys: u64,
    /// Bytes of the heap in no span (free pages, backed or released).
    pub heap_idle: u64,
    /// Bytes in spans and large objects.
    pub heap_inuse: u64,
    /// Bytes of free pages given back to the machine.
    pub heap_released: u64,
    /// Live heap objects.
    pub heap_objects: u64,
    /// Heap objects allocated over the program's life.
    pub mallocs: u64,
    /// Heap objects freed over the program's life.
    pub frees: u64,
    /// Bytes of address space obtained for the heap, as Go's `Sys` (the
    /// heap's part of it: goroutine stacks are not counted here).
    pub sys: u64,
    /// Per size class: (object size, mallocs, frees), Go's `BySize`.
    pub by_size: [(u32, u64, u64); 68],
}

/// Go's `runtime.ReadMemStats`: the heap's figures, exact (the world is
/// stopped while they are summed).
///
/// ```ignore
/// let before = gort::runtime::read_mem_stats();
/// let v = vec![0u8; 1 << 20];
/// assert!(gort::runtime::read_mem_stats().heap_alloc >= before.heap_alloc + (1 << 20));
/// ```
pub fn read_mem_stats() -> MemStats {
    let h = crate::kernel::runtime::heap::read_mem_stats();
    let mut by_size = [(0u32, 0u64, 0u64); 68];
    for (out, s) in by_size.iter_mut().zip(h.by_size.iter()) {
        *out = (s.size as u32, s.mallocs, s.frees);
    }
    MemStats {
        heap_alloc: h.heap_alloc,
        total_alloc: h.total_alloc,
        heap_sys: h.heap_sys,
        heap_idle: h.heap_idle,
        heap_inuse: h.heap_inuse,
        heap_released: h.heap_released,
        heap_objects: h.heap_objects,
        mallocs: h.mallocs,
        frees: h.frees,
        sys: h.heap_sys,
        by_size,
    }
}

pub mod debug {
    //! Go's `runtime/debug`.

    /// Go's `debug.FreeOSMemory()`: returns to the machine the memory the
    /// runtime can give back now: the stack pages of parked goroutines (their
    /// used bytes move into exactly-sized buffers; a goroutine faults its page
    /// back in when it resumes) and the heap's free pages (every P's cache
    /// gives its spans back first).
    ///
    /// ```ignore
    /// gort::runtime::debug::free_os_memory();
    /// ```
    pub fn free_os_memory() {
        crate::kernel::runtime::sched::free_os_memory();
    }
}
