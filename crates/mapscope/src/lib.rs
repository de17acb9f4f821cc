//! mapscope: a DWARF inspector for ELF binaries, and the map-target profile
//! for gomap and Go 1.19 programs.
//!
//! - [`loader`]: ELF + DWARF sections (decompressed), build-id.
//! - [`types`]: struct layouts by name ([`names`] has the matching rules).
//! - [`symbols`]: functions from the symbol table, with source locations and inlined instances.
//! - [`lines`]: address → file:line (with inline chain) and file:line → addresses.
//! - [`frames`]: where a function's prologue ends and where its parameters live.
//! - [`profile`]: the map-target profile (docs/profile.md).
//! - [`strings`]: where string values keep their bytes and length.
//! - [`error`]: the error type and exit codes.

pub mod error;
pub mod loader;
pub mod names;
pub mod scan;
pub mod types;

pub use error::{Error, Result};
pub mod cache;
pub mod cfi;
pub mod code_points;
pub mod consts;
pub mod dies;
pub mod frames;
#[doc(hidden)]
pub mod fuzz;
pub mod go_probes;
pub mod go_runtime;
pub mod go_types;
pub mod gomap_probes;
pub mod lines;
pub mod locations;
pub mod map_layouts;
pub mod profile;
pub mod roles;
pub mod strings;
pub mod symbols;
pub mod variables;
