//! Size classes: Go's table (sizeclasses.go, made by mksizeclasses.go) and
//! the lookups the allocator's fast path makes.
//!
//! ## The table
//! Class 0 means "large": an object of more than [`MAX_SMALL_SIZE`] bytes
//! gets pages of its own. Classes 1 to 67 are Go 1.22's, unchanged (the
//! numbers are facts of Go's allocator, cited from sizeclasses.go): object
//! sizes from 8 to 32,768 bytes, and for each the number of 8 KiB pages of
//! the span it is cut from. Go chose each span so that its tail (the bytes
//! after the last whole object) is at most an eighth of it, and each size
//! so that rounding a request up to it wastes little (the worst case, a
//! request one byte above the class below, is printed per class in Go's
//! table; the tests check our table against those figures).
//!
//! ## Lookups
//! Like Go's `size_to_class8` and `size_to_class128`, two byte arrays map a
//! size to its class with one index each: by 8-byte steps up to 1,024
//! bytes, by 128-byte steps above. Unlike Go, the arrays are computed from
//! [`CLASS_TO_SIZE`] at compile time (a `const fn`), not transcribed, so the
//! table has one source.
//!
//! ## Alignment (where gort differs)
//! Go aligns an object to what its size implies; Rust's allocator is asked
//! for a `Layout`, size and alignment. A span starts on a page, so an
//! object of class size `s` at `base + i * s` is aligned to the largest
//! power of two dividing `s` (at most a page). [`class_for`] therefore takes
//! the smallest class that fits the size *and* whose size is a multiple of
//! the alignment; an alignment above a page makes the object large.
//!
//! ## Finding an object from an address
//! The collector (and a free given an interior pointer) needs `offset / size`
//! for an offset into a span. Go replaces the division by a multiplication:
//! `(offset * m) >> 32` with `m = u32::MAX / size + 1` is exact for every
//! offset inside a span of the table ([`object_index`]; the tests check every
//! offset of every class).

/// Log2 of the page size of the heap (Go's `_PageShift`).
pub const PAGE_SHIFT: usize = 13;
/// The heap's page: 8 KiB, as Go's (not the MMU's 4 KiB).
pub const PAGE_SIZE: usize = 1 << PAGE_SHIFT;
/// The largest small object (Go's `_MaxSmallSize`).
pub const MAX_SMALL_SIZE: usize = 32768;
/// Size classes, class 0 (large) included (Go's `_NumSizeClasses`).
pub const NUM_SIZE_CLASSES: usize = 68;
/// Span classes: every size class twice, scan and noscan (Go's `numSpanClasses`).
pub const NUM_SPAN_CLASSES: usize = NUM_SIZE_CLASSES << 1;
/// The most objects a span holds (Go's `maxObjsPerSpan`: 8-byte objects in one page).
pub const MAX_OBJECTS_PER_SPAN: usize = 1024;

const SMALL_SIZE_DIV: usize = 8;
const SMALL_SIZE_MAX: usize = 1024;
const LARGE_SIZE_DIV: usize = 128;

/// Object size of each class, in bytes (Go's `class_to_size`).
pub const CLASS_TO_SIZE: [u16; NUM_SIZE_CLASSES] = [
    0, 8, 16, 24, 32, 48, 64, 80, 96, 112, 128, 144, 160, 176, 192, 208, 224, 240, 256, 288, 320, 352, 384, 416, 448,
    480, 512, 576, 640, 704, 768, 896, 1024, 1152, 1280, 1408, 1536, 1792, 2048, 2304, 2688, 3072, 3200, 3456, 4096,
    4864, 5376, 6144, 6528, 6784, 6912, 8192, 9472, 9728, 10240, 10880, 12288, 13568, 14336, 16384, 18432, 19072,
    20480, 21760, 24576, 27264, 28672, 32768,
];

/// Pages in a span of each class (Go's `class_to_allocnpages`).
pub const CLASS_TO_NPAGES: [u8; NUM_SIZE_CLASSES] = [
    0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 1, 2,
    1, 2, 1, 3, 2, 3, 1, 3, 2, 3, 4, 5, 6, 1, 7, 6, 5, 4, 3, 5, 7, 2, 9, 7, 5, 8, 3, 10, 7, 4,
];

/// The class of each size up to 1,024 bytes, by 8-byte steps: index `ceil(size / 8)`.
const SIZE_TO_CLASS8: [u8; SMALL_SIZE_MAX / SMALL_SIZE_DIV + 1] = lookup(0, SMALL_SIZE_DIV);
/// The class of each size above 1,024 bytes, by 128-byte steps: index `ceil((size - 1024) / 128)`.
const SIZE_TO_CLASS128: [u8; (MAX_SMALL_SIZE - SMALL_SIZE_MAX) / LARGE_SIZE_DIV + 1] =
    lookup(SMALL_SIZE_MAX, LARGE_SIZE_DIV);

/// Entry `i` is the smallest class holding `base + i * step` bytes (for
/// `i` = 0 and `base` = 0, class 0: no allocation is of size 0).
const fn lookup<const N: usize>(base: usize, step: usize) -> [u8; N] {
    let mut table = [0u8; N];
    let mut i = 0;
    while i < N {
        let size = base + i * step;
        let mut class = if size == 0 { 0 } else { 1 };
        while size != 0 && (CLASS_TO_SIZE[class] as usize) < size {
            class += 1;
        }
        table[i] = class as u8;
        i += 1;
    }
    table
}

/// A size class, 1 to 67 (small objects; large ones have no class).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct SizeClass(u8);

