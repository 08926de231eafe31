//! Channels: Go's `chan T` (chan.go), with `select!` in [`select`].
//!
//! ## The shape
//! [`Chan<T>`] is a cloneable handle, like Go's `chan T` value: clones refer
//! to one channel, and [`Chan::nil`] is the nil channel. Under it sits a
//! type-erased [`HChan`] (Go's `hchan`): a lock, a ring buffer of `cap`
//! elements, and two queues of waiting goroutines ([`WaitQ`] of [`Sudog`]s).
//! Values move as bytes (`elemsize` of them, Go's `typedmemmove`): every Rust
//! move is a copy of bytes, and the handle's type keeps them a `T`. Erasing
//! the type is what lets one `select` mix channels of different element types.
//!
//! ## Send (Go's `chansend`), receive (`chanrecv`), close (`closechan`)
//! 1. A non-blocking operation that cannot proceed fails without the lock:
//!    two racy reads (`closed`, then full/empty) imply a moment at which it
//!    could not proceed (Go's argument, kept in `chansend`'s comments).
//! 2. Under the lock, a send to a closed channel panics
//!    (`send on closed channel`).
//! 3. A waiting partner is served directly: a sender copies its value into
//!    the receiver's slot on the receiver's stack (no trip through the
//!    buffer); a receiver of a full buffered channel takes the head of the
//!    buffer and moves the first waiting sender's value into the freed slot.
//!    The partner's sudog gets `success`, its G `param`, and then `goready`
//!    after the lock is released: the woken G runs next on this P.
//! 4. Otherwise the buffer, if it has room (send) or values (receive).
//! 5. Otherwise, if blocking, the G enqueues a sudog from its own frame
//!    ([`crate::sched::sudog`]: our stacks never move) and parks; the lock is
//!    released by `gopark`'s unlock function, on the scheduler stack, after
//!    the G is `Waiting` with its context saved, so a partner that finds the
//!    sudog can ready the G at once. The partner does the whole operation;
//!    the G only reads `success` when it runs again.
//! 6. `close` marks the channel closed and wakes every waiter with
//!    `success = false`: receivers return "closed" (Go's zero value, `ok ==
//!    false`, here `None`), senders panic. A receive on a closed channel
//!    still drains buffered values first.
//!
//! ## Invariants (Go's, checked in debug builds by [`HChan::check`])
//! - At least one of `sendq` and `recvq` is empty, except for an unbuffered
//!   channel on which one goroutine's select both sends and receives.
//! - Buffered: `qcount > 0` implies `recvq` is empty, and `qcount < cap`
//!   implies `sendq` is empty.
//! - `qcount <= cap`; `sendx == (recvx + qcount) % cap`.
//! - All fields but the immutable ones are written under `lock`; `qcount`,
//!   `closed` and the queues' heads are atomics so that step 1 may read them
//!   without it. A closed channel never reopens.
//!
//! ## The memory model
//! Every exchange happens under the channel's lock, and a parked G is resumed
//! through the run queues' release/acquire handoff, so: a send happens before
//! the matching receive completes; a receive from an unbuffered channel
//! happens before the matching send completes (the sender parks until the
//! receiver's copy is done); `close` happens before a receive that returns
//! "closed"; the k-th receive on a channel of capacity C happens before the
//! (k+C)-th send completes (that send needs the slot the receive freed).
//!
//! ## Where we differ from Go
//! - Sudogs live on the waiting goroutine's stack, not in a per-P cache.
//! - A goroutine panic ends the program (no `recover`); the messages are Go's.
//! - Received values come back as `Option<T>` (`None`: closed) instead of a
//!   zero value and an `ok` flag; an unsent select value is dropped.
use alloc::alloc::{alloc, dealloc, Layout};
use alloc::sync::Arc;
use core::marker::PhantomData;
use core::mem::{ManuallyDrop, MaybeUninit};
use core::ptr::{self, NonNull};
use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use crate::sched::g::{GQueue, WaitReason};
use crate::sched::lock::{GLock, LockGuard};
use crate::sched::lockrank::LockRank;
use crate::sched::proc::{curg, gopark, goready};
use crate::sched::sudog::{Sudog, WaitQ};

pub mod select;
#[cfg(test)]
mod tests;

pub use select::{selectgo, Case, RecvSlot, SendSlot};

