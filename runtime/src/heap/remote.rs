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
//! Model-checked with loom (`loom_remote_*`: two freeing threads against an
//! owner taking in between; every object taken exactly once, and the owner
//! reads what each freeing thread wrote into an object before freeing it;
//! watched to fail with a push that stores instead of CASing, and with a
//! Relaxed push), and stressed on the host with real threads.
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

    /// Frees the object at `obj` to the list.
    ///
    /// # Safety
    /// `obj` must be a free object of this list's span: at least a word,
    /// aligned for a pointer, owned by the caller and in no list, and not
    /// touched by the caller again.
    pub unsafe fn push(&self, obj: *mut Link) {
        let mut head = self.head.load(Ordering::Relaxed);
        loop {
            // SAFETY: the object is ours until the CAS below publishes it.
            unsafe { Link::set_next(obj, head as *mut Link) };
            match self.head.compare_exchange_weak(head, obj as usize, Ordering::Release, Ordering::Relaxed) {
                Ok(_) => return,
                Err(seen) => head = seen,
            }
        }
    }

    /// Takes every object freed so far, newest first (walk it with
    /// [`Link::next`]); null if none. The span's owner only.
    pub fn take_all(&self) -> *mut Link {
        self.head.swap(0, Ordering::Acquire) as *mut Link
    }

    /// True if nothing was freed since the last [`take_all`](Self::take_all)
    /// (a hint: a free may land right after).
    pub fn is_empty(&self) -> bool {
        self.head.load(Ordering::Relaxed) == 0
    }
}

// SAFETY: the list holds addresses of objects handed over with their
// ownership; all access to the head is atomic.
unsafe impl Send for RemoteFree {}
// SAFETY: as above.
unsafe impl Sync for RemoteFree {}

#[cfg(test)]
mod tests;
