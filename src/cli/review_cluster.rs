//! `foreman review TASK --request-changes FILE` on a cluster: the request is written on the
//! task as a decision (as `c` in any console), and the node that ran the task runs the
//! revision from its workspace. Unless `--no-wait`, this waits for that node: the refusal, or
//! the revision's start and then its outcome.

use super::common::{Exit, bad_input, connect_cluster, failed};
use super::{ConsoleArgs, review::ReviewArgs};
use crate::api::AgenticTask;
use crate::fleet::decision::{Decision, Progress, Stage};
use crate::fleet::{TaskKey, TaskState, task_state};
use crate::oai::terminal_safe;
use kube::Api;
use std::time::Duration;

/// Exit 0 when the revision ran to an outcome (or, with `--no-wait`, the request was
/// written), 2 when it was refused (nothing changed), 1 when the cluster failed, 130 on
/// Ctrl-C (the request stays on the task).
pub async fn review(args: &ConsoleArgs, r: &ReviewArgs, feedback: &str) -> Exit {
    let cluster = match connect_cluster(args).await {
        Ok(c) => c,
        Err(e) => return failed(e),
    };
    let key = match r.task.split_once('/') {
        Some((ns, n)) => TaskKey::new(ns, n),
        None if cluster.namespace.is_empty() => TaskKey::new("default", &r.task),
        None => TaskKey::new(&cluster.namespace, &r.task),
    };
    let (msg, d) = match crate::backend::cluster::request_changes(&cluster, &key, feedback).await {
        Ok(v) => v,
        Err(e) => return bad_input(format!("request changes: {e}")),
    };
    outln!("{msg}");
    if r.no_wait {
        return Exit::Ok;
    }
    let api: Api<AgenticTask> = Api::namespaced(cluster.client.clone(), &key.namespace);
    tokio::select! {
        exit = wait(&api, &key, &d) => exit,
        _ = tokio::signal::ctrl_c() => {
            errln!("\nstopped waiting; the request stays on {key} for its node (withdraw it with u while pending)");
            Exit::Interrupted
        }
    }
}

/// Follows the task until the node refused the request, or began it and the revision ended.
async fn wait(api: &Api<AgenticTask>, key: &TaskKey, d: &Decision) -> Exit {
    let mut begun = false;
    let mut failures = 0;
    loop {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let t = match api.get(&key.name).await {
            Ok(t) => t,
            Err(e) if failures < 20 => {
                failures += 1;
                tracing::debug!("reading {key} failed, retrying: {e}");
                continue;
            }
            Err(e) => return failed(format!("cannot read {key}: {e}")),
        };
        failures = 0;
        if !begun {
            match Stage::of(&t) {
                Stage::Ended(e, m) if e.id == d.id => {
                    let said = terminal_safe(m.message.as_deref().unwrap_or(""));
                    if m.stage == Progress::Failed {
                        return bad_input(format!("{key}: node {} refused: {said}", m.node));
                    }
                    errln!("{key}: node {}: {said}", m.node);
                    begun = true;
                }
                Stage::Pending(o) | Stage::Taken(o) | Stage::Ended(o, _) if o.id != d.id => {
                    return failed(format!(
                        "{key}: another decision replaced this one: {}",
                        o.describe()
                    ));
                }
                Stage::None(_) => {
                    return failed(format!(
                        "{key}: the request was withdrawn before its node took it"
                    ));
                }
                _ => continue,
            }
        }
        if let Some(exit) = ended(key, &t) {
            return exit;
        }
    }
}

/// The revision's outcome once the task is no longer running.
fn ended(key: &TaskKey, t: &AgenticTask) -> Option<Exit> {
    let state = task_state(t);
    if matches!(
        state,
        TaskState::Pending | TaskState::Waiting | TaskState::Scheduled | TaskState::Running
    ) {
        return None;
    }
    let result = t.status.as_ref().and_then(|s| s.result.clone());
    let field = |k: &str| {
        let v = result
            .as_ref()
            .and_then(|r| r.get(k))
            .and_then(|v| v.as_str());
        terminal_safe(v.unwrap_or("")).to_string()
    };
    outln!(
        "{key}: {state:?} · {} · {}",
        field("verdict"),
        field("summary")
    );
    let e = crate::fleet::status::result_extra(t);
    if state == TaskState::AwaitingApproval
        && let (Some(sha), Some(branch)) = (e.commit_sha, e.branch)
    {
        outln!(
            "committed {} on {branch}: awaiting approval again (approve it in any console)",
            &sha[..sha.len().min(12)]
        );
    }
    Some(match state {
        TaskState::Failed | TaskState::Interrupted => Exit::Failed,
        _ => Exit::Ok,
    })
}
