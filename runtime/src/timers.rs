//! The per-P timer heap: a 4-ary min-heap of timers ordered by `when`.
//!
//! Each P owns one [`TimerHeap`]. The scheduler asks it for the earliest deadline
//! ([`TimerHeap::earliest`]) to decide how long it may sleep, and for the next due
//! timer ([`TimerHeap::pop_due`]) to run it. Items are usually thin handles
//! (`struct Entry(*mut Timer)`) whose `when()` reads the timer; the heap needs no
//! `Clone` or `Default` from them and only ever moves them.
//!
//! ## Why 4-ary
//! Go's timer heap is 4-ary (`siftupTimer`/`siftdownTimer` in `runtime/time.go`,
//! `timerHeapN = 4` today): node `i` has children `4i+1 ..= 4i+4` and parent
//! `(i-1)/4`. The tree is half as deep as a binary heap, so sift-up (the path of
//! every new timer) does half the work; sift-down compares four children per
//! level, but they sit side by side (usually one cache line), so it touches fewer
//! lines than a binary heap's twice-as-many levels.
//!
//! ## Algorithm
//! 1. **push** (`siftupTimer`): append the item; while its `when` is smaller than
//!    its parent's, swap it with the parent.
//! 2. **pop** (`siftdownTimer`): move the last item into slot 0; while the
//!    earliest of its (up to four) children is earlier, swap it with that child.
//! 3. **remove at index** (`dodeltimer`): move the last item into the hole and
//!    **fix** it; it came from another subtree, so it may belong higher or lower.
//! 4. **fix** (`modtimer`): after the owner changed an item's `when` through
//!    [`TimerHeap::get_mut`], sift it up; if it did not move, sift it down.
//!
//! ## Invariants (between calls)
//! - Heap order: every item's `when` is `<=` its children's, so the root is the
//!   earliest deadline. Ties come out in any order.
//! - Index protocol: every step calls [`HeapItem::set_index`] on each item it moves
//!   or places, so the index an item last heard is its position. The heap says
//!   nothing to an item it removes; the owner marks it "not in a heap".
//! - An item's `when()` changes only between `get_mut` and the `fix` after it.
//! - Not thread-safe, no lock of its own: the P's timer lock, held by the caller,
//!   guards the heap and the `when` fields its items read.
//!
//! ## Where we differ from Go
//! Go 1.14–1.22 delete lazily: `deltimer` marks a timer `timerDeleted` and
//! `cleantimers`/`adjusttimers` sweep it out later; Go 1.23 keeps the idea
//! (`timerZombie`) and caches each `when` in the heap slot (`timerWhen`) so a
//! `Reset` can defer re-sorting. We delete and re-time eagerly by index, as Go
//! did before 1.14 with `timer.i`: O(log n) under the lock, no zombie counts or
//! sweeps, and the root is always a live timer. The price: stopping or resetting
//! a timer takes the P's timer lock, which our scheduler holds anyway.

use alloc::vec::Vec;

/// Children per node (Go's `timerHeapN`).
const ARITY: usize = 4;

/// What the heap stores. The heap tells each item its index whenever it places
/// or moves it, so the owner can delete or re-time it in O(log n).
pub trait HeapItem {
    /// The deadline in nanoseconds on the `nanotime` clock.
    fn when(&self) -> u64;
    /// Records that the item now lives at `index` in the heap.
    fn set_index(&mut self, index: usize);
}

/// A 4-ary min-heap ordered by [`HeapItem::when`], guarded by the owning P's timer lock.
pub struct TimerHeap<T: HeapItem> {
    items: Vec<T>,
}

impl<T: HeapItem> Default for TimerHeap<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: HeapItem> TimerHeap<T> {
    /// An empty heap; allocates nothing until the first push.
    pub const fn new() -> Self {
        TimerHeap { items: Vec::new() }
    }

