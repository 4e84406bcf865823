//! The event loop: three caches (tasks, FleetNodes, Agents) fed by watchers with kube's
//! default backoff, so a dropped connection or a restarted apiserver only delays things. The
//! tasks come from the process's task watch (the console's shared one, or the scheduler's
//! own). Any event wakes a pass after a short debounce (a burst becomes one pass); a resync
//! timer adds a pass every `resync` for what no event announces: heartbeats going stale, and
//! dependencies or "no fit" decisions to re-check. `run_once` lists instead of watching.

use super::apply::{PassReport, Written, apply_all, describe};
use super::{SchedulerConfig, SchedulerError};
use crate::api::{Agent, AgenticTask, FleetNode, Workload};
use crate::fleet::schedule::plan::{Action, plan};
use crate::k8s::watch::{Feed, Step, TaskWatch};
use futures_util::StreamExt;
use kube::api::{Api, ListParams};
use kube::runtime::reflector::{self, Store};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Client, Resource, ResourceExt};
use serde::de::DeserializeOwned;
use std::collections::{HashMap, HashSet};
use std::fmt::Debug;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tracing::{debug, info, warn};

/// `--once` stops after this many passes (each pass can unblock the next: "" → Pending →
/// Scheduled, cascades), or earlier when a pass changes nothing.
const MAX_ONCE_PASSES: usize = 10;
const PREFLIGHT_TIMEOUT: Duration = Duration::from_secs(30);

fn task_api<K: Resource<Scope = kube::core::NamespaceResourceScope>>(
    client: &Client,
    cfg: &SchedulerConfig,
) -> Api<K>
where
    K::DynamicType: Default,
{
    match cfg.task_namespace.as_deref().filter(|n| !n.is_empty()) {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    }
}

fn node_list_params(cfg: &SchedulerConfig) -> ListParams {
    let sel = cfg.scope.node_selector.to_string();
    let lp = ListParams::default();
    if sel.is_empty() { lp } else { lp.labels(&sel) }
}

/// Checks the three kinds can be listed: a clear error for an unreachable cluster, missing
/// CRDs or missing permissions, instead of watchers retrying forever.
/// The three lists go out at once (one round trip at start, not three); the first failure in
/// this order is the one reported.
pub async fn preflight(client: &Client, cfg: &SchedulerConfig) -> Result<(), SchedulerError> {
    let lp = ListParams::default().limit(1);
    let nodes: Api<FleetNode> = Api::all(client.clone());
    let tasks: Api<AgenticTask> = task_api(client, cfg);
    let agents: Api<Agent> = task_api(client, cfg);
    let (n, t, a) = tokio::join!(
        check("fleetnodes", nodes.list(&lp)),
        check("agentictasks", tasks.list(&lp)),
        check("agents", agents.list(&lp)),
    );
    n?;
    t?;
    a?;
    Ok(())
}

/// [`preflight`] while [`super::warm`] opens the connections the watches and the first
/// pass's writes will use, so the daemon's first pass does not pay for handshakes.
async fn preflight_warm(client: &Client, cfg: &SchedulerConfig) -> Result<(), SchedulerError> {
    let n = super::warm::connections(cfg.concurrency);
    tokio::join!(preflight(client, cfg), super::warm::warm(client, n)).0
}

async fn check<T>(
    kind: &'static str,
    call: impl Future<Output = Result<T, kube::Error>>,
) -> Result<T, SchedulerError> {
    match tokio::time::timeout(PREFLIGHT_TIMEOUT, call).await {
        Err(_) => Err(SchedulerError::Unreachable(format!(
            "no answer within {} s",
            PREFLIGHT_TIMEOUT.as_secs()
        ))),
        Ok(r) => r.map_err(|e| classify(kind, e)),
    }
}

fn arcs<K>(v: Vec<K>) -> Vec<Arc<K>> {
    v.into_iter().map(Arc::new).collect()
}

