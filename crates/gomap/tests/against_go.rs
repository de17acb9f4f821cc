//! gomap against Go 1.19 itself.
//!
//! `fixtures/go/mapdiff` runs a workload on a real Go map and writes, for every operation, the
//! hash Go computed for the key and Go's header right after the operation, then every bucket.
//! Here the same operations run on a gomap map whose hasher returns Go's hashes, so both maps
//! put every key in the same bucket with the same tophash; everything else is gomap's own
//! algorithm. After every operation the header must be Go's (count, flags, B, noverflow,
//! nevacuate, growing, the extra fields' presence, the next preallocated overflow bucket and the
//! overflow lists' lengths), every lookup must find what Go found, and wherever Go dumps its
//! buckets (in the middle of each grow of a map of up to 1024 buckets, and at the end) every
//! bucket of both arrays, overflow chains included, must hold Go's bytes (string data pointers
//! compared as nil or not, and by the bytes they point to).
//!
//! One field is compared loosely: above B = 15 Go counts overflow buckets by sampling with its
//! own random source (`incrnoverflow`), so `noverflow` there is a random count in both maps;
//! the two must agree within what that sampling allows.
//!
//! Workloads (see mapdiff's `workload`): `insert` adds about 235000 keys (passing B = 16, still
//! evacuating at the end) with some updates and lookups; `churn` inserts and deletes around
//! moving target sizes, emptying the map now and then, and makes dozens of same-size grows.
//! Each runs for `int64` keys (`_fast64`), `string` keys (`_faststr`, gomap's `&'static str`)
//! and `[12]byte` keys (generic).
//!
//! Last, gomap's default hash is checked bit for bit against Go's fallback hash.

mod go;

use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::mem::size_of;
use std::path::Path;

use gomap::runtime::{Bucket, Hmap, SAME_SIZE_GROW};
use gomap::{Map, MapKey};

/// A key type the Go program also uses, with the same key for the same id.
trait GoKey: MapKey + std::hash::Hash + 'static {
    /// mapdiff's `-keys` name.
    const KIND: &'static str;
    /// The key of `id`, as mapdiff makes it.
    fn from_id(id: u64) -> Self;
    /// Bytes identifying the key (its hash is looked up by these).
    fn identity(&self) -> Vec<u8>;
    /// Appends a key slot's bytes in mapdiff's normalised form.
    ///
    /// # Safety
    /// `slot` points at a key slot of a live bucket.
    unsafe fn normalise(slot: *const Self, out: &mut Vec<u8>) {
        out.extend_from_slice(std::slice::from_raw_parts(
            slot.cast::<u8>(),
            size_of::<Self>(),
        ));
    }
}

impl GoKey for i64 {
    const KIND: &'static str = "fast64";
    fn from_id(id: u64) -> Self {
        id as i64
    }
    fn identity(&self) -> Vec<u8> {
        self.to_le_bytes().to_vec()
    }
}

impl GoKey for [u8; 12] {
    const KIND: &'static str = "generic";
    fn from_id(id: u64) -> Self {
        let mut k = [0u8; 12];
        k[..8].copy_from_slice(&id.to_le_bytes());
        k[8..].copy_from_slice(&(id as u32).wrapping_mul(2_654_435_761).to_le_bytes());
        k
    }
    fn identity(&self) -> Vec<u8> {
        self.to_vec()
    }
}

impl GoKey for &'static str {
    const KIND: &'static str = "faststr";
    fn from_id(id: u64) -> Self {
        // One leaked string per id: the map holds `&'static str` keys, like Go string headers.
        thread_local! {
            static STRINGS: RefCell<HashMap<u64, &'static str>> = RefCell::new(HashMap::new());
        }
        STRINGS.with(|s| {
            *s.borrow_mut().entry(id).or_insert_with(|| {
                let text = if id % 7 == 0 {
                    format!("a key of more than thirty-two bytes, {id}")
                } else {
                    format!("k{id}")
                };
                Box::leak(text.into_boxed_str())
            })
        })
    }
    fn identity(&self) -> Vec<u8> {
        self.as_bytes().to_vec()
    }
    unsafe fn normalise(slot: *const Self, out: &mut Vec<u8>) {
        // A Go string header: data pointer, then length. gomap's layout test pins `&str` to it.
        let [data, len] = slot.cast::<[usize; 2]>().read();
        out.push(u8::from(data != 0));
        out.extend_from_slice(&(len as u64).to_le_bytes());
        if data != 0 {
            out.extend_from_slice(std::slice::from_raw_parts(data as *const u8, len));
        }
    }
}

