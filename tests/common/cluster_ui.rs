//! A cluster console's view for the e2e suites (decisions, revisions), against a real
//! kube-apiserver and the real git smart-HTTP server: the console's side built only from its
//! backend's events, and the world (namespace, git server and its push log, the seeded
//! repository, tasks whose GO awaits approval, a node's worker).
#![allow(dead_code)]

use super::k8s::{kubectl_at, shared_namespace};
use super::{GitServer, git, seed_bare};
use foreman::api::AgenticTask;
use foreman::backend::cluster::{ClusterBackendConfig, start_cluster};
use foreman::backend::{BackendEvent, BackendHandle, Command, Job};
use foreman::executor::run::TokenSource;
use foreman::fleet::decision::Decision;
use foreman::fleet::{TaskKey, TaskState, task_state};
use foreman::k8s::worker::node::NodeConfig;
use foreman::k8s::worker::{self, WorkerConfig, WorkerEvent, WorkerHandle};
use foreman::k8s::{ClusterArgs, connect};
use foreman::workspace::{FileDiff, Identity, Token};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::sync::mpsc;

pub const TOKEN: &str = "decisions-token";
pub const REPO: &str = "acme/greeter";

/// A console's view, built only from its backend's events.
pub struct Ui {
    pub rx: mpsc::UnboundedReceiver<BackendEvent>,
    pub h: BackendHandle,
    pub snapshot: bool,
    pub tasks: HashMap<String, AgenticTask>,
    pub jobs: Vec<(String, Job, Result<String, String>)>,
    pub diffs: Vec<(String, Result<Vec<FileDiff>, String>)>,
    pub notices: Vec<String>,
    pub errors: Vec<String>,
    pub attempts: Vec<foreman::backend::attempt::AttemptView>,
    /// Every scheduler leader the backend reported ("" = the Lease ran out), in order.
    pub leaders: Vec<String>,
}

pub async fn cluster(kc: &Path, ns: &str) -> foreman::k8s::Cluster {
    connect(&ClusterArgs {
        kubeconfig: Some(kc.to_path_buf()),
        context: None,
        namespace: Some(ns.into()),
    })
    .await
    .expect("connect")
}

impl Ui {
    pub async fn start(kc: &Path, ns: &str, node: &str, api: &str) -> Ui {
        let cfg = ClusterBackendConfig {
            node_name: node.into(),
            git_remote_url: None,
            github_api_base: api.into(),
            token: TokenSource::Given(Token::new(TOKEN)),
            worker: None,
            scheduler: None,
        };
        Ui::start_with(kc, ns, cfg).await
    }

    /// A console with `cfg` (e.g. its own worker: the console runs tasks as that node).
    pub async fn start_with(kc: &Path, ns: &str, cfg: ClusterBackendConfig) -> Ui {
        let (tx, rx) = mpsc::unbounded_channel();
        let h = start_cluster(cluster(kc, ns).await, cfg, tx).expect("start");
        let mut ui = Ui {
            rx,
            h,
            snapshot: false,
            tasks: HashMap::new(),
            jobs: Vec::new(),
            diffs: Vec::new(),
            notices: Vec::new(),
            errors: Vec::new(),
            attempts: Vec::new(),
            leaders: Vec::new(),
        };
        ui.until("the snapshot", 30, |u| u.snapshot).await;
        ui
    }

    pub fn apply(&mut self, e: BackendEvent) {
        match e {
            BackendEvent::Snapshot { tasks, .. } => {
                self.snapshot = true;
                for (k, t) in tasks {
                    self.tasks.insert(k.name, t.task().unwrap().into_owned());
                }
            }
            BackendEvent::TaskUpdated(t) => {
                self.tasks.insert(TaskKey::of(&t).name, *t);
            }
            BackendEvent::JobDone { task, job, outcome } => {
                self.jobs.push((task.name, job, outcome))
            }
            BackendEvent::Diff { task, files, .. } => self.diffs.push((task.name, files)),
            BackendEvent::Notice(m) => self.notices.push(m),
            BackendEvent::Error(m) => self.errors.push(m),
            BackendEvent::Attempt(v) => self.attempts.push(*v),
            BackendEvent::Leader(h) => self.leaders.push(h),
            _ => {}
        }
    }