impl SizeClass {
    /// Class `n`, if it is a small-object class.
    pub const fn new(n: usize) -> Option<SizeClass> {
        if n >= 1 && n < NUM_SIZE_CLASSES {
            Some(SizeClass(n as u8))
        } else {
            None
        }
    }

    /// Every small-object class, smallest first.
    pub fn all() -> impl Iterator<Item = SizeClass> {
        (1..NUM_SIZE_CLASSES).map(|n| SizeClass(n as u8))
    }

    /// The class number (Go's `spc.sizeclass()`).
    pub const fn index(self) -> usize {
        self.0 as usize
    }

    /// Bytes per object.
    pub const fn size(self) -> usize {
        CLASS_TO_SIZE[self.0 as usize] as usize
    }

    /// Pages per span.
    pub const fn npages(self) -> usize {
        CLASS_TO_NPAGES[self.0 as usize] as usize
    }

    /// Bytes per span.
    pub const fn span_bytes(self) -> usize {
        self.npages() << PAGE_SHIFT
    }

    /// Objects per span (Go's `nelems`).
    pub const fn objects(self) -> usize {
        self.span_bytes() / self.size()
    }

    /// Bytes after the last whole object of a span.
    pub const fn tail_waste(self) -> usize {
        self.span_bytes() % self.size()
    }

    /// The largest power of two every object of this class is aligned to
    /// (spans start on a page).
    pub const fn align(self) -> usize {
        let low = 1 << self.size().trailing_zeros();
        if low < PAGE_SIZE {
            low
        } else {
            PAGE_SIZE
        }
    }

    /// The span class of this size class for objects without pointers.
    pub const fn noscan(self) -> SpanClass {
        SpanClass::new(self.0 as usize, true)
    }

    /// The span class of this size class for objects the collector scans.
    pub const fn scan(self) -> SpanClass {
        SpanClass::new(self.0 as usize, false)
    }

    /// Go's `divMagic` for this class: see [`object_index`].
    pub const fn div_magic(self) -> u32 {
        (u32::MAX / self.size() as u32).wrapping_add(1)
    }
}

/// The class of a `size`-byte object with Go's alignment (what its size
/// implies), or `None` for 0 bytes and for large objects. Go's
/// `size_to_class8`/`size_to_class128` lookup: one index, no loop.
#[inline]
pub fn size_to_class(size: usize) -> Option<SizeClass> {
    let class = if size <= SMALL_SIZE_MAX {
        SIZE_TO_CLASS8[size.div_ceil(SMALL_SIZE_DIV)]
    } else if size <= MAX_SMALL_SIZE {
        SIZE_TO_CLASS128[(size - SMALL_SIZE_MAX).div_ceil(LARGE_SIZE_DIV)]
    } else {
        0
    };
    SizeClass::new(class as usize)
}

/// The class for a Rust allocation of `size` bytes aligned to `align` (a
/// power of two): the smallest class that fits `size` and whose objects are
/// all aligned to `align`; `None` if the allocation is large (more than
/// [`MAX_SMALL_SIZE`] bytes, an alignment above a page, or no class both
/// fits and aligns) or of 0 bytes. An alignment of 8 or less costs nothing
/// over [`size_to_class`].
#[inline]
pub fn class_for(size: usize, align: usize) -> Option<SizeClass> {
    debug_assert!(align.is_power_of_two(), "alignment {align} is not a power of two");
    let class = size_to_class(size.max(align))?;
    if class.align() >= align {
        return Some(class);
    }
    aligned_class_above(class, align)
}

/// `class_for`'s rare case: a class above `class` whose size is a
/// multiple of `align`.
#[cold]
fn aligned_class_above(class: SizeClass, align: usize) -> Option<SizeClass> {
    (class.index() + 1..NUM_SIZE_CLASSES).map(|n| SizeClass(n as u8)).find(|c| c.align() >= align)
}

/// Whether a block of `old_size` bytes aligned to `align` can become
/// `new_size` bytes without moving: both sizes are small and fall in the
/// same class (`realloc` in place).
pub fn same_class(old_size: usize, new_size: usize, align: usize) -> bool {
    match (class_for(old_size, align), class_for(new_size, align)) {
        (Some(a), Some(b)) => a == b,
        _ => false,
    }
}

/// Index of the object containing byte `offset` of a span of `class`:
/// `offset / class.size()` by a multiplication (Go's `divideByElemSize`).
/// `offset` must lie inside the span.
#[inline]
pub fn object_index(class: SizeClass, offset: usize) -> usize {
    debug_assert!(offset < class.span_bytes(), "offset {offset} outside a span of class {}", class.index());
    ((offset as u64 * class.div_magic() as u64) >> 32) as usize
}

/// A span class: a size class and whether its objects hold pointers the
/// collector must scan (Go's `spanClass`: `class << 1 | noscan`). Class 0
/// (large) has span classes too: a large object's span is scan or noscan.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SpanClass(u8);

impl SpanClass {
    /// The span class of size class `class` (0 for large), scan or noscan.
    pub const fn new(class: usize, noscan: bool) -> SpanClass {
        assert!(class < NUM_SIZE_CLASSES, "no such size class");
        SpanClass(((class as u8) << 1) | noscan as u8)
    }

    /// The index into per-span-class arrays (an mcache's spans).
    pub const fn index(self) -> usize {
        self.0 as usize
    }

    /// The size class; 0 for large objects.
    pub const fn size_class(self) -> usize {
        (self.0 >> 1) as usize
    }

    /// True if the objects hold no pointers.
    pub const fn noscan(self) -> bool {
        self.0 & 1 != 0
    }
}

#[cfg(test)]
mod tests;
