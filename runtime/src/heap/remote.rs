//! Remote frees: how a CPU gives an object back to a span another CPU
//! allocates from, without a lock (mimalloc's thread-free list).
//!
//! ## Why
//! Go never frees explicitly; Rust does, and on any CPU: a `Box` sent over a
//! channel is dropped by the receiver, on another P than the one whose
//! `mcache` cut it from a span. The owner's free list is owner-only (no
//! atomics on the allocation fast path), so a free from elsewhere must go
//! somewhere else, without a global lock on its fast path (issue 13, item 4).
//!
//! ## The protocol
//! Each span has a [`RemoteFree`]: the address of the last object freed to it
//! from another CPU, each free object's first word linking to the one freed
//! before it (a Treiber stack with no pop).
//! - A freeing CPU writes the current head into the object's link, then
//!   CASes the head from that value to the object (Release); on failure it
//!   relinks to the head it saw and retries. The object is the freeing CPU's
//!   until the CAS succeeds, so nobody else writes its link.
//! - The owner takes the whole list at once: one `swap(0)` (Acquire), then
//!   walks the links at leisure; the objects are its own again.
//! - **Parking** (mimalloc's delayed free): an owner whose span has no free
//!   object gives it up to nobody: it CASes the head from empty to
//!   [`PARKED`] ([`park`](RemoteFree::park)); the span is then in no cache
//!   and on no list, and costs no one anything. If the CAS fails, frees
//!   arrived meanwhile: the span is not full, and the owner keeps it. The
//!   first free to a parked span replaces `PARKED` with its object in the
//!   same CAS, so exactly one freeing CPU learns that it unparked the span
//!   ([`push`](RemoteFree::push) returns true) and hands it to its
//!   `mcentral`, where an owner will find it. Objects are at least
//!   pointer-aligned, so the flag's bit is never part of an address.
//!
//! ## Invariants, and why they hold
//! - **Every pushed object is taken exactly once.** A push succeeds at one
//!   head value, and the next successful push or swap replaces exactly that
//!   value; the swap returns the chain as it stood, and nothing pops single
//!   nodes, so there is no ABA: an object can be pushed again only after the
//!   owner took it and allocated it again.
//! - **The owner reads every link written before its push.** Every push is a
//!   Release read-modify-write of the head, so the pushes form one release
//!   sequence; the owner's Acquire swap reads the last of them and so
//!   synchronises with all.
//!
//! - **A parked span is unparked exactly once, with everything freed to
//!   it.** `PARKED` is stored only over an empty list, by the owner, and
//!   cleared only by a push, which makes it an ordinary list; the push that
//!   clears it is the one whose CAS saw it.
//! - **Whoever owns the span next sees the last owner's writes.** `park` is
//!   a Release CAS; a push that reads `PARKED` does so with Acquire, and
//!   hands the span on under a lock.
//!
//! Model-checked with loom (`loom_remote_*`: two freeing threads against an
//! owner taking in between; every object taken exactly once, and the owner
//! reads what each freeing thread wrote into an object before freeing it;
//! watched to fail with a push that stores instead of CASing, and with a
//! Relaxed push; `loom_remote_park_*`: a parked span and two freeing
//! threads, exactly one of which unparks it, watched to fail with a push
//! that keeps the flag), and stressed on the host with real threads.
//!
//! ## What this costs across CPUs, and what was not done
//! A remote free writes its link into the object, so the object's cache
//! line goes to the freeing CPU, and back when the owner collects; Go's
//! collector never touches a dead object. Measured with `MallocParallel`
//! (an object allocated on one goroutine, freed on another) at 2 vCPUs on a
//! 2-core host whose cores hand a line over in 33–164 ns (a C ping-pong,
//! 2026-12-06): an op costs about twice the CPU time it costs at 1 vCPU,
//! and the 64-byte row (one object per line) only ~10 ns more than the
//! 8-byte one (eight), so the object's line is not most of it; the batch
//! the two goroutines pass (as in Go), the CAS the emulator runs as a
//! helper call once two vCPUs exist, and the lines of the span records are
//! the rest (records on lines of their own, `span.rs`, took 72 → 57 ns/op).
//! A bitmap of remote frees in the span record (the freeing CPU sets a bit
//! and never touches the object) would need a second atomic to learn
//! whether the span was parked, and between the two the owner may collect
//! the bit, find the span empty and free its record: the head here
//! publishes the object and reads the parked flag in one CAS, which is why
//! it stays a list.
#[cfg(not(loom))]
use core::sync::atomic::{AtomicUsize, Ordering};
#[cfg(loom)]
use loom::sync::atomic::{AtomicUsize, Ordering};

