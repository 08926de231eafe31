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

pub use crate::kernel::runtime::heap::{BySize, MemStats};

/// Go's `runtime.ReadMemStats`: the heap's figures, exact (the world is
/// stopped while they are summed).
///
/// ```ignore
/// let before = gort::runtime::read_mem_stats();
/// let v = vec![0u8; 1 << 20];
/// assert!(gort::runtime::read_mem_stats().heap_alloc >= before.heap_alloc + (1 << 20));
/// ```
pub fn read_mem_stats() -> MemStats {
    crate::kernel::runtime::heap::read_mem_stats()
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