/// The type-erased channel (Go's `hchan`).
pub struct HChan {
    /// Never taken by an interrupt handler: a [`GLock`].
    lock: GLock<()>,
    /// Values in the buffer (written under `lock`; read racily by step 1).
    qcount: AtomicUsize,
    /// Next slot to send into / receive from (under `lock`).
    sendx: AtomicUsize,
    recvx: AtomicUsize,
    closed: AtomicBool,
    pub(crate) recvq: WaitQ,
    pub(crate) sendq: WaitQ,
    /// Buffer capacity (Go's `dataqsiz`), immutable.
    dataqsiz: usize,
    elemsize: usize,
    buf: NonNull<u8>,
    layout: Layout,
    drop_elem: Option<unsafe fn(*mut u8)>,
    /// Fed by a timer ([`crate::time`]): `len` and `cap` report 0, as Go's
    /// timer channels present themselves as unbuffered.
    pub(crate) is_timer: bool,
}

// SAFETY: the buffer and the queues are touched only under `lock`, and the
// values in it are `Send` (the only constructor is `Chan<T: Send>`'s).
unsafe impl Send for HChan {}
// SAFETY: as above.
unsafe impl Sync for HChan {}

unsafe fn drop_as<T>(p: *mut u8) {
    // SAFETY: the channel stores only `T`s, and calls this on initialized slots.
    unsafe { ptr::drop_in_place(p as *mut T) }
}

impl HChan {
    fn new<T>(cap: usize, is_timer: bool) -> HChan {
        let layout = Layout::array::<T>(cap).unwrap_or_else(|_| panic!("makechan: size out of range"));
        let buf = if layout.size() == 0 {
            // Zero-sized elements or no buffer: nothing to allocate (Go
            // points `buf` at the hchan itself).
            NonNull::<T>::dangling().cast()
        } else {
            // SAFETY: the layout has a non-zero size.
            NonNull::new(unsafe { alloc(layout) }).unwrap_or_else(|| panic!("makechan: out of memory"))
        };
        HChan {
            lock: GLock::new(LockRank::Hchan, ()),
            qcount: AtomicUsize::new(0),
            sendx: AtomicUsize::new(0),
            recvx: AtomicUsize::new(0),
            closed: AtomicBool::new(false),
            recvq: WaitQ::new(),
            sendq: WaitQ::new(),
            dataqsiz: cap,
            elemsize: core::mem::size_of::<T>(),
            buf,
            layout,
            drop_elem: core::mem::needs_drop::<T>().then_some(drop_as::<T> as unsafe fn(*mut u8)),
            is_timer,
        }
    }

    /// Go's `full`: a send would block (racy without the lock).
    #[inline]
    fn full(&self) -> bool {
        if self.dataqsiz == 0 {
            return self.recvq.is_empty();
        }
        self.qcount.load(Ordering::SeqCst) == self.dataqsiz
    }

