//! Per-document sharing of repeated text: a long value (over [`INLINE`] bytes, so it would be
//! its own allocation) or an EXTRA_DATA list seen before in the same document is handed out
//! again as a reference-count bump. Bounded: past [`MAX_ENTRIES`] distinct values per kind new
//! ones are simply not remembered.

use super::model::{Extra, SmolStr, no_extra};
use std::collections::{HashMap, HashSet};
use std::hash::Hash;
use std::sync::Arc;

/// Longest text a [`SmolStr`] keeps inline.
pub(super) const INLINE: usize = 23;

/// Most distinct values remembered per kind and document.
pub(super) const MAX_ENTRIES: usize = 4096;

/// Insert `v` under `k` unless the map is full.
pub(super) fn remember<K: Hash + Eq, V>(map: &mut HashMap<K, V>, k: K, v: V) {
    if map.len() < MAX_ENTRIES {
        map.insert(k, v);
    }
}

/// Shared strings and EXTRA_DATA lists of one document (keyed by their text).
#[derive(Default)]
pub(super) struct Interner {
    strings: HashSet<SmolStr>,
    extras: HashSet<Extra>,
}

impl Interner {
    /// `s` as a [`SmolStr`], shared with an earlier equal one when it is long.
    pub(super) fn str(&mut self, s: &str) -> SmolStr {
        if s.len() <= INLINE {
            return SmolStr::new(s);
        }
        if let Some(x) = self.strings.get(s) {
            return x.clone();
        }
        let x = SmolStr::new(s);
        if self.strings.len() < MAX_ENTRIES {
            self.strings.insert(x.clone());
        }
        x
    }

    /// `pairs` as an [`Extra`], shared with an earlier equal list.
    pub(super) fn extra(&mut self, pairs: &[(SmolStr, SmolStr)]) -> Extra {
        if pairs.is_empty() {
            return no_extra();
        }
        if let Some(x) = self.extras.get(pairs) {
            return x.clone();
        }
        let x: Extra = Arc::from(pairs);
        if self.extras.len() < MAX_ENTRIES {
            self.extras.insert(x.clone());
        }
        x
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_strings_and_lists_are_shared() {
        let mut i = Interner::default();
        let long = "Percentage of CPU utilization at the user level";
        let (a, b) = (i.str(long), i.str(long));
        assert!(a.is_heap_allocated());
        assert_eq!(a.as_ptr(), b.as_ptr(), "one allocation for both");
        assert!(!i.str("short").is_heap_allocated());
        let pairs = [(SmolStr::new("GROUP"), SmolStr::new("cpu"))];
        let (x, y) = (i.extra(&pairs), i.extra(&pairs));
        assert!(Arc::ptr_eq(&x, &y));
        assert_eq!(&x[..], &pairs);
        assert!(Arc::ptr_eq(&i.extra(&[]), &no_extra()));
    }
}
