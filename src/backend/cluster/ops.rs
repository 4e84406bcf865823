//! The operator's commands against the cluster. Each reads the task fresh from the apiserver
//! (the console keeps no copy of its own) and writes the status subresource: re-queue and
//! cancel with the read resourceVersion (a concurrent change fails instead of being
//! overwritten), push decisions and PR links as merge patches of `status.result.extra`, so
//! every console watching the cluster sees them.
//!
//! Pushing, opening a PR and showing the diff need the run's workspace, which only exists on
//! the node that ran the task: on that node's console they act directly; anywhere else a
//! decision is written on the task for that node's worker to carry out (`decide.rs`), and
//! the diff is read from the ConfigMap that node published (`k8s::worker::diff`).

use super::{Ctx, decide, explain};
use crate::api::{AgenticTask, AgenticTaskStatus, Object, TaskPhase};
use crate::backend::jobs;
use crate::fleet::TaskKey;
use crate::fleet::TaskState;
use crate::fleet::decision::{Action, Stage};
use crate::fleet::extra::{PushDecision, ResultExtra};
use crate::fleet::status::{fail_with, result_extra};
use crate::fleet::task_state;
use crate::k8s::worker::WorkerCommand;
use crate::workspace::FileDiff;
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::json;
use std::path::{Path, PathBuf};

/// Field manager recorded for the console's writes.
pub const FIELD_MANAGER: &str = "foreman-console";

fn tasks(ctx: &Ctx, ns: &str) -> Api<AgenticTask> {
    Api::namespaced(ctx.client.clone(), ns)
}

async fn get(ctx: &Ctx, key: &TaskKey) -> Result<AgenticTask, String> {
    tasks(ctx, &key.namespace)
        .get_opt(&key.name)
        .await
        .map_err(|e| format!("cannot read task {key}: {}", explain(&e)))?
        .ok_or_else(|| format!("no task {key} in the cluster"))
}

/// The full task for a console that holds its summary: a `TaskUpdated`, an error to show, or
/// nothing when it is gone (its deletion reaches the console through the watch).
pub(super) async fn load_task(ctx: &Ctx, key: &TaskKey) -> Option<crate::backend::BackendEvent> {
    use crate::backend::BackendEvent;
    match tasks(ctx, &key.namespace).get_opt(&key.name).await {
        Ok(Some(mut t)) => {
            crate::k8s::watch::slim(&mut t);
            Some(BackendEvent::TaskUpdated(Box::new(t)))
        }
        Ok(None) => None,
        Err(e) => Some(BackendEvent::Error(format!(
            "cannot read task {key}: {}",
            explain(&e)
        ))),
    }
}

/// Writes `t`'s status with its resourceVersion (optimistic concurrency).
async fn replace_status(ctx: &Ctx, key: &TaskKey, t: &AgenticTask) -> Result<(), String> {
    let pp = PostParams {
        field_manager: Some(FIELD_MANAGER.into()),
        ..Default::default()
    };
    match tasks(ctx, &key.namespace)
        .replace_status(&key.name, &pp, t)
        .await
    {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(s)) if s.code == 409 => Err(format!(
            "{key} changed while this was sent (another node or console updated it); look again and retry"
        )),
        Err(e) => Err(format!(
            "cannot update the status of {key}: {}",
            explain(&e)
        )),
    }
}

/// Merges `extra` into `status.result.extra`, failing if the task changed since `rv`.
async fn record_extra(
    ctx: &Ctx,
    key: &TaskKey,
    rv: Option<&str>,
    extra: &ResultExtra,
) -> Result<(), String> {
    let mut body = json!({ "status": { "result": { "extra": extra.to_map() } } });
    if let Some(rv) = rv {
        body["metadata"] = json!({ "resourceVersion": rv });
    }
    let pp = PatchParams {
        field_manager: Some(FIELD_MANAGER.into()),
        ..Default::default()
    };
    match tasks(ctx, &key.namespace)
        .patch_status(&key.name, &pp, &Patch::Merge(&body))
        .await
    {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(s)) if s.code == 409 => Err(format!(
            "{key} changed meanwhile (re-queued or updated elsewhere), so the decision was not recorded"
        )),
        Err(e) => Err(format!(
            "cannot record the decision on {key}: {}",
            explain(&e)
        )),
    }
}

// ---- submit ------------------------------------------------------------------------------

