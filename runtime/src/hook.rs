//! `Hook<F>`: a function pointer in an atomic, typed.
//!
//! The runtime and the machine layer keep a few functions that are installed
//! at run time and called from elsewhere: the page-fault hook, the interrupt
//! handlers, the netpoll step, sysmon's forced-GC hook, the function a CPU
//! is asked to run. An atomic is needed (another CPU, or an interrupt, reads
//! it), and atomics hold integers, so each site used to store `f as usize`
//! and `transmute` the integer back, trusting itself to name the same type
//! at both ends. `Hook<F>` does the round trip in one place: `set` takes an
//! `F` and `get` returns an `F`, so the type cannot differ between them.
//!
//! `F` is a function-pointer type ([`FnPtr`], implemented for the usual
//! arities and for the higher-ranked shapes the machine layer uses, such
//! as `fn(&mut Frame)`): never null, one word, no padding, so its bits go
//! through an `AtomicPtr<()>` and come back as the same `F`. Null means
//! "none installed". Release on `set`, Acquire on `get`: whatever the
//! installer wrote before installing is visible to the caller.
use core::marker::PhantomData;
use core::sync::atomic::{AtomicPtr, Ordering};

/// A function-pointer type.
///
/// # Safety
/// Implement only for `fn` pointer types (any ABI, arguments, lifetimes).
pub unsafe trait FnPtr: Copy + 'static {}

// SAFETY: each is a function-pointer type.
unsafe impl<R: 'static> FnPtr for fn() -> R {}
// SAFETY: as above.
unsafe impl<A: 'static, R: 'static> FnPtr for fn(A) -> R {}
// SAFETY: as above.
unsafe impl<A: 'static, B: 'static, R: 'static> FnPtr for fn(A, B) -> R {}
// SAFETY: as above.
unsafe impl<A: 'static, B: 'static, C: 'static, R: 'static> FnPtr for fn(A, B, C) -> R {}
// SAFETY: as above.
unsafe impl<R: 'static> FnPtr for extern "C" fn() -> R {}
// A higher-ranked one, whose argument is borrowed for the call only (an
// interrupt handler's frame). It is a distinct type from the instances of
// `fn(A) -> R` above; rustc still warns that it once treated them as
// overlapping (rust-lang/rust#56105), and accepts it.
// SAFETY: as above.
#[allow(coherence_leak_check)]
unsafe impl<T: 'static> FnPtr for for<'a> fn(&'a mut T) {}

/// An optional `F`, installed and read atomically.
pub struct Hook<F: FnPtr> {
    ptr: AtomicPtr<()>,
    _f: PhantomData<F>,
}

impl<F: FnPtr> Hook<F> {
    const WORD: () = assert!(core::mem::size_of::<F>() == core::mem::size_of::<*mut ()>());

    /// No function installed.
    pub const fn new() -> Hook<F> {
        let () = Self::WORD;
        Hook { ptr: AtomicPtr::new(core::ptr::null_mut()), _f: PhantomData }
    }

    /// Installs `f` (or removes the function, with `None`).
    pub fn set(&self, f: Option<F>) {
        let p = match f {
            // SAFETY: `F` is a one-word function pointer (`FnPtr`, `WORD`):
            // all its bytes are initialised, and a fn pointer is never null.
            Some(f) => unsafe { core::mem::transmute_copy::<F, *mut ()>(&f) },
            None => core::ptr::null_mut(),
        };
        self.ptr.store(p, Ordering::Release);
    }

    /// The installed function, if any.
    #[inline]
    pub fn get(&self) -> Option<F> {
        let p = self.ptr.load(Ordering::Acquire);
        // SAFETY: a non-null value was stored by `set` from an `F`: these are
        // its bits, turned back into the same type.
        (!p.is_null()).then(|| unsafe { core::mem::transmute_copy::<*mut (), F>(&p) })
    }
}

impl<F: FnPtr> Default for Hook<F> {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn double(x: usize) -> usize {
        2 * x
    }

    struct Frame(u32);
    type OnFrame = fn(&mut Frame);

    #[test]
    fn set_get_and_remove() {
        static H: Hook<fn(usize) -> usize> = Hook::new();
        assert!(H.get().is_none());
        H.set(Some(double));
        assert_eq!(H.get().map(|f| f(21)), Some(42));
        H.set(None);
        assert!(H.get().is_none());

        let frames: Hook<OnFrame> = Hook::default();
        frames.set(Some(|f: &mut Frame| f.0 += 1));
        let mut frame = Frame(1);
        frames.get().unwrap()(&mut frame);
        assert_eq!(frame.0, 2);
    }
}
