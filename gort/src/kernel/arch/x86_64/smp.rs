//! Bringing up the application processors, and running work on a chosen CPU.
//!
//! ## The trampoline
//! An AP wakes from a startup IPI in 16-bit real mode at physical address
//! `vector << 12`, so its first code must sit in a page below 1 MiB. The boot
//! CPU copies the trampoline below into such a page `P` and patches it:
//!
//! 1. real mode, CS = P >> 4: load a three-entry GDT (null, 64-bit code,
//!    data) with a 32-bit base (`lgdtl`);
//! 2. CR4.PAE|PGE; CR3 = a copy of the kernel's PML4 placed below 4 GiB (16-bit
//!    code can only load a 32-bit CR3); EFER.LME|NXE; CR0.PE|PG|WP — this enters
//!    long mode directly, without a 32-bit protected-mode stop;
//! 3. far jump to the 64-bit code at linear `P + offset`, which is why `P` is
//!    identity-mapped in the kernel's tables during bring-up;
//! 4. load data segments, the stack top, the CPU index and the Rust entry
//!    point from the trampoline's data words (RIP-relative), clear RBP (ending
//!    backtraces) and jump to `ap_entry` in the higher half.
//!
//! ## Bring-up sequence (boot CPU)
//! For each AP in MADT order, one at a time (the trampoline's data words are
//! shared): allocate its boot stack (guard-paged), write the data words, then
//! INIT, wait 10 ms, SIPI, wait 200 µs, SIPI (Intel's MP protocol; a second
//! SIPI is ignored by a CPU that already started), and wait up to 5 s for the
//! AP to mark itself online. An AP that does not answer is reported, not
//! waited on forever. Afterwards the identity page and the low PML4 copy are
//! unmapped and freed.
//!
//! ## AP start (`ap_entry`)
//! Switch CR3 to the real kernel tables, set the GS base, load its own GDT/TSS
//! and the shared IDT, enable its local APIC, mark itself online, enter the
//! idle loop.
//!
//! ## Idle loop and posted calls
//! An idle CPU halts with interrupts enabled (`sti; hlt` is atomic: an
//! interrupt between the check and the halt still ends the halt). Work is
//! posted to it with [`post_call`]: a `fn(usize)` and an argument in its
//! per-CPU mailbox, then a CALL IPI. The call runs in the idle loop, with
//! interrupts on, not in the interrupt handler. Issue 4 replaces this loop with
//! the scheduler's (an M looking for a P), keeping the halting protocol.
use core::sync::atomic::Ordering;

use x86_64::instructions::interrupts;
use x86_64::registers::control::{Cr3, Cr3Flags};
use x86_64::structures::paging::{Page, PageTableFlags as Flags, PhysFrame};
use x86_64::{PhysAddr, VirtAddr};

use super::{apic, gdt, memory, percpu, time, trap};

core::arch::global_asm!(
    ".section .rodata.ap_trampoline, \"a\"",
    ".code16",
    ".global ap_trampoline_start",
    "ap_trampoline_start:",
    "    cli",
    "    cld",
    "    movw %cs, %ax",
    "    movw %ax, %ds",
    "    lgdtl (tr_gdtr - ap_trampoline_start)",
    "    movl %cr4, %eax",
    "    orl $0xa0, %eax", // PAE | PGE
    "    movl %eax, %cr4",
    "    movl (tr_cr3 - ap_trampoline_start), %eax",
    "    movl %eax, %cr3",
    "    movl $0xc0000080, %ecx", // EFER
    "    rdmsr",
    "    orl $0x900, %eax", // LME | NXE
    "    wrmsr",
    "    movl %cr0, %eax",
    "    orl $0x80010001, %eax", // PG | WP | PE
    "    movl %eax, %cr0",
    "    .byte 0x66, 0xea", // ljmpl $0x08, $target
    ".global tr_ljmp_target",
    "tr_ljmp_target:",
    "    .long 0",
    "    .word 0x08",
    ".code64",
    ".global tr_long_mode",
    "tr_long_mode:",
    "    movw $0x10, %ax",
    "    movw %ax, %ds",
    "    movw %ax, %es",
    "    movw %ax, %ss",
    "    xorw %ax, %ax",
    "    movw %ax, %fs",
    "    movw %ax, %gs",
    "    movq tr_stack(%rip), %rsp",
    "    movq tr_arg(%rip), %rdi",
    "    movq tr_entry(%rip), %rax",
    "    xorl %ebp, %ebp",
    "    pushq $0", // a null return address ends backtraces
    "    jmpq *%rax",
    ".balign 8",
    ".global tr_gdt",
    "tr_gdt:",
    "    .quad 0",
    "    .quad 0x00af9a000000ffff", // 64-bit code, selector 0x08
    "    .quad 0x00cf92000000ffff", // data, selector 0x10
    ".global tr_gdtr",
    "tr_gdtr:",
    "    .word 23",
    "    .long 0", // patched: linear address of tr_gdt
    ".balign 8",
    ".global tr_cr3",
    "tr_cr3: .quad 0",
    ".global tr_stack",
    "tr_stack: .quad 0",
    ".global tr_entry",
    "tr_entry: .quad 0",
    ".global tr_arg",
    "tr_arg: .quad 0",
    ".global ap_trampoline_end",
    "ap_trampoline_end:",
    ".text",
    options(att_syntax),
);

