//! Loading an ELF binary: its bytes, its DWARF sections (decompressed when
//! `SHF_COMPRESSED`), build-id, and the handle that the other modules share.
//!
//! The DWARF may live elsewhere, and is followed as gdb does:
//! - a stripped binary's separate debug file, by build-id or `.gnu_debuglink`
//!   ([`crate::debuglink`]);
//! - split DWARF: skeleton units name `.dwo` files, or a `BIN.dwp` package holds
//!   them ([`crate::split`]); a `.dwo` or `.dwp` can also be given directly.
//!
//! ```no_run
//! let file = mapscope::loader::MappedFile::open("target/debug/grow".as_ref())?;
//! let bin = mapscope::loader::Binary::parse(&file)?;
//! println!("{:?}", bin.build_id_hex());
//! # Ok::<(), mapscope::Error>(())
//! ```

use std::borrow::Cow;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use gimli::{EndianSlice, RunTimeEndian, SectionId};
use object::{Object, ObjectSection};

use crate::debuglink;
use crate::error::{Error, Result};
use crate::split;

/// The reader type used for all DWARF parsing.
pub type R<'a> = EndianSlice<'a, RunTimeEndian>;

/// The most mapscope reads from a pipe (a regular file is mapped, whatever its size).
pub const MAX_PIPE_BYTES: u64 = 4 << 30;

/// A file's bytes: memory-mapped, or owned (empty files cannot be mapped; pipes
/// are read to their end). Files found while parsing it (a separate debug file,
/// split DWARF files) are kept here too, so that they live as long as the
/// [`Binary`] that borrows all of them.
pub struct MappedFile {
    path: PathBuf,
    map: Option<memmap2::Mmap>,
    owned: Vec<u8>,
    debug_file: OnceLock<debuglink::Lookup>,
    split_files: OnceLock<split::Files>,
}

impl MappedFile {
    /// Opens `path`: a regular file is memory-mapped; a pipe or FIFO is read to its
    /// end (opening never waits for a writer); anything else is refused.
    pub fn open(path: &Path) -> Result<MappedFile> {
        use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
        let open_err = |source| Error::Open {
            path: path.to_path_buf(),
            source,
        };
        // Refuse devices and sockets before opening them: opening a device can have
        // effects (a tape rewinds) or wait (a terminal, a modem line).
        let meta = std::fs::metadata(path).map_err(open_err)?;
        refuse_special(path, &meta.file_type())?;
        // O_NONBLOCK: opening a FIFO without a writer would otherwise wait forever.
        // The file may have been replaced since `metadata`, so check again on the fd.
        let file = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
            .open(path)
            .map_err(open_err)?;
        let meta = file.metadata().map_err(open_err)?;
        let ft = meta.file_type();
        refuse_special(path, &ft)?;
        if ft.is_fifo() {
            let owned = read_pipe(path, file)?;
            return Ok(Self::from_parts(path, None, owned));
        }
        if meta.len() == 0 {
            return Ok(Self::from_parts(path, None, Vec::new()));
        }
        // SAFETY: the file is opened read-only; as with every debugger, a concurrent
        // modification of the binary while we read it is outside our control.
        let map = unsafe { memmap2::Mmap::map(&file) }.map_err(open_err)?;
        Ok(Self::from_parts(path, Some(map), Vec::new()))
    }

    fn from_parts(path: &Path, map: Option<memmap2::Mmap>, owned: Vec<u8>) -> MappedFile {
        MappedFile {
            path: path.to_path_buf(),
            map,
            owned,
            debug_file: OnceLock::new(),
            split_files: OnceLock::new(),
        }
    }

    /// Wraps bytes already in memory (used by tests and the fuzzer).
    pub fn from_bytes(path: &Path, bytes: Vec<u8>) -> MappedFile {
        Self::from_parts(path, None, bytes)
    }

    /// The file's contents.
    pub fn bytes(&self) -> &[u8] {
        match &self.map {
            Some(m) => m,
            None => &self.owned,
        }
    }

