//! The watchers: one task per kind following kube's `watcher` (list, then watch from the
//! list's resourceVersion; on a lost connection it resumes, on `410 Gone` it re-lists), behind
//! a short capped backoff. AgenticTasks come from the process's one task watch (shared with
//! this console's worker and scheduler); the other kinds are watched here. The watchers only
//! send messages to the actor: the first complete list of their kind, then each change as a
//! ready-made [`BackendEvent`]. A failure is reported once (not once per retry) and its
//! recovery once.

use super::explain;
use super::msg::{Listed, Msg};
use crate::api::{Agent, AgenticTask, FleetNode, Workload};
use crate::backend::BackendEvent;
use crate::fleet::TaskKey;
use crate::k8s::backoff::WatchBackoff;
use crate::k8s::watch::{Feed, Lenient, Step, TaskWatch, config, slim};
use futures_util::{Stream, StreamExt};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::Resource;
use kube::api::Api;
use kube::core::PartialObjectMeta;
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, Event};
use serde::de::DeserializeOwned;
use std::collections::{HashMap, HashSet};
use std::fmt::Debug;
use tokio::sync::mpsc::UnboundedSender;

/// Label upstream puts on every transcript ConfigMap (value: the task name).
pub const TRANSCRIPT_LABEL: &str = "foreman.llmkube.dev/transcript-of";

/// A watch step as the console follows it: the failure already described for the operator.
pub(super) type Described<K> = Result<Event<Lenient<K>>, String>;

/// A kind the console watches.
pub(super) trait Watched:
    Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug + Send + Sync + 'static
{
    /// Plural for messages ("AgenticTasks").
    const WHAT: &'static str;
    fn updated(self) -> BackendEvent;
    fn deleted(namespace: String, name: String) -> BackendEvent;
    fn listed(items: Vec<Self>) -> Listed;
}

impl Watched for AgenticTask {
    const WHAT: &'static str = "AgenticTasks";
    fn updated(self) -> BackendEvent {
        BackendEvent::TaskUpdated(Box::new(self))
    }
    fn deleted(namespace: String, name: String) -> BackendEvent {
        BackendEvent::TaskDeleted(TaskKey::new(namespace, name))
    }
    fn listed(items: Vec<Self>) -> Listed {
        Listed::Tasks(items)
    }
}

impl Watched for FleetNode {
    const WHAT: &'static str = "FleetNodes";
    fn updated(self) -> BackendEvent {
        BackendEvent::NodeUpdated(Box::new(self))
    }
    fn deleted(_: String, name: String) -> BackendEvent {
        BackendEvent::NodeDeleted(name)
    }
    fn listed(items: Vec<Self>) -> Listed {
        Listed::Nodes(items)
    }
}

impl Watched for Agent {
    const WHAT: &'static str = "Agents";
    fn updated(self) -> BackendEvent {
        BackendEvent::AgentUpdated(Box::new(self))
    }
    fn deleted(namespace: String, name: String) -> BackendEvent {
        BackendEvent::AgentDeleted { namespace, name }
    }
    fn listed(items: Vec<Self>) -> Listed {
        Listed::Agents(items)
    }
}

impl Watched for Workload {
    const WHAT: &'static str = "Workloads";
    fn updated(self) -> BackendEvent {
        BackendEvent::WorkloadUpdated(Box::new(self))
    }
    fn deleted(namespace: String, name: String) -> BackendEvent {
        BackendEvent::WorkloadDeleted { namespace, name }
    }
    fn listed(items: Vec<Self>) -> Listed {
        Listed::Workloads(items)
    }
}

fn id_of(meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta) -> (String, String) {
    (
        meta.namespace.clone().unwrap_or_default(),
        meta.name.clone().unwrap_or_default(),
    )
}

/// Reports how a watch failed, once per failure spell.
struct Health {
    what: &'static str,
    failing: bool,
}

impl Health {
    fn failed(&mut self, tx: &UnboundedSender<Msg>, described: &str) -> bool {
        if self.failing {
            return false;
        }
        self.failing = true;
        let _ = tx.send(Msg::Ui(BackendEvent::Error(format!(
            "{described}; retrying"
        ))));
        true
    }
    fn ok(&mut self, tx: &UnboundedSender<Msg>) {
        if self.failing {
            self.failing = false;
            let _ = tx.send(Msg::Ui(BackendEvent::Notice(format!(
                "watching {} again",
                self.what
            ))));
        }
    }
}