    /// Go's `empty`: a receive would block (racy without the lock).
    #[inline]
    fn empty(&self) -> bool {
        if self.dataqsiz == 0 {
            return self.sendq.is_empty();
        }
        self.qcount.load(Ordering::SeqCst) == 0
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::SeqCst)
    }

    /// Moves one element's bytes from `src` to `dst` (Go's `typedmemmove`).
    /// Word-sized and smaller elements, the common case, are copied inline:
    /// a `memcpy` call for eight bytes costs more than the copy.
    ///
    /// # Safety
    /// Both point to `elemsize` valid bytes, not overlapping.
    #[inline]
    unsafe fn copy(&self, src: *const u8, dst: *mut u8) {
        // SAFETY: per the contract (unaligned accesses: an 8-byte element
        // may be only byte-aligned).
        unsafe {
            match self.elemsize {
                0 => {}
                1 => *dst = *src,
                2 => ptr::write_unaligned(dst as *mut u16, ptr::read_unaligned(src as *const u16)),
                4 => ptr::write_unaligned(dst as *mut u32, ptr::read_unaligned(src as *const u32)),
                8 => ptr::write_unaligned(dst as *mut u64, ptr::read_unaligned(src as *const u64)),
                n => ptr::copy_nonoverlapping(src, dst, n),
            }
        }
    }

    /// Address of buffer slot `i` (Go's `chanbuf`).
    #[inline]
    fn slot(&self, i: usize) -> *mut u8 {
        // SAFETY: `i < dataqsiz`, inside the buffer's allocation (or zero bytes).
        unsafe { self.buf.as_ptr().add(i * self.elemsize) }
    }

    pub(crate) fn lock(&self) -> LockGuard<'_, (), false> {
        self.lock.lock()
    }

    pub(crate) fn lock_raw(&self) -> bool {
        self.lock.lock_raw()
    }

    /// # Safety
    /// This M holds another channel's lock (see `Lock::lock_raw_nested`).
    pub(crate) unsafe fn lock_raw_nested(&self) {
        // SAFETY: forwarded.
        unsafe { self.lock.lock_raw_nested() }
    }

    /// # Safety
    /// As for `Lock::unlock_raw`.
    pub(crate) unsafe fn unlock_raw(&self, irq: bool) {
        // SAFETY: forwarded.
        unsafe { self.lock.unlock_raw(irq) }
    }

    /// Appends the value at `ep` to the buffer (Go's "bufsend"). Lock held, room left.
    pub(crate) unsafe fn buf_put(&self, ep: *const u8) {
        let sendx = self.sendx.load(Ordering::Relaxed);
        // SAFETY: the caller holds the lock and the slot is free; `ep` holds a value.
        unsafe { self.copy(ep, self.slot(sendx)) };
        self.sendx.store(if sendx + 1 == self.dataqsiz { 0 } else { sendx + 1 }, Ordering::Relaxed);
        self.qcount.fetch_add(1, Ordering::Release);
    }

    /// Moves the buffer's head to `ep` (Go's "bufrecv"). Lock held, not empty.
    pub(crate) unsafe fn buf_take(&self, ep: *mut u8) {
        let recvx = self.recvx.load(Ordering::Relaxed);
        // SAFETY: the caller holds the lock and the head slot holds a value.
        unsafe { self.copy(self.slot(recvx), ep) };
        self.recvx.store(if recvx + 1 == self.dataqsiz { 0 } else { recvx + 1 }, Ordering::Relaxed);
        self.qcount.fetch_sub(1, Ordering::Release);
    }

    pub(crate) fn has_room(&self) -> bool {
        self.qcount.load(Ordering::Relaxed) < self.dataqsiz
    }

    pub(crate) fn has_values(&self) -> bool {
        self.qcount.load(Ordering::Relaxed) > 0
    }

    /// Drops every buffered value (Go's `timerchandrain`, for a timer's
    /// `stop`/`reset`; and the channel's own drop).
    ///
    /// # Safety
    /// The lock is held (or the channel is unreachable).
    pub(crate) unsafe fn drain(&self) -> bool {
        let any = self.has_values();
        while self.has_values() {
            let recvx = self.recvx.load(Ordering::Relaxed);
            if let Some(drop_elem) = self.drop_elem {
                // SAFETY: the head slot holds a value; it leaves the buffer here.
                unsafe { drop_elem(self.slot(recvx)) };
            }
            self.recvx.store(if recvx + 1 == self.dataqsiz { 0 } else { recvx + 1 }, Ordering::Relaxed);
            self.qcount.fetch_sub(1, Ordering::Release);
        }
        any
    }

    /// Go's chan.go invariants (debug builds). Lock held.
    pub(crate) fn check(&self) {
        if cfg!(debug_assertions) {
            let (q, n) = (self.qcount.load(Ordering::Relaxed), self.dataqsiz);
            debug_assert!(q <= n, "chan: qcount {q} > cap {n}");
            if n > 0 {
                debug_assert!(q == 0 || self.recvq.is_empty(), "chan: values buffered while receivers wait");
                debug_assert!(q == n || self.sendq.is_empty(), "chan: room in the buffer while senders wait");
                let (s, r) = (self.sendx.load(Ordering::Relaxed), self.recvx.load(Ordering::Relaxed));
                debug_assert_eq!(s, (r + q) % n, "chan: sendx out of step");
            }
        }
    }
}

impl Drop for HChan {
    fn drop(&mut self) {
        // The last handle is gone, so no goroutine waits here; drop what is buffered.
        // SAFETY: `&mut self`: nobody else can reach the channel.
        unsafe { self.drain() };
        if self.layout.size() != 0 {
            // SAFETY: allocated in `new` with this layout.
            unsafe { dealloc(self.buf.as_ptr(), self.layout) };
        }
    }
}

/// Go's `send`: the value at `ep` goes straight into the waiting receiver
/// `sg`'s slot; `unlock` releases the channel lock(s) before the receiver is
/// readied.
///
/// # Safety
/// `c` is locked by the caller, `sg` was just dequeued from its `recvq`, and
/// `ep` holds a value the caller gives up.
pub(crate) unsafe fn send(c: &HChan, sg: *mut Sudog, ep: *const u8, unlock: impl FnOnce()) {
    // SAFETY: per the contract; the receiver's G is parked, its frame alive.
    unsafe {
        if !(*sg).elem.is_null() {
            c.copy(ep, (*sg).elem);
            (*sg).elem = ptr::null_mut();
        }
        wake(sg, true, unlock);
    }
}

