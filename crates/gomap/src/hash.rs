//! The default hash: Go's fallback hash, the one Go's runtime uses where the CPU has no AES
//! instructions (`hash64.go` and `alg.go` in Go's runtime).
//!
//! Go on x86-64 normally hashes with AES rounds, which cannot be reproduced here without the same
//! random key schedule. Its fallback is a wyhash-style hash with the same statistical quality:
//! every input bit reaches every output bit through 64x64->128-bit multiplies whose halves are
//! folded together. Sequential integer keys, the common case in the fixtures, therefore spread
//! over buckets like uniformly random ones, so overflow buckets and same-size grows happen as
//! often as in Go.
//!
//! The hash of a key is a function of its bytes, the map's seed (`hash0`) and a per-process key
//! (Go's `hashkey[0]`). Go draws that key at start-up; gomap fixes it ([`HASHKEY`]) so that a map
//! with a fixed seed puts every key in the same bucket on every run. With Go's key
//! ([`memhash_keyed`]) the results equal Go's bit for bit: the differential test checks this
//! against a Go 1.19 program running with `GODEBUG=cpu.aes=off`.
//!
//! Byte order: words are read little-endian, as Go reads them on x86-64, so the hash of an
//! 8-byte key equals the hash of the same bytes read as a `u64` (Go's `[8]byte` and `int64`
//! keys hash alike).

/// The per-process key Go mixes into every seed (its `hashkey[0]`, which Go makes odd). Fixed
/// here so that runs repeat.
pub const HASHKEY: u64 = 0x2d35_8dcc_aa6c_78a5;

// Odd 64-bit constants of the fallback hash (wyhash's primes).
const M1: u64 = 0xa076_1d64_78bd_642f;
const M2: u64 = 0xe703_7ed1_a0b4_28db;
const M3: u64 = 0x8ebc_6af0_9c88_c6e3;
const M4: u64 = 0x5899_65cc_7537_4cc3;
const M5: u64 = 0x1d8e_4e27_c47d_124f;

/// Multiplies two words into 128 bits and folds the halves together.
#[inline(always)]
fn mix(a: u64, b: u64) -> u64 {
    let product = u128::from(a) * u128::from(b);
    (product >> 64) as u64 ^ product as u64
}

#[inline(always)]
fn word4(bytes: &[u8], at: usize) -> u64 {
    let mut w = [0u8; 4];
    w.copy_from_slice(&bytes[at..at + 4]);
    u64::from(u32::from_le_bytes(w))
}

#[inline(always)]
fn word8(bytes: &[u8], at: usize) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&bytes[at..at + 8]);
    u64::from_le_bytes(w)
}

/// Hash of `bytes` under `seed` with Go's per-process key `hashkey` (Go's `memhashFallback`).
///
/// Inputs up to 16 bytes are read as at most two (possibly overlapping) words `a` and `b`;
/// longer ones are first absorbed 16 bytes at a time into the seed (48 at a time, in three
/// independent lanes, above 48 bytes), and their last 16 bytes become `a` and `b`. The length is
/// mixed in last, so inputs that differ only by trailing zero bytes still differ.
///
/// Map keys are mostly short, and a lookup waits for this hash before it can load its bucket, so
/// inputs up to 32 bytes take a short path that inlines into the caller (one branch per size
/// class, no loop); longer ones call [`absorb_long`].
#[inline(always)]
pub fn memhash_keyed(bytes: &[u8], seed: u64, hashkey: u64) -> u64 {
    let len = bytes.len();
    let mut seed = seed ^ hashkey ^ M1;
    let (a, b) = if len > 16 {
        if len > 32 {
            seed = absorb_long(bytes, seed);
        } else {
            // 17 to 32 bytes: one 16-byte round.
            seed = mix(word8(bytes, 0) ^ M2, word8(bytes, 8) ^ seed);
        }
        // The last 16 bytes of the whole input, overlapping bytes already absorbed when fewer
        // than 16 were left.
        (word8(bytes, len - 16), word8(bytes, len - 8))
    } else if len >= 8 {
        // Two words, the same one for 8 bytes.
        (word8(bytes, 0), word8(bytes, len - 8))
    } else if len >= 4 {
        (word4(bytes, 0), word4(bytes, len - 4))
    } else if len > 0 {
        // First, middle and last byte: every byte of a 1-3 byte input is covered.
        let a =
            u64::from(bytes[0]) | u64::from(bytes[len >> 1]) << 8 | u64::from(bytes[len - 1]) << 16;
        (a, 0)
    } else {
        return seed;
    };
    mix(M5 ^ len as u64, mix(a ^ M2, b ^ seed))
}

/// The rounds of an input over 32 bytes, up to its last 16 bytes: the seed they leave.
#[inline(never)]
fn absorb_long(bytes: &[u8], mut seed: u64) -> u64 {
    let mut rest = bytes;
    if rest.len() > 48 {
        let (mut lane1, mut lane2) = (seed, seed);
        while rest.len() > 48 {
            seed = mix(word8(rest, 0) ^ M2, word8(rest, 8) ^ seed);
            lane1 = mix(word8(rest, 16) ^ M3, word8(rest, 24) ^ lane1);
            lane2 = mix(word8(rest, 32) ^ M4, word8(rest, 40) ^ lane2);
            rest = &rest[48..];
        }
        seed ^= lane1 ^ lane2;
    }
    while rest.len() > 16 {
        seed = mix(word8(rest, 0) ^ M2, word8(rest, 8) ^ seed);
        rest = &rest[16..];
    }
    seed
}

