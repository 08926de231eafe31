//! `boottimes`: how long booting takes, measured by the runner.
//!
//! For BIOS and UEFI and 1, 2, 4, 8 vCPUs, boots `test=boot` `--runs` times
//! (default 3) one after another and prints a Markdown table of medians: QEMU
//! start to the kernel's first line ("gort: kernel entry"), and to "smp: all
//! CPUs online". The README's boot-time table is this output.
use std::time::Duration;

use boot::{Config, Firmware, Verdict};

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let runs = match args.as_slice() {
        [] => 3,
        [flag, n] if flag == "--runs" => n.parse().unwrap_or_else(|_| usage()),
        _ => usage(),
    };
    println!("| firmware | vCPUs | QEMU start → kernel entry | → all CPUs online |");
    println!("|---|---|---|---|");
    for firmware in [Firmware::Bios, Firmware::Uefi] {
        for cpus in [1, 2, 4, 8] {
            let config = Config {
                cpus,
                firmware,
                cmdline: "test=boot".into(),
                timeout: Duration::from_secs(120),
                ..Config::default()
            };
            let (mut entry, mut online) = (Vec::new(), Vec::new());
            for _ in 0..runs {
                let out = boot::run(&config, |_| {}).unwrap_or_else(|e| {
                    eprintln!("boottimes: {e}");
                    std::process::exit(2)
                });
                if out.verdict != Verdict::Pass {
                    eprintln!("boottimes: {firmware:?} {cpus} CPUs: {:?}\n{}", out.verdict, out.output);
                    std::process::exit(1);
                }
                entry.push(out.to_entry.unwrap());
                online.push(out.to_all_online.unwrap());
            }
            println!(
                "| {firmware:?} | {cpus} | {} ms | {} ms |",
                median(entry).as_millis(),
                median(online).as_millis()
            );
        }
    }
}

fn usage() -> ! {
    eprintln!("usage: boottimes [--runs N]");
    std::process::exit(64)
}
