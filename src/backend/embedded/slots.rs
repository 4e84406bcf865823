//! The local inference server's slots (llama.cpp `total_slots`): each run is pinned to one
//! (`id_slot`) so runs sharing the server keep their own prompt caches instead of evicting
//! each other's, and no more runs go at once than the server has slots: the rest queue.

use crate::fleet::TaskKey;
use std::collections::HashMap;

/// Which run holds which slot. A run that ended frees its slot on the next [`Slots::take`]
/// (ownership is checked against the running set then), so no exit path can leak one.
#[derive(Debug, Default)]
pub struct Slots {
    /// What the server reported; None until it did (or when it is not llama.cpp).
    total: Option<u32>,
    /// The server answered a probe at least once (with or without a slot count).
    probed: bool,
    held: HashMap<TaskKey, u32>,
}

impl Slots {
    /// The server's slot count from its latest probe (None: unknown, nothing is pinned).
    pub fn set_total(&mut self, total: Option<u32>) {
        self.total = total.filter(|n| *n > 0);
        self.probed = true;
    }

    /// Whether runs may start: when the backend probes its server, not before the first
    /// answer, so the first runs are already capped and pinned.
    pub fn ready(&self, probing: bool) -> bool {
        self.probed || !probing
    }

    /// How many runs may go at once: the configured maximum, capped by the server's slots.
    pub fn cap(&self, max_concurrent: usize) -> usize {
        let max = max_concurrent.max(1);
        self.total.map_or(max, |n| max.min(n as usize))
    }

    /// The lowest free slot for `key` (its own when it holds one), after dropping the slots of
    /// runs `running` no longer reports. None when the count is unknown or every slot is held.
    pub fn take(&mut self, key: &TaskKey, running: impl Fn(&TaskKey) -> bool) -> Option<u32> {
        let total = self.total?;
        self.held.retain(|k, _| k == key || running(k));
        if let Some(s) = self.held.get(key) {
            return Some(*s);
        }
        let free = (0..total).find(|s| !self.held.values().any(|h| h == s))?;
        self.held.insert(key.clone(), free);
        Some(free)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_get_distinct_slots_and_a_finished_run_frees_its_own() {
        let (a, b, c) = (
            TaskKey::new("d", "a"),
            TaskKey::new("d", "b"),
            TaskKey::new("d", "c"),
        );
        let mut s = Slots::default();
        assert!(!s.ready(true) && s.ready(false));
        assert_eq!(s.take(&a, |_| true), None, "unknown count: unpinned");
        assert_eq!(s.cap(4), 4);
        s.set_total(Some(2));
        assert!(s.ready(true));
        assert_eq!(s.cap(4), 2);
        assert_eq!(s.cap(1), 1);
        assert_eq!(s.take(&a, |_| true), Some(0));
        assert_eq!(s.take(&b, |_| true), Some(1));
        assert_eq!(s.take(&c, |_| true), None, "both held");
        assert_eq!(s.take(&a, |_| true), Some(0), "a run keeps its slot");
        assert_eq!(
            s.take(&c, |k| k != &a),
            Some(0),
            "a ended: its slot is free"
        );
        s.set_total(Some(0));
        assert_eq!(s.cap(4), 4, "zero slots reported: not a cap");
    }
}
