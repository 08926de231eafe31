//! The heap: Go's size-class allocator (malloc.go, mheap.go, mcentral.go,
//! mcache.go, sizeclasses.go, mpagealloc.go), being built for issue 13.
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
//!   one region, spans named by their first page, and the map from any
//!   address to its span or large object.
//!
//! `mcentral`, `mcache`, the machine's backing of pages by frames
//! and the global allocator come next; until then the kernel's heap is the boot-time
//! `linked_list_allocator` (README, "Known limits").
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
pub mod sizeclass;
pub mod span;

#[cfg(all(any(test, feature = "sched"), not(loom)))]
pub(crate) use malloc::flush_p;
#[cfg(all(any(test, feature = "sched"), not(loom)))]
pub use malloc::{free, get, init, malloc, read_mem_stats, stats, BySize, Heap, HeapStats};
