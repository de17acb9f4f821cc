//! Facts about a Go binary's runtime that a debugger needs besides maps: the Go version it was
//! built with, and how to find the current goroutine and name goroutines and threads.
//!
//! - Version: `runtime.buildVersion` is a Go string variable; its symbol points at the string
//!   header (data pointer, length), whose bytes are read from the file (`go1.19.8`,
//!   `go1.24.13 X:noswissmap`).
//! - Goroutines: the layouts of `runtime.g` and `runtime.m` (the fields a debugger names
//!   goroutines and threads with) from DWARF, and where the current `g` is: the register Go's
//!   internal ABI reserves for it, and its thread-local slot.

use std::collections::BTreeMap;

use object::{Object, ObjectSection, ObjectSymbol, SectionKind};
use serde::Serialize;

use crate::error::Result;
use crate::loader::Binary;
use crate::types::{Layout, TypeIndex};

/// The bytes at `[addr, addr + len)` of the file image, when a section with file contents
/// covers them.
pub fn read_at<'d>(bin: &Binary<'d>, addr: u64, len: u64) -> Option<&'d [u8]> {
    let obj = bin.object();
    for s in obj.sections() {
        if s.kind() == SectionKind::UninitializedData || s.kind() == SectionKind::UninitializedTls {
            continue;
        }
        let (start, size) = (s.address(), s.size());
        if start <= addr && addr.checked_add(len)? <= start.checked_add(size)? && start != 0 {
            let data = s.data().ok()?;
            let off = usize::try_from(addr - start).ok()?;
            return data.get(off..off.checked_add(usize::try_from(len).ok()?)?);
        }
    }
    None
}

fn symbol_address(bin: &Binary<'_>, name: &str) -> Option<(u64, u64)> {
    bin.symbol_object()
        .symbols()
        .find(|s| s.name() == Ok(name))
        .map(|s| (s.address(), s.size()))
}

/// `runtime.buildVersion`, the Go version the binary was built with.
pub fn build_version(bin: &Binary<'_>) -> Option<String> {
    let (addr, _) = symbol_address(bin, "runtime.buildVersion")?;
    let ptr_size = u64::from(bin.address_size());
    let header = read_at(bin, addr, 2 * ptr_size)?;
    let word = |b: &[u8]| -> Option<u64> {
        Some(match (ptr_size, bin.object().is_little_endian()) {
            (8, true) => u64::from_le_bytes(b.try_into().ok()?),
            (8, false) => u64::from_be_bytes(b.try_into().ok()?),
            (4, true) => u64::from(u32::from_le_bytes(b.try_into().ok()?)),
            (4, false) => u64::from(u32::from_be_bytes(b.try_into().ok()?)),
            _ => return None,
        })
    };
    let (p, n) = header.split_at(usize::try_from(ptr_size).ok()?);
    let (data, len) = (word(p)?, word(n)?);
    if len == 0 || len > 256 {
        return None;
    }
    let bytes = read_at(bin, data, len)?;
    String::from_utf8(bytes.to_vec()).ok()
}

/// The release of a build version: `go1.24.13 X:noswissmap` → `go1.24.13`.
pub fn release(version: &str) -> &str {
    version.split_whitespace().next().unwrap_or(version)
}

/// `(major, minor)` of a release such as `go1.22.12` or `go1.21rc2`.
pub fn major_minor(version: &str) -> Option<(u32, u32)> {
    let v = release(version).strip_prefix("go")?;
    let mut parts = v.split('.');
    let major = parts.next()?.parse().ok()?;
    let minor: String = parts
        .next()?
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    Some((major, minor.parse().ok()?))
}

/// A field of `runtime.g` or `runtime.m`.
#[derive(Debug, Clone, Serialize)]
pub struct GField {
    pub offset: u64,
    pub size: u64,
    #[serde(rename = "type")]
    pub type_name: String,
}

/// The fields of a runtime struct that a debugger reads.
#[derive(Debug, Clone, Serialize)]
pub struct GStruct {
    pub name: String,
    pub size: u64,
    pub fields: BTreeMap<String, GField>,
}

/// Where the current goroutine's `g` is.
#[derive(Debug, Clone, Serialize)]
pub struct GTls {
    /// The thread pointer register as debuggers name it (`fs_base`).
    pub register: String,
    /// `g` is the pointer stored at thread pointer + offset.
    pub offset: i64,
}

/// The `runtime` section of a Go profile.
#[derive(Debug, Clone, Serialize)]
pub struct Runtime {
    /// `runtime.g`: `goid`, `m`, `atomicstatus`, `startpc`, `gopc`, `labels` (when present).
    pub g: Option<GStruct>,
    /// `runtime.m`: `procid` (the thread's LWP on Linux), `curg`, `id`.
    pub m: Option<GStruct>,
    /// The register that holds the current `g` while a thread runs Go code compiled for Go's
    /// internal register ABI (amd64 from Go 1.17: `r14`; arm64: `x28`), or null.
    pub g_register: Option<String>,
    /// The thread-local slot that holds the current `g` whenever a thread runs Go code, or null.
    pub g_tls: Option<GTls>,
    /// `runtime._G*` goroutine status constants (`_Grunning`: 2, ...) from DWARF.
    pub goroutine_status: BTreeMap<String, i64>,
}

