//! The heap: Go's size-class allocator (malloc.go, mheap.go, mcentral.go,
//! mcache.go, sizeclasses.go, mpagealloc.go), the kernel's global
//! allocator (issue 13).
//!
//! Go's design, which this module follows: a small object (up to 32 KiB)
//! is rounded up to one of 67 size classes; each class is served from
//! spans (runs of 8 KiB pages) cut into equal objects; a P's `mcache`
//! holds one span per span class and allocates from it without a lock;
//! an `mcentral` per span class hands out spans with free objects; the
//! `mheap` makes spans from pages and gives large objects their own. Span
//! classes split each size class in two, `scan` and `noscan`, so the
//! collector (issue 14) never looks inside objects without pointers.
//!
//! Where gort differs from Go: Rust frees explicitly, possibly on another
//! P than the one that allocated (a value sent over a channel and dropped
//! by the receiver), and asks for alignments Go never does
//! ([`sizeclass::class_for`]).
//!
//! What is here today:
//! - [`sizeclass`]: the size-class table, the lookups from a size (and an
//!   alignment) to its class, span classes, and the division by
//!   multiplication that finds an object from an address inside a span;
//! - [`pages`]: the page allocator, a bitmap with Go's summaries (free
//!   prefix, longest run, free suffix) in a tree over it: the lowest run of
//!   `n` free pages at a cost that does not grow with the heap;
//! - [`remote`]: the list another CPU frees a span's objects to without a
//!   lock (mimalloc's thread-free list), model-checked with loom;
//! - [`span`]: a span's objects, its owner's free list and the remote list,
//!   with what an owner may do and what any CPU may;
//! - [`mheap`]: spans and large objects made from the page allocator over
//!   one region, spans named by their first page, the map from any address
//!   to its span or large object, and growth through the machine's backing;
//! - [`mcentral`]: per span class, the spans with a free object that no
//!   cache holds; full spans are parked on no list until a free unparks them;
//! - [`mcache`]: per P, one span per span class, and the fast paths: an
//!   allocation pops the span's free list, a free goes to the local list
//!   or, for a span this cache does not hold, to the span's remote list;
//! - `malloc.rs`: the heap as a whole ([`Heap`]), `mcache0` for Ms without
//!   a P, the entry points the global allocator calls ([`malloc`],
//!   [`free`]), out of memory as a fatal error, and the statistics
//!   ([`read_mem_stats`]).
//!
//! `free_os_memory` flushes every cache, gives empty spans back and the
//! memory of every free page to the machine. Not yet: a background
//! scavenger for pages long free (Go's `bgscavenge`).
#[cfg(all(any(test, feature = "sched"), not(loom)))]
mod malloc;
#[cfg(all(any(test, feature = "sched"), not(loom)))]
pub mod mcache;
#[cfg(all(any(test, feature = "sched"), not(loom)))]
pub mod mcentral;
#[cfg(all(any(test, feature = "sched"), not(loom)))]
pub mod mheap;
pub mod pages;
pub mod remote;
#[cfg(all(any(test, feature = "sched"), not(loom)))]
pub mod scavenger;
pub mod sizeclass;
pub mod span;
#[cfg(test)]
mod test_rng;

#[cfg(all(any(test, feature = "sched"), not(loom)))]
pub use malloc::{cached_spans, free, get, init, malloc, read_mem_stats, BySize, Heap, MemStats};
#[cfg(all(any(test, feature = "sched"), not(loom)))]
pub(crate) use malloc::{flush_all_stopped, flush_p, scavenge};
