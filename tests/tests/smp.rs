//! Every CPU comes online, under BIOS and UEFI, with 1, 2, 4 and 8 vCPUs; each
//! CPU's one-shot timer fires (test=boot); IPIs make a round trip between every
//! ordered pair of CPUs (test=ipi).
use tests::*;

fn all_online(cpus: u32, firmware: Firmware) {
    let out = boot(cpus, firmware, "test=boot");
    expect_verdict(&out, Verdict::Pass);
    expect_line(&out, "gort: kernel entry");
    expect_line(&out, &format!("smp: all CPUs online ({cpus})"));
    for cpu in 0..cpus {
        expect_line(&out, &format!("smp: cpu{cpu} online, apic id"));
        expect_line(&out, &format!("timer: cpu{cpu} one-shot for 5000 us woke after"));
    }
    assert!(!out.output.contains("FAILED"), "{}", out.output);
    expect_line(&out, "selftest boot: PASS");
}

/// One test per firmware and CPU count, so a failure names its configuration.
macro_rules! all_online_tests {
    ($($name:ident: $cpus:expr, $firmware:ident;)*) => {$(
        #[test]
        fn $name() {
            all_online($cpus, Firmware::$firmware);
        }
    )*};
}

all_online_tests! {
    bios_1_cpu: 1, Bios;
    bios_2_cpus: 2, Bios;
    bios_4_cpus: 4, Bios;
    bios_8_cpus: 8, Bios;
    uefi_1_cpu: 1, Uefi;
    uefi_2_cpus: 2, Uefi;
    uefi_4_cpus: 4, Uefi;
    uefi_8_cpus: 8, Uefi;
}

fn ipi_round_trips(cpus: u32, firmware: Firmware) {
    let out = boot(cpus, firmware, "test=ipi");
    expect_verdict(&out, Verdict::Pass);
    for from in 0..cpus {
        for to in (0..cpus).filter(|&t| t != from) {
            expect_line(&out, &format!("ipi: cpu{from} -> cpu{to} round trip"));
        }
    }
    let pairs = cpus * (cpus - 1);
    expect_line(&out, &format!("ipi: {pairs}/{pairs} round trips ok"));
    expect_line(&out, &format!("ipi: broadcast from cpu0 answered by {}/{} CPUs", cpus - 1, cpus - 1));
}

#[test]
fn ipi_every_pair_of_4_cpus() {
    ipi_round_trips(4, Firmware::Bios);
}

#[test]
fn ipi_every_pair_of_8_cpus_uefi() {
    ipi_round_trips(8, Firmware::Uefi);
}

#[test]
fn default_demo_greets_from_every_cpu() {
    let out = boot(4, Firmware::Bios, "");
    expect_verdict(&out, Verdict::Pass);
    for cpu in 0..4 {
        expect_line(&out, &format!("hello from cpu{cpu} "));
    }
    expect_line(&out, "hello: 4 of 4 CPUs said hello");
}