/// Go's `recv`: takes a value for `ep` from the waiting sender `sg` (a full
/// buffered channel: from the buffer's head, refilled with the sender's
/// value), then readies the sender.
///
/// # Safety
/// `c` is locked by the caller, `sg` was just dequeued from its `sendq`, and
/// `ep` is a slot for one value.
pub(crate) unsafe fn recv(c: &HChan, sg: *mut Sudog, ep: *mut u8, unlock: impl FnOnce()) {
    // SAFETY: per the contract.
    unsafe {
        if c.dataqsiz == 0 {
            c.copy((*sg).elem, ep);
        } else {
            // The buffer is full: the head goes to us, the sender's value to
            // the tail, which is the same slot.
            let recvx = c.recvx.load(Ordering::Relaxed);
            c.copy(c.slot(recvx), ep);
            c.copy((*sg).elem, c.slot(recvx));
            let next = if recvx + 1 == c.dataqsiz { 0 } else { recvx + 1 };
            c.recvx.store(next, Ordering::Relaxed);
            c.sendx.store(next, Ordering::Relaxed);
        }
        (*sg).elem = ptr::null_mut();
        wake(sg, true, unlock);
    }
}

/// Releases the lock(s), then readies `sg`'s goroutine with the outcome.
///
/// # Safety
/// `sg` was dequeued by the caller, who owns it until the `goready`.
unsafe fn wake(sg: *mut Sudog, success: bool, unlock: impl FnOnce()) {
    // SAFETY: per the contract: dequeued, so nobody else reaches it, and its
    // G cannot run before our `goready`.
    let gp = unsafe { Sudog::g(sg) };
    unlock();
    // SAFETY: as above.
    unsafe { (*sg).success = success };
    gp.param.store(sg as usize, Ordering::Relaxed);
    goready(gp);
}

/// Go's `chansend`: true if the value at `ep` was sent (then it is no longer
/// the caller's), false if `block` is false and it could not be.
///
/// # Safety
/// `ep` holds a value of the channel's element type.
///
/// Aligned so that it never straddles a page (it is under 1 KiB): TCG
/// chains jumps only within a page, and a jump across one is a lookup in
/// the emulator's jump cache, where it may collide. Once it began 256 bytes
/// before a page's end, its fast path crossed the page several times per
/// send, and ChanSync went 480 → 550 ns/op with no change to the channel
/// code. `tests/tests/inlining.rs` checks that it fits its page.
#[rustc_align(1024)]
pub(crate) unsafe fn chansend(c: &HChan, ep: *const u8, block: bool) -> bool {
    // Step 1: after observing that the channel is not closed, we observe that
    // it is not ready for sending. A closed channel cannot go from ready to
    // not ready, so there was a moment when it was open and not ready.
    if !block && !c.is_closed() && c.full() {
        return false;
    }
    let guard = c.lock();
    if c.is_closed() {
        drop(guard);
        panic!("send on closed channel");
    }
    // SAFETY: the lock is held.
    if let Some(sg) = unsafe { c.recvq.dequeue() } {
        // SAFETY: a receiver waits: the value goes to it directly.
        unsafe { send(c, sg, ep, move || drop(guard)) };
        return true;
    }
    if c.has_room() {
        // SAFETY: lock held, room checked.
        unsafe { c.buf_put(ep) };
        c.check();
        return true;
    }
    if !block {
        return false;
    }
    let gp = curg();
    let mut sg = Sudog::new(gp, ep as *mut u8);
    let sgp: *mut Sudog = &mut sg;
    gp.param.store(0, Ordering::Relaxed);
    // SAFETY: lock held; `sg` lives in this frame until we are woken.
    unsafe { c.sendq.enqueue(sgp) };
    gopark(WaitReason::ChanSend, move |_| {
        drop(guard);
        true
    });
    gp.param.store(0, Ordering::Relaxed);
    // SAFETY: our waker is done with the sudog (it readied us after writing it).
    if !unsafe { (*sgp).success } {
        panic!("send on closed channel");
    }
    true
}