    /// Number of items in the heap.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// True if the heap holds no items.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Adds `item`, telling it and every item it displaces its index (Go's `doaddtimer`).
    pub fn push(&mut self, item: T) {
        self.items.push(item);
        self.sift_up(self.items.len() - 1);
    }

    /// The item with the earliest `when`, if any.
    pub fn peek(&self) -> Option<&T> {
        self.items.first()
    }

    /// The earliest `when` in the heap (the root's), if any.
    pub fn earliest(&self) -> Option<u64> {
        self.peek().map(HeapItem::when)
    }

    /// Removes and returns the item with the earliest `when` (Go's `dodeltimer0`).
    pub fn pop(&mut self) -> Option<T> {
        (!self.items.is_empty()).then(|| self.remove(0))
    }

    /// Removes and returns the item at `index` (Go's `dodeltimer`). Panics if `index >= len()`.
    #[track_caller]
    pub fn remove(&mut self, index: usize) -> T {
        self.check_index(index, "remove");
        let item = self.items.swap_remove(index);
        if index < self.items.len() {
            self.fix(index);
        }
        item
    }

    /// The item at `index`, to change its `when`; then call [`TimerHeap::fix`] on `index`. Panics if out of range.
    #[track_caller]
    pub fn get_mut(&mut self, index: usize) -> &mut T {
        self.check_index(index, "get_mut");
        &mut self.items[index]
    }

    /// Restores heap order after the `when` of the item at `index` changed (the re-sift in
    /// Go's `modtimer`). Panics if `index >= len()`.
    #[track_caller]
    pub fn fix(&mut self, index: usize) {
        self.check_index(index, "fix");
        if self.sift_up(index) == index {
            self.sift_down(index);
        }
    }

    /// Pops the root iff its `when <= now` (a deadline equal to `now` is due).
    pub fn pop_due(&mut self, now: u64) -> Option<T> {
        self.earliest().filter(|&when| when <= now)?;
        self.pop()
    }

    /// All items, in heap (not sorted) order.
    pub fn iter(&self) -> impl Iterator<Item = &T> {
        self.items.iter()
    }

    #[track_caller]
    fn check_index(&self, index: usize, op: &str) {
        let len = self.items.len();
        assert!(index < len, "TimerHeap::{op}: index {index} out of range (len {len})");
    }

    /// Moves the item at `i` toward the root while it is earlier than its
    /// parent; returns its final index. Mirrors Go's `siftupTimer`.
    fn sift_up(&mut self, mut i: usize) -> usize {
        let when = self.items[i].when();
        while i > 0 && when < self.items[(i - 1) / ARITY].when() {
            let parent = (i - 1) / ARITY;
            self.items.swap(i, parent);
            self.items[i].set_index(i);
            i = parent;
        }
        self.items[i].set_index(i);
        i
    }

    /// Moves the item at `i` toward the leaves while its earliest child is
    /// earlier than it. Mirrors Go's `siftdownTimer`.
    fn sift_down(&mut self, mut i: usize) {
        let when = self.items[i].when();
        while let Some(child) = self.earlier_child(i, when) {
            self.items.swap(i, child);
            self.items[i].set_index(i);
            i = child;
        }
        self.items[i].set_index(i);
    }

