//! Go benchmark lines (being written).
