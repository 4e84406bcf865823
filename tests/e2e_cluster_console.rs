#![cfg(feature = "e2e")]
//! The console's cluster backend against a real kube-apiserver (scripts/k8s.sh): the first
//! Snapshot holds what is in the cluster, status changes and deletions arrive live, commands
//! write the apiserver, transcripts come from ConfigMaps and follow their changes, push and
//! PR act directly on the node that ran the task and are written as decisions for that node
//! elsewhere (carried out in e2e_cluster_decisions), and the watches survive an apiserver restart.
//!
//!   KUBE_PORT=20243 ETCD_PORT=20279 scripts/k8s.sh start /tmp/k8s
//!   FOREMAN_E2E_KUBECONFIG=/tmp/k8s/kubeconfig cargo test --features e2e --test e2e_cluster_console
//!   scripts/k8s.sh stop /tmp/k8s

mod common;

use common::k8s::{PrivateApiserver, kubectl_at, retried, shared_namespace};
use common::{GitServer, git, seed_bare};
use foreman::agent::transcript::{Record, export};
use foreman::api::{AgenticTask, FleetNode};
use foreman::backend::cluster::{ClusterBackendConfig, start_cluster};
use foreman::backend::{BackendEvent, BackendHandle, Command, Job};
use foreman::executor::run::TokenSource;
use foreman::fleet::TaskKey;
use foreman::fleet::TaskState;
use foreman::fleet::task_state;
use foreman::k8s::{ClusterArgs, connect};
use foreman::oai::Message;
use foreman::workspace::FileDiff;
use foreman::workspace::Token;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::sync::mpsc;

const TOKEN: &str = "cluster-console-token";

/// What a UI would hold, built only from the backend's events.
struct Ui {
    rx: mpsc::UnboundedReceiver<BackendEvent>,
    h: BackendHandle,
    snapshot: bool,
    tasks: HashMap<String, AgenticTask>,
    nodes: HashMap<String, FleetNode>,
    agents: Vec<String>,
    workloads: Vec<String>,
    deleted_tasks: Vec<String>,
    deleted_nodes: Vec<String>,
    transcripts: Vec<(String, Result<Vec<Record>, String>)>,
    jobs: Vec<(String, Job, Result<String, String>)>,
    diffs: Vec<(String, Result<Vec<FileDiff>, String>)>,
    notices: Vec<String>,
    errors: Vec<String>,
}

fn backend_config(node: &str, api: Option<String>) -> ClusterBackendConfig {
    ClusterBackendConfig {
        node_name: node.into(),
        git_remote_url: None,
        github_api_base: api.unwrap_or_else(|| "http://127.0.0.1:9".into()),
        token: TokenSource::Given(Token::new(TOKEN)),
        worker: None,
        scheduler: None,
    }
}

impl Ui {
    async fn start(kc: &Path, ns: &str, cfg: ClusterBackendConfig) -> Ui {
        let cluster = connect(&ClusterArgs {
            kubeconfig: Some(kc.to_path_buf()),
            context: None,
            namespace: Some(ns.into()),
        })
        .await
        .expect("connect");
        let (tx, rx) = mpsc::unbounded_channel();
        let h = start_cluster(cluster, cfg, tx).expect("start");
        Ui {
            rx,
            h,
            snapshot: false,
            tasks: HashMap::new(),
            nodes: HashMap::new(),
            agents: Vec::new(),
            workloads: Vec::new(),
            deleted_tasks: Vec::new(),
            deleted_nodes: Vec::new(),
            transcripts: Vec::new(),
            jobs: Vec::new(),
            diffs: Vec::new(),
            notices: Vec::new(),
            errors: Vec::new(),
        }
    }

    fn apply(&mut self, e: BackendEvent) {
        match e {
            BackendEvent::Snapshot {
                tasks,
                nodes,
                agents,
            } => {
                assert!(!self.snapshot, "one Snapshot only");
                self.snapshot = true;
                for (k, t) in tasks {
                    self.tasks.insert(k.name, t.task().unwrap().into_owned());
                }
                for n in nodes {
                    self.nodes.insert(n.metadata.name.clone().unwrap(), n);
                }
                self.agents = agents
                    .into_iter()
                    .map(|a| a.metadata.name.unwrap())
                    .collect();
            }
            BackendEvent::TaskUpdated(t) => {
                assert!(self.snapshot, "changes come after the Snapshot");
                self.tasks.insert(TaskKey::of(&t).name, *t);
            }
            BackendEvent::TaskDeleted(k) => {
                self.tasks.remove(&k.name);
                self.deleted_tasks.push(k.name);
            }
            BackendEvent::NodeUpdated(n) => {
                self.nodes.insert(n.metadata.name.clone().unwrap(), *n);
            }
            BackendEvent::NodeDeleted(n) => {
                self.nodes.remove(&n);
                self.deleted_nodes.push(n);
            }
            BackendEvent::AgentUpdated(a) => self.agents.push(a.metadata.name.unwrap()),
            BackendEvent::WorkloadUpdated(w) => self.workloads.push(w.metadata.name.unwrap()),
            BackendEvent::Transcript { task, records } => {
                self.transcripts.push((task.name, records))
            }
            BackendEvent::JobDone { task, job, outcome } => {
                self.jobs.push((task.name, job, outcome))
            }
            BackendEvent::Diff { task, files, .. } => self.diffs.push((task.name, files)),
            BackendEvent::Notice(m) => self.notices.push(m),
            BackendEvent::Error(m) => self.errors.push(m),
            _ => {}
        }
    }

