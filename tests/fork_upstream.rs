//! Fork → upstream (issue 13 §4, upstream HEAD #875) against two real smart-HTTP repositories
//! served by `git_http_server.py` and its pulls API: the task's `payload.repo` is the upstream
//! (`acme/fleet`), the configured remote is the fork (`bot/fleet`, stale: it lacks the
//! upstream's `release` branch). The run starts from the upstream's `payload.baseBranch`,
//! the push goes to the fork only, and the PR is opened on the upstream with head
//! `bot:foreman/issue-7` into `release`.

mod common;

use common::scripted_oai::ScriptedServer;
use common::{GitServer, fix_then_go, git, seed_bare};
use foreman::api::AgenticTask;
use foreman::backend::embedded::{EmbeddedConfig, EmbeddedOptions, start_embedded_with};
use foreman::backend::{BackendEvent, BackendHandle, Command, Job};
use foreman::executor::run::TokenSource;
use foreman::fleet::{TaskKey, TaskState, status::result_extra, task_state};
use foreman::workspace::Token;
use std::path::Path;
use std::time::Duration;
use tokio::sync::mpsc;

const TOKEN: &str = "fork-test-token";
const TASKS: &str = "apiVersion: foreman.llmkube.dev/v1alpha1\nkind: Agent\nmetadata: {name: coder}\nspec:\n  role: coder\n  maxRetries: 1\n  tools: [read_file, write_file, str_replace, grep, bash, submit_result]\n---\napiVersion: foreman.llmkube.dev/v1alpha1\nkind: AgenticTask\nmetadata: {name: fix}\nspec:\n  kind: issue-fix\n  agentRef: {name: coder}\n  payload: {repo: acme/fleet, issue: 7, baseBranch: release, prompt: \"Fix the typo in README\"}\n";

/// The upstream `acme/fleet` (README with the typo on `main`, then a `release` branch one
/// commit ahead) and the fork `bot/fleet`, cloned from it before `release` existed.
fn repos(root: &Path) -> (std::path::PathBuf, std::path::PathBuf, String) {
    let upstream = seed_bare(
        root,
        "acme/fleet.git",
        &[("README.md", "# Fleet\nteh fleet\n")],
    );
    let fork = root.join("bot/fleet.git");
    std::fs::create_dir_all(fork.parent().unwrap()).unwrap();
    let (u, f) = (upstream.to_str().unwrap(), fork.to_str().unwrap());
    git(root, &["clone", "-q", "--bare", u, f]);
    let work = root.join("release-work");
    git(root, &["clone", "-q", u, work.to_str().unwrap()]);
    git(&work, &["checkout", "-q", "-b", "release"]);
    std::fs::write(work.join("CHANGES.md"), "release notes\n").unwrap();
    git(&work, &["add", "-A"]);
    git(&work, &["commit", "-q", "-m", "release notes"]);
    git(&work, &["push", "-q", "origin", "release"]);
    let tip = git(&upstream, &["rev-parse", "release"]).trim().to_string();
    (upstream, fork, tip)
}

struct Ui {
    rx: mpsc::UnboundedReceiver<BackendEvent>,
    task: Option<AgenticTask>,
    jobs: Vec<(Job, Result<String, String>)>,
}

impl Ui {
    async fn until(&mut self, what: &str, f: impl Fn(&Ui) -> bool) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        while !f(self) {
            match tokio::time::timeout_at(deadline, self.rx.recv()).await {
                Ok(Some(BackendEvent::TaskUpdated(t))) => self.task = Some(*t),
                Ok(Some(BackendEvent::Snapshot { tasks, .. })) => {
                    self.task = tasks
                        .into_iter()
                        .next()
                        .map(|(_, t)| t.task().unwrap().into_owned())
                        .or(self.task.take())
                }
                Ok(Some(BackendEvent::JobDone { job, outcome, .. })) => {
                    self.jobs.push((job, outcome))
                }
                Ok(Some(_)) => {}
                _ => panic!(
                    "timed out waiting for {what}: {:?} {:?}",
                    self.task
                        .as_ref()
                        .map(|t| (task_state(t), t.status.clone())),
                    self.jobs
                ),
            }
        }
    }
    fn state(&self) -> Option<TaskState> {
        self.task.as_ref().map(task_state)
    }
}

fn opts() -> EmbeddedOptions {
    EmbeddedOptions {
        probe_inference: false,
        schedule_every: Duration::from_millis(100),
        heartbeat_every: Duration::from_millis(500),
        probe_every: Duration::from_secs(60),
        refresh_every: Duration::from_millis(100),
    }
}

fn start(cfg: EmbeddedConfig) -> (Ui, BackendHandle) {
    let (tx, rx) = mpsc::unbounded_channel();
    let h = start_embedded_with(cfg, opts(), tx).unwrap();
    let ui = Ui {
        rx,
        task: None,
        jobs: Vec::new(),
    };
    (ui, h)
}

