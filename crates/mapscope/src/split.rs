//! Split DWARF (`-gsplit-dwarf`, DWARF 4 GNU and DWARF 5): the binary keeps only
//! skeleton units, and the entries (types, functions) are in `.dwo` files or in a
//! `.dwp` package beside the binary.
//!
//! Recipe, as gdb does it:
//! 1. [`skeletons`]: every skeleton unit's DWO id, `DW_AT_dwo_name` (or
//!    `DW_AT_GNU_dwo_name`) and `DW_AT_comp_dir`.
//! 2. A package `BIN.dwp` (or `DEBUGFILE.dwp`) is looked up first, by DWO id.
//! 3. Otherwise the `.dwo`: `comp_dir/dwo_name`, then `BIN_DIR/dwo_name`, then
//!    `BIN_DIR/basename(dwo_name)`. A candidate counts only if it holds a unit
//!    with the skeleton's DWO id: a `.dwo` left over from another build is not used.
//! 4. What is still missing is reported by [`Split::complete`] when an answer
//!    needs all units (type lookups), and named precisely.

use std::collections::HashMap;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use gimli::{EndianSlice, RunTimeEndian, SectionId, UnitType};

use crate::error::{Error, Result};
use crate::loader::{open_regular, parse_object, Binary, MappedFile, Sections, R};

/// A skeleton unit: where its split unit should be.
#[derive(Debug, Clone)]
pub struct Skeleton {
    pub dwo_id: u64,
    /// `DW_AT_dwo_name` (relative to `comp_dir` unless absolute).
    pub dwo_name: Option<PathBuf>,
    pub comp_dir: Option<PathBuf>,
}

/// The skeleton units of a DWARF. Units whose header cannot be read are left to
/// the scans that need them, which report the damage.
pub fn skeletons(dwarf: &gimli::Dwarf<R<'_>>) -> Vec<Skeleton> {
    use gimli::Section;
    // GNU split DWARF 4 marks skeletons only by attributes; such binaries always
    // have a .debug_addr, so plain DWARF 4 binaries pay nothing for this check.
    let gnu_possible = !dwarf.debug_addr.reader().is_empty();
    let mut out = Vec::new();
    let mut units = dwarf.units();
    while let Ok(Some(header)) = units.next() {
        let candidate = match header.type_() {
            UnitType::Skeleton(_) => true,
            UnitType::Compilation => gnu_possible && header.version() < 5,
            _ => false,
        };
        if !candidate {
            continue;
        }
        let Ok(unit) = dwarf.unit(header) else {
            continue;
        };
        let Some(id) = unit.dwo_id else { continue };
        let path = |v: R<'_>| PathBuf::from(OsStr::from_bytes(v.slice()));
        let dwo_name = unit
            .dwo_name()
            .ok()
            .flatten()
            .and_then(|v| dwarf.attr_string(&unit, v).ok())
            .map(path);
        out.push(Skeleton {
            dwo_id: id.0,
            dwo_name,
            comp_dir: unit.comp_dir.map(path),
        });
    }
    out
}

/// The DWO ids of the split compilation units of a split DWARF file.
pub fn dwo_ids(dwarf: &gimli::Dwarf<R<'_>>) -> Vec<u64> {
    let mut ids = Vec::new();
    let mut units = dwarf.units();
    while let Ok(Some(h)) = units.next() {
        match h.type_() {
            UnitType::SplitCompilation(id) => ids.push(id.0),
            UnitType::Compilation => {
                if let Some(id) = dwarf.unit(h).ok().and_then(|u| u.dwo_id) {
                    ids.push(id.0);
                }
            }
            _ => {}
        }
    }
    ids
}

/// Where a skeleton's `.dwo` may be, in the order they are tried.
pub fn candidates(sk: &Skeleton, bin_dir: &Path) -> Vec<PathBuf> {
    let Some(name) = &sk.dwo_name else {
        return Vec::new();
    };
    let mut out = Vec::new();
    if name.is_absolute() {
        out.push(name.clone());
    } else if let Some(dir) = &sk.comp_dir {
        out.push(dir.join(name));
    }
    if name.is_relative() {
        out.push(bin_dir.join(name));
    }
    if let Some(base) = name.file_name() {
        out.push(bin_dir.join(base));
    }
    let mut seen = std::collections::HashSet::new();
    out.retain(|p| seen.insert(p.clone()));
    out
}

