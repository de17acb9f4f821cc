//! A stable-Rust stand-in for the cargo-fuzz target: deterministic mutations of
//! small real ELF files (fuzz/seeds) through the same harness, in process. Any
//! panic fails the test. The number of cases is `MAPSCOPE_FUZZ_CASES` (default 1500).

use std::path::Path;

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn mutate(seed: &[u8], rng: &mut Rng) -> Vec<u8> {
    let mut d = seed.to_vec();
    let n = 1 + rng.below(8);
    for _ in 0..n {
        if d.is_empty() {
            break;
        }
        let i = rng.below(d.len());
        match rng.below(7) {
            0 => d[i] ^= 1 << rng.below(8),
            1 => d[i] = [0u8, 0xff, 0x7f, 0x80, 1][rng.below(5)],
            2 => {
                // An interesting 32-bit value (lengths, offsets).
                let v: u32 =
                    [0, 0xffff_ffff, 0x7fff_ffff, 0x8000_0000, 0x10, 0xffff_fff0][rng.below(6)];
                for (k, b) in v.to_le_bytes().iter().enumerate() {
                    if let Some(x) = d.get_mut(i + k) {
                        *x = *b;
                    }
                }
            }
            3 => d.truncate(i.max(1)),
            4 => {
                let j = rng.below(d.len());
                let len = rng.below(64).min(d.len() - i.max(j));
                d.copy_within(j..j + len, i);
            }
            // Mutations focused on the ELF and section headers and on the DWARF sections' start.
            5 => {
                let k = rng.below(d.len().min(64));
                d[k] = rng.next() as u8;
            }
            _ => {
                let k = d.len() - 1 - rng.below(d.len().min(1024));
                d[k] = rng.next() as u8;
            }
        }
    }
    d
}

#[test]
fn mutated_seeds_never_panic() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/seeds");
    let mut seeds: Vec<Vec<u8>> = Vec::new();
    for e in std::fs::read_dir(&dir).expect("fuzz/seeds") {
        let p = e.unwrap().path();
        if p.extension().and_then(|x| x.to_str()) == Some("elf") {
            seeds.push(std::fs::read(&p).unwrap());
        }
    }
    assert!(seeds.len() >= 3, "seeds missing in {}", dir.display());
    // The unmutated seeds load and answer (so the harness really exercises the code).
    for s in &seeds {
        let bin = mapscope::loader::Binary::parse_bytes(Path::new("seed"), s).expect("seed loads");
        let idx = mapscope::types::TypeIndex::new(&bin).unwrap();
        let found = idx.lookup(&["hmap"], false).expect("seed has struct hmap");
        assert_eq!(found[0].types[0].size, 48);
        assert_eq!(
            found[0].types[0].member("extra").map(|m| m.offset),
            Some(40)
        );
    }
    let cases: usize = std::env::var("MAPSCOPE_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1500);
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let start = std::time::Instant::now();
    for case in 0..cases {
        let seed = &seeds[case % seeds.len()];
        let input = mutate(seed, &mut rng);
        let r = std::panic::catch_unwind(|| mapscope::fuzz::exercise(&input));
        if r.is_err() {
            let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("fuzz-crash-{case}.bin"));
            std::fs::write(&out, &input).unwrap();
            panic!("case {case} panicked; input saved to {}", out.display());
        }
    }
    eprintln!("{cases} mutated inputs in {:?}", start.elapsed());
}
