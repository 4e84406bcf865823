//! The attempt selector's protocol against the real embedded backend: three attempts of one
//! task (run, reject, re-queue, twice), each browsable afterwards with its own journal, its
//! own status and its diff while its commit is still in the kept workspace; nothing a later
//! attempt did overwrote an earlier one.

mod common;

use common::scripted_oai::ScriptedServer;
use common::{fix_then_go, fleet_repo, git};
use foreman::backend::embedded::start_embedded_with;
use foreman::backend::{AttemptView, BackendEvent, BackendHandle, Command};
use foreman::fleet::status::result_extra;
use foreman::fleet::{TaskKey, TaskState, task_state};
use std::path::Path;
use std::time::Duration;
use tokio::sync::mpsc;

const AGENT: &str = "apiVersion: foreman.llmkube.dev/v1alpha1\nkind: Agent\nmetadata: {name: coder}\nspec:\n  role: coder\n  maxRetries: 1\n  tools: [read_file, write_file, str_replace, grep, bash, submit_result]\n";
const TASK: &str = "---\napiVersion: foreman.llmkube.dev/v1alpha1\nkind: AgenticTask\nmetadata: {name: fix}\nspec:\n  kind: issue-fix\n  agentRef: {name: coder}\n  payload: {repo: acme/fleet, issue: 7, prompt: \"Fix the typo in README\"}\n";

fn key() -> TaskKey {
    TaskKey::new("default", "fix")
}

struct Ui {
    rx: mpsc::UnboundedReceiver<BackendEvent>,
    task: Option<foreman::api::AgenticTask>,
    views: Vec<AttemptView>,
    errors: Vec<String>,
}

impl Ui {
    async fn until(&mut self, what: &str, f: impl Fn(&Ui) -> bool) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        while !f(self) {
            match tokio::time::timeout_at(deadline, self.rx.recv()).await {
                Ok(Some(BackendEvent::TaskUpdated(t))) => self.task = Some(*t),
                Ok(Some(BackendEvent::Attempt(v))) => self.views.push(*v),
                Ok(Some(BackendEvent::Error(e))) => self.errors.push(e),
                Ok(Some(_)) => {}
                _ => panic!(
                    "timed out waiting for {what}; state {:?}, errors {:?}",
                    self.task.as_ref().map(task_state),
                    self.errors
                ),
            }
        }
    }

    fn state(&self) -> Option<TaskState> {
        self.task.as_ref().map(task_state)
    }

    async fn attempt(&mut self, h: &BackendHandle, n: u32) -> AttemptView {
        self.views.clear();
        h.send(Command::LoadAttempt {
            task: key(),
            attempt: n,
        });
        self.until(&format!("attempt {n}"), |u| !u.views.is_empty())
            .await;
        self.views.remove(0)
    }

    /// Runs until the push awaits approval, returns the commit, rejects it.
    async fn run_and_reject(&mut self, h: &BackendHandle) -> String {
        self.until("awaiting approval", |u| {
            u.state() == Some(TaskState::AwaitingApproval)
        })
        .await;
        let sha = result_extra(self.task.as_ref().unwrap())
            .commit_sha
            .expect("a GO commit");
        h.send(Command::RejectPush(key()));
        self.until("rejected", |u| u.state() == Some(TaskState::Rejected))
            .await;
        sha
    }
}

fn journal_text(v: &AttemptView) -> String {
    serde_json::to_string(v.records.as_ref().expect("a readable journal")).unwrap()
}

fn file_name(p: Option<&String>) -> String {
    Path::new(p.expect("a transcriptRef"))
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned()
}

