//! Request changes on a cluster (issues 12 §3, 13 §1): a console anywhere writes the
//! `requestChanges` decision with the feedback on a GO this node ran; this node's worker takes
//! it, checks it may run, archives attempt N, moves the task to attempt N+1 Running here and
//! runs the revision as its current run (`task_run`, the same live transcript, heartbeat and
//! terminal status as a first run). A revision counts like a run: it starts only when nothing
//! runs here (the decision stays pending, and withdrawable, meanwhile).
//!
//! # Exactly once
//!
//! Three writes, each guarded, carry a decision from pending to a running revision:
//! 1. **take**: the `taken` mark, with the version the decision was read at
//!    ([`super::decide::take`]);
//! 2. **archive**: attempt N's transcript and status into `…-attempt-N` (an upsert of the same
//!    content, so repeating it is harmless);
//! 3. **begin**: one status replace, with the version the take returned, that makes the task
//!    attempt N+1 `Running` here *and* marks the decision `done` in the same object.
//!
//! A crash before 3 leaves the decision `taken` and the task still awaiting approval: the
//! restarted worker resumes it (checks again, archives again, begins). Two begins cannot both
//! land: the second carries a version the first changed (409), and on re-reading it finds the
//! decision done. A crash after 3 leaves a `Running` task with a done decision: the restart
//! re-queues it as an interrupted run (`recover_orphans`), like any run, and nothing starts a
//! second revision. The revision's Result keeps the done mark, so the decision stays done.

use super::decide::{take, write_extra};
use super::{WorkerConfig, transcript};
use crate::agent::transcript::{Record, read_journal};
use crate::api::{Agent, AgenticTask, AgenticTaskStatus, TaskPhase};
use crate::executor::review::{self, Revision};
use crate::fleet::attempt::{ATTEMPT_ANNOTATION, attempt_of};
use crate::fleet::decision::{Action, Decision, MARK_KEY, Mark, Progress, Stage};
use crate::fleet::extra::ResultExtra;
use crate::fleet::status::{mark_claimed, result_extra};
use crate::fleet::{TaskKey, task_state};
use crate::k8s::Cluster;
use crate::oai::Message;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::Api;
use kube::api::{Patch, PatchParams, PostParams};
use serde_json::{Value, json};
use std::path::PathBuf;

/// Whether `t` holds a request for changes this node must carry out (pending, or taken and
/// not begun: a crash).
pub(super) fn wants(t: &AgenticTask, node: &str) -> bool {
    let s = t.status.as_ref();
    s.and_then(|s| s.assigned_node.as_deref()) == Some(node)
        && Stage::of(t)
            .open()
            .is_some_and(|d| d.action == Action::RequestChanges)
}

/// A revision ready to run: the task as begun, its Agent and the request.
pub(super) struct Begun {
    pub task: AgenticTask,
    pub agent: Agent,
    pub revision: Revision,
    /// The new attempt's number.
    pub attempt: u32,
    /// The decision's done mark, kept in the revision's Result (the decision stays done).
    pub mark: Value,
    /// The reviewed attempt's conversation: the live transcript starts with it.
    pub previous: Vec<(u32, Message)>,
}

/// What came of a request for changes.
pub(super) enum Outcome {
    Begun(Box<Begun>),
    /// Refused (recorded as a failed decision) or nothing left to do: the notice.
    Ended(String),
}

/// Takes the decision on `t`, checks it, archives attempt N and begins attempt N+1. `Err`:
/// an apiserver write failed; the decision stays where it was and the rescan retries.
pub(super) async fn begin(
    cluster: &Cluster,
    cfg: &WorkerConfig,
    t: AgenticTask,
) -> Result<Outcome, String> {
    let key = TaskKey::of(&t);
    let node = cfg.node.name.as_str();
    let api: Api<AgenticTask> = Api::namespaced(cluster.client.clone(), &key.namespace);
    let Some((t, d, _resumed)) = take(&api, &key, t, node).await? else {
        return Ok(Outcome::Ended(format!(
            "{key}: no decision left to carry out"
        )));
    };
    let checked = match check(cluster, &t, &d).await {
        Ok(c) => c,
        Err(why) => return refuse(&api, &key, &d, node, why).await,
    };
    let n = attempt_of(&t);
    let cms: Api<ConfigMap> = Api::namespaced(cluster.client.clone(), &key.namespace);
    if let Err(e) = archive(&cms, &t, n).await {
        let why = format!("attempt {n}'s transcript cannot be kept: {e}; try again");
        return refuse(&api, &key, &d, node, why).await;
    }
    let (agent, revision, previous) = checked;
    let message = format!(
        "review {} started as attempt {} on {node}",
        revision.iteration,
        n + 1
    );
    let mark = Mark::new(&d.id, Progress::Done, node, Some(message.clone())).to_value();
    let Some(task) = start_attempt(&api, &key, t, &d, node, &mark).await? else {
        return Ok(Outcome::Ended(format!(
            "{key}: the revision began elsewhere"
        )));
    };
    let task = number(&api, &key, task, n + 1).await;
    Ok(Outcome::Begun(Box::new(Begun {
        task,
        agent,
        revision,
        attempt: n + 1,
        mark,
        previous,
    })))
}