    /// The path the file was opened from.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Opens `path` if it is a regular file (for files whose names come from the
/// binary: a candidate path must not make us read a device or a pipe).
pub(crate) fn open_regular(path: &Path) -> Option<MappedFile> {
    if !std::fs::metadata(path).is_ok_and(|m| m.is_file()) {
        return None;
    }
    MappedFile::open(path).ok()
}

/// Directories, devices and sockets are not binaries.
fn refuse_special(path: &Path, ft: &std::fs::FileType) -> Result<()> {
    use std::os::unix::fs::FileTypeExt;
    if ft.is_dir() {
        return Err(Error::IsDirectory(path.to_path_buf()));
    }
    let kind = if ft.is_char_device() {
        "character device"
    } else if ft.is_block_device() {
        "block device"
    } else if ft.is_socket() {
        "socket"
    } else {
        return Ok(());
    };
    Err(Error::NotRegular {
        path: path.to_path_buf(),
        kind,
    })
}

/// Reads a pipe to its end (at most [`MAX_PIPE_BYTES`]). With no writer there is
/// nothing to read; input that does not start like ELF is not read further.
fn read_pipe(path: &Path, file: std::fs::File) -> Result<Vec<u8>> {
    use std::os::fd::AsRawFd;
    let io_err = |source| Error::Open {
        path: path.to_path_buf(),
        source,
    };
    // Back to blocking reads: a writer that is slow to write is waited for, like `cat`
    // would. A FIFO that no process has open for writing reads as end of file.
    let fd = file.as_raw_fd();
    // SAFETY: fcntl on a file descriptor we own, with integer arguments only.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    if flags < 0 || unsafe { libc::fcntl(fd, libc::F_SETFL, flags & !libc::O_NONBLOCK) } < 0 {
        return Err(io_err(std::io::Error::last_os_error()));
    }
    let mut head = Vec::new();
    (&file).take(4).read_to_end(&mut head).map_err(io_err)?;
    if head.is_empty() {
        return Err(Error::NoWriter(path.to_path_buf()));
    }
    if head.as_slice() != b"\x7fELF" {
        // Not ELF: the rest (perhaps endless, like `<(yes)`) is not needed to say so.
        return Ok(head);
    }
    let mut rest = Vec::new();
    (&file)
        .take(MAX_PIPE_BYTES - 4 + 1)
        .read_to_end(&mut rest)
        .map_err(io_err)?;
    if rest.len() as u64 > MAX_PIPE_BYTES - 4 {
        return Err(Error::TooLarge {
            path: path.to_path_buf(),
            limit: MAX_PIPE_BYTES,
        });
    }
    head.extend_from_slice(&rest);
    Ok(head)
}

/// DWARF sections of one file, by [`SectionId`]; in a split DWARF file (`.dwo`,
/// `.dwp`) they are read from the `.dwo`-suffixed sections.
pub(crate) struct Sections<'data> {
    list: Vec<(SectionId, Cow<'data, [u8]>)>,
    /// Read from `.dwo` sections.
    pub(crate) dwo: bool,
}

/// The DWARF sections mapscope loads.
pub const DWARF_SECTIONS: &[SectionId] = &[
    SectionId::DebugAbbrev,
    SectionId::DebugAddr,
    SectionId::DebugInfo,
    SectionId::DebugLine,
    SectionId::DebugLineStr,
    SectionId::DebugLoc,
    SectionId::DebugLocLists,
    SectionId::DebugRanges,
    SectionId::DebugRngLists,
    SectionId::DebugStr,
    SectionId::DebugStrOffsets,
    SectionId::DebugTypes,
    SectionId::DebugAranges,
];

/// The sections a split DWARF file can hold (read by their `.dwo` names).
const DWO_SECTIONS: &[SectionId] = &[
    SectionId::DebugAbbrev,
    SectionId::DebugInfo,
    SectionId::DebugLine,
    SectionId::DebugLoc,
    SectionId::DebugLocLists,
    SectionId::DebugRngLists,
    SectionId::DebugStr,
    SectionId::DebugStrOffsets,
    SectionId::DebugTypes,
    SectionId::DebugCuIndex,
    SectionId::DebugTuIndex,
];

