#![cfg(feature = "e2e")]
//! The cluster agent (`cluster::worker`, `foreman agent`) against a real kube-apiserver:
//! lifecycle with a real executor run, heartbeat and drain, two agents racing one claim,
//! an apiserver restart mid-run, orphan recovery after kill -9, the transcript ConfigMap,
//! and the host-override endpoint with a changed Endpoints port.
//!
//!   scripts/k8s.sh start /tmp/k8s
//!   FOREMAN_E2E_KUBECONFIG=/tmp/k8s/kubeconfig cargo test --features e2e --test e2e_cluster_agent

mod common;

use common::k8s::{PrivateApiserver, kubectl_at, retried, shared_namespace};
use common::scripted_oai::{Reply, ScriptedServer};
use common::{git, seed_bare};
use foreman::api::{Agent, AgenticTask, FleetNode, FleetNodePhase, Object, TaskPhase, Verdict};
use foreman::k8s::worker::endpoint::{self, EndpointConfig};
use foreman::k8s::worker::node::NodeConfig;
use foreman::k8s::worker::tasks::{self, ClaimError};
use foreman::k8s::worker::{self, WorkerConfig, WorkerEvent, WorkerHandle};
use foreman::k8s::{Cluster, ClusterArgs, connect};
use foreman::workspace::Identity;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::Api;
use kube::api::{Patch, PatchParams, PostParams};
use serde_json::{Value, json};
use std::path::Path;
use std::time::Duration;
use tokio::sync::mpsc;

async fn cluster(kc: &Path, ns: &str) -> Cluster {
    connect(&ClusterArgs {
        kubeconfig: Some(kc.to_path_buf()),
        context: None,
        namespace: Some(ns.into()),
    })
    .await
    .unwrap()
}

fn object(yaml: &str) -> Object {
    foreman::api::load_str("test", yaml).unwrap().remove(0)
}

fn agent_yaml(ns: &str) -> String {
    format!(
        "apiVersion: foreman.llmkube.dev/v1alpha1\nkind: Agent\nmetadata: {{name: coder, namespace: {ns}}}\nspec:\n  role: coder\n  maxRetries: 0\n  inferenceServiceRef: {{name: coder.model}}\n  tools: [read_file, write_file, str_replace, grep, bash, submit_result]\n"
    )
}

fn task_yaml(ns: &str, name: &str, issue: u32) -> String {
    format!(
        "apiVersion: foreman.llmkube.dev/v1alpha1\nkind: AgenticTask\nmetadata: {{name: {name}, namespace: {ns}}}\nspec:\n  kind: issue-fix\n  agentRef: {{name: coder}}\n  payload: {{repo: acme/fleet, issue: {issue}, prompt: \"Fix the typo in README\"}}\n"
    )
}

async fn create_agent(c: &Cluster) {
    let Object::Agent(a) = object(&agent_yaml(&c.namespace)) else {
        panic!()
    };
    let api: Api<Agent> = Api::namespaced(c.client.clone(), &c.namespace);
    api.create(&PostParams::default(), &a).await.unwrap();
}

async fn create_task(c: &Cluster, name: &str, issue: u32) -> AgenticTask {
    let Object::Task(t) = object(&task_yaml(&c.namespace, name, issue)) else {
        panic!()
    };
    tasks_api(c)
        .create(&PostParams::default(), &t)
        .await
        .unwrap()
}

fn tasks_api(c: &Cluster) -> Api<AgenticTask> {
    Api::namespaced(c.client.clone(), &c.namespace)
}

/// What a scheduler does: Pending, then Scheduled to `node`.
async fn schedule(c: &Cluster, name: &str, node: &str) {
    let api = tasks_api(c);
    for st in [
        json!({"status": {"phase": "Pending"}}),
        json!({"status": {"phase": "Scheduled", "assignedNode": node}}),
    ] {
        api.patch_status(name, &PatchParams::default(), &Patch::Merge(&st))
            .await
            .unwrap();
    }
}

async fn wait_for<T, F, Fut>(what: &str, secs: u64, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out after {secs}s waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
}

