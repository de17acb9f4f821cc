//! Memory: bucket arrays, overflow buckets, and the heap that owns them.
//!
//! Go frees a retired bucket array when the garbage collector finds it unreachable, which can be
//! long after a racing reader loaded a pointer to it. To keep the same behaviour (a racing reader
//! reads stale but valid memory, never freed memory), the [`Heap`] keeps every allocation until the
//! map is dropped. Allocation takes a lock, like Go's `mallocgc` is thread-safe: races corrupt the
//! map, never the Rust allocator.
//!
//! Go's heap asks Linux for transparent huge pages (`sysHugePage` on the memory it puts to use,
//! in `mem_linux.go`), so the bucket array of a large map sits on 2 MiB pages and a lookup in a
//! random bucket rarely misses the TLB. The heap does the same for large allocations (see
//! [`HUGE_PAGE`]); the layout of the map in that memory is unchanged.

use std::alloc::{alloc_zeroed, dealloc, handle_alloc_error, Layout};
use std::ptr::{self, addr_of_mut, null_mut};
use std::sync::atomic::AtomicPtr;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Mutex;

use super::{
    bucket_shift, extra, incr_noverflow, over_load_factor, set_b_log2, set_buckets, set_extra,
    set_overflow, Bucket, Hmap, MapExtra, MapType, OverflowList,
};

/// Go's malloc size classes, used to round a bucket array up the way `roundupsize` does, which
/// decides how many overflow buckets are preallocated behind the array.
const SIZE_CLASSES: [usize; 68] = [
    0, 8, 16, 24, 32, 48, 64, 80, 96, 112, 128, 144, 160, 176, 192, 208, 224, 240, 256, 288, 320,
    352, 384, 416, 448, 480, 512, 576, 640, 704, 768, 896, 1024, 1152, 1280, 1408, 1536, 1792,
    2048, 2304, 2688, 3072, 3200, 3456, 4096, 4864, 5376, 6144, 6528, 6784, 6912, 8192, 9472, 9728,
    10240, 10880, 12288, 13568, 14336, 16384, 18432, 19072, 20480, 21760, 24576, 27264, 28672,
    32768,
];
const MAX_SMALL_SIZE: usize = 32768;
const PAGE_SIZE: usize = 8192;

/// The size Go's allocator would really hand out for a request of `size` bytes.
pub(crate) fn roundupsize(size: usize) -> usize {
    if size < MAX_SMALL_SIZE {
        return SIZE_CLASSES
            .iter()
            .copied()
            .find(|&c| c >= size)
            .unwrap_or(MAX_SMALL_SIZE);
    }
    size.checked_next_multiple_of(PAGE_SIZE).unwrap_or(size)
}

/// Allocations of at least this size (a transparent huge page on x86-64 and aarch64 Linux) are
/// mapped straight from the system at a 2 MiB boundary and advised to use huge pages, as Go's
/// heap is; smaller ones, and all of them elsewhere, come from Rust's global allocator. Mapped
/// memory is zero until written, like `alloc_zeroed`'s.
pub const HUGE_PAGE: usize = 2 << 20;

/// One allocation the heap owns.
struct Allocation {
    ptr: *mut u8,
    layout: Layout,
    /// Frees what the allocation holds before its memory (overflow lists own a `Vec`).
    drop_fn: Option<unsafe fn(*mut u8)>,
    /// The system mapping that holds `ptr` (its start and length), or `None` for memory from
    /// the global allocator.
    mapping: Option<(*mut u8, usize)>,
}

// The raw pointers are only ever freed by the heap's owner.
unsafe impl Send for Allocation {}

/// Owner of every allocation of one map, released when the map is dropped.
#[derive(Default)]
pub struct Heap {
    allocations: Mutex<Vec<Allocation>>,
}

