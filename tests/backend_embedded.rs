//! The embedded backend end to end: the state directory, recovery, scheduling (priority,
//! dependsOn, AgentNotFound, concurrency), and the full approve → push → PR flow against the
//! scripted OpenAI server, local bare repos and the real `git_http_server.py` pulls API.

mod common;

use common::scripted_oai::{Reply, ScriptedServer};
use common::ui::{Ui, opts, submit};
use common::{FleetRepo, GitServer, fix_then_go, fleet_repo, git};
use foreman::api::{AgenticTask, Object, TaskPhase, Verdict, load_str};
use foreman::backend::embedded::{EmbeddedConfig, EmbeddedOptions, Store, StoreError};
use foreman::backend::{BackendHandle, Command, Job};
use foreman::executor::run::TokenSource;
use foreman::fleet::TaskKey;
use foreman::fleet::TaskState;
use foreman::fleet::task_state;
use foreman::workspace::Token;
use std::net::TcpListener;
use std::path::Path;
use std::time::{Duration, Instant};

const AGENT: &str = "apiVersion: foreman.llmkube.dev/v1alpha1\nkind: Agent\nmetadata: {name: coder}\nspec:\n  role: coder\n  maxRetries: 1\n  tools: [read_file, write_file, str_replace, grep, bash, submit_result]\n";

fn task_yaml(name: &str, extra: &str) -> String {
    format!(
        "---\napiVersion: foreman.llmkube.dev/v1alpha1\nkind: AgenticTask\nmetadata: {{name: {name}}}\nspec:\n  kind: issue-fix\n  agentRef: {{name: coder}}\n  payload: {{repo: acme/fleet, issue: 7, prompt: \"Fix the typo in README\"}}\n{extra}"
    )
}

fn key(name: &str) -> TaskKey {
    TaskKey::new("default", name)
}

fn config(state: &Path, base_url: &str, remote: Option<String>, max: usize) -> EmbeddedConfig {
    EmbeddedConfig {
        git_remote_url: remote,
        ..common::local::embedded_config(state, base_url, max)
    }
}

/// [`config`] with the state dir and remote of a local [`FleetRepo`].
fn local_config(r: &FleetRepo, base_url: &str, max: usize) -> EmbeddedConfig {
    config(
        &r.root.join("state"),
        base_url,
        Some(r.bare.display().to_string()),
        max,
    )
}

/// Submits the coder Agent and the one task `fix`.
fn submit_fix(h: &BackendHandle, dir: &Path) {
    submit(
        h,
        dir,
        "t.yaml",
        &format!("{AGENT}{}", task_yaml("fix", "")),
    );
}

fn objects(text: &str) -> Vec<Object> {
    load_str("test", text).unwrap()
}

#[test]
fn store_round_trips_and_refuses_a_second_create() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, warnings) = Store::open(dir.path()).unwrap();
    assert!(warnings.is_empty());
    let done = store
        .submit(
            objects(&format!("{AGENT}{}", task_yaml("t1", "  priority: 3\n"))),
            false,
        )
        .unwrap();
    assert_eq!(done.tasks, vec![key("t1")]);
    assert_eq!(
        done.lines,
        vec!["agent default/coder created", "task default/t1 created"]
    );
    let err = store
        .submit(objects(&task_yaml("t1", "")), false)
        .unwrap_err();
    assert!(matches!(err, StoreError::Duplicate(_)));
    assert!(
        err.to_string().contains("default/t1") && err.to_string().contains("--replace"),
        "{err}"
    );
    assert!(dir.path().join("state.db").exists());

    let (again, _) = Store::open(dir.path()).unwrap();
    let t = &again.tasks()[0];
    assert_eq!(t.status.as_ref().unwrap().phase, Some(TaskPhase::Pending));
    assert!(t.metadata.creation_timestamp.is_some());
    assert!(t.metadata.resource_version.is_some());
    assert_eq!(t.spec.priority, Some(3));
    assert_eq!(again.agents().len(), 1);
    assert_eq!(t, store.task(&key("t1")).unwrap());
    assert_eq!(
        again.journal_path(&key("t1")),
        dir.path().join("transcripts/default/t1.jsonl")
    );
}