impl<'data> Sections<'data> {
    /// Loads the regular (`dwo == false`) or split (`dwo == true`) DWARF sections.
    pub(crate) fn load(
        path: &Path,
        object: &object::File<'data>,
        data: &'data [u8],
        dwo: bool,
    ) -> Result<Sections<'data>> {
        let ids = if dwo { DWO_SECTIONS } else { DWARF_SECTIONS };
        let mut list = Vec::new();
        for &id in ids {
            let Some(name) = (if dwo { id.dwo_name() } else { Some(id.name()) }) else {
                continue;
            };
            // Type units in COMDAT groups (-fdebug-types-section) come one section
            // each, under one name: they are read as one section, concatenated.
            let mut parts = Vec::new();
            for section in object.sections() {
                if section.name().ok() == Some(name)
                    || (section.name().ok() == Some(&name.replacen(".debug_", ".zdebug_", 1)))
                {
                    parts.push(section_bytes(path, &section, name, data.len() as u64)?);
                }
            }
            let bytes = match parts.len() {
                0 => continue,
                1 => parts.remove(0),
                _ => Cow::Owned(parts.concat()),
            };
            list.push((id, bytes));
        }
        Ok(Sections { list, dwo })
    }

    /// Bytes of a section; empty if absent.
    pub(crate) fn get(&self, id: SectionId) -> &[u8] {
        self.list
            .iter()
            .find(|(s, _)| *s == id)
            .map(|(_, d)| d.as_ref())
            .unwrap_or(&[])
    }

    fn total(&self) -> u64 {
        self.list.iter().map(|(_, d)| d.len() as u64).sum()
    }

    /// A gimli view of these sections.
    pub(crate) fn dwarf(&self, endian: RunTimeEndian) -> gimli::Dwarf<R<'_>> {
        let load = |id: SectionId| -> std::result::Result<R<'_>, std::convert::Infallible> {
            Ok(EndianSlice::new(self.get(id), endian))
        };
        let mut d = match gimli::Dwarf::load(load) {
            Ok(d) => d,
            Err(never) => match never {},
        };
        if self.dwo {
            d.file_type = gimli::DwarfFileType::Dwo;
            if !self.get(SectionId::DebugCuIndex).is_empty() {
                // A package's units are only readable through its index (their
                // abbreviation offsets are relative to their contribution).
                d.debug_info = gimli::DebugInfo::new(&[], endian);
            }
        }
        d
    }
}

/// A section's bytes, decompressed if needed. A section that does not fit in the
/// file, or claims an impossible uncompressed size, is a corrupt file.
fn section_bytes<'data>(
    path: &Path,
    section: &object::Section<'data, '_>,
    name: &str,
    file_len: u64,
) -> Result<Cow<'data, [u8]>> {
    let corrupt = |detail: String| Error::CorruptElf {
        path: path.to_path_buf(),
        detail,
    };
    // Checked here because `object` reports a section past the end of the file as
    // "Invalid compressed data size or offset", even when nothing is compressed.
    if let Some((offset, size)) = section.file_range() {
        if offset.checked_add(size).map_or(true, |end| end > file_len) {
            return Err(corrupt(format!(
                "section {name} (offset {offset}, size {size}) runs past the end of the file \
                 ({file_len} bytes)"
            )));
        }
    }
    let cd = section
        .compressed_data()
        .map_err(|e| corrupt(format!("section {name}: compression header: {e}")))?;
    // zlib cannot expand more than ~1032:1; refuse absurd sizes before allocating.
    let limit = (cd.data.len() as u64)
        .saturating_mul(1100)
        .saturating_add(4096);
    if cd.format != object::CompressionFormat::None && cd.uncompressed_size > limit {
        return Err(corrupt(format!(
            "section {name} claims {} bytes uncompressed from {} bytes",
            cd.uncompressed_size,
            cd.data.len()
        )));
    }
    cd.decompress()
        .map_err(|e| corrupt(format!("section {name}: {e}")))
}

/// The separate debug file whose DWARF a stripped binary uses.
struct DebugFile<'data> {
    path: PathBuf,
    object: object::File<'data>,
}

/// A parsed ELF binary with its DWARF sections ready for gimli.
pub struct Binary<'data> {
    path: PathBuf,
    data: &'data [u8],
    object: object::File<'data>,
    endian: RunTimeEndian,
    /// Set when the DWARF comes from a separate debug file.
    debug_file: Option<DebugFile<'data>>,
    sections: Sections<'data>,
    split: split::Split<'data>,
    build_id: Option<Vec<u8>>,
    go_build_id: Option<String>,
}

/// One DWARF with type information, and where its `.debug_info` and
/// `.debug_types` offsets start in the numbering shared by all of a binary's
/// DWARF (see [`Binary::dwarf_sources`]).
pub struct Source<'a> {
    pub dwarf: gimli::Dwarf<R<'a>>,
    /// Added to this DWARF's `.debug_info` offsets to make them unique across sources.
    pub base: usize,
    /// Added to this DWARF's `.debug_types` offsets (DWARF 4 type units).
    pub types_base: usize,
    /// The file it was read from.
    pub path: &'a Path,
}

