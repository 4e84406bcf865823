//! The issue picker for real: the console's state reads issues from the testbed's server
//! (`git_http_server.py`'s issues endpoint: paging by `Link`, labels, pull requests left out,
//! token checked) through the picker's own fetch path, and the task it picks is created by a
//! real embedded backend, which refuses a second one for the same issue.

mod common;

use crossterm::event::KeyCode;
use foreman::backend::{BackendEvent, BackendHandle, Command};
use foreman::config::Config;
use foreman::console::picker::fetch;
use foreman::console::state::{App, Effect};
use foreman::console::theme::Theme;
use foreman::fleet::TaskKey;
use foreman::fleet::TaskState;
use std::time::Duration;
use tokio::sync::mpsc;

const TOKEN: &str = "s3cret-picker-token";
const AGENT: &str = "apiVersion: foreman.llmkube.dev/v1alpha1\nkind: Agent\nmetadata: {name: coder}\nspec:\n  role: coder\n  tools: [read_file, submit_result]\n";

/// 35 open issues (#1 the only `good first issue`) and a pull request (#36) in acme/fleet.
fn serve(root: &std::path::Path) -> common::GitServer {
    std::fs::create_dir_all(root.join("acme")).unwrap();
    let mut items: Vec<serde_json::Value> = (2..=35)
        .map(|n| serde_json::json!({"number": n, "title": format!("Chore {n}"), "body": "tidy", "labels": [], "state": "open"}))
        .collect();
    items.push(serde_json::json!({"number": 1, "title": "Fix the greeting", "body": "It says Helo.", "labels": ["good first issue"], "state": "open"}));
    items.push(serde_json::json!({"number": 36, "title": "A PR", "body": "", "labels": [], "state": "open", "pull_request": {"url": "x"}}));
    std::fs::write(
        root.join("acme/fleet.issues.json"),
        serde_json::Value::Array(items).to_string(),
    )
    .unwrap();
    common::GitServer::start(root, TOKEN)
}

fn press(c: KeyCode) -> crossterm::event::KeyEvent {
    crossterm::event::KeyEvent::new(c, crossterm::event::KeyModifiers::NONE)
}

struct Console {
    app: App,
    rx: mpsc::UnboundedReceiver<BackendEvent>,
    backend: BackendHandle,
    errors: Vec<String>,
}

impl Console {
    /// Carries out the picker's fetches with `token`, and sends backend commands.
    async fn effects(&mut self, fx: Vec<Effect>, token: &str) {
        for e in fx {
            match e {
                Effect::FetchIssues(req) => {
                    let loaded = fetch::run(req, token.into()).await;
                    self.app.on_issues(loaded);
                }
                Effect::Send(c) => self.backend.send(c),
                _ => {}
            }
        }
    }

    async fn key(&mut self, c: KeyCode) {
        let fx = self.app.on_key(press(c));
        self.effects(fx, TOKEN).await;
    }

    async fn chars(&mut self, text: &str) {
        for c in text.chars() {
            self.key(KeyCode::Char(c)).await;
        }
    }

    async fn until(&mut self, what: &str, f: impl Fn(&Console) -> bool) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
        while !f(self) {
            match tokio::time::timeout_at(deadline, self.rx.recv()).await {
                Ok(Some(e)) => {
                    if let BackendEvent::Error(m) = &e {
                        self.errors.push(m.clone());
                    }
                    self.app.on_backend(e);
                }
                _ => panic!("timed out waiting for {what}; errors: {:?}", self.errors),
            }
        }
    }

    fn numbers(&self) -> Vec<u64> {
        let p = self.app.picker.as_ref().expect("picker open");
        p.issues.iter().map(|i| i.number).collect()
    }
}