#[test]
fn recovery_marks_running_tasks_interrupted_and_requeue_resets_them() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, _) = Store::open(dir.path()).unwrap();
    store
        .submit(
            objects(&format!(
                "{AGENT}{}{}",
                task_yaml("run", ""),
                task_yaml("wait", "")
            )),
            false,
        )
        .unwrap();
    let mut t = store.task(&key("run")).unwrap().clone();
    let s = t.status.as_mut().unwrap();
    s.phase = Some(TaskPhase::Running);
    s.assigned_node = Some("n".into());
    store.save_task(&t).unwrap();
    drop(store);

    let (mut store, _) = Store::open(dir.path()).unwrap();
    let cut = store.recover().unwrap();
    assert_eq!(cut.len(), 1);
    let t = store.task(&key("run")).unwrap().clone();
    assert_eq!(task_state(&t), TaskState::Interrupted);
    assert_eq!(
        t.status.as_ref().unwrap().verdict,
        Some(Verdict::Incomplete)
    );
    assert_eq!(
        task_state(store.task(&key("wait")).unwrap()),
        TaskState::Pending
    );
    // Persisted: a second open sees it too.
    let (reopened, _) = Store::open(dir.path()).unwrap();
    assert_eq!(
        task_state(reopened.task(&key("run")).unwrap()),
        TaskState::Interrupted
    );

    let err = store.requeue(&key("wait")).unwrap_err();
    assert!(err.to_string().contains("cannot be re-queued"), "{err}");
    let t = store.requeue(&key("run")).unwrap();
    let s = t.status.as_ref().unwrap();
    assert_eq!(s.phase, Some(TaskPhase::Pending));
    assert!(s.conditions.is_none() && s.verdict.is_none() && s.assigned_node.is_none());
}

#[tokio::test]
async fn dependencies_wait_then_cascade_and_missing_agents_fail() {
    let dir = tempfile::tempdir().unwrap();
    let (mut ui, h) = Ui::start(config(
        &dir.path().join("state"),
        "http://127.0.0.1:9/v1",
        None,
        1,
    ));
    ui.until("snapshot", |u| u.snapshot.is_some()).await;
    // No Agent submitted: `first` fails AgentNotFound; `second` depends on it and cascades;
    // `third` waits on a task that does not exist.
    submit(
        &h,
        dir.path(),
        "t.yaml",
        &format!(
            "{}{}{}",
            task_yaml("first", ""),
            task_yaml("second", "  dependsOn: [first]\n"),
            task_yaml("third", "  dependsOn: [later]\n")
        ),
    );
    ui.until("cascade", |u| {
        u.state("first") == Some(TaskState::Failed) && u.state("second") == Some(TaskState::Failed)
    })
    .await;
    assert_eq!(ui.reason("first"), "AgentNotFound");
    assert_eq!(ui.reason("second"), "UpstreamFailed");
    ui.until("waiting", |u| u.state("third") == Some(TaskState::Waiting))
        .await;

    // Submitting the same file again names the duplicate.
    submit(&h, dir.path(), "t2.yaml", &task_yaml("first", ""));
    ui.until("duplicate error", |u| {
        u.errors.iter().any(|e| e.contains("default/first"))
    })
    .await;
    // A loader error reaches the status line with the loader's message.
    submit(
        &h,
        dir.path(),
        "bad.yaml",
        &task_yaml("x", "  bogusField: 1\n"),
    );
    ui.until("loader error", |u| {
        u.errors.iter().any(|e| e.contains("bogusField"))
    })
    .await;
    h.send(Command::Shutdown);
    h.stopped().await;
}

