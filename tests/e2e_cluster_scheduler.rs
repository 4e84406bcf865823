#![cfg(feature = "e2e")]
//! `foreman scheduler` against a real kube-apiserver 1.20: priority, busy/stale/draining
//! nodes, cascade failure, missing Agents, two schedulers racing, and the binary's `--once` and
//! error exits. Each test has its own namespace; FleetNodes are cluster-scoped, so each test's
//! nodes carry its namespace as a label and its scheduler runs with `--node-selector` on it.
//!
//!   KUBE_PORT=20043 ETCD_PORT=20079 scripts/k8s.sh start /tmp/sched-k8s
//!   FOREMAN_E2E_KUBECONFIG=/tmp/sched-k8s/kubeconfig \
//!     cargo test --features e2e --test e2e_cluster_scheduler
//!   scripts/k8s.sh stop /tmp/sched-k8s

mod common;

use common::k8s::{PrivateApiserver, kubectl_at, retried, shared_namespace};
use foreman::api::{Agent, AgenticTask, FleetNode, FleetNodeSpec};
use foreman::k8s::scheduler::{self, SchedulerConfig, Scope};
use foreman::k8s::{ClusterArgs, connect};
use kube::Client;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use serde_json::{Value, json};
use std::future::Future;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

const LABEL: &str = "foreman.test/ns";
const WAIT: Duration = Duration::from_secs(20);

struct Env {
    kubeconfig: PathBuf,
    ns: String,
    client: Client,
}

impl Env {
    async fn new(prefix: &str) -> Env {
        let (kubeconfig, ns) = shared_namespace(prefix);
        Env::at(kubeconfig, ns).await
    }

    async fn at(kubeconfig: PathBuf, ns: String) -> Env {
        let client = connect(&ClusterArgs {
            kubeconfig: Some(kubeconfig.clone()),
            ..Default::default()
        })
        .await
        .expect("connect")
        .client;
        Env {
            kubeconfig,
            ns,
            client,
        }
    }

    fn selector(&self) -> String {
        format!("{LABEL}={}", self.ns)
    }

    fn node_name(&self, suffix: &str) -> String {
        format!("{}-{suffix}", self.ns)
    }

    fn tasks(&self) -> Api<AgenticTask> {
        Api::namespaced(self.client.clone(), &self.ns)
    }

    fn nodes(&self) -> Api<FleetNode> {
        Api::all(self.client.clone())
    }

    fn config(&self) -> SchedulerConfig {
        SchedulerConfig {
            task_namespace: Some(self.ns.clone()),
            scope: Scope {
                node_selector: self.selector().parse().unwrap(),
                ..Default::default()
            },
            resync: Duration::from_millis(500),
            ..Default::default()
        }
    }

    /// A FleetNode labelled for this test, with its status written like a node agent would.
    async fn node(&self, suffix: &str, phase: &str, hb_age_secs: i64, current: Option<&str>) {
        let name = self.node_name(suffix);
        let mut n = FleetNode::new(
            &name,
            FleetNodeSpec {
                node_name: name.clone(),
                roles: Some(vec!["worker".into()]),
                ..Default::default()
            },
        );
        n.metadata.labels = Some([(LABEL.to_string(), self.ns.clone())].into());
        self.nodes()
            .create(&PostParams::default(), &n)
            .await
            .expect("create FleetNode");
        let hb = jiff::Timestamp::now() - jiff::SignedDuration::from_secs(hb_age_secs);
        let status = json!({"status": {
            "phase": phase,
            "lastHeartbeatTime": hb.strftime("%Y-%m-%dT%H:%M:%SZ").to_string(),
            "capability": {"accelerator": "metal", "availableRAMGB": 64, "totalRAMGB": 96,
                           "maxContextTokens": 131072},
            "currentTask": current,
        }});
        self.patch_node(suffix, status).await;
    }

    async fn patch_node(&self, suffix: &str, body: Value) {
        self.nodes()
            .patch_status(
                &self.node_name(suffix),
                &PatchParams::default(),
                &Patch::Merge(&body),
            )
            .await
            .expect("patch FleetNode status");
    }