impl Heap {
    /// Zeroed memory for `layout`, kept until the heap is dropped.
    fn alloc_zeroed(&self, layout: Layout, drop_fn: Option<unsafe fn(*mut u8)>) -> *mut u8 {
        debug_assert!(layout.size() > 0);
        let (ptr, mapping) = match huge::map(layout.size()) {
            Some((ptr, mapping)) => (ptr, Some(mapping)),
            None => {
                // SAFETY: every layout requested here has a non-zero size.
                let ptr = unsafe { alloc_zeroed(layout) };
                if ptr.is_null() {
                    handle_alloc_error(layout);
                }
                (ptr, None)
            }
        };
        let mut allocations = self.allocations.lock().unwrap_or_else(|e| e.into_inner());
        allocations.push(Allocation {
            ptr,
            layout,
            drop_fn,
            mapping,
        });
        ptr
    }

    /// Bytes held, for tests and benchmarks.
    pub fn bytes(&self) -> usize {
        let allocations = self.allocations.lock().unwrap_or_else(|e| e.into_inner());
        allocations.iter().map(|a| a.layout.size()).sum()
    }
}

impl Drop for Heap {
    fn drop(&mut self) {
        let allocations = self
            .allocations
            .get_mut()
            .unwrap_or_else(|e| e.into_inner());
        for a in allocations.drain(..) {
            // SAFETY: each allocation was made once, by `alloc_zeroed` with this layout or by
            // `huge::map` as this mapping.
            unsafe {
                if let Some(drop_fn) = a.drop_fn {
                    drop_fn(a.ptr);
                }
                match a.mapping {
                    Some((start, len)) => huge::unmap(start, len),
                    None => dealloc(a.ptr, a.layout),
                }
            }
        }
    }
}

/// Zeroed memory on transparent huge pages, from the system (Linux on x86-64 and aarch64, whose
/// `mmap` flags and `madvise` advice numbers these are).
#[cfg(all(
    target_os = "linux",
    any(target_arch = "x86_64", target_arch = "aarch64")
))]
mod huge {
    use std::ffi::c_void;

    use super::HUGE_PAGE;

    extern "C" {
        fn mmap(
            addr: *mut c_void,
            len: usize,
            prot: i32,
            flags: i32,
            fd: i32,
            off: i64,
        ) -> *mut c_void;
        fn munmap(addr: *mut c_void, len: usize) -> i32;
        fn madvise(addr: *mut c_void, len: usize, advice: i32) -> i32;
    }
    const PROT_READ: i32 = 1;
    const PROT_WRITE: i32 = 2;
    const MAP_PRIVATE: i32 = 0x02;
    const MAP_ANONYMOUS: i32 = 0x20;
    const MADV_HUGEPAGE: i32 = 14;

    /// `size` zeroed bytes at a huge-page boundary, advised to use huge pages, and the mapping
    /// that holds them (start, length); `None` below [`HUGE_PAGE`] or when the system refuses,
    /// for the caller to use the global allocator.
    pub(super) fn map(size: usize) -> Option<(*mut u8, (*mut u8, usize))> {
        if size < HUGE_PAGE {
            return None;
        }
        // Whole huge pages, plus one to align the start.
        let rounded = size.checked_next_multiple_of(HUGE_PAGE)?;
        let len = rounded.checked_add(HUGE_PAGE)?;
        // SAFETY: a new private anonymous mapping; nothing else is touched.
        let start = unsafe {
            mmap(
                std::ptr::null_mut(),
                len,
                PROT_READ | PROT_WRITE,
                MAP_PRIVATE | MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if start as isize == -1 {
            return None;
        }
        let start = start.cast::<u8>();
        let ptr = start.wrapping_add(start.align_offset(HUGE_PAGE));
        // Advice only: where the kernel gives no huge pages, the memory works all the same.
        // SAFETY: `ptr..ptr + rounded` lies inside the new mapping.
        unsafe { madvise(ptr.cast(), rounded, MADV_HUGEPAGE) };
        Some((ptr, (start, len)))
    }

    /// Returns a mapping made by [`map`].
    ///
    /// # Safety
    /// `start` and `len` are a mapping from [`map`], not used afterwards.
    pub(super) unsafe fn unmap(start: *mut u8, len: usize) {
        munmap(start.cast(), len);
    }
}

/// Elsewhere every allocation comes from the global allocator.
#[cfg(not(all(
    target_os = "linux",
    any(target_arch = "x86_64", target_arch = "aarch64")
)))]
mod huge {
    pub(super) fn map(_size: usize) -> Option<(*mut u8, (*mut u8, usize))> {
        None
    }