/// Go's `chanrecv`: `(selected, received)`. Fills `ep` only if received;
/// `(true, false)` means closed and drained; `(false, _)` would have blocked.
///
/// # Safety
/// `ep` is a slot for one value of the element type.
///
/// Aligned so that it never straddles a page, as [`chansend`] (it is under
/// 2 KiB).
#[rustc_align(2048)]
pub(crate) unsafe fn chanrecv(c: &HChan, ep: *mut u8, block: bool) -> (bool, bool) {
    if !block && c.empty() {
        // Observed not ready; then, if not closed, it was not closed at that
        // moment either (no reopening): would block.
        if !c.is_closed() {
            return (false, false);
        }
        // Closed for good: re-check for values that arrived in between.
        if c.empty() {
            return (true, false);
        }
    }
    let guard = c.lock();
    if c.is_closed() {
        if !c.has_values() {
            return (true, false);
        }
    // SAFETY: the lock is held.
    } else if let Some(sg) = unsafe { c.sendq.dequeue() } {
        // SAFETY: a sender waits (so the buffer, if any, is full).
        unsafe { recv(c, sg, ep, move || drop(guard)) };
        return (true, true);
    }
    if c.has_values() {
        // SAFETY: lock held, a value is there.
        unsafe { c.buf_take(ep) };
        c.check();
        return (true, true);
    }
    if !block {
        return (false, false);
    }
    let gp = curg();
    let mut sg = Sudog::new(gp, ep);
    let sgp: *mut Sudog = &mut sg;
    gp.param.store(0, Ordering::Relaxed);
    // SAFETY: lock held; `sg` lives in this frame until we are woken.
    unsafe { c.recvq.enqueue(sgp) };
    gopark(WaitReason::ChanReceive, move |_| {
        drop(guard);
        true
    });
    gp.param.store(0, Ordering::Relaxed);
    // SAFETY: as in `chansend`.
    (true, unsafe { (*sgp).success })
}

/// Go's `closechan`.
pub(crate) fn closechan(c: &HChan) {
    let guard = c.lock();
    if c.is_closed() {
        drop(guard);
        panic!("close of closed channel");
    }
    c.closed.store(true, Ordering::SeqCst);
    let mut woken = GQueue::new();
    for q in [&c.recvq, &c.sendq] {
        // SAFETY: the lock is held.
        while let Some(sg) = unsafe { q.dequeue() } {
            // SAFETY: dequeued under the lock: ours until readied.
            unsafe {
                (*sg).elem = ptr::null_mut();
                (*sg).success = false;
                let gp = Sudog::g(sg);
                gp.param.store(sg as usize, Ordering::Relaxed);
                woken.push_back(gp);
            }
        }
    }
    drop(guard);
    while let Some(gp) = woken.pop_front() {
        goready(gp);
    }
}

/// Parks the calling goroutine for good (an operation on a nil channel).
pub(crate) fn block_forever(reason: WaitReason) -> ! {
    gopark(reason, |_| true);
    unreachable!("a goroutine blocked on a nil channel was woken")
}

/// A channel of `T` values (Go's `chan T`). Clones are handles to the same
/// channel; [`Chan::nil`] is Go's nil channel.
pub struct Chan<T> {
    c: Option<Arc<HChan>>,
    _t: PhantomData<fn(T) -> T>,
}

// SAFETY: the channel hands `T`s between goroutines, so `T: Send` suffices;
// the handle itself is an `Arc` to a `Sync` channel.
unsafe impl<T: Send> Send for Chan<T> {}
// SAFETY: as above.
unsafe impl<T: Send> Sync for Chan<T> {}

impl<T> Clone for Chan<T> {
    fn clone(&self) -> Self {
        Chan { c: self.c.clone(), _t: PhantomData }
    }
}

impl<T> core::fmt::Debug for Chan<T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match &self.c {
            Some(c) => write!(f, "chan({:p})", Arc::as_ptr(c)),
            None => write!(f, "chan(nil)"),
        }
    }
}

/// Why a `try_recv` returned no value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TryRecvError {
    /// Nothing to receive now (the receive would block).
    Empty,
    /// Closed and drained.
    Closed,
}

impl<T: Send> Chan<T> {
    /// Go's `make(chan T, cap)`: unbuffered if `cap` is 0.
    pub fn new(cap: usize) -> Chan<T> {
        Chan { c: Some(Arc::new(HChan::new::<T>(cap, false))), _t: PhantomData }
    }

    /// A channel whose `len`/`cap` read 0 though it buffers one value: a
    /// timer's channel ([`crate::time`]).
    pub(crate) fn new_timer() -> Chan<T> {
        Chan { c: Some(Arc::new(HChan::new::<T>(1, true))), _t: PhantomData }
    }

