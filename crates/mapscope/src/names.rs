//! Type-name matching as users write names (REFERENCE.md §4).
//!
//! A query matches a type whose qualified name is `Q` (namespace path + DW_AT_name)
//! and whose own DW_AT_name is `N` when:
//! 1. `query == Q` or `query == N` (exact), or
//! 2. `Q` ends with `query` on a `::`, `.` or `/` boundary (suffix), or
//! 3. the query has no `<` and 1 or 2 holds for `Q` with generic arguments
//!    stripped (`Bucket` matches every `Bucket<K, V>`).
//!
//! Spaces after commas are ignored on both sides (`bucket<int64,int64>` and
//! `bucket<int64, int64>` are the same). Names starting with one of `( & * [ < {`
//! only match exactly. Matching is case-sensitive.
//!
//! Cost is linear in the query's length: the query is normalised once, a name
//! shorter than the query is rejected by length before any comparison, and the
//! needle search uses one precompiled [`memchr::memmem::Finder`].

/// How a name matched a query; smaller is better.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MatchKind {
    /// The query equals the qualified name.
    ExactPath,
    /// The query equals the unqualified name, or is a suffix of the qualified name.
    Suffix,
    /// The query matches the name with its generic arguments removed.
    Generic,
}

/// A parsed user query.
#[derive(Debug, Clone)]
pub struct Query {
    /// The query as given.
    pub raw: String,
    norm: String,
    has_generics: bool,
    /// A substring every matching DW_AT_name must contain (fast prefilter).
    pub needle: String,
    finder: memchr::memmem::Finder<'static>,
}

impl Query {
    /// Parses a user's type name.
    pub fn new(raw: &str) -> Query {
        let norm = normalize(raw.trim());
        let has_generics = norm.contains('<');
        let stripped = strip_generics(&norm);
        let needle = last_segment(&stripped).to_string();
        let finder = memchr::memmem::Finder::new(needle.as_bytes()).into_owned();
        Query {
            raw: raw.to_string(),
            norm,
            has_generics,
            needle,
            finder,
        }
    }

    /// The searcher for [`Query::needle`], built once.
    pub fn needle_finder(&self) -> &memchr::memmem::Finder<'static> {
        &self.finder
    }

    /// Whether a type whose own name is `name` can match at all (it contains the
    /// needle); cheap, and a name shorter than the needle is rejected at once.
    pub fn may_match(&self, name: &str) -> bool {
        name.len() >= self.needle.len() && self.finder.find(name.as_bytes()).is_some()
    }

    /// Matches a type with qualified name `qualified` and own name `name`.
    pub fn matches(&self, qualified: &str, name: &str) -> Option<MatchKind> {
        // Every rule needs the normalised query at the end of the normalised
        // qualified name (which is no longer than `qualified`, and contains `name`).
        if qualified.len() < self.norm.len() && name.len() < self.norm.len() {
            return None;
        }
        let q = normalize(qualified);
        let n = normalize(name);
        if q == self.norm {
            return Some(MatchKind::ExactPath);
        }
        if n == self.norm {
            return Some(MatchKind::Suffix);
        }
        if name.starts_with(['(', '&', '*', '[', '<', '{']) {
            return None;
        }
        if suffix_on_boundary(&q, &self.norm) {
            return Some(MatchKind::Suffix);
        }
        if !self.has_generics && q.contains('<') {
            let qs = strip_generics(&q);
            if qs == self.norm || suffix_on_boundary(&qs, &self.norm) {
                return Some(MatchKind::Generic);
            }
        }
        None
    }
}

/// Removes whitespace that follows a comma.
pub fn normalize(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut after_comma = false;
    for c in s.chars() {
        if after_comma && c == ' ' {
            continue;
        }
        after_comma = c == ',';
        out.push(c);
    }
    out
}

