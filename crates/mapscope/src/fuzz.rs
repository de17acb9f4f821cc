//! The fuzzing harness: one function that runs loading, type lookup, symbols and
//! line tables over arbitrary bytes. Used by the cargo-fuzz target (`fuzz/`) and by
//! the stable mutation test (`tests/fuzz_smoke.rs`). It must never panic.

use std::path::Path;

use crate::loader::Binary;

/// Runs everything that reads the binary; errors are fine, panics are bugs.
pub fn exercise(data: &[u8]) {
    let Ok(bin) = Binary::parse_bytes(Path::new("fuzz-input"), data) else {
        return;
    };
    let _ = bin.build_id_hex();
    if let Ok(index) = crate::types::TypeIndex::new(&bin) {
        let _ = index.lookup(
            &[
                "hmap",
                "runtime.hmap",
                "Bucket<i64, i64>",
                "gomap::runtime::Hmap",
            ],
            true,
        );
        let _ = index.lookup(&["nosuchtype"], false);
    }
    let _ = crate::symbols::functions(&bin, None);
    let _ = crate::symbols::scan_functions(&bin, None);
    let _ = crate::lines::validate(&bin);
    let _ = crate::lines::rows(&bin, &|_| true, &|_, _| true);
    if let Ok(ctx) = crate::lines::Context::new(&bin) {
        for addr in [0x1000u64, 0x401000, 0x401126] {
            let _ = ctx.frames(addr);
        }
    }
    let _ = crate::consts::go_constants(&bin, crate::consts::GO_PREFIXES);
}
