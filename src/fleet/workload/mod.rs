//! Workloads, fanned out and rolled up: the pure reconcile both the embedded backend and
//! `foreman scheduler --fan-out-workloads` apply, so the two cannot disagree on what a Workload
//! becomes. [`reconcile`] reads a Workload and the tasks of its namespace and says which tasks
//! to create and what the Workload's status should read; the caller writes both (tasks
//! first, so a crash in between re-plans and creates only what is missing).

mod plan;
mod rollup;
#[cfg(test)]
mod tests;

pub use plan::{Mode, Plan, PlanError, owner_ref, plan, render, steps, task_name};
pub use rollup::{Counts, Rollup};

use crate::api::workload::WorkloadPhase;
use crate::api::{AgenticTask, Workload, WorkloadStatus};
use crate::fleet::condition::upsert;
use k8s_openapi::api::core::v1::ObjectReference;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

/// Label on every task a Workload created: the Workload's name (upstream's).
pub const LABEL_WORKLOAD: &str = "foreman.llmkube.dev/workload";
/// Label on every task a Workload created: its step's name (upstream's).
pub const LABEL_STEP: &str = "foreman.llmkube.dev/step";
/// `status.plannerModel` when the spec names none (upstream's stub planner).
pub const STUB_PLANNER: &str = "stub:explicit-pipeline";

/// Condition types and reasons, spelled as upstream's Workload controller writes them.
pub const COND_PLANNED: &str = "Planned";
pub const COND_TRUNCATED: &str = "Truncated";
pub const COND_COMPLETED: &str = "Completed";
pub const COND_DISPATCHED: &str = "Dispatched";
pub const REASON_NO_PLANNER: &str = "NoPlannerOrPipeline";
pub const REASON_RENDER_ERROR: &str = "RenderError";
pub const REASON_PLANNED: &str = "PlannerSucceeded";
pub const REASON_MAX_TASKS: &str = "MaxTasksCap";
pub const REASON_ALL_SUCCEEDED: &str = "AllChildrenSucceeded";
pub const REASON_CHILDREN_FAILED: &str = "ChildrenFailed";
pub const REASON_CHILDREN_INCOMPLETE: &str = "ChildrenIncomplete";
pub const REASON_IN_FLIGHT: &str = "ChildrenInFlight";

/// One reconcile's writes: the tasks to create (in step order), then the status (`None`:
/// it already reads so).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Reconcile {
    pub create: Vec<AgenticTask>,
    pub status: Option<WorkloadStatus>,
}

/// Whether `t` was created by the Workload `w` (same namespace, its label).
pub fn is_child(w: &Workload, t: &AgenticTask) -> bool {
    let label = t
        .metadata
        .labels
        .as_ref()
        .and_then(|l| l.get(LABEL_WORKLOAD));
    is_child_at(
        w,
        t.metadata.namespace.as_deref(),
        label.map(String::as_str),
    )
}

/// [`is_child`] of a task in `namespace` with this workload label (a packed task's facts);
/// an unset namespace is `default`, as kubectl would apply it.
pub fn is_child_at(w: &Workload, namespace: Option<&str>, label: Option<&str>) -> bool {
    let ns = |n: Option<&str>| {
        n.unwrap_or("default") == w.metadata.namespace.as_deref().unwrap_or("default")
    };
    ns(namespace) && label == w.metadata.name.as_deref()
}

/// Whether the Workload has been planned (its tasks all created once): from then on only the
/// rollup runs, so a task deleted by hand is not brought back.
pub fn planned(w: &Workload) -> bool {
    w.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|c| {
            c.iter()
                .any(|c| c.type_ == COND_PLANNED && c.status == "True")
        })
}

/// What `w` needs, given `tasks` (any tasks; those of other namespaces are ignored). Idempotent:
/// a task that exists by name is never created again, and a status that already reads the
/// outcome is not rewritten.
pub fn reconcile(w: &Workload, tasks: &[&AgenticTask], now: &Time) -> Reconcile {
    let old = w.status.clone().unwrap_or_default();
    let mut st = old.clone();
    let mut create = Vec::new();
    if planned(w) {
        let children: Vec<&AgenticTask> =
            tasks.iter().copied().filter(|t| is_child(w, t)).collect();
        if !children.is_empty() {
            roll_up(&mut st, &Counts::of(children), now);
        }
    } else {
        match plan(w) {
            Ok(p) => {
                let exists = |name: &Option<String>| {
                    tasks.iter().any(|t| {
                        t.metadata.namespace == w.metadata.namespace && t.metadata.name == *name
                    })
                };
                create = p
                    .tasks
                    .iter()
                    .filter(|t| !exists(&t.metadata.name))
                    .cloned()
                    .collect();
                mark_planned(&mut st, w, &p, now);
            }
            Err(e) => unplannable(&mut st, &e, now),
        }
    }
    Reconcile {
        create,
        status: (st != old).then_some(st),
    }
}