/// Creates the file's Agents, Workloads and AgenticTasks, Agents first then in file order;
/// objects without a namespace go to `default_ns`. Creating (not applying) means a name in
/// use is an error rather than a silent spec change under a running task.
pub(super) async fn submit(
    client: &kube::Client,
    default_ns: &str,
    path: PathBuf,
) -> Result<String, String> {
    let shown = path.display().to_string();
    let objects = tokio::task::spawn_blocking(move || crate::api::load_file(&path))
        .await
        .map_err(|e| format!("manifest loader failed: {e}"))?
        .map_err(|e| e.to_string())?;
    let (agents, rest): (Vec<Object>, Vec<Object>) = objects
        .into_iter()
        .partition(|o| matches!(o, Object::Agent(_)));
    let pp = PostParams {
        field_manager: Some(FIELD_MANAGER.into()),
        ..Default::default()
    };
    let ns_or = |ns: &Option<String>| {
        ns.clone()
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| default_ns.to_string())
    };
    let (mut n_tasks, mut n_other, mut errors) = (0usize, 0usize, Vec::new());
    for o in agents.into_iter().chain(rest) {
        let (kind, name) = (o.kind(), o.name().to_string());
        let r = match o {
            Object::Agent(mut a) => {
                let ns = ns_or(&a.metadata.namespace);
                a.metadata.namespace = Some(ns.clone());
                a.status = None;
                // Our extension fields, carried past a cluster with upstream's CRDs.
                crate::api::extensions::annotate(&mut a);
                let api: Api<crate::api::Agent> = Api::namespaced(client.clone(), &ns);
                api.create(&pp, &a).await.map(|_| (false, ns))
            }
            Object::Workload(mut w) => {
                let ns = ns_or(&w.metadata.namespace);
                w.metadata.namespace = Some(ns.clone());
                w.status = None;
                let api: Api<crate::api::Workload> = Api::namespaced(client.clone(), &ns);
                api.create(&pp, &w).await.map(|_| (false, ns))
            }
            Object::Task(mut t) => {
                let ns = ns_or(&t.metadata.namespace);
                t.metadata.namespace = Some(ns.clone());
                t.status = None;
                let api: Api<AgenticTask> = Api::namespaced(client.clone(), &ns);
                api.create(&pp, &t).await.map(|_| (true, ns))
            }
            Object::FleetNode(_) => {
                errors.push(format!(
                    "{shown}: FleetNode {name} not submitted: nodes register themselves"
                ));
                continue;
            }
        };
        match r {
            Ok((true, _)) => n_tasks += 1,
            Ok((false, _)) => n_other += 1,
            Err(kube::Error::Api(s)) if s.code == 409 => errors.push(format!(
                "{shown}: {kind} {name} already exists; delete it or rename it to submit again"
            )),
            Err(e) => errors.push(format!(
                "{shown}: cannot create {kind} {name}: {}",
                explain(&e)
            )),
        }
    }
    let done = format!(
        "submitted {n_tasks} task(s){}",
        if n_other > 0 {
            format!(" and {n_other} other object(s)")
        } else {
            String::new()
        }
    );
    if errors.is_empty() {
        Ok(done)
    } else {
        let more = if errors.len() > 1 {
            format!(" (+{} more)", errors.len() - 1)
        } else {
            String::new()
        };
        Err(format!("{}{more}; {done}", errors[0]))
    }
}

// ---- re-queue and cancel ---------------------------------------------------------------

/// A finished task that did not reach its goal goes back to Pending, its run forgotten.
pub(super) async fn requeue(ctx: &Ctx, key: &TaskKey) -> Result<String, String> {
    let mut t = get(ctx, key).await?;
    let state = task_state(&t);
    let off_target = t
        .status
        .as_ref()
        .and_then(|s| s.verdict)
        .is_some_and(|v| !v.is_on_target());
    let ok = matches!(
        state,
        TaskState::Failed | TaskState::Interrupted | TaskState::Rejected
    ) || (state == TaskState::Succeeded && off_target);
    if !ok {
        return Err(format!(
            "{key} cannot be re-queued while it is {state:?} (only failed, interrupted, rejected or off-target runs)"
        ));
    }
    t.status = Some(AgenticTaskStatus {
        phase: Some(TaskPhase::Pending),
        ..Default::default()
    });
    replace_status(ctx, key, &t).await?;
    decide::forget(ctx, &t)
        .await
        .map_err(|e| format!("{key} re-queued, but {e}"))?;
    Ok(format!("{key} re-queued"))
}

/// Cancels a queued task (Failed, INCOMPLETE, reason Cancelled). A running task can only be
/// stopped by the node running it.
pub(super) async fn cancel(ctx: &Ctx, key: &TaskKey) -> Result<String, String> {
    let mut t = get(ctx, key).await?;
    let state = task_state(&t);
    let node = assigned_node(&t);
    match state {
        TaskState::Pending | TaskState::Waiting | TaskState::Scheduled => {
            fail_with(
                &mut t,
                "Cancelled",
                &format!("cancelled by the operator on {}", ctx.node),
            );
            replace_status(ctx, key, &t).await?;
            Ok(format!("{key} cancelled"))
        }
        TaskState::Running if node.as_deref() == Some(ctx.node.as_str()) => match &ctx.worker {
            // The worker stops the run and records it as Cancelled.
            Some(w) if w.send(WorkerCommand::Cancel(key.clone())).is_ok() => {
                Ok(format!("stopping {key}"))
            }
            _ => Err(format!(
                "{key} is running on this node ({}), but this console runs no local worker to stop it",
                ctx.node
            )),
        },
        TaskState::Running => Err(format!(
            "{key} is running on node {}; only that node can stop it (cancel it from the console there)",
            node.as_deref().unwrap_or("?")
        )),
        other => Err(format!(
            "{key} is not running or queued ({other:?}); nothing to cancel"
        )),
    }
}

