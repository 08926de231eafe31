//! The newc cpio writer (being written; see harness/src/lib.rs).
