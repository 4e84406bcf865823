#![cfg(feature = "e2e")]
//! Scheduler leader election (issue 13 §5) against a real kube-apiserver 1.20: two
//! `foreman scheduler` replicas (the binary) elect a leader through a coordination.k8s.io/v1
//! Lease; only the leader places; the leader SIGKILLed, the standby takes the Lease and places
//! within the lease duration of its last renewal; and a watch on the tasks sees no task
//! placed twice at any point.
//!
//!   KUBE_PORT=16530 ETCD_PORT=12530 scripts/k8s.sh start /tmp/leader-k8s
//!   FOREMAN_E2E_KUBECONFIG=/tmp/leader-k8s/kubeconfig \
//!     cargo test --features e2e --test e2e_cluster_leader
//!   scripts/k8s.sh stop /tmp/leader-k8s

mod common;

use common::k8s::shared_namespace;
use foreman::api::{Agent, AgenticTask, FleetNode, FleetNodeSpec};
use foreman::k8s::{ClusterArgs, connect};
use futures_util::StreamExt;
use k8s_openapi::api::coordination::v1::Lease;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::runtime::watcher;
use serde_json::json;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const LABEL: &str = "foreman.test/ns";
const LEASE: &str = "leader-test";
const DURATION: Duration = Duration::from_secs(4);

/// One `foreman scheduler` replica, its stderr in a file; SIGKILLed on drop.
struct Replica {
    child: Child,
    log: PathBuf,
}

