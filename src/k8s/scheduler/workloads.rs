//! `foreman scheduler --fan-out-workloads`: Workloads fanned out and rolled up on a cluster
//! by the pure reconcile the embedded default uses ([`crate::fleet::workload::reconcile`]).
//! Off by default: LLMKube's operator runs its own Workload controller, and two writers of
//! one Workload's status would fight. Tasks are created first (an AlreadyExists is someone
//! else's create of the same task, tolerated as upstream does), then the status, as a merge
//! patch carrying the resourceVersion it was computed from (a 409 is a lost race: the watch
//! brings the fresh Workload and the next pass reconciles it).

use super::apply::FIELD_MANAGER;
use crate::api::{AgenticTask, Workload, WorkloadStatus};
use crate::fleet::status::now;
use crate::fleet::workload::{create_failed, reconcile};
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::runtime::reflector::Store;
use kube::{Client, Error, ResourceExt};
use std::sync::Arc;
use tracing::{debug, info, warn};

/// What one fan-out pass wrote.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FanOutReport {
    pub created: usize,
    pub statuses: usize,
    pub conflicts: usize,
    pub errors: usize,
}

impl FanOutReport {
    pub fn writes(&self) -> usize {
        self.created + self.statuses
    }
}

/// The Workload cache is listed (when fan-out is on).
pub(super) async fn ready(workloads: &Option<Store<Workload>>) {
    if let Some(w) = workloads {
        let _ = w.wait_until_ready().await;
    }
}

/// One fan-out over the caches (when fan-out is on), before the scheduling pass.
pub(super) async fn pass(
    client: &Client,
    workloads: &Option<Store<Workload>>,
    tasks: &Store<AgenticTask>,
) {
    if let Some(w) = workloads {
        let r = fan_out(client, &w.state(), &tasks.state()).await;
        debug!(
            created = r.created,
            statuses = r.statuses,
            "workload fan-out"
        );
    }
}

/// Reconciles every Workload against `tasks` (the tasks of the same namespaces).
pub async fn fan_out(
    client: &Client,
    workloads: &[Arc<Workload>],
    tasks: &[Arc<AgenticTask>],
) -> FanOutReport {
    let mut report = FanOutReport::default();
    let refs: Vec<&AgenticTask> = tasks.iter().map(|t| t.as_ref()).collect();
    let now = now();
    for w in workloads {
        let r = reconcile(w, &refs, &now);
        let ns = w.namespace().unwrap_or_else(|| "default".into());
        let name = w.name_any();
        let mut status = r.status;
        let api: Api<AgenticTask> = Api::namespaced(client.clone(), &ns);
        for t in &r.create {
            match api.create(&PostParams::default(), t).await {
                Ok(_) => {
                    report.created += 1;
                    info!(workload = %format!("{ns}/{name}"), task = %t.name_any(), "created");
                }
                Err(Error::Api(e)) if e.code == 409 => {
                    debug!(task = %t.name_any(), "already exists");
                }
                Err(e) => {
                    report.errors += 1;
                    let msg = format!("cannot create task {}: {e}", t.name_any());
                    warn!(workload = %format!("{ns}/{name}"), "{msg}");
                    status = Some(create_failed(w, &msg, &now));
                    break;
                }
            }
        }
        if let Some(st) = status {
            write_status(client, w, &ns, &st, &mut report).await;
        }
    }
    report
}

async fn write_status(
    client: &Client,
    w: &Workload,
    ns: &str,
    st: &WorkloadStatus,
    report: &mut FanOutReport,
) {
    let api: Api<Workload> = Api::namespaced(client.clone(), ns);
    let patch = serde_json::json!({
        "metadata": { "resourceVersion": w.resource_version() },
        "status": st,
    });
    let pp = PatchParams {
        field_manager: Some(FIELD_MANAGER.into()),
        ..Default::default()
    };
    match api
        .patch_status(&w.name_any(), &pp, &Patch::Merge(&patch))
        .await
    {
        Ok(_) => {
            report.statuses += 1;
            debug!(workload = %w.name_any(), phase = ?st.phase, "status written");
        }
        Err(Error::Api(e)) if e.code == 409 || e.code == 404 => report.conflicts += 1,
        Err(e) => {
            report.errors += 1;
            warn!(workload = %w.name_any(), "cannot write the status: {e}");
        }
    }
}