    async fn until(&mut self, what: &str, secs: u64, f: impl Fn(&Ui) -> bool) {
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

    fn state(&self, name: &str) -> Option<TaskState> {
        self.tasks.get(name).map(task_state)
    }

    async fn stop(self) {
        self.h.send(Command::Shutdown);
        tokio::time::timeout(Duration::from_secs(10), self.h.stopped())
            .await
            .expect("the backend stops");
    }
}

fn key(ns: &str, name: &str) -> TaskKey {
    TaskKey::new(ns, name)
}

fn task_yaml(name: &str, extra_spec: &str) -> String {
    format!(
        "apiVersion: foreman.llmkube.dev/v1alpha1\nkind: AgenticTask\nmetadata: {{name: {name}}}\nspec:\n  kind: issue-fix\n  agentRef: {{name: coder}}\n  payload: {{repo: acme/greeter, issue: 1, prompt: \"Fix the greeting\"}}\n{extra_spec}"
    )
}

const AGENT: &str = "apiVersion: foreman.llmkube.dev/v1alpha1\nkind: Agent\nmetadata: {name: coder}\nspec:\n  role: coder\n  maxTurns: 12\n  tools: [read_file, write_file, bash, submit_result]\n";

fn apply(kc: &Path, ns: &str, yaml: &str) {
    kubectl_at(kc, &["-n", ns, "apply", "-f", "-"], Some(yaml));
}

fn set_status(kc: &Path, ns: &str, name: &str, status: Value) {
    kubectl_at(
        kc,
        &[
            "-n",
            ns,
            "patch",
            "agentictask",
            name,
            "--subresource=status",
            "--type=merge",
            "-p",
            &json!({ "status": status }).to_string(),
        ],
        None,
    );
}

fn get_json(kc: &Path, ns: &str, kind: &str, name: &str) -> Value {
    serde_json::from_str(&kubectl_at(
        kc,
        &["-n", ns, "get", kind, name, "-o", "json"],
        None,
    ))
    .unwrap()
}

fn node_yaml(name: &str) -> String {
    format!(
        "apiVersion: foreman.llmkube.dev/v1alpha1\nkind: FleetNode\nmetadata: {{name: {name}}}\nspec: {{nodeName: {name}, roles: [worker]}}\n"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_snapshot_holds_the_cluster_and_changes_and_deletions_follow_live() {
    let (kc, ns) = shared_namespace("console-live");
    let node = format!("{ns}-n1");
    apply(&kc, &ns, AGENT);
    apply(&kc, &ns, &task_yaml("first", ""));
    apply(&kc, &ns, &task_yaml("second", ""));
    apply(
        &kc,
        &ns,
        "apiVersion: foreman.llmkube.dev/v1alpha1\nkind: Workload\nmetadata: {name: wl}\nspec: {intent: fix the greeting}\n",
    );
    kubectl_at(&kc, &["apply", "-f", "-"], Some(&node_yaml(&node)));
    set_status(
        &kc,
        &ns,
        "second",
        json!({"phase": "Succeeded", "verdict": "GO", "assignedNode": node,
               "result": {"verdict": "GO", "summary": "done", "extra": {"pushed": false}}}),
    );

    let mut ui = Ui::start(&kc, &ns, backend_config(&format!("{ns}-here"), None)).await;
    ui.until("the snapshot", 30, |u| u.snapshot).await;
    assert_eq!(ui.tasks.len(), 2, "only this namespace's tasks");
    assert_eq!(ui.state("first"), Some(TaskState::Pending));
    assert_eq!(ui.state("second"), Some(TaskState::AwaitingApproval));
    assert!(ui.nodes.contains_key(&node), "FleetNodes are cluster-wide");
    assert_eq!(ui.agents, vec!["coder".to_string()]);
    ui.until("the workload", 10, |u| u.workloads == ["wl"])
        .await;
    let t = &ui.tasks["second"];
    assert!(
        t.metadata.managed_fields.is_none(),
        "managedFields are dropped"
    );
    assert!(
        t.metadata
            .annotations
            .as_ref()
            .is_none_or(|a| !a.contains_key("kubectl.kubernetes.io/last-applied-configuration")),
        "kubectl's last-applied copy is dropped"
    );

    // A status change made with kubectl arrives as an update.
    set_status(
        &kc,
        &ns,
        "first",
        json!({"phase": "Running", "assignedNode": node}),
    );
    ui.until("first running", 15, |u| {
        u.state("first") == Some(TaskState::Running)
    })
    .await;
    assert_eq!(
        ui.tasks["first"].status.as_ref().unwrap().assigned_node,
        Some(node.clone())
    );

    // Deletions.
    kubectl_at(&kc, &["-n", &ns, "delete", "agentictask", "second"], None);
    ui.until("second deleted", 15, |u| {
        u.deleted_tasks == ["second"] && !u.tasks.contains_key("second")
    })
    .await;
    kubectl_at(&kc, &["delete", "fleetnode", &node], None);
    ui.until("node deleted", 15, |u| u.deleted_nodes.contains(&node))
        .await;
    assert!(ui.errors.is_empty(), "{:?}", ui.errors);
    ui.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn submit_requeue_and_cancel_write_the_apiserver() {
    let (kc, ns) = shared_namespace("console-cmds");
    let here = format!("{ns}-here");
    let dir = tempfile::tempdir().unwrap();
    let mut ui = Ui::start(&kc, &ns, backend_config(&here, None)).await;
    ui.until("the snapshot", 30, |u| u.snapshot).await;
    assert!(ui.tasks.is_empty());

    // Submit: the task before its Agent in the file; both land in the console's namespace.
    let file = dir.path().join("work.yaml");
    std::fs::write(
        &file,
        format!(
            "{}---\n{AGENT}---\n{}",
            task_yaml("alpha", ""),
            task_yaml("beta", "")
        ),
    )
    .unwrap();
    ui.h.send(Command::Submit {
        path: file.clone(),
        replace: false,
    });
    ui.until("submitted tasks", 15, |u| {
        u.tasks.contains_key("alpha") && u.tasks.contains_key("beta")
    })
    .await;
    ui.until("the submit notice", 10, |u| {
        u.notices
            .iter()
            .any(|n| n.contains("submitted 2 task(s) and 1 other"))
    })
    .await;
    assert_eq!(get_json(&kc, &ns, "agent", "coder")["spec"]["maxTurns"], 12);
    // Again: names in use are refused, clearly.
    ui.h.send(Command::Submit {
        path: file,
        replace: false,
    });
    ui.until("already exists", 10, |u| {
        u.errors.iter().any(|e| e.contains("already exists"))
    })
    .await;

    // Cancel a queued task.
    ui.h.send(Command::Cancel(key(&ns, "alpha")));
    ui.until("alpha cancelled", 15, |u| {
        u.state("alpha") == Some(TaskState::Failed)
    })
    .await;
    let st = &get_json(&kc, &ns, "agentictask", "alpha")["status"];
    assert_eq!(st["verdict"], "INCOMPLETE");
    assert_eq!(st["conditions"][0]["reason"], "Cancelled");

    // Re-queue it: back to Pending, the old run forgotten.
    set_status(
        &kc,
        &ns,
        "alpha",
        json!({"assignedNode": "somewhere", "result": {"verdict": "INCOMPLETE", "summary": "x"}}),
    );
    ui.h.send(Command::Requeue(key(&ns, "alpha")));
    ui.until("alpha pending", 15, |u| {
        u.state("alpha") == Some(TaskState::Pending)
    })
    .await;
    let st = &get_json(&kc, &ns, "agentictask", "alpha")["status"];
    assert_eq!(st["phase"], "Pending");
    assert!(
        st.get("assignedNode").is_none() && st.get("result").is_none(),
        "{st}"
    );
    // A pending task is not re-queueable; a task running elsewhere cannot be cancelled here.
    ui.h.send(Command::Requeue(key(&ns, "alpha")));
    ui.until("not re-queueable", 10, |u| {
        u.errors.iter().any(|e| e.contains("cannot be re-queued"))
    })
    .await;
    set_status(
        &kc,
        &ns,
        "beta",
        json!({"phase": "Running", "assignedNode": "far-away"}),
    );
    ui.until("beta running", 15, |u| {
        u.state("beta") == Some(TaskState::Running)
    })
    .await;
    ui.h.send(Command::Cancel(key(&ns, "beta")));
    ui.until("cancel refused", 10, |u| {
        u.errors
            .iter()
            .any(|e| e.contains("running on node far-away"))
    })
    .await;
    assert_eq!(
        get_json(&kc, &ns, "agentictask", "beta")["status"]["phase"],
        "Running"
    );
    // Request changes on a task no node ran (nor awaiting approval) is refused, saying why,
    // and writes nothing (e2e_cluster_revise has the real flow).
    ui.h.send(Command::RequestChanges {
        task: key(&ns, "alpha"),
        feedback: "add a test".into(),
    });
    ui.until("request changes refused", 10, |u| {
        u.errors
            .iter()
            .any(|e| e.contains("alpha: no node is assigned; only the node that ran the task"))
    })
    .await;
    let alpha = get_json(&kc, &ns, "agentictask", "alpha");
    assert_eq!(alpha["status"]["phase"], "Pending");
    assert!(
        alpha["metadata"]["annotations"]["foreman.llmkube.dev/decision"].is_null(),
        "{alpha}"
    );
    ui.stop().await;
}

fn transcript_configmap(name: &str, task: &str, messages: &[Message], turns: u32) -> String {
    let doc = export(messages, turns, usize::MAX);
    let cm = json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": name, "labels": {
            "foreman.llmkube.dev/transcript-of": task, "app.kubernetes.io/part-of": "foreman"}},
        "data": {"transcript.json": doc.transcript_json, "meta.json": doc.meta_json}
    });
    cm.to_string()
}

