//! What the worker owes the tasks it ran, beside claiming new ones: decisions other consoles
//! wrote on them (`decide`) and the published diff of a GO awaiting approval (`diff`). Both are
//! driven by the task watch (and its rescan), both run as their own tokio tasks so a slow push
//! never holds up a claim, and at most one of each per task is in flight.

use super::{WorkerConfig, WorkerEvent, decide, diff, transcript};
use crate::api::AgenticTask;
use crate::fleet::{TaskKey, TaskState, task_state};
use crate::k8s::Cluster;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::Api;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc;

/// Whether the worker of `node` has something to do for `t` (it ran it and either a decision
/// is open or its change awaits approval).
pub(super) fn wants(t: &AgenticTask, node: &str) -> bool {
    let mine = t.status.as_ref().and_then(|s| s.assigned_node.as_deref()) == Some(node);
    mine && (decide::holds(t, node)
        || super::revise::wants(t, node)
        || task_state(t) == TaskState::AwaitingApproval)
}

/// The decisions in flight and the diffs published (task → commit), shared with their jobs.
#[derive(Default)]
pub(super) struct Held {
    deciding: Arc<Mutex<HashSet<TaskKey>>>,
    published: Arc<Mutex<HashMap<TaskKey, String>>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Held {
    /// Starts what `t` needs and is not already under way.
    pub fn seen(
        &self,
        cluster: &Cluster,
        cfg: &WorkerConfig,
        t: &AgenticTask,
        sink: &mpsc::UnboundedSender<WorkerEvent>,
    ) {
        let node = cfg.node.name.as_str();
        let key = TaskKey::of(t);
        if decide::holds(t, node) && lock(&self.deciding).insert(key.clone()) {
            let api = Api::namespaced(cluster.client.clone(), &key.namespace);
            let (deciding, sink) = (self.deciding.clone(), sink.clone());
            let (cfg, t) = (cfg.clone(), t.clone());
            tokio::spawn(async move {
                let r = decide::carry_out(api, cfg, t).await;
                lock(&deciding).remove(&key);
                let _ = sink.send(match r {
                    Ok(m) => WorkerEvent::Notice(m),
                    Err(e) => WorkerEvent::Error(e),
                });
            });
        }
        let sha = crate::fleet::status::result_extra(t).commit_sha;
        if task_state(t) == TaskState::AwaitingApproval
            && let Some(sha) = sha
        {
            self.publish(cluster, t, sha, sink);
        }
    }

    /// Publishes the diff of `t` at `sha` once per commit; an apiserver failure is retried at
    /// the next rescan, a workspace that cannot be read is reported once.
    fn publish(
        &self,
        cluster: &Cluster,
        t: &AgenticTask,
        sha: String,
        sink: &mpsc::UnboundedSender<WorkerEvent>,
    ) {
        let key = TaskKey::of(t);
        {
            let mut p = lock(&self.published);
            if p.get(&key) == Some(&sha) {
                return;
            }
            p.insert(key.clone(), sha);
        }
        let cms: Api<ConfigMap> = Api::namespaced(cluster.client.clone(), &key.namespace);
        let (published, sink, t) = (self.published.clone(), sink.clone(), t.clone());
        tokio::spawn(async move {
            let task = t.clone();
            let read = tokio::task::spawn_blocking(move || diff::of_workspace(&task)).await;
            let (sha, files) = match read {
                Ok(Ok(v)) => v,
                Ok(Err(e)) => {
                    let _ = sink.send(WorkerEvent::Notice(format!(
                        "{key}: its diff is not published: {e}"
                    )));
                    return;
                }
                Err(e) => {
                    let _ = sink.send(WorkerEvent::Error(format!("{key}: diff worker: {e}")));
                    return;
                }
            };
            if let Err(e) = transcript::upsert(&cms, diff::build(&t, &sha, &files)).await {
                lock(&published).remove(&key);
                let _ = sink.send(WorkerEvent::Error(format!(
                    "{key}: cannot publish its diff: {e}"
                )));
            }
        });
    }
}
