//! The map algorithm's constants: from the binary's DWARF for Go, from the gomap crate for
//! gomap programs, and where each value came from.
//!
//! Go's linker emits `DW_TAG_constant` for package-level constants that the compiled code uses
//! (`runtime.hashWriting`, ...). Which ones, and under which names, depends on the version:
//! 1.19-1.20 have them all in `runtime`; 1.21-1.22 add `internal/abi.MapBucketCount` and
//! `MapMaxKeyBytes`; 1.23 drops `runtime.bucketCnt`, `maxKeySize` and `maxElemSize` in favour of
//! the `internal/abi` ones; 1.24-1.25 with `GOEXPERIMENT=noswissmap` have
//! `internal/abi.OldMapBucketCount` and friends. Each value is looked up under every name it has
//! had, and `sources` records which one the binary had. Go 1.21's load factor is 12/2 = 6 (an
//! accident fixed in 1.22, golang/go#63438): exactly why the values are read, not assumed.
//!
//! rustc emits no DWARF for `const` items, so for gomap the values come from the gomap crate
//! that mapscope is built with (the same constants gomap's code uses).

use std::collections::{BTreeMap, HashMap};

use gimli::constants as dw;
use gimli::AttributeValue;
use serde::Serialize;

use crate::error::Result;
use crate::loader::Binary;
use crate::scan;
use crate::types::attr_str;

/// Name prefixes of the Go constants mapscope reads.
pub const GO_PREFIXES: &[&str] = &["runtime.", "internal/abi."];

/// Every integer constant in the binary's DWARF whose name starts with one of `prefixes`.
pub fn go_constants(bin: &Binary<'_>, prefixes: &[&str]) -> Result<HashMap<String, i64>> {
    let dwarf = bin.dwarf();
    let headers = scan::unit_headers(&dwarf)?;
    let per_unit = scan::par_units(&headers, |_, header| {
        let unit = dwarf.unit(*header)?;
        let mut entries = header.entries_raw(&unit.abbreviations, None)?;
        let mut out = Vec::new();
        while !entries.is_empty() {
            let Some(abbrev) = entries.read_abbreviation()? else {
                continue;
            };
            if abbrev.tag() != dw::DW_TAG_constant {
                entries.skip_attributes(abbrev.attributes())?;
                continue;
            }
            let mut name = None;
            let mut value = None;
            for spec in abbrev.attributes() {
                let attr = entries.read_attribute(*spec)?;
                match attr.name() {
                    dw::DW_AT_name => name = attr_str(&dwarf, &unit, attr.value()),
                    dw::DW_AT_const_value => {
                        value = match attr.value() {
                            AttributeValue::Sdata(v) => Some(v),
                            AttributeValue::Udata(v) => i64::try_from(v).ok(),
                            v => v
                                .sdata_value()
                                .or_else(|| v.udata_value().and_then(|u| i64::try_from(u).ok())),
                        }
                    }
                    _ => {}
                }
            }
            if let (Some(n), Some(v)) = (name, value) {
                if prefixes.iter().any(|p| n.starts_with(p)) {
                    out.push((n.to_string(), v));
                }
            }
        }
        Ok(out)
    })?;
    Ok(per_unit.into_iter().flatten().collect())
}

/// Constants of the algorithm.
#[derive(Debug, Clone, Serialize)]
pub struct Constants {
    pub bucket_count: u64,
    pub load_factor: f64,
    pub load_factor_num: u64,
    pub load_factor_den: u64,
    pub max_key_size: u64,
    pub max_elem_size: u64,
    pub tophash: BTreeMap<String, u64>,
    pub flags: BTreeMap<String, u64>,
    /// `dwarf` when every value was read from the binary's DWARF; `algorithm` when none was
    /// (gomap: the gomap crate's constants); `dwarf+algorithm` when some were.
    pub source: String,
    /// Per value (`bucket_count`, `tophash.emptyRest`, `flags.hashWriting`, ...): the DWARF
    /// constant it was read from (`runtime.bucketCnt`, `1 << internal/abi.MapBucketCountBits`),
    /// `gomap::runtime::NAME` for gomap, or null when the binary lacks it and the value is
    /// gomap's, which is Go 1.19's.
    pub sources: BTreeMap<String, Option<String>>,
}

/// One value: canonical key, gomap's value and name, and its Go DWARF names by version.
struct Spec {
    key: &'static str,
    gomap: (u64, &'static str),
    go: &'static [&'static str],
    /// Names of the log2 of the value (bucket count only).
    go_log2: &'static [&'static str],
}

macro_rules! spec {
    ($key:expr, $gomap:ident, [$($go:expr),*]) => {
        spec!($key, $gomap, [$($go),*], [])
    };
    ($key:expr, $gomap:ident, [$($go:expr),*], [$($log2:expr),*]) => {
        Spec {
            key: $key,
            gomap: (gomap::runtime::$gomap as u64, concat!("gomap::runtime::", stringify!($gomap))),
            go: &[$($go),*],
            go_log2: &[$($log2),*],
        }
    };
}

