#![cfg(feature = "e2e")]
//! The scheduler's concurrent writes against a real kube-apiserver 1.20, at a size where 8
//! writes are in flight at once: every placement is still guarded by the resourceVersion it
//! was planned against, so a write that lost a race (409) changes nothing; no task is placed
//! twice and no node gets two tasks, with two schedulers racing from a cold start.
//!
//!   FOREMAN_E2E_KUBECONFIG=/tmp/fs-k8s/kubeconfig \
//!     cargo test --features e2e --test e2e_cluster_scheduler_scale

mod common;

use common::k8s::shared_namespace;
use foreman::api::{AgenticTask, FleetNode, FleetNodeSpec, TaskPhase};
use foreman::k8s::scheduler::{self, SchedulerConfig, Scope, What, plan};
use foreman::k8s::{ClusterArgs, connect};
use futures_util::{StreamExt, TryStreamExt, stream};
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Client, ResourceExt};
use serde_json::json;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const LABEL: &str = "foreman.test/ns";
const NODES: usize = 24;
const TASKS: usize = 80;

async fn client(kc: &std::path::Path) -> Client {
    connect(&ClusterArgs {
        kubeconfig: Some(kc.to_path_buf()),
        ..Default::default()
    })
    .await
    .expect("connect")
    .client
}

/// `NODES` Ready FleetNodes labelled for `ns` and `TASKS` Pending tasks in it.
async fn seed(client: &Client, ns: &str) {
    let nodes: Api<FleetNode> = Api::all(client.clone());
    let tasks: Api<AgenticTask> = Api::namespaced(client.clone(), ns);
    let hb = jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    stream::iter(0..NODES)
        .map(|i| {
            let (nodes, hb) = (nodes.clone(), hb.clone());
            async move {
                let name = format!("{ns}-n{i:02}");
                let mut n = FleetNode::new(
                    &name,
                    FleetNodeSpec {
                        node_name: name.clone(),
                        roles: Some(vec!["worker".into()]),
                        ..Default::default()
                    },
                );
                n.metadata.labels = Some([(LABEL.to_string(), ns.to_string())].into());
                nodes.create(&PostParams::default(), &n).await?;
                let st = json!({"status": {"phase": "Ready", "lastHeartbeatTime": hb,
                    "capability": {"accelerator": "cuda", "availableRAMGB": 64}}});
                nodes
                    .patch_status(&name, &PatchParams::default(), &Patch::Merge(&st))
                    .await
            }
        })
        .buffer_unordered(8)
        .try_collect::<Vec<_>>()
        .await
        .expect("nodes");
    stream::iter(0..TASKS)
        .map(|i| {
            let tasks = tasks.clone();
            async move {
                let name = format!("t{i:03}");
                let t: AgenticTask = serde_json::from_value(json!({
                    "apiVersion": "foreman.llmkube.dev/v1alpha1", "kind": "AgenticTask",
                    "metadata": {"name": name, "namespace": ns},
                    "spec": {"kind": "freeform", "payload": {"prompt": "x"}, "priority": (i % 4) as i32},
                }))
                .unwrap();
                tasks.create(&PostParams::default(), &t).await?;
                let st = json!({"status": {"phase": "Pending"}});
                tasks
                    .patch_status(&name, &PatchParams::default(), &Patch::Merge(&st))
                    .await
            }
        })
        .buffer_unordered(8)
        .try_collect::<Vec<_>>()
        .await
        .expect("tasks");
}

fn config(ns: &str) -> SchedulerConfig {
    SchedulerConfig {
        task_namespace: Some(ns.to_string()),
        scope: Scope {
            node_selector: format!("{LABEL}={ns}").parse().unwrap(),
            ..Default::default()
        },
        resync: Duration::from_millis(500),
        concurrency: 8,
        ..Default::default()
    }
}

/// Every node any task was ever seen assigned to, per task (from a watch of our own).
type Seen = Arc<Mutex<HashMap<String, Vec<String>>>>;

fn record(api: Api<AgenticTask>) -> (Seen, tokio::task::JoinHandle<()>) {
    let seen: Seen = Default::default();
    let s2 = seen.clone();
    let h = tokio::spawn(async move {
        let mut s = std::pin::pin!(watcher(api, watcher::Config::default()).touched_objects());
        while let Some(Ok(t)) = s.next().await {
            let Some(node) = t.status.as_ref().and_then(|s| s.assigned_node.clone()) else {
                continue;
            };
            let mut seen = s2.lock().unwrap();
            let nodes = seen.entry(t.name_any()).or_default();
            if nodes.last() != Some(&node) {
                nodes.push(node);
            }
        }
    });
    (seen, h)
}

/// The tasks Scheduled now, by node: each node at most once, `want` in all.
async fn placed_once(tasks: &Api<AgenticTask>, want: usize) -> HashMap<String, String> {
    let mut by_node: HashMap<String, String> = HashMap::new();
    for t in tasks.list(&ListParams::default()).await.unwrap().items {
        let st = t.status.clone().unwrap_or_default();
        if st.phase != Some(TaskPhase::Scheduled) {
            continue;
        }
        let node = st
            .assigned_node
            .clone()
            .expect("a Scheduled task names its node");
        if let Some(other) = by_node.insert(node.clone(), t.name_any()) {
            panic!("node {node} got two tasks: {other} and {}", t.name_any());
        }
    }
    assert_eq!(by_node.len(), want, "placements: {by_node:?}");
    by_node
}

