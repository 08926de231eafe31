//! `select!`: Go's select statement (select.go's `selectgo`).
//!
//! ```ignore
//! select! {
//!     recv(ch) -> v => println!("got {v:?}"),   // v: Option<T>, None if closed
//!     send(out, 42) => println!("sent"),
//!     default => println!("nothing ready"),     // optional: makes it non-blocking
//! }
//! ```
//! Each case's channel and value expressions are evaluated once, in source
//! order, before anything else (Go's rule). A nil channel ([`Chan::nil`])
//! disables its case. Without `default`, the select blocks until a case can
//! proceed; `select! {}` blocks forever.
//!
//! ## `selectgo`, step by step (as in Go)
//! 1. **Poll order**: a uniformly random permutation of the enabled cases
//!    (Go's `cheaprandn` shuffle), so that of several ready cases each is
//!    equally likely to win.
//! 2. **Lock order**: the cases sorted by channel address; every distinct
//!    channel is locked in that order (`sellock`), so two selects over the
//!    same channels cannot deadlock, and a channel named twice is locked once.
//! 3. **Pass 1**: in poll order, the first case that can proceed now does
//!    (a waiting partner, the buffer, or a closed channel), exactly as
//!    `chansend`/`chanrecv` would; the locks are released and it returns.
//! 4. None and `default` present: unlock, return "default".
//! 5. **Pass 2**: enqueue a sudog (in the case itself, on this goroutine's
//!    stack) on every channel, marked `is_select`, and park; the park's unlock
//!    function releases every lock in reverse order.
//! 6. A partner that dequeues one of these sudogs must first win the G's
//!    `select_done` flag (see [`crate::sched::sudog::WaitQ::dequeue`]); it
//!    then completes that case, records the sudog in `g.param` and readies
//!    the G. Losers skip the sudog.
//! 7. **Pass 3**, awake: lock everything again, find the winning case by its
//!    sudog, and unlink every other sudog from its channel (otherwise they
//!    would pile up on quiet channels). A send case woken by a close panics.
//!
//! ## Where we differ from Go
//! The compiler builds Go's `scase` array and the two `uint16` order arrays
//! on the stack; here the `select!` macro does, with a typed slot per case
//! that owns the value to send or receives the value, so that an unsent
//! value is dropped and a received one comes back as `Option<T>`. Go sorts
//! with a heap sort for a constant stack footprint; `sort_unstable` needs no
//! allocation either.
use core::cell::UnsafeCell;
use core::marker::PhantomData;
use core::mem::MaybeUninit;
use core::ptr;
use core::sync::atomic::Ordering;

use super::{recv, send, Chan, HChan};
use crate::sched::g::WaitReason;
use crate::sched::machine;
use crate::sched::proc::{cheaprand, curg, gopark};
use crate::sched::sudog::Sudog;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Dir {
    Send,
    Recv,
}

/// One case of a select (Go's `scase`), borrowing its typed slot.
pub struct Case<'a> {
    /// The channel; null for a nil channel (the case is disabled).
    c: *const HChan,
    dir: Dir,
    /// Send: the value; receive: where the value goes.
    elem: *mut u8,
    /// Set when the case moved a value (sent it, or received one).
    done: *mut bool,
    /// This case's waiter, while the select is parked.
    sg: UnsafeCell<Sudog>,
    _slot: PhantomData<&'a mut ()>,
}

impl Case<'_> {
    fn new(c: *const HChan, dir: Dir, elem: *mut u8, done: *mut bool) -> Self {
        Case { c, dir, elem, done, sg: UnsafeCell::new(Sudog::new(ptr::null(), elem)), _slot: PhantomData }
    }

    fn chan(&self) -> &HChan {
        // SAFETY: only enabled cases (non-null channel) are asked; the slot
        // that made the case borrows the `Chan`, which keeps it alive.
        unsafe { &*self.c }
    }

    fn moved(&self) {
        // SAFETY: `done` points into the slot this case borrows.
        unsafe { *self.done = true };
    }
}

/// A receive case's slot: the value lands here.
pub struct RecvSlot<T> {
    c: *const HChan,
    v: MaybeUninit<T>,
    got: bool,
}

impl<T: Send> RecvSlot<T> {
    #[doc(hidden)]
    pub fn new(ch: &Chan<T>) -> Self {
        RecvSlot { c: ch.hchan().map_or(ptr::null(), |c| c as *const HChan), v: MaybeUninit::uninit(), got: false }
    }

