//! When an assign stores what, seen from inside: values and keys whose `Drop` records the map's
//! state at the moment they are overwritten.
//!
//! Go's `mapassign*` return the elem slot and the compiled caller stores the value after the
//! call, when `hashWriting` is clear again; a key that needs updating (strings) is rewritten
//! inside, while `hashWriting` is set. gomap stores both itself, at those same moments.

use std::cell::{Cell, RefCell};

use gomap::runtime::HASH_WRITING;
use gomap::{Map, MapKey};

thread_local! {
    /// The flags byte of the map under test.
    static FLAGS: Cell<*const u8> = const { Cell::new(std::ptr::null()) };
    /// What each drop saw: (what was dropped, hashWriting set).
    static SEEN: RefCell<Vec<(String, bool)>> = const { RefCell::new(Vec::new()) };
}

fn record(what: String) {
    // SAFETY: FLAGS points into the header of a map that outlives every recorded drop.
    let writing = FLAGS.with(|f| unsafe { *f.get() } & HASH_WRITING != 0);
    SEEN.with(|s| s.borrow_mut().push((what, writing)));
}

fn watch<K, V>(m: &Map<K, V>) {
    // SAFETY: only the address of the header's flags is taken.
    let flags = unsafe { std::ptr::addr_of!((*m.header()).flags) };
    FLAGS.with(|f| f.set(flags));
    SEEN.with(|s| s.borrow_mut().clear());
}

fn seen() -> Vec<(String, bool)> {
    SEEN.with(|s| s.borrow().clone())
}

/// A value that records its drop.
#[derive(Clone)]
struct Value(u32);

impl Drop for Value {
    fn drop(&mut self) {
        record(format!("value {}", self.0));
    }
}

/// A key whose equal values differ (a tag not compared), so an update rewrites it, as Go's
/// needkeyupdate keys (strings) are.
#[derive(Clone)]
struct Tagged(u64, &'static str);

impl PartialEq for Tagged {
    fn eq(&self, other: &Self) -> bool {
        self.0 == other.0
    }
}
impl Eq for Tagged {}

impl MapKey for Tagged {
    const NEEDS_KEY_UPDATE: bool = true;
    fn hash_with(&self, h: u64) -> u64 {
        self.0.hash_with(h)
    }
}

impl Drop for Tagged {
    fn drop(&mut self) {
        record(format!("key {}", self.1));
    }
}

/// Updates key `k`'s value from `Value(1)` to `Value(2)` and returns what the drops saw.
fn update<K: MapKey>(k: impl Fn() -> K) -> Vec<(String, bool)> {
    let m = Map::<K, Value>::with_seed(0, 1);
    m.insert(k(), Value(1));
    watch(&m);
    m.insert(k(), Value(2));
    let seen = seen();
    // The map still holds Value(2); forget the drops of its teardown.
    drop(m);
    seen
}

#[test]
fn an_updated_value_is_stored_after_hash_writing_is_clear() {
    let after_clear = vec![("value 1".to_string(), false)];
    assert_eq!(update(|| 7i64), after_clear, "fast64");
    assert_eq!(update(|| "seven"), after_clear, "faststr");
    assert_eq!(update(|| [7u8; 3]), after_clear, "generic");
}

#[test]
fn an_updated_key_is_rewritten_inside_the_writer_before_the_value() {
    let m = Map::<Tagged, Value>::with_seed(0, 1);
    m.insert(Tagged(7, "first"), Value(1));
    watch(&m);
    m.insert(Tagged(7, "second"), Value(2));
    assert_eq!(
        seen(),
        vec![
            ("key first".to_string(), true),
            ("value 1".to_string(), false)
        ]
    );
    // The stored key is the new one.
    let keys: Vec<&str> = m.iter().map(|(k, _)| k.1).collect();
    assert_eq!(keys, ["second"]);
    SEEN.with(|s| s.borrow_mut().clear());
}
