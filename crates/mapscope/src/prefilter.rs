//! Which units of `.debug_info` can hold an entry with a given name, found from bytes
//! alone, before any entry is decoded.
//!
//! Without a name index a lookup must otherwise decode every entry of every unit. But a
//! name is stored either in `.debug_str`, and referenced from the entry by its offset there
//! (`DW_FORM_strp`: 4 bytes in 32-bit DWARF), or inline (`DW_FORM_string`: its bytes). So a
//! unit whose bytes contain neither the offset of any string that can be the name, nor the
//! name's own bytes, holds no such entry. One multi-pattern search over `.debug_info` (a few
//! GB/s) then leaves only the units that can, usually a handful. A chance match of four
//! bytes only adds a unit; a unit is never left out wrongly.
//!
//! Not filtered (every unit is read): sources with string offset tables (DWARF 5
//! `DW_FORM_strx`, split DWARF's `DW_FORM_GNU_str_index`, whose references are indexes),
//! 64-bit DWARF, and names that too many strings could be (see `types::TypeIndex`).

use std::collections::HashSet;

use aho_corasick::packed;
use aho_corasick::Span;

/// Up to this many patterns Aho-Corasick's packed (SIMD) searcher runs at GB/s; beyond it (or
/// on a CPU without it) every 4-byte window is looked up in the set of offsets, at about 1 ns
/// a byte, which still beats decoding the entries.
pub const MAX_PACKED: usize = 48;

/// For units starting at `starts` (sorted offsets into `info`, 32-bit DWARF), whether each
/// can hold an entry whose name is one of the strings at `strings` (offsets into
/// `.debug_str`) or is written inline and contains one of `inline`.
pub fn units_with_names(
    info: &[u8],
    starts: &[usize],
    strings: &[usize],
    inline: &[&[u8]],
    big_endian: bool,
) -> Option<Vec<bool>> {
    let inline: Vec<&[u8]> = inline.iter().copied().filter(|p| !p.is_empty()).collect();
    if (strings.is_empty() && inline.is_empty()) || starts.is_empty() {
        return Some(vec![false; starts.len()]);
    }
    let offsets: Vec<u32> = strings
        .iter()
        .map(|&s| u32::try_from(s).ok())
        .collect::<Option<_>>()?;
    let packed = if offsets.len() + inline.len() <= MAX_PACKED {
        let mut patterns: Vec<Vec<u8>> = offsets
            .iter()
            .map(|&o| {
                if big_endian {
                    o.to_be_bytes()
                } else {
                    o.to_le_bytes()
                }
                .to_vec()
            })
            .collect();
        patterns.extend(inline.iter().map(|p| p.to_vec()));
        packed::Searcher::new(patterns)
    } else {
        None
    };
    let searcher = match packed {
        Some(p) => Searcher::Packed(p),
        None => Searcher::Windows(Windows::new(&offsets, &inline, big_endian)),
    };
    // The search is the whole cost: split the units into one run per thread.
    let threads = crate::scan::threads().min(starts.len());
    let per = starts.len().div_ceil(threads);
    let runs: Vec<&[usize]> = starts.chunks(per).collect();
    let found: Vec<Vec<bool>> = std::thread::scope(|scope| {
        let searcher = &searcher;
        let handles: Vec<_> = runs
            .iter()
            .enumerate()
            .map(|(r, run)| {
                let end = runs
                    .get(r + 1)
                    .map_or(info.len(), |next| next[0])
                    .min(info.len());
                scope.spawn(move || units_in_run(searcher, info, run, end))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_default())
            .collect()
    });
    let wanted: Vec<bool> = found.concat();
    (wanted.len() == starts.len()).then_some(wanted)
}

enum Searcher<'p> {
    /// Few patterns: Aho-Corasick's packed (SIMD, Teddy) searcher, when the CPU has it.
    Packed(packed::Searcher),
    /// Many: every 4-byte window against the offsets, and each inline name by memmem.
    Windows(Windows<'p>),
}

impl Searcher<'_> {
    /// Where the first match in `info[from..to]` starts.
    fn first(&self, info: &[u8], from: usize, to: usize) -> Option<usize> {
        match self {
            Searcher::Packed(p) => p
                .find_in(
                    info,
                    Span {
                        start: from,
                        end: to,
                    },
                )
                .map(|m| m.start()),
            Searcher::Windows(w) => w.first(&info[from..to]).map(|at| from + at),
        }
    }
}

struct Windows<'p> {
    offsets: HashSet<u32>,
    /// Bit `v & 0xffff` is set when some offset has those low bits: most windows stop here.
    low: Vec<u64>,
    inline: Vec<memchr::memmem::Finder<'p>>,
    big_endian: bool,
}

