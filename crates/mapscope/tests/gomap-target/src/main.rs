//! Uses every role of gomap with several key/elem types, so that the binary has
//! many monomorphised copies and bucket instantiations, including indirect elems.
use gomap::{Indirect, Map};

fn exercise<K: gomap::MapKey + Clone, V: Clone>(m: &Map<K, V>, keys: &[K], v: V) {
    for k in keys {
        m.insert(k.clone(), v.clone());
    }
    let _ = m.get(&keys[0]);
    let _ = m.contains_key(&keys[1]);
    m.remove(&keys[2]);
    let _ = m.iter().count();
}

fn main() {
    let ints: Map<i64, i64> = Map::new();
    exercise(&ints, &(0..100).collect::<Vec<i64>>(), 7);
    let strs: Map<String, u32> = Map::new();
    exercise(&strs, &(0..20).map(|i| i.to_string()).collect::<Vec<_>>(), 1);
    let big: Map<u32, Indirect<[u8; 200]>> = Map::new();
    exercise(&big, &[1, 2, 3, 4], Indirect::new([0u8; 200]));
    let bigkey: Map<Indirect<[u8; 144]>, u8> = Map::new();
    exercise(&bigkey, &[Indirect::new([1u8; 144]), Indirect::new([2u8; 144]), Indirect::new([3u8; 144])], 1);
    ints.clear();
    println!("{} {} {} {}", ints.len(), strs.len(), big.len(), bigkey.len());
}