/// The split DWARF files opened for a binary (kept in its [`MappedFile`]).
pub struct Files {
    packages: Vec<MappedFile>,
    dwos: Vec<MappedFile>,
    /// Per skeleton: each candidate path, and the index in `dwos` if it was opened.
    tried: Vec<Vec<(PathBuf, Option<usize>)>>,
}

fn open_files(skeletons: &[Skeleton], bin: &Path, dwarf_file: &Path) -> Files {
    let mut packages = Vec::new();
    for p in package_paths(bin, dwarf_file) {
        packages.extend(open_regular(&p));
    }
    let bin_dir = dir_of(bin);
    let mut dwos = Vec::new();
    let mut by_path: HashMap<PathBuf, Option<usize>> = HashMap::new();
    let mut tried = Vec::new();
    for sk in skeletons {
        let mut mine = Vec::new();
        for p in candidates(sk, &bin_dir) {
            let idx = *by_path.entry(p.clone()).or_insert_with(|| {
                open_regular(&p).map(|f| {
                    dwos.push(f);
                    dwos.len() - 1
                })
            });
            mine.push((p, idx));
        }
        tried.push(mine);
    }
    Files {
        packages,
        dwos,
        tried,
    }
}

/// The binary's directory, absolute (so that the places searched are shown
/// unambiguously, and the same place is not tried twice under two names).
pub(crate) fn dir_of(bin: &Path) -> PathBuf {
    let dir = match bin.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf())
}

/// Where a package may be: `BIN.dwp`, and `DEBUGFILE.dwp` for a separate debug file.
fn package_paths(bin: &Path, dwarf_file: &Path) -> Vec<PathBuf> {
    let abs = |p: &Path| match p.file_name() {
        Some(name) => dir_of(p).join(name),
        None => p.to_path_buf(),
    };
    let mut out = vec![with_suffix(&abs(bin), ".dwp")];
    if dwarf_file != bin {
        out.push(with_suffix(&abs(dwarf_file), ".dwp"));
    }
    out
}

fn with_suffix(p: &Path, suffix: &str) -> PathBuf {
    let mut s = p.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

/// One split DWARF file that supplies units.
struct SplitFile<'data> {
    path: PathBuf,
    sections: Sections<'data>,
}

/// The split units of a binary, and what could not be found.
#[derive(Default)]
pub(crate) struct Split<'data> {
    files: Vec<SplitFile<'data>>,
    /// (index in `files`, row in the package index, or `None` for a whole `.dwo`).
    units: Vec<(usize, Option<u32>)>,
    /// A package given directly: every row of its own index is a unit.
    own_package: bool,
    missing: Vec<(PathBuf, Vec<PathBuf>)>,
    /// `.dwo` files found that belong to another build.
    wrong: Vec<(PathBuf, String)>,
    /// Packages found that hold none of the units.
    stale_packages: Vec<(PathBuf, String)>,
    /// Files found that cannot be read (the error says why).
    unreadable: Vec<Error>,
}