    #[doc(hidden)]
    pub fn case(&mut self) -> Case<'_> {
        Case::new(self.c, Dir::Recv, self.v.as_mut_ptr() as *mut u8, &mut self.got)
    }

    /// The value, if this case received one (`None`: the channel was closed).
    #[doc(hidden)]
    pub fn take(&mut self) -> Option<T> {
        // SAFETY: `got` is set only after a value was copied into `v`.
        core::mem::take(&mut self.got).then(|| unsafe { self.v.assume_init_read() })
    }
}

impl<T> Drop for RecvSlot<T> {
    fn drop(&mut self) {
        if self.got {
            // SAFETY: received but never taken: the value is ours to drop.
            unsafe { self.v.assume_init_drop() };
        }
    }
}

/// A send case's slot: owns the value until it is sent.
pub struct SendSlot<T> {
    c: *const HChan,
    v: MaybeUninit<T>,
    sent: bool,
}

impl<T: Send> SendSlot<T> {
    #[doc(hidden)]
    pub fn new(ch: &Chan<T>, v: T) -> Self {
        SendSlot { c: ch.hchan().map_or(ptr::null(), |c| c as *const HChan), v: MaybeUninit::new(v), sent: false }
    }

    #[doc(hidden)]
    pub fn case(&mut self) -> Case<'_> {
        Case::new(self.c, Dir::Send, self.v.as_mut_ptr() as *mut u8, &mut self.sent)
    }
}

impl<T> Drop for SendSlot<T> {
    fn drop(&mut self) {
        if !self.sent {
            // SAFETY: the value was not sent: it is still ours.
            unsafe { self.v.assume_init_drop() };
        }
    }
}

/// What `selectgo` returns when the `default` case runs.
pub const DEFAULT: usize = usize::MAX;

