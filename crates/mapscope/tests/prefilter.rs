//! A lookup that reads only the units whose bytes can name the type (the prefilter) finds
//! exactly what a lookup reading every unit finds, for every kind of name: plain, generic,
//! nested, Go's dotted names, names of one letter and names that are also substrings.

mod common;

use mapscope::loader::Binary;
use mapscope::types::TypeIndex;

/// Up to `n` struct names of `bin`, spread over the whole list, with their last segments
/// and generic bases as users also write them.
fn sample_queries(index: &TypeIndex<'_>, n: usize) -> Vec<String> {
    let mut names: Vec<String> = index
        .find_all(&|_, _| true)
        .expect("catalog")
        .into_iter()
        .map(|l| l.name)
        .collect();
    names.sort();
    names.dedup();
    assert!(
        names.len() > 20,
        "too few structs to sample: {}",
        names.len()
    );
    let step = (names.len() / n).max(1);
    let mut out = Vec::new();
    for name in names.iter().step_by(step) {
        out.push(name.clone());
        let base = mapscope::names::strip_generics(name);
        out.push(mapscope::names::last_segment(&base).to_string());
        if base != *name {
            out.push(base);
        }
    }
    out.sort();
    out.dedup();
    out
}

fn same_answers(path: &std::path::Path, n: usize) {
    let data = std::fs::read(path).expect("read");
    let bin = Binary::parse_bytes(path, &data).expect("parse");
    let fast = TypeIndex::new(&bin).expect("index");
    let full = TypeIndex::new(&bin).expect("index").without_prefilter();
    let queries = sample_queries(&full, n);
    for q in &queries {
        let a = fast
            .lookup(&[q], true)
            .map(|f| serde_json::to_string(&f).unwrap());
        let b = full
            .lookup(&[q], true)
            .map(|f| serde_json::to_string(&f).unwrap());
        match (a, b) {
            (Ok(a), Ok(b)) => assert_eq!(a, b, "{q} in {}", path.display()),
            (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string(), "{q}"),
            (a, b) => panic!(
                "{q} in {}: prefilter {a:?}, full scan {b:?}",
                path.display()
            ),
        }
    }
    eprintln!("{}: {} queries agree", path.display(), queries.len());
}

#[test]
fn prefiltered_lookups_equal_full_scans_on_a_rust_fixture() {
    if let Some(bin) = common::fixture("grow") {
        same_answers(&bin, 60);
    }
}

#[test]
fn prefiltered_lookups_equal_full_scans_on_a_go_program() {
    if let Some(bin) = common::go_fixture() {
        same_answers(&bin, 60);
    }
}
