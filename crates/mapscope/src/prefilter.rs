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

use aho_corasick::{AhoCorasick, AhoCorasickKind, Input, MatchKind};

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
    let mut patterns: Vec<Vec<u8>> = Vec::with_capacity(strings.len() + inline.len());
    for &s in strings {
        let s = u32::try_from(s).ok()?;
        patterns.push(
            if big_endian {
                s.to_be_bytes()
            } else {
                s.to_le_bytes()
            }
            .to_vec(),
        );
    }
    patterns.extend(inline.iter().filter(|p| !p.is_empty()).map(|p| p.to_vec()));
    if patterns.is_empty() || starts.is_empty() {
        return Some(vec![false; starts.len()]);
    }
    // An NFA: a DFA's construction grows faster than the patterns' length.
    let searcher = AhoCorasick::builder()
        .kind(Some(AhoCorasickKind::ContiguousNFA))
        .match_kind(MatchKind::LeftmostFirst)
        .build(&patterns)
        .ok()?;
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

/// [`units_with_names`] over one run of consecutive units, the last ending at `end`.
fn units_in_run(searcher: &AhoCorasick, info: &[u8], starts: &[usize], end: usize) -> Vec<bool> {
    let mut wanted = vec![false; starts.len()];
    let mut pos = starts[0].min(end);
    while pos < end {
        let Some(m) = searcher.find(Input::new(info).span(pos..end)) else {
            break;
        };
        match starts.partition_point(|&s| s <= m.start()).checked_sub(1) {
            Some(u) => {
                wanted[u] = true;
                // The rest of this unit is read anyway.
                pos = starts.get(u + 1).copied().unwrap_or(end).max(m.start() + 1);
            }
            None => pos = m.start() + 1,
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
