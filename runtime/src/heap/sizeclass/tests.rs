//! Host tests of the size-class table and its lookups.
use super::*;

/// Go's sizeclasses.go header, one row per class: size, bytes per span,
/// objects, tail waste in bytes, and the worst waste of a request (one
/// byte above the class below) in hundredths of a percent.
const GO_TABLE: [(usize, usize, usize, usize, usize); NUM_SIZE_CLASSES - 1] = [
    (8, 8192, 1024, 0, 8750),
    (16, 8192, 512, 0, 4375),
    (24, 8192, 341, 8, 2924),
    (32, 8192, 256, 0, 2188),
    (48, 8192, 170, 32, 3152),
    (64, 8192, 128, 0, 2344),
    (80, 8192, 102, 32, 1907),
    (96, 8192, 85, 32, 1595),
    (112, 8192, 73, 16, 1356),
    (128, 8192, 64, 0, 1172),
    (144, 8192, 56, 128, 1182),
    (160, 8192, 51, 32, 973),
    (176, 8192, 46, 96, 959),
    (192, 8192, 42, 128, 925),
    (208, 8192, 39, 80, 812),
    (224, 8192, 36, 128, 815),
    (240, 8192, 34, 32, 662),
    (256, 8192, 32, 0, 586),
    (288, 8192, 28, 128, 1216),
    (320, 8192, 25, 192, 1180),
    (352, 8192, 23, 96, 988),
    (384, 8192, 21, 128, 951),
    (416, 8192, 19, 288, 1071),
    (448, 8192, 18, 128, 837),
    (480, 8192, 17, 32, 682),
    (512, 8192, 16, 0, 605),
    (576, 8192, 14, 128, 1233),
    (640, 8192, 12, 512, 1548),
    (704, 8192, 11, 448, 1393),
    (768, 8192, 10, 512, 1394),
    (896, 8192, 9, 128, 1552),
    (1024, 8192, 8, 0, 1240),
    (1152, 8192, 7, 128, 1241),
    (1280, 8192, 6, 512, 1555),
    (1408, 16384, 11, 896, 1400),
    (1536, 8192, 5, 512, 1400),
    (1792, 16384, 9, 256, 1557),
    (2048, 8192, 4, 0, 1245),
    (2304, 16384, 7, 256, 1246),
    (2688, 8192, 3, 128, 1559),
    (3072, 24576, 8, 0, 1247),
    (3200, 16384, 5, 384, 622),
    (3456, 24576, 7, 384, 883),
    (4096, 8192, 2, 0, 1560),
    (4864, 24576, 5, 256, 1665),
    (5376, 16384, 3, 256, 1092),
    (6144, 24576, 4, 0, 1248),
    (6528, 32768, 5, 128, 623),
    (6784, 40960, 6, 256, 436),
    (6912, 49152, 7, 768, 337),
    (8192, 8192, 1, 0, 1561),
    (9472, 57344, 6, 512, 1428),
    (9728, 49152, 5, 512, 364),
    (10240, 40960, 4, 0, 499),
    (10880, 32768, 3, 128, 624),
    (12288, 24576, 2, 0, 1145),
    (13568, 40960, 3, 256, 999),
    (14336, 57344, 4, 0, 535),
    (16384, 16384, 1, 0, 1249),
    (18432, 73728, 4, 0, 1111),
    (19072, 57344, 3, 128, 357),
    (20480, 40960, 2, 0, 687),
    (21760, 65536, 3, 256, 625),
    (24576, 24576, 1, 0, 1145),
    (27264, 81920, 3, 128, 1000),
    (28672, 57344, 2, 0, 491),
    (32768, 32768, 1, 0, 1250),
];

#[test]
fn the_table_has_gos_figures_for_every_class() {
    let mut below = 0;
    for (class, &(size, span, objects, tail, worst)) in SizeClass::all().zip(GO_TABLE.iter()) {
        let row = (class.size(), class.span_bytes(), class.objects(), class.tail_waste());
        assert_eq!(row, (size, span, objects, tail), "class {}", class.index());
        // A request one byte above the class below wastes the most.
        let waste = ((size - below - 1) * objects + tail) as f64 / span as f64 * 10_000.0;
        assert_eq!(waste.round() as usize, worst, "class {}: worst waste", class.index());
        below = size;
    }
    assert_eq!(SizeClass::all().count(), 67);
    assert_eq!(NUM_SPAN_CLASSES, 136);
}

