#![cfg(feature = "e2e")]
//! `foreman scheduler --fan-out-workloads` against a real kube-apiserver: a pipeline Workload
//! fanned out (owner references, labels, `dependsOn` rewritten), placed in dependency order,
//! rolled up to Failed when a stage fails; the issues shortcut cut at `maxTasks`
//! (`Truncated`); intent-only → `NoPlannerOrPipeline`; a restart creates nothing twice; and
//! without the flag the scheduler leaves Workloads alone. The node agent's writes are status
//! patches, as the scheduler suite does.
//!
//!   KUBE_PORT=16520 ETCD_PORT=12520 scripts/k8s.sh start /tmp/wl-k8s
//!   FOREMAN_E2E_KUBECONFIG=/tmp/wl-k8s/kubeconfig \
//!     cargo test --features e2e --test e2e_cluster_workloads
//!   scripts/k8s.sh stop /tmp/wl-k8s

mod common;

use common::k8s::shared_namespace;
use foreman::api::{Agent, AgenticTask, FleetNode, FleetNodeSpec, Workload};
use foreman::k8s::{ClusterArgs, connect};
use kube::Client;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use serde_json::{Value, json};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const LABEL: &str = "foreman.test/ns";
const WAIT: Duration = Duration::from_secs(30);

struct Env {
    kubeconfig: PathBuf,
    ns: String,
    client: Client,
}