const SPECS: &[Spec] = &[
    spec!(
        "bucket_count",
        BUCKET_CNT,
        [
            "runtime.bucketCnt",
            "internal/abi.MapBucketCount",
            "internal/abi.OldMapBucketCount"
        ],
        [
            "runtime.bucketCntBits",
            "internal/abi.MapBucketCountBits",
            "internal/abi.OldMapBucketCountBits"
        ]
    ),
    spec!(
        "load_factor_num",
        LOAD_FACTOR_NUM,
        ["runtime.loadFactorNum"]
    ),
    spec!(
        "load_factor_den",
        LOAD_FACTOR_DEN,
        ["runtime.loadFactorDen"]
    ),
    spec!(
        "max_key_size",
        MAX_KEY_SIZE,
        [
            "runtime.maxKeySize",
            "internal/abi.MapMaxKeyBytes",
            "internal/abi.OldMapMaxKeyBytes"
        ]
    ),
    spec!(
        "max_elem_size",
        MAX_ELEM_SIZE,
        [
            "runtime.maxElemSize",
            "internal/abi.MapMaxElemBytes",
            "internal/abi.OldMapMaxElemBytes"
        ]
    ),
    spec!("tophash.emptyRest", EMPTY_REST, ["runtime.emptyRest"]),
    spec!("tophash.emptyOne", EMPTY_ONE, ["runtime.emptyOne"]),
    spec!("tophash.evacuatedX", EVACUATED_X, ["runtime.evacuatedX"]),
    spec!("tophash.evacuatedY", EVACUATED_Y, ["runtime.evacuatedY"]),
    spec!(
        "tophash.evacuatedEmpty",
        EVACUATED_EMPTY,
        ["runtime.evacuatedEmpty"]
    ),
    spec!("tophash.minTopHash", MIN_TOP_HASH, ["runtime.minTopHash"]),
    spec!("flags.iterator", ITERATOR, ["runtime.iterator"]),
    spec!("flags.oldIterator", OLD_ITERATOR, ["runtime.oldIterator"]),
    spec!("flags.hashWriting", HASH_WRITING, ["runtime.hashWriting"]),
    spec!(
        "flags.sameSizeGrow",
        SAME_SIZE_GROW,
        ["runtime.sameSizeGrow"]
    ),
];

/// The profile's constants. `go` holds the binary's Go constants (see [`go_constants`]), or
/// `None` for a gomap program.
pub fn constants(go: Option<&HashMap<String, i64>>) -> Constants {
    let mut values: BTreeMap<&str, u64> = BTreeMap::new();
    let mut sources: BTreeMap<String, Option<String>> = BTreeMap::new();
    let (mut from_dwarf, mut total) = (0, 0);
    for s in SPECS {
        total += 1;
        let found = go.and_then(|g| {
            s.go.iter()
                .find_map(|n| g.get(*n).map(|v| (u64::try_from(*v).ok(), n.to_string())))
                .or_else(|| {
                    s.go_log2.iter().find_map(|n| {
                        g.get(*n).map(|v| {
                            let v = u32::try_from(*v).ok().and_then(|b| 1u64.checked_shl(b));
                            (v, format!("1 << {n}"))
                        })
                    })
                })
        });
        match (go, found) {
            (_, Some((Some(v), name))) => {
                from_dwarf += 1;
                values.insert(s.key, v);
                sources.insert(s.key.to_string(), Some(name));
            }
            (Some(_), _) => {
                values.insert(s.key, s.gomap.0);
                sources.insert(s.key.to_string(), None);
            }
            (None, _) => {
                values.insert(s.key, s.gomap.0);
                sources.insert(s.key.to_string(), Some(s.gomap.1.to_string()));
            }
        }
    }
    let prefixed = |prefix: &str| -> BTreeMap<String, u64> {
        values
            .iter()
            .filter_map(|(k, v)| Some((k.strip_prefix(prefix)?.to_string(), *v)))
            .collect()
    };
    let num = values["load_factor_num"];
    let den = values["load_factor_den"];
    Constants {
        bucket_count: values["bucket_count"],
        load_factor: if den == 0 {
            0.0
        } else {
            num as f64 / den as f64
        },
        load_factor_num: num,
        load_factor_den: den,
        max_key_size: values["max_key_size"],
        max_elem_size: values["max_elem_size"],
        tophash: prefixed("tophash."),
        flags: prefixed("flags."),
        source: if from_dwarf == total {
            "dwarf"
        } else if from_dwarf == 0 {
            "algorithm"
        } else {
            "dwarf+algorithm"
        }
        .to_string(),
        sources,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gomap_values_are_gomaps() {
        let c = constants(None);
        assert_eq!(c.source, "algorithm");
        assert_eq!(c.bucket_count, gomap::runtime::BUCKET_CNT as u64);
        assert_eq!(
            c.flags["hashWriting"],
            u64::from(gomap::runtime::HASH_WRITING)
        );
        assert_eq!(
            c.sources["flags.hashWriting"].as_deref(),
            Some("gomap::runtime::HASH_WRITING")
        );
        assert_eq!(c.tophash.len(), 6);
        assert_eq!(c.flags.len(), 4);
    }

    #[test]
    fn go_names_by_version() {
        // Go 1.24 with noswissmap: no runtime.bucketCnt, only the log2 under a new name.
        let g: HashMap<String, i64> = [
            ("internal/abi.OldMapBucketCountBits", 3),
            ("runtime.loadFactorNum", 12),
            ("runtime.loadFactorDen", 2),
            ("runtime.hashWriting", 4),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        let c = constants(Some(&g));
        assert_eq!(c.bucket_count, 8);
        assert_eq!(
            c.sources["bucket_count"].as_deref(),
            Some("1 << internal/abi.OldMapBucketCountBits")
        );
        assert_eq!(c.load_factor, 6.0);
        assert_eq!(c.source, "dwarf+algorithm");
        assert_eq!(c.sources["tophash.emptyOne"], None);
    }
}