/// Maps a list error to what the user should do about it.
fn classify(kind: &'static str, e: kube::Error) -> SchedulerError {
    match &e {
        kube::Error::Api(s) if s.code == 404 => SchedulerError::CrdsMissing { kind },
        kube::Error::Api(s) if s.code == 401 => SchedulerError::Unauthorized(s.message.clone()),
        kube::Error::Api(s) if s.code == 403 => SchedulerError::Forbidden {
            kind,
            message: s.message.clone(),
        },
        kube::Error::Api(_) => SchedulerError::Api {
            kind,
            message: describe(&e),
        },
        _ => SchedulerError::Unreachable(describe(&e)),
    }
}

/// One complete scheduling round from fresh lists: passes until nothing changes (at most
/// [`MAX_ONCE_PASSES`]). For scripts and tests; the daemon is [`run`].
pub async fn run_once(
    client: &Client,
    cfg: &SchedulerConfig,
) -> Result<PassReport, SchedulerError> {
    preflight(client, cfg).await?;
    let mut total = PassReport::default();
    for _ in 0..MAX_ONCE_PASSES {
        let nodes: Api<FleetNode> = Api::all(client.clone());
        let nodes = check("fleetnodes", nodes.list(&node_list_params(cfg))).await?;
        let tasks: Api<AgenticTask> = task_api(client, cfg);
        let tasks = check("agentictasks", tasks.list(&ListParams::default())).await?;
        let agents: Api<Agent> = task_api(client, cfg);
        let agents = check("agents", agents.list(&ListParams::default())).await?;
        let fanned = if cfg.fan_out_workloads {
            let wls: Api<Workload> = task_api(client, cfg);
            let wls = check("workloads", wls.list(&ListParams::default())).await?;
            let tasks = arcs(tasks.items.clone());
            super::workloads::fan_out(client, &arcs(wls.items), &tasks)
                .await
                .writes()
        } else {
            0
        };
        let actions = plan(
            &arcs(tasks.items),
            &arcs(nodes.items),
            &arcs(agents.items),
            &cfg.scope,
            jiff::Timestamp::now(),
        );
        if actions.is_empty() && fanned == 0 {
            break;
        }
        let (_, report) = apply_all(client, actions, cfg.concurrency).await;
        total.add(&report);
        if report.applied == 0 && report.conflicts == 0 && fanned == 0 {
            break;
        }
    }
    Ok(total)
}

/// What the scheduler takes from the task watch: "something changed" (`Ok`), or a failure.
pub type TaskChange = Result<(), String>;

/// Subscribes a scheduler to `watch`: a wake-up for every change, and the watch's failures.
pub fn subscribe(watch: &mut TaskWatch) -> Feed<TaskChange> {
    watch.subscribe(|step: &Step| match step {
        Ok(watcher::Event::Apply(_) | watcher::Event::Delete(_) | watcher::Event::InitDone) => {
            Some(Ok(()))
        }
        Ok(_) => None,
        Err(e) => Some(Err(e.to_string())),
    })
}

/// Runs until `shutdown` resolves, with a task watch of its own (`foreman scheduler`). Fails
/// only at start (unreachable cluster, missing CRDs, no permission); later API errors are
/// logged and retried.
pub async fn run<F>(client: Client, cfg: SchedulerConfig, shutdown: F) -> Result<(), SchedulerError>
where
    F: Future<Output = ()> + Send,
{
    let namespace = cfg.task_namespace.clone().unwrap_or_default();
    let mut watch = TaskWatch::new(client.clone(), &namespace);
    let tasks = subscribe(&mut watch).owning(watch.start());
    run_sharing(client, cfg, tasks, shutdown).await
}