/// Go's `selectgo`: runs one of `cases` and returns its index and, for a
/// receive, whether a value was received; or [`DEFAULT`] if `block` is false
/// and no case was ready.
pub fn selectgo<const N: usize>(cases: &mut [Case<'_>; N], block: bool) -> (usize, bool) {
    let mut pollorder = [0u16; N];
    let mut lockorder = [0u16; N];
    selectgo_slices(cases, &mut pollorder, &mut lockorder, block)
}

fn selectgo_slices(cases: &mut [Case<'_>], pollorder: &mut [u16], lockorder: &mut [u16], block: bool) -> (usize, bool) {
    assert!(cases.len() <= u16::MAX as usize, "select: too many cases");
    // 1. A random permutation of the enabled cases.
    let mut norder = 0;
    for (i, cas) in cases.iter().enumerate() {
        if cas.c.is_null() {
            continue;
        }
        let j = (cheaprand() as usize) % (norder + 1);
        pollorder[norder] = pollorder[j];
        pollorder[j] = i as u16;
        norder += 1;
    }
    let pollorder = &pollorder[..norder];
    let lockorder = &mut lockorder[..norder];
    // 2. Lock order: by channel address, starting from the poll order so that
    // cases on one channel stay shuffled.
    lockorder.copy_from_slice(pollorder);
    lockorder.sort_unstable_by_key(|&i| cases[i as usize].c as usize);
    let lockorder = &*lockorder;
    let irq = sellock(cases, lockorder);

    // 3. Pass 1: anything ready now?
    for &i in pollorder {
        let i = i as usize;
        let cas = &cases[i];
        let c = cas.chan();
        let unlock = || selunlock(cases, lockorder, irq);
        match cas.dir {
            Dir::Recv => {
                // SAFETY: every channel of the select is locked.
                if let Some(sg) = unsafe { c.sendq.dequeue() } {
                    cas.moved();
                    // SAFETY: a waiting sender; `elem` is this case's slot.
                    unsafe { recv(c, sg, cas.elem, unlock) };
                    return (i, true);
                }
                if c.has_values() {
                    // SAFETY: locked, a value is buffered.
                    unsafe { c.buf_take(cas.elem) };
                    cas.moved();
                    unlock();
                    return (i, true);
                }
                if c.is_closed() {
                    unlock();
                    return (i, false);
                }
            }
            Dir::Send => {
                if c.is_closed() {
                    unlock();
                    panic!("send on closed channel");
                }
                // SAFETY: every channel of the select is locked.
                if let Some(sg) = unsafe { c.recvq.dequeue() } {
                    cas.moved();
                    // SAFETY: a waiting receiver; `elem` holds our value.
                    unsafe { send(c, sg, cas.elem, unlock) };
                    return (i, true);
                }
                if c.has_room() {
                    // SAFETY: locked, room checked; `elem` holds our value.
                    unsafe { c.buf_put(cas.elem) };
                    cas.moved();
                    unlock();
                    return (i, true);
                }
            }
        }
    }
    // 4. Nothing ready.
    if !block {
        selunlock(cases, lockorder, irq);
        return (DEFAULT, false);
    }

    // 5. Pass 2: wait on every channel.
    let gp = curg();
    gp.param.store(0, Ordering::Relaxed);
    for &i in lockorder {
        let cas = &cases[i as usize];
        let sg = cas.sg.get();
        // SAFETY: the sudog is ours and on no queue; the channel is locked.
        unsafe {
            *sg = Sudog::new(gp, cas.elem);
            (*sg).is_select = true;
            match cas.dir {
                Dir::Send => cas.chan().sendq.enqueue(sg),
                Dir::Recv => cas.chan().recvq.enqueue(sg),
            }
        }
    }
    let reason = if cases.is_empty() { WaitReason::SelectNoCases } else { WaitReason::Select };
    gopark(reason, |_| {
        // On the scheduler stack: once the last lock is released the G may
        // run elsewhere and return, so `selunlock` reads each channel before
        // releasing it and nothing after.
        selunlock(cases, lockorder, irq);
        true
    });

    // 7. Pass 3: woken by one case; take the others' sudogs back.
    let irq = sellock(cases, lockorder);
    gp.select_done.store(false, Ordering::Relaxed);
    let fired = gp.param.swap(0, Ordering::Relaxed);
    let mut chosen = None;
    for &i in lockorder {
        let cas = &cases[i as usize];
        let sg = cas.sg.get();
        // SAFETY: every channel is locked; a sudog still queued is on its
        // own case's channel; the fired one was dequeued by our waker.
        unsafe {
            (*sg).is_select = false;
            if sg as usize == fired {
                chosen = Some((i as usize, (*sg).success));
            } else {
                match cas.dir {
                    Dir::Send => cas.chan().sendq.remove(sg),
                    Dir::Recv => cas.chan().recvq.remove(sg),
                }
            }
        }
    }
    selunlock(cases, lockorder, irq);
    let Some((i, success)) = chosen else { machine::throw(format_args!("selectgo: bad wakeup")) };
    if success {
        cases[i].moved();
    }
    if cases[i].dir == Dir::Send && !success {
        panic!("send on closed channel");
    }
    (i, success)
}

/// Locks every distinct channel in lock order (Go's `sellock`); returns the
/// interrupt state from before the first lock, which its release restores.
fn sellock(cases: &[Case<'_>], lockorder: &[u16]) -> bool {
    let Some(&first) = lockorder.first() else {
        return false;
    };
    // The first lock turns interrupts off; the others find them off.
    let irq = cases[first as usize].chan().lock_raw();
    let mut last = cases[first as usize].c;
    for &i in &lockorder[1..] {
        let c = cases[i as usize].c;
        if c != last {
            last = c;
            // SAFETY: interrupts are off: we hold the first channel's lock.
            unsafe { cases[i as usize].chan().lock_raw_nested() };
        }
    }
    irq
}

/// Unlocks in reverse lock order (Go's `selunlock`), the first-locked channel
/// last, restoring `irq` with it (and honouring a preemption refused
/// meanwhile). Reads each channel before releasing the one after it, and
/// touches nothing once the first-locked channel is released.
fn selunlock(cases: &[Case<'_>], lockorder: &[u16], irq: bool) {
    let Some(&first) = lockorder.first() else {
        return;
    };
    let first = cases[first as usize].c;
    for k in (1..lockorder.len()).rev() {
        let c = cases[lockorder[k] as usize].c;
        if c == cases[lockorder[k - 1] as usize].c {
            continue; // released with its first occurrence
        }
        // SAFETY: locked by `sellock` on this M; nested locks saw interrupts off.
        unsafe { (*c).unlock_raw(false) };
    }
    // SAFETY: as above; the first lock holds the caller's interrupt state.
    unsafe { (*first).unlock_raw(irq) };
}

/// Go's `select` statement; see the [module docs](self).
#[macro_export]
macro_rules! select {
    ($($tokens:tt)*) => {
        $crate::__select_parse!(@cases [] @default [] $($tokens)*)
    };
}

/// Parses `select!`'s cases into a normalized list (implementation detail).
#[doc(hidden)]
#[macro_export]
macro_rules! __select_parse {
    (@cases [$($cases:tt)*] @default [$($def:tt)*] recv($c:expr) -> $v:pat => $body:expr $(, $($rest:tt)*)?) => {
        $crate::__select_parse!(@cases [$($cases)* (recv ($c) ($v) ($body))] @default [$($def)*] $($($rest)*)?)
    };
    (@cases [$($cases:tt)*] @default [$($def:tt)*] send($c:expr, $val:expr) => $body:expr $(, $($rest:tt)*)?) => {
        $crate::__select_parse!(@cases [$($cases)* (send ($c) ($val) ($body))] @default [$($def)*] $($($rest)*)?)
    };
    (@cases [$($cases:tt)*] @default [] default => $body:expr $(, $($rest:tt)*)?) => {
        $crate::__select_parse!(@cases [$($cases)*] @default [($body)] $($($rest)*)?)
    };
    (@cases [$($cases:tt)*] @default [$($def:tt)*]) => {
        $crate::__select_build!(@build [] [] (0usize) [$($def)*] $($cases)*)
    };
}

/// Evaluates each case's expressions in order into typed slots, then runs
/// `selectgo` and the chosen body (implementation detail). Each recursion
/// level binds its own hygienic `__slot`, passed on as a token.
#[doc(hidden)]
#[macro_export]
macro_rules! __select_build {
    (@build [$($slots:tt)*] [$($arms:tt)*] ($idx:expr) [$($def:tt)*] (recv ($c:expr) ($v:pat) ($body:expr)) $($rest:tt)*) => {{
        let __chan = &$c;
        let mut __slot = $crate::chan::RecvSlot::new(__chan);
        $crate::__select_build!(@build [$($slots)* __slot] [$($arms)* (recv ($idx) __slot ($v) ($body))] ($idx + 1) [$($def)*] $($rest)*)
    }};
    (@build [$($slots:tt)*] [$($arms:tt)*] ($idx:expr) [$($def:tt)*] (send ($c:expr) ($val:expr) ($body:expr)) $($rest:tt)*) => {{
        let __chan = &$c;
        let mut __slot = $crate::chan::SendSlot::new(__chan, $val);
        $crate::__select_build!(@build [$($slots)* __slot] [$($arms)* (send ($idx) __slot ($body))] ($idx + 1) [$($def)*] $($rest)*)
    }};
    (@build [$($slots:ident)*] [$($arms:tt)*] ($n:expr) [$($def:tt)*]) => {{
        let (__chosen, _) = {
            let mut __cases = [$($slots.case()),*];
            $crate::chan::selectgo(&mut __cases, $crate::__select_blocks!($($def)*))
        };
        $crate::__select_dispatch!(__chosen [$($arms)*] [$($def)*])
    }};
}

#[doc(hidden)]
#[macro_export]
macro_rules! __select_blocks {
    () => {
        true
    };
    ($def:tt) => {
        false
    };
}

/// Runs the chosen case's body (implementation detail).
#[doc(hidden)]
#[macro_export]
macro_rules! __select_dispatch {
    ($i:ident [(recv ($idx:expr) $slot:ident ($v:pat) ($body:expr)) $($rest:tt)*] [$($def:tt)*]) => {
        if $i == $idx {
            let $v = $slot.take();
            $body
        } else {
            $crate::__select_dispatch!($i [$($rest)*] [$($def)*])
        }
    };
    ($i:ident [(send ($idx:expr) $slot:ident ($body:expr)) $($rest:tt)*] [$($def:tt)*]) => {
        if $i == $idx {
            $body
        } else {
            $crate::__select_dispatch!($i [$($rest)*] [$($def)*])
        }
    };
    ($i:ident [] [($def:expr)]) => {
        $def
    };
    ($i:ident [] []) => {
        unreachable!("select: no case chosen")
    };
}
