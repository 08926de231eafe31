//! CPU feature queries (CPUID), named for what the kernel asks.
use core::arch::x86_64::{__cpuid, __cpuid_count, CpuidResult};

fn leaf(eax: u32) -> CpuidResult {
    // CPUID exists on every x86_64 CPU (the intrinsic is safe); a leaf beyond
    // the maximum returns data, never faults.
    __cpuid_count(eax, 0)
}

fn max_basic() -> u32 {
    leaf(0).eax
}

/// x2APIC mode is available (CPUID.1:ECX\[21\]).
pub fn has_x2apic() -> bool {
    leaf(1).ecx & (1 << 21) != 0
}

/// The APIC timer has TSC-deadline mode (CPUID.1:ECX\[24\]).
pub fn has_tsc_deadline() -> bool {
    leaf(1).ecx & (1 << 24) != 0
}

/// The TSC runs at a constant rate in all power states (CPUID.80000007H:EDX\[8\]).
pub fn has_invariant_tsc() -> bool {
    let max_ext = __cpuid(0x8000_0000).eax;
    max_ext >= 0x8000_0007 && leaf(0x8000_0007).edx & (1 << 8) != 0
}

/// We run under a hypervisor (CPUID.1:ECX\[31\]).
pub fn is_hypervisor() -> bool {
    leaf(1).ecx & (1 << 31) != 0
}

/// TSC frequency in Hz from CPUID leaf 0x15 (crystal ratio), if reported.
pub fn tsc_hz_leaf15() -> Option<u64> {
    if max_basic() < 0x15 {
        return None;
    }
    let r = leaf(0x15);
    (r.eax != 0 && r.ebx != 0 && r.ecx != 0).then(|| u64::from(r.ecx) * u64::from(r.ebx) / u64::from(r.eax))
}

/// TSC frequency in Hz from the hypervisor timing leaf 0x40000010, if present.
pub fn tsc_hz_hypervisor() -> Option<u64> {
    if !is_hypervisor() || leaf(0x4000_0000).eax < 0x4000_0010 {
        return None;
    }
    let khz = leaf(0x4000_0010).eax;
    (khz != 0).then(|| u64::from(khz) * 1000)
}

/// The CPU's brand string, for the boot log.
pub fn brand(buf: &mut [u8; 48]) -> &str {
    if __cpuid(0x8000_0000).eax < 0x8000_0004 {
        return "unknown CPU";
    }
    for (i, l) in (0x8000_0002u32..=0x8000_0004).enumerate() {
        let r = leaf(l);
        for (j, w) in [r.eax, r.ebx, r.ecx, r.edx].iter().enumerate() {
            buf[i * 16 + j * 4..i * 16 + j * 4 + 4].copy_from_slice(&w.to_le_bytes());
        }
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(48);
    core::str::from_utf8(&buf[..end]).unwrap_or("?").trim()
}