/// [`run`] on the process's shared task watch (subscribed with [`subscribe`] before it
/// started); the watch must cover `cfg.task_namespace`.
///
/// The watches' initial lists go out beside the preflight, not after it: a cold start pays
/// for one round of lists, not two. Should the preflight fail, the watches stop with it.
pub async fn run_sharing<F>(
    client: Client,
    cfg: SchedulerConfig,
    tasks: Feed<TaskChange>,
    shutdown: F,
) -> Result<(), SchedulerError>
where
    F: Future<Output = ()> + Send,
{
    let caches = Caches::start(&client, &cfg, tasks);
    preflight_warm(&client, &cfg).await?;
    caches.checked.store(true, Ordering::Relaxed);
    serve(client, cfg, caches, shutdown).await;
    Ok(())
}

/// The scheduler's caches and the tasks that fill them, started before the preflight.
struct Caches {
    notify: Arc<Notify>,
    tasks: Store<AgenticTask>,
    nodes: Store<FleetNode>,
    agents: Store<Agent>,
    workloads: Option<Store<Workload>>,
    /// Set once the preflight passed: until then a watch failure is the preflight's to
    /// report (clearly, once), so the watches only log it at debug level.
    checked: Arc<AtomicBool>,
    _watchers: AbortOnDrop,
}

impl Caches {
    fn start(client: &Client, cfg: &SchedulerConfig, tasks: Feed<TaskChange>) -> Caches {
        let notify = Arc::new(Notify::new());
        let checked = Arc::new(AtomicBool::new(false));
        let wake = Wake {
            notify: notify.clone(),
            checked: checked.clone(),
        };
        let (tasks, h1) = follow_tasks(tasks, wake.clone());
        let mut node_wc = crate::k8s::watch::config();
        if !cfg.scope.node_selector.is_empty() {
            node_wc = node_wc.labels(&cfg.scope.node_selector.to_string());
        }
        let (nodes, h2) = reflect::<FleetNode>(Api::all(client.clone()), node_wc, wake.clone());
        let (agents, h3) = reflect::<Agent>(
            task_api(client, cfg),
            crate::k8s::watch::config(),
            wake.clone(),
        );
        let mut handles = vec![h1, h2, h3];
        let workloads = cfg.fan_out_workloads.then(|| {
            let (store, h) = reflect::<Workload>(
                task_api(client, cfg),
                crate::k8s::watch::config(),
                wake.clone(),
            );
            handles.push(h);
            store
        });
        Caches {
            notify,
            tasks,
            nodes,
            agents,
            workloads,
            checked,
            _watchers: AbortOnDrop(handles),
        }
    }
}

/// How a watch task wakes the loop and reports its failures.
#[derive(Clone)]
struct Wake {
    notify: Arc<Notify>,
    checked: Arc<AtomicBool>,
}

impl Wake {
    fn failed(&self, kind: &str, e: &dyn std::fmt::Display) {
        if self.checked.load(Ordering::Relaxed) {
            warn!("{kind} watch failed (retrying with backoff): {e}");
        } else {
            debug!("{kind} watch failed before the preflight's verdict: {e}");
        }
    }
}