thread_local! {
    /// Go's latest hash of each key on this thread's workload. A key's hash changes only when
    /// Go draws a new hash0, which happens when the map becomes empty, so for every key in the
    /// map its latest hash is the one it was placed with.
    static GO_HASHES: RefCell<HashMap<Vec<u8>, u64>> = RefCell::new(HashMap::new());
}

/// The hasher of the gomap map under test: Go's hash, whatever the seed.
fn go_hash<K: GoKey>(key: &K, _seed: u32) -> u64 {
    GO_HASHES.with(|h| match h.borrow().get(&key.identity()) {
        Some(&hash) => hash,
        None => panic!("gomap hashed a key Go never hashed: {:?}", key.identity()),
    })
}

/// The header fields compared after every operation (mapdiff's op line, after FOUND).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Header {
    count: i64,
    flags: i64,
    b: i64,
    noverflow: i64,
    nevacuate: i64,
    growing: i64,
    extra: i64,
    nextov: i64,
    ovlen: i64,
    oldovlen: i64,
}

impl Header {
    fn parse(fields: &[&str]) -> Header {
        let n: Vec<i64> = fields.iter().map(|f| f.parse().expect("number")).collect();
        Header {
            count: n[0],
            flags: n[1],
            b: n[2],
            noverflow: n[3],
            nevacuate: n[4],
            growing: n[5],
            extra: n[6],
            nextov: n[7],
            ovlen: n[8],
            oldovlen: n[9],
        }
    }

    /// gomap's header, in the same terms.
    fn of<K, V>(m: &Map<K, V>) -> Header {
        // SAFETY: the map is alive and used by this thread only.
        unsafe {
            let h: *const Hmap<K, V> = m.header();
            let e = (*h).extra;
            let (mut nextov, mut ovlen, mut oldovlen) = (-1, -1, -1);
            if !e.is_null() {
                let next = (*e).next_overflow;
                if !next.is_null() {
                    nextov = ((next as usize - (*h).buckets as usize) / size_of::<Bucket<K, V>>())
                        as i64;
                }
                let len = |l: *mut gomap::runtime::OverflowList<K, V>| {
                    if l.is_null() {
                        -1
                    } else {
                        (*l).lock().unwrap().len() as i64
                    }
                };
                ovlen = len((*e).overflow);
                oldovlen = len((*e).oldoverflow);
            }
            Header {
                count: (*h).count as i64,
                flags: i64::from((*h).flags),
                b: i64::from((*h).B),
                noverflow: i64::from((*h).noverflow),
                nevacuate: (*h).nevacuate as i64,
                growing: i64::from(!(*h).oldbuckets.is_null()),
                extra: i64::from(!e.is_null()),
                nextov,
                ovlen,
                oldovlen,
            }
        }
    }

    /// Equal, except that above B = 15 `noverflow` is a sampled count in both (see the top):
    /// two independent binomial counts of the same events differ by a few standard deviations at
    /// most, and each one's variance is below its mean.
    fn matches(&self, go: &Header) -> bool {
        if self.b < 16 {
            return self == go;
        }
        let slack = 6.0 * ((self.noverflow + go.noverflow) as f64).sqrt() + 3.0;
        Header {
            noverflow: go.noverflow,
            ..*self
        } == *go
            && ((self.noverflow - go.noverflow).abs() as f64) <= slack
    }
}