    pub(super) unsafe fn unmap(_start: *mut u8, _len: usize) {
        unreachable!("nothing is mapped")
    }
}

/// A zeroed array of `n` buckets: every tophash is `EMPTY_REST`, every overflow pointer null.
///
/// The allocation has room for `2n` buckets. A writer racing with `hash_grow` can read the new
/// B and then the old array (Go's `hashGrow` stores B first, and so does this copy), and index
/// up to twice past the array's end. In Go that stray write lands in a neighbouring heap object;
/// here it lands in zeroed spare room the map owns, so the race corrupts the map, which the
/// misuse checks are there to catch, and never the allocator, which would abort the process.
pub(crate) fn new_bucket_array<K, V>(t: &MapType<K, V>, n: usize) -> *mut Bucket<K, V> {
    let layout = Layout::array::<Bucket<K, V>>(2 * n).expect("bucket array size overflows usize");
    t.heap.alloc_zeroed(layout, None).cast()
}

/// A bucket array for `2^b` buckets (Go's `makeBucketArray`).
///
/// From B = 4 on, extra buckets are allocated behind the array, as many as fill the allocator's
/// size class, to serve as the first overflow buckets. The last of them carries a non-null overflow
/// pointer (the array itself) as an end marker. Returns the array and the first spare bucket (or
/// null). With `dirty` set, that array (made earlier for the same `b`) is cleared and reused.
pub(crate) unsafe fn make_bucket_array<K, V>(
    t: &MapType<K, V>,
    b: u8,
    dirty: *mut Bucket<K, V>,
) -> (*mut Bucket<K, V>, *mut Bucket<K, V>) {
    let base = bucket_shift(b);
    let mut nbuckets = base;
    let bucket_size = std::mem::size_of::<Bucket<K, V>>();
    if b >= 4 {
        nbuckets += bucket_shift(b - 4);
        let sz = bucket_size * nbuckets;
        let up = roundupsize(sz);
        if up != sz {
            nbuckets = up / bucket_size;
        }
    }
    let buckets = if dirty.is_null() {
        new_bucket_array(t, nbuckets)
    } else {
        ptr::write_bytes(dirty, 0, nbuckets);
        dirty
    };
    let mut next_overflow = null_mut();
    if base != nbuckets {
        next_overflow = buckets.add(base);
        set_overflow(buckets.add(nbuckets - 1), buckets);
    }
    (buckets, next_overflow)
}

/// Sizes a new, empty header for `hint` entries (Go's `makemap`): the smallest B that holds
/// `hint` entries within the load factor. Buckets are allocated now unless B is 0, in which case
/// the first insert allocates a single bucket.
pub unsafe fn make_map<K, V>(t: &MapType<K, V>, h: *mut Hmap<K, V>, hint: usize) {
    let hint = isize::try_from(hint).unwrap_or(0);
    let mut b = 0u8;
    while over_load_factor(hint, b) {
        b += 1;
    }
    set_b_log2(h, b);
    if b != 0 {
        let (array, next_overflow) = make_bucket_array(t, b, null_mut());
        set_buckets(h, array);
        if !next_overflow.is_null() {
            (*ensure_extra(t, h)).next_overflow = next_overflow;
        }
    }
}

/// The header's extra fields, allocated on first use.
pub(crate) unsafe fn ensure_extra<K, V>(
    t: &MapType<K, V>,
    h: *mut Hmap<K, V>,
) -> *mut MapExtra<K, V> {
    let mut e = extra(h);
    if e.is_null() {
        e = t
            .heap
            .alloc_zeroed(Layout::new::<MapExtra<K, V>>(), None)
            .cast();
        set_extra(h, e);
    }
    e
}

/// The header's extra fields with an overflow list, both allocated on first use (Go's
/// `createOverflow`).
pub(crate) unsafe fn create_overflow<K, V>(
    t: &MapType<K, V>,
    h: *mut Hmap<K, V>,
) -> *mut MapExtra<K, V> {
    let e = ensure_extra(t, h);
    if (*e).overflow.is_null() {
        (*e).overflow = new_overflow_list(t);
    }
    e
}