#[tokio::test]
async fn the_picker_reads_real_pages_and_the_backend_creates_one_task_per_issue() {
    use KeyCode::{Backspace, Enter};
    let root = tempfile::tempdir().unwrap();
    let server = serve(root.path());
    let state = root.path().join("state");
    let (tx, rx) = mpsc::unbounded_channel();
    // The run the picker's task starts clones acme/fleet and waits on a model that never
    // answers: it stays Running, so a second task for its issue is a duplicate.
    common::seed_bare(root.path(), "acme/fleet.git", &[("README.md", "Helo\n")]);
    let model =
        common::scripted_oai::ScriptedServer::repeating(common::scripted_oai::Reply::Hang).unwrap();
    let cfg = foreman::backend::embedded::EmbeddedConfig {
        git_remote_url: Some(server.url("acme/fleet")),
        token: foreman::executor::run::TokenSource::Given(foreman::workspace::Token::new(TOKEN)),
        ..common::local::embedded_config(&state, &model.base_url(), 1)
    };
    let backend =
        foreman::backend::embedded::start_embedded_with(cfg, common::local::still_options(), tx)
            .unwrap();
    let defaults = Config::defaults(&mut Vec::new());
    let mut app = App::new(
        Theme::plain(),
        defaults.keymap.clone(),
        defaults.ui.bell,
        "test".into(),
    );
    app.intake.repo = Some("acme/fleet".into());
    app.intake.api_base = server.api();
    let mut c = Console {
        app,
        rx,
        backend,
        errors: Vec::new(),
    };
    let agent = root.path().join("agent.yaml");
    std::fs::write(&agent, AGENT).unwrap();
    c.backend.send(Command::Submit {
        path: agent,
        replace: false,
    });
    c.until("the Agent", |c| !c.app.mirror.agents.is_empty())
        .await;

    // Two pages of 30 through the Link header; the pull request is left out.
    c.key(KeyCode::Char('n')).await;
    assert_eq!(c.numbers().len(), 29, "page 1 holds 30 items, one a PR");
    assert_eq!(c.app.picker.as_ref().unwrap().next_page, Some(2));
    c.key(KeyCode::Char('m')).await;
    let all = c.numbers();
    assert_eq!(all.len(), 35);
    assert_eq!((all[0], all[34]), (35, 1));
    assert!(!all.contains(&36));

    // The label filter asks the server again.
    c.key(KeyCode::Char('l')).await;
    c.chars("good first issue").await;
    c.key(Enter).await;
    assert_eq!(c.numbers(), vec![1]);

    // Enter: the one Agent, the task issue-1, created by the backend.
    c.key(Enter).await;
    assert!(c.app.picker.is_none());
    let k = TaskKey::new("default", "issue-1");
    c.until("issue-1", |c| c.app.mirror.tasks.contains_key(&k))
        .await;
    let t = c.app.mirror.task(&k).unwrap().into_owned();
    assert_eq!(t.spec.payload.repo.as_deref(), Some("acme/fleet"));
    assert_eq!(t.spec.payload.issue, Some(1));
    assert_eq!(
        t.spec.payload.prompt.as_deref(),
        Some("Fix the greeting\n\nIt says Helo.")
    );
    assert!(t.metadata.labels.as_ref().unwrap()[foreman::github::DISPATCH_ISSUE_LABEL] == "1");
    c.until("issue-1 running", |c| {
        c.app
            .mirror
            .task(&k)
            .map(|t| foreman::fleet::task_state(&t))
            == Some(TaskState::Running)
    })
    .await;

    // Again for #1: the console refuses, with no command sent.
    // The search is over the issues read: #1 is on page 2.
    c.key(KeyCode::Char('n')).await;
    c.key(KeyCode::Char('m')).await;
    c.key(KeyCode::Char('/')).await;
    c.chars("greeting").await;
    c.key(Enter).await;
    assert_eq!(c.app.picker.as_ref().unwrap().visible().len(), 1);
    let fx = c.app.on_key(press(Enter));
    assert!(fx.is_empty());
    let notice = c.app.picker.as_ref().unwrap().notice.clone().unwrap();
    assert!(
        notice.contains("already has a task that is not finished: default/issue-1"),
        "{notice}"
    );
    // The backend refuses too (another console, or a `dispatch`, would not ask this one).
    let issue = c
        .app
        .picker
        .as_ref()
        .unwrap()
        .selected_issue()
        .unwrap()
        .clone();
    let dup = foreman::github::issue_task(
        "default",
        "issue-1-b",
        "acme/fleet",
        &issue,
        Some("coder"),
        None,
    )
    .unwrap();
    c.backend.send(Command::CreateTask(Box::new(dup)));
    c.until("the backend's refusal", |c| !c.errors.is_empty())
        .await;
    assert!(
        c.errors[0].contains("issue #1 of acme/fleet already has a task that is not finished"),
        "{:?}",
        c.errors
    );
    assert!(
        !c.app
            .mirror
            .tasks
            .contains_key(&TaskKey::new("default", "issue-1-b"))
    );

    // A wrong token and an unknown repository are said in words.
    let fx = c.app.on_key(press(KeyCode::Char('m')));
    assert!(fx.is_empty(), "all read: nothing to ask");
    c.key(KeyCode::Char('o')).await;
    for _ in 0.."acme/fleet".len() {
        c.key(Backspace).await;
    }
    c.chars("acme/nope").await;
    c.key(Enter).await;
    let err = c.app.picker.as_ref().unwrap().error.clone().unwrap();
    assert!(err.starts_with("no such repository: acme/nope"), "{err}");
    c.key(KeyCode::Char('o')).await;
    for _ in 0.."acme/nope".len() {
        c.key(Backspace).await;
    }
    c.chars("acme/fleet").await;
    let fx = c.app.on_key(press(Enter));
    c.effects(fx, "wrong-token").await;
    let err = c.app.picker.as_ref().unwrap().error.clone().unwrap();
    assert!(
        err.contains("HTTP 401") && err.contains("set a GitHub token"),
        "{err}"
    );
    c.backend.send(Command::Shutdown);
}

