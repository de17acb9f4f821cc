//! Where the bytes and the length of a string value are: for `&str`, Rust's `String` and Go's
//! `string`, so that debuggers can render string keys, elems and fatal messages from raw memory.
//!
//! The layout is found by descending through the string type's members (a `String` holds a
//! `Vec<u8>`, which holds a `RawVec`, ... down to a `*const u8`) and taking the first pointer
//! leaf as the data and the member named `len` or `length` as the length. Nothing is assumed
//! about the order of fields, which Rust does not fix.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::error::Result;
use crate::types::TypeIndex;

/// A field's offset and size, relative to the start of the string value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Part {
    pub offset: u64,
    pub size: u64,
}

/// The layout of a string type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StringLayout {
    /// Always `string`.
    pub kind: &'static str,
    pub size: u64,
    /// `ptr`: the first byte; `len`: the length in bytes.
    pub fields: BTreeMap<&'static str, Part>,
}

/// The types mapscope knows as strings.
pub const STRING_TYPES: &[&str] = &["&str", "alloc::string::String", "string"];

/// Layouts of those of `names` that are string types and present in the binary.
pub fn layouts(index: &TypeIndex<'_>, names: &[&str]) -> BTreeMap<String, StringLayout> {
    let mut out = BTreeMap::new();
    for &name in names {
        if !STRING_TYPES.contains(&name) {
            continue;
        }
        if let Ok(Some(layout)) = layout(index, name) {
            out.insert(name.to_string(), layout);
        }
    }
    out
}

fn layout(index: &TypeIndex<'_>, name: &str) -> Result<Option<StringLayout>> {
    let Some(size) = struct_size(index, name)? else {
        return Ok(None);
    };
    let mut leaves = Vec::new();
    collect_leaves(index, name, 0, &mut leaves, 0)?;
    let ptr = leaves.iter().find(|l| is_pointer(&l.type_name));
    let len = leaves
        .iter()
        .find(|l| l.name == "len" || l.name == "length");
    Ok(match (ptr, len) {
        (Some(p), Some(l)) => Some(StringLayout {
            kind: "string",
            size,
            fields: BTreeMap::from([
                (
                    "ptr",
                    Part {
                        offset: p.offset,
                        size: p.size,
                    },
                ),
                (
                    "len",
                    Part {
                        offset: l.offset,
                        size: l.size,
                    },
                ),
            ]),
        }),
        _ => None,
    })
}

/// Pointer types as the inspector names them: Rust's `*const u8` or C's `u8 *`.
fn is_pointer(type_name: &str) -> bool {
    type_name.starts_with('*') || type_name.ends_with('*')
}

struct Leaf {
    name: String,
    offset: u64,
    size: u64,
    type_name: String,
}

fn struct_size(index: &TypeIndex<'_>, name: &str) -> Result<Option<u64>> {
    Ok(exact(index, name)?.map(|l| l.size))
}

/// The struct named exactly `name`, if the binary has one.
fn exact(index: &TypeIndex<'_>, name: &str) -> Result<Option<crate::types::Layout>> {
    match index.lookup(&[name], true) {
        Ok(found) => Ok(found
            .into_iter()
            .flat_map(|f| f.types)
            .find(|l| l.name == name)),
        Err(_) => Ok(None),
    }
}

fn collect_leaves(
    index: &TypeIndex<'_>,
    name: &str,
    base: u64,
    out: &mut Vec<Leaf>,
    depth: usize,
) -> Result<()> {
    let Some(l) = exact(index, name)? else {
        return Ok(());
    };
    for m in &l.members {
        let nested = depth < 8 && !is_pointer(&m.type_name) && !m.type_name.starts_with('&');
        let before = out.len();
        if nested && m.size > 0 {
            collect_leaves(index, &m.type_name, base + m.offset, out, depth + 1)?;
        }
        if out.len() == before {
            out.push(Leaf {
                name: m.name.clone(),
                offset: base + m.offset,
                size: m.size,
                type_name: m.type_name.clone(),
            });
        }
    }
    Ok(())
}