/// Watches one kind until the task is aborted.
pub(super) async fn run<K: Watched>(api: Api<Lenient<K>>, tx: UnboundedSender<Msg>) {
    let stream = watcher::watcher(api, config())
        .backoff(WatchBackoff::new())
        .map(|step| step.map_err(|e| describe(K::WHAT, &e)));
    follow(stream, tx).await
}

/// Subscribes the console to the process's task watch: every step, failures described, and a
/// finished task of a list as its summary (`fleet::summary`: what the queue and the fleet pane
/// read; the console asks for the full task when it shows more, `Command::LoadTask`). The
/// console keeps no cache of the watch's: a watch-only console holds each task once, and a
/// fleet's finished tasks as summaries.
pub(super) fn subscribe_tasks(watch: &mut TaskWatch) -> Feed<Described<AgenticTask>> {
    watch.subscribe_steps(|step: &Step| {
        Some(match step {
            Ok(ev) => Ok(compact(ev)),
            Err(e) => Err(describe(AgenticTask::WHAT, e)),
        })
    })
}

/// A listed task as the console takes it: a finished one as its summary.
fn compact(ev: &Event<Lenient<AgenticTask>>) -> Event<Lenient<AgenticTask>> {
    match ev {
        Event::InitApply(Lenient::Ok(t)) if crate::fleet::held::is_finished(t) => {
            Event::InitApply(Lenient::Ok(crate::fleet::summary::summary(t)))
        }
        ev => ev.clone(),
    }
}

/// Follows the AgenticTasks of the shared task watch until the task is aborted.
pub(super) async fn run_tasks(feed: Feed<Described<AgenticTask>>, tx: UnboundedSender<Msg>) {
    follow(feed, tx).await
}

/// The first list of one kind, then its changes, as messages to the actor.
async fn follow<K: Watched>(stream: impl Stream<Item = Described<K>>, tx: UnboundedSender<Msg>) {
    let mut stream = std::pin::pin!(stream);
    let mut health = Health {
        what: K::WHAT,
        failing: false,
    };
    // id -> resourceVersion of what the UI has, to re-sync after a re-list.
    let mut known: HashMap<(String, String), String> = HashMap::new();
    let mut listing: Vec<K> = Vec::new();
    let mut listed = false;
    let mut bad: HashSet<(String, String)> = HashSet::new();
    let send = |m: Msg| {
        let _ = tx.send(m);
    };
    while let Some(item) = stream.next().await {
        let ev = match item {
            Ok(ev) => ev,
            Err(e) => {
                if health.failed(&tx, &e) && !listed {
                    send(Msg::ListFailed(K::WHAT));
                }
                continue;
            }
        };
        health.ok(&tx);
        match ev {
            Event::Init => listing.clear(),
            Event::InitApply(o) => {
                if let Some(k) = accept(o, &mut bad, &tx) {
                    listing.push(k);
                }
            }
            Event::InitDone => {
                let items = std::mem::take(&mut listing);
                if !listed {
                    listed = true;
                    known = items.iter().map(|k| (id_of(k.meta()), rv(k))).collect();
                    send(Msg::Listed(K::listed(items)));
                } else {
                    // A re-list after the watch fell too far behind: send what changed and
                    // what disappeared meanwhile.
                    let mut seen = HashSet::with_capacity(items.len());
                    for k in items {
                        let id = id_of(k.meta());
                        seen.insert(id.clone());
                        let v = rv(&k);
                        if known.get(&id) != Some(&v) {
                            known.insert(id, v);
                            send(Msg::Change(k.updated()));
                        }
                    }
                    known.retain(|id, _| {
                        let keep = seen.contains(id);
                        if !keep {
                            send(Msg::Change(K::deleted(id.0.clone(), id.1.clone())));
                        }
                        keep
                    });
                }
            }
            Event::Apply(o) => {
                if let Some(k) = accept(o, &mut bad, &tx) {
                    known.insert(id_of(k.meta()), rv(&k));
                    send(Msg::Change(k.updated()));
                }
            }
            Event::Delete(o) => {
                let id = id_of(o.meta());
                bad.remove(&id);
                if known.remove(&id).is_some() {
                    send(Msg::Change(K::deleted(id.0, id.1)));
                }
            }
        }
    }
}