type Checked = (Agent, Revision, Vec<(u32, Message)>);

/// Whether the request may run: feedback, state, the Agent's `maxReviewIterations`, the
/// workspace at the GO commit, the reviewed attempt's journal. The error is the refusal.
async fn check(cluster: &Cluster, t: &AgenticTask, d: &Decision) -> Result<Checked, String> {
    let feedback = (d.feedback.as_deref().map(str::trim))
        .filter(|f| !f.is_empty())
        .ok_or("empty feedback is not sent; say what to change")?
        .to_string();
    d.action.admits(task_state(t))?;
    let agent = agent_of(cluster, t).await?;
    let extra = result_extra(t);
    let iteration = review::next_iteration(&extra.other);
    review::check_limit(&agent, iteration)?;
    let pending = crate::executor::pr::pending_push(t)?;
    let probe = pending.clone();
    tokio::task::spawn_blocking(move || review::ready(&probe))
        .await
        .map_err(|e| format!("the workspace check failed: {e}"))??;
    let journal = extra.journal.map(PathBuf::from).ok_or(
        "the reviewed attempt recorded no journal on this node; approve or reject it, or re-queue it",
    )?;
    let path = journal.clone();
    let records = tokio::task::spawn_blocking(move || read_journal(&path))
        .await
        .map_err(|e| format!("the journal reader failed: {e}"))?
        .map_err(|e| format!("the reviewed attempt's journal cannot be read ({e}); re-queue it"))?;
    let previous = records
        .into_iter()
        .filter_map(|r| match r {
            Record::Message { turn, message } => Some((turn, message)),
            _ => None,
        })
        .collect();
    let revision = Revision {
        pending,
        previous_journal: journal,
        feedback,
        iteration,
    };
    Ok((agent, revision, previous))
}

/// The task's Agent, with the extension fields a cluster with upstream's CRDs pruned.
async fn agent_of(cluster: &Cluster, t: &AgenticTask) -> Result<Agent, String> {
    let key = TaskKey::of(t);
    let name = (t.spec.agent_ref.as_ref().map(|r| r.name.clone()))
        .filter(|n| !n.is_empty())
        .ok_or_else(|| format!("{key} names no Agent (spec.agentRef)"))?;
    let agents: Api<Agent> = Api::namespaced(cluster.client.clone(), &key.namespace);
    let mut a = agents
        .get_opt(&name)
        .await
        .map_err(|e| format!("cannot read Agent {name:?}: {e}"))?
        .ok_or_else(|| format!("Agent {name:?} not found in namespace {:?}", key.namespace))?;
    if let Err(e) = crate::api::extensions::restore(&mut a) {
        tracing::warn!(task = %key, "Agent {name:?}: {e}; running without them");
    }
    Ok(a)
}

/// Records the refusal as the decision's failed mark; the task stays as it was.
async fn refuse(
    api: &Api<AgenticTask>,
    key: &TaskKey,
    d: &Decision,
    node: &str,
    why: String,
) -> Result<Outcome, String> {
    let mark = Mark::new(&d.id, Progress::Failed, node, Some(why.clone()));
    let mut extra = ResultExtra::default();
    extra.other.insert(MARK_KEY.into(), mark.to_value());
    write_extra(api, key, None, &extra).await?;
    Ok(Outcome::Ended(format!(
        "{key}: request changes refused: {why}"
    )))
}

