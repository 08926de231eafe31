//! Serial-console demos, chosen with `demo=NAME`.
//!
//! Today there is one: `hello`, in which every CPU greets the console from its
//! own idle loop. The goroutine demos (the two tasks, the preempted hog, the
//! prime sieve) arrive with the scheduler and channels.
use crate::arch::percpu;
use crate::println;

/// Runs demo `name`; true means it completed.
pub fn run(name: &str) -> bool {
    match name {
        "hello" => hello(),
        _ => unreachable!("demo names are validated by the parameter table"),
    }
}

fn hello() -> bool {
    let greeted = crate::selftest::on_every_cpu(|cpu| {
        let me = percpu::get(cpu);
        println!(
            "hello from cpu{cpu} (apic id {}), {} ms after boot",
            me.apic_id.load(core::sync::atomic::Ordering::Relaxed),
            crate::arch::nanotime() / 1_000_000
        );
        true
    });
    println!("hello: {greeted} of {} CPUs said hello", percpu::count());
    greeted == percpu::count()
}