/// The embedded backend schedules through `foreman scheduler`'s own pass: a missing Agent
/// fails the head of a chain longer than 16 and the whole chain cascades within the one
/// pass after the submit (the timer is an hour away), each task with the very condition plan
/// writes; a task waiting on a missing dependency says so.
#[tokio::test]
async fn a_long_chain_cascades_in_one_pass_exactly_as_plan_decides() {
    use foreman::fleet::schedule::{Scope, What, plan};
    use std::sync::Arc;
    const CHAIN: usize = 24;
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(&dir.path().join("state"), "http://127.0.0.1:9/v1", None, 1);
    let slow = EmbeddedOptions {
        schedule_every: Duration::from_secs(3600),
        ..opts()
    };
    let (mut ui, h) = Ui::start_with(cfg, slow);
    ui.until("snapshot", |u| u.snapshot.is_some()).await;
    let mut text = task_yaml("t0", "").replace("{name: coder}", "{name: ghost}");
    for i in 1..CHAIN {
        text += &task_yaml(&format!("t{i}"), &format!("  dependsOn: [t{}]\n", i - 1));
    }
    text += &task_yaml("waiter", "  dependsOn: [later]\n");
    submit(&h, dir.path(), "chain.yaml", &text);
    ui.until("the whole chain failed", |u| {
        (0..CHAIN).all(|i| u.state(&format!("t{i}")) == Some(TaskState::Failed))
    })
    .await;
    ui.until("waiting", |u| u.state("waiter") == Some(TaskState::Waiting))
        .await;

    // What plan decides for the same tasks, as submitted (Pending in `default`).
    let tasks: Vec<Arc<AgenticTask>> = objects(&text)
        .into_iter()
        .map(|o| {
            let Object::Task(mut t) = o else {
                panic!("not a task")
            };
            t.metadata.namespace = Some("default".into());
            t.status = Some(foreman::api::AgenticTaskStatus {
                phase: Some(TaskPhase::Pending),
                ..Default::default()
            });
            Arc::new(*t)
        })
        .collect();
    let node = Arc::new(ui.node.clone().unwrap());
    let actions = plan(
        &tasks,
        &[node],
        &[],
        &Scope::default(),
        jiff::Timestamp::now(),
    );
    let mut fails = 0;
    for a in &actions {
        let What::Fail {
            reason, message, ..
        } = &a.what
        else {
            continue;
        };
        fails += 1;
        let name = a.target.to_string().rsplit('/').next().unwrap().to_string();
        let t = &ui.tasks[&name];
        let s = t.status.as_ref().unwrap();
        assert_eq!(s.verdict, Some(Verdict::Incomplete), "{name}");
        assert!(s.finished_at.is_some(), "{name}");
        let c = s
            .conditions
            .iter()
            .flatten()
            .find(|c| c.type_ == "Failed")
            .unwrap_or_else(|| panic!("{name} has no Failed condition: {s:?}"));
        assert_eq!(
            (c.status.as_str(), c.reason.as_str(), c.message.as_str()),
            ("True", *reason, message.as_str()),
            "{name}"
        );
    }
    assert_eq!(fails, CHAIN, "plan fails the whole chain in one pass");
    let head = &ui.tasks["t0"]
        .status
        .as_ref()
        .unwrap()
        .conditions
        .as_ref()
        .unwrap()[0];
    assert_eq!(head.reason, "AgentNotFound");
    assert_eq!(
        head.message,
        "Agent \"ghost\" not found in namespace \"default\""
    );
    assert_eq!(ui.reason("t23"), "UpstreamFailed");
    assert_eq!(ui.reason("waiter"), "WaitingForDependencies");

    // A task that names no Agent is placed, then ends as `foreman agent` ends it: a Result of
    // the executor's precondition AgentNotFound (Succeeded, INCOMPLETE).
    let lone = task_yaml("lone", "").replace("  agentRef: {name: coder}\n", "");
    submit(&h, dir.path(), "lone.yaml", &lone);
    ui.until("lone finished", |u| {
        u.state("lone") == Some(TaskState::Succeeded)
    })
    .await;
    let s = ui.tasks["lone"].status.clone().unwrap();
    assert_eq!(s.verdict, Some(Verdict::Incomplete));
    assert_eq!(s.assigned_node.as_deref(), Some("test-node"));
    let completed = s
        .conditions
        .iter()
        .flatten()
        .find(|c| c.type_ == "Completed");
    assert_eq!(
        completed.map(|c| (c.status.as_str(), c.reason.as_str())),
        Some(("True", "AgentNotFound"))
    );
    assert_eq!(
        s.result.unwrap()["extra"]["outcome"],
        "EXECUTOR-PRECONDITION-FAILED"
    );
    h.send(Command::Shutdown);
    h.stopped().await;
}