const G_FIELDS: &[&str] = &["goid", "m", "atomicstatus", "startpc", "gopc", "labels"];
const M_FIELDS: &[&str] = &["procid", "curg", "id"];

fn gstruct(index: &TypeIndex<'_>, name: &str, wanted: &[&str]) -> Result<Option<GStruct>> {
    let found = match index.lookup(&[name], true) {
        Ok(f) => f,
        Err(crate::Error::TypeNotFound { .. }) => return Ok(None),
        Err(e) => return Err(e),
    };
    let Some(l): Option<Layout> = found
        .into_iter()
        .flat_map(|f| f.types)
        .find(|l| l.name == name)
    else {
        return Ok(None);
    };
    let fields = l
        .members
        .iter()
        .filter(|m| wanted.contains(&m.name.as_str()))
        .map(|m| {
            (
                m.name.clone(),
                GField {
                    offset: m.offset,
                    size: m.size,
                    type_name: m.type_name.clone(),
                },
            )
        })
        .collect();
    Ok(Some(GStruct {
        name: l.name,
        size: l.size,
        fields,
    }))
}

/// The thread-local slot of `g` on linux/amd64. When Go's linker links the program itself there
/// is no TLS segment and it places `g` at -8 from the thread pointer; with an external linker
/// (cgo) `runtime.tlsg` is a TLS symbol in the executable's TLS block, which ends at the thread
/// pointer (x86-64 TLS variant II).
fn g_tls(bin: &Binary<'_>, go_version: Option<&str>) -> Option<GTls> {
    let obj = bin.object();
    if obj.architecture() != object::Architecture::X86_64 || go_version.is_none() {
        return None;
    }
    let offset = match (tls_segment(bin), symbol_address(bin, "runtime.tlsg")) {
        (Some((memsz, align)), Some((value, _))) => {
            let block = memsz.div_ceil(align.max(1)) * align.max(1);
            i64::try_from(value).ok()? - i64::try_from(block).ok()?
        }
        _ => -8,
    };
    Some(GTls {
        register: "fs_base".to_string(),
        offset,
    })
}

/// `(p_memsz, p_align)` of the PT_TLS program header, if any.
fn tls_segment(bin: &Binary<'_>) -> Option<(u64, u64)> {
    use object::read::elf::ProgramHeader;
    let object::File::Elf64(elf) = bin.object() else {
        return None;
    };
    let endian = elf.endian();
    elf.elf_program_headers()
        .iter()
        .find(|p| p.p_type(endian) == object::elf::PT_TLS)
        .map(|p| (p.p_memsz(endian), p.p_align(endian)))
}

/// Goroutine statuses are `_G` and a lower-case word (`_Grunning`, `_Gscanwaiting`); other
/// `_G` constants (`_GCoff`, `_GoidCacheBatch`) are not.
fn is_status(name: &str) -> bool {
    let Some(rest) = name.strip_prefix("_G") else {
        return false;
    };
    rest.starts_with(|c: char| c.is_ascii_lowercase())
        && rest.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !rest.starts_with("oid")
}

/// The `runtime` section for a Go binary.
pub fn runtime(
    bin: &Binary<'_>,
    index: &TypeIndex<'_>,
    go_version: Option<&str>,
    constants: &std::collections::HashMap<String, i64>,
) -> Result<Runtime> {
    let arch = bin.object().architecture();
    let g_register = match (arch, go_version.and_then(major_minor)) {
        (object::Architecture::X86_64, Some(v)) if v >= (1, 17) => Some("r14".to_string()),
        (object::Architecture::Aarch64, Some(_)) => Some("x28".to_string()),
        _ => None,
    };
    Ok(Runtime {
        g: gstruct(index, "runtime.g", G_FIELDS)?,
        m: gstruct(index, "runtime.m", M_FIELDS)?,
        g_register,
        g_tls: g_tls(bin, go_version),
        goroutine_status: constants
            .iter()
            .filter_map(|(k, v)| {
                let name = k.strip_prefix("runtime.")?;
                is_status(name).then(|| (name.to_string(), *v))
            })
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions() {
        assert_eq!(release("go1.24.13 X:noswissmap"), "go1.24.13");
        assert_eq!(major_minor("go1.24.13 X:noswissmap"), Some((1, 24)));
        assert_eq!(major_minor("go1.21rc2"), Some((1, 21)));
        assert_eq!(major_minor("devel +abc"), None);
        assert!(is_status("_Grunning") && is_status("_Gscanwaiting"));
        assert!(!is_status("_GCoff") && !is_status("_GoidCacheBatch") && !is_status("_G"));
    }
}