    /// Go's nil channel: sends and receives block forever, close panics;
    /// in a select its cases are never chosen.
    pub const fn nil() -> Chan<T> {
        Chan { c: None, _t: PhantomData }
    }

    pub fn is_nil(&self) -> bool {
        self.c.is_none()
    }

    pub(crate) fn hchan(&self) -> Option<&HChan> {
        self.c.as_deref()
    }

    /// Go's `c <- v`: blocks until a receiver takes `v` or the buffer has
    /// room. Panics with `send on closed channel` if the channel is closed.
    pub fn send(&self, v: T) {
        let Some(c) = self.hchan() else { block_forever(WaitReason::ChanSendNilChan) };
        let v = ManuallyDrop::new(v);
        // SAFETY: `v` holds a T; once sent it belongs to the receiver, and
        // ManuallyDrop keeps us from dropping our copy of its bytes.
        unsafe { chansend(c, &*v as *const T as *const u8, true) };
    }

    /// `select { case c <- v: ... default: }`: `Err(v)` if the send would
    /// block. Panics if the channel is closed, as Go's does.
    pub fn try_send(&self, v: T) -> Result<(), T> {
        let Some(c) = self.hchan() else { return Err(v) };
        let v = ManuallyDrop::new(v);
        // SAFETY: as in `send`.
        if unsafe { chansend(c, &*v as *const T as *const u8, false) } {
            Ok(())
        } else {
            Err(ManuallyDrop::into_inner(v))
        }
    }

    /// Go's `v, ok := <-c`: blocks until a value arrives (`Some`) or the
    /// channel is closed and drained (`None`).
    pub fn recv(&self) -> Option<T> {
        let Some(c) = self.hchan() else { block_forever(WaitReason::ChanReceiveNilChan) };
        let mut slot = MaybeUninit::<T>::uninit();
        // SAFETY: `slot` has room for a T; it is initialized iff received.
        match unsafe { chanrecv(c, slot.as_mut_ptr() as *mut u8, true) } {
            // SAFETY: received: the sender's bytes are in the slot.
            (_, true) => Some(unsafe { slot.assume_init() }),
            _ => None,
        }
    }

    /// `select { case v, ok := <-c: ... default: }`.
    pub fn try_recv(&self) -> Result<T, TryRecvError> {
        let Some(c) = self.hchan() else { return Err(TryRecvError::Empty) };
        let mut slot = MaybeUninit::<T>::uninit();
        // SAFETY: as in `recv`.
        match unsafe { chanrecv(c, slot.as_mut_ptr() as *mut u8, false) } {
            // SAFETY: as in `recv`.
            (true, true) => Ok(unsafe { slot.assume_init() }),
            (true, false) => Err(TryRecvError::Closed),
            (false, _) => Err(TryRecvError::Empty),
        }
    }

    /// Go's `close(c)`: panics `close of nil channel` / `close of closed channel`.
    pub fn close(&self) {
        match self.hchan() {
            Some(c) => closechan(c),
            None => panic!("close of nil channel"),
        }
    }

    /// Go's `len(c)`: values buffered (0 for nil and timer channels).
    pub fn len(&self) -> usize {
        self.hchan().filter(|c| !c.is_timer).map_or(0, |c| c.qcount.load(Ordering::Relaxed))
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Go's `cap(c)` (0 for nil and timer channels).
    pub fn cap(&self) -> usize {
        self.hchan().filter(|c| !c.is_timer).map_or(0, |c| c.dataqsiz)
    }

    /// Go's `==` on channels: the same channel (or both nil).
    pub fn same(&self, other: &Chan<T>) -> bool {
        match (&self.c, &other.c) {
            (Some(a), Some(b)) => Arc::ptr_eq(a, b),
            (None, None) => true,
            _ => false,
        }
    }

    /// Go's `for v := range c`: receives until the channel is closed and drained.
    pub fn iter(&self) -> Iter<'_, T> {
        Iter { c: self }
    }
}

/// The iterator of `for v in &c` (Go's `for v := range c`).
pub struct Iter<'a, T> {
    c: &'a Chan<T>,
}

impl<T: Send> Iterator for Iter<'_, T> {
    type Item = T;
    fn next(&mut self) -> Option<T> {
        self.c.recv()
    }
}

impl<'a, T: Send> IntoIterator for &'a Chan<T> {
    type Item = T;
    type IntoIter = Iter<'a, T>;
    fn into_iter(self) -> Iter<'a, T> {
        self.iter()
    }
}