/// Keeps attempt `n`'s transcript ConfigMap and status under the attempt's own name.
async fn archive(cms: &Api<ConfigMap>, t: &AgenticTask, n: u32) -> Result<(), kube::Error> {
    let name = t.metadata.name.clone().unwrap_or_default();
    let current = cms.get_opt(&transcript::configmap_name(&name)).await?;
    let mut status = serde_json::to_value(t.status.clone().unwrap_or_default()).unwrap_or_default();
    // A ConfigMap is read more widely than a task's status: no credentials in a URL.
    if let Some(remote) = status.pointer_mut("/result/extra/remote")
        && let Some(url) = remote.as_str()
    {
        *remote = crate::workspace::auth::redact_url(url).into();
    }
    transcript::upsert(cms, transcript::archive(t, n, current.as_ref(), &status)).await
}

/// The begin write: attempt N+1 Running on `node`, the decision done, with the version `t`
/// was read at. `None`: another writer began it (or the decision is no longer ours).
async fn start_attempt(
    api: &Api<AgenticTask>,
    key: &TaskKey,
    mut t: AgenticTask,
    d: &Decision,
    node: &str,
    mark: &Value,
) -> Result<Option<AgenticTask>, String> {
    for _ in 0..3 {
        let mut next = t.clone();
        next.status = Some(AgenticTaskStatus {
            phase: Some(TaskPhase::Running),
            assigned_node: Some(node.to_string()),
            result: Some(json!({ "extra": { MARK_KEY: mark } })),
            ..Default::default()
        });
        mark_claimed(&mut next, node);
        match api
            .replace_status(&key.name, &PostParams::default(), &next)
            .await
        {
            Ok(begun) => return Ok(Some(begun)),
            Err(kube::Error::Api(s)) if s.code == 409 => {}
            Err(e) => return Err(format!("cannot begin the revision of {key}: {e}")),
        }
        t = api
            .get(&key.name)
            .await
            .map_err(|e| format!("cannot re-read {key}: {e}"))?;
        let still_ours = matches!(Stage::of(&t), Stage::Taken(ref o) if o.id == d.id);
        if !still_ours || d.action.admits(task_state(&t)).is_err() {
            return Ok(None);
        }
    }
    Err(format!(
        "{key} kept changing while its revision began; retrying later"
    ))
}

/// Sets the attempt annotation to `n` (a metadata write: the status write cannot carry it).
/// A failure only mislabels the attempt, so it is logged and the revision runs.
async fn number(api: &Api<AgenticTask>, key: &TaskKey, t: AgenticTask, n: u32) -> AgenticTask {
    let body = json!({ "metadata": { "annotations": { ATTEMPT_ANNOTATION: n.to_string() } } });
    let pp = PatchParams {
        field_manager: Some("foreman-agent".into()),
        ..Default::default()
    };
    match api.patch(&key.name, &pp, &Patch::Merge(&body)).await {
        Ok(t) => t,
        Err(e) => {
            tracing::warn!(task = %key, "cannot number attempt {n}: {e}");
            t
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fleet::decision::ANNOTATION;

    fn decided(action: Action, node: &str) -> AgenticTask {
        let yaml = "apiVersion: foreman.llmkube.dev/v1alpha1\nkind: AgenticTask\nmetadata: {name: t, namespace: ns}\nspec:\n  kind: freeform\n  payload: {prompt: x}\n";
        let Ok(mut objects) = crate::api::load_str("t", yaml) else {
            panic!("the test manifest does not load")
        };
        let crate::api::Object::Task(mut t) = objects.remove(0) else {
            panic!("not a task")
        };
        let d = Decision::new(action, Some("more"), "me", jiff::Timestamp::now()).unwrap();
        t.metadata.annotations = Some([(ANNOTATION.to_string(), d.to_json())].into());
        t.status = Some(AgenticTaskStatus {
            phase: Some(TaskPhase::Succeeded),
            assigned_node: Some(node.into()),
            ..Default::default()
        });
        *t
    }

    #[test]
    fn a_request_for_changes_is_a_run_for_the_claim_loop_not_a_decision_job() {
        let t = decided(Action::RequestChanges, "a");
        assert!(wants(&t, "a") && !wants(&t, "b"));
        assert!(!super::super::decide::holds(&t, "a"));
        let t = decided(Action::Approve, "a");
        assert!(!wants(&t, "a") && super::super::decide::holds(&t, "a"));
    }
}
