//! Request changes in the binary, driven in tmux like an operator: the console on the embedded
//! backend runs a task against the scripted model, the GO awaits approval, `c` opens the
//! feedback editor, two lines are typed, ctrl-s sends them, the model's second GO commits on
//! top and awaits approval again, and `a` `y` push both commits to the (local bare) remote.
#![cfg(feature = "e2e")]

mod common;

use common::scripted_oai::{Reply, ScriptedServer};
use common::{fix_then_go, fleet_repo, git, submit_result};
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

fn append_line() -> Reply {
    Reply::tool_call(
        "write_file",
        serde_json::json!({"path": "README.md", "content": "# Fleet\nthe fleet\nSee CONTRIBUTING.\n"})
            .to_string(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn c_in_the_console_runs_a_second_attempt_that_commits_on_top() {
    let r = fleet_repo();
    // The two attempts, two turns each; the console's inference probes (`/props`, `/models`,
    // GETs racing the run) are answered 404 by `chat_only` without taking a reply.
    let mut replies = fix_then_go("docs: fix typo");
    replies.extend([
        append_line(),
        submit_result("GO", "docs: point to CONTRIBUTING"),
    ]);
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
