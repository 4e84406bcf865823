//! Workloads in the embedded default, end to end: a submitted Workload fans out into its
//! tasks, `dependsOn` holds the second step until the first has run, and the Workload's status
//! rolls up as the runs end, against the scripted OpenAI server and a local bare repo.

mod common;

use common::scripted_oai::ScriptedServer;
use common::{fix_readme, fleet_repo, submit_result};
use foreman::api::workload::WorkloadPhase;
use foreman::api::{AgenticTask, Workload};
use foreman::backend::embedded::{EmbeddedConfig, EmbeddedOptions, Store, start_embedded_with};
use foreman::backend::{BackendEvent, BackendHandle, Command};
use foreman::fleet::workload::LABEL_WORKLOAD;
use foreman::fleet::{TaskKey, TaskState, task_state};
use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;
use tokio::sync::mpsc;

const AGENT: &str = "apiVersion: foreman.llmkube.dev/v1alpha1\nkind: Agent\nmetadata: {name: coder}\nspec:\n  role: coder\n  maxRetries: 1\n  tools: [read_file, write_file, str_replace, grep, bash, submit_result]\n";

/// A two-step pipeline Workload: `check` depends on `code`.
fn pipeline(name: &str) -> String {
    format!(
        "---\napiVersion: foreman.llmkube.dev/v1alpha1\nkind: Workload\nmetadata: {{name: {name}}}\nspec:\n  intent: fix the typo, then check it\n  repo: acme/fleet\n  pipeline:\n  - name: code\n    kind: issue-fix\n    agentRef: {{name: coder}}\n    payload: {{issue: 7, prompt: \"Fix the typo in README\"}}\n  - name: check\n    kind: freeform\n    agentRef: {{name: coder}}\n    dependsOn: [code]\n    payload: {{prompt: \"Fix the typo in README\"}}\n"
    )
}

struct Ui {
    rx: mpsc::UnboundedReceiver<BackendEvent>,
    tasks: HashMap<String, AgenticTask>,
    workloads: HashMap<String, Workload>,
    /// The first state seen for each task while another one was running.
    seen_waiting: Vec<String>,
    errors: Vec<String>,
}

impl Ui {
    fn start(cfg: EmbeddedConfig) -> (Ui, BackendHandle) {
        let opts = EmbeddedOptions {
            probe_inference: false,
            schedule_every: Duration::from_millis(100),
            heartbeat_every: Duration::from_millis(500),
            probe_every: Duration::from_secs(60),
            refresh_every: Duration::from_millis(100),
        };
        let (tx, rx) = mpsc::unbounded_channel();
        let h = start_embedded_with(cfg, opts, tx).unwrap();
        let ui = Ui {
            rx,
            tasks: HashMap::new(),
            workloads: HashMap::new(),
            seen_waiting: Vec::new(),
            errors: Vec::new(),
        };
        (ui, h)
    }

    fn apply(&mut self, e: BackendEvent) {
        match e {
            BackendEvent::TaskUpdated(t) => {
                let name = TaskKey::of(&t).name;
                if task_state(&t) == TaskState::Waiting {
                    self.seen_waiting.push(name.clone());
                }
                self.tasks.insert(name, *t);
            }
            BackendEvent::WorkloadUpdated(w) => {
                self.workloads
                    .insert(w.metadata.name.clone().unwrap_or_default(), *w);
            }
            BackendEvent::Error(e) => self.errors.push(e),
            _ => {}
        }
    }

    fn state(&self, name: &str) -> Option<TaskState> {
        self.tasks.get(name).map(task_state)
    }

    fn phase(&self, wl: &str) -> Option<WorkloadPhase> {
        self.workloads.get(wl)?.status.as_ref()?.phase
    }

    async fn until(&mut self, what: &str, f: impl Fn(&Ui) -> bool) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        while !f(self) {
            match tokio::time::timeout_at(deadline, self.rx.recv()).await {
                Ok(Some(e)) => self.apply(e),
                _ => panic!(
                    "timed out waiting for {what}; tasks: {:?}; workloads: {:?}; errors: {:?}",
                    self.tasks
                        .iter()
                        .map(|(k, t)| (k.clone(), task_state(t)))
                        .collect::<Vec<_>>(),
                    self.workloads
                        .values()
                        .map(|w| w.status.clone())
                        .collect::<Vec<_>>(),
                    self.errors
                ),
            }
        }
    }
}

fn submit(h: &BackendHandle, dir: &Path, file: &str, text: &str) {
    let p = dir.join(file);
    std::fs::write(&p, text).unwrap();
    h.send(Command::Submit {
        path: p,
        replace: false,
    });
}

fn config(root: &Path, bare: &Path, base_url: &str) -> EmbeddedConfig {
    EmbeddedConfig {
        git_remote_url: Some(bare.display().to_string()),
        ..common::local::embedded_config(&root.join("state"), base_url, 2)
    }
}