async fn task_where(
    c: &Cluster,
    name: &str,
    secs: u64,
    pred: impl Fn(&AgenticTask) -> bool,
) -> AgenticTask {
    let api = tasks_api(c);
    wait_for(&format!("task {name}"), secs, || {
        let api = api.clone();
        let pred = &pred;
        async move { api.get(name).await.ok().filter(|t| pred(t)) }
    })
    .await
}

async fn node_where(
    c: &Cluster,
    name: &str,
    secs: u64,
    pred: impl Fn(&FleetNode) -> bool,
) -> FleetNode {
    let api: Api<FleetNode> = Api::all(c.client.clone());
    wait_for(&format!("FleetNode {name}"), secs, || {
        let api = api.clone();
        let pred = &pred;
        async move { api.get(name).await.ok().filter(|n| pred(n)) }
    })
    .await
}

fn phase(t: &AgenticTask) -> Option<TaskPhase> {
    t.status.as_ref().and_then(|s| s.phase)
}

fn reason(t: &AgenticTask, type_: &str) -> String {
    t.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .and_then(|cs| cs.iter().find(|c| c.type_ == type_))
        .map(|c| c.reason.clone())
        .unwrap_or_default()
}

fn node_name(ns: &str, n: &str) -> String {
    format!("{ns}-{n}")
}

fn worker_cfg(node: &str, ns: &str, root: &Path) -> WorkerConfig {
    let mut cfg = WorkerConfig::new(
        NodeConfig {
            name: node.into(),
            roles: vec!["worker".into()],
            labels: [("foreman-e2e".to_string(), ns.to_string())].into(),
            total_ram_gb: 64,
            max_context_tokens: 32768,
            ..Default::default()
        },
        Identity {
            name: "Foreman Bot".into(),
            email: "bot@example.com".into(),
        },
        root.join("ws"),
    );
    cfg.journal_dir = root.join("journals");
    cfg.task_namespace = Some(ns.into());
    cfg.heartbeat_every = Duration::from_secs(1);
    cfg.rescan_every = Duration::from_millis(500);
    cfg.transcript_every = Duration::from_millis(200);
    cfg.terminal_budget = Duration::from_secs(120);
    cfg
}

fn start(c: &Cluster, cfg: WorkerConfig) -> (WorkerHandle, mpsc::UnboundedReceiver<WorkerEvent>) {
    let (tx, rx) = mpsc::unbounded_channel();
    (worker::spawn(c.clone(), cfg, tx), rx)
}

fn drain(rx: &mut mpsc::UnboundedReceiver<WorkerEvent>) -> Vec<WorkerEvent> {
    let mut v = Vec::new();
    while let Ok(e) = rx.try_recv() {
        v.push(e);
    }
    v
}

async fn node(c: &Cluster, name: &str) -> FleetNode {
    let api: Api<FleetNode> = Api::all(c.client.clone());
    api.get(name).await.unwrap()
}

fn node_phase(n: &FleetNode) -> Option<FleetNodePhase> {
    n.status.as_ref().and_then(|s| s.phase)
}