/// mapdiff's bucket lines for gomap's map: every bucket of the current array and, while
/// growing, of the old one, each with its overflow chain.
fn bucket_lines<K: GoKey>(m: &Map<K, i64>) -> Vec<String> {
    let mut lines = Vec::new();
    // SAFETY: the map is alive and idle; bucket memory is zero-initialised and only ever holds
    // keys and values written in full, so every byte read is initialised.
    unsafe {
        let h = m.header();
        let b = (*h).B;
        let mut arrays = vec![("new", (*h).buckets, 1usize << b)];
        if !(*h).oldbuckets.is_null() {
            let old_b = if (*h).flags & SAME_SIZE_GROW != 0 {
                b
            } else {
                b - 1
            };
            arrays.push(("old", (*h).oldbuckets, 1usize << old_b));
        }
        for (name, array, n) in arrays {
            if array.is_null() {
                continue;
            }
            for i in 0..n {
                let mut bucket = array.add(i);
                let mut depth = 0;
                while !bucket.is_null() {
                    let mut bytes = (*bucket).tophash.to_vec();
                    let keys = std::ptr::addr_of!((*bucket).keys).cast::<K>();
                    for slot in 0..8 {
                        K::normalise(keys.add(slot), &mut bytes);
                    }
                    let elems = std::ptr::addr_of!((*bucket).elems).cast::<u8>();
                    bytes.extend_from_slice(std::slice::from_raw_parts(elems, 8 * 8));
                    bytes.push(u8::from(!(*bucket).overflow.is_null()));
                    let mut line = format!("bucket {name} {i} {depth} ");
                    for byte in bytes {
                        write!(line, "{byte:02x}").unwrap();
                    }
                    lines.push(line);
                    bucket = (*bucket).overflow;
                    depth += 1;
                }
            }
        }
    }
    lines
}

/// What a replay saw, for the workload's coverage checks.
#[derive(Debug, Default)]
struct Seen {
    max_b: i64,
    same_size_grows: usize,
    emptied: usize,
    /// Bucket dumps compared (mid-grow ones and the final one).
    dumps: usize,
}

/// Runs a workload of `ops` operations in Go, replays it on gomap with Go's hashes, and compares
/// the two after every operation and at the end.
fn replay<K: GoKey>(workload: &str, ops: usize) -> Option<Seen> {
    let bin = go::mapdiff()?;
    let out = go::run(
        &bin,
        &[
            "-mode",
            "replay",
            "-keys",
            K::KIND,
            "-workload",
            workload,
            "-ops",
            &ops.to_string(),
        ],
        &[],
    );
    Some(compare::<K>(&bin, workload, &out))
}

fn compare<K: GoKey>(bin: &Path, workload: &str, out: &str) -> Seen {
    let what = format!("{} {workload} ({})", K::KIND, bin.display());
    let m: Map<K, i64> = Map::with_hasher(0, 0, go_hash::<K>);
    let mut seen = Seen::default();
    // Bucket lines since the last op line: Go's dump of the map after that op.
    let mut go_buckets = Vec::new();
    let mut ops = 0;
    let mut ended = false;
    for (n, line) in out.lines().enumerate() {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f[0] != "bucket" && !go_buckets.is_empty() {
            compare_buckets(
                &m,
                &go_buckets,
                &format!("{what}: dump before line {}", n + 1),
            );
            go_buckets.clear();
            seen.dumps += 1;
        }
        match f[0] {
            "op" => {
                let id: u64 = f[2].parse().expect("id");
                let key = K::from_id(id);
                let hash: u64 = f[3].parse().expect("hash");
                GO_HASHES.with(|h| h.borrow_mut().insert(key.identity(), hash));
                let before = m.stats();
                match f[1] {
                    "i" => m.insert(key, id as i64 * 3 + 1),
                    "d" => m.remove(&key),
                    "g" => {
                        let got = m.get(&key);
                        let want = (f[4] == "1").then_some(id as i64 * 3 + 1);
                        assert_eq!(got, want, "{what}: line {}: lookup of id {id}", n + 1);
                    }
                    other => panic!("{what}: line {}: unknown op {other}", n + 1),
                }
                let go = Header::parse(&f[5..15]);
                let ours = Header::of(&m);
                assert!(
                    ours.matches(&go),
                    "{what}: after line {} ({line}):\n gomap {ours:?}\n    Go {go:?}",
                    n + 1
                );
                seen.max_b = seen.max_b.max(ours.b);
                let same_size = |flags: u8| flags & SAME_SIZE_GROW != 0;
                if same_size(ours.flags as u8) && !same_size(before.flags) {
                    seen.same_size_grows += 1;
                }
                if ours.count == 0 && before.count > 0 {
                    seen.emptied += 1;
                }
                ops += 1;
            }
            "bucket" => go_buckets.push(line),
            "end" => {
                assert_eq!(f[1].parse::<usize>().unwrap(), ops, "{what}: op count");
                ended = true;
            }
            other => panic!("{what}: line {}: unexpected {other}", n + 1),
        }
    }
    assert!(ended, "{what}: Go's output is truncated");
    if let Err(e) = m.check_invariants() {
        panic!("{what}: {e}");
    }
    seen
}