/// The `foreman scheduler` daemon, killed on drop.
struct Daemon(Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Env {
    async fn new(prefix: &str) -> Env {
        let (kubeconfig, ns) = shared_namespace(prefix);
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

    fn args(&self, extra: &[&str]) -> Vec<String> {
        let kc = self.kubeconfig.display().to_string();
        let mut a: Vec<String> = ["scheduler", "--kubeconfig", &kc, "--namespace", &self.ns]
            .map(String::from)
            .into();
        a.extend([
            "--node-selector".into(),
            self.selector(),
            "--resync".into(),
            "500ms".into(),
        ]);
        a.extend(extra.iter().map(|s| s.to_string()));
        a
    }

    /// `foreman scheduler` with `extra` flags, in the background.
    fn daemon(&self, extra: &[&str]) -> Daemon {
        let child = Command::new(env!("CARGO_BIN_EXE_foreman"))
            .args(self.args(extra))
            .env_remove("KUBECONFIG")
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("foreman scheduler starts");
        Daemon(child)
    }

    /// `foreman scheduler --once` with `extra` flags: its exit code and stderr.
    fn once(&self, extra: &[&str]) -> (i32, String) {
        let mut args = self.args(extra);
        args.push("--once".into());
        let out = Command::new(env!("CARGO_BIN_EXE_foreman"))
            .args(args)
            .env_remove("KUBECONFIG")
            .output()
            .expect("foreman runs");
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        (out.status.code().unwrap_or(-1), err)
    }

    fn tasks(&self) -> Api<AgenticTask> {
        Api::namespaced(self.client.clone(), &self.ns)
    }

    fn workloads(&self) -> Api<Workload> {
        Api::namespaced(self.client.clone(), &self.ns)
    }

    /// A Ready FleetNode labelled for this test, heartbeating now.
    async fn node(&self) {
        let name = format!("{}-a", self.ns);
        let mut n = FleetNode::new(
            &name,
            FleetNodeSpec {
                node_name: name.clone(),
                roles: Some(vec!["worker".into()]),
                ..Default::default()
            },
        );
        n.metadata.labels = Some([(LABEL.to_string(), self.ns.clone())].into());
        let nodes: Api<FleetNode> = Api::all(self.client.clone());
        nodes
            .create(&PostParams::default(), &n)
            .await
            .expect("node");
        let hb = jiff::Timestamp::now()
            .strftime("%Y-%m-%dT%H:%M:%SZ")
            .to_string();
        let status = json!({"status": {"phase": "Ready", "lastHeartbeatTime": hb,
            "capability": {"accelerator": "metal", "availableRAMGB": 64, "totalRAMGB": 96}}});
        nodes
            .patch_status(&name, &PatchParams::default(), &Patch::Merge(&status))
            .await
            .expect("node status");
    }

    async fn agent(&self, name: &str) {
        let a: Agent = serde_json::from_value(json!({
            "apiVersion": "foreman.llmkube.dev/v1alpha1", "kind": "Agent",
            "metadata": {"name": name, "namespace": self.ns},
            "spec": {"role": "coder", "systemPrompt": "s", "tools": ["read_file"]},
        }))
        .unwrap();
        Api::<Agent>::namespaced(self.client.clone(), &self.ns)
            .create(&PostParams::default(), &a)
            .await
            .expect("create Agent");
    }

    async fn workload(&self, name: &str, spec: Value) {
        let w: Workload = serde_json::from_value(json!({
            "apiVersion": "foreman.llmkube.dev/v1alpha1", "kind": "Workload",
            "metadata": {"name": name, "namespace": self.ns}, "spec": spec,
        }))
        .unwrap();
        self.workloads()
            .create(&PostParams::default(), &w)
            .await
            .expect("create Workload");
    }

    /// The node agent's write: the task ends `phase` with `verdict`.
    async fn finish(&self, name: &str, phase: &str, verdict: &str) {
        let body = json!({"status": {"phase": phase, "verdict": verdict}});
        self.tasks()
            .patch_status(name, &PatchParams::default(), &Patch::Merge(&body))
            .await
            .expect("patch AgenticTask status");
    }

    async fn get<
        K: kube::Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug + serde::Serialize,
    >(
        api: &Api<K>,
        name: &str,
    ) -> Value {
        match api.get_opt(name).await.expect("get") {
            Some(o) => serde_json::to_value(o).unwrap(),
            None => Value::Null,
        }
    }

    async fn wait_task(&self, name: &str, what: &str, ok: impl Fn(&Value) -> bool) -> Value {
        let api = self.tasks();
        self.wait(what, || Env::get(&api, name), ok).await
    }

    async fn wait_workload(&self, name: &str, what: &str, ok: impl Fn(&Value) -> bool) -> Value {
        let api = self.workloads();
        self.wait(what, || Env::get(&api, name), ok).await
    }

    async fn wait<F, Fut>(&self, what: &str, get: F, ok: impl Fn(&Value) -> bool) -> Value
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = Value>,
    {
        let start = Instant::now();
        loop {
            let v = get().await;
            if ok(&v) {
                return v;
            }
            assert!(
                start.elapsed() < WAIT,
                "timed out waiting for {what}: {v:#}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn task_names(&self) -> Vec<String> {
        let l = self
            .tasks()
            .list(&ListParams::default())
            .await
            .expect("list");
        let mut v: Vec<String> = l
            .items
            .iter()
            .filter_map(|t| t.metadata.name.clone())
            .collect();
        v.sort();
        v
    }

    async fn cleanup(&self) {
        let nodes: Api<FleetNode> = Api::all(self.client.clone());
        let lp = ListParams::default().labels(&self.selector());
        let _ = nodes.delete_collection(&DeleteParams::default(), &lp).await;
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

fn pipeline() -> Value {
    json!({"intent": "fix then verify", "repo": "acme/fleet", "pipeline": [
        {"name": "code", "kind": "issue-fix", "agentRef": {"name": "coder"},
         "payload": {"issue": 7, "prompt": "fix it"}},
        {"name": "verify", "kind": "verify", "agentRef": {"name": "coder"},
         "dependsOn": ["code"], "payload": {"issue": 7}},
    ]})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pipeline_fans_out_in_order_and_rolls_up_failed() {
    let env = Env::new("wl-pipe").await;
    env.node().await;
    env.agent("coder").await;
    env.workload("ship", pipeline()).await;
    let daemon = env.daemon(&["--fan-out-workloads"]);
    let code = env
        .wait_task("ship-code", "code placed", |t| phase(t) == "Scheduled")
        .await;
    let w = Env::get(&env.workloads(), "ship").await;
    let uid = w["metadata"]["uid"].as_str().unwrap().to_string();
    let owner = &code["metadata"]["ownerReferences"][0];
    assert_eq!(
        (owner["kind"].as_str(), owner["uid"].as_str()),
        (Some("Workload"), Some(uid.as_str()))
    );
    assert_eq!(owner["controller"], true);
    assert_eq!(
        code["metadata"]["labels"]["foreman.llmkube.dev/workload"],
        "ship"
    );
    assert_eq!(
        code["metadata"]["labels"]["foreman.llmkube.dev/step"],
        "code"
    );
    assert_eq!(code["spec"]["payload"]["repo"], "acme/fleet");
    let verify = env
        .wait_task("ship-verify", "verify waits", |t| {
            condition(t, "Scheduled")["reason"] == "WaitingForDependencies"
        })
        .await;
    assert_eq!(verify["spec"]["dependsOn"], json!(["ship-code"]));
    env.wait_workload("ship", "planned", |w| {
        condition(w, "Planned")["reason"] == "PlannerSucceeded"
            && w["status"]["tasks"]
                .as_array()
                .is_some_and(|t| t.len() == 2)
    })
    .await;

    env.finish("ship-code", "Succeeded", "GO").await;
    env.wait_task("ship-verify", "verify placed after code", |t| {
        phase(t) == "Scheduled"
    })
    .await;
    env.wait_workload("ship", "dispatched", |w| phase(w) == "Dispatched")
        .await;
    env.finish("ship-verify", "Failed", "GATE-FAIL").await;
    let w = env
        .wait_workload("ship", "rolled up failed", |w| phase(w) == "Failed")
        .await;
    assert_eq!(w["status"]["succeededTasks"], 1);
    assert_eq!(w["status"]["failedTasks"], 1);
    assert_eq!(condition(&w, "Completed")["reason"], "ChildrenFailed");
    assert_eq!(condition(&w, "Completed")["status"], "False");

    // A second scheduler (a restart) creates nothing twice.
    drop(daemon);
    let (code, err) = env.once(&["--fan-out-workloads"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(env.task_names().await, ["ship-code", "ship-verify"]);
    env.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issues_truncate_intent_fails_and_the_flag_is_off_by_default() {
    let env = Env::new("wl-issues").await;
    env.node().await;
    env.agent("coder").await;
    env.workload(
        "batch",
        json!({"intent": "small bugs", "repo": "acme/fleet",
        "issues": [1, 2, 3], "maxTasks": 4,
        "coderAgentRef": {"name": "coder"}, "verifierAgentRef": {"name": "coder"}}),
    )
    .await;
    env.workload("wish", json!({"intent": "make it faster"}))
        .await;

    // Without the flag: the Workloads are LLMKube's operator's business.
    let (code, err) = env.once(&[]);
    assert_eq!(code, 0, "{err}");
    assert!(env.task_names().await.is_empty());
    assert!(Env::get(&env.workloads(), "batch").await["status"].is_null());

    let (code, err) = env.once(&["--fan-out-workloads"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        env.task_names().await,
        [
            "batch-code-1",
            "batch-code-2",
            "batch-verify-1",
            "batch-verify-2"
        ]
    );
    let b = Env::get(&env.workloads(), "batch").await;
    assert_eq!(condition(&b, "Truncated")["reason"], "MaxTasksCap");
    assert_eq!(condition(&b, "Truncated")["status"], "True");
    let v1 = Env::get(&env.tasks(), "batch-verify-1").await;
    assert_eq!(v1["spec"]["dependsOn"], json!(["batch-code-1"]));
    assert_eq!(v1["spec"]["payload"]["branch"], "foreman/issue-1");
    let wish = Env::get(&env.workloads(), "wish").await;
    assert_eq!(phase(&wish), "Failed");
    assert_eq!(condition(&wish, "Planned")["reason"], "NoPlannerOrPipeline");
    env.cleanup().await;
}