/// Finds the split units of `bin`, opening files through `slot` (none when the
/// binary did not come from a file).
pub(crate) fn resolve<'data>(
    bin: &Binary<'data>,
    slot: Option<&'data OnceLock<Files>>,
) -> Result<Split<'data>> {
    let main = bin.dwarf();
    let mut split = Split::default();
    if is_package(bin) {
        split.own_package = true;
        return Ok(split);
    }
    let skeletons = skeletons(&main);
    if skeletons.is_empty() {
        return Ok(split);
    }
    let Some(slot) = slot else {
        for sk in &skeletons {
            split.missing.push((describe(sk), Vec::new()));
        }
        return Ok(split);
    };
    let files = slot.get_or_init(|| open_files(&skeletons, bin.path(), bin.dwarf_path()));
    let mut done = vec![false; skeletons.len()];
    for pkg in &files.packages {
        // A package's problems matter only if some unit is then found nowhere else.
        let Some(sections) = split.load(pkg) else {
            continue;
        };
        let fi = split.files.len();
        let index =
            match gimli::DebugCuIndex::new(sections.get(SectionId::DebugCuIndex), bin.endian())
                .index()
            {
                Ok(i) => i,
                Err(e) => {
                    split.unreadable.push(Error::CorruptElf {
                        path: pkg.path().to_path_buf(),
                        detail: format!(".debug_cu_index: {}", crate::error::dwarf_message(&e)),
                    });
                    continue;
                }
            };
        let mut used = false;
        for (k, sk) in skeletons.iter().enumerate() {
            if let Some(row) = index.find(sk.dwo_id) {
                split.units.push((fi, Some(row)));
                done[k] = true;
                used = true;
            }
        }
        if used {
            split.files.push(SplitFile {
                path: pkg.path().to_path_buf(),
                sections,
            });
        } else {
            split.stale_packages.push((
                pkg.path().to_path_buf(),
                "it holds none of the binary's split units (DWO ids differ)".into(),
            ));
        }
    }
    // Each .dwo file is read once, even if several skeletons point at it.
    let mut loaded: HashMap<usize, Option<(usize, Vec<u64>)>> = HashMap::new();
    for (k, sk) in skeletons.iter().enumerate() {
        if done[k] {
            continue;
        }
        let mut wrong_here = None;
        for (path, idx) in &files.tried[k] {
            let Some(idx) = *idx else { continue };
            let entry = loaded
                .entry(idx)
                .or_insert_with(|| split.load_dwo(&files.dwos[idx], bin.endian()));
            match entry {
                Some((fi, ids)) if ids.contains(&sk.dwo_id) => {
                    if !split.units.contains(&(*fi, None)) {
                        split.units.push((*fi, None));
                    }
                    done[k] = true;
                    break;
                }
                Some((_, ids)) if wrong_here.is_none() => {
                    wrong_here = Some((
                        path.clone(),
                        format!(
                            "its DWO id is {}, the binary's skeleton unit wants {:#018x} (rebuilt since?)",
                            ids.first().map_or("missing".into(), |i| format!("{i:#018x}")),
                            sk.dwo_id
                        ),
                    ));
                }
                _ => {}
            }
        }
        if !done[k] {
            match wrong_here {
                Some(w) => split.wrong.push(w),
                None => {
                    let mut c = candidates(sk, &dir_of(bin.path())).into_iter();
                    let first = c.next().unwrap_or_else(|| describe(sk));
                    let mut searched: Vec<PathBuf> = c.collect();
                    searched.extend(package_paths(bin.path(), bin.dwarf_path()));
                    split.missing.push((first, searched));
                }
            }
        }
    }
    Ok(split)
}

/// A package (`.dwp`) given directly.
fn is_package(bin: &Binary<'_>) -> bool {
    !bin.section(SectionId::DebugCuIndex).is_empty()
}

/// A name for a skeleton whose unit carries no `.dwo` name.
fn describe(sk: &Skeleton) -> PathBuf {
    match &sk.dwo_name {
        Some(n) => sk
            .comp_dir
            .as_ref()
            .map_or_else(|| n.clone(), |d| d.join(n)),
        None => PathBuf::from(format!("(unnamed, DWO id {:#018x})", sk.dwo_id)),
    }
}

impl<'data> Split<'data> {
    /// The split sections of a file, or `None` (noted in `unreadable`) if it cannot be read.
    fn load(&mut self, file: &'data MappedFile) -> Option<Sections<'data>> {
        let read = || -> Result<Sections<'data>> {
            let obj = parse_object(file.path(), file.bytes())?;
            Sections::load(file.path(), &obj, file.bytes(), true)
        };
        match read() {
            Ok(s) => Some(s),
            Err(e) => {
                self.unreadable.push(e);
                None
            }
        }
    }