/// A local run of `fix` that the scripted model ends with a GO commit, now awaiting approval.
async fn fix_awaiting_approval() -> (FleetRepo, ScriptedServer, Ui, BackendHandle) {
    let r = fleet_repo();
    let server = ScriptedServer::start(fix_then_go("docs: fix typo")).unwrap();
    let cfg = local_config(&r, &server.base_url(), 1);
    let (mut ui, h) = Ui::start(cfg);
    submit_fix(&h, &r.root);
    ui.until("awaiting approval", |u| {
        u.state("fix") == Some(TaskState::AwaitingApproval)
    })
    .await;
    (r, server, ui, h)
}

#[tokio::test]
async fn priority_order_and_concurrency_limit_one() {
    let r = fleet_repo();
    let server = ScriptedServer::repeating(Reply::Hang).unwrap();
    let cfg = local_config(&r, &server.base_url(), 1);
    let (mut ui, h) = Ui::start(cfg);
    submit(
        &h,
        &r.root,
        "t.yaml",
        &format!(
            "{AGENT}{}{}",
            task_yaml("low", "  priority: 1\n"),
            task_yaml("high", "  priority: 5\n")
        ),
    );
    ui.until("high running", |u| {
        u.state("high") == Some(TaskState::Running)
    })
    .await;
    ui.until("run events", |u| {
        u.run_events.get("high").is_some_and(|n| *n > 0)
    })
    .await;
    ui.settle(Duration::from_millis(600)).await;
    assert_eq!(
        ui.state("low"),
        Some(TaskState::Pending),
        "only one runs at a time"
    );
    assert_eq!(
        ui.node
            .as_ref()
            .unwrap()
            .status
            .as_ref()
            .unwrap()
            .current_task
            .as_deref(),
        Some("default/high")
    );

    // Cancel the hanging run: Failed/Cancelled, and the next task starts.
    h.send(Command::Cancel(key("high")));
    ui.until("cancelled", |u| u.state("high") == Some(TaskState::Failed))
        .await;
    assert_eq!(ui.reason("high"), "Cancelled");
    assert_eq!(
        ui.tasks["high"].status.as_ref().unwrap().verdict,
        Some(Verdict::Incomplete)
    );
    ui.until("low running", |u| {
        u.state("low") == Some(TaskState::Running)
    })
    .await;

    // Shutdown marks the running task Interrupted (never silently lost), on disk too.
    h.send(Command::Shutdown);
    h.stopped().await;
    ui.settle(Duration::from_millis(50)).await;
    assert_eq!(ui.state("low"), Some(TaskState::Interrupted));
    let (store, _) = Store::open(&r.root.join("state")).unwrap();
    assert_eq!(
        task_state(store.task(&key("low")).unwrap()),
        TaskState::Interrupted
    );
}

