//! Probe points of Go binaries: none yet (the statement patterns come next).

use std::collections::BTreeMap;

use crate::error::Result;
use crate::loader::Binary;
use crate::profile::{Probe, ProbeSource};
use crate::roles::RoleFn;
use crate::symbols;

/// Go probes: none yet.
pub fn go_probes(
    _bin: &Binary<'_>,
    _roles: &BTreeMap<String, Vec<RoleFn>>,
    _inlined: &[symbols::Inlined],
    _go_version: Option<&str>,
    _warnings: &mut Vec<String>,
) -> Result<(BTreeMap<String, Vec<Probe>>, ProbeSource)> {
    Ok((
        BTreeMap::new(),
        ProbeSource {
            kind: "none".to_string(),
            detail: None,
        },
    ))
}
