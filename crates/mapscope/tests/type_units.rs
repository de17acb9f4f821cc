//! Types in type units (`gcc -fdebug-types-section`): DWARF 4 puts them in
//! `.debug_types` (one COMDAT section each in a `.dwo`), DWARF 5 in `.debug_info`;
//! other entries refer to them by signature (`DW_FORM_ref_sig8`, or a declaration
//! with `DW_AT_signature`). Once, a member of such a type printed as `<anon>` of
//! size 0 with a hole in its place, with status 0.

mod common;

use std::path::Path;

use common::*;

fn assert_segment(bin: &Path) {
    let s = layouts(bin, "segment", false);
    assert_eq!(s.len(), 1, "{s:?}");
    assert_eq!(s[0]["size"], 56);
    assert_eq!(
        members(&s[0]),
        vec![
            ("a".into(), 0, 24),
            ("b".into(), 24, 24),
            ("name".into(), 48, 8)
        ]
    );
    assert_eq!(s[0]["members"][0]["type"], "point");
    assert_eq!(s[0]["holes"].as_array().map(Vec::len), Some(0));
    let p = layouts(bin, "point", false);
    assert_eq!(p.len(), 1, "{p:?}");
    assert_eq!(members(&p[0])[1], ("y".into(), 8, 8));
}

#[test]
fn members_typed_by_signature_are_resolved() {
    for (name, flags) in [
        ("dwarf4", &["-g", "-gdwarf-4", "-fdebug-types-section"][..]),
        ("dwarf5", &["-g", "-gdwarf-5", "-fdebug-types-section"][..]),
        (
            "split-dwarf4",
            &["-g", "-gdwarf-4", "-gsplit-dwarf", "-fdebug-types-section"][..],
        ),
    ] {
        let dir = scratch(&format!("type-units-{name}"));
        let bin = gcc(&dir, "points", C_POINTS, flags);
        assert_segment(&bin);
    }
}
