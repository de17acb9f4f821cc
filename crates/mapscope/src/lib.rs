//! mapscope: a DWARF inspector for ELF binaries, and the map-target profile for gomap
//! programs and Go programs with classic maps (Go 1.19-1.23, 1.24-1.25 with `noswissmap`) or
//! Swiss-table maps (Go 1.24-1.26, [`swiss`]).
//!
//! - [`loader`]: ELF + DWARF sections (decompressed), build-id; follows a separate
//!   debug file ([`debuglink`]) and split DWARF ([`split`]).
//! - [`types`]: struct layouts by name ([`names`] has the matching rules).
//! - [`symbols`]: functions from the symbol table, with source locations and inlined instances.
//! - [`lines`]: address → file:line (with inline chain) and file:line → addresses.
//! - [`locations`]: places of variables at a pc (location lists) in a closed set of forms;
//!   [`cfi`]: the CFA rule at a pc.
//! - [`frames`]: where a function's prologue ends and where its parameters live, by pc.
//! - [`variables`]: everything in scope at a pc, with places (`mapscope variables`).
//! - [`profile`]: the map-target profile (docs/profile.md), built from [`map_layouts`],
//!   [`roles`], [`consts`], [`gomap_probes`], [`go_probes`], [`go_types`], [`go_runtime`].
//! - [`strings`]: where string values keep their bytes and length.
//! - [`error`]: the error type and exit codes; [`escape`] shows user strings safely.

pub mod debuglink;
pub mod error;
pub mod escape;
pub mod loader;
pub mod names;
pub mod prefilter;
pub mod scan;
pub mod split;
pub mod types;
pub mod walk;

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
pub mod swiss;
pub mod symbols;
pub mod variables;
