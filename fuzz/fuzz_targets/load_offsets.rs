//! Loading (ELF, compressed sections, DWARF 4/5) plus type lookup, symbols and
//! line tables over arbitrary bytes: must never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    mapscope::fuzz::exercise(data);
});