impl<'data> Binary<'data> {
    /// Parses the ELF file and loads (decompressing where needed) its DWARF
    /// sections, following a separate debug file and split DWARF files.
    ///
    /// Errors: [`Error::NotElf`], [`Error::CorruptElf`], [`Error::NoDebugInfo`],
    /// [`Error::DebugFileMissing`], [`Error::DebugFileMismatch`].
    pub fn parse(file: &'data MappedFile) -> Result<Binary<'data>> {
        Self::load(file.path(), file.bytes(), Some(file))
    }

    /// Like [`Binary::parse`], from a byte slice, without looking for other files.
    pub fn parse_bytes(path: &Path, data: &'data [u8]) -> Result<Binary<'data>> {
        Self::load(path, data, None)
    }

    fn load(
        path: &Path,
        data: &'data [u8],
        file: Option<&'data MappedFile>,
    ) -> Result<Binary<'data>> {
        let object = parse_object(path, data)?;
        let endian = if object.is_little_endian() {
            RunTimeEndian::Little
        } else {
            RunTimeEndian::Big
        };
        let build_id = object.build_id().ok().flatten().map(|b| b.to_vec());
        let go_build_id = object
            .section_by_name(".note.go.buildid")
            .and_then(|s| s.data().ok())
            .and_then(|d| parse_go_note(d, endian));
        let mut sections = Sections::load(path, &object, data, false)?;
        let mut debug_file = None;
        if sections.get(SectionId::DebugInfo).is_empty() {
            let dwo = Sections::load(path, &object, data, true)?;
            if !dwo.get(SectionId::DebugInfo).is_empty() {
                // A .dwo or .dwp given directly.
                sections = dwo;
            } else if let Some(file) = file {
                let (d, s) = Self::separate_debug(path, &object, file)?;
                debug_file = Some(d);
                sections = s;
            } else {
                return Err(Error::NoDebugInfo(path.to_path_buf()));
            }
        }
        let mut bin = Binary {
            path: path.to_path_buf(),
            data,
            object,
            endian,
            debug_file,
            sections,
            split: split::Split::default(),
            build_id,
            go_build_id,
        };
        bin.split = split::resolve(&bin, file.map(|f| &f.split_files))?;
        Ok(bin)
    }

    /// The stripped binary's separate debug file and its DWARF sections.
    fn separate_debug(
        path: &Path,
        object: &object::File<'data>,
        file: &'data MappedFile,
    ) -> Result<(DebugFile<'data>, Sections<'data>)> {
        let found = file
            .debug_file
            .get_or_init(|| debuglink::lookup(path, object));
        let dbg = match found {
            debuglink::Lookup::NotLinked => return Err(Error::NoDebugInfo(path.to_path_buf())),
            debuglink::Lookup::Missing { wanted, searched } => {
                return Err(Error::DebugFileMissing {
                    path: path.to_path_buf(),
                    wanted: wanted.clone(),
                    searched: searched.clone(),
                })
            }
            debuglink::Lookup::Mismatch { found, detail } => {
                return Err(Error::DebugFileMismatch {
                    path: path.to_path_buf(),
                    found: found.clone(),
                    detail: detail.clone(),
                })
            }
            debuglink::Lookup::Found(dbg) => dbg,
        };
        let dpath = dbg.path();
        let dobj = parse_object(dpath, dbg.bytes())?;
        let sections = Sections::load(dpath, &dobj, dbg.bytes(), false)?;
        if sections.get(SectionId::DebugInfo).is_empty() {
            return Err(Error::NoDebugInfo(dpath.to_path_buf()));
        }
        Ok((
            DebugFile {
                path: dpath.to_path_buf(),
                object: dobj,
            },
            sections,
        ))
    }

    /// The path this binary was loaded from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The file the DWARF was read from: the binary, or its separate debug file.
    pub fn dwarf_path(&self) -> &Path {
        self.debug_file.as_ref().map_or(&self.path, |d| &d.path)
    }

    /// The size of the file in bytes.
    pub fn file_size(&self) -> u64 {
        self.data.len() as u64
    }

    /// The parsed ELF object (symbols, sections).
    pub fn object(&self) -> &object::File<'data> {
        &self.object
    }

