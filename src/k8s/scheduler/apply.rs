//! Applying planned actions: merge patches on the status subresource, each carrying the
//! resourceVersion it was planned against. A 409 means someone (the node's agent, LLMKube's
//! operator, another scheduler) changed the object first: we lost a harmless race and the
//! watch brings the new version. Writes run concurrently, bounded.

use crate::api::{Agent, AgenticTask, FleetNode};
use crate::fleet::reasons::REASON_AGENT_NOT_FOUND;
use crate::fleet::schedule::plan::{Action, Target, What};
use futures_util::{StreamExt, stream};
use kube::api::{Api, Patch, PatchParams};
use kube::{Client, Error};
use tracing::{debug, info, warn};

/// Shows up in `metadata.managedFields` so `kubectl get -o yaml` says who wrote what.
pub const FIELD_MANAGER: &str = "foreman-scheduler";

/// The object as the apiserver returned it after a successful write.
#[derive(Clone, Debug)]
pub enum Written {
    Task(Box<AgenticTask>),
    Node(Box<FleetNode>),
}

#[derive(Clone, Debug)]
pub enum Outcome {
    Applied(Written),
    /// 409: the object changed since we read it.
    Conflict,
    /// 404: deleted meanwhile.
    Gone,
    /// Not written on purpose (e.g. the "missing" Agent exists after all).
    Skipped(String),
    Failed(String),
}

/// What one pass did (also the `--once` summary).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PassReport {
    pub planned: usize,
    pub applied: usize,
    pub scheduled: usize,
    pub failed_tasks: usize,
    pub stale_nodes: usize,
    pub conflicts: usize,
    pub errors: usize,
}

impl PassReport {
    pub fn add(&mut self, o: &PassReport) {
        self.planned += o.planned;
        self.applied += o.applied;
        self.scheduled += o.scheduled;
        self.failed_tasks += o.failed_tasks;
        self.stale_nodes += o.stale_nodes;
        self.conflicts += o.conflicts;
        self.errors += o.errors;
    }
}

/// Applies `actions` (at most `concurrency` in flight), logs each result, and returns them.
pub async fn apply_all(
    client: &Client,
    actions: Vec<Action>,
    concurrency: usize,
) -> (Vec<(Action, Outcome)>, PassReport) {
    let mut report = PassReport {
        planned: actions.len(),
        ..Default::default()
    };
    let results: Vec<(Action, Outcome)> = stream::iter(actions)
        .map(|a| async move {
            let o = apply(client, &a).await;
            (a, o)
        })
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await;
    for (a, o) in &results {
        log(a, o);
        match o {
            Outcome::Applied(_) => {
                report.applied += 1;
                match a.what {
                    What::Schedule { .. } => report.scheduled += 1,
                    What::Fail { .. } => report.failed_tasks += 1,
                    What::NodeStale => report.stale_nodes += 1,
                    _ => {}
                }
            }
            Outcome::Conflict => report.conflicts += 1,
            Outcome::Failed(_) => report.errors += 1,
            Outcome::Gone | Outcome::Skipped(_) => {}
        }
    }
    (results, report)
}

async fn apply(client: &Client, a: &Action) -> Outcome {
    let pp = PatchParams {
        field_manager: Some(FIELD_MANAGER.into()),
        ..Default::default()
    };
    let patch = Patch::Merge(&a.patch);
    match &a.target {
        Target::Task { namespace, name } => {
            if let What::Fail {
                missing_agent: Some(agent),
                ..
            } = &a.what
            {
                // The Agent's watch event can trail the task's: confirm before failing it.
                let agents: Api<Agent> = Api::namespaced(client.clone(), namespace);
                match agents.get_opt(agent).await {
                    Ok(Some(_)) => {
                        return Outcome::Skipped(format!(
                            "Agent {agent:?} exists (not yet seen by the watch)"
                        ));
                    }
                    Ok(None) => {}
                    Err(e) => {
                        return Outcome::Failed(format!(
                            "cannot confirm that Agent {agent:?} is missing: {}",
                            describe(&e)
                        ));
                    }
                }
            }
            let api: Api<AgenticTask> = Api::namespaced(client.clone(), namespace);
            match api.patch_status(name, &pp, &patch).await {
                Ok(t) => Outcome::Applied(Written::Task(Box::new(t))),
                Err(e) => failure(e),
            }
        }
        Target::Node { name } => {
            let api: Api<FleetNode> = Api::all(client.clone());
            match api.patch_status(name, &pp, &patch).await {
                Ok(n) => Outcome::Applied(Written::Node(Box::new(n))),
                Err(e) => failure(e),
            }
        }
    }
}

fn failure(e: Error) -> Outcome {
    match &e {
        Error::Api(s) if s.is_conflict() => Outcome::Conflict,
        Error::Api(s) if s.is_not_found() => Outcome::Gone,
        _ => Outcome::Failed(describe(&e)),
    }
}

/// A kube error in one line: the apiserver's own message, or the transport error's chain.
pub fn describe(e: &Error) -> String {
    match e {
        Error::Api(s) => format!("{} (HTTP {})", s.message, s.code),
        other => {
            let mut out = other.to_string();
            let mut src = std::error::Error::source(other);
            while let Some(s) = src {
                let s_text = s.to_string();
                if !out.contains(&s_text) {
                    out.push_str(": ");
                    out.push_str(&s_text);
                }
                src = s.source();
            }
            out
        }
    }
}

fn log(a: &Action, o: &Outcome) {
    let target = &a.target;
    match o {
        Outcome::Applied(_) => match &a.what {
            What::Schedule { node } => info!("scheduled {target} to FleetNode {node}"),
            What::Fail {
                reason, message, ..
            } => {
                let kind = if *reason == REASON_AGENT_NOT_FOUND {
                    "missing Agent"
                } else {
                    "cascade"
                };
                info!(reason = *reason, "failed {target} ({kind}): {message}")
            }
            What::NodeStale => info!("marked {target} NotReady: heartbeat is stale"),
            What::MarkPending => debug!("{target} is Pending"),
            What::Waiting(m) => debug!("{target} waits: {m}"),
            What::Unschedulable(m) => info!("{target} is unschedulable: {m}"),
            What::ClearScheduled => debug!("{target} waits for a free FleetNode"),
        },
        Outcome::Conflict => debug!(
            "{target} changed since it was read (409 Conflict); the watch brings the new version"
        ),
        Outcome::Gone => debug!("{target} was deleted meanwhile"),
        Outcome::Skipped(why) => debug!("{target}: not written: {why}"),
        Outcome::Failed(e) => warn!("cannot update {target}: {e}"),
    }
}