/// The scheduler's loop: wait for the caches, then a pass at once and on every change
/// (debounced) and every `resync`, until `shutdown`. Long because the Lease, the Workload
/// fan-out and the pass share one loop and one shutdown; split, each piece would need them all.
async fn serve<F>(client: Client, cfg: SchedulerConfig, caches: Caches, shutdown: F)
where
    F: Future<Output = ()> + Send,
{
    let Caches {
        notify,
        tasks,
        nodes,
        agents,
        workloads,
        _watchers,
        ..
    } = caches;
    let leader = super::leader::Leader::spawn(
        &client,
        cfg.lease.clone(),
        cfg.leader.clone(),
        notify.clone(),
    );

    let mut shutdown = std::pin::pin!(shutdown);
    let synced = async {
        let _ = tokio::join!(
            tasks.wait_until_ready(),
            nodes.wait_until_ready(),
            agents.wait_until_ready(),
            super::workloads::ready(&workloads)
        );
    };
    tokio::select! {
        biased;
        () = &mut shutdown => return leader.stop().await,
        () = synced => {}
    }
    info!(
        namespace = cfg.task_namespace.as_deref().filter(|n| !n.is_empty()).unwrap_or("(all)"),
        node_selector = %or_all(&cfg.scope.node_selector),
        task_selector = %or_all(&cfg.scope.task_selector),
        "scheduler watching: {} tasks, {} FleetNodes, {} Agents",
        tasks.len(),
        nodes.len(),
        agents.len()
    );

    let mut overlay = Overlay::default();
    let resync = cfg.resync.max(Duration::from_millis(100));
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + resync, resync);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // The first pass runs as soon as the caches are in. The initial lists have already woken
    // `notify`; waiting on it would add a debounce to every cold start.
    let mut wait = false;
    loop {
        if std::mem::replace(&mut wait, true) {
            tokio::select! {
                biased;
                () = &mut shutdown => break,
                _ = tick.tick() => {}
                () = notify.notified() => {
                    // Let the rest of a burst arrive; the pass then sees all of it.
                    tokio::select! {
                        biased;
                        () = &mut shutdown => break,
                        () = tokio::time::sleep(cfg.debounce) => {}
                    }
                }
            }
        }
        // Only the Lease holder fans out and places.
        if !leader.may_act() {
            continue;
        }
        tokio::select! {
            biased;
            () = &mut shutdown => break,
            () = super::workloads::pass(&client, &workloads, &tasks) => {}
        }
        let actions = plan(
            &overlay.tasks.view(tasks.state()),
            &overlay.nodes.view(nodes.state()),
            &agents.state(),
            &cfg.scope,
            jiff::Timestamp::now(),
        );
        if actions.is_empty() {
            continue;
        }
        // Dropping in-flight writes on shutdown is safe: each is atomic on the server.
        let started = std::time::Instant::now();
        let (results, report) = tokio::select! {
            biased;
            () = &mut shutdown => break,
            r = apply_all(&client, actions, cfg.concurrency) => r,
        };
        debug!(
            planned = report.planned,
            applied = report.applied,
            conflicts = report.conflicts,
            errors = report.errors,
            "pass wrote in {} ms",
            started.elapsed().as_millis()
        );
        overlay.record(results);
    }
    leader.stop().await;
    info!("scheduler stopped");
}

fn or_all(s: &super::LabelSelector) -> String {
    if s.is_empty() {
        "(all)".into()
    } else {
        s.to_string()
    }
}

/// The task cache, and a task that wakes the loop on every change the feed reports.
fn follow_tasks(mut feed: Feed<TaskChange>, wake: Wake) -> (Store<AgenticTask>, JoinHandle<()>) {
    let store = feed.store().clone();
    let handle = tokio::spawn(async move {
        while let Some(change) = feed.recv().await {
            match change {
                Ok(()) => wake.notify.notify_one(),
                Err(e) => wake.failed("AgenticTask", &e),
            }
        }
    });
    (store, handle)
}

/// A reflector driven by its own task, its list from the watch cache and its objects slimmed
/// (`k8s::watch`); every change (and the end of each initial list) wakes the loop. Watch
/// errors are logged; the default backoff paces the reconnects.
fn reflect<K>(api: Api<K>, wc: watcher::Config, wake: Wake) -> (Store<K>, JoinHandle<()>)
where
    K: Resource + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
    K::DynamicType: Default + Eq + std::hash::Hash + Clone + Send + Sync,
{
    let kind = K::kind(&K::DynamicType::default()).to_string();
    let (reader, writer) = reflector::store();
    let stream = reflector::reflector(
        writer,
        watcher(api, wc)
            .backoff(crate::k8s::backoff::WatchBackoff::new())
            .map(|step| step.map(|ev| ev.modify(crate::k8s::watch::slim))),
    );
    let handle = tokio::spawn(async move {
        let mut stream = std::pin::pin!(stream);
        while let Some(ev) = stream.next().await {
            match ev {
                Ok(watcher::Event::Apply(_) | watcher::Event::Delete(_))
                | Ok(watcher::Event::InitDone) => wake.notify.notify_one(),
                Ok(_) => {}
                Err(e) => wake.failed(&kind, &e),
            }
        }
    });
    (reader, handle)
}

