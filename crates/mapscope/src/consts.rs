//! Named constants (`DW_TAG_constant` with `DW_AT_const_value`), which Go's linker
//! emits for package-level constants such as `runtime.hashWriting`.

use std::collections::HashMap;

use gimli::constants as dw;
use gimli::AttributeValue;

use crate::error::Result;
use crate::loader::Binary;
use crate::scan;
use crate::types::attr_str;

/// Every `runtime.*` integer constant in the binary's DWARF, by name.
pub fn go_constants(bin: &Binary<'_>) -> Result<HashMap<String, i64>> {
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
                if n.starts_with("runtime.") {
                    out.push((n.to_string(), v));
                }
            }
        }
        Ok(out)
    })?;
    Ok(per_unit.into_iter().flatten().collect())
}