    async fn agent(&self, name: &str) {
        let a: Agent = serde_json::from_value(json!({
            "apiVersion": "foreman.llmkube.dev/v1alpha1", "kind": "Agent",
            "metadata": {"name": name, "namespace": self.ns},
            "spec": {"role": "coder", "systemPrompt": "s", "tools": ["read_file"],
                     "requiredCapability": {"minRAMGB": 16}},
        }))
        .unwrap();
        Api::<Agent>::namespaced(self.client.clone(), &self.ns)
            .create(&PostParams::default(), &a)
            .await
            .expect("create Agent");
    }

    /// Upstream HEAD: an Agent bounded to `n` tasks in flight.
    async fn bounded_agent(&self, name: &str, n: i32) {
        self.agent(name).await;
        Api::<Agent>::namespaced(self.client.clone(), &self.ns)
            .patch(
                name,
                &PatchParams::default(),
                &Patch::Merge(json!({"spec": {"maxConcurrentTasks": n}})),
            )
            .await
            .expect("patch Agent");
    }

    async fn task(&self, name: &str, priority: i32, deps: &[&str], agent: Option<&str>) {
        let mut spec =
            json!({"kind": "freeform", "payload": {"prompt": "x"}, "priority": priority});
        if !deps.is_empty() {
            spec["dependsOn"] = json!(deps);
        }
        if let Some(a) = agent {
            spec["agentRef"] = json!({"name": a});
        }
        let t: AgenticTask = serde_json::from_value(json!({
            "apiVersion": "foreman.llmkube.dev/v1alpha1", "kind": "AgenticTask",
            "metadata": {"name": name, "namespace": self.ns}, "spec": spec,
        }))
        .unwrap();
        self.tasks()
            .create(&PostParams::default(), &t)
            .await
            .expect("create AgenticTask");
    }

    async fn patch_task(&self, name: &str, status: Value) {
        self.tasks()
            .patch_status(
                name,
                &PatchParams::default(),
                &Patch::Merge(&json!({ "status": status })),
            )
            .await
            .expect("patch AgenticTask status");
    }

    async fn task_json(&self, name: &str) -> Value {
        serde_json::to_value(self.tasks().get(name).await.expect("get task")).unwrap()
    }

    async fn node_json(&self, suffix: &str) -> Value {
        let n = self.nodes().get(&self.node_name(suffix)).await;
        serde_json::to_value(n.expect("get node")).unwrap()
    }

    /// Polls `name` until `ok` holds (20 s), returning it; panics with its last state.
    async fn wait_task(&self, name: &str, what: &str, ok: impl Fn(&Value) -> bool) -> Value {
        wait(what, || async { self.task_json(name).await }, ok).await
    }

    /// An in-process scheduler, stopped through the returned sender.
    fn start(&self) -> (oneshot::Sender<()>, JoinHandle<()>) {
        self.start_with(self.config())
    }

    fn start_with(&self, cfg: SchedulerConfig) -> (oneshot::Sender<()>, JoinHandle<()>) {
        let (tx, rx) = oneshot::channel::<()>();
        let client = self.client.clone();
        let h = tokio::spawn(async move {
            scheduler::run(client, cfg, async {
                let _ = rx.await;
            })
            .await
            .expect("scheduler runs");
        });
        (tx, h)
    }

    async fn cleanup(&self) {
        let _ = self
            .nodes()
            .delete_collection(
                &DeleteParams::default(),
                &ListParams::default().labels(&self.selector()),
            )
            .await;
    }
}

async fn stop((tx, h): (oneshot::Sender<()>, JoinHandle<()>)) {
    let _ = tx.send(());
    tokio::time::timeout(Duration::from_secs(10), h)
        .await
        .expect("scheduler stops promptly on shutdown")
        .expect("scheduler task");
}