/// Removes every `<...>` group (balanced) from a name.
pub fn strip_generics(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut depth = 0usize;
    for c in s.chars() {
        match c {
            '<' => depth += 1,
            '>' if depth > 0 => depth -= 1,
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

/// The last path segment (after `::`, `.` or `/` outside angle brackets).
pub fn last_segment(s: &str) -> &str {
    let bytes = s.as_bytes();
    let mut depth = 0i32;
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'<' | b'[' | b'(' => depth += 1,
            b'>' | b']' | b')' => depth -= 1,
            b'.' | b'/' if depth == 0 => start = i + 1,
            b':' if depth == 0 && bytes.get(i + 1) == Some(&b':') => {
                start = i + 2;
                i += 1;
            }
            _ => {}
        }
        i += 1;
    }
    &s[start.min(s.len())..]
}

fn suffix_on_boundary(name: &str, suffix: &str) -> bool {
    if suffix.is_empty() || name.len() <= suffix.len() || !name.ends_with(suffix) {
        return false;
    }
    let head = &name[..name.len() - suffix.len()];
    head.ends_with("::") || head.ends_with('.') || head.ends_with('/')
}

/// Splits generic arguments at top-level commas: `bucket<a,map[b]c>` → `["a", "map[b]c"]`.
pub fn generic_args(name: &str) -> Vec<String> {
    let Some(open) = name.find('<') else {
        return Vec::new();
    };
    let Some(close) = name.rfind('>') else {
        return Vec::new();
    };
    if close <= open {
        return Vec::new();
    }
    let inner = &name[open + 1..close];
    let mut out = Vec::new();
    let mut depth = 0i32;
    let mut cur = String::new();
    for c in inner.chars() {
        match c {
            '<' | '[' | '(' | '{' => depth += 1,
            '>' | ']' | ')' | '}' => depth -= 1,
            _ => {}
        }
        if c == ',' && depth == 0 {
            out.push(cur.trim().to_string());
            cur.clear();
        } else {
            cur.push(c);
        }
    }
    out.push(cur.trim().to_string());
    out
}

/// Whether the Levenshtein distance of `a` and `b` is at most `k`, in O(len * k):
/// strings whose lengths differ by more than `k` are rejected without comparing.
pub fn within_edit_distance(a: &str, b: &str, k: usize) -> bool {
    let (la, lb) = (a.chars().count(), b.chars().count());
    if la.abs_diff(lb) > k {
        return false;
    }
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let inf = k + 1;
    // Row i holds distances for j in [i-k, i+k]; everything outside the band is > k.
    let mut prev: Vec<usize> = (0..=lb).map(|j| if j <= k { j } else { inf }).collect();
    let mut cur = vec![inf; lb + 1];
    for i in 1..=la {
        let lo = i.saturating_sub(k).max(1);
        let hi = (i + k).min(lb);
        // Only the band's left neighbour can be stale (from row i - 2).
        cur[0] = if i <= k { i } else { inf };
        if lo > 1 {
            cur[lo - 1] = inf;
        }
        for j in lo..=hi {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            cur[j] = (prev[j] + 1)
                .min(cur[j - 1] + 1)
                .min(prev[j - 1] + cost)
                .min(inf);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[lb] <= k
}

/// Levenshtein distance (for "did you mean" suggestions).
pub fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for i in 1..=a.len() {
        cur[0] = i;
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            cur[j] = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules() {
        let q = |s: &str| Query::new(s);
        let rust = "gomap::runtime::Hmap<i64, i64>";
        assert_eq!(
            q(rust).matches(rust, "Hmap<i64, i64>"),
            Some(MatchKind::ExactPath)
        );
        assert_eq!(
            q("Hmap<i64, i64>").matches(rust, "Hmap<i64, i64>"),
            Some(MatchKind::Suffix)
        );
        assert_eq!(
            q("runtime::Hmap<i64,i64>").matches(rust, "Hmap<i64, i64>"),
            Some(MatchKind::Suffix)
        );
        assert_eq!(
            q("Hmap").matches(rust, "Hmap<i64, i64>"),
            Some(MatchKind::Generic)
        );
        assert_eq!(
            q("gomap::runtime::Hmap").matches(rust, "Hmap<i64, i64>"),
            Some(MatchKind::Generic)
        );
        assert_eq!(q("map").matches(rust, "Hmap<i64, i64>"), None);
        assert_eq!(
            q("runtime::Hmap<i64>").matches(rust, "Hmap<i64, i64>"),
            None
        );
        assert_eq!(
            q("hmap").matches("runtime.hmap", "runtime.hmap"),
            Some(MatchKind::Suffix)
        );
        assert_eq!(
            q("hmap").matches(rust, "Hmap<i64, i64>"),
            None,
            "case-sensitive"
        );
        let go = "bucket<int64,int64>";
        assert_eq!(
            q("bucket<int64, int64>").matches(go, go),
            Some(MatchKind::ExactPath)
        );
        assert_eq!(
            q("bucket<int64,int64>").matches(go, go),
            Some(MatchKind::ExactPath)
        );
        assert_eq!(q("bucket").matches(go, go), Some(MatchKind::Generic));
        assert_eq!(q("u8").matches("&u8", "&u8"), None);
        assert_eq!(q("&u8").matches("&u8", "&u8"), Some(MatchKind::ExactPath));
        assert_eq!(
            q("String").matches("alloc::string::String", "String"),
            Some(MatchKind::Suffix)
        );
        assert_eq!(q("ring").matches("alloc::string::String", "String"), None);
    }

    #[test]
    fn helpers() {
        assert_eq!(last_segment("a::b<c::d>::E<x::y>"), "E<x::y>");
        assert_eq!(last_segment("runtime.hmap"), "hmap");
        assert_eq!(strip_generics("a::B<c<d>, e>::F<g>"), "a::B::F");
        assert_eq!(
            generic_args("bucket<string,map[int]int>"),
            vec!["string", "map[int]int"]
        );
        assert_eq!(
            generic_args("Bucket<i64, gomap::Indirect<[u8; 200]>>"),
            vec!["i64", "gomap::Indirect<[u8; 200]>"]
        );
        assert_eq!(edit_distance("hmap", "hmpa"), 2);
        for (a, b) in [
            ("hmap", "hmpa"),
            ("hmap", "map"),
            ("kitten", "sitting"),
            ("", "ab"),
            ("abc", ""),
        ] {
            for k in 0..4 {
                assert_eq!(
                    within_edit_distance(a, b, k),
                    edit_distance(a, b) <= k,
                    "{a} {b} {k}"
                );
            }
        }
    }
}