#[tokio::test]
async fn three_attempts_are_each_browsable_and_none_is_overwritten() {
    let r = fleet_repo();
    let mut replies = fix_then_go("docs: attempt one");
    replies.extend(fix_then_go("docs: attempt two"));
    replies.extend(fix_then_go("docs: attempt three"));
    let server = ScriptedServer::start(replies).unwrap();
    let cfg = foreman::backend::embedded::EmbeddedConfig {
        git_remote_url: Some(r.bare.display().to_string()),
        ..common::local::embedded_config(&r.root.join("state"), &server.base_url(), 1)
    };
    let opts = foreman::backend::embedded::EmbeddedOptions {
        probe_inference: false,
        schedule_every: Duration::from_millis(100),
        heartbeat_every: Duration::from_millis(500),
        probe_every: Duration::from_secs(60),
        refresh_every: Duration::from_millis(100),
    };
    let (tx, rx) = mpsc::unbounded_channel();
    let h = start_embedded_with(cfg, opts, tx).unwrap();
    let mut ui = Ui {
        rx,
        task: None,
        views: Vec::new(),
        errors: Vec::new(),
    };
    let file = r.root.join("t.yaml");
    std::fs::write(&file, format!("{AGENT}{TASK}")).unwrap();
    h.send(Command::Submit {
        path: file,
        replace: false,
    });

    let one = ui.run_and_reject(&h).await;
    // Attempt 1's commit reaches the remote (the operator kept it by hand), so the fresh
    // clone of the next attempt still holds it; attempt 2's never leaves its workspace.
    let ws = result_extra(ui.task.as_ref().unwrap()).workspace.unwrap();
    git(
        Path::new(&ws),
        &[
            "push",
            &r.bare.display().to_string(),
            &format!("{one}:refs/heads/kept-1"),
        ],
    );
    h.send(Command::Requeue(key()));
    let two = ui.run_and_reject(&h).await;
    h.send(Command::Requeue(key()));
    ui.until("attempt 3 awaiting approval", |u| {
        u.state() == Some(TaskState::AwaitingApproval)
    })
    .await;
    let three = result_extra(ui.task.as_ref().unwrap()).commit_sha.unwrap();
    assert!(one != two && two != three && one != three);

    let v1 = ui.attempt(&h, 1).await;
    let v2 = ui.attempt(&h, 2).await;
    let v3 = ui.attempt(&h, 3).await;
    for (v, n) in [(&v1, 1), (&v2, 2), (&v3, 3)] {
        assert_eq!((v.task.clone(), v.attempt), (key(), n));
        assert_eq!(v.attempts, vec![1, 2, 3]);
    }
    // Each attempt's journal is its own file and holds its own run.
    assert!(journal_text(&v1).contains("docs: attempt one"));
    assert!(!journal_text(&v1).contains("docs: attempt two"));
    assert!(journal_text(&v2).contains("docs: attempt two"));
    assert!(!journal_text(&v2).contains("docs: attempt three"));
    assert!(journal_text(&v3).contains("docs: attempt three"));
    let refs: Vec<String> = [&v1, &v2, &v3]
        .iter()
        .map(|v| file_name(v.status.as_ref().unwrap().transcript_ref.as_ref()))
        .collect();
    assert_eq!(
        refs,
        ["fix.jsonl", "fix.attempt-2.jsonl", "fix.attempt-3.jsonl"]
    );
    // Each status is how that attempt ended: its own commit, the first two rejected.
    let status_task = |v: &AttemptView| foreman::api::AgenticTask {
        status: v.status.clone(),
        ..ui.task.clone().unwrap()
    };
    let ended: Vec<(Option<String>, TaskState)> = [&v1, &v2, &v3]
        .iter()
        .map(|v| {
            let t = status_task(v);
            (result_extra(&t).commit_sha, task_state(&t))
        })
        .collect();
    assert_eq!(
        ended,
        vec![
            (Some(one.clone()), TaskState::Rejected),
            (Some(two.clone()), TaskState::Rejected),
            (Some(three), TaskState::AwaitingApproval),
        ]
    );
    // Attempt 1's commit is still in the kept workspace (via the remote): its diff shows;
    // attempt 2's is gone and says so; the current one's diff is LoadDiff's.
    let files = v1.diff.clone().expect("a diff").expect("attempt 1's diff");
    assert!(
        files
            .iter()
            .any(|f| f.new_path.as_deref() == Some("README.md")),
        "{files:?}"
    );
    let gone = v2.diff.clone().expect("a diff answer").unwrap_err();
    assert!(
        gone.contains("attempt 2's workspace is gone") && gone.contains(&two[..12]),
        "{gone}"
    );
    assert!(v3.diff.is_none());
    // An attempt that never was is refused by number.
    let v4 = ui.attempt(&h, 4).await;
    let err = v4.records.unwrap_err();
    assert!(
        err.contains("no attempt 4") && err.contains("1, 2, 3"),
        "{err}"
    );
    assert!(ui.errors.is_empty(), "{:?}", ui.errors);
    h.send(Command::Shutdown);
    h.stopped().await;
}
