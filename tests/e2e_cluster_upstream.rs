#![cfg(feature = "e2e")]
//! Drop-in parity on a real kube-apiserver running upstream LLMKube's own Foreman CRDs
//! (P550 43516088 and HEAD 907ac8d8, tests/fixtures/upstream/), each on a private apiserver:
//! our scheduler and agent take a task Pending → Scheduled → Running → Succeeded/GO with
//! every status write accepted by upstream's schema, and upstream's example manifests are
//! accepted or rejected exactly as under `foreman crds` (on the shared apiserver), with the
//! same stored spec (defaults included) under HEAD's.
//!
//! The 1.20 testbed refuses upstream's `default: ""` entries, so `install_upstream_crds`
//! drops them on the way in (see its doc); nothing else in upstream's files is changed.
//!
//!   scripts/k8s.sh start /tmp/k8s
//!   FOREMAN_E2E_KUBECONFIG=/tmp/k8s/kubeconfig cargo test --features e2e --test e2e_cluster_upstream

mod common;

use common::k8s::{PrivateApiserver, install_upstream_crds, kubectl_at, retried, shared_namespace};
use common::scripted_oai::{Reply, ScriptedServer};
use common::{git, seed_bare};
use foreman::api::{AgenticTask, FleetNode, FleetNodePhase, Object, TaskPhase, Verdict};
use foreman::k8s::worker::endpoint::EndpointConfig;
use foreman::k8s::worker::node::NodeConfig;
use foreman::k8s::worker::{self, WorkerConfig};
use foreman::k8s::{Cluster, ClusterArgs, connect};
use foreman::workspace::Identity;
use kube::Api;
use kube::api::PostParams;
use serde_json::{Value, json};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

const P550: &str = "43516088";
const HEAD: &str = "907ac8d8";