    pub async fn until(&mut self, what: &str, secs: u64, f: impl Fn(&Ui) -> bool) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
        while !f(self) {
            match tokio::time::timeout_at(deadline, self.rx.recv()).await {
                Ok(Some(e)) => self.apply(e),
                Ok(None) => panic!("backend stopped while waiting for {what}"),
                Err(_) => panic!(
                    "timed out waiting for {what}; tasks {:?}; errors {:?}; notices {:?}; jobs {:?}",
                    self.tasks
                        .iter()
                        .map(|(n, t)| (n.clone(), task_state(t)))
                        .collect::<Vec<_>>(),
                    self.errors,
                    self.notices,
                    self.jobs
                ),
            }
        }
    }

    pub fn state(&self, name: &str) -> Option<TaskState> {
        self.tasks.get(name).map(task_state)
    }

    /// The outcome of the job `job` on `name`, once it ends.
    pub async fn job(&mut self, name: &str, job: Job) -> Result<String, String> {
        self.until(name, 30, |u| {
            u.jobs.iter().any(|(t, j, _)| t == name && *j == job)
        })
        .await;
        let i = self
            .jobs
            .iter()
            .position(|(t, j, _)| t == name && *j == job)
            .unwrap();
        self.jobs.remove(i).2
    }

    pub async fn stop(self) {
        self.h.send(Command::Shutdown);
        tokio::time::timeout(Duration::from_secs(10), self.h.stopped())
            .await
            .expect("the backend stops");
    }
}

/// The world: the namespace, the git server (and its push log), and the seeded repository.
pub struct World {
    pub kc: PathBuf,
    pub ns: String,
    pub root: tempfile::TempDir,
    pub bare: PathBuf,
    pub server: GitServer,
    pub log: PathBuf,
}

impl World {
    pub fn new(prefix: &str) -> World {
        let (kc, ns) = shared_namespace(prefix);
        let root = tempfile::tempdir().unwrap();
        let bare = seed_bare(
            root.path(),
            &format!("{REPO}.git"),
            &[("greeter.py", "print('Helo')\n")],
        );
        let log = root.path().join("git-server.log");
        let server = GitServer::start_logged(root.path(), TOKEN, Some(&log));
        kubectl_at(&kc, &["-n", &ns, "apply", "-f", "-"], Some(AGENT));
        World {
            kc,
            ns,
            root,
            bare,
            server,
            log,
        }
    }

    pub fn node(&self, n: &str) -> String {
        format!("{}-{n}", self.ns)
    }

    /// Pushes that reached the server (`POST …/git-receive-pack`).
    pub fn pushes(&self) -> usize {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .filter(|l| l.contains("POST") && l.contains("git-receive-pack"))
            .count()
    }

    pub fn remote_ref(&self, branch: &str) -> Option<String> {
        let out = git(
            &self.bare,
            &[
                "for-each-ref",
                "--format=%(objectname)",
                &format!("refs/heads/{branch}"),
            ],
        );
        Some(out.trim().to_string()).filter(|s| !s.is_empty())
    }

    /// A GO of `name` awaiting approval on node `node`: a real clone with one commit (of
    /// `files` extra files too), its status as the node's worker writes it. Returns the commit.
    pub fn go_task(&self, name: &str, node: &str, files: usize) -> String {
        let ws = self.root.path().join("ws").join(name);
        std::fs::create_dir_all(ws.parent().unwrap()).unwrap();
        let root = self.root.path();
        git(
            root,
            &[
                "clone",
                "-q",
                self.bare.to_str().unwrap(),
                ws.to_str().unwrap(),
            ],
        );
        let branch = format!("foreman/{name}");
        git(&ws, &["checkout", "-q", "-b", &branch]);
        std::fs::write(
            ws.join("greeter.py"),
            format!("print('Hello from {name}')\n"),
        )
        .unwrap();
        for i in 0..files {
            let body: String = (0..400)
                .map(|l| format!("{name} file {i} line {l}\n"))
                .collect();
            std::fs::write(ws.join(format!("gen{i}.txt")), body).unwrap();
        }
        git(&ws, &["add", "-A"]);
        git(
            &ws,
            &[
                "commit",
                "-q",
                "-m",
                &format!("fix: greeting of {name}\n\nFixes #1"),
            ],
        );
        let sha = git(&ws, &["rev-parse", "HEAD"]).trim().to_string();
        let task = format!(
            "apiVersion: foreman.llmkube.dev/v1alpha1\nkind: AgenticTask\nmetadata: {{name: {name}}}\nspec:\n  kind: issue-fix\n  agentRef: {{name: coder}}\n  payload: {{repo: {REPO}, issue: 1, prompt: \"Fix the greeting\"}}\n"
        );
        kubectl_at(&self.kc, &["-n", &self.ns, "apply", "-f", "-"], Some(&task));
        self.patch_status(
            name,
            json!({
                "phase": "Succeeded", "verdict": "GO", "assignedNode": node,
                "result": {"schemaVersion": "foreman.v1", "kind": "native-agent-loop",
                    "verdict": "GO", "summary": "Fixed the greeting.",
                    "extra": {"workspace": ws, "remote": self.server.url(REPO),
                              "branch": branch, "commitSHA": sha, "pushed": false}}
            }),
        );
        sha
    }