/// Compares gomap's buckets, now, with Go's dump.
fn compare_buckets<K: GoKey>(m: &Map<K, i64>, go: &[&str], what: &str) {
    let ours = bucket_lines(m);
    for (g, o) in go.iter().zip(&ours) {
        assert_eq!(o, g, "{what}: a bucket differs (left gomap, right Go)");
    }
    assert_eq!(ours.len(), go.len(), "{what}: number of buckets");
}

#[test]
fn fast64_insert_passes_b16_like_go() {
    let Some(seen) = replay::<i64>("insert", 250_000) else {
        return;
    };
    assert!(seen.max_b >= 16 && seen.dumps >= 8, "{seen:?}");
}

#[test]
fn fast64_churn_makes_go_s_same_size_grows() {
    let Some(seen) = replay::<i64>("churn", 300_000) else {
        return;
    };
    assert!(
        seen.same_size_grows >= 30 && seen.emptied >= 2 && seen.dumps >= 30,
        "{seen:?}"
    );
}

#[test]
fn faststr_insert_passes_b16_like_go() {
    let Some(seen) = replay::<&'static str>("insert", 250_000) else {
        return;
    };
    assert!(seen.max_b >= 16 && seen.dumps >= 8, "{seen:?}");
}

#[test]
fn faststr_churn_makes_go_s_same_size_grows() {
    let Some(seen) = replay::<&'static str>("churn", 300_000) else {
        return;
    };
    assert!(
        seen.same_size_grows >= 30 && seen.emptied >= 2 && seen.dumps >= 30,
        "{seen:?}"
    );
}

#[test]
fn generic_insert_passes_b16_like_go() {
    let Some(seen) = replay::<[u8; 12]>("insert", 250_000) else {
        return;
    };
    assert!(seen.max_b >= 16 && seen.dumps >= 8, "{seen:?}");
}

#[test]
fn generic_churn_makes_go_s_same_size_grows() {
    let Some(seen) = replay::<[u8; 12]>("churn", 300_000) else {
        return;
    };
    assert!(
        seen.same_size_grows >= 30 && seen.emptied >= 2 && seen.dumps >= 30,
        "{seen:?}"
    );
}

/// gomap's default hash is Go's fallback hash: given Go's per-process key, it returns Go's bits
/// for 8-byte, string and 12-byte keys of every length up to 100 under several seeds. Go uses
/// the fallback when told its CPU has no AES instructions.
#[test]
fn default_hash_is_go_s_fallback_hash_bit_for_bit() {
    let Some(bin) = go::mapdiff() else {
        return;
    };
    let out = go::run(&bin, &["-mode", "hashkey"], &[("GODEBUG", "cpu.aes=off")]);
    let mut lines = out.lines();
    let hashkey: u64 = lines
        .next()
        .and_then(|l| l.strip_prefix("hashkey "))
        .expect("hashkey line")
        .parse()
        .unwrap();
    let mut kinds = HashMap::new();
    for line in lines {
        let f: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(f[0], "hash", "{line}");
        let seed: u64 = f[2].parse().unwrap();
        let go: u64 = f[3].parse().unwrap();
        let hex = f.get(4).copied().unwrap_or(""); // absent for the empty key
        let bytes: Vec<u8> = (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
            .collect();
        let ours = gomap::hash::memhash_keyed(&bytes, seed, hashkey);
        assert_eq!(ours, go, "{line}");
        *kinds.entry(f[1]).or_insert(0) += 1;
    }
    assert_eq!(kinds.get("fast64"), Some(&24), "{kinds:?}");
    assert_eq!(kinds.get("faststr"), Some(&404), "{kinds:?}");
    assert_eq!(kinds.get("generic"), Some(&16), "{kinds:?}");
}