    /// The earliest of the (up to four) children of `i`, if it is earlier than `when`.
    fn earlier_child(&self, i: usize, when: u64) -> Option<usize> {
        let first = i * ARITY + 1;
        let (child_when, child) =
            (first..(first + ARITY).min(self.items.len())).map(|c| (self.items[c].when(), c)).min()?;
        (child_when < when).then_some(child)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::{cell::RefCell, rc::Rc};

    const NOT_IN_HEAP: usize = usize::MAX;

    /// A test item: `slots[id]` records the index the heap last gave it.
    struct Item {
        id: usize,
        when: u64,
        slots: Rc<RefCell<Vec<usize>>>,
    }

    impl HeapItem for Item {
        fn when(&self) -> u64 {
            self.when
        }
        fn set_index(&mut self, index: usize) {
            self.slots.borrow_mut()[self.id] = index;
        }
    }

    /// A heap plus the owner's side of the index protocol.
    #[derive(Default)]
    struct Owner {
        heap: TimerHeap<Item>,
        slots: Rc<RefCell<Vec<usize>>>,
    }

    impl Owner {
        fn push(&mut self, when: u64) -> usize {
            let id = self.slots.borrow().len();
            self.slots.borrow_mut().push(NOT_IN_HEAP);
            self.heap.push(Item { id, when, slots: self.slots.clone() });
            self.check();
            id
        }
        fn index_of(&self, id: usize) -> usize {
            let index = self.slots.borrow()[id];
            assert_ne!(index, NOT_IN_HEAP, "item {id} is not in the heap");
            index
        }
        fn taken(&mut self, item: Option<Item>) -> Option<(u64, usize)> {
            let item = item?;
            self.slots.borrow_mut()[item.id] = NOT_IN_HEAP;
            self.check();
            Some((item.when, item.id))
        }
        fn remove(&mut self, id: usize) -> u64 {
            let item = self.heap.remove(self.index_of(id));
            assert_eq!(item.id, id, "index protocol pointed at the wrong item");
            self.taken(Some(item)).unwrap().0
        }
        fn pop_due(&mut self, now: u64) -> Option<(u64, usize)> {
            let item = self.heap.pop_due(now);
            self.taken(item)
        }
        fn retime(&mut self, id: usize, when: u64) {
            let index = self.index_of(id);
            self.heap.get_mut(index).when = when;
            self.heap.fix(index);
            self.check();
        }
        /// Heap order and the index protocol.
        fn check(&self) {
            let items = &self.heap.items;
            let slots = self.slots.borrow();
            for (pos, item) in items.iter().enumerate() {
                assert_eq!(slots[item.id], pos, "item {} records a stale index", item.id);
                if pos > 0 {
                    assert!(items[(pos - 1) / ARITY].when <= item.when, "heap order broken at {pos}");
                }
            }
            assert_eq!(slots.iter().filter(|&&s| s != NOT_IN_HEAP).count(), items.len());
            assert_eq!(self.heap.earliest(), items.iter().map(|i| i.when).min());
        }
        fn drain(&mut self) -> Vec<u64> {
            core::iter::from_fn(|| self.pop_due(u64::MAX)).map(|(when, _)| when).collect()
        }
    }

    #[test]
    fn new_is_const_and_empty() {
        const EMPTY: TimerHeap<Item> = TimerHeap::new();
        assert_eq!((EMPTY.is_empty(), EMPTY.len(), EMPTY.earliest(), EMPTY.peek().is_none()), (true, 0, None, true));
    }

    #[test]
    fn push_pop_yields_nondecreasing_when() {
        let mut o = Owner::default();
        [50, 10, 90, 10, 30, 70, 20, 60, 40, 80, 0, 100].into_iter().for_each(|w| _ = o.push(w));
        assert_eq!(o.heap.len(), 12);
        assert_eq!(o.heap.iter().count(), 12);
        assert_eq!(o.drain(), [0, 10, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100]);
        assert!(o.heap.is_empty());
    }

    #[test]
    fn indices_follow_every_move() {
        let mut o = Owner::default();
        // Descending deadlines: every push sifts the new item all the way to the root.
        let root = (0..100).rev().map(|w| o.push(w)).last().unwrap();
        assert_eq!((o.index_of(root), o.heap.peek().unwrap().id), (0, root));
    }

    #[test]
    fn remove_from_middle_root_and_last() {
        let mut o = Owner::default();
        let ids: Vec<usize> = (0..30).map(|w| o.push(w * 10)).collect();
        assert_eq!(o.remove(ids[17]), 170, "middle");
        assert_eq!(o.index_of(ids[0]), 0);
        assert_eq!(o.remove(ids[0]), 0, "root");
        let (last_when, last) = o.heap.items.last().map(|i| (i.when, i.id)).unwrap();
        assert_eq!(o.remove(last), last_when, "last slot");
        let want: Vec<u64> = (1..30).map(|w| w * 10).filter(|&w| w != 170 && w != last_when).collect();
        assert_eq!(o.drain(), want);
    }

    #[test]
    fn fix_after_lowering_when() {
        let mut o = Owner::default();
        let ids: Vec<usize> = (1..=40).map(|w| o.push(w * 10)).collect();
        o.retime(ids[39], 5);
        assert_eq!((o.heap.earliest(), o.index_of(ids[39])), (Some(5), 0));
        o.retime(ids[20], 15);
        assert_eq!(o.drain()[..3], [5, 10, 15]);
    }

    #[test]
    fn fix_after_raising_when() {
        let mut o = Owner::default();
        let ids: Vec<usize> = (1..=40).map(|w| o.push(w * 10)).collect();
        o.retime(ids[0], 1000);
        assert_eq!(o.heap.earliest(), Some(20));
        o.retime(ids[5], 60); // unchanged `when` is a no-op
        assert_eq!(o.drain(), (2..=40).map(|w| w * 10).chain([1000]).collect::<Vec<u64>>());
    }

    #[test]
    fn pop_due_treats_when_equal_to_now_as_due() {
        let mut o = Owner::default();
        let (a, b) = (o.push(100), o.push(200));
        assert_eq!(o.pop_due(99), None);
        assert_eq!(o.pop_due(100), Some((100, a)));
        assert_eq!(o.pop_due(199), None);
        assert_eq!(o.pop_due(u64::MAX), Some((200, b)));
        assert_eq!(o.pop_due(u64::MAX), None);
    }

    #[test]
    fn out_of_range_index_panics_with_clear_message() {
        type Op = fn(&mut TimerHeap<Item>);
        let ops: [(&str, Op); 3] =
            [("remove", |h| _ = h.remove(1)), ("get_mut", |h| _ = h.get_mut(1)), ("fix", |h| h.fix(1))];
        for (op, f) in ops {
            let mut o = Owner::default();
            o.push(5);
            let err = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(&mut o.heap))).unwrap_err();
            assert_eq!(*err.downcast::<String>().unwrap(), format!("TimerHeap::{op}: index 1 out of range (len 1)"));
        }
    }

    /// ~20,000 mixed operations against a plain Vec of live (when, id) pairs.
    #[test]
    fn random_ops_match_reference_model() {
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let mut rand = move |n: u64| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state % n
        };
        let mut o = Owner::default();
        let mut model: Vec<(u64, usize)> = Vec::new();
        for _ in 0..20_000 {
            let min = model.iter().map(|&(w, _)| w).min();
            let popped = match rand(20) {
                0..=7 => {
                    let when = rand(1000); // a small range, so ties are common
                    model.push((when, o.push(when)));
                    None
                }
                8..=10 => o.pop_due(u64::MAX).inspect(|g| assert_eq!(Some(g.0), min)),
                11..=13 if !model.is_empty() => {
                    let (when, id) = model.swap_remove(rand(model.len() as u64) as usize);
                    assert_eq!(o.remove(id), when);
                    None
                }
                14..=17 if !model.is_empty() => {
                    let k = rand(model.len() as u64) as usize;
                    model[k].0 = rand(1000);
                    o.retime(model[k].1, model[k].0);
                    None
                }
                _ => {
                    let now = rand(1000);
                    let got = o.pop_due(now);
                    assert_eq!(got.map(|g| g.0), min.filter(|&m| m <= now));
                    got
                }
            };
            if let Some(g) = popped {
                model.retain(|&m| m != g);
            }
            assert_eq!(o.heap.len(), model.len());
            assert_eq!(o.heap.earliest(), model.iter().map(|&(w, _)| w).min());
        }
        let mut want: Vec<u64> = model.iter().map(|&(w, _)| w).collect();
        want.sort_unstable();
        assert_eq!(o.drain(), want);
    }
}
