//! Workload writes of the fan-out (`embedded::fanout`): the status, compare-and-swap on the
//! resourceVersion as every task write is, so two consoles sharing the state never mix.

use super::import::to_json;
use super::{Kind, Store, StoreError, db, ns_name, rv_of};
use crate::api::Workload;

impl Store {
    pub fn workload(&self, namespace: &str, name: &str) -> Option<&Workload> {
        self.workloads
            .get(&(namespace.to_string(), name.to_string()))
    }

    /// Writes the Workload (its status) if the stored copy is still at its resourceVersion,
    /// and returns it at its new one; a Workload another process changed in between is an
    /// error and nothing is written (the next pass reconciles the fresh copy).
    pub fn save_workload(&mut self, w: &Workload) -> Result<Workload, StoreError> {
        let (ns, name) = ns_name(&w.metadata);
        let expected = rv_of(&w.metadata);
        let tx = db::write(&self.db)?;
        let rv = db::bump(&tx)?;
        let mut stored = w.clone();
        stored.metadata.namespace = Some(ns.clone());
        stored.metadata.resource_version = Some(rv.to_string());
        let text = to_json(&stored)?;
        if !db::compare_and_swap(&tx, Kind::Workload, &ns, &name, expected, rv, &text)? {
            return Err(StoreError::Db(format!(
                "workload {ns}/{name} was changed or deleted by another process; nothing was written"
            )));
        }
        tx.commit()?;
        self.seen_own(rv);
        self.workloads.insert((ns, name), stored.clone());
        Ok(stored)
    }
}