async fn wait<F, Fut>(what: &str, get: F, ok: impl Fn(&Value) -> bool) -> Value
where
    F: Fn() -> Fut,
    Fut: Future<Output = Value>,
{
    let start = Instant::now();
    loop {
        let v = get().await;
        if ok(&v) {
            return v;
        }
        if start.elapsed() > WAIT {
            panic!("timed out waiting for {what}: {:#}", v["status"]);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn phase(v: &Value) -> &str {
    v["status"]["phase"].as_str().unwrap_or("")
}

fn condition<'a>(v: &'a Value, type_: &str) -> &'a Value {
    v["status"]["conditions"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["type"] == type_))
        .unwrap_or(&Value::Null)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn priority_wins_the_free_node_and_the_next_follows_when_it_frees() {
    let env = Env::new("sched-prio").await;
    env.node("a", "Ready", 0, None).await;
    env.agent("coder").await;
    // The low-priority task is older: only priority puts `high` first.
    env.task("low", 1, &[], Some("coder")).await;
    env.task("high", 10, &[], Some("coder")).await;
    let sched = env.start();

    let node = env.node_name("a");
    let high = env
        .wait_task("high", "high Scheduled", |t| phase(t) == "Scheduled")
        .await;
    assert_eq!(high["status"]["assignedNode"], node.as_str());
    let c = condition(&high, "Scheduled");
    assert_eq!(c["status"], "True");
    assert_eq!(c["reason"], "FleetNodeAssigned");
    assert_eq!(c["message"], format!("scheduled to FleetNode \"{node}\""));
    env.wait_task("low", "low Pending", |t| phase(t) == "Pending")
        .await;
    // The node is taken (by assignment, before its agent says so): `low` keeps waiting.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(phase(&env.task_json("low").await), "Pending");

    // The node's agent claims, runs and finishes `high`.
    env.patch_node(
        "a",
        json!({"status": {"currentTask": format!("{}/high", env.ns)}}),
    )
    .await;
    env.patch_task("high", json!({"phase": "Running"})).await;
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(phase(&env.task_json("low").await), "Pending");
    env.patch_task("high", json!({"phase": "Succeeded", "verdict": "GO"}))
        .await;
    env.patch_node("a", json!({"status": {"currentTask": null}}))
        .await;
    let low = env
        .wait_task("low", "low Scheduled once the node frees", |t| {
            phase(t) == "Scheduled"
        })
        .await;
    assert_eq!(low["status"]["assignedNode"], node.as_str());
    stop(sched).await;
    env.cleanup().await;
}

/// The first pass runs once the caches are in, not after a debounce or a resync: with both
/// set to minutes, a Pending task on a free node is still placed at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_pass_waits_for_neither_the_debounce_nor_the_resync() {
    let env = Env::new("sched-first").await;
    env.node("a", "Ready", 0, None).await;
    env.agent("coder").await;
    env.task("t", 1, &[], Some("coder")).await;
    env.patch_task("t", json!({"phase": "Pending"})).await;
    let sched = env.start_with(SchedulerConfig {
        debounce: Duration::from_secs(120),
        resync: Duration::from_secs(120),
        ..env.config()
    });
    let t = env
        .wait_task("t", "t Scheduled by the first pass", |t| {
            phase(t) == "Scheduled"
        })
        .await;
    assert_eq!(t["status"]["assignedNode"], env.node_name("a").as_str());
    stop(sched).await;
    env.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cascade_and_missing_agent_fail_with_their_reasons() {
    let env = Env::new("sched-cascade").await;
    env.node("a", "Ready", 0, None).await;
    env.agent("coder").await;
    env.task("up", 0, &[], Some("coder")).await;
    env.patch_task("up", json!({"phase": "Failed", "verdict": "INCOMPLETE"}))
        .await;
    env.task("mid", 0, &["up"], Some("coder")).await;
    env.task("down", 0, &["mid"], Some("coder")).await;
    env.task("lost", 0, &[], Some("ghost")).await;
    let sched = env.start();

    for (name, dep) in [("mid", "up"), ("down", "mid")] {
        let t = env
            .wait_task(name, "cascade failure", |t| phase(t) == "Failed")
            .await;
        assert_eq!(t["status"]["verdict"], "INCOMPLETE");
        assert!(t["status"]["finishedAt"].is_string(), "{t:#}");
        let c = condition(&t, "Failed");
        assert_eq!(c["status"], "True");
        assert_eq!(c["reason"], "UpstreamFailed");
        assert_eq!(
            c["message"],
            format!("dependency \"{dep}\" failed; cascade-failing")
        );
        assert!(t["status"]["assignedNode"].is_null());
    }
    let lost = env
        .wait_task("lost", "AgentNotFound", |t| phase(t) == "Failed")
        .await;
    let c = condition(&lost, "Failed");
    assert_eq!(c["reason"], "AgentNotFound");
    assert_eq!(
        c["message"],
        format!("Agent \"ghost\" not found in namespace \"{}\"", env.ns)
    );
    assert_eq!(lost["status"]["verdict"], "INCOMPLETE");
    stop(sched).await;
    env.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stale_draining_and_busy_nodes_are_skipped() {
    let env = Env::new("sched-nodes").await;
    env.node("a-stale", "Ready", 200, None).await;
    env.node("b-draining", "Draining", 300, None).await;
    env.node("c-busy", "Ready", 0, Some("elsewhere/task")).await;
    env.node("d-free", "Ready", 0, None).await;
    env.task("t1", 0, &[], None).await;
    env.task("t2", 0, &[], None).await;
    let sched = env.start();

    let stale = wait(
        "a-stale NotReady",
        || env.node_json("a-stale"),
        |n| phase(n) == "NotReady",
    )
    .await;
    let c = condition(&stale, "Ready");
    assert_eq!(c["status"], "False");
    assert_eq!(c["reason"], "HeartbeatStale");
    assert_eq!(c["message"], "no heartbeat within 90s");
    let t1 = env
        .wait_task("t1", "t1 Scheduled", |t| phase(t) == "Scheduled")
        .await;
    assert_eq!(
        t1["status"]["assignedNode"],
        env.node_name("d-free").as_str()
    );
    // Several resyncs later: t2 still waits, and the draining node is untouched.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let t2 = env.task_json("t2").await;
    assert_eq!(phase(&t2), "Pending", "{t2:#}");
    let draining = env.node_json("b-draining").await;
    assert_eq!(phase(&draining), "Draining");
    assert!(draining["status"]["conditions"].is_null(), "{draining:#}");
    assert_eq!(phase(&env.node_json("c-busy").await), "Ready");
    stop(sched).await;
    env.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_schedulers_racing_place_a_task_once() {
    let env = Env::new("sched-race").await;
    env.node("a", "Ready", 0, None).await;
    env.task("first", 5, &[], None).await;
    env.task("second", 1, &[], None).await;
    for t in ["first", "second"] {
        env.patch_task(t, json!({"phase": "Pending"})).await;
    }
    // Both see the same state and go for the same task: one write wins, the other gets 409.
    let (a, b) = (env.start(), env.start());
    env.wait_task("first", "first Scheduled", |t| phase(t) == "Scheduled")
        .await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(phase(&env.task_json("second").await), "Pending");
    stop(a).await;
    stop(b).await;
    env.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keeps_scheduling_across_an_apiserver_restart() {
    let api = tokio::task::spawn_blocking(|| {
        retried("start a private apiserver", PrivateApiserver::start)
    })
    .await
    .unwrap();
    kubectl_at(&api.kubeconfig(), &["create", "namespace", "restart"], None);
    let env = Env::at(api.kubeconfig(), "restart".into()).await;
    env.node("a", "Ready", 0, None).await;
    env.node("b", "Ready", 0, None).await;
    env.task("before", 0, &[], None).await;
    let sched = env.start();
    env.wait_task("before", "before Scheduled", |t| phase(t) == "Scheduled")
        .await;

    // The watches break; the scheduler keeps running and reconnects with backoff.
    let api = tokio::task::spawn_blocking(move || {
        api.stop_apiserver();
        std::thread::sleep(Duration::from_secs(2));
        retried("restart the apiserver", || api.restart());
        api
    })
    .await
    .unwrap();
    env.task("after", 0, &[], None).await;
    let t = env
        .wait_task("after", "after Scheduled", |t| phase(t) == "Scheduled")
        .await;
    assert_eq!(t["status"]["assignedNode"], env.node_name("b").as_str());
    stop(sched).await;
    drop(api);
}

fn foreman(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_foreman"))
        .args(args)
        .env_remove("KUBECONFIG")
        .output()
        .expect("foreman runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn once_takes_a_new_task_to_scheduled_and_exits() {
    let env = Env::new("sched-once").await;
    env.node("a", "Ready", 0, None).await;
    env.node("b-stale", "Ready", 120, None).await;
    env.agent("coder").await;
    env.task("fresh", 0, &[], Some("coder")).await;
    let (code, stderr) = tokio::task::spawn_blocking({
        let (kc, ns, sel) = (
            env.kubeconfig.display().to_string(),
            env.ns.clone(),
            env.selector(),
        );
        move || {
            foreman(&[
                "scheduler",
                "--kubeconfig",
                &kc,
                "--namespace",
                &ns,
                "--node-selector",
                &sel,
                "--once",
            ])
        }
    })
    .await
    .unwrap();
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("scheduled 1, failed 0, marked 1 FleetNode(s) NotReady"),
        "{stderr}"
    );
    // No status at first: "" → Pending → Scheduled within the one invocation.
    let t = env.task_json("fresh").await;
    assert_eq!(phase(&t), "Scheduled", "{t:#}");
    assert_eq!(t["status"]["assignedNode"], env.node_name("a").as_str());
    assert_eq!(phase(&env.node_json("b-stale").await), "NotReady");
    env.cleanup().await;
}

/// An HTTP "apiserver" that answers 404 to everything: a cluster without the CRDs.
fn fake_apiserver_without_crds() -> u16 {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for mut conn in listener.incoming().flatten() {
            let mut buf = [0u8; 4096];
            let _ = conn.read(&mut buf);
            let body = r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"the server could not find the requested resource","reason":"NotFound","details":{},"code":404}"#;
            let _ = write!(
                conn,
                "HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    port
}

#[test]
fn unreachable_cluster_and_missing_crds_exit_1_with_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let kc = |name: &str, server: &str| {
        let p = dir.path().join(name);
        std::fs::write(
            &p,
            format!(
                "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {{server: \"{server}\"}}\nusers:\n- name: u\n  user: {{token: t}}\ncontexts:\n- name: c\n  context: {{cluster: c, user: u}}\ncurrent-context: c\n"
            ),
        )
        .unwrap();
        p.display().to_string()
    };
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let down = kc("down", &format!("https://127.0.0.1:{closed}"));
    for once in [true, false] {
        let mut args = vec!["scheduler", "--kubeconfig", &down];
        if once {
            args.push("--once");
        }
        let (code, stderr) = foreman(&args);
        assert_eq!(code, 1, "{stderr}");
        assert!(
            stderr.contains("error: cannot reach the cluster"),
            "{stderr}"
        );
    }
    let port = fake_apiserver_without_crds();
    let bare = kc("bare", &format!("http://127.0.0.1:{port}"));
    let (code, stderr) = foreman(&["scheduler", "--kubeconfig", &bare]);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("CRDs are not installed")
            && stderr.contains("foreman crds | kubectl apply -f -"),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_concurrent_tasks_holds_the_agents_next_task_until_a_slot_frees() {
    let env = Env::new("sched-maxc").await;
    env.node("a", "Ready", 0, None).await;
    env.node("b", "Ready", 0, None).await;
    env.bounded_agent("coder", 1).await;
    env.task("first", 10, &[], Some("coder")).await;
    env.task("second", 1, &[], Some("coder")).await;
    let sched = env.start();

    env.wait_task("first", "first Scheduled", |t| phase(t) == "Scheduled")
        .await;
    // A node is free, but the Agent's one slot is taken: `second` stays Pending.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(phase(&env.task_json("second").await), "Pending");
    env.patch_task("first", json!({"phase": "Running"})).await;
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(phase(&env.task_json("second").await), "Pending");
    env.patch_task("first", json!({"phase": "Succeeded", "verdict": "GO"}))
        .await;
    env.wait_task("second", "second Scheduled once the slot frees", |t| {
        phase(t) == "Scheduled"
    })
    .await;
    stop(sched).await;
    env.cleanup().await;
}
