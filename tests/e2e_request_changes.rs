//! Request changes in the binary, driven in tmux like an operator: the console on the embedded
//! backend runs a task against the scripted model, the GO awaits approval, `c` opens the
//! feedback editor, two lines are typed, ctrl-s sends them, the model's second GO commits on
//! top and awaits approval again, and `a` `y` push both commits to the (local bare) remote.
#![cfg(feature = "e2e")]

mod common;

use common::scripted_oai::ScriptedServer;
use common::{fleet_repo, git};
use foreman::backend::embedded::Store;
use foreman::fleet::{TaskKey, TaskState, task_state};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const AGENT: &str = "apiVersion: foreman.llmkube.dev/v1alpha1\nkind: Agent\nmetadata: {name: coder}\nspec:\n  role: coder\n  maxRetries: 1\n  tools: [read_file, write_file, str_replace, grep, bash, submit_result]\n---\napiVersion: foreman.llmkube.dev/v1alpha1\nkind: AgenticTask\nmetadata: {name: fix}\nspec:\n  kind: issue-fix\n  agentRef: {name: coder}\n  payload: {repo: acme/fleet, issue: 7, prompt: \"Fix the typo in README\"}\n";

struct Tmux {
    socket: String,
    state: PathBuf,
}

impl Tmux {
    fn run(&self, args: &[&str]) -> String {
        let out = Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .args(args)
            .output()
            .expect("tmux runs");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
    fn keys(&self, keys: &[&str]) {
        for k in keys {
            self.run(&["send-keys", "-t", "s", k]);
            std::thread::sleep(Duration::from_millis(150));
        }
    }
    /// Waits until `f` holds for the screen and the stored task `fix`.
    fn wait(
        &self,
        what: &str,
        secs: u64,
        f: impl Fn(&str, Option<(TaskState, u32)>) -> bool,
    ) -> String {
        let start = Instant::now();
        loop {
            let screen = self.run(&["capture-pane", "-p", "-t", "s"]);
            let task = Store::open(&self.state).ok().and_then(|(s, _)| {
                let t = s.task(&TaskKey::new("default", "fix"))?.clone();
                Some((
                    task_state(&t),
                    foreman::backend::embedded::store::attempt_of(&t),
                ))
            });
            if f(&screen, task) {
                return screen;
            }
            assert!(
                start.elapsed() < Duration::from_secs(secs),
                "timed out waiting for {what}; task {task:?}; screen:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(250));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        self.run(&["kill-server"]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn c_in_the_console_runs_a_second_attempt_that_commits_on_top() {
    let r = fleet_repo();
    // The two attempts, two turns each; the console's inference probes (`/props`, `/models`,
    // GETs racing the run) are answered 404 by `chat_only` without taking a reply.
    let replies = common::two_attempts();
    let server = ScriptedServer::chat_only(replies).unwrap();
    let manifest = r.root.join("m.yaml");
    std::fs::write(&manifest, AGENT).unwrap();
    std::fs::write(r.root.join("empty.toml"), "").unwrap();
    let state = r.root.join("state");
    let cmd = format!(
        "env HOME={home} FOREMAN_CONFIG={home}/empty.toml {bin} --state-dir {state} \
         --inference-base-url {url} --git-remote-url {bare} --commit-author-email bot@example.com \
         --submit {manifest}",
        home = r.root.display(),
        bin = env!("CARGO_BIN_EXE_foreman"),
        state = state.display(),
        url = server.base_url(),
        bare = r.bare.display(),
        manifest = manifest.display(),
    );
    let bare = r.bare.clone();
    let ws = state.join("workspaces/default/fix");
    tokio::task::spawn_blocking(move || drive(&cmd, state, &bare, &ws))
        .await
        .unwrap();
    let chats = server
        .requests()
        .iter()
        .filter(|r| r.get("messages").is_some())
        .count();
    assert_eq!(chats, 4, "two turns per attempt");
}

fn drive(cmd: &str, state: PathBuf, bare: &Path, ws: &Path) {
    let tmux = Tmux {
        socket: format!("foreman-e2e-revise-{}", std::process::id()),
        state,
    };
    tmux.run(&["new-session", "-d", "-s", "s", "-x", "120", "-y", "30", cmd]);
    tmux.wait("the first GO", 60, |s, t| {
        s.contains("Awaiting approval") && t.is_some_and(|t| t.0 == TaskState::AwaitingApproval)
    });
    let first = git(ws, &["rev-parse", "HEAD"]);
    tmux.keys(&["c"]);
    tmux.wait("the editor", 10, |s, _| {
        s.contains("Request changes · fix · review 1 of 3")
    });
    tmux.keys(&[
        "Mention CONTRIBUTING.",
        "Enter",
        "README.md:2: add a line below",
    ]);
    tmux.wait("the typed lines", 10, |s, _| {
        s.contains("README.md:2: add a line below")
    });
    tmux.keys(&["C-s"]);
    tmux.wait("the second GO", 60, |_, t| {
        t.is_some_and(|t| t == (TaskState::AwaitingApproval, 2))
    });
    assert_eq!(
        git(ws, &["rev-parse", "HEAD~1"]),
        first,
        "on top of the first"
    );
    tmux.keys(&["a"]);
    tmux.wait("the confirm", 10, |s, _| s.contains("Approve push"));
    tmux.keys(&["y"]);
    tmux.wait("pushed", 30, |_, t| {
        t.is_some_and(|t| t.0 == TaskState::Pushed)
    });
    let log = git(bare, &["log", "--format=%s", "foreman/issue-7"]);
    assert_eq!(
        log.lines().take(2).collect::<Vec<_>>(),
        ["docs: point to CONTRIBUTING", "docs: fix typo"]
    );
}

/// The flow with the real model (llama.cpp serving Gemma-3-270M, the demo's Agent and
/// issue), on the embedded backend with the token-protected smart-HTTP remote: the first GO
/// awaits approval, the operator's feedback starts attempt 2 in the same workspace with the
/// whole first conversation and the feedback as the last user message, the model takes at
/// least one turn, and the task ends again in a state the operator can act on. A second GO
/// that changed something commits on top of the first (one that changed nothing keeps it) and
/// the push carries both. The tiny model's choices are not asserted, only the flow.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_real_model_answers_requested_changes_in_a_second_attempt() {
    use common::ui::{Ui, submit};
    use foreman::agent::transcript::{messages_of, read_journal};
    use foreman::backend::embedded::EmbeddedConfig;
    use foreman::backend::{Command as Cmd, Job};
    use foreman::executor::review::FEEDBACK_PREFIX;
    use foreman::executor::run::TokenSource;
    use foreman::oai::Role;
    use foreman::workspace::Token;

    const TOKEN: &str = "llama-revise-token";
    let url = std::env::var("FOREMAN_E2E_LLAMA_URL").expect(
        "FOREMAN_E2E_LLAMA_URL is not set: run the e2e suites through scripts/test, which starts llama.cpp",
    );
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("git");
    common::seed_bare(
        &root,
        "acme/greeter.git",
        &[
            ("README.md", "# greeter\n"),
            ("greeter.py", "def greet():\n    return \"Helo, world!\"\n"),
        ],
    );
    let server = common::GitServer::start(&root, TOKEN);
    let state = dir.path().join("state");
    let cfg = EmbeddedConfig {
        git_remote_url: Some(format!("http://127.0.0.1:{}/acme/greeter.git", server.port)),
        github_api_base: server.api(),
        token: TokenSource::Given(Token::new(TOKEN)),
        ..common::local::embedded_config(&state, &url, 1)
    };
    let (mut ui, h) = Ui::start(cfg);
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let manifests = [
        std::fs::read_to_string(examples.join("tiny-agent.yaml")).unwrap(),
        std::fs::read_to_string(examples.join("demo-task.yaml")).unwrap(),
    ]
    .join("\n---\n");
    submit(&h, dir.path(), "demo.yaml", &manifests);
    let name = "fix-greeting";
    let key = TaskKey::new("default", name);
    let five_min = Duration::from_secs(300);
    ui.until_within("the first GO", five_min, |u| {
        u.state(name) == Some(TaskState::AwaitingApproval)
    })
    .await;
    let first = ui.sha(name);
    let ws = state.join("workspaces/default").join(name);

    let feedback = "Also add a line saying Thanks to README.md.";
    h.send(Cmd::RequestChanges {
        task: key.clone(),
        feedback: feedback.into(),
    });
    ui.until_within("attempt 2 runs", five_min, |u| {
        u.state(name) == Some(TaskState::Running)
    })
    .await;
    ui.until_within("attempt 2 ends", five_min, |u| {
        u.state(name).is_some_and(|s| s != TaskState::Running)
    })
    .await;
    assert!(ui.errors.is_empty(), "{:?}", ui.errors);
    let t = &ui.tasks[name];
    assert_eq!(foreman::backend::embedded::store::attempt_of(t), 2);
    let journal = t.status.as_ref().unwrap().transcript_ref.clone().unwrap();
    assert!(
        journal.ends_with("fix-greeting.attempt-2.jsonl"),
        "{journal}"
    );
    let records = read_journal(Path::new(&journal)).unwrap();
    let msgs = messages_of(&records);
    let asked = msgs
        .iter()
        .position(|m| m.role == Role::User && m.text().contains("greeter.py prints"))
        .expect("attempt 2 holds the first conversation");
    let fb = msgs
        .iter()
        .position(|m| m.role == Role::User && m.text().starts_with(FEEDBACK_PREFIX))
        .expect("the feedback is a user message");
    assert!(
        fb > asked,
        "the feedback comes after the first conversation"
    );
    assert!(msgs[fb].text().contains(feedback));
    assert!(
        msgs[fb + 1..].iter().any(|m| m.role == Role::Assistant),
        "the model answered the feedback: {:?}",
        &msgs[fb..]
    );
    let text = std::fs::read_to_string(&journal).unwrap();
    assert!(!text.contains(TOKEN), "the token leaked into the journal");

    // Whatever the tiny model chose: a second GO that changed something sits on the first
    // (one that changed nothing keeps the reviewed commit), and the push carries it all.
    if ui.state(name) == Some(TaskState::AwaitingApproval) {
        let second = ui.sha(name);
        if second == first {
            assert_eq!(git(&ws, &["rev-parse", "HEAD"]).trim(), first);
        } else {
            assert_eq!(git(&ws, &["rev-parse", "HEAD~1"]).trim(), first);
        }
        h.send(Cmd::ApprovePush(key.clone()));
        ui.until_within("pushed", five_min, |u| !u.jobs.is_empty())
            .await;
        assert!(matches!(&ui.jobs[0], (Job::Push, Ok(_))), "{:?}", ui.jobs);
        let bare = root.join("acme/greeter.git");
        let pushed = git(&bare, &["rev-parse", "foreman/issue-1"]);
        assert_eq!(pushed.trim(), second);
        let log = git(&bare, &["rev-list", "foreman/issue-1"]);
        assert!(
            log.lines().any(|c| c == first),
            "the push carries attempt 1's commit"
        );
    } else {
        // Not GO: the first attempt's commit is still the branch's head, nothing was pushed.
        assert_eq!(git(&ws, &["rev-parse", "HEAD"]).trim(), first);
    }
    h.send(Cmd::Shutdown);
    h.stopped().await;
}
