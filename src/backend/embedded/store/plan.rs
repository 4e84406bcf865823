//! The tasks the embedded executor's passes read: the scheduling pass plans over the tasks
//! in flight on each tick, a Workload's reconcile over its children. Neither reads 10,000
//! finished runs: those stay packed unless a plan depends on one.

use super::Store;
use crate::api::{AgenticTask, Workload};
use crate::fleet::TaskKey;
use crate::fleet::held::Held;
use std::collections::BTreeSet;
use std::sync::Arc;

impl Store {
    /// What the scheduling pass plans over on each tick: every task held in full (those in
    /// flight among them) and, inflated, the packed ones they depend on (a dependency
    /// resolves against its phase and verdict). A packed task is finished, so nothing else
    /// of the plan reads it.
    pub fn planning(&self) -> Vec<Arc<AgenticTask>> {
        let mut out: Vec<Arc<AgenticTask>> = self
            .tasks
            .values()
            .filter_map(|e| e.view.full().cloned())
            .collect();
        let deps: BTreeSet<TaskKey> = out
            .iter()
            .filter(|t| !crate::fleet::held::is_finished(t))
            .flat_map(|t| {
                let ns = TaskKey::of(t).namespace;
                t.spec
                    .depends_on
                    .iter()
                    .flatten()
                    .map(move |d| TaskKey::new(ns.clone(), d))
            })
            .collect();
        for k in deps {
            if let Some(Held::Packed(p)) = self.tasks.get(&k).map(|e| &e.view)
                && let Some(t) = p.task()
            {
                out.push(Arc::new(t));
            }
        }
        out
    }

    /// The tasks a reconcile of `w` reads: its children once it is planned (a packed one
    /// inflated), else every task of its namespace (the plan must not create a name that is
    /// taken; once per Workload).
    pub fn workload_tasks(&self, w: &Workload) -> Vec<Arc<AgenticTask>> {
        let ns = w.metadata.namespace.as_deref().unwrap_or("default");
        let planned = crate::fleet::workload::planned(w);
        self.tasks
            .iter()
            .filter(|(k, e)| {
                k.namespace == ns
                    && (!planned
                        || crate::fleet::workload::is_child_at(
                            w,
                            Some(&k.namespace),
                            e.view.facts().workload.as_deref(),
                        ))
            })
            .filter_map(|(_, e)| match &e.view {
                Held::Full(t) => Some(t.clone()),
                Held::Packed(p) => p.task().map(Arc::new),
            })
            .collect()
    }
}