#[tokio::test]
async fn two_tasks_run_at_once_with_max_concurrent_two() {
    let r = fleet_repo();
    let server = ScriptedServer::repeating(Reply::Hang).unwrap();
    let cfg = local_config(&r, &server.base_url(), 2);
    let (mut ui, h) = Ui::start(cfg);
    submit(
        &h,
        &r.root,
        "t.yaml",
        &format!("{AGENT}{}{}", task_yaml("a", ""), task_yaml("b", "")),
    );
    ui.until("both running", |u| {
        u.state("a") == Some(TaskState::Running) && u.state("b") == Some(TaskState::Running)
    })
    .await;
    ui.until("node lists both", |u| {
        u.node
            .as_ref()
            .and_then(|n| n.status.as_ref()?.current_task.clone())
            .as_deref()
            == Some("default/a,default/b")
    })
    .await;
    // Isolated workspaces per task.
    let ws = r.root.join("state/workspaces/default");
    ui.until("both cloned", |_| {
        ws.join("a/README.md").exists() && ws.join("b/README.md").exists()
    })
    .await;
    h.send(Command::Cancel(key("a")));
    h.send(Command::Cancel(key("b")));
    ui.until("both cancelled", |u| {
        u.state("a") == Some(TaskState::Failed) && u.state("b") == Some(TaskState::Failed)
    })
    .await;
    h.send(Command::Shutdown);
    h.stopped().await;
}

#[tokio::test]
async fn reject_push_keeps_the_workspace() {
    let (r, _server, mut ui, h) = fix_awaiting_approval().await;
    // Open PR before a push is refused with a clear message.
    h.send(Command::OpenPr(key("fix")));
    ui.until("refused", |u| !u.jobs.is_empty()).await;
    assert!(
        matches!(&ui.jobs[0], (Job::OpenPr, Err(m)) if m.contains("push")),
        "{:?}",
        ui.jobs
    );

    h.send(Command::RejectPush(key("fix")));
    ui.until("rejected", |u| u.state("fix") == Some(TaskState::Rejected))
        .await;
    let ws = r.root.join("state/workspaces/default/fix");
    assert!(
        ws.join("README.md").exists(),
        "workspace kept after rejection"
    );
    assert!(
        git(&r.bare, &["branch", "--list", "foreman/issue-7"])
            .trim()
            .is_empty()
    );
    // Approving a rejected task does nothing.
    h.send(Command::ApprovePush(key("fix")));
    ui.until("refused push", |u| u.jobs.len() == 2).await;
    assert!(matches!(&ui.jobs[1], (Job::Push, Err(_))));
    h.send(Command::Shutdown);
    h.stopped().await;
}

#[tokio::test]
async fn load_diff_answers_the_go_commits_change_from_its_workspace() {
    let (r, _server, mut ui, h) = fix_awaiting_approval().await;
    h.send(Command::LoadDiff(key("fix")));
    ui.until("diff", |u| !u.diffs.is_empty()).await;
    let (task, files) = ui.diffs.remove(0);
    assert_eq!(task, key("fix"));
    let files = files.unwrap();
    assert_eq!(files.len(), 1, "{files:?}");
    let f = &files[0];
    assert_eq!(f.new_path.as_deref(), Some("README.md"));
    assert_eq!((f.additions, f.deletions), (1, 1));
    assert!(
        f.patch.contains("-teh fleet") && f.patch.contains("+the fleet"),
        "{}",
        f.patch
    );
    // It is the GO commit's change: the same as git shows for extra.commitSHA.
    let sha = ui.tasks["fix"]
        .status
        .as_ref()
        .unwrap()
        .commit_sha
        .clone()
        .unwrap();
    let ws = r.root.join("state/workspaces/default/fix");
    let parent = format!("{sha}^");
    assert_eq!(
        git(&ws, &["diff", "--numstat", &parent, &sha]).trim(),
        "1\t1\tREADME.md"
    );
    assert_eq!(
        git(&ws, &["rev-parse", "foreman/issue-7"]).trim(),
        sha,
        "the branch head is the commit diffed"
    );

    // No such task, and a workspace gone from the machine: clear errors, no panic.
    h.send(Command::LoadDiff(key("nope")));
    ui.until("unknown task", |u| !u.diffs.is_empty()).await;
    let (task, files) = ui.diffs.remove(0);
    assert_eq!(task, key("nope"));
    assert!(files.unwrap_err().contains("no such task"));
    std::fs::remove_dir_all(&ws).unwrap();
    h.send(Command::LoadDiff(key("fix")));
    ui.until("gone", |u| !u.diffs.is_empty()).await;
    let err = ui.diffs.remove(0).1.unwrap_err();
    assert!(err.contains("gone from this machine"), "{err}");
    h.send(Command::Shutdown);
    h.stopped().await;
}