    pub fn patch_status(&self, name: &str, status: Value) {
        let body = json!({ "status": status }).to_string();
        kubectl_at(
            &self.kc,
            &[
                "-n",
                &self.ns,
                "patch",
                "agentictask",
                name,
                "--subresource=status",
                "--type=merge",
                "-p",
                &body,
            ],
            None,
        );
    }

    pub fn get(&self, kind: &str, name: &str) -> Option<Value> {
        let out = std::process::Command::new("kubectl")
            .args(["-n", &self.ns, "get", kind, name, "-o", "json"])
            .env("KUBECONFIG", &self.kc)
            .output()
            .unwrap();
        out.status
            .success()
            .then(|| serde_json::from_slice(&out.stdout).unwrap())
    }

    pub fn extra(&self, name: &str) -> Value {
        self.get("agentictask", name).unwrap()["status"]["result"]["extra"].clone()
    }

    /// Writes `d` on the task as a console would (for the restart cases, without one).
    pub fn annotate(&self, name: &str, d: &Decision) {
        let ann = format!("{}={}", foreman::fleet::decision::ANNOTATION, d.to_json());
        kubectl_at(
            &self.kc,
            &[
                "-n",
                &self.ns,
                "annotate",
                "--overwrite",
                "agentictask",
                name,
                &ann,
            ],
            None,
        );
    }

    /// What every node's worker here shares: its node, the bot identity, workspaces under
    /// `dir`, the test's namespace, fast heartbeats and rescans, GOs awaiting approval.
    fn worker_base(&self, node: &str, dir: &str) -> WorkerConfig {
        let mut cfg = WorkerConfig::new(
            NodeConfig {
                name: node.into(),
                roles: vec!["worker".into()],
                total_ram_gb: 64,
                ..Default::default()
            },
            Identity {
                name: "Foreman Bot".into(),
                email: "bot@example.com".into(),
            },
            self.root.path().join(dir),
        );
        cfg.task_namespace = Some(self.ns.clone());
        cfg.heartbeat_every = Duration::from_secs(1);
        cfg.rescan_every = Duration::from_millis(500);
        cfg.push_now = false;
        cfg.token = TokenSource::Given(Token::new(TOKEN));
        cfg.github_api_base = Some(self.server.api());
        cfg
    }

    pub fn worker(&self, node: &str) -> (WorkerHandle, mpsc::UnboundedReceiver<WorkerEvent>) {
        let cfg = self.worker_base(node, "worker");
        let (tx, rx) = mpsc::unbounded_channel();
        let kc = self.kc.clone();
        let ns = self.ns.clone();
        let c = tokio::task::block_in_place(|| {
            tokio::runtime::Handle::current().block_on(cluster(&kc, &ns))
        });
        (worker::spawn(c, cfg, tx), rx)
    }

    /// Node `node`'s worker with a real executor: the model at `model`, clones and pushes
    /// over the git server, GOs awaiting approval.
    pub async fn real_worker(
        &self,
        node: &str,
        model: &str,
    ) -> (WorkerHandle, mpsc::UnboundedReceiver<WorkerEvent>) {
        let cfg = self.real_worker_config(node, model);
        let (tx, rx) = mpsc::unbounded_channel();
        (
            worker::spawn(cluster(&self.kc, &self.ns).await, cfg, tx),
            rx,
        )
    }

    /// The configuration of [`World::real_worker`] (for a console that runs its own worker).
    pub fn real_worker_config(&self, node: &str, model: &str) -> WorkerConfig {
        let mut cfg = self.worker_base(node, &format!("worker-{node}"));
        cfg.transcript_every = Duration::from_millis(200);
        cfg.git_remote_url = Some(self.server.url(REPO));
        cfg.endpoint = foreman::k8s::worker::endpoint::EndpointConfig {
            base_url_override: None,
            host_override: None,
            fallback_base_url: Some(model.to_string()),
        };
        cfg
    }

    /// Applies `manifest` (an Agent or a task) in the test's namespace.
    pub fn apply(&self, manifest: &str) {
        kubectl_at(
            &self.kc,
            &["-n", &self.ns, "apply", "-f", "-"],
            Some(manifest),
        );
    }

    pub async fn wait_diff_published(&self, name: &str) -> Value {
        let cm = format!("foreman-diff-{name}");
        for _ in 0..150 {
            if let Some(v) = self.get("configmap", &cm) {
                return v;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        panic!("{cm} was not published");
    }
}

pub const AGENT: &str = "apiVersion: foreman.llmkube.dev/v1alpha1\nkind: Agent\nmetadata: {name: coder}\nspec:\n  role: coder\n  maxTurns: 12\n  tools: [read_file, write_file, bash, submit_result]\n";

pub fn key(w: &World, name: &str) -> TaskKey {
    TaskKey::new(&w.ns, name)
}