/// The binary in a pty, as an operator: `n` reads the issues through the event loop's own
/// fetch task, `l` filters by label, `enter` creates the task, and it is in the state
/// directory afterwards.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_binary_picks_an_issue_into_its_queue() {
    use common::pty;
    let root = tempfile::tempdir().unwrap();
    let server = serve(root.path());
    let home = root.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    std::fs::write(home.join("empty.toml"), "").unwrap();
    let state = root.path().join("state");
    {
        let (mut store, _) = foreman::backend::embedded::Store::open(&state).unwrap();
        store
            .submit(foreman::api::load_str("a", AGENT).unwrap(), false)
            .unwrap();
    }
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_foreman"));
    cmd.env("HOME", &home)
        .env("FOREMAN_CONFIG", home.join("empty.toml"))
        .env("GITHUB_TOKEN", TOKEN)
        .env("FLEET_NODE_NAME", "picker-node")
        .env("TERM", "xterm-256color")
        .arg("--state-dir")
        .arg(&state)
        .args(["--inference-url", "http://127.0.0.1:9/v1"])
        .args(["--remote", &server.url("acme/fleet")])
        .args(["--github-api-base", &server.api()])
        .args(["--author-email", "bot@example.com"]);
    let mut ui = pty::spawn(&mut cmd, 120, 30).expect("the console starts in a pty");
    let wait = |ui: &mut pty::PtyChild, what: &str| {
        assert!(
            ui.wait_for(what, Duration::from_secs(20)).is_some(),
            "never saw {what:?}; the console drew:\n{}",
            ui.output()
        );
    };
    wait(&mut ui, "Queue");
    ui.send(b"n");
    // Page 1 (newest first) from the server, drawn by the loop once the fetch task answered.
    wait(&mut ui, "Chore");
    ui.send(b"l");
    ui.send(b"good first issue\r");
    wait(&mut ui, "Helo.");
    ui.send(b"\r");
    wait(&mut ui, "issue-1");
    ui.send(b"q");
    ui.send(b"y");
    let _ = ui.child.wait();
    let (store, _) = foreman::backend::embedded::Store::open(&state).unwrap();
    let t = store
        .task(&TaskKey::new("default", "issue-1"))
        .expect("the picked task is in the state");
    assert_eq!(t.spec.payload.repo.as_deref(), Some("acme/fleet"));
    assert_eq!(t.spec.payload.issue, Some(1));
    assert_eq!(t.spec.agent_ref.as_ref().unwrap().name, "coder");
}