fn current_task(n: &FleetNode) -> Option<String> {
    n.status.as_ref().and_then(|s| s.current_task.clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_goes_pending_scheduled_running_succeeded_with_a_real_run_and_live_transcript() {
    let (kc, ns) = shared_namespace("agent-life");
    let c = cluster(&kc, &ns).await;
    let dir = tempfile::tempdir().unwrap();
    let bare = seed_bare(
        dir.path(),
        "acme/fleet.git",
        &[("README.md", "# Fleet\nteh fleet\n")],
    );
    let server = ScriptedServer::start(vec![
        Reply::tool_call(
            "str_replace",
            r#"{"path":"README.md","old_string":"teh","new_string":"the"}"#,
        ),
        // A slow tool call keeps the run going while the test looks at it.
        Reply::tool_call("bash", r#"{"command":"sleep 6; echo slept"}"#),
        Reply::tool_call(
            "submit_result",
            json!({"verdict":"GO","summary":"fixed the typo","commit_message":"docs: fix typo\n\nFixes #7"}).to_string(),
        ),
    ])
    .unwrap();
    create_agent(&c).await;
    let created = create_task(&c, "fix-7", 7).await;
    let me = node_name(&ns, "life");
    let mut cfg = worker_cfg(&me, &ns, dir.path());
    cfg.endpoint = EndpointConfig {
        base_url_override: Some(format!("{}/", server.base_url())),
        host_override: None,
        fallback_base_url: None,
    };
    cfg.git_remote_url = Some(bare.display().to_string());
    let (h, mut rx) = start(&c, cfg);

    node_where(&c, &me, 20, |n| {
        node_phase(n) == Some(FleetNodePhase::Ready)
    })
    .await;
    // The real scheduler (partitioned to this test's node) takes it Pending → Scheduled; a
    // watch records every phase the task goes through.
    let sched_cfg = foreman::k8s::scheduler::SchedulerConfig {
        task_namespace: Some(ns.clone()),
        scope: foreman::k8s::scheduler::Scope {
            node_selector: format!("foreman-e2e={ns}").parse().unwrap(),
            ..Default::default()
        },
        ..Default::default()
    };
    let (sched_stop, sched_stopped) = tokio::sync::oneshot::channel::<()>();
    let sched = tokio::spawn(foreman::k8s::scheduler::run(
        c.client.clone(),
        sched_cfg,
        async move {
            let _ = sched_stopped.await;
        },
    ));
    let phases = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let recorder = {
        use futures_util::StreamExt;
        use kube::runtime::WatchStreamExt;
        let (api, phases) = (tasks_api(&c), phases.clone());
        tokio::spawn(async move {
            let cfg = kube::runtime::watcher::Config::default().fields("metadata.name=fix-7");
            let mut s = kube::runtime::watcher(api, cfg).applied_objects().boxed();
            while let Some(Ok(t)) = s.next().await {
                let p = phase(&t).map_or("".to_string(), |p| p.as_str().to_string());
                let mut v = phases.lock().unwrap();
                if v.last() != Some(&p) {
                    v.push(p);
                }
            }
        })
    };

    let running = task_where(&c, "fix-7", 30, |t| phase(t) == Some(TaskPhase::Running)).await;
    assert_eq!(reason(&running, "Running"), "Claimed");
    // currentTask follows the claim (upstream never wrote it, #977).
    let want = format!("{ns}/fix-7");
    node_where(&c, &me, 20, |n| current_task(n).as_ref() == Some(&want)).await;

    // The transcript ConfigMap appears while the task is still Running (the bash sleep).
    let cms: Api<ConfigMap> = Api::namespaced(c.client.clone(), &ns);
    let live = wait_for("live transcript ConfigMap", 20, || {
        let cms = cms.clone();
        async move {
            cms.get_opt("foreman-transcript-fix-7")
                .await
                .ok()
                .flatten()
                .filter(|cm| {
                    cm.data
                        .as_ref()
                        .is_some_and(|d| d["transcript.json"].contains("str_replace"))
                })
        }
    })
    .await;
    let during = tasks_api(&c).get("fix-7").await.unwrap();
    assert_eq!(
        phase(&during),
        Some(TaskPhase::Running),
        "the ConfigMap must be written during the run"
    );
    let _ = live;

    let done = task_where(&c, "fix-7", 60, |t| phase(t) == Some(TaskPhase::Succeeded)).await;
    let s = done.status.clone().unwrap();
    assert_eq!(s.verdict, Some(Verdict::Go));
    assert_eq!(s.branch.as_deref(), Some("foreman/issue-7"));
    let sha = git(&bare, &["rev-parse", "foreman/issue-7"]);
    assert_eq!(s.commit_sha.as_deref(), Some(sha.trim()));
    assert_eq!(
        s.transcript_ref.as_deref(),
        Some("configmap/foreman-transcript-fix-7")
    );
    let result = s.result.unwrap();
    assert_eq!(
        result["extra"]["transcriptRef"],
        json!({"kind":"ConfigMap","apiVersion":"v1","namespace": ns,"name":"foreman-transcript-fix-7"})
    );
    assert_eq!(reason(&done, "Completed"), "ExecutorSucceeded");

    // Final ConfigMap: labels, ownerRef to the task's uid, both documents.
    let cm = cms.get("foreman-transcript-fix-7").await.unwrap();
    let labels = cm.metadata.labels.clone().unwrap();
    assert_eq!(labels["foreman.llmkube.dev/transcript-of"], "fix-7");
    assert_eq!(labels["app.kubernetes.io/part-of"], "foreman");
    let owner = &cm.metadata.owner_references.clone().unwrap()[0];
    assert_eq!(owner.uid, created.metadata.uid.clone().unwrap());
    assert_eq!(
        (owner.kind.as_str(), owner.api_version.as_str()),
        ("AgenticTask", "foreman.llmkube.dev/v1alpha1")
    );
    assert_eq!(
        (owner.controller, owner.block_owner_deletion),
        (Some(true), Some(true))
    );
    let data = cm.data.unwrap();
    let doc: Value = serde_json::from_str(&data["transcript.json"]).unwrap();
    assert_eq!(doc["schemaVersion"], "foreman.transcript.v1");
    let msgs = doc["messages"].as_array().unwrap();
    assert_eq!(msgs[0]["role"], "system");
    assert!(
        msgs[1]["content"]
            .as_str()
            .unwrap()
            .contains("Fix the typo")
    );
    assert!(data["transcript.json"].contains("submit_result"));
    let meta: Value = serde_json::from_str(&data["meta.json"]).unwrap();
    assert_eq!(
        meta["bytesStored"].as_u64().unwrap() as usize,
        data["transcript.json"].len()
    );
    assert_eq!(meta["turnCount"], doc["turnCount"]);

    // currentTask is cleared after the run.
    node_where(&c, &me, 20, |n| current_task(n).is_none()).await;
    let _ = sched_stop.send(());
    sched.await.unwrap().unwrap();
    recorder.abort();
    let seen = phases.lock().unwrap().clone();
    let seen: Vec<&str> = seen
        .iter()
        .map(String::as_str)
        .filter(|p| !p.is_empty())
        .collect();
    assert_eq!(seen, ["Pending", "Scheduled", "Running", "Succeeded"]);
    h.shutdown().await.unwrap();
    let events = drain(&mut rx);
    assert!(
        events
            .iter()
            .any(|e| matches!(e, WorkerEvent::Claimed(k) if k.name == "fix-7"))
    );
    assert!(events.iter().any(
        |e| matches!(e, WorkerEvent::Finished { task, outcome: Ok(v) } if task.name == "fix-7" && v == "GO")
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_node_heartbeats_with_capability_and_drains_on_shutdown() {
    let (kc, ns) = shared_namespace("agent-hb");
    let c = cluster(&kc, &ns).await;
    let dir = tempfile::tempdir().unwrap();
    let me = node_name(&ns, "hb");
    let mut cfg = worker_cfg(&me, &ns, dir.path());
    cfg.stub_sleep = Some(Duration::from_millis(100));
    let (h, _rx) = start(&c, cfg);
    let first = node_where(&c, &me, 20, |n| {
        n.status
            .as_ref()
            .is_some_and(|s| s.last_heartbeat_time.is_some())
    })
    .await;
    let s = first.status.clone().unwrap();
    assert_eq!(s.phase, Some(FleetNodePhase::Ready));
    let cap = s.capability.unwrap();
    assert_eq!(
        (cap.total_ram_gb, cap.max_context_tokens),
        (Some(64), Some(32768))
    );
    assert_eq!(first.spec.roles, Some(vec!["worker".to_string()]));
    assert_eq!(first.metadata.labels.unwrap()["foreman-e2e"], ns);
    let t0 = s.last_heartbeat_time.unwrap().0;
    // A later heartbeat moves the time forward (1 s interval, second resolution).
    node_where(&c, &me, 20, |n| {
        n.status
            .as_ref()
            .and_then(|s| s.last_heartbeat_time.as_ref())
            .is_some_and(|t| t.0 > t0)
    })
    .await;
    h.shutdown().await.unwrap();
    let n = node(&c, &me).await;
    assert_eq!(node_phase(&n), Some(FleetNodePhase::Draining));
}

/// With no name and no RAM flag the node is this machine as the OS reports it: gethostname(2)
/// sanitized like upstream, total and available RAM from the memory probe (issue 17).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unnamed_node_registers_under_the_host_name_with_the_probed_memory() {
    use foreman::fleet::host::{hostname, local_node_name, node_name, probe_memory};
    let (kc, ns) = shared_namespace("agent-host");
    let c = cluster(&kc, &ns).await;
    let dir = tempfile::tempdir().unwrap();
    let me = local_node_name(None);
    assert_eq!(me, node_name(&hostname()));
    let mut cfg = worker_cfg(&me, &ns, dir.path());
    cfg.node.total_ram_gb = 0;
    cfg.stub_sleep = Some(Duration::from_millis(100));
    let before = probe_memory();
    let (h, _rx) = start(&c, cfg);
    let n = node_where(&c, &me, 20, |n| {
        n.status.as_ref().is_some_and(|s| s.capability.is_some())
    })
    .await;
    let after = probe_memory();
    h.shutdown().await.unwrap();
    let api: Api<FleetNode> = Api::all(c.client.clone());
    let _ = api.delete(&me, &Default::default()).await;
    assert_eq!(n.spec.node_name, me);
    let cap = n.status.unwrap().capability.unwrap();
    assert_eq!(cap.total_ram_gb, before.0);
    assert!(cap.total_ram_gb.is_some_and(|t| t > 0));
    // Available RAM moves while the test runs: between the probes before and after, ±1 GiB.
    let (lo, hi) = (
        before.1.unwrap().min(after.1.unwrap()),
        before.1.unwrap().max(after.1.unwrap()),
    );
    let avail = cap.available_ram_gb.unwrap();
    assert!(
        (lo - 1..=hi + 1).contains(&avail),
        "{avail} not in {lo}..={hi}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_agents_racing_one_claim_exactly_one_wins() {
    let (kc, ns) = shared_namespace("agent-race");
    let c = cluster(&kc, &ns).await;
    let me = node_name(&ns, "race");
    // Direct race: both agents read the same version and claim at once.
    for round in 0..5 {
        let name = format!("race-{round}");
        create_task(&c, &name, 1).await;
        schedule(&c, &name, &me).await;
        let seen = tasks_api(&c).get(&name).await.unwrap();
        let (a, b) = (cluster(&kc, &ns).await, cluster(&kc, &ns).await);
        let (api_a, api_b) = (tasks_api(&a), tasks_api(&b));
        let (ra, rb) = tokio::join!(
            tasks::claim(&api_a, &seen, &me),
            tasks::claim(&api_b, &seen, &me)
        );
        let wins = [ra.is_ok(), rb.is_ok()].iter().filter(|w| **w).count();
        assert_eq!(wins, 1, "round {round}: exactly one claim must win");
        let loser = if ra.is_ok() { rb } else { ra };
        assert!(matches!(loser, Err(ClaimError::Lost(_))), "{loser:?}");
        let after = tasks_api(&c).get(&name).await.unwrap();
        assert_eq!(phase(&after), Some(TaskPhase::Running));
    }

    // Two whole workers on one node name: every task is claimed exactly once.
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = worker_cfg(&me, &ns, dir.path());
    cfg.stub_sleep = Some(Duration::from_millis(300));
    cfg.task_namespace = Some(ns.clone());
    let (h1, mut rx1) = start(&c, cfg.clone());
    let (h2, mut rx2) = start(&c, cfg);
    tokio::time::sleep(Duration::from_secs(1)).await;
    for i in 0..4 {
        let name = format!("pair-{i}");
        create_task(&c, &name, 1).await;
        schedule(&c, &name, &me).await;
    }
    for i in 0..4 {
        task_where(&c, &format!("pair-{i}"), 60, |t| {
            phase(t) == Some(TaskPhase::Succeeded)
        })
        .await;
    }
    h1.shutdown().await.unwrap();
    h2.shutdown().await.unwrap();
    let mut claims: Vec<String> = drain(&mut rx1)
        .into_iter()
        .chain(drain(&mut rx2))
        .filter_map(|e| match e {
            WorkerEvent::Claimed(k) if k.name.starts_with("pair-") => Some(k.name),
            _ => None,
        })
        .collect();
    claims.sort();
    assert_eq!(claims, ["pair-0", "pair-1", "pair-2", "pair-3"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_finishing_while_the_apiserver_restarts_still_lands_its_status() {
    let api = retried("start a private apiserver", PrivateApiserver::start);
    let kc = api.kubeconfig();
    let ns = "restart";
    kubectl_at(&kc, &["create", "namespace", ns], None);
    let c = cluster(&kc, ns).await;
    let dir = tempfile::tempdir().unwrap();
    let me = "restart-node".to_string();
    let mut cfg = worker_cfg(&me, ns, dir.path());
    cfg.stub_sleep = Some(Duration::from_secs(4));
    let (h, mut rx) = start(&c, cfg);
    node_where(&c, &me, 20, |_| true).await;
    create_task(&c, "survivor", 3).await;
    schedule(&c, "survivor", &me).await;
    task_where(&c, "survivor", 30, |t| phase(t) == Some(TaskPhase::Running)).await;
    // Down before the run ends (4 s), up again after it ended.
    tokio::task::block_in_place(|| api.stop_apiserver());
    tokio::time::sleep(Duration::from_secs(7)).await;
    let finished_early = drain(&mut rx)
        .into_iter()
        .any(|e| matches!(e, WorkerEvent::Finished { .. }));
    assert!(
        !finished_early,
        "the status cannot have landed while the apiserver was down"
    );
    tokio::task::block_in_place(|| retried("restart the apiserver", || api.restart()));
    // The worker keeps retrying for its terminal budget (300 s) with backoff up to 5 s; on a
    // loaded 2-core CI the restarted apiserver (and etcd) can take a minute to serve again.
    let done = task_where(&c, "survivor", 240, |t| {
        phase(t) == Some(TaskPhase::Succeeded)
    })
    .await;
    assert_eq!(done.status.unwrap().verdict, Some(Verdict::Go));
    h.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orphaned_running_tasks_are_requeued_after_kill_9() {
    let (kc, ns) = shared_namespace("agent-orphan");
    let c = cluster(&kc, &ns).await;
    let me = node_name(&ns, "orphan");
    let dir = tempfile::tempdir().unwrap();
    let spawn_agent = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_foreman"))
            .args([
                "agent",
                "--kubeconfig",
                kc.to_str().unwrap(),
                "-task-namespace",
                &ns,
                "-fleet-node-name",
                &me,
                "-agent-mode=stub",
                "--stub-sleep",
                "10m",
                "--heartbeat-interval",
                "1s",
                "--task-poll-interval",
                "500ms",
                "--workspace-dir",
                dir.path().to_str().unwrap(),
            ])
            .env("HOME", dir.path())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap()
    };
    let mut first = spawn_agent();
    create_task(&c, "orphan", 5).await;
    node_where(&c, &me, 30, |_| true).await;
    schedule(&c, "orphan", &me).await;
    task_where(&c, "orphan", 30, |t| phase(t) == Some(TaskPhase::Running)).await;
    common::signal(first.id() as i32, libc::SIGKILL);
    first.wait().unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let stuck = tasks_api(&c).get("orphan").await.unwrap();
    assert_eq!(
        phase(&stuck),
        Some(TaskPhase::Running),
        "kill -9 leaves it Running"
    );

    let mut second = spawn_agent();
    let recovered = task_where(&c, "orphan", 30, |t| phase(t) == Some(TaskPhase::Pending)).await;
    assert_eq!(reason(&recovered, "Running"), "AgentRestartRecovery");
    assert_eq!(recovered.status.unwrap().assigned_node, None);
    // A graceful stop drains the node.
    common::signal(second.id() as i32, libc::SIGTERM);
    let status = second.wait().unwrap();
    assert!(status.success(), "{status:?}");
    assert_eq!(
        node_phase(&node(&c, &me).await),
        Some(FleetNodePhase::Draining)
    );
}

/// A minimal `inference.llmkube.dev` InferenceService CRD (LLMKube's core operator owns the
/// real one); enough for the resolver's GET of `status.endpoint`.
const ISVC_CRD: &str = r#"
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: inferenceservices.inference.llmkube.dev}
spec:
  group: inference.llmkube.dev
  names: {kind: InferenceService, plural: inferenceservices, singular: inferenceservice}
  scope: Namespaced
  versions:
  - name: v1alpha1
    served: true
    storage: true
    subresources: {status: {}}
    schema:
      openAPIV3Schema:
        type: object
        x-kubernetes-preserve-unknown-fields: true
"#;

fn endpoints_yaml(ns: &str, port: u16) -> String {
    format!(
        "apiVersion: v1\nkind: Endpoints\nmetadata: {{name: coder-model, namespace: {ns}}}\nsubsets:\n- addresses: [{{ip: 10.0.0.9}}]\n  ports: [{{port: {port}, name: http}}]\n"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_host_override_reads_the_live_endpoints_port_on_every_dispatch() {
    let (kc, ns) = shared_namespace("agent-ep");
    kubectl_at(&kc, &["apply", "-f", "-"], Some(ISVC_CRD));
    kubectl_at(
        &kc,
        &[
            "wait",
            "--for=condition=Established",
            "--timeout=60s",
            "crd/inferenceservices.inference.llmkube.dev",
        ],
        None,
    );
    let c = cluster(&kc, &ns).await;
    let Object::Agent(agent) = object(&agent_yaml(&ns)) else {
        panic!()
    };
    let cfg = EndpointConfig {
        base_url_override: None,
        host_override: Some("127.0.0.1".into()),
        fallback_base_url: None,
    };
    // No InferenceService yet.
    let err = endpoint::resolve(&c.client, &ns, &agent, &cfg)
        .await
        .unwrap_err();
    assert!(err.contains("InferenceService"), "{err}");
    kubectl_at(
        &kc,
        &["apply", "-n", &ns, "-f", "-"],
        Some(
            "apiVersion: inference.llmkube.dev/v1alpha1\nkind: InferenceService\nmetadata: {name: coder.model}\nspec: {}\n",
        ),
    );
    let isvcs: Api<kube::api::DynamicObject> = Api::namespaced_with(
        c.client.clone(),
        &ns,
        &kube::api::ApiResource::from_gvk_with_plural(
            &kube::api::GroupVersionKind::gvk(
                "inference.llmkube.dev",
                "v1alpha1",
                "InferenceService",
            ),
            "inferenceservices",
        ),
    );
    let err = endpoint::resolve(&c.client, &ns, &agent, &cfg)
        .await
        .unwrap_err();
    assert!(err.contains("no status.endpoint"), "{err}");
    isvcs
        .patch_status(
            "coder.model",
            &PatchParams::default(),
            &Patch::Merge(&json!({"status": {"endpoint": format!("http://coder-model.{ns}.svc.cluster.local:8080/v1/chat/completions")}})),
        )
        .await
        .unwrap();
    // Without the host override: the in-cluster URL.
    let plain = endpoint::resolve(&c.client, &ns, &agent, &EndpointConfig::default())
        .await
        .unwrap();
    assert_eq!(
        plain,
        format!("http://coder-model.{ns}.svc.cluster.local:8080/v1")
    );
    // Endpoints missing.
    let err = endpoint::resolve(&c.client, &ns, &agent, &cfg)
        .await
        .unwrap_err();
    assert!(err.contains("for host-override resolution"), "{err}");

    // A real run through the host override reaches the server on the Endpoints port; after
    // the port changes (a respawned llama-server) the next dispatch follows it.
    let dir = tempfile::tempdir().unwrap();
    let bare = seed_bare(dir.path(), "acme/fleet.git", &[("README.md", "teh\n")]);
    let nogo = || {
        Reply::tool_call(
            "submit_result",
            json!({"verdict":"NO-GO","summary":"nothing to do"}).to_string(),
        )
    };
    let first = ScriptedServer::start(vec![nogo()]).unwrap();
    let second = ScriptedServer::start(vec![nogo()]).unwrap();
    let port_of = |s: &ScriptedServer| -> u16 {
        s.base_url()
            .trim_start_matches("http://127.0.0.1:")
            .trim_end_matches("/v1")
            .parse()
            .unwrap()
    };
    kubectl_at(
        &kc,
        &["apply", "-f", "-"],
        Some(&endpoints_yaml(&ns, port_of(&first))),
    );
    assert_eq!(
        endpoint::resolve(&c.client, &ns, &agent, &cfg)
            .await
            .unwrap(),
        format!("http://127.0.0.1:{}/v1", port_of(&first))
    );
    create_agent(&c).await;
    let me = node_name(&ns, "ep");
    let mut wcfg = worker_cfg(&me, &ns, dir.path());
    wcfg.endpoint = cfg.clone();
    wcfg.git_remote_url = Some(bare.display().to_string());
    let (h, _rx) = start(&c, wcfg);
    create_task(&c, "ep-1", 1).await;
    schedule(&c, "ep-1", &me).await;
    let t1 = task_where(&c, "ep-1", 60, |t| phase(t) == Some(TaskPhase::Succeeded)).await;
    assert_eq!(t1.status.unwrap().verdict, Some(Verdict::NoGo));
    assert_eq!(first.requests().len(), 1);

    kubectl_at(
        &kc,
        &["apply", "-f", "-"],
        Some(&endpoints_yaml(&ns, port_of(&second))),
    );
    create_task(&c, "ep-2", 2).await;
    schedule(&c, "ep-2", &me).await;
    let t2 = task_where(&c, "ep-2", 60, |t| phase(t) == Some(TaskPhase::Succeeded)).await;
    assert_eq!(t2.status.unwrap().verdict, Some(Verdict::NoGo));
    assert_eq!(
        second.requests().len(),
        1,
        "the second dispatch follows the new port"
    );
    assert_eq!(first.requests().len(), 1);

    // Endpoints gone: the task's Result says InferenceServiceUnavailable with the reason.
    kubectl_at(
        &kc,
        &["delete", "endpoints", "coder-model", "-n", &ns],
        None,
    );
    create_task(&c, "ep-3", 3).await;
    schedule(&c, "ep-3", &me).await;
    let t3 = task_where(&c, "ep-3", 60, |t| phase(t) == Some(TaskPhase::Succeeded)).await;
    let s3 = t3.status.unwrap();
    assert_eq!(s3.verdict, Some(Verdict::Incomplete));
    let r3 = s3.result.unwrap();
    assert_eq!(r3["extra"]["outcome"], "EXECUTOR-PRECONDITION-FAILED");
    assert_eq!(r3["extra"]["reason"], "InferenceServiceUnavailable");
    assert!(
        r3["summary"].as_str().unwrap().contains("host-override")
            || r3["extra"]["error"].to_string().contains("host-override"),
        "{r3}"
    );
    h.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cloud_proxy_key_is_read_from_the_tasks_namespace_secret() {
    use foreman::executor::run::ProviderKey;
    use foreman::k8s::worker::secret::provider_key;
    use k8s_openapi::api::core::v1::Secret;
    let (kc, ns) = shared_namespace("agent-secret");
    let c = cluster(&kc, &ns).await;
    let yaml = format!(
        "apiVersion: foreman.llmkube.dev/v1alpha1\nkind: Agent\nmetadata: {{name: proxy, namespace: {ns}}}\nspec:\n  role: coder\n  tools: [bash]\n  provider: cloud-proxy\n  providerConfig:\n    baseURL: https://proxy.example/v1\n    model: gpt\n    apiKeySecretRef: {{name: proxy-key, key: token}}\n"
    );
    let Object::Agent(agent) = object(&yaml) else {
        panic!()
    };
    let key = "sk-cluster-SECRET-77";
    // No Secret yet: named, without a value.
    let ProviderKey::Fetched(Err(e)) = provider_key(&c.client, &ns, &agent).await else {
        panic!("a missing Secret must be an error")
    };
    assert!(
        e.contains("proxy-key") && e.contains("does not exist"),
        "{e}"
    );
    let secrets: Api<Secret> = Api::namespaced(c.client.clone(), &ns);
    let s: Secret = serde_json::from_value(json!({
        "metadata": {"name": "proxy-key"},
        "stringData": {"token": format!("{key}\n"), "other": "x"},
    }))
    .unwrap();
    secrets.create(&PostParams::default(), &s).await.unwrap();
    let ProviderKey::Fetched(Ok(got)) = provider_key(&c.client, &ns, &agent).await else {
        panic!("the Secret's key must be read")
    };
    assert_eq!(got.expose(), key, "trimmed, as upstream");
    assert!(!format!("{got:?}").contains(key));
    // A Secret without the named key.
    secrets
        .patch(
            "proxy-key",
            &PatchParams::default(),
            &Patch::Merge(json!({"data": {"token": null}})),
        )
        .await
        .unwrap();
    let ProviderKey::Fetched(Err(e)) = provider_key(&c.client, &ns, &agent).await else {
        panic!("a Secret without the key must be an error")
    };
    assert!(
        e.contains("no value for the key") && !e.contains(key),
        "{e}"
    );
}