fn rv<K: Resource>(k: &K) -> String {
    k.meta().resource_version.clone().unwrap_or_default()
}

/// The typed object, slimmed; an unreadable one is reported once and left out.
fn accept<K: Watched>(
    o: Lenient<K>,
    bad: &mut HashSet<(String, String)>,
    tx: &UnboundedSender<Msg>,
) -> Option<K> {
    match o {
        Lenient::Ok(mut k) => {
            if !bad.is_empty() {
                bad.remove(&id_of(k.meta()));
            }
            slim(&mut k);
            Some(k)
        }
        Lenient::Bad { meta, error } => {
            let id = id_of(&meta);
            if bad.insert(id.clone()) {
                let name = if id.0.is_empty() {
                    id.1
                } else {
                    format!("{}/{}", id.0, id.1)
                };
                let _ = tx.send(Msg::Ui(BackendEvent::Error(format!(
                    "cannot read {} {name} ({error}); it is left out",
                    K::kind(&())
                ))));
            }
            None
        }
    }
}

/// Watches the transcript ConfigMaps' metadata only (their data can be ~1 MiB each): a change
/// tells the actor which task's transcript to re-read, if the UI has it open.
pub(super) async fn run_transcripts(
    api: Api<PartialObjectMeta<ConfigMap>>,
    tx: UnboundedSender<Msg>,
) {
    let cfg = config().labels(TRANSCRIPT_LABEL);
    let stream = watcher::watcher(api, cfg).backoff(WatchBackoff::new());
    let mut stream = std::pin::pin!(stream);
    let what = "transcript ConfigMaps";
    let mut health = Health {
        what,
        failing: false,
    };
    let mut listed = false;
    while let Some(item) = stream.next().await {
        let ev = match item {
            Ok(ev) => ev,
            Err(e) => {
                health.failed(&tx, &describe(what, &e));
                continue;
            }
        };
        health.ok(&tx);
        match ev {
            Event::Apply(m) | Event::Delete(m) => {
                let ns = m.metadata.namespace.clone().unwrap_or_default();
                let task = m
                    .metadata
                    .labels
                    .as_ref()
                    .and_then(|l| l.get(TRANSCRIPT_LABEL))
                    .cloned()
                    .filter(|t| !t.is_empty());
                if let Some(task) = task {
                    let _ = tx.send(Msg::TranscriptChanged(TaskKey::new(ns, task)));
                }
            }
            Event::InitDone => {
                if listed {
                    // Changes may have been missed while the watch was re-listing.
                    let _ = tx.send(Msg::TranscriptsResynced);
                }
                listed = true;
            }
            Event::Init | Event::InitApply(_) => {}
        }
    }
}

/// One line on what went wrong with a watch and, when we can tell, what to do.
pub(super) fn describe(what: &str, e: &watcher::Error) -> String {
    let client = |verb: &str, err: &kube::Error| -> String {
        match err {
            kube::Error::Api(s) if s.code == 404 => format!(
                "cannot {verb} {what}: the cluster does not serve them (install the CRDs: foreman crds | kubectl apply -f -)"
            ),
            kube::Error::Api(s) if s.code == 403 => format!(
                "cannot {verb} {what}: forbidden for this kubeconfig's user ({})",
                s.message
            ),
            other => format!("cannot {verb} {what}: {}", explain(other)),
        }
    };
    match e {
        watcher::Error::InitialListFailed(err) => client("list", err),
        watcher::Error::WatchStartFailed(err) => client("watch", err),
        watcher::Error::WatchFailed(err) => format!("lost the watch on {what}: {}", explain(err)),
        watcher::Error::WatchError(s) => format!(
            "the apiserver ended the watch on {what}: {} (HTTP {})",
            s.message, s.code
        ),
        watcher::Error::NoResourceVersion => {
            format!("the apiserver sent {what} without a resourceVersion")
        }
    }
}
