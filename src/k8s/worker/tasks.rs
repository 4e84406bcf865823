//! Status writes an agent makes on its tasks: the claim, the terminal status and startup
//! recovery. Every write carries the resourceVersion it was computed from (spec §11.4), so two
//! agents racing one task cannot both win, and every terminal write survives a shutdown or an
//! apiserver outage for a bounded time (§11.3).

use crate::api::{AgenticTask, TaskPhase};
pub use crate::executor::terminal::{Terminal, apply_terminal};
use crate::fleet::TaskKey;
use crate::fleet::status::{fail_with, mark_claimed, set_condition, status_mut};
use kube::Api;
use kube::api::PostParams;
use std::time::Duration;

/// Condition reason of an orphaned `Running` task reset at agent start (upstream #598).
pub const REASON_RESTART_RECOVERY: &str = "AgentRestartRecovery";
/// Condition reason of the minimal status written when the full terminal status is rejected.
pub const REASON_TERMINAL_REJECTED: &str = "TerminalPatchRejected";

/// The HTTP status of an apiserver error, if it is one.
pub fn api_code(e: &kube::Error) -> Option<u16> {
    match e {
        kube::Error::Api(s) => Some(s.code),
        _ => None,
    }
}

/// Why a claim did not happen.
#[derive(Debug, thiserror::Error)]
pub enum ClaimError {
    /// Someone else changed the task first (409), or it is no longer ours to claim.
    #[error("lost the claim: {0}")]
    Lost(String),
    #[error("claim failed: {0}")]
    Api(#[from] kube::Error),
}

/// Whether `t` is scheduled to `node` and unclaimed.
pub fn claimable(t: &AgenticTask, node: &str) -> bool {
    let s = t.status.as_ref();
    s.and_then(|s| s.phase) == Some(TaskPhase::Scheduled)
        && s.and_then(|s| s.assigned_node.as_deref()) == Some(node)
}

/// Claims `t` (as last seen) for `node`: `Scheduled → Running` with the task's resourceVersion,
/// so a concurrent claim or scheduler change makes this one fail with 409 instead of both
/// agents running it.
pub async fn claim(
    api: &Api<AgenticTask>,
    t: &AgenticTask,
    node: &str,
) -> Result<AgenticTask, ClaimError> {
    if !claimable(t, node) {
        return Err(ClaimError::Lost("not Scheduled to this node".into()));
    }
    if t.metadata.resource_version.is_none() {
        return Err(ClaimError::Lost(
            "no resourceVersion to claim against".into(),
        ));
    }
    let mut next = t.clone();
    mark_claimed(&mut next, node);
    let name = t.metadata.name.clone().unwrap_or_default();
    match api
        .replace_status(&name, &PostParams::default(), &next)
        .await
    {
        Ok(t) => Ok(t),
        Err(e) if api_code(&e) == Some(409) => Err(ClaimError::Lost(
            "the task changed since it was read (another agent or the scheduler won)".into(),
        )),
        Err(e) if api_code(&e) == Some(404) => Err(ClaimError::Lost("the task is gone".into())),
        Err(e) => Err(ClaimError::Api(e)),
    }
}

/// The smallest status the CRD always accepts, for when the full one is rejected (422).
fn minimal_terminal(t: &mut AgenticTask, why: &str) {
    let mut clean = AgenticTask::new(
        t.metadata.name.as_deref().unwrap_or_default(),
        t.spec.clone(),
    );
    clean.metadata = t.metadata.clone();
    let assigned = t.status.as_ref().and_then(|s| s.assigned_node.clone());
    fail_with(
        &mut clean,
        REASON_TERMINAL_REJECTED,
        &format!("the full terminal status was rejected by the apiserver: {why}"),
    );
    status_mut(&mut clean).assigned_node = assigned;
    *t = clean;
}

/// Writes the terminal status of `key`, re-reading the task before each attempt and retrying
/// conflicts and outages until `budget` runs out. Runs on its own clock, never on the (maybe
/// cancelled) run's, so a shutdown or an apiserver restart does not leave the task `Running`.
pub async fn write_terminal(
    api: &Api<AgenticTask>,
    key: &TaskKey,
    outcome: &Terminal,
    budget: Duration,
) -> Result<AgenticTask, String> {
    let deadline = tokio::time::Instant::now() + budget;
    let mut delay = Duration::from_millis(200);
    let mut minimal = false;
    let mut last_err = String::new();
    loop {
        let attempt = async {
            let mut t = api.get(&key.name).await?;
            apply_terminal(&mut t, outcome);
            if minimal {
                minimal_terminal(&mut t, &last_err);
            }
            api.replace_status(&key.name, &PostParams::default(), &t)
                .await
        };
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        match tokio::time::timeout(left.max(Duration::from_millis(1)), attempt).await {
            Ok(Ok(t)) => return Ok(t),
            Ok(Err(e)) if api_code(&e) == Some(404) => {
                return Err(format!(
                    "task {key} was deleted before its status was written"
                ));
            }
            Ok(Err(e)) if api_code(&e) == Some(422) && !minimal => {
                tracing::warn!(task = %key, "terminal status rejected, writing the minimal one: {e}");
                last_err = e.to_string();
                minimal = true;
                continue;
            }
            Ok(Err(e)) => last_err = e.to_string(),
            Err(_) => last_err = "timed out".into(),
        }
        if tokio::time::Instant::now() + delay >= deadline {
            return Err(format!(
                "cannot write the terminal status of {key} within {}s: {last_err}",
                budget.as_secs()
            ));
        }
        tracing::debug!(task = %key, "terminal status write failed, retrying: {last_err}");
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(5));
    }
}