    /// The object whose symbol table describes the binary's functions: the binary's
    /// own, or, when it was stripped of it, the separate debug file's.
    pub fn symbol_object(&self) -> &object::File<'data> {
        match &self.debug_file {
            Some(d) if self.object.symbols().next().is_none() => &d.object,
            _ => &self.object,
        }
    }

    /// The GNU build-id (`.note.gnu.build-id`), if present.
    pub fn build_id(&self) -> Option<&[u8]> {
        self.build_id.as_deref()
    }

    /// The GNU build-id as lowercase hex.
    pub fn build_id_hex(&self) -> Option<String> {
        self.build_id
            .as_ref()
            .map(|b| b.iter().map(|x| format!("{x:02x}")).collect())
    }

    /// The Go build ID string from `.note.go.buildid`, if present.
    pub fn go_build_id(&self) -> Option<&str> {
        self.go_build_id.as_deref()
    }

    /// Bytes of a DWARF section (decompressed); empty if absent.
    pub fn section(&self, id: SectionId) -> &[u8] {
        self.sections.get(id)
    }

    /// Total bytes of all loaded DWARF sections (split DWARF files included).
    pub fn dwarf_size(&self) -> u64 {
        self.sections.total() + self.split.size()
    }

    /// The endianness of the binary.
    pub fn endian(&self) -> RunTimeEndian {
        self.endian
    }

    /// A gimli view of the DWARF sections, borrowing this binary. For split DWARF
    /// this holds the skeleton units; [`Binary::dwarf_sources`] adds the split ones.
    pub fn dwarf(&self) -> gimli::Dwarf<R<'_>> {
        self.sections.dwarf(self.endian)
    }

    /// Every DWARF holding debugging entries: this binary's (or its debug file's)
    /// first, then one per split unit. The `.debug_info` offsets of a source are
    /// numbered from its `base`, its `.debug_types` offsets after them, and all of
    /// them after those of the sources before it, so that one number names one
    /// entry in any of them.
    pub fn dwarf_sources(&self) -> Result<Vec<Source<'_>>> {
        let main = self.dwarf();
        let own = (&self.sections, self.path.as_path());
        let split = self.split.dwarfs(&main, own, self.endian)?;
        let mut out = Vec::new();
        let mut base = 0usize;
        let all = std::iter::once((main, self.dwarf_path())).chain(split);
        for (dwarf, path) in all {
            let info = gimli::Section::reader(&dwarf.debug_info).len();
            let types = gimli::Section::reader(&dwarf.debug_types).len();
            let types_base = base.saturating_add(info);
            out.push(Source {
                dwarf,
                base,
                types_base,
                path,
            });
            base = types_base.saturating_add(types);
        }
        Ok(out)
    }

    /// Fails when split DWARF files named by skeleton units are missing or belong
    /// to another build: an answer without them could be incomplete.
    pub fn require_split_dwarf(&self) -> Result<()> {
        self.split.complete()
    }

    /// Address ranges of the executable sections, sorted.
    pub fn code_ranges(&self) -> Vec<(u64, u64)> {
        use object::SectionFlags;
        let mut v: Vec<(u64, u64)> = self
            .object
            .sections()
            .filter(|s| match s.flags() {
                SectionFlags::Elf { sh_flags } => {
                    sh_flags & u64::from(object::elf::SHF_EXECINSTR) != 0
                }
                _ => false,
            })
            .map(|s| (s.address(), s.address().saturating_add(s.size())))
            .collect();
        v.sort_unstable();
        v
    }

    /// Is `addr` inside an executable section? (Line tables also describe code the
    /// linker discarded, at addresses near 0.)
    pub fn in_code(ranges: &[(u64, u64)], addr: u64) -> bool {
        let i = ranges.partition_point(|r| r.0 <= addr);
        i > 0 && addr < ranges[i - 1].1
    }

    /// The size of an address (pointer) in bytes.
    pub fn address_size(&self) -> u8 {
        if self.object.is_64() {
            8
        } else {
            4
        }
    }
}

/// Parses ELF headers, with the file's name in the error.
pub(crate) fn parse_object<'data>(path: &Path, data: &'data [u8]) -> Result<object::File<'data>> {
    if data.len() < 4 || &data[..4] != b"\x7fELF" {
        return Err(Error::NotElf(path.to_path_buf()));
    }
    object::File::parse(data).map_err(|e| Error::CorruptElf {
        path: path.to_path_buf(),
        detail: e.to_string(),
    })
}

/// Parses a Go build-id ELF note: namesz, descsz, type, "Go\0\0", desc.
fn parse_go_note(d: &[u8], endian: RunTimeEndian) -> Option<String> {
    use gimli::Endianity;
    if d.len() < 16 {
        return None;
    }
    let namesz = endian.read_u32(&d[0..4]) as usize;
    let descsz = endian.read_u32(&d[4..8]) as usize;
    let name_end = 12usize.checked_add(namesz)?;
    let desc_start = 12usize.checked_add(namesz.checked_add(3)? & !3)?;
    let desc_end = desc_start.checked_add(descsz)?;
    if name_end > d.len() || desc_end > d.len() {
        return None;
    }
    let desc = &d[desc_start..desc_end];
    std::str::from_utf8(desc)
        .ok()
        .map(|s| s.trim_end_matches('\0').to_string())
}