impl<'p> Windows<'p> {
    fn new(offsets: &[u32], inline: &[&'p [u8]], big_endian: bool) -> Windows<'p> {
        let mut low = vec![0u64; 1 << 10];
        for &o in offsets {
            let b = (o & 0xffff) as usize;
            low[b >> 6] |= 1 << (b & 63);
        }
        Windows {
            offsets: offsets.iter().copied().collect(),
            low,
            inline: inline
                .iter()
                .map(|p| memchr::memmem::Finder::new(*p))
                .collect(),
            big_endian,
        }
    }

    fn first(&self, bytes: &[u8]) -> Option<usize> {
        let low = &self.low[..];
        let read: fn([u8; 4]) -> u32 = if self.big_endian {
            u32::from_be_bytes
        } else {
            u32::from_le_bytes
        };
        let mut by_offset = None;
        for (i, w) in bytes.windows(4).enumerate() {
            let v = read([w[0], w[1], w[2], w[3]]);
            let b = (v & 0xffff) as usize;
            if low[b >> 6] & (1 << (b & 63)) != 0 && self.offsets.contains(&v) {
                by_offset = Some(i);
                break;
            }
        }
        let end = by_offset.unwrap_or(bytes.len());
        let by_name = self
            .inline
            .iter()
            .filter_map(|f| f.find(&bytes[..end]))
            .min();
        by_name.or(by_offset)
    }
}

/// [`units_with_names`] over one run of consecutive units, the last ending at `end`.
fn units_in_run(searcher: &Searcher<'_>, info: &[u8], starts: &[usize], end: usize) -> Vec<bool> {
    let mut wanted = vec![false; starts.len()];
    let mut pos = starts[0].min(end);
    while pos < end {
        let Some(at) = searcher.first(info, pos, end) else {
            break;
        };
        match starts.partition_point(|&s| s <= at).checked_sub(1) {
            Some(u) => {
                wanted[u] = true;
                // The rest of this unit is read anyway.
                pos = starts.get(u + 1).copied().unwrap_or(end).max(at + 1);
            }
            None => pos = at + 1,
        }
    }
    wanted
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_unit_is_wanted_for_an_offset_or_an_inline_name() {
        // Three units of 8 bytes: the second holds offset 0x1234 (LE), the third "hmap".
        let mut info = vec![0u8; 24];
        info[10..14].copy_from_slice(&0x1234u32.to_le_bytes());
        info[17..21].copy_from_slice(b"hmap");
        let w = units_with_names(&info, &[0, 8, 16], &[0x1234], &[b"hmap"], false).unwrap();
        assert_eq!(w, vec![false, true, true]);
        let w = units_with_names(&info, &[0, 8, 16], &[0x1234], &[], true).unwrap();
        assert_eq!(w, vec![false, false, false]); // big-endian bytes differ
    }

    #[test]
    fn many_offsets_are_found_like_few() {
        // 100 units of 16 bytes; unit u holds offset 1000 + u when u is odd; "Name" in unit 40.
        let mut info = vec![0u8; 1600];
        let starts: Vec<usize> = (0..100).map(|u| u * 16).collect();
        for u in (1..100).step_by(2) {
            info[u * 16 + 3..u * 16 + 7].copy_from_slice(&(1000 + u as u32).to_le_bytes());
        }
        info[40 * 16 + 9..40 * 16 + 13].copy_from_slice(b"Name");
        let odd: Vec<usize> = (1..100).step_by(2).map(|u| 1000 + u).collect();
        assert!(odd.len() > MAX_PACKED); // the window search
        let w = units_with_names(&info, &starts, &odd, &[b"Name"], false).unwrap();
        let expect: Vec<bool> = (0..100).map(|u| u % 2 == 1 || u == 40).collect();
        assert_eq!(w, expect);
        let few: Vec<usize> = odd[..10].to_vec(); // the packed search
        let w = units_with_names(&info, &starts, &few, &[b"Name"], false).unwrap();
        let expect: Vec<bool> = (0..100)
            .map(|u| (u % 2 == 1 && u < 20) || u == 40)
            .collect();
        assert_eq!(w, expect);
    }

    #[test]
    fn every_unit_is_searched_whatever_the_threads() {
        // 100 units of 16 bytes; every seventh holds the offset 0xabcdef.
        let mut info = vec![0u8; 1600];
        let starts: Vec<usize> = (0..100).map(|u| u * 16).collect();
        for u in (0..100).step_by(7) {
            info[u * 16 + 5..u * 16 + 9].copy_from_slice(&0xabcdefu32.to_le_bytes());
        }
        let w = units_with_names(&info, &starts, &[0xabcdef], &[], false).unwrap();
        let expect: Vec<bool> = (0..100).map(|u| u % 7 == 0).collect();
        assert_eq!(w, expect);
    }
}