// ---- push decisions and pull requests ----------------------------------------------------

fn assigned_node(t: &AgenticTask) -> Option<String> {
    t.status.as_ref()?.assigned_node.clone()
}

/// Whether this node ran the task (it acts directly) or another did (the decision is written
/// for it). No node at all is refused; so is acting here while a decision is open.
fn ran_here(ctx: &Ctx, t: &AgenticTask) -> Result<bool, String> {
    match assigned_node(t) {
        Some(n) if n == ctx.node => {}
        Some(_) => return Ok(false),
        None => {
            return Err(
                "no node is assigned; only the node that ran the task can push it".to_string(),
            );
        }
    }
    if let Some(d) = Stage::of(t).open() {
        return Err(format!(
            "a decision is open on it ({}); this node's worker carries it out, or withdraw it with u",
            d.describe()
        ));
    }
    Ok(true)
}

/// Refuses unless this machine still has the task's workspace.
fn workspace_is_here(t: &AgenticTask) -> Result<(), String> {
    let ws = result_extra(t).workspace.ok_or_else(|| {
        "the result has no extra.workspace; it cannot be pushed from the console (re-queue it)"
            .to_string()
    })?;
    if !Path::new(&ws).is_dir() {
        return Err(format!(
            "the workspace {ws} is gone from this machine; re-queue the task to redo it"
        ));
    }
    Ok(())
}

/// Pushes an approved GO from this node's workspace, then records it on the task.
pub(super) async fn approve(ctx: &Ctx, key: &TaskKey) -> Result<String, String> {
    let t = get(ctx, key).await?;
    let state = task_state(&t);
    if state != TaskState::AwaitingApproval {
        return Err(format!("nothing to push: the task is {state:?}"));
    }
    if !ran_here(ctx, &t)? {
        return decide::write(ctx, t, Action::Approve, None).await;
    }
    workspace_is_here(&t)?;
    let msg = jobs::push(&t, &ctx.cfg.token).await?;
    let decided = ResultExtra::decided(PushDecision::Approved, &ctx.node, jiff::Timestamp::now());
    record_extra(ctx, key, None, &decided)
        .await
        .map_err(|e| format!("{msg}, but {e}"))?;
    Ok(msg)
}

/// Records that the push was rejected; the workspace stays on the node.
pub(super) async fn reject(ctx: &Ctx, key: &TaskKey) -> Result<String, String> {
    let t = get(ctx, key).await?;
    let state = task_state(&t);
    if state != TaskState::AwaitingApproval {
        return Err(format!(
            "{key} is not awaiting approval ({state:?}); nothing to reject"
        ));
    }
    if !ran_here(ctx, &t).map_err(|e| format!("{key}: {e}"))? {
        return decide::write(ctx, t, Action::Reject, None).await;
    }
    let decided = ResultExtra::decided(PushDecision::Rejected, &ctx.node, jiff::Timestamp::now());
    let rv = t.metadata.resource_version.as_deref();
    record_extra(ctx, key, rv, &decided).await?;
    let ws = result_extra(&t).workspace.unwrap_or_default();
    Ok(format!(
        "push of {key} rejected; the workspace {ws} is kept on {}",
        ctx.node
    ))
}

/// Requests changes on a GO awaiting approval: a decision for the node that ran it.
pub(super) async fn request_changes(
    ctx: &Ctx,
    key: &TaskKey,
    feedback: &str,
) -> Result<String, String> {
    let (msg, _) = decide::request(&ctx.client, &ctx.who, key, feedback).await?;
    Ok(msg)
}

/// Opens (or finds) the pull request of a pushed task and records its URL and number.
pub(super) async fn open_pr(ctx: &Ctx, key: &TaskKey) -> Result<String, String> {
    let t = get(ctx, key).await?;
    let state = task_state(&t);
    if !matches!(state, TaskState::Pushed | TaskState::PrOpen) {
        return Err(format!(
            "a pull request needs a pushed branch; the task is {state:?} (approve the push first)"
        ));
    }
    if !ran_here(ctx, &t)? {
        return decide::write(ctx, t, Action::OpenPr, None).await;
    }
    workspace_is_here(&t)?;
    let pr = jobs::open_pr(
        &t,
        ctx.cfg.git_remote_url.as_deref(),
        &ctx.cfg.github_api_base,
        &ctx.cfg.token,
    )
    .await?;
    record_extra(
        ctx,
        key,
        None,
        &ResultExtra::pull_request(&pr.url, pr.number),
    )
    .await
    .map_err(|e| format!("pull request {} is open, but {e}", pr.url))?;
    Ok(pr.url)
}