// ---- the real git smart-HTTP server with its pulls API ----

const TOKEN: &str = "s3cret-test-token";

/// The real pulls API peer (`git_http_server.py`) serving a [`FleetRepo`].
struct FleetRemote {
    server: GitServer,
    repo: FleetRepo,
}

impl FleetRemote {
    fn start() -> FleetRemote {
        let repo = fleet_repo();
        FleetRemote {
            server: GitServer::start(&repo.root, TOKEN),
            repo,
        }
    }

    /// [`config`] for a run that pushes here with the token and opens its PR here.
    fn config(&self, state: &Path, base_url: &str) -> EmbeddedConfig {
        let remote = format!(
            "http://x-access-token:{TOKEN}@127.0.0.1:{}/acme/fleet.git",
            self.server.port
        );
        let mut cfg = config(state, base_url, Some(remote), 1);
        cfg.github_api_base = self.server.api();
        cfg.token = TokenSource::Given(Token::new(TOKEN));
        cfg
    }
}

#[tokio::test]
async fn full_flow_survives_a_restart_then_pushes_and_opens_the_pr() {
    let gs = FleetRemote::start();
    let work = tempfile::tempdir().unwrap();
    let state = work.path().join("state");
    let server = ScriptedServer::start(fix_then_go("docs: fix typo\n\nFixes #7")).unwrap();
    let cfg = gs.config(&state, &server.base_url());

    let (mut ui, h) = Ui::start(cfg.clone());
    submit_fix(&h, work.path());
    ui.until("running", |u| u.state("fix") == Some(TaskState::Running))
        .await;
    ui.until("awaiting approval", |u| {
        u.state("fix") == Some(TaskState::AwaitingApproval)
    })
    .await;
    assert!(ui.run_events["fix"] > 2, "live run events were forwarded");
    // The node's tokens/s comes from the run's llama.cpp timings (the scripted 100 tok/s).
    ui.until("tokens per second", |u| {
        u.node
            .as_ref()
            .and_then(|n| n.status.as_ref()?.capability.as_ref()?.tokens_per_second)
            == Some(100)
    })
    .await;
    let s = ui.tasks["fix"].status.clone().unwrap();
    assert_eq!(s.branch.as_deref(), Some("foreman/issue-7"));
    assert_eq!(s.verdict, Some(Verdict::Go));
    assert_eq!(s.assigned_node.as_deref(), Some("test-node"));
    assert!(
        s.transcript_ref
            .as_deref()
            .unwrap()
            .ends_with("transcripts/default/fix.jsonl")
    );
    assert!(state.join("transcripts/default/fix.jsonl").exists());
    for f in ["state.db", "state.db-wal"] {
        let bytes = std::fs::read(state.join(f)).unwrap_or_default();
        assert!(
            !String::from_utf8_lossy(&bytes).contains(TOKEN),
            "the token never reaches the state dir ({f})"
        );
    }
    let mut stored = std::fs::read(state.join("state.db")).unwrap();
    stored.extend(std::fs::read(state.join("state.db-wal")).unwrap_or_default());
    assert!(String::from_utf8_lossy(&stored).contains("foreman/issue-7"));

    // Restart on the same state dir: still awaiting approval.
    h.send(Command::Shutdown);
    h.stopped().await;
    drop(ui);
    let (mut ui, h) = Ui::start(cfg);
    ui.until("snapshot", |u| u.snapshot.is_some()).await;
    assert_eq!(ui.state("fix"), Some(TaskState::AwaitingApproval));
    assert!(
        git(&gs.repo.bare, &["branch", "--list", "foreman/issue-7"])
            .trim()
            .is_empty()
    );

    h.send(Command::ApprovePush(key("fix")));
    ui.until("pushed", |u| {
        u.state("fix") == Some(TaskState::Pushed) && !u.jobs.is_empty()
    })
    .await;
    assert!(matches!(&ui.jobs[0], (Job::Push, Ok(_))), "{:?}", ui.jobs);
    let sha = git(&gs.repo.bare, &["rev-parse", "foreman/issue-7"]);
    assert_eq!(
        Some(sha.trim()),
        ui.tasks["fix"]
            .status
            .as_ref()
            .unwrap()
            .commit_sha
            .as_deref()
    );

    h.send(Command::OpenPr(key("fix")));
    ui.until("pr open", |u| {
        u.state("fix") == Some(TaskState::PrOpen) && u.jobs.len() == 2
    })
    .await;
    let url = format!("http://127.0.0.1:{}/acme/fleet/pull/1", gs.server.port);
    assert!(
        matches!(&ui.jobs[1], (Job::OpenPr, Ok(u)) if *u == url),
        "{:?}",
        ui.jobs
    );
    let extra = ui.tasks["fix"]
        .status
        .as_ref()
        .unwrap()
        .result
        .as_ref()
        .unwrap()["extra"]
        .clone();
    assert_eq!(
        (extra["prUrl"].as_str(), extra["prNumber"].as_u64()),
        (Some(url.as_str()), Some(1))
    );
    assert_eq!(extra["pushDecision"], "approved");

    // Pressing it again finds the same PR.
    h.send(Command::OpenPr(key("fix")));
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
async fn auto_push_goes_straight_to_pushed_and_can_open_the_pr() {
    let gs = FleetRemote::start();
    let work = tempfile::tempdir().unwrap();
    let server = ScriptedServer::start(fix_then_go("docs: fix typo")).unwrap();
    let mut cfg = gs.config(&work.path().join("state"), &server.base_url());
    cfg.auto_push = true;
    cfg.github_api_base += "/api/v3";
    let (mut ui, h) = Ui::start(cfg);
    submit_fix(&h, work.path());
    ui.until("pushed", |u| u.state("fix") == Some(TaskState::Pushed))
        .await;
    assert!(
        !git(&gs.repo.bare, &["rev-parse", "foreman/issue-7"])
            .trim()
            .is_empty()
    );
    h.send(Command::OpenPr(key("fix")));
    ui.until("pr open", |u| {
        u.state("fix") == Some(TaskState::PrOpen) && !u.jobs.is_empty()
    })
    .await;
    assert!(matches!(&ui.jobs[0], (Job::OpenPr, Ok(u)) if u.ends_with("/acme/fleet/pull/1")));
    h.send(Command::Shutdown);
    h.stopped().await;
}

#[tokio::test]
async fn unreachable_model_server_is_an_executor_error() {
    let r = fleet_repo();
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let cfg = local_config(&r, &format!("http://127.0.0.1:{port}/v1"), 1);
    let (mut ui, h) = Ui::start(cfg);
    submit_fix(&h, &r.root);
    ui.until("failed", |u| u.state("fix") == Some(TaskState::Failed))
        .await;
    assert_eq!(ui.reason("fix"), "ExecutorError");
    let s = ui.tasks["fix"].status.clone().unwrap();
    assert_eq!(s.verdict, Some(Verdict::Incomplete));
    assert!(s.finished_at.is_some());
    // An executor failure can be re-queued.
    h.send(Command::Requeue(key("fix")));
    ui.until("re-run", |u| u.state("fix") == Some(TaskState::Running))
        .await;
    assert!(ui.errors.is_empty(), "{:?}", ui.errors);
    h.send(Command::Shutdown);
    h.stopped().await;
}

#[tokio::test]
async fn restart_shows_interrupted_runs_and_requeue_runs_them_again() {
    let r = fleet_repo();
    let server = ScriptedServer::repeating(Reply::Hang).unwrap();
    let cfg = local_config(&r, &server.base_url(), 1);
    let (mut ui, h) = Ui::start(cfg.clone());
    // `big`'s Agent needs more RAM than any machine here: it stays Pending, unschedulable
    // (the Agent's requiredCapability replaces the task's own, as in `foreman scheduler`).
    let hungry = "---\napiVersion: foreman.llmkube.dev/v1alpha1\nkind: Agent\nmetadata: {name: hungry}\nspec:\n  role: coder\n  tools: [submit_result]\n  requiredCapability: {minRAMGB: 100000}\n";
    submit(
        &h,
        &r.root,
        "t.yaml",
        &format!(
            "{AGENT}{hungry}{}{}",
            task_yaml("hang", ""),
            task_yaml("big", "").replace("agentRef: {name: coder}", "agentRef: {name: hungry}")
        ),
    );
    ui.until("running", |u| u.state("hang") == Some(TaskState::Running))
        .await;
    ui.until("unschedulable", |u| u.reason("big") == "Unschedulable")
        .await;
    assert_eq!(ui.state("big"), Some(TaskState::Pending));
    h.send(Command::Shutdown);
    h.stopped().await;
    drop(ui);

    let (mut ui, h) = Ui::start(cfg);
    ui.until("snapshot", |u| u.snapshot.is_some()).await;
    assert_eq!(ui.state("hang"), Some(TaskState::Interrupted));
    assert_eq!(ui.reason("hang"), "Interrupted");
    h.send(Command::Requeue(key("hang")));
    ui.until("running again", |u| {
        u.state("hang") == Some(TaskState::Running)
    })
    .await;
    h.send(Command::Cancel(key("hang")));
    ui.until("cancelled", |u| u.state("hang") == Some(TaskState::Failed))
        .await;
    h.send(Command::Shutdown);
    h.stopped().await;
}

#[tokio::test]
async fn inference_probe_reads_props_and_models() {
    use foreman::backend::embedded::node::probe_inference;
    let server = ScriptedServer::start(vec![
        Reply::status(200, r#"{"default_generation_settings":{"n_ctx":8192}}"#),
        Reply::status(200, r#"{"object":"list","data":[{"id":"gemma-3-270m"}]}"#),
    ])
    .unwrap();
    let p = probe_inference(&server.base_url()).await;
    assert_eq!(p.max_context_tokens, Some(8192));
    assert_eq!(p.installed_models, Some(vec!["gemma-3-270m".to_string()]));
    // Nothing listening: both absent, and bounded in time.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let started = Instant::now();
    let p = probe_inference(&format!("http://127.0.0.1:{port}/v1")).await;
    assert_eq!((p.max_context_tokens, p.installed_models), (None, None));
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn a_failed_push_keeps_the_task_awaiting_approval() {
    let (r, _server, mut ui, h) = fix_awaiting_approval().await;
    // The remote disappears before the operator approves.
    std::fs::rename(&r.bare, r.root.join("moved.git")).unwrap();
    h.send(Command::ApprovePush(key("fix")));
    ui.until("push job", |u| !u.jobs.is_empty()).await;
    match &ui.jobs[0] {
        (Job::Push, Err(m)) => assert!(m.contains("push"), "{m}"),
        other => panic!("expected a failed push, got {other:?}"),
    }
    ui.settle(Duration::from_millis(200)).await;
    assert_eq!(ui.state("fix"), Some(TaskState::AwaitingApproval));
    // Once the remote is back, approving again pushes.
    std::fs::rename(r.root.join("moved.git"), &r.bare).unwrap();
    h.send(Command::ApprovePush(key("fix")));
    ui.until("pushed", |u| u.state("fix") == Some(TaskState::Pushed))
        .await;
    assert!(
        !git(&r.bare, &["rev-parse", "foreman/issue-7"])
            .trim()
            .is_empty()
    );
    h.send(Command::Shutdown);
    h.stopped().await;
}