struct AbortOnDrop(Vec<JoinHandle<()>>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        for h in &self.0 {
            h.abort();
        }
    }
}

/// Our own writes, until the watch delivers them. Without this a pass right after a write
/// would see the old object: a node just given a task would look free (double booking), and
/// a task just marked Pending would be re-planned against a stale resourceVersion.
#[derive(Default)]
struct Overlay {
    tasks: Layer<AgenticTask>,
    nodes: Layer<FleetNode>,
}

impl Overlay {
    fn record(&mut self, results: Vec<(Action, super::apply::Outcome)>) {
        for (a, o) in results {
            let planned_rv = a.patch["metadata"]["resourceVersion"]
                .as_str()
                .map(str::to_string);
            if let super::apply::Outcome::Applied(w) = o {
                match w {
                    Written::Task(t) => self.tasks.put(planned_rv, *t),
                    Written::Node(n) => self.nodes.put(planned_rv, *n),
                }
            }
        }
    }
}

/// Written objects by (namespace, name), with the resourceVersion the write replaced.
struct Layer<K> {
    written: HashMap<(String, String), (Option<String>, Arc<K>)>,
}

impl<K> Default for Layer<K> {
    fn default() -> Self {
        Layer {
            written: HashMap::new(),
        }
    }
}

impl<K: Resource + Clone> Layer<K> {
    fn put(&mut self, replaced_rv: Option<String>, obj: K) {
        let key = (obj.namespace().unwrap_or_default(), obj.name_any());
        self.written.insert(key, (replaced_rv, Arc::new(obj)));
    }

    /// The store's objects, with our write standing in while the store still holds the
    /// version it replaced; entries the store has caught up with are dropped.
    fn view(&mut self, store: Vec<Arc<K>>) -> Vec<Arc<K>> {
        if self.written.is_empty() {
            return store;
        }
        let mut seen = HashSet::new();
        let out = store
            .into_iter()
            .map(|o| {
                let key = (o.namespace().unwrap_or_default(), o.name_any());
                let replace = match self.written.get(&key) {
                    Some((old_rv, mine)) if o.resource_version() == *old_rv => Some(mine.clone()),
                    Some(_) => {
                        self.written.remove(&key);
                        None
                    }
                    None => None,
                };
                seen.insert(key);
                replace.unwrap_or(o)
            })
            .collect();
        self.written.retain(|k, _| seen.contains(k));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::FleetNodeSpec;

    fn node(rv: &str, roles: &[&str]) -> FleetNode {
        let mut n = FleetNode::new(
            "n1",
            FleetNodeSpec {
                node_name: "n1".into(),
                roles: Some(roles.iter().map(|r| r.to_string()).collect()),
                ..Default::default()
            },
        );
        n.metadata.resource_version = Some(rv.into());
        n
    }

    #[test]
    fn overlay_stands_in_until_the_store_catches_up() {
        let mut layer = Layer::<FleetNode>::default();
        layer.put(Some("1".into()), node("2", &["mine"]));
        let v = layer.view(vec![Arc::new(node("1", &[]))]);
        assert_eq!(v[0].metadata.resource_version.as_deref(), Some("2"));
        // The store moved on (our write or a later one): the store wins from now on.
        let v = layer.view(vec![Arc::new(node("3", &[]))]);
        assert_eq!(v[0].metadata.resource_version.as_deref(), Some("3"));
        assert!(layer.written.is_empty());
        layer.put(Some("3".into()), node("4", &[]));
        assert!(layer.view(vec![]).is_empty() && layer.written.is_empty());
    }
}
