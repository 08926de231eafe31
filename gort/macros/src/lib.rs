//! `#[gort::main]`: turns a program's `fn main()` into a bootable program.
//!
//! The attribute leaves the function as written and adds the entry point
//! the bootloader jumps to (`_start`, through `bootloader_api`'s
//! `entry_point!`, re-exported by `gort::kernel`), which calls
//! `gort::kernel::start` with the function as the main goroutine. It works
//! on tokens alone (no `syn`): it finds the function's name after `fn`,
//! and refuses what is not a plain `fn NAME()` with a compile error that
//! says so.
use proc_macro::{Delimiter, TokenStream, TokenTree};

/// Marks the program's main function; see the crate docs.
#[proc_macro_attribute]
pub fn main(attr: TokenStream, item: TokenStream) -> TokenStream {
    if !attr.is_empty() {
        return error("#[gort::main] takes no arguments");
    }
    let tokens: Vec<TokenTree> = item.clone().into_iter().collect();
    let Some(at) = tokens.iter().position(|t| matches!(t, TokenTree::Ident(i) if i.to_string() == "fn")) else {
        return error("#[gort::main] goes on a function: `#[gort::main] fn main() { ... }`");
    };
    if tokens[..at].iter().any(|t| matches!(t, TokenTree::Ident(i) if ["async", "unsafe", "extern", "const"].contains(&i.to_string().as_str()))) {
        return error("#[gort::main] wants a plain `fn main()`, not async, unsafe, const or extern");
    }
    let Some(TokenTree::Ident(name)) = tokens.get(at + 1) else {
        return error("#[gort::main]: expected the function's name after `fn`");
    };
    let takes_nothing = matches!(tokens.get(at + 2), Some(TokenTree::Group(g)) if g.delimiter() == Delimiter::Parenthesis && g.stream().is_empty());
    let returns_nothing = matches!(tokens.get(at + 3), Some(TokenTree::Group(g)) if g.delimiter() == Delimiter::Brace);
    if !takes_nothing || !returns_nothing {
        return error("#[gort::main] wants `fn main()` with no parameters and no return type, as Go's func main()");
    }
    let entry: TokenStream = format!(
        "#[doc(hidden)]
        fn __gort_boot(boot_info: &'static mut ::gort::kernel::BootInfo) -> ! {{
            static PROGRAM: ::gort::kernel::Program = ::gort::kernel::program_of({name});
            ::gort::kernel::start(boot_info, &PROGRAM)
        }}
        ::gort::kernel::entry_point!(__gort_boot, config = &::gort::kernel::BOOTLOADER_CONFIG);"
    )
    .parse()
    .expect("the entry point parses");
    let mut out = item;
    out.extend(entry);
    out
}

fn error(msg: &str) -> TokenStream {
    format!("::core::compile_error!({msg:?});").parse().expect("compile_error! parses")
}