fn messages_of(records: &[Record]) -> Vec<String> {
    records
        .iter()
        .filter_map(|r| match r {
            Record::Message { message, .. } => message.content.clone(),
            _ => None,
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transcripts_come_from_configmaps_and_follow_their_changes() {
    let (kc, ns) = shared_namespace("console-tr");
    apply(&kc, &ns, AGENT);
    apply(&kc, &ns, &task_yaml("done", ""));
    apply(&kc, &ns, &task_yaml("quiet", ""));
    set_status(
        &kc,
        &ns,
        "done",
        json!({"phase": "Running", "assignedNode": "other-node"}),
    );
    set_status(
        &kc,
        &ns,
        "quiet",
        json!({"phase": "Failed", "verdict": "INCOMPLETE"}),
    );
    let mut convo = vec![
        Message::system("You are a careful engineer."),
        Message::user("Fix the greeting."),
        Message::assistant("Reading greeter.py first."),
    ];
    apply(
        &kc,
        &ns,
        &transcript_configmap("foreman-transcript-done", "done", &convo, 1),
    );
    let mut ui = Ui::start(&kc, &ns, backend_config(&format!("{ns}-here"), None)).await;
    ui.until("the snapshot", 30, |u| u.snapshot).await;

    ui.h.send(Command::LoadTranscript(key(&ns, "done")));
    ui.until("the transcript", 15, |u| !u.transcripts.is_empty())
        .await;
    let (task, records) = ui.transcripts.remove(0);
    assert_eq!(task, "done");
    let records = records.unwrap();
    assert_eq!(
        messages_of(&records),
        vec![
            "You are a careful engineer.",
            "Fix the greeting.",
            "Reading greeter.py first."
        ]
    );
    assert!(
        matches!(records[0], Record::Meta { max_turns: 12, .. }),
        "max turns from the Agent: {:?}",
        records[0]
    );

    // The run goes on (another node rewrites its ConfigMap): the open transcript is re-sent.
    convo.push(Message::assistant("Fixed the typo."));
    apply(
        &kc,
        &ns,
        &transcript_configmap("foreman-transcript-done", "done", &convo, 2),
    );
    ui.until("the updated transcript", 15, |u| {
        u.transcripts.iter().any(|(t, r)| {
            t == "done"
                && r.as_ref().is_ok_and(|r| {
                    messages_of(r).last().map(String::as_str) == Some("Fixed the typo.")
                })
        })
    })
    .await;

    // A task without a ConfigMap: nothing recorded yet (not an error).
    ui.transcripts.clear();
    ui.h.send(Command::LoadTranscript(key(&ns, "quiet")));
    ui.until("the empty transcript", 15, |u| !u.transcripts.is_empty())
        .await;
    assert_eq!(ui.transcripts[0].0, "quiet");
    assert!(ui.transcripts[0].1.as_ref().unwrap().is_empty());
    // ... and once one appears, it is sent without being asked again.
    apply(
        &kc,
        &ns,
        &transcript_configmap("foreman-transcript-quiet", "quiet", &convo[..2], 0),
    );
    ui.until("quiet's transcript", 15, |u| {
        u.transcripts
            .iter()
            .any(|(t, r)| t == "quiet" && r.as_ref().is_ok_and(|r| messages_of(r).len() == 2))
    })
    .await;
    // A ConfigMap of a task nobody opened is not read.
    let before = ui.transcripts.len();
    apply(
        &kc,
        &ns,
        &transcript_configmap("foreman-transcript-other", "other", &convo, 2),
    );
    tokio::time::sleep(Duration::from_millis(800)).await;
    while let Ok(e) = ui.rx.try_recv() {
        ui.apply(e);
    }
    assert!(ui.transcripts[before..].iter().all(|(t, _)| t != "other"));
    assert!(ui.errors.is_empty(), "{:?}", ui.errors);
    ui.stop().await;
}

/// A GO run left on this machine: a clone of `bare` with one commit on `branch`.
fn go_workspace(root: &Path, bare: &Path, name: &str, branch: &str) -> (PathBuf, String) {
    let ws = root.join("ws").join(name);
    std::fs::create_dir_all(ws.parent().unwrap()).unwrap();
    git(
        root,
        &["clone", "-q", bare.to_str().unwrap(), ws.to_str().unwrap()],
    );
    git(&ws, &["checkout", "-q", "-b", branch]);
    std::fs::write(
        ws.join("greeter.py"),
        format!("print('Hello from {name}')\n"),
    )
    .unwrap();
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
    (ws, sha)
}

fn go_status(node: &str, ws: &Path, remote: &Path, branch: &str, sha: &str) -> Value {
    json!({
        "phase": "Succeeded", "verdict": "GO", "assignedNode": node,
        "result": {"schemaVersion": "foreman.v1", "kind": "native-agent-loop", "verdict": "GO",
            "summary": "Fixed the greeting.",
            "extra": {"workspace": ws, "remote": remote, "branch": branch,
                      "commitSHA": sha, "pushed": false}}
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn push_and_pr_are_gated_to_the_node_that_ran_the_task_and_recorded_for_every_console() {
    let (kc, ns) = shared_namespace("console-push");
    let here = format!("{ns}-here");
    let root = tempfile::tempdir().unwrap();
    let bare = seed_bare(
        root.path(),
        "acme/greeter.git",
        &[("greeter.py", "print('Helo')\n")],
    );
    let server = GitServer::start(root.path(), TOKEN);
    apply(&kc, &ns, AGENT);
    let cases = [
        ("go", here.as_str(), "foreman/issue-1"),
        ("elsewhere", "other-node", "foreman/issue-2"),
        ("reject-me", here.as_str(), "foreman/issue-3"),
    ];
    for (name, node, branch) in cases {
        let (ws, sha) = go_workspace(root.path(), &bare, name, branch);
        apply(&kc, &ns, &task_yaml(name, ""));
        set_status(&kc, &ns, name, go_status(node, &ws, &bare, branch, &sha));
    }
    let mut ui = Ui::start(&kc, &ns, backend_config(&here, Some(server.api()))).await;
    // A second console on another node watches the same namespace.
    let mut other = Ui::start(&kc, &ns, backend_config("other-console", None)).await;
    ui.until("the snapshot", 30, |u| u.snapshot).await;
    other.until("the other snapshot", 30, |u| u.snapshot).await;
    for (name, _, _) in cases {
        assert_eq!(ui.state(name), Some(TaskState::AwaitingApproval), "{name}");
    }

    // Approve on the node that ran it: pushed to the remote, recorded on the task.
    ui.h.send(Command::ApprovePush(key(&ns, "go")));
    ui.until("the push", 30, |u| {
        u.jobs.iter().any(|(t, j, _)| t == "go" && *j == Job::Push)
    })
    .await;
    let (_, _, outcome) = ui.jobs.pop().unwrap();
    assert!(
        outcome
            .as_ref()
            .is_ok_and(|m| m.contains("pushed foreman/issue-1")),
        "{outcome:?}"
    );
    let pushed = git(&bare, &["rev-parse", "refs/heads/foreman/issue-1"]);
    // A finished task comes in the Snapshot as its summary (no commit); the console asks for
    // the whole task when it shows more.
    ui.h.send(Command::LoadTask(key(&ns, "go")));
    ui.until("the whole task", 15, |u| {
        !foreman::fleet::summary::is_summary(&u.tasks["go"])
    })
    .await;
    let whole = &ui.tasks["go"];
    assert!(
        whole.metadata.managed_fields.is_none(),
        "slimmed on arrival"
    );
    assert!(whole.spec.payload.prompt.is_some(), "otherwise whole");
    assert_eq!(
        pushed.trim(),
        ui.tasks["go"]
            .status
            .as_ref()
            .unwrap()
            .result
            .as_ref()
            .unwrap()["extra"]["commitSHA"]
    );
    let extra = &get_json(&kc, &ns, "agentictask", "go")["status"]["result"]["extra"];
    assert_eq!(extra["pushed"], true);
    assert_eq!(extra["pushDecision"], "approved");
    assert_eq!(extra["decidedBy"], here.as_str());
    assert!(
        extra["decidedAt"]
            .as_str()
            .is_some_and(|s| s.ends_with('Z'))
    );
    assert_eq!(
        extra["commitSHA"],
        pushed.trim(),
        "the rest of extra is kept"
    );
    ui.until("pushed here", 15, |u| {
        u.state("go") == Some(TaskState::Pushed)
    })
    .await;
    other
        .until("pushed on the other console", 15, |u| {
            u.state("go") == Some(TaskState::Pushed)
        })
        .await;

    // The other console has no workspace: its PR request is a decision written for the node
    // that ran it (issue 13; e2e_cluster_decisions carries them out), withdrawn here.
    other.h.send(Command::OpenPr(key(&ns, "go")));
    other
        .until("the decision", 15, |u| !u.jobs.is_empty())
        .await;
    let (_, job, outcome) = &other.jobs[0];
    assert_eq!(*job, Job::OpenPr);
    let m = outcome.as_ref().unwrap();
    assert!(m.contains(&format!("node {here} carries it out")), "{m}");
    other.h.send(Command::WithdrawDecision(key(&ns, "go")));
    other
        .until("withdrawn", 15, |u| {
            u.notices
                .iter()
                .any(|n| n.contains("withdrew open the pull request"))
        })
        .await;

    // The diff likewise: computed here from the workspace; elsewhere, the node is named.
    ui.h.send(Command::LoadDiff(key(&ns, "go")));
    ui.until("the diff", 15, |u| !u.diffs.is_empty()).await;
    let (task, files) = ui.diffs.pop().unwrap();
    assert_eq!(task, "go");
    let files = files.unwrap();
    assert_eq!(files.len(), 1, "{files:?}");
    assert_eq!(files[0].new_path.as_deref(), Some("greeter.py"));
    assert!(
        files[0].patch.contains("+print('Hello from go')"),
        "{}",
        files[0].patch
    );
    other.h.send(Command::LoadDiff(key(&ns, "go")));
    other
        .until("the diff refusal", 15, |u| !u.diffs.is_empty())
        .await;
    let (_, files) = other.diffs.pop().unwrap();
    let e = files.unwrap_err();
    assert!(
        e.contains(&format!("ran on node {here}")) && e.contains("other-console"),
        "{e}"
    );

    // Open the PR here: the URL and number are recorded and seen everywhere.
    ui.h.send(Command::OpenPr(key(&ns, "go")));
    ui.until("the PR", 30, |u| {
        u.jobs
            .iter()
            .any(|(t, j, _)| t == "go" && *j == Job::OpenPr)
    })
    .await;
    let (_, _, outcome) = ui.jobs.pop().unwrap();
    let url = outcome.unwrap();
    assert!(url.ends_with("/acme/greeter/pull/1"), "{url}");
    let extra = &get_json(&kc, &ns, "agentictask", "go")["status"]["result"]["extra"];
    assert_eq!(extra["prUrl"], url.as_str());
    assert_eq!(extra["prNumber"], 1);
    other
        .until("PR open on the other console", 15, |u| {
            u.state("go") == Some(TaskState::PrOpen)
        })
        .await;

    // A task that ran on another node: the approval is written for that node, nothing is
    // pushed from here (that node runs no worker in this test).
    ui.h.send(Command::ApprovePush(key(&ns, "elsewhere")));
    ui.until("the decision", 15, |u| {
        u.jobs.iter().any(|(t, _, _)| t == "elsewhere")
    })
    .await;
    let (_, job, outcome) = ui.jobs.pop().unwrap();
    assert_eq!(job, Job::Push);
    let m = outcome.unwrap();
    assert!(m.contains("node other-node carries it out"), "{m}");
    assert!(
        git(&bare, &["branch", "--list", "foreman/issue-2"])
            .trim()
            .is_empty()
    );
    assert_eq!(
        get_json(&kc, &ns, "agentictask", "elsewhere")["status"]["result"]["extra"]["pushed"],
        false
    );

    // Reject: recorded, nothing pushed, every console sees it.
    ui.h.send(Command::RejectPush(key(&ns, "reject-me")));
    ui.until("rejected", 15, |u| {
        u.state("reject-me") == Some(TaskState::Rejected)
    })
    .await;
    let extra = &get_json(&kc, &ns, "agentictask", "reject-me")["status"]["result"]["extra"];
    assert_eq!(extra["pushDecision"], "rejected");
    assert_eq!(extra["decidedBy"], here.as_str());
    assert_eq!(extra["pushed"], false);
    assert!(
        git(&bare, &["branch", "--list", "foreman/issue-3"])
            .trim()
            .is_empty()
    );
    other
        .until("rejected on the other console", 15, |u| {
            u.state("reject-me") == Some(TaskState::Rejected)
        })
        .await;
    // Rejecting it from another console while the approval is open is refused, saying whose won.
    other.h.send(Command::RejectPush(key(&ns, "elsewhere")));
    other
        .until("reject refused", 15, |u| {
            u.errors
                .iter()
                .any(|e| e.contains("won; yours (reject the push) was not recorded"))
        })
        .await;
    assert!(ui.errors.is_empty(), "{:?}", ui.errors);
    ui.stop().await;
    other.stop().await;
}

/// Starting kube-apiserver can exceed k8s.sh's 60 s on a loaded 2-core machine: try again.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_watches_come_back_after_an_apiserver_restart() {
    let api = retried("start a private apiserver", PrivateApiserver::start);
    let kc = api.kubeconfig();
    kubectl_at(&kc, &["create", "namespace", "team"], None);
    apply(&kc, "team", AGENT);
    apply(&kc, "team", &task_yaml("steady", ""));
    let mut ui = Ui::start(&kc, "team", backend_config("restart-node", None)).await;
    ui.until("the snapshot", 30, |u| u.snapshot).await;
    assert_eq!(ui.state("steady"), Some(TaskState::Pending));

    api.stop_apiserver();
    ui.until("the lost watch reported", 30, |u| !u.errors.is_empty())
        .await;
    // Reported once per watch, not once per retry.
    tokio::time::sleep(Duration::from_secs(3)).await;
    while let Ok(e) = ui.rx.try_recv() {
        ui.apply(e);
    }
    assert!(ui.errors.len() <= 5, "{:?}", ui.errors);
    retried("restart the apiserver", || api.restart());
    set_status(
        &kc,
        "team",
        "steady",
        json!({"phase": "Running", "assignedNode": "restart-node"}),
    );
    ui.until("the change after the restart", 60, |u| {
        u.state("steady") == Some(TaskState::Running)
    })
    .await;
    ui.until("the recovery notice", 30, |u| {
        u.notices
            .iter()
            .any(|n| n.contains("watching AgenticTasks again"))
    })
    .await;
    ui.stop().await;
}

/// The console on a cluster with its own executor and scheduler, as `foreman --cluster
/// --scheduler` runs it: a submitted task is scheduled to this console's node, run by the real
/// executor (scripted model, local bare remote) with its transcript streaming into the UI, and
/// waits for the operator; approving pushes the branch and records it on the task.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_runs_tasks_scheduled_to_it_and_pushes_on_approval() {
    use common::scripted_oai::{Reply, ScriptedServer};
    use foreman::k8s::scheduler::{SchedulerConfig, Scope};
    use foreman::k8s::worker::WorkerConfig;
    use foreman::k8s::worker::endpoint::EndpointConfig;
    use foreman::k8s::worker::node::NodeConfig;

    let (kc, ns) = shared_namespace("console-run");
    let dir = tempfile::tempdir().unwrap();
    let bare = seed_bare(
        dir.path(),
        "acme/greeter.git",
        &[("README.md", "# Greeter\nteh greeter\n")],
    );
    let server = ScriptedServer::start(vec![
        Reply::tool_call(
            "str_replace",
            r#"{"path":"README.md","old_string":"teh","new_string":"the"}"#,
        ),
        Reply::tool_call(
            "submit_result",
            json!({"verdict":"GO","summary":"fixed the typo","commit_message":"docs: fix typo\n\nFixes #1"}).to_string(),
        ),
    ])
    .unwrap();
    let node = format!("{ns}-console");
    let label = ("foreman-e2e".to_string(), ns.clone());
    let mut w = WorkerConfig::new(
        NodeConfig {
            name: node.clone(),
            roles: vec!["worker".into()],
            labels: [label.clone()].into(),
            ..Default::default()
        },
        foreman::workspace::Identity {
            name: "Foreman Bot".into(),
            email: "bot@example.com".into(),
        },
        dir.path().join("ws"),
    );
    w.journal_dir = dir.path().join("journals");
    w.task_namespace = Some(ns.clone());
    w.heartbeat_every = Duration::from_secs(1);
    w.transcript_every = Duration::from_millis(200);
    w.endpoint = EndpointConfig {
        base_url_override: None,
        host_override: None,
        // The Agent names no InferenceService: the console's configured URL serves it.
        fallback_base_url: Some(server.base_url()),
    };
    w.git_remote_url = Some(bare.display().to_string());
    w.push_now = false;
    let mut cfg = backend_config(&node, None);
    cfg.worker = Some(w);
    cfg.scheduler = Some(SchedulerConfig {
        task_namespace: Some(ns.clone()),
        scope: Scope {
            node_selector: format!("foreman-e2e={ns}").parse().unwrap(),
            ..Default::default()
        },
        ..Default::default()
    });
    let mut ui = Ui::start(&kc, &ns, cfg).await;
    ui.until("snapshot", 30, |u| u.snapshot).await;
    let manifest = dir.path().join("fix.yaml");
    std::fs::write(
        &manifest,
        format!(
            "apiVersion: foreman.llmkube.dev/v1alpha1\nkind: Agent\nmetadata: {{name: coder}}\nspec:\n  role: coder\n  maxRetries: 0\n  tools: [read_file, str_replace, submit_result]\n---\n{}",
            task_yaml("fix-1", "")
        ),
    )
    .unwrap();
    ui.h.send(Command::Submit {
        path: manifest,
        replace: false,
    });

    // The live transcript reaches the UI while the run goes on, not only at the end.
    let mut streamed = 0usize;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(90);
    while ui.state("fix-1") != Some(TaskState::AwaitingApproval) {
        let e = tokio::time::timeout_at(deadline, ui.rx.recv())
            .await
            .unwrap_or_else(|_| {
                panic!(
                    "timed out; state {:?}; errors {:?}; notices {:?}",
                    ui.state("fix-1"),
                    ui.errors,
                    ui.notices
                )
            })
            .expect("backend running");
        if let BackendEvent::Run { task, .. } = &e
            && task.name == "fix-1"
        {
            streamed += 1;
        }
        ui.apply(e);
    }
    assert!(streamed > 3, "the run streamed {streamed} events to the UI");
    let t = &ui.tasks["fix-1"];
    let s = t.status.as_ref().unwrap();
    assert_eq!(s.assigned_node.as_deref(), Some(node.as_str()));
    let sha = s.commit_sha.clone().unwrap();
    assert!(
        git(&bare, &["branch", "--list"]).trim().is_empty()
            || !git(&bare, &["branch", "--list"]).contains("foreman/issue-1"),
        "nothing is pushed before the approval"
    );

    ui.h.send(Command::ApprovePush(key(&ns, "fix-1")));
    ui.until("the push", 60, |u| {
        u.jobs
            .iter()
            .any(|(n, j, _)| n == "fix-1" && *j == Job::Push)
    })
    .await;
    let (_, _, outcome) = ui.jobs.iter().find(|(n, _, _)| n == "fix-1").unwrap();
    assert!(outcome.is_ok(), "{outcome:?}");
    assert_eq!(
        git(&bare, &["rev-parse", "foreman/issue-1"]).trim(),
        sha,
        "the approved commit is on the remote"
    );
    let stored = get_json(&kc, &ns, "agentictask", "fix-1");
    assert_eq!(stored["status"]["result"]["extra"]["pushed"], json!(true));
    assert_eq!(
        stored["status"]["result"]["extra"]["pushDecision"],
        json!("approved")
    );
    ui.until("Pushed", 30, |u| {
        u.state("fix-1") == Some(TaskState::Pushed)
    })
    .await;
    ui.stop().await;
    let n = get_json(&kc, &ns, "fleetnode", &node);
    assert_eq!(
        n["status"]["phase"], "Draining",
        "the console's node drains on quit"
    );
}

/// The watch requests the apiserver received for `resource` in `namespace`, from its audit log
/// (scripts/k8s.sh logs each watch request once, at RequestReceived).
fn watches(api: &PrivateApiserver, resource: &str, namespace: &str) -> usize {
    let log = std::fs::read_to_string(api.dir.path().join("audit.log")).unwrap_or_default();
    log.lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|e| {
            e["verb"] == "watch"
                && e["stage"] == "RequestReceived"
                && e["objectRef"]["resource"] == resource
                && e["objectRef"]["namespace"].as_str().unwrap_or("") == namespace
        })
        .count()
}

/// `foreman --cluster --scheduler`: the console, its worker and its scheduler all read
/// AgenticTasks, from one watch. Counted by the apiserver itself (its audit log), after the
/// scheduler placed a task and the worker ran it, so all three were at work.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_worker_and_scheduler_share_one_agentictask_watch() {
    use foreman::k8s::scheduler::{SchedulerConfig, Scope};
    use foreman::k8s::worker::WorkerConfig;
    use foreman::k8s::worker::node::NodeConfig;

    let api = retried("start a private apiserver", PrivateApiserver::start);
    let kc = api.kubeconfig();
    let ns = "audited";
    kubectl_at(&kc, &["create", "namespace", ns], None);
    apply(&kc, ns, AGENT);
    let dir = tempfile::tempdir().unwrap();
    let node = "audited-console".to_string();
    let mut w = WorkerConfig::new(
        NodeConfig {
            name: node.clone(),
            roles: vec!["worker".into()],
            labels: [("pool".to_string(), "audited".to_string())].into(),
            ..Default::default()
        },
        foreman::workspace::Identity {
            name: "Foreman Bot".into(),
            email: "bot@example.com".into(),
        },
        dir.path().join("ws"),
    );
    w.task_namespace = Some(ns.into());
    w.journal_dir = dir.path().join("journals");
    w.stub_sleep = Some(Duration::from_millis(100));
    let mut cfg = backend_config(&node, None);
    cfg.worker = Some(w);
    cfg.scheduler = Some(SchedulerConfig {
        task_namespace: Some(ns.into()),
        scope: Scope {
            node_selector: "pool=audited".parse().unwrap(),
            ..Default::default()
        },
        ..Default::default()
    });
    let mut ui = Ui::start(&kc, ns, cfg).await;
    ui.until("snapshot", 30, |u| u.snapshot).await;
    apply(&kc, ns, &task_yaml("audit-1", ""));
    ui.until("the task scheduled here and run", 60, |u| {
        u.tasks.get("audit-1").is_some_and(|t| {
            let s = t.status.as_ref();
            s.and_then(|s| s.assigned_node.as_deref()) == Some(node.as_str())
                && s.and_then(|s| s.verdict).is_some()
        })
    })
    .await;
    // The scheduler watches FleetNodes and Agents too, as does the console: two each, which
    // shows the log is read right and the scheduler's watches are all up.
    assert_eq!(watches(&api, "agents", ns), 2);
    assert_eq!(
        watches(&api, "agentictasks", ns),
        1,
        "one AgenticTask watch for the console, its worker and its scheduler"
    );
    ui.stop().await;
}