unsafe fn drop_overflow_list<K, V>(p: *mut u8) {
    ptr::drop_in_place(p.cast::<OverflowList<K, V>>());
}

/// A new, empty overflow list (Go's `new([]*bmap)`).
pub(crate) fn new_overflow_list<K, V>(t: &MapType<K, V>) -> *mut OverflowList<K, V> {
    let p = t
        .heap
        .alloc_zeroed(
            Layout::new::<OverflowList<K, V>>(),
            Some(drop_overflow_list::<K, V>),
        )
        .cast::<OverflowList<K, V>>();
    // SAFETY: freshly allocated, correctly sized and aligned.
    unsafe { p.write(OverflowList::new(Vec::new())) };
    p
}

/// Chains a new overflow bucket behind `b` (Go's `newoverflow`).
///
/// Takes a preallocated spare when there is one, else allocates; counts it in `noverflow` and,
/// for buckets without pointers, records it in `extra.overflow` (allocating `extra` and the list
/// on first use, as Go does only for those maps).
pub(crate) unsafe fn new_overflow<K, V>(
    t: &MapType<K, V>,
    h: *mut Hmap<K, V>,
    b: *mut Bucket<K, V>,
) -> *mut Bucket<K, V> {
    let e = extra(h);
    let spare = if e.is_null() {
        null_mut()
    } else {
        take_spare(e)
    };
    let ovf = if spare.is_null() {
        new_bucket_array(t, 1)
    } else {
        spare
    };
    incr_noverflow(t, h);
    if !t.bucket_has_pointers {
        let e = create_overflow(t, h);
        (*(*e).overflow)
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(ovf);
    }
    set_overflow(b, ovf);
    ovf
}

/// Takes the next preallocated spare bucket, or returns null when none is left.
///
/// Spares are consecutive buckets behind the array; the last one carries a non-null overflow
/// pointer as an end marker. Go takes them with plain stores, so two racing writers can take the
/// same spare, or one can clear the end marker while the other reads it and walks on past the
/// end of the array. The first only corrupts the map; the second writes outside it. Taking a
/// spare with a compare-and-swap keeps racing writers inside the array, and changes nothing for
/// a single writer.
unsafe fn take_spare<K, V>(e: *mut MapExtra<K, V>) -> *mut Bucket<K, V> {
    let next = AtomicPtr::from_ptr(addr_of_mut!((*e).next_overflow));
    loop {
        let ovf = next.load(Relaxed);
        if ovf.is_null() {
            return ovf;
        }
        let last = !super::overflow(ovf).is_null();
        let after = if last { null_mut() } else { ovf.add(1) };
        if next.compare_exchange(ovf, after, Relaxed, Relaxed).is_ok() {
            if last {
                set_overflow(ovf, null_mut());
            }
            return ovf;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Large allocations are zeroed, writable and (where the heap maps them itself) start at a
    /// huge-page boundary; small ones come from the global allocator.
    #[test]
    fn large_allocations_are_zeroed_and_huge_page_aligned() {
        let heap = Heap::default();
        let mapped = cfg!(all(
            target_os = "linux",
            any(target_arch = "x86_64", target_arch = "aarch64")
        ));
        for size in [HUGE_PAGE - 8, HUGE_PAGE, 3 * HUGE_PAGE + 100] {
            let layout = Layout::from_size_align(size, 8).unwrap();
            let p = heap.alloc_zeroed(layout, None);
            // SAFETY: `p` holds `size` bytes that the heap keeps until it is dropped.
            let bytes = unsafe { std::slice::from_raw_parts_mut(p, size) };
            assert!(bytes.iter().all(|&b| b == 0), "size {size} not zeroed");
            bytes.fill(0xa5);
            let aligned = p as usize % HUGE_PAGE == 0;
            assert_eq!(aligned, mapped && size >= HUGE_PAGE, "size {size}");
        }
        assert_eq!(heap.bytes(), 5 * HUGE_PAGE - 8 + 100);
    }
}