/// Hash of `bytes` under `seed` (Go's `memhash`, `strhash`).
#[inline]
pub fn memhash(bytes: &[u8], seed: u64) -> u64 {
    memhash_keyed(bytes, seed, HASHKEY)
}

/// Hash of an 8-byte key under `seed` (Go's `memhash64`): equal to [`memhash`] of its
/// little-endian bytes.
#[inline(always)]
pub fn memhash64(x: u64, seed: u64) -> u64 {
    mix(M5 ^ 8, mix(x ^ M2, x ^ seed ^ HASHKEY ^ M1))
}

/// Hash of a 4-byte key under `seed` (Go's `memhash32`): equal to [`memhash`] of its
/// little-endian bytes.
#[inline(always)]
pub fn memhash32(x: u32, seed: u64) -> u64 {
    let x = u64::from(x);
    mix(M5 ^ 4, mix(x ^ M2, x ^ seed ^ HASHKEY ^ M1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn word_hashes_equal_the_byte_hash_of_their_little_endian_bytes() {
        for (x, seed) in [
            (0u64, 0u64),
            (1, 1),
            (u64::MAX, 7),
            (0x0102_0304_0506_0708, 99),
        ] {
            assert_eq!(memhash64(x, seed), memhash(&x.to_le_bytes(), seed));
            let y = x as u32;
            assert_eq!(memhash32(y, seed), memhash(&y.to_le_bytes(), seed));
        }
    }

    #[test]
    fn every_length_reads_every_byte() {
        // Changing any single byte of an input of any length changes its hash.
        let base: Vec<u8> = (0..130u8).collect();
        for len in 1..base.len() {
            let h = memhash(&base[..len], 5);
            for i in 0..len {
                let mut changed = base[..len].to_vec();
                changed[i] ^= 0x40;
                assert_ne!(memhash(&changed, 5), h, "length {len}, byte {i}");
            }
        }
    }

    /// The hash as Go's `memhashFallback` states it, one case per size class, as the reference
    /// for the restructured [`memhash_keyed`].
    fn reference(bytes: &[u8], seed: u64, hashkey: u64) -> u64 {
        let len = bytes.len();
        let mut seed = seed ^ hashkey ^ M1;
        let (a, b) = match len {
            0 => return seed,
            1..=3 => {
                let a = u64::from(bytes[0])
                    | u64::from(bytes[len >> 1]) << 8
                    | u64::from(bytes[len - 1]) << 16;
                (a, 0)
            }
            4 => (word4(bytes, 0), word4(bytes, 0)),
            5..=7 => (word4(bytes, 0), word4(bytes, len - 4)),
            8 => (word8(bytes, 0), word8(bytes, 0)),
            9..=16 => (word8(bytes, 0), word8(bytes, len - 8)),
            _ => {
                let mut rest = bytes;
                if rest.len() > 48 {
                    let (mut lane1, mut lane2) = (seed, seed);
                    while rest.len() > 48 {
                        seed = mix(word8(rest, 0) ^ M2, word8(rest, 8) ^ seed);
                        lane1 = mix(word8(rest, 16) ^ M3, word8(rest, 24) ^ lane1);
                        lane2 = mix(word8(rest, 32) ^ M4, word8(rest, 40) ^ lane2);
                        rest = &rest[48..];
                    }
                    seed ^= lane1 ^ lane2;
                }
                while rest.len() > 16 {
                    seed = mix(word8(rest, 0) ^ M2, word8(rest, 8) ^ seed);
                    rest = &rest[16..];
                }
                (word8(bytes, len - 16), word8(bytes, len - 8))
            }
        };
        mix(M5 ^ len as u64, mix(a ^ M2, b ^ seed))
    }

    #[test]
    fn every_length_hashes_as_the_reference() {
        let bytes: Vec<u8> = (0..300u32).map(|i| (i * 167 + 13) as u8).collect();
        for len in 0..bytes.len() {
            for (seed, hashkey) in [(0, HASHKEY), (7, HASHKEY), (u64::MAX, 1), (0x1234, 0x9876)] {
                // Every alignment of the input, too.
                for start in 0..3 {
                    let input = &bytes[start..(start + len).min(bytes.len())];
                    assert_eq!(
                        memhash_keyed(input, seed, hashkey),
                        reference(input, seed, hashkey),
                        "length {}, start {start}, seed {seed}",
                        input.len()
                    );
                }
            }
        }
    }

    #[test]
    fn seed_and_length_matter() {
        assert_ne!(memhash(b"abc", 1), memhash(b"abc", 2));
        assert_ne!(memhash(&[0; 17], 1), memhash(&[0; 18], 1));
        assert_ne!(memhash(b"", 1), memhash(b"", 2));
    }
}
