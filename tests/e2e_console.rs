//! The whole binary in tmux, like an operator: the console on the embedded backend runs the
//! demo task against the real llama.cpp model, waits for approval, pushes to the real
//! token-protected git remote on one key, and opens the PR on the remote's pulls API on
//! another. Needs FOREMAN_E2E_LLAMA_URL (scripts/test starts the server) and tmux.
#![cfg(feature = "e2e")]

mod common;

use common::{GitServer, git, seed_bare};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const TOKEN: &str = "console-e2e-token";

struct Tmux {
    socket: String,
    /// The console's state dir, dumped when a wait times out (what did the task record?).
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
    fn screen(&self) -> String {
        self.run(&["capture-pane", "-p", "-t", "s"])
    }
    fn keys(&self, keys: &[&str]) {
        for k in keys {
            self.run(&["send-keys", "-t", "s", k]);
            std::thread::sleep(Duration::from_millis(150));
        }
    }
    fn wait_for(&self, text: &str, secs: u64) -> String {
        let start = Instant::now();
        loop {
            let s = self.screen();
            if s.contains(text) {
                return s;
            }
            if start.elapsed() > Duration::from_secs(secs) {
                let tasks = foreman::backend::embedded::Store::open(&self.state)
                    .map(|(s, _)| format!("{:#?}", s.tasks()))
                    .unwrap_or_else(|e| e.to_string());
                panic!("timed out waiting for {text:?}; screen:\n{s}\ntasks:\n{tasks}");
            }
            std::thread::sleep(Duration::from_millis(250));
        }
    }
}
impl Drop for Tmux {
    fn drop(&mut self) {
        self.run(&["kill-server"]);
    }
}

#[test]
fn console_drives_the_demo_to_a_pushed_branch_and_a_pull_request() {
    let llama = std::env::var("FOREMAN_E2E_LLAMA_URL")
        .expect("FOREMAN_E2E_LLAMA_URL is not set: run the e2e suites through scripts/test");
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("git");
    let bare = seed_bare(
        &root,
        "acme/greeter.git",
        &[
            ("README.md", "# greeter\n"),
            ("greeter.py", "def greet():\n    return \"Helo, world!\"\n"),
        ],
    );
    let server = GitServer::start(&root, TOKEN);
    let port = server.port;
    std::fs::write(dir.path().join("empty.toml"), "").unwrap();
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let state = dir.path().join("state");
    let cmd = format!(
        "env GITHUB_TOKEN={TOKEN} HOME={home} FOREMAN_CONFIG={home}/empty.toml {bin} --state-dir {state} \
         --inference-base-url {llama} --git-remote-url http://127.0.0.1:{port}/acme/greeter.git \
         --github-api-base http://127.0.0.1:{port} --commit-author-email bot@example.com \
         --submit {agent} --submit {task}",
        home = dir.path().display(),
        bin = env!("CARGO_BIN_EXE_foreman"),
        state = state.display(),
        agent = examples.join("tiny-agent.yaml").display(),
        task = examples.join("demo-task.yaml").display(),
    );
    let tmux = Tmux {
        socket: format!("foreman-e2e-{}", std::process::id()),
        state: state.clone(),
    };
    tmux.run(&[
        "new-session",
        "-d",
        "-s",
        "s",
        "-x",
        "160",
        "-y",
        "45",
        &cmd,
    ]);

    let screen = tmux.wait_for("Awaiting approval", 240);
    assert!(screen.contains("fix-greeting"), "{screen}");
    tmux.keys(&["a"]);
    let screen = tmux.wait_for("Approve push", 10);
    assert!(
        screen.contains("foreman/issue-1"),
        "the confirm step shows the branch:\n{screen}"
    );
    tmux.keys(&["y"]);
    tmux.wait_for("Pushed", 60);
    let log = git(&bare, &["log", "-1", "--format=%B", "foreman/issue-1"]);
    assert!(
        log.contains("Fixes #1") && log.contains("Signed-off-by: Foreman Bot <bot@example.com>"),
        "{log}"
    );

    tmux.keys(&["P"]);
    tmux.wait_for("Open pull request", 10);
    tmux.keys(&["y"]);
    tmux.wait_for("PR open", 60);
    let pulls = Command::new("curl")
        .args([
            "-s",
            "-H",
            &format!("Authorization: Bearer {TOKEN}"),
            &format!("http://127.0.0.1:{port}/repos/acme/greeter/pulls"),
        ])
        .output()
        .unwrap();
    let pulls: serde_json::Value = serde_json::from_slice(&pulls.stdout).unwrap();
    assert_eq!(pulls[0]["head"]["ref"], "foreman/issue-1", "{pulls}");
    assert!(
        pulls[0]["body"].as_str().unwrap().contains("Fixes #1"),
        "{pulls}"
    );

    drive_the_queue_keys(&tmux);

    // Quit restores the terminal and ends the process.
    tmux.keys(&["q"]);
    std::thread::sleep(Duration::from_millis(500));
    drop(server);
}

/// The newer queue keys on the finished demo, as an operator types them: the filter (`/`, a
/// miss, esc clears), the sort (`s`, `S` reverses), `:` completion to a task name and the jump,
/// the PR URL copied with `y`, and the `?` overlay listing the sort and note keys.
fn drive_the_queue_keys(tmux: &Tmux) {
    tmux.keys(&["/", "greet"]);
    tmux.wait_for("filter /greet", 10);
    tmux.wait_for("Queue (1 of 1 · /greet)", 10);
    tmux.keys(&["BSpace", "BSpace", "BSpace", "BSpace", "BSpace", "zzz"]);
    tmux.wait_for("Queue (0 of 1 · /zzz)", 10);
    tmux.keys(&["Escape"]);
    let screen = tmux.wait_for("Queue (1)", 10);
    assert!(
        screen.contains("fix-greeting"),
        "esc brings the row back:\n{screen}"
    );

    tmux.keys(&["s"]);
    let sorted = tmux.wait_for("↑", 10);
    tmux.keys(&["S"]);
    let reversed = tmux.wait_for("↓", 10);
    assert_ne!(sorted, reversed, "S reverses the sort shown in the header");

    tmux.keys(&[":", "ta", "Tab"]);
    tmux.wait_for(":task", 10);
    tmux.keys(&[" fix", "Tab"]);
    tmux.wait_for(":task fix-greeting", 10);
    tmux.keys(&["Enter"]);
    tmux.keys(&["y"]);
    tmux.wait_for("copied http", 10);

    tmux.keys(&["?"]);
    let help = tmux.wait_for("Help · rebind keys", 10);
    assert!(
        help.contains("reverse sort") && help.contains("note"),
        "the overlay lists the sort and note keys:\n{help}"
    );
    tmux.keys(&["Escape"]);
    let screen = tmux.wait_for("Queue (1)", 10);
    assert!(
        !screen.contains("Help · rebind keys"),
        "esc closes the overlay"
    );
}
