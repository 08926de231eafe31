#![no_std]
#![no_main]

use bootloader_api::{config::Mapping, BootInfo, BootloaderConfig};

pub static BOOTLOADER_CONFIG: BootloaderConfig = {
    let mut config = BootloaderConfig::new_default();
    config.mappings.physical_memory = Some(Mapping::Dynamic);
    config.kernel_stack_size = 256 * 1024;
    config
};

bootloader_api::entry_point!(kernel_main, config = &BOOTLOADER_CONFIG);

fn kernel_main(_boot_info: &'static mut BootInfo) -> ! {
    use core::fmt::Write;
    // SAFETY: COM1 at 0x3f8 exists on q35.
    let mut port = unsafe { uart_16550::SerialPort::new(0x3f8) };
    port.init();
    writeln!(port, "gort: kernel entry").ok();
    // SAFETY: isa-debug-exit at 0xf4.
    unsafe { x86_64::instructions::port::Port::<u32>::new(0xf4).write(0x10) };
    loop {}
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    loop {}
}
