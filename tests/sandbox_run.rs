//! `foreman run` end to end against a hostile scripted model: the token (in foreman's own
//! environment and in the token file of its HOME) never reaches the model's shell or a commit
//! hook, and no escape sequence from the model or the server reaches stderr.

mod common;

use common::scripted_oai::{Reply, ScriptedServer};
use common::seed_bare;
use serde_json::json;
use std::path::{Path, PathBuf};

const TOKEN: &str = "ghp_RUNTOKENMARKER9876543210";

struct Env {
    _dir: tempfile::TempDir,
    root: PathBuf,
    home: PathBuf,
    bare: PathBuf,
}

/// A temp HOME with the token file, a seeded bare remote, and the task and Agent manifests.
fn env() -> Env {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap();
    let home = root.join("home");
    std::fs::create_dir_all(home.join(".config/foreman")).unwrap();
    std::fs::write(home.join(".config/foreman/github-token"), TOKEN).unwrap();
    let bare = seed_bare(
        &root,
        "acme/fleet.git",
        &[("README.md", "# Fleet\nteh fleet\n")],
    );
    std::fs::write(
        root.join("task.yaml"),
        "apiVersion: foreman.llmkube.dev/v1alpha1\nkind: AgenticTask\nmetadata: {name: fix-1, namespace: default}\nspec:\n  kind: issue-fix\n  agentRef: {name: coder}\n  payload: {repo: acme/fleet, issue: 7, prompt: \"Fix the typo in README\"}\n",
    )
    .unwrap();
    std::fs::write(
        root.join("agent.yaml"),
        "apiVersion: foreman.llmkube.dev/v1alpha1\nkind: Agent\nmetadata: {name: coder}\nspec:\n  role: coder\n  maxRetries: 1\n  tools: [read_file, write_file, str_replace, grep, bash, submit_result]\n",
    )
    .unwrap();
    Env {
        _dir: dir,
        root,
        home,
        bare,
    }
}

struct Run {
    stdout: Vec<u8>,
    stderr: Vec<u8>,
    journal: String,
}

async fn foreman_run(e: &Env, replies: Vec<Reply>) -> Run {
    foreman_run_with(e, replies, |_| {}).await
}

/// [`foreman_run`] with extra flags or environment for the child.
async fn foreman_run_with(
    e: &Env,
    replies: Vec<Reply>,
    tweak: impl FnOnce(&mut tokio::process::Command),
) -> Run {
    let server = ScriptedServer::start(replies).unwrap();
    let journal = e.root.join("journal.jsonl");
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_foreman"));
    cmd.arg("run")
        .args(["--task", e.root.join("task.yaml").to_str().unwrap()])
        .args(["--agent", e.root.join("agent.yaml").to_str().unwrap()])
        .args(["--base-url", &server.base_url()])
        .args(["--git-remote-url", e.bare.to_str().unwrap()])
        .args(["--workspace-dir", e.root.join("ws").to_str().unwrap()])
        .args(["--commit-author-email", "bot@example.com"])
        .args(["--transcript", journal.to_str().unwrap()])
        .arg("--push")
        .env("HOME", &e.home)
        .env("GITHUB_TOKEN", TOKEN)
        .env("FOREMAN_CONFIG", e.root.join("none.toml"))
        .env_remove("FOREMAN_SANDBOX");
    tweak(&mut cmd);
    let out = cmd.output().await.expect("foreman runs");
    Run {
        stdout: out.stdout,
        stderr: out.stderr,
        journal: std::fs::read_to_string(&journal).unwrap_or_default(),
    }
}

fn bash(command: &str) -> Reply {
    Reply::tool_call("bash", json!({ "command": command }).to_string())
}

fn submit(verdict: &str) -> Reply {
    Reply::tool_call(
        "submit_result",
        json!({"verdict": verdict, "summary": "done", "commit_message": "docs: fix typo"})
            .to_string(),
    )
}

fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_token_is_nowhere_the_models_shell_can_look() {
    let e = env();
    let run = foreman_run(
        &e,
        vec![
            bash("env; echo ENV-DONE"),
            bash("cat /proc/[0-9]*/environ | tr '\\0' '\\n'; echo PROC-DONE"),
            bash("cat ~/.config/foreman/github-token; ls -A ~; echo FILE-DONE"),
            bash("grep -rs ghp_ / --exclude-dir=proc --exclude-dir=sys | head; echo GREP-DONE"),
            submit("NO-GO"),
        ],
    )
    .await;
    // The commands ran (their output is in the journal) ...
    for done in ["ENV-DONE", "PROC-DONE", "FILE-DONE", "GREP-DONE", "PATH="] {
        assert!(
            run.journal.contains(done),
            "{done} missing from the journal"
        );
    }
    // ... and nothing they printed, nor anything foreman printed, holds the token.
    assert!(!run.journal.contains(TOKEN), "the token reached the model");
    assert!(!contains(&run.stdout, TOKEN) && !contains(&run.stderr, TOKEN));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hook_that_prints_its_environment_gets_no_token() {
    let e = env();
    // The operator's own hooks (global core.hooksPath): they run sandboxed like the model.
    let hooks = e.home.join("hooks");
    std::fs::create_dir_all(&hooks).unwrap();
    let hook = hooks.join("pre-commit");
    std::fs::write(
        &hook,
        "#!/bin/sh\nenv\necho PROC:\ncat /proc/[0-9]*/environ | tr '\\0' '\\n'\n\
         cat \"$HOME/.config/foreman/github-token\"\necho HOOK-RAN\nexit 1\n",
    )
    .unwrap();
    std::fs::set_permissions(&hook, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    std::fs::write(
        e.home.join(".gitconfig"),
        format!("[core]\n\thooksPath = {}\n", hooks.display()),
    )
    .unwrap();
    let run = foreman_run(
        &e,
        vec![
            Reply::tool_call(
                "str_replace",
                r#"{"path":"README.md","old_string":"teh","new_string":"the"}"#,
            ),
            submit("GO"),
        ],
    )
    .await;
    let result = String::from_utf8_lossy(&run.stdout);
    assert!(result.contains("COMMIT-REJECTED"), "{result}");
    assert!(
        result.contains("HOOK-RAN") && result.contains("GIT_AUTHOR_NAME=Foreman Bot"),
        "the hook ran and printed its environment: {result}"
    );
    assert!(!result.contains(TOKEN), "the hook saw the token: {result}");
    assert!(!contains(&run.stderr, TOKEN));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn escape_sequences_from_the_model_and_the_server_never_reach_stderr() {
    let e = env();
    let hostile = "\u{1b}]52;c;ZXZpbA==\u{7}\u{1b}[2J\u{1b}]8;;https://evil.test\u{1b}\\link\u{1b}]8;;\u{1b}\\ \u{1b}]0;pwned\u{7}\u{9b}2J\u{1b}c";
    let run = foreman_run(
        &e,
        vec![
            Reply::status(500, format!("{{\"error\":{{\"code\":500,\"message\":\"boom {hostile}\"}}}}")),
            Reply::text(format!("visible {hostile} words")),
            Reply::tool_call(format!("bash{hostile}"), r#"{"command":"true"}"#),
            Reply::tool_call("bash", json!({"command": format!("echo 'args {hostile}'; printf '\\033]52;c;eHh4\\007\\033[2Jout-ok\\n'")}).to_string()),
            submit("NO-GO"),
        ],
    )
    .await;
    let stderr = String::from_utf8_lossy(&run.stderr);
    // What was shown: the server's error, the model's text, the odd tool name, the output.
    for seen in ["boom", "visible", "words", "link", "bash", "out-ok"] {
        assert!(stderr.contains(seen), "{seen} not shown:\n{stderr}");
    }
    assert!(
        !run.stderr.contains(&0x1b),
        "an ESC byte reached stderr:\n{stderr:?}"
    );
    assert!(
        !stderr
            .chars()
            .any(|c| c.is_control() && c != '\n' && c != '\t'),
        "a control character reached stderr:\n{stderr:?}"
    );
    assert!(!Path::new(&e.root).join("ws/default/fix-1").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_bubblewrap_the_run_is_refused_unless_the_operator_says_no_sandbox() {
    let e = env();
    // A PATH with a shell but no bwrap.
    let bin = e.root.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::os::unix::fs::symlink("/bin/sh", bin.join("sh")).unwrap();
    let no_bwrap = |c: &mut tokio::process::Command| {
        c.env("PATH", &bin);
    };
    let run = foreman_run_with(&e, vec![bash("echo RAN"), submit("NO-GO")], no_bwrap).await;
    let result = String::from_utf8_lossy(&run.stdout);
    assert!(
        result.contains("EXECUTOR-PRECONDITION-FAILED")
            && result.contains("ToolRegistryBuildFailed")
            && result.contains("bubblewrap (bwrap) is not installed")
            && result.contains("mode = \\\"off\\\""),
        "{result}"
    );
    assert!(!run.journal.contains("RAN"), "nothing ran: {}", run.journal);
    let run = foreman_run_with(&e, vec![bash("echo RAN"), submit("NO-GO")], |c| {
        c.env("PATH", &bin).arg("--no-sandbox");
    })
    .await;
    let result = String::from_utf8_lossy(&run.stdout);
    assert!(result.contains("\"verdict\": \"NO-GO\""), "{result}");
    assert!(
        run.journal.contains(r#"\"stdout\":\"RAN\\n\""#),
        "{}",
        run.journal
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_executor_error_quoting_a_hostile_server_body_reaches_stderr_without_escapes() {
    let e = env();
    let hostile = "\u{1b}]52;c;ZXZpbA==\u{7}\u{1b}[2J\u{1b}]0;pwned\u{7}\u{9b}2J";
    let body = format!("{{\"error\":{{\"code\":500,\"message\":\"down {hostile} hard\"}}}}");
    // maxRetries 1: two attempts, both refused, so the run ends in an executor error.
    let run = foreman_run(
        &e,
        vec![Reply::status(500, body.clone()), Reply::status(500, body)],
    )
    .await;
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        stderr.contains("executor error") && stderr.contains("hard"),
        "{stderr}"
    );
    assert!(
        !run.stderr.contains(&0x1b),
        "an ESC reached stderr: {stderr:?}"
    );
    assert!(
        !stderr
            .chars()
            .any(|c| c.is_control() && c != '\n' && c != '\t'),
        "{stderr:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn foreman_drops_the_token_from_its_own_environment_at_startup() {
    let e = env();
    // Unconfined, so the model's shell can read foreman's own /proc entry (its parent's).
    let run = foreman_run_with(
        &e,
        vec![
            bash("tr '\\0' '\\n' < /proc/$PPID/environ; echo ENVIRON-DONE"),
            submit("NO-GO"),
        ],
        |c| {
            c.arg("--no-sandbox");
        },
    )
    .await;
    assert!(
        run.journal.contains("ENVIRON-DONE") && run.journal.contains("FOREMAN_CONFIG="),
        "foreman's environ was read: {}",
        run.journal
    );
    assert!(
        !run.journal.contains(TOKEN),
        "the token was in foreman's environ"
    );
    assert!(!run.journal.contains("GITHUB_TOKEN=g"), "{}", run.journal);
}

/// The operator's `[executor] max_tool_calls_per_turn` (here from the environment) caps an
/// Agent that sets no cap of its own: of five calls in one reply two run, three are told why.
#[tokio::test]
async fn the_operators_tool_call_cap_applies_to_an_agent_without_one() {
    let e = env();
    let calls: Vec<(String, String)> = (0..5)
        .map(|i| {
            let args = json!({ "command": format!("echo ran-{i}") }).to_string();
            ("bash".to_string(), args)
        })
        .collect();
    let run = foreman_run_with(&e, vec![Reply::ToolCalls(calls), submit("NO-GO")], |c| {
        c.env("FOREMAN_MAX_TOOL_CALLS_PER_TURN", "2");
    })
    .await;
    let told = "this reply asked for 5 tool calls and at most 2 run per turn";
    assert_eq!(run.journal.matches(told).count(), 3, "{}", run.journal);
    // A tool output is JSON inside a JSON string in the journal: `ran-1\n` ran, `ran-2\n` not.
    assert!(
        run.journal.contains("ran-1\\\\n") && !run.journal.contains("ran-2\\\\n"),
        "{}",
        run.journal
    );
}