unsafe extern "C" {
    static ap_trampoline_start: u8;
    static ap_trampoline_end: u8;
    static tr_ljmp_target: u8;
    static tr_long_mode: u8;
    static tr_gdt: u8;
    static tr_gdtr: u8;
    static tr_cr3: u8;
    static tr_stack: u8;
    static tr_entry: u8;
    static tr_arg: u8;
}

/// The trampoline page, while bring-up runs.
struct Trampoline {
    page: u64,
    base: *mut u8,
}

impl Trampoline {
    fn offset(sym: &u8) -> usize {
        // SAFETY: taking addresses of linker symbols, not reading them.
        sym as *const u8 as usize - unsafe { &ap_trampoline_start } as *const u8 as usize
    }

    fn put_u32(&self, sym: &u8, value: u32) {
        // SAFETY: `base` maps the trampoline page and `sym` lies inside the copied
        // trampoline; unaligned writes are fine on x86.
        unsafe { self.base.add(Self::offset(sym)).cast::<u32>().write_unaligned(value) };
    }

    fn put_u64(&self, sym: &u8, value: u64) {
        // SAFETY: as in `put_u32`.
        unsafe { self.base.add(Self::offset(sym)).cast::<u64>().write_unaligned(value) };
    }
}

const AP_STACK_SIZE: u64 = 64 * 1024;

/// Starts every AP in `apic_ids[1..]` (index = position in the slice).
/// Returns the number of CPUs online afterwards.
pub fn start_aps(apic_ids: &[u32]) -> usize {
    percpu::set_count(apic_ids.len());
    if apic_ids.len() <= 1 {
        return 1;
    }
    // SAFETY: taking the addresses of the linker symbols of the block above.
    let (start, end) = unsafe { (&ap_trampoline_start as *const u8, &ap_trampoline_end as *const u8) };
    let len = end as usize - start as usize;
    let frame = memory::alloc_frame_below(0x10_0000).expect("no free page below 1 MiB for the AP trampoline");
    let page = frame.start_address().as_u64();
    let identity = Page::containing_address(VirtAddr::new(page));
    // SAFETY: `frame` is ours; identity-mapping it is what the trampoline needs
    // (its far jump lands at the physical address with paging on).
    unsafe { memory::map(identity, frame, Flags::PRESENT | Flags::WRITABLE) };
    let base = memory::phys_to_virt(page).as_mut_ptr::<u8>();
    // SAFETY: `base` maps the whole fresh page; the trampoline is < 4 KiB.
    unsafe { core::ptr::copy_nonoverlapping(start, base, len) };
    let t = Trampoline { page, base };
    let low_l4 = memory::clone_l4_below(1 << 32);
    // SAFETY: symbol addresses only.
    unsafe {
        t.put_u32(&tr_ljmp_target, (page + Trampoline::offset(&tr_long_mode) as u64) as u32);
        let gdtr = t.base.add(Trampoline::offset(&tr_gdtr) + 2).cast::<u32>();
        gdtr.write_unaligned((page + Trampoline::offset(&tr_gdt) as u64) as u32);
        t.put_u64(&tr_cr3, low_l4.start_address().as_u64());
        t.put_u64(&tr_entry, ap_entry as *const () as u64);
    }
    for (index, &apic_id) in apic_ids.iter().enumerate().skip(1) {
        let stack = memory::alloc_stack(AP_STACK_SIZE);
        let cpu = percpu::get(index);
        cpu.apic_id.store(apic_id, Ordering::Relaxed);
        cpu.boot_stack_top.store(stack.top.as_u64(), Ordering::Relaxed);
        // SAFETY: symbol addresses only.
        unsafe {
            t.put_u64(&tr_stack, stack.top.as_u64());
            t.put_u64(&tr_arg, index as u64);
        }
        core::sync::atomic::fence(Ordering::SeqCst);
        apic::send_init(apic_id);
        time::spin_for(10_000_000);
        apic::send_sipi(apic_id, (t.page >> 12) as u8);
        time::spin_for(200_000);
        apic::send_sipi(apic_id, (t.page >> 12) as u8);
        let deadline = time::nanotime() + 5_000_000_000;
        while !cpu.online.load(Ordering::Acquire) && time::nanotime() < deadline {
            core::hint::spin_loop();
        }
        if !cpu.online.load(Ordering::Acquire) {
            log::error!("smp: cpu{index} (apic id {apic_id}) did not come online");
        }
    }
    memory::unmap(identity);
    memory::free_frame(frame);
    memory::free_frame(low_l4);
    percpu::online_count()
}