/// The status after a task create failed (`Planned=False RenderError`); the next reconcile
/// tries again.
pub fn create_failed(w: &Workload, message: &str, now: &Time) -> WorkloadStatus {
    let mut st = w.status.clone().unwrap_or_default();
    st.phase = Some(WorkloadPhase::Planning);
    upsert(
        conds(&mut st),
        COND_PLANNED,
        false,
        REASON_RENDER_ERROR,
        message,
        now,
    );
    st
}

fn conds(
    st: &mut WorkloadStatus,
) -> &mut Vec<k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition> {
    st.conditions.get_or_insert_with(Vec::new)
}

fn unplannable(st: &mut WorkloadStatus, e: &PlanError, now: &Time) {
    let (reason, msg) = match e {
        PlanError::NoPlanner(m) => (REASON_NO_PLANNER, m),
        PlanError::Invalid(m) => (REASON_RENDER_ERROR, m),
    };
    st.phase = Some(WorkloadPhase::Failed);
    upsert(conds(st), COND_PLANNED, false, reason, msg, now);
}

fn mark_planned(st: &mut WorkloadStatus, w: &Workload, p: &Plan, now: &Time) {
    st.phase = Some(WorkloadPhase::Planned);
    st.planner_model = Some(
        w.spec
            .planner_model
            .clone()
            .filter(|m| !m.is_empty())
            .unwrap_or_else(|| STUB_PLANNER.into()),
    );
    st.tasks = Some(p.tasks.iter().map(|t| task_ref(w, t)).collect());
    let n = p.tasks.len();
    upsert(
        conds(st),
        COND_PLANNED,
        true,
        REASON_PLANNED,
        &format!("{n} task(s) created"),
        now,
    );
    if p.truncated() {
        let msg = format!("kept {n} of {} steps (maxTasks {n})", p.total);
        upsert(conds(st), COND_TRUNCATED, true, REASON_MAX_TASKS, &msg, now);
    }
}

fn task_ref(w: &Workload, t: &AgenticTask) -> ObjectReference {
    ObjectReference {
        api_version: Some(crate::api::API_VERSION.into()),
        kind: Some("AgenticTask".into()),
        name: t.metadata.name.clone(),
        namespace: w.metadata.namespace.clone(),
        ..Default::default()
    }
}

fn roll_up(st: &mut WorkloadStatus, c: &Counts, now: &Time) {
    st.succeeded_tasks = Some(c.succeeded as i32);
    st.failed_tasks = Some(c.failed as i32);
    st.incomplete_tasks = Some(c.incomplete as i32);
    let done = format!(
        "{} of {} succeeded, {} failed, {} incomplete",
        c.succeeded,
        c.total(),
        c.failed,
        c.incomplete
    );
    let (phase, type_, ok, reason) = match Rollup::of(c) {
        Rollup::Completed => (
            WorkloadPhase::Completed,
            COND_COMPLETED,
            true,
            REASON_ALL_SUCCEEDED,
        ),
        Rollup::Failed => (
            WorkloadPhase::Failed,
            COND_COMPLETED,
            false,
            REASON_CHILDREN_FAILED,
        ),
        Rollup::Incomplete => (
            WorkloadPhase::Failed,
            COND_COMPLETED,
            false,
            REASON_CHILDREN_INCOMPLETE,
        ),
        Rollup::InFlight => {
            let msg = format!("{} of {} still running", c.in_flight, c.total());
            st.phase = Some(WorkloadPhase::Dispatched);
            upsert(
                conds(st),
                COND_DISPATCHED,
                true,
                REASON_IN_FLIGHT,
                &msg,
                now,
            );
            return;
        }
    };
    st.phase = Some(phase);
    upsert(conds(st), type_, ok, reason, &done, now);
    // No longer in flight: the Dispatched condition says so.
    upsert(conds(st), COND_DISPATCHED, false, reason, &done, now);
}