async fn wait_placed(tasks: &Api<AgenticTask>, want: usize) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let n = tasks
            .list(&ListParams::default())
            .await
            .unwrap()
            .items
            .iter()
            .filter(|t| t.status.as_ref().and_then(|s| s.phase) == Some(TaskPhase::Scheduled))
            .count();
        if n >= want {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "only {n} of {want} placed within 30 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn arcs<K>(v: Vec<K>) -> Vec<Arc<K>> {
    v.into_iter().map(Arc::new).collect()
}

async fn cleanup(client: &Client, ns: &str) {
    let nodes: Api<FleetNode> = Api::all(client.clone());
    let _ = nodes
        .delete_collection(
            &DeleteParams::default(),
            &ListParams::default().labels(&format!("{LABEL}={ns}")),
        )
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn planned_writes_that_lost_a_race_get_409_and_change_nothing() {
    let (kc, ns) = shared_namespace("sched-409");
    let client = client(&kc).await;
    seed(&client, &ns).await;
    let tasks: Api<AgenticTask> = Api::namespaced(client.clone(), &ns);
    let nodes: Api<FleetNode> = Api::all(client.clone());
    let listed_tasks: Vec<_> = tasks.list(&ListParams::default()).await.unwrap().items;
    let listed_nodes = nodes
        .list(&ListParams::default().labels(&format!("{LABEL}={ns}")))
        .await
        .unwrap()
        .items;
    let cfg = config(&ns);
    let actions = plan(
        &arcs(listed_tasks),
        &arcs(listed_nodes),
        &[],
        &cfg.scope,
        jiff::Timestamp::now(),
    );
    let places: Vec<String> = actions
        .iter()
        .filter(|a| matches!(a.what, What::Schedule { .. }))
        .map(|a| match &a.target {
            scheduler::Target::Task { name, .. } => name.clone(),
            t => panic!("a placement of {t}"),
        })
        .collect();
    assert_eq!(places.len(), NODES, "one placement per free node");
    // Someone else writes 5 of the planned tasks first: their resourceVersions move on.
    let raced: Vec<&String> = places.iter().step_by(5).collect();
    for name in &raced {
        let touch = json!({"status": {"conditions": [{"type": "Touched", "status": "True",
            "reason": "Test", "message": "m", "lastTransitionTime": "2026-01-01T00:00:00Z"}]}});
        tasks
            .patch_status(name, &PatchParams::default(), &Patch::Merge(&touch))
            .await
            .unwrap();
    }
    let (results, report) = scheduler::apply::apply_all(&client, actions, 8).await;
    assert_eq!(report.conflicts, raced.len(), "{report:?}");
    assert_eq!(report.scheduled, NODES - raced.len(), "{report:?}");
    for (a, o) in &results {
        if let scheduler::Target::Task { name, .. } = &a.target
            && raced.contains(&name)
        {
            assert!(
                matches!(o, scheduler::apply::Outcome::Conflict),
                "{name}: {o:?}"
            );
            let t = tasks.get(name).await.unwrap();
            assert_eq!(t.status.unwrap().phase, Some(TaskPhase::Pending), "{name}");
        }
    }
    placed_once(&tasks, NODES - raced.len()).await;
    // The daemon picks up from there: the nodes the lost writes left free get a task each.
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let h = tokio::spawn(scheduler::run(client.clone(), cfg, async {
        let _ = stop_rx.await;
    }));
    wait_placed(&tasks, NODES).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    placed_once(&tasks, NODES).await;
    let _ = stop_tx.send(());
    h.await.unwrap().expect("scheduler");
    cleanup(&client, &ns).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_schedulers_racing_from_a_cold_start_place_each_task_once_and_fill_each_node_once() {
    let (kc, ns) = shared_namespace("sched-scale");
    let client = client(&kc).await;
    seed(&client, &ns).await;
    let tasks: Api<AgenticTask> = Api::namespaced(client.clone(), &ns);
    let (seen, recorder) = record(tasks.clone());
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut stops = Vec::new();
    let mut handles = Vec::new();
    for _ in 0..2 {
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        // Each its own client, as two daemons would have.
        let c = self::client(&kc).await;
        handles.push(tokio::spawn(scheduler::run(c, config(&ns), async {
            let _ = rx.await;
        })));
        stops.push(tx);
    }
    wait_placed(&tasks, NODES).await;
    // Both keep passing (watch events, resync): nothing more may be placed.
    tokio::time::sleep(Duration::from_millis(2000)).await;
    let by_node = placed_once(&tasks, NODES).await;
    for tx in stops {
        let _ = tx.send(());
    }
    for h in handles {
        h.await.unwrap().expect("scheduler");
    }
    recorder.abort();
    let seen = seen.lock().unwrap().clone();
    for (task, nodes) in seen.iter() {
        assert_eq!(
            nodes.len(),
            1,
            "{task} was placed more than once: {nodes:?}"
        );
    }
    assert_eq!(seen.len(), NODES, "tasks ever assigned: {seen:?}");
    assert!(by_node.values().all(|t| seen.contains_key(t)));
    cleanup(&client, &ns).await;
}