/// The first Rust code an AP runs, on its boot stack, with the low PML4 copy.
extern "C" fn ap_entry(index: usize) -> ! {
    let kernel_l4 = PhysFrame::containing_address(PhysAddr::new(memory::kernel_l4()));
    // SAFETY: the kernel's own tables map everything this code touches (the
    // higher half is shared with the low copy we are running on).
    unsafe { Cr3::write(kernel_l4, Cr3Flags::empty()) };
    let cpu = percpu::get(index);
    percpu::init(index, cpu.apic_id.load(Ordering::Relaxed));
    gdt::init_cpu();
    trap::load_idt();
    apic::init_cpu();
    super::enable_cpu_features();
    let id = apic::id();
    log::info!("smp: cpu{index} online, apic id {id}");
    cpu.online.store(true, Ordering::Release);
    idle_loop()
}

/// Halts until posted work arrives, runs it, repeats. Never returns.
pub fn idle_loop() -> ! {
    let me = percpu::this();
    loop {
        interrupts::disable();
        // 0: empty; 1: a poster is filling the mailbox; else the function.
        let f = me.call_fn.load(Ordering::Acquire);
        if f > 1 {
            me.call_fn.store(0, Ordering::Release);
            let arg = me.call_arg.load(Ordering::Relaxed);
            interrupts::enable();
            // SAFETY: values > 1 come only from `post_call`: a `fn(usize)`.
            let f: fn(usize) = unsafe { core::mem::transmute::<usize, fn(usize)>(f) };
            f(arg);
            me.call_done.fetch_add(1, Ordering::Release);
            continue;
        }
        interrupts::enable_and_hlt();
    }
}

/// Posts `f(arg)` to idle CPU `index` and wakes it. Returns the CPU's
/// completion count before the post: the call is done once `call_done`
/// exceeds it (see [`wait_call`]).
pub fn post_call(index: usize, f: fn(usize), arg: usize) -> u64 {
    let cpu = percpu::get(index);
    while cpu.call_fn.compare_exchange_weak(0, 1, Ordering::Acquire, Ordering::Relaxed).is_err() {
        core::hint::spin_loop();
    }
    let done = cpu.call_done.load(Ordering::Acquire);
    cpu.call_arg.store(arg, Ordering::Relaxed);
    cpu.call_fn.store(f as usize, Ordering::Release);
    apic::send_ipi(cpu.apic_id.load(Ordering::Relaxed), apic::CALL_VECTOR);
    done
}

/// Waits until CPU `index` has finished the call posted when its count was `done`.
pub fn wait_call(index: usize, done: u64) {
    while percpu::get(index).call_done.load(Ordering::Acquire) <= done {
        core::hint::spin_loop();
    }
}
