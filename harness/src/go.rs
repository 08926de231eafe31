//! The Go side (being written; see harness/src/lib.rs).
use std::path::Path;
use std::time::Duration;

/// One Go benchmark: the package whose test binary has it, and its name
/// without the `Benchmark` prefix (`("time", "NowUnixNano")`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GoBench {
    pub package: &'static str,
    pub name: &'static str,
}

/// Everything the Go side needs, built and cached.
#[derive(Clone, Debug)]
pub struct GoSide {
    pub go_version: String,
}

/// Builds what is missing under `work`.
pub fn prepare(_work: &Path) -> Result<GoSide, String> {
    Err("the Go side is not built yet".into())
}

impl GoSide {
    /// Boots the Linux guest with `cpus` vCPUs and runs each of `benches` once.
    pub fn run_guest(&self, _cpus: u32, _b: &[GoBench], _benchtime: &str, _t: Duration) -> Result<String, String> {
        Err("the Go side is not built yet".into())
    }

    /// Runs `benches` natively on the host with GOMAXPROCS=`cpus`.
    pub fn run_native(&self, _cpus: u32, _b: &[GoBench], _benchtime: &str) -> Result<String, String> {
        Err("the Go side is not built yet".into())
    }
}