    /// Loads a `.dwo` and returns its index in `files` and the DWO ids of its units.
    fn load_dwo(
        &mut self,
        file: &'data MappedFile,
        endian: RunTimeEndian,
    ) -> Option<(usize, Vec<u64>)> {
        let sections = self.load(file)?;
        let ids = dwo_ids(&sections.dwarf(endian));
        self.files.push(SplitFile {
            path: file.path().to_path_buf(),
            sections,
        });
        Some((self.files.len() - 1, ids))
    }

    /// Bytes of DWARF in split files.
    pub(crate) fn size(&self) -> u64 {
        self.files
            .iter()
            .map(|f| f.sections.get(SectionId::DebugInfo).len() as u64)
            .sum()
    }

    /// Fails if a split unit is missing, from another build, or unreadable.
    pub(crate) fn complete(&self) -> Result<()> {
        if self.missing.is_empty() && self.wrong.is_empty() {
            // Every unit was found: a stale or broken package beside them did not matter.
            return Ok(());
        }
        if let Some(e) = self.unreadable.first() {
            return Err(Error::SplitDwarfUnreadable(e.to_string()));
        }
        if let Some((path, detail)) = self.wrong.first().or(self.stale_packages.first()) {
            return Err(Error::SplitDwarfMismatch {
                path: path.clone(),
                detail: detail.clone(),
            });
        }
        if let Some((path, searched)) = self.missing.first() {
            return Err(Error::SplitDwarfMissing {
                path: path.clone(),
                searched: searched.clone(),
                more: self.missing.len() - 1,
            });
        }
        Ok(())
    }

    /// A gimli view of every split unit's file (or package contribution).
    /// `own` are the binary's own sections, used when it is itself a package.
    pub(crate) fn dwarfs<'a>(
        &'a self,
        main: &gimli::Dwarf<R<'a>>,
        own: (&'a Sections<'_>, &'a Path),
        endian: RunTimeEndian,
    ) -> Result<Vec<(gimli::Dwarf<R<'a>>, &'a Path)>> {
        let mut out = Vec::new();
        if self.own_package {
            let (sections, path) = own;
            let pkg = package(sections, endian)?;
            for row in 1..=pkg.cu_index.unit_count() {
                out.push((pkg.cu_sections(row, main)?, path));
            }
            return Ok(out);
        }
        let mut packages: HashMap<usize, gimli::DwarfPackage<R<'a>>> = HashMap::new();
        // addr2line reads a skeleton's line table through its split unit's Dwarf;
        // DWARF 5 line tables keep their strings in the binary's .debug_line_str.
        let line_str = |mut d: gimli::Dwarf<R<'a>>| {
            d.debug_line_str = main.debug_line_str;
            d
        };
        for &(fi, row) in &self.units {
            let f = &self.files[fi];
            let dwarf = match row {
                None => {
                    let mut d = f.sections.dwarf(endian);
                    d.make_dwo(main);
                    if f.sections.get(SectionId::DebugRngLists).is_empty() {
                        // gcc's DWARF 5 .dwo files give DW_AT_ranges as an offset into
                        // the binary's .debug_rnglists (DW_FORM_sec_offset), as gdb knows.
                        d.ranges = gimli::RangeLists::new(
                            *d.ranges.debug_ranges(),
                            *main.ranges.debug_rnglists(),
                        );
                    }
                    d
                }
                Some(row) => {
                    if let std::collections::hash_map::Entry::Vacant(e) = packages.entry(fi) {
                        e.insert(package(&f.sections, endian)?);
                    }
                    match packages.get(&fi) {
                        Some(pkg) => pkg.cu_sections(row, main)?,
                        None => continue,
                    }
                }
            };
            out.push((line_str(dwarf), f.path.as_path()));
        }
        Ok(out)
    }
}

fn package<'a>(
    sections: &'a Sections<'_>,
    endian: RunTimeEndian,
) -> Result<gimli::DwarfPackage<R<'a>>> {
    let load = |id: SectionId| -> std::result::Result<R<'a>, gimli::Error> {
        Ok(EndianSlice::new(sections.get(id), endian))
    };
    Ok(gimli::DwarfPackage::load(
        load,
        EndianSlice::new(&[], endian),
    )?)
}