/// The first word of a free object: the next object of its list, or null.
#[repr(C)]
pub struct Link {
    next: *mut Link,
}

impl Link {
    /// The object freed before this one, or null.
    ///
    /// # Safety
    /// `this` must be an object taken from a [`RemoteFree`] (or otherwise
    /// owned by the caller, with its link written).
    pub unsafe fn next(this: *mut Link) -> *mut Link {
        // SAFETY: the caller owns the object and its link was written
        // before it was published (see the module essay).
        unsafe { (*this).next }
    }

    /// Makes `next` follow `this`.
    ///
    /// # Safety
    /// `this` must be a free object owned by the caller: at least a word,
    /// aligned for a pointer, in no list another CPU can reach.
    pub unsafe fn set_next(this: *mut Link, next: *mut Link) {
        // SAFETY: the caller owns the object.
        unsafe { (*this).next = next };
    }
}

/// The head's value while the span is parked: empty, owned by nobody.
pub const PARKED: usize = 1;

/// The list other CPUs free a span's objects to.
pub struct RemoteFree {
    head: AtomicUsize,
}

impl Default for RemoteFree {
    fn default() -> Self {
        RemoteFree::new()
    }
}

impl RemoteFree {
    /// An empty list.
    #[cfg(not(loom))]
    pub const fn new() -> RemoteFree {
        RemoteFree { head: AtomicUsize::new(0) }
    }

    /// An empty list (loom's atomics have no `const fn new`).
    #[cfg(loom)]
    pub fn new() -> RemoteFree {
        RemoteFree { head: AtomicUsize::new(0) }
    }

    /// Frees the object at `obj` to the list. True if the span was parked:
    /// the caller unparked it and must hand it to its `mcentral`.
    ///
    /// # Safety
    /// `obj` must be a free object of this list's span: at least a word,
    /// aligned for a pointer, owned by the caller and in no list, and not
    /// touched by the caller again.
    #[must_use]
    pub unsafe fn push(&self, obj: *mut Link) -> bool {
        debug_assert!(obj as usize & PARKED == 0, "object {obj:p} is not aligned for a link");
        let mut head = self.head.load(Ordering::Relaxed);
        loop {
            let next = if head == PARKED { 0 } else { head };
            // SAFETY: the object is ours until the CAS below publishes it.
            unsafe { Link::set_next(obj, next as *mut Link) };
            match self.head.compare_exchange_weak(head, obj as usize, Ordering::AcqRel, Ordering::Relaxed) {
                Ok(_) => return head == PARKED,
                Err(seen) => head = seen,
            }
        }
    }

    /// Takes every object freed so far, newest first (walk it with
    /// [`Link::next`]); null if none. The span's owner only (a parked span
    /// has none).
    pub fn take_all(&self) -> *mut Link {
        let head = self.head.swap(0, Ordering::Acquire);
        debug_assert!(head != PARKED, "take_all on a parked span");
        head as *mut Link
    }

    /// Gives the span up, full, to whoever frees to it first; false if
    /// something was freed to it already (the caller keeps it and
    /// collects). The span's owner only.
    pub fn park(&self) -> bool {
        self.head.compare_exchange(0, PARKED, Ordering::Release, Ordering::Relaxed).is_ok()
    }

    /// True if nothing was freed since the last [`take_all`](Self::take_all)
    /// (a hint: a free may land right after).
    pub fn is_empty(&self) -> bool {
        let head = self.head.load(Ordering::Relaxed);
        head == 0 || head == PARKED
    }
}

// SAFETY: the list holds addresses of objects handed over with their
// ownership; all access to the head is atomic.
unsafe impl Send for RemoteFree {}
// SAFETY: as above.
unsafe impl Sync for RemoteFree {}

#[cfg(test)]
mod tests;