// ---- diffs -------------------------------------------------------------------------------

/// The task's change: computed from its workspace when this node ran it, else read from the
/// `foreman-diff-<task>` ConfigMap its node published (a cut one ends with the marker).
pub(super) async fn diff(ctx: &Ctx, key: &TaskKey) -> Result<Vec<FileDiff>, String> {
    let t = get(ctx, key).await?;
    match workspace_here(&ctx.node, &t) {
        Ok(()) => jobs::load_diff(&t).await,
        Err(why) if assigned_node(&t).is_some() => published_diff(ctx, key)
            .await
            .map_err(|e| format!("{why}; {e}")),
        Err(why) => Err(why),
    }
}

/// The diff the holding node published, parsed back into files.
async fn published_diff(ctx: &Ctx, key: &TaskKey) -> Result<Vec<FileDiff>, String> {
    use crate::k8s::worker::diff as published;
    let cms: Api<k8s_openapi::api::core::v1::ConfigMap> =
        Api::namespaced(ctx.client.clone(), &key.namespace);
    let name = published::configmap_name(&key.name);
    let cm = cms
        .get_opt(&name)
        .await
        .map_err(|e| format!("cannot read ConfigMap {name}: {}", explain(&e)))?
        .ok_or_else(|| format!("it has not published its diff (no ConfigMap {name})"))?;
    let text = cm
        .data
        .and_then(|mut d| d.remove(published::DIFF_KEY))
        .ok_or_else(|| format!("ConfigMap {name} has no {}", published::DIFF_KEY))?;
    Ok(published::parse(&text))
}

/// Refuses unless the node `here` ran the task, so its workspace is on this machine.
fn workspace_here(here: &str, t: &AgenticTask) -> Result<(), String> {
    match assigned_node(t) {
        Some(n) if n == here => Ok(()),
        Some(n) => Err(format!(
            "ran on node {n}; its workspace (and so its diff) is there, so view it from the console on {n} (this is {here})"
        )),
        None => Err("no node ran this task, so there is no workspace to diff".to_string()),
    }
}

/// The operator's note to a run of this console's own worker (`m`): queued before the model's
/// next turn, as on the embedded backend. A run on another node is steered from its console.
pub(super) async fn note(ctx: &Ctx, key: &TaskKey, text: String) -> Result<String, String> {
    if text.trim().is_empty() {
        return Err("an empty note is not sent".into());
    }
    let Some(w) = &ctx.worker else {
        return Err(format!(
            "this console runs no worker, so no run here takes notes; steer {key} from the \
             console of the node that runs it"
        ));
    };
    let (reply, answer) = tokio::sync::oneshot::channel();
    let sent = w.send(WorkerCommand::Note {
        task: key.clone(),
        text,
        reply,
    });
    if sent.is_err() {
        return Err(format!("the worker of {} has stopped", ctx.node));
    }
    match answer.await {
        Ok(r) => r,
        Err(_) => Err(format!("the worker of {} has stopped", ctx.node)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task_on(node: Option<&str>) -> AgenticTask {
        let yaml = "apiVersion: foreman.llmkube.dev/v1alpha1\nkind: AgenticTask\nmetadata: {name: fix, namespace: default}\nspec:\n  kind: issue-fix\n  agentRef: {name: coder}\n  payload: {repo: acme/fleet, issue: 7, prompt: fix}\n";
        let Ok(mut objects) = crate::api::load_str("t", yaml) else {
            panic!("the test manifest does not load");
        };
        let Object::Task(mut t) = objects.remove(0) else {
            panic!("not a task");
        };
        t.status = Some(AgenticTaskStatus {
            phase: Some(TaskPhase::Succeeded),
            assigned_node: node.map(str::to_string),
            ..Default::default()
        });
        *t
    }

    #[test]
    fn a_diff_of_a_run_on_another_node_names_that_node() {
        let err = workspace_here("laptop", &task_on(Some("m5-max"))).unwrap_err();
        assert!(
            err.contains("node m5-max")
                && err.contains("console on m5-max")
                && err.contains("this is laptop"),
            "{err}"
        );
        let err = workspace_here("laptop", &task_on(None)).unwrap_err();
        assert!(err.contains("no node ran this task"), "{err}");
        assert_eq!(workspace_here("m5-max", &task_on(Some("m5-max"))), Ok(()));
    }
}