/// kubectl that reports failure instead of panicking: `Err(stderr)`.
fn kubectl_try(kc: &Path, args: &[&str], stdin: &str) -> Result<String, String> {
    let mut child = Command::new("kubectl")
        .args(args)
        .env("KUBECONFIG", kc)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("kubectl must be installed");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

/// Every document of upstream's example files (both commits), with where it came from.
fn upstream_examples() -> Vec<(String, Value)> {
    let mut out = Vec::new();
    for commit in [P550, HEAD] {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/upstream")
            .join(commit)
            .join("examples");
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        for path in files {
            let text = std::fs::read_to_string(&path).unwrap();
            let docs = foreman::api::yaml::documents(&text).unwrap();
            for (i, doc) in docs.into_iter().enumerate() {
                let file = path.file_name().unwrap().to_string_lossy();
                out.push((format!("{commit}/{file}#{i}"), doc));
            }
        }
    }
    out
}

/// Every document moved into namespace `ns` (the shared apiserver already holds objects of
/// these names in `default`, from our own examples).
fn into_namespace(docs: &mut [(String, Value)], ns: &str) {
    for (_, d) in docs {
        d["metadata"]["namespace"] = json!(ns);
    }
}

/// A server-side dry-run create of `doc`: the stored object, or the apiserver's refusal.
fn dry_run(kc: &Path, doc: &Value) -> Result<Value, String> {
    let ns = doc["metadata"]["namespace"].as_str().unwrap_or("default");
    kubectl_try(
        kc,
        &[
            "create",
            "--dry-run=server",
            "-n",
            ns,
            "-o",
            "json",
            "-f",
            "-",
        ],
        &doc.to_string(),
    )
    .map(|out| serde_json::from_str(&out).unwrap())
}

#[test]
fn upstream_examples_behave_the_same_under_upstreams_crds_and_ours() {
    let (ours, ns) = shared_namespace("upstream-ex");
    let up = retried("private apiserver", PrivateApiserver::start_bare);
    let mut docs = upstream_examples();
    assert!(docs.len() >= 24, "{} documents", docs.len());
    into_namespace(&mut docs, &ns);
    kubectl_at(&up.kubeconfig(), &["create", "namespace", &ns], None);
    let under_ours: Vec<Result<Value, String>> =
        docs.iter().map(|(_, d)| dry_run(&ours, d)).collect();
    let mut refused = Vec::new();
    for commit in [P550, HEAD] {
        install_upstream_crds(&up.kubeconfig(), commit);
        for ((name, doc), mine) in docs.iter().zip(&under_ours) {
            // HEAD's examples use fields P550 does not know (kubectl refuses them there);
            // P550's examples are checked under both.
            if commit == P550 && name.starts_with(HEAD) {
                continue;
            }
            let theirs = dry_run(&up.kubeconfig(), doc);
            match (&theirs, mine) {
                (Ok(t), Ok(o)) if commit == HEAD => {
                    // Same stored spec: nothing pruned by ours that HEAD keeps, same defaults.
                    assert_eq!(
                        t["spec"], o["spec"],
                        "{name}: spec under HEAD's CRDs vs ours"
                    );
                }
                (Ok(_), Ok(_)) => {}
                (Err(_), Err(_)) => refused.push(format!("{commit} {name}")),
                _ => panic!(
                    "{name}: under {commit}'s CRDs {} but under ours {}",
                    verdict(&theirs),
                    verdict(mine)
                ),
            }
        }
    }
    // The two examples upstream's own CRDs reject (tests/examples.rs says why), in P550's
    // files under P550's and HEAD's CRDs and in HEAD's under HEAD's.
    assert_eq!(refused.len(), 6, "{refused:#?}");
    assert!(
        refused
            .iter()
            .all(|r| r.contains("m4-two-step-demo") || r.contains("m3-coder-demo"))
    );
}

fn verdict(r: &Result<Value, String>) -> String {
    match r {
        Ok(_) => "accepted".into(),
        Err(e) => format!("refused ({})", e.trim()),
    }
}

async fn cluster(kc: &Path, ns: &str) -> Cluster {
    connect(&ClusterArgs {
        kubeconfig: Some(kc.to_path_buf()),
        context: None,
        namespace: Some(ns.into()),
    })
    .await
    .unwrap()
}

async fn wait_task(c: &Cluster, name: &str, secs: u64, want: TaskPhase) -> AgenticTask {
    let api: Api<AgenticTask> = Api::namespaced(c.client.clone(), &c.namespace);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        if let Ok(t) = api.get(name).await
            && t.status.as_ref().and_then(|s| s.phase) == Some(want)
        {
            return t;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {name} to be {want:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn condition(t: &AgenticTask, type_: &str) -> (String, String) {
    t.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .and_then(|cs| cs.iter().find(|c| c.type_ == type_))
        .map(|c| (c.status.clone(), c.reason.clone()))
        .unwrap_or_default()
}

/// Our scheduler and agent take one task from Pending to Succeeded/GO on the cluster behind
/// `kc` (whatever CRDs it has), with a scripted model and a local bare repository.
async fn lifecycle(kc: &Path, ns: &str, issue: u32, head: bool) {
    kubectl_at(kc, &["create", "namespace", ns], None);
    let c = cluster(kc, ns).await;
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
        Reply::tool_call(
            "submit_result",
            json!({"verdict":"GO","summary":"fixed the typo",
                "commit_message": format!("docs: fix typo\n\nFixes #{issue}")})
            .to_string(),
        ),
    ])
    .unwrap();
    let objects = format!(
        "apiVersion: foreman.llmkube.dev/v1alpha1\nkind: Agent\nmetadata: {{name: coder, namespace: {ns}}}\nspec:\n  role: coder\n  maxRetries: 0\n  inferenceServiceRef: {{name: coder.model}}\n  tools: [read_file, write_file, str_replace, grep, bash, submit_result]\n---\napiVersion: foreman.llmkube.dev/v1alpha1\nkind: AgenticTask\nmetadata: {{name: fix, namespace: {ns}}}\nspec:\n  kind: issue-fix\n  agentRef: {{name: coder}}\n  payload: {{repo: acme/fleet, issue: {issue}, prompt: \"Fix the typo in README\"}}\n"
    );
    for obj in foreman::api::load_str("lifecycle", &objects).unwrap() {
        match obj {
            Object::Agent(a) => {
                let api: Api<foreman::api::Agent> = Api::namespaced(c.client.clone(), ns);
                api.create(&PostParams::default(), &a).await.unwrap();
            }
            Object::Task(t) => {
                let api: Api<AgenticTask> = Api::namespaced(c.client.clone(), ns);
                api.create(&PostParams::default(), &t).await.unwrap();
            }
            _ => unreachable!(),
        }
    }
    let node = format!("{ns}-node");
    let mut cfg = WorkerConfig::new(
        NodeConfig {
            name: node.clone(),
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
        dir.path().join("ws"),
    );
    cfg.journal_dir = dir.path().join("journals");
    cfg.task_namespace = Some(ns.into());
    cfg.heartbeat_every = Duration::from_secs(1);
    cfg.rescan_every = Duration::from_millis(500);
    cfg.endpoint = EndpointConfig {
        base_url_override: Some(format!("{}/", server.base_url())),
        host_override: None,
        fallback_base_url: None,
    };
    cfg.git_remote_url = Some(bare.display().to_string());
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let h = worker::spawn(c.clone(), cfg, tx);
    let sched_cfg = foreman::k8s::scheduler::SchedulerConfig {
        task_namespace: Some(ns.into()),
        scope: foreman::k8s::scheduler::Scope {
            node_selector: format!("foreman-e2e={ns}").parse().unwrap(),
            ..Default::default()
        },
        ..Default::default()
    };
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let sched = tokio::spawn(foreman::k8s::scheduler::run(
        c.client.clone(),
        sched_cfg,
        async move {
            let _ = stopped.await;
        },
    ));
    let done = wait_task(&c, "fix", 90, TaskPhase::Succeeded).await;
    let s = done.status.clone().unwrap();
    assert_eq!(s.verdict, Some(Verdict::Go));
    assert_eq!(s.assigned_node.as_deref(), Some(node.as_str()));
    let branch = format!("foreman/issue-{issue}");
    assert_eq!(s.branch.as_deref(), Some(branch.as_str()));
    let sha = git(&bare, &["rev-parse", &branch]);
    assert_eq!(s.commit_sha.as_deref(), Some(sha.trim()));
    assert_eq!(s.result.as_ref().unwrap()["verdict"], "GO");
    // Upstream's condition semantics, accepted by upstream's Condition validation.
    assert_eq!(
        condition(&done, "Completed"),
        ("True".into(), "ExecutorSucceeded".into())
    );
    assert_eq!(
        condition(&done, "Running"),
        ("True".into(), "Claimed".into())
    );
    // The FleetNode's status writes were accepted too.
    let nodes: Api<FleetNode> = Api::all(c.client.clone());
    let n = nodes.get(&node).await.unwrap();
    let st = n.status.unwrap();
    assert_eq!(st.phase, Some(FleetNodePhase::Ready));
    assert_eq!(st.capability.unwrap().total_ram_gb, Some(64));
    // HEAD's node identity fields are stored by HEAD's schema and pruned by P550's.
    assert_eq!(
        st.os.is_some() && st.arch.is_some(),
        head,
        "{:?} {:?}",
        st.os,
        st.arch
    );
    let _ = stop.send(());
    sched.await.unwrap().unwrap();
    h.shutdown().await.unwrap();
    let mut errors = Vec::new();
    while let Ok(ev) = rx.try_recv() {
        if let worker::WorkerEvent::Error(m) = ev {
            errors.push(m);
        }
    }
    assert!(errors.is_empty(), "the agent reported errors: {errors:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scheduler_and_agent_run_a_task_under_upstreams_p550_and_head_crds() {
    let up = retried("private apiserver", PrivateApiserver::start_bare);
    let kc = up.kubeconfig();
    install_upstream_crds(&kc, P550);
    lifecycle(&kc, "up-p550", 7, false).await;
    install_upstream_crds(&kc, HEAD);
    lifecycle(&kc, "up-head", 8, true).await;
}

/// `foreman submit` on a cluster with upstream's CRDs: the apiserver prunes our extension
/// fields from the spec, the `foreman.llmkube.dev/extensions` annotation carries them, and
/// what our agent reads back (`extensions::restore`) is the file's spec again. Under our own
/// CRDs the spec keeps them and nothing needs restoring.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn extension_fields_survive_upstreams_crds_in_the_annotation() {
    use foreman::api::{Agent, extensions};
    let file = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/tiny-agent.yaml");
    let Object::Agent(want) = foreman::api::load_file(&file).unwrap().remove(0) else {
        panic!("tiny-agent.yaml starts with an Agent")
    };
    let name = want.metadata.name.clone().unwrap();
    assert!(want.spec.few_shot.is_some() && want.spec.tool_protocol.is_some());

    let up = retried("private apiserver", PrivateApiserver::start_bare);
    install_upstream_crds(&up.kubeconfig(), HEAD);
    let (shared, ns) = shared_namespace("upstream-ext");
    kubectl_at(&up.kubeconfig(), &["create", "namespace", &ns], None);
    // The example names `default`, where the shared apiserver already has it: submit a copy
    // in this test's namespace.
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("tiny-agent.yaml");
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(
        &copy,
        text.replace("namespace: default", &format!("namespace: {ns}")),
    )
    .unwrap();
    let file = copy;
    for (kc, upstream) in [(up.kubeconfig(), true), (shared, false)] {
        let c = cluster(&kc, &ns).await;
        foreman::backend::cluster::submit_file(&c, &file)
            .await
            .unwrap();
        let api: Api<Agent> = Api::namespaced(c.client.clone(), &ns);
        let mut stored = api.get(&name).await.unwrap();
        let annotation = &stored.metadata.annotations.as_ref().unwrap()[extensions::ANNOTATION];
        assert!(annotation.contains("json-schema"), "{annotation}");
        assert_eq!(
            stored.spec.few_shot.is_none(),
            upstream,
            "pruned only by upstream's CRDs"
        );
        let restored = extensions::restore(&mut stored).unwrap();
        assert_eq!(restored.is_empty(), !upstream, "{restored:?}");
        assert_eq!(stored.spec.tool_protocol, want.spec.tool_protocol);
        assert_eq!(stored.spec.few_shot, want.spec.few_shot);
        assert_eq!(stored.spec.stop, want.spec.stop);
        assert_eq!(stored.spec.converge_turns, want.spec.converge_turns);
        assert_eq!(stored.spec.tools, want.spec.tools);
    }
}