impl Replica {
    fn start(kubeconfig: &Path, ns: &str, log: PathBuf) -> Replica {
        let child = Command::new(env!("CARGO_BIN_EXE_foreman"))
            .args(["scheduler", "--kubeconfig"])
            .arg(kubeconfig)
            .args(["--namespace", ns, "--node-selector"])
            .arg(format!("{LABEL}={ns}"))
            .args([
                "--resync",
                "300ms",
                "--no-stale-marking",
                "--lease-name",
                LEASE,
            ])
            .arg(format!("--lease-duration={}s", DURATION.as_secs()))
            .env_remove("KUBECONFIG")
            .env_remove("RUST_LOG")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("foreman scheduler starts");
        Replica { child, log }
    }
    fn identity(&self) -> String {
        format!("{}-{}", foreman::fleet::host::hostname(), self.child.id())
    }
    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Every (phase, assignedNode) a task was seen with, in watch order.
type Seen = Arc<Mutex<HashMap<String, Vec<(String, String)>>>>;

fn record(seen: &Seen, t: &AgenticTask) {
    let s = t.status.clone().unwrap_or_default();
    let phase = s.phase.map(|p| format!("{p:?}")).unwrap_or_default();
    let node = s.assigned_node.unwrap_or_default();
    let mut m = seen.lock().unwrap();
    let v = m
        .entry(t.metadata.name.clone().unwrap_or_default())
        .or_default();
    if v.last() != Some(&(phase.clone(), node.clone())) {
        v.push((phase, node));
    }
}

/// How often a task went to Scheduled, and on which nodes.
fn placements(seen: &Seen, task: &str) -> Vec<String> {
    let m = seen.lock().unwrap();
    let v = m.get(task).cloned().unwrap_or_default();
    let mut out = Vec::new();
    let mut was_scheduled = false;
    for (phase, node) in v {
        let now = phase == "Scheduled";
        if now && (!was_scheduled || out.last() != Some(&node)) {
            out.push(node);
        }
        was_scheduled = now;
    }
    out
}

async fn until<T>(what: &str, within: Duration, mut f: impl AsyncFnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(start.elapsed() < within, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_standby_takes_over_from_a_killed_leader_and_no_task_is_placed_twice() {
    let (kc, ns) = shared_namespace("leader");
    let client = connect(&ClusterArgs {
        kubeconfig: Some(kc.clone()),
        ..Default::default()
    })
    .await
    .unwrap()
    .client;
    let tasks: Api<AgenticTask> = Api::namespaced(client.clone(), &ns);
    let nodes: Api<FleetNode> = Api::all(client.clone());
    let leases: Api<Lease> = Api::namespaced(client.clone(), &ns);
    for i in 0..6 {
        let name = format!("{ns}-n{i}");
        let mut n = FleetNode::new(
            &name,
            FleetNodeSpec {
                node_name: name.clone(),
                roles: Some(vec!["worker".into()]),
                ..Default::default()
            },
        );
        n.metadata.labels = Some([(LABEL.to_string(), ns.clone())].into());
        nodes.create(&PostParams::default(), &n).await.unwrap();
        let hb = jiff::Timestamp::now()
            .strftime("%Y-%m-%dT%H:%M:%SZ")
            .to_string();
        let status = json!({"status": {"phase": "Ready", "lastHeartbeatTime": hb,
            "capability": {"accelerator": "metal", "availableRAMGB": 64, "totalRAMGB": 96}}});
        nodes
            .patch_status(&name, &PatchParams::default(), &Patch::Merge(&status))
            .await
            .unwrap();
    }
    let agent: Agent = serde_json::from_value(json!({
        "apiVersion": "foreman.llmkube.dev/v1alpha1", "kind": "Agent",
        "metadata": {"name": "coder", "namespace": ns},
        "spec": {"role": "coder", "systemPrompt": "s", "tools": ["read_file"]},
    }))
    .unwrap();
    Api::<Agent>::namespaced(client.clone(), &ns)
        .create(&PostParams::default(), &agent)
        .await
        .unwrap();

    // A watch on the tasks from the start: every placement any replica writes is seen.
    let seen: Seen = Arc::default();
    let watch = tokio::spawn({
        let (seen, api) = (seen.clone(), tasks.clone());
        async move {
            let mut s = std::pin::pin!(watcher(api, watcher::Config::default()));
            while let Some(ev) = s.next().await {
                if let Ok(watcher::Event::Apply(t) | watcher::Event::InitApply(t)) = ev {
                    record(&seen, &t)
                }
            }
        }
    });
    let create = |name: String| {
        let api = tasks.clone();
        let ns = ns.clone();
        async move {
            let t: AgenticTask = serde_json::from_value(json!({
                "apiVersion": "foreman.llmkube.dev/v1alpha1", "kind": "AgenticTask",
                "metadata": {"name": name, "namespace": ns},
                "spec": {"kind": "freeform", "payload": {"prompt": "x"}, "agentRef": {"name": "coder"}},
            }))
            .unwrap();
            api.create(&PostParams::default(), &t).await.unwrap();
        }
    };
    let holder = async || {
        let l = leases.get_opt(LEASE).await.ok().flatten()?;
        l.spec?.holder_identity
    };

    let dir = tempfile::tempdir().unwrap();
    let a = Replica::start(&kc, &ns, dir.path().join("a.log"));
    let first = until("a first leader", Duration::from_secs(20), holder).await;
    assert_eq!(first, a.identity(), "{}", a.log());
    let b = Replica::start(&kc, &ns, dir.path().join("b.log"));
    let standby = format!("{} leads; {} is standby", a.identity(), b.identity());
    until("b standing by", Duration::from_secs(20), async || {
        b.log().contains(&standby).then_some(())
    })
    .await;

    for i in 0..3 {
        create(format!("t{i}")).await;
    }
    let scheduled = |names: Vec<String>| {
        let seen = seen.clone();
        async move || {
            names
                .iter()
                .all(|n| !placements(&seen, n).is_empty())
                .then_some(())
        }
    };
    let wave1: Vec<String> = (0..3).map(|i| format!("t{i}")).collect();
    until("wave 1 placed", Duration::from_secs(20), scheduled(wave1)).await;
    // The leader placed them; the standby placed nothing. The leader logs a placement once
    // its patch has returned, which can be after this test's watch saw the placement.
    let placed_line = format!("{ns}/t0 to FleetNode");
    until(
        "the leader logged its placement",
        Duration::from_secs(10),
        async || a.log().contains(&placed_line).then_some(()),
    )
    .await;
    assert!(!b.log().contains(" to FleetNode "), "{}", b.log());

    // SIGKILL the leader right after a renewal (its claim then lasts the longest).
    let renewed = |l: &Lease| l.spec.as_ref()?.renew_time.clone();
    let before = renewed(&leases.get(LEASE).await.unwrap());
    let last_renew = until("a renewal", DURATION, async || {
        let now = renewed(&leases.get(LEASE).await.ok()?);
        (now != before).then_some(now)
    })
    .await
    .unwrap();
    let mut a = a;
    a.child.kill().unwrap();
    let killed = Instant::now();
    let _ = a.child.wait();
    for i in 3..6 {
        create(format!("t{i}")).await;
    }
    let wave2: Vec<String> = (3..6).map(|i| format!("t{i}")).collect();
    until("wave 2 placed", DURATION * 3, scheduled(wave2)).await;
    let took = killed.elapsed();
    let placed_at = jiff::Timestamp::now();
    let since_renew = placed_at.as_millisecond() - last_renew.0.as_millisecond();
    let lease = leases.get(LEASE).await.unwrap().spec.unwrap();
    assert_eq!(
        lease.holder_identity.as_deref(),
        Some(b.identity().as_str())
    );
    assert_eq!(lease.lease_transitions, Some(1), "{lease:?}");
    assert_eq!(
        lease.lease_duration_seconds,
        Some(DURATION.as_secs() as i32)
    );
    assert!(
        b.log()
            .contains(&format!("{} leads (this replica", b.identity())),
        "{}",
        b.log()
    );
    eprintln!(
        "takeover: wave 2 placed {} ms after the SIGKILL, {since_renew} ms after the dead \
         leader's last renewal (lease {} s)",
        took.as_millis(),
        DURATION.as_secs()
    );
    // Within the lease duration of the last renewal, plus one retry period and the pass.
    assert!(
        since_renew <= (DURATION.as_millis() + DURATION.as_millis() / 6 + 1500) as i64,
        "{since_renew} ms"
    );

    // Let both waves settle, then: every task placed exactly once, no node given two.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let mut on: HashMap<String, String> = HashMap::new();
    for i in 0..6 {
        let t = format!("t{i}");
        let p = placements(&seen, &t);
        assert_eq!(
            p.len(),
            1,
            "{t} placed {p:?}: {:?}",
            seen.lock().unwrap().get(&t)
        );
        if let Some(other) = on.insert(p[0].clone(), t.clone()) {
            panic!("{} got both {other} and {t}", p[0]);
        }
    }
    watch.abort();
    drop(b);
    let _ = nodes
        .delete_collection(
            &DeleteParams::default(),
            &ListParams::default().labels(&format!("{LABEL}={ns}")),
        )
        .await;
}