#[tokio::test]
async fn a_pipeline_fans_out_waits_on_depends_on_and_rolls_up_completed() {
    let r = fleet_repo();
    // `code` runs first (fix, GO); `check` only after it (fix in its own clone, GO).
    let server = ScriptedServer::start(vec![
        fix_readme(),
        submit_result("GO", "docs: fix typo\n\nFixes #7"),
        fix_readme(),
        submit_result("GO", "docs: fix typo again"),
    ])
    .unwrap();
    let (mut ui, h) = Ui::start(config(&r.root, &r.bare, &server.base_url()));
    submit(
        &h,
        &r.root,
        "w.yaml",
        &format!("{AGENT}{}", pipeline("typo")),
    );
    ui.until("both tasks created", |u| {
        u.tasks.contains_key("typo-code") && u.tasks.contains_key("typo-check")
    })
    .await;
    let check = &ui.tasks["typo-check"];
    assert_eq!(
        check.spec.depends_on.as_deref(),
        Some(&["typo-code".to_string()][..])
    );
    assert_eq!(
        check.metadata.labels.as_ref().unwrap()[LABEL_WORKLOAD],
        "typo"
    );
    ui.until("completed", |u| {
        u.phase("typo") == Some(WorkloadPhase::Completed)
    })
    .await;
    // Two slots, yet `check` waited for `code`.
    assert!(
        ui.seen_waiting.contains(&"typo-check".to_string()),
        "{:?}",
        ui.seen_waiting
    );
    let st = ui.workloads["typo"].status.clone().unwrap();
    assert_eq!(
        (st.succeeded_tasks, st.failed_tasks, st.incomplete_tasks),
        (Some(2), Some(0), Some(0))
    );
    assert_eq!(st.tasks.as_ref().map(Vec::len), Some(2));
    assert_eq!(server.remaining(), 0, "each step ran once");
    h.send(Command::Shutdown);
    h.stopped().await;

    // Persisted, and a restart plans nothing twice.
    let (store, _) = Store::open(&r.root.join("state")).unwrap();
    assert_eq!(store.tasks().len(), 2);
    let w = store.workload("default", "typo").unwrap();
    assert_eq!(
        w.status.as_ref().unwrap().phase,
        Some(WorkloadPhase::Completed)
    );
    drop(store);
    let (mut ui, h) = Ui::start(config(&r.root, &r.bare, &server.base_url()));
    tokio::time::sleep(Duration::from_millis(400)).await;
    while let Ok(e) = ui.rx.try_recv() {
        ui.apply(e);
    }
    assert_eq!(
        ui.tasks.len(),
        0,
        "no task was created again: {:?}",
        ui.tasks.keys()
    );
    h.send(Command::Shutdown);
    h.stopped().await;
    let (store, _) = Store::open(&r.root.join("state")).unwrap();
    assert_eq!(store.tasks().len(), 2);
}

#[tokio::test]
async fn a_failed_stage_fails_the_workload_and_cascades() {
    let r = fleet_repo();
    // `code` ends NO-GO (Succeeded, off target): `check` cascades and the rollup is Failed,
    // the off-target run counted as incomplete, not as succeeded.
    let server = ScriptedServer::start(vec![submit_result("NO-GO", "")]).unwrap();
    let (mut ui, h) = Ui::start(config(&r.root, &r.bare, &server.base_url()));
    submit(
        &h,
        &r.root,
        "w.yaml",
        &format!("{AGENT}{}", pipeline("broken")),
    );
    ui.until("failed", |u| {
        u.phase("broken") == Some(WorkloadPhase::Failed)
    })
    .await;
    assert_eq!(ui.state("broken-check"), Some(TaskState::Failed));
    let st = ui.workloads["broken"].status.clone().unwrap();
    assert_eq!(
        (st.succeeded_tasks, st.failed_tasks, st.incomplete_tasks),
        (Some(0), Some(1), Some(1))
    );
    let c = st
        .conditions
        .unwrap()
        .into_iter()
        .find(|c| c.type_ == "Completed")
        .unwrap();
    assert_eq!(
        (c.status.as_str(), c.reason.as_str()),
        ("False", "ChildrenFailed")
    );
    h.send(Command::Shutdown);
    h.stopped().await;
}

#[tokio::test]
async fn an_intent_only_workload_fails_no_planner_or_pipeline() {
    let r = fleet_repo();
    let (mut ui, h) = Ui::start(config(&r.root, &r.bare, "http://127.0.0.1:9/v1"));
    submit(
        &h,
        &r.root,
        "w.yaml",
        "apiVersion: foreman.llmkube.dev/v1alpha1\nkind: Workload\nmetadata: {name: wish}\nspec: {intent: make it faster}\n",
    );
    ui.until("failed", |u| u.phase("wish") == Some(WorkloadPhase::Failed))
        .await;
    let c = ui.workloads["wish"]
        .status
        .clone()
        .unwrap()
        .conditions
        .unwrap();
    assert_eq!(c[0].reason, "NoPlannerOrPipeline");
    assert!(ui.tasks.is_empty());
    h.send(Command::Shutdown);
    h.stopped().await;
}