/// Resets this node's orphaned `Running` tasks (a crash or kill -9 left them) to `Pending`
/// with reason `AgentRestartRecovery`, so the scheduler places them again. Returns the keys.
pub async fn recover_orphans(
    client: &kube::Client,
    namespace: Option<&str>,
    node: &str,
) -> Result<Vec<TaskKey>, kube::Error> {
    let api: Api<AgenticTask> = match namespace {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    };
    let list = api.list(&Default::default()).await?;
    let mut recovered = Vec::new();
    for t in list.items {
        let s = t.status.as_ref();
        let ours = s.and_then(|s| s.assigned_node.as_deref()) == Some(node);
        let running = matches!(
            s.and_then(|s| s.phase),
            Some(TaskPhase::Running) | Some(TaskPhase::Verifying)
        );
        if !(ours && running) {
            continue;
        }
        let key = TaskKey::of(&t);
        let mut next = t.clone();
        reset_to_pending(&mut next, node);
        let ns_api: Api<AgenticTask> = Api::namespaced(client.clone(), &key.namespace);
        match ns_api
            .replace_status(&key.name, &PostParams::default(), &next)
            .await
        {
            Ok(_) => recovered.push(key),
            // Someone else moved it on: not an orphan any more.
            Err(e) if matches!(api_code(&e), Some(404) | Some(409)) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(recovered)
}

/// `Running → Pending`, forgetting the node and the run's times.
fn reset_to_pending(t: &mut AgenticTask, node: &str) {
    let s = status_mut(t);
    s.phase = Some(TaskPhase::Pending);
    s.assigned_node = None;
    s.claimed_at = None;
    s.started_at = None;
    s.finished_at = None;
    s.verdict = None;
    set_condition(
        t,
        "Running",
        false,
        REASON_RESTART_RECOVERY,
        &format!("the agent on {node} restarted while this task ran; re-queued"),
    );
    crate::fleet::status::clear_condition(t, "Scheduled");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task() -> AgenticTask {
        let yaml = "apiVersion: foreman.llmkube.dev/v1alpha1\nkind: AgenticTask\nmetadata: {name: t, namespace: ns}\nspec:\n  kind: freeform\n  payload: {prompt: x}\n";
        let crate::api::Object::Task(t) = crate::api::load_str("t", yaml).unwrap().remove(0) else {
            panic!("not a task")
        };
        *t
    }

    fn reason(t: &AgenticTask, type_: &str) -> String {
        t.status
            .as_ref()
            .and_then(|s| s.conditions.as_ref())
            .and_then(|cs| cs.iter().find(|c| c.type_ == type_))
            .map(|c| c.reason.clone())
            .unwrap_or_default()
    }

    #[test]
    fn claimable_needs_scheduled_to_this_node() {
        let mut t = task();
        assert!(!claimable(&t, "a"));
        let s = status_mut(&mut t);
        s.phase = Some(TaskPhase::Scheduled);
        s.assigned_node = Some("a".into());
        assert!(claimable(&t, "a"));
        assert!(!claimable(&t, "b"));
        reset_to_pending(&mut t, "a");
        assert!(!claimable(&t, "a"));
        assert_eq!(reason(&t, "Running"), REASON_RESTART_RECOVERY);
        assert_eq!(t.status.as_ref().unwrap().assigned_node, None);
    }

    #[test]
    fn the_minimal_status_keeps_the_node_and_says_why() {
        let mut t = task();
        status_mut(&mut t).assigned_node = Some("a".into());
        status_mut(&mut t).result = Some(serde_json::json!({"huge": true}));
        minimal_terminal(&mut t, "bad enum");
        let s = t.status.as_ref().unwrap();
        assert_eq!(s.phase, Some(TaskPhase::Failed));
        assert_eq!(s.result, None);
        assert_eq!(s.assigned_node.as_deref(), Some("a"));
        assert_eq!(reason(&t, "Completed"), REASON_TERMINAL_REJECTED);
    }
}
