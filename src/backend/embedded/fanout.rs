//! Workloads in the embedded default: before each scheduling pass every stored Workload is
//! reconciled ([`crate::fleet::workload::reconcile`]): its missing tasks are created (Pending,
//! so the same pass schedules them) and its status rolled up from its tasks. `foreman dispatch
//! --workload` runs the same fan-out on the store right away, so its tasks exist at once.

use super::runner::Runner;
use super::{Store, StoreError};
use crate::api::{AgenticTask, Object, Workload};
use crate::backend::BackendEvent;
use crate::fleet::TaskKey;
use crate::fleet::status::now;
use crate::fleet::workload::{create_failed, reconcile};

/// What one fan-out wrote.
#[derive(Debug, Default)]
pub struct FanOut {
    pub created: Vec<TaskKey>,
    pub workloads: Vec<Workload>,
    pub errors: Vec<String>,
}

/// Reconciles every Workload in `store`: tasks first, then the status, so an interrupted
/// fan-out is finished by the next one and never creates a task twice.
pub fn fan_out(store: &mut Store) -> FanOut {
    let mut out = FanOut::default();
    let now = now();
    for w in store.workloads() {
        let tasks = store.workload_tasks(&w);
        let refs: Vec<&AgenticTask> = tasks.iter().map(|t| t.as_ref()).collect();
        let r = reconcile(&w, &refs, &now);
        drop(refs);
        let name = format!(
            "{}/{}",
            w.metadata.namespace.as_deref().unwrap_or("default"),
            w.metadata.name.as_deref().unwrap_or_default()
        );
        let mut status = r.status;
        if !r.create.is_empty() {
            let objects = r.create.into_iter().map(|t| Object::Task(Box::new(t)));
            match store.submit(objects.collect(), false) {
                Ok(s) => out.created.extend(s.tasks),
                // Another console created them first: the next pass sees them.
                Err(StoreError::Duplicate(_)) => continue,
                Err(e) => {
                    let msg = format!("cannot create the tasks of workload {name}: {e}");
                    status = Some(create_failed(&w, &msg, &now));
                    out.errors.push(msg);
                }
            }
        }
        let Some(st) = status else { continue };
        let mut next = w.clone();
        next.status = Some(st);
        match store.save_workload(&next) {
            Ok(saved) => out.workloads.push(saved),
            Err(e) => out.errors.push(format!("workload {name}: {e}")),
        }
    }
    out
}

impl Runner {
    /// [`fan_out`] on this backend's store, every write told to the UI.
    pub(super) fn fan_out(&mut self) {
        if self.store.workloads().is_empty() {
            return;
        }
        let done = fan_out(&mut self.store);
        for k in &done.created {
            if let Some(t) = self.store.task(k).cloned() {
                self.emit(BackendEvent::TaskUpdated(Box::new(t)));
            }
        }
        for w in done.workloads {
            self.emit(BackendEvent::WorkloadUpdated(Box::new(w)));
        }
        for e in done.errors {
            self.emit(BackendEvent::Error(e));
        }
    }
}