#[tokio::test]
async fn the_run_starts_from_the_upstream_base_pushes_to_the_fork_and_prs_the_upstream() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("git");
    let (upstream, fork, release_tip) = repos(&root);
    let upstream_refs = git(&upstream, &["for-each-ref"]);
    let gs = GitServer::start(&root, TOKEN);
    let model = ScriptedServer::start(fix_then_go("docs: fix typo\n\nFixes #7")).unwrap();
    let mut cfg = common::local::embedded_config(&dir.path().join("state"), &model.base_url(), 1);
    cfg.git_remote_url = Some(gs.url("bot/fleet"));
    cfg.github_api_base = gs.api();
    cfg.token = TokenSource::Given(Token::new(TOKEN));

    let (mut ui, h) = start(cfg);
    let file = dir.path().join("t.yaml");
    std::fs::write(&file, TASKS).unwrap();
    h.send(Command::Submit {
        path: file,
        replace: false,
    });
    ui.until("awaiting approval", |u| {
        u.state() == Some(TaskState::AwaitingApproval)
    })
    .await;
    let x = result_extra(ui.task.as_ref().unwrap());
    assert_eq!(x.upstream.as_deref(), Some("acme/fleet"));
    assert_eq!(x.pr_head.as_deref(), Some("bot:foreman/issue-7"));
    assert_eq!(x.base_branch.as_deref(), Some("release"));
    assert_eq!(x.remote.as_deref(), Some(gs.url("bot/fleet").as_str()));

    h.send(Command::ApprovePush(TaskKey::new("default", "fix")));
    ui.until("pushed", |u| {
        u.state() == Some(TaskState::Pushed) && !u.jobs.is_empty()
    })
    .await;
    assert!(
        matches!(&ui.jobs[..], [(Job::Push, Ok(_))]),
        "{:?}",
        ui.jobs
    );
    // The fork got the branch, cut from the upstream's release tip (not the fork's stale main).
    let parent = git(&fork, &["rev-parse", "foreman/issue-7^"]);
    assert_eq!(parent.trim(), release_tip);
    let files = git(&fork, &["ls-tree", "--name-only", "foreman/issue-7"]);
    assert!(files.contains("CHANGES.md"), "{files}");
    let readme = git(&fork, &["show", "foreman/issue-7:README.md"]);
    assert!(readme.contains("the fleet"), "{readme}");
    // The upstream got no push at all.
    assert_eq!(git(&upstream, &["for-each-ref"]), upstream_refs);

    h.send(Command::OpenPr(TaskKey::new("default", "fix")));
    ui.until("pr open", |u| {
        u.state() == Some(TaskState::PrOpen) && u.jobs.len() == 2
    })
    .await;
    let url = format!("http://127.0.0.1:{}/acme/fleet/pull/1", gs.port);
    assert!(
        matches!(&ui.jobs[1], (Job::OpenPr, Ok(u)) if *u == url),
        "{:?}",
        ui.jobs
    );
    let pulls: serde_json::Value = reqwest::Client::new()
        .get(format!("{}/repos/acme/fleet/pulls", gs.api()))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let pr = &pulls[0];
    assert_eq!(pr["head"]["label"], "bot:foreman/issue-7", "{pulls}");
    assert_eq!(pr["head"]["ref"], "foreman/issue-7");
    assert_eq!(pr["base"]["ref"], "release");
    let sha = git(&fork, &["rev-parse", "foreman/issue-7"]);
    assert_eq!(pr["head"]["sha"], sha.trim());
    assert_eq!(pulls.as_array().unwrap().len(), 1);
    // Pressing it again finds the same PR on the upstream.
    h.send(Command::OpenPr(TaskKey::new("default", "fix")));
    ui.until("second pr job", |u| u.jobs.len() == 3).await;
    assert!(
        matches!(&ui.jobs[2], (Job::OpenPr, Ok(u)) if *u == url),
        "{:?}",
        ui.jobs
    );
    h.send(Command::Shutdown);
    h.stopped().await;
}

#[tokio::test]
async fn a_base_branch_the_upstream_lacks_stops_the_run_before_any_tool() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("git");
    let (_upstream, fork, _) = repos(&root);
    let gs = GitServer::start(&root, TOKEN);
    let model = ScriptedServer::start(fix_then_go("docs: fix typo")).unwrap();
    let mut cfg = common::local::embedded_config(&dir.path().join("state"), &model.base_url(), 1);
    cfg.git_remote_url = Some(gs.url("bot/fleet"));
    cfg.token = TokenSource::Given(Token::new(TOKEN));
    let (mut ui, h) = start(cfg);
    let file = dir.path().join("t.yaml");
    std::fs::write(
        &file,
        TASKS.replace("baseBranch: release", "baseBranch: nope"),
    )
    .unwrap();
    h.send(Command::Submit {
        path: file,
        replace: false,
    });
    ui.until("finished", |u| {
        u.task
            .as_ref()
            .is_some_and(|t| t.status.as_ref().and_then(|s| s.result.as_ref()).is_some())
    })
    .await;
    let t = ui.task.clone().unwrap();
    let result = t.status.unwrap().result.unwrap();
    assert_eq!(result["verdict"], "INCOMPLETE", "{result}");
    assert_eq!(result["extra"]["reason"], "CloneFailed", "{result}");
    let summary = result["summary"].as_str().unwrap();
    assert!(summary.contains("no branch `nope`"), "{summary}");
    assert!(!summary.contains(TOKEN));
    // The first request ran beside the clone and was cut off there: no second one, no tool.
    assert!(
        model.requests().len() <= 1,
        "the run went on past the failed set-up"
    );
    assert!(
        git(&fork, &["branch", "--list", "foreman/*"])
            .trim()
            .is_empty()
    );
    h.send(Command::Shutdown);
    h.stopped().await;
}