#[test]
fn spans_waste_at_most_an_eighth_and_hold_at_most_1024_objects() {
    for c in SizeClass::all() {
        assert!(
            c.tail_waste() * 8 <= c.span_bytes(),
            "class {}: tail {} of {}",
            c.index(),
            c.tail_waste(),
            c.span_bytes()
        );
        assert!(c.objects() >= 1 && c.objects() <= MAX_OBJECTS_PER_SPAN, "class {}", c.index());
        assert_eq!(c.size() % 8, 0, "class {}: every object is 8-byte aligned", c.index());
    }
}

/// The smallest class of at least `size` bytes whose objects are aligned to
/// `align`, by a scan of the table.
fn smallest_fitting(size: usize, align: usize) -> Option<SizeClass> {
    SizeClass::all().find(|c| c.size() >= size && c.size() % align.min(PAGE_SIZE) == 0 && align <= PAGE_SIZE)
}

#[test]
fn every_size_maps_to_the_smallest_class_that_fits() {
    assert_eq!(size_to_class(0), None);
    for size in 1..=MAX_SMALL_SIZE {
        let class = size_to_class(size).unwrap_or_else(|| panic!("{size} bytes have no class"));
        assert_eq!(Some(class), SizeClass::all().find(|c| c.size() >= size), "{size} bytes");
    }
    for size in [MAX_SMALL_SIZE + 1, 1 << 20, usize::MAX] {
        assert_eq!(size_to_class(size), None, "{size} bytes are large");
    }
}

#[test]
fn class_for_fits_the_size_and_the_alignment() {
    for shift in 0..=14 {
        let align = 1usize << shift;
        for size in (1..=MAX_SMALL_SIZE + 1).filter(|s| shift <= 6 || s % 61 == 1 || s.is_power_of_two()) {
            let got = class_for(size, align);
            assert_eq!(got, smallest_fitting(size, align), "{size} bytes aligned to {align}");
            if let Some(c) = got {
                assert!(c.size() >= size && c.align() >= align, "{size}/{align} -> class {}", c.index());
            }
        }
    }
    assert_eq!(class_for(24, 8), SizeClass::new(3));
    assert_eq!(class_for(24, 16), SizeClass::new(4), "24 bytes aligned to 16 take the 32-byte class");
    assert_eq!(class_for(1, 4096), SizeClass::new(44), "a page-aligned byte takes the 4096-byte class");
    assert_eq!(class_for(8, 16384), None, "an alignment above a page is large");
}

#[test]
fn object_index_divides_exactly_at_every_offset_of_every_span() {
    for c in SizeClass::all() {
        for offset in 0..c.span_bytes() {
            assert_eq!(object_index(c, offset), offset / c.size(), "class {} offset {offset}", c.index());
        }
    }
}

#[test]
fn span_classes_pair_every_size_class_with_scan_and_noscan() {
    let mut seen = [false; NUM_SPAN_CLASSES];
    for class in 0..NUM_SIZE_CLASSES {
        for noscan in [false, true] {
            let sc = SpanClass::new(class, noscan);
            assert_eq!((sc.size_class(), sc.noscan()), (class, noscan));
            assert!(!seen[sc.index()], "span class {} twice", sc.index());
            seen[sc.index()] = true;
        }
    }
    assert!(seen.iter().all(|&s| s));
}

#[test]
fn same_class_says_when_a_realloc_stays_in_place() {
    assert!(same_class(17, 24, 8));
    assert!(same_class(24, 17, 8));
    assert!(!same_class(24, 25, 8));
    assert!(same_class(24, 32, 16), "24 bytes aligned to 16 already sit in the 32-byte class");
    assert!(!same_class(24, 32, 8));
    assert!(!same_class(8, MAX_SMALL_SIZE + 1, 8), "small to large moves");
    assert!(!same_class(MAX_SMALL_SIZE + 1, MAX_SMALL_SIZE + 2, 8), "large blocks are the page heap's");
}
