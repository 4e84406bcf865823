//! Request changes (issue 12) end to end on the embedded backend, against the scripted model
//! and a real git remote (a local bare repository): GO, the operator's feedback, a second GO
//! committed on top of the first in the same workspace and branch; attempt 1's Result and
//! journal kept; the push carries both commits; the Agent's `maxReviewIterations` refuses a
//! further round. Then the headless side through the binary: `foreman review` runs a round
//! in its own process, `foreman note` reaches a live run of another process, and both say
//! clearly what they refuse.

mod common;

use common::scripted_oai::{Reply, ScriptedServer};
use common::ui::Ui;
use common::{FleetRepo, fleet_repo, git, submit_result};
use foreman::agent::notes::note_message;
use foreman::agent::transcript::{Record, read_journal};
use foreman::backend::embedded::{EmbeddedConfig, Store};
use foreman::backend::{BackendHandle, Command, Job};
use foreman::executor::review::{FEEDBACK_PREFIX, REVIEW_BASE, REVIEW_ITERATION};
use foreman::fleet::status::result_extra;
use foreman::fleet::{TaskKey, TaskState, task_state};
use foreman::workspace::FileDiff;
use std::path::{Path, PathBuf};

const AGENT: &str = "apiVersion: foreman.llmkube.dev/v1alpha1\nkind: Agent\nmetadata: {name: coder}\nspec:\n  role: coder\n  maxRetries: 1\n  maxReviewIterations: 1\n  tools: [read_file, write_file, str_replace, grep, bash, submit_result]\n";
const TASK: &str = "---\napiVersion: foreman.llmkube.dev/v1alpha1\nkind: AgenticTask\nmetadata: {name: fix}\nspec:\n  kind: issue-fix\n  agentRef: {name: coder}\n  payload: {repo: acme/fleet, issue: 7, prompt: \"Fix the typo in README\"}\n";
/// A task whose Agent does not exist: it fails at once (not awaiting approval).
const ORPHAN: &str = "---\napiVersion: foreman.llmkube.dev/v1alpha1\nkind: AgenticTask\nmetadata: {name: orphan}\nspec:\n  kind: issue-fix\n  agentRef: {name: nobody}\n  payload: {repo: acme/fleet, issue: 8, prompt: \"x\"}\n";

fn key(name: &str) -> TaskKey {
    TaskKey::new("default", name)
}

fn config(r: &FleetRepo, base_url: &str) -> EmbeddedConfig {
    EmbeddedConfig {
        git_remote_url: Some(r.bare.display().to_string()),
        ..common::local::embedded_config(&r.root.join("state"), base_url, 1)
    }
}

fn submit(h: &BackendHandle, dir: &Path, text: &str) {
    common::ui::submit(h, dir, "m.yaml", text);
}

fn request(h: &BackendHandle, feedback: &str) {
    h.send(Command::RequestChanges {
        task: key("fix"),
        feedback: feedback.into(),
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requested_changes_commit_on_top_keep_attempt_one_and_push_both() {
    let r = fleet_repo();
    let replies = common::two_attempts();
    let server = ScriptedServer::start(replies).unwrap();
    let (mut ui, h) = Ui::start(config(&r, &server.base_url()));
    submit(&h, &r.root, &format!("{AGENT}{TASK}"));
    ui.until("the first GO", |u| {
        u.state("fix") == Some(TaskState::AwaitingApproval)
    })
    .await;
    let first = ui.sha("fix");
    let journal_1 = ui.tasks["fix"]
        .status
        .as_ref()
        .unwrap()
        .transcript_ref
        .clone()
        .unwrap();
    let records_1 = read_journal(Path::new(&journal_1)).unwrap().len();

    // Refusals first: nothing changes for empty feedback.
    request(&h, "  \n");
    ui.until("the empty refusal", |u| !u.errors.is_empty())
        .await;
    assert!(ui.errors.remove(0).contains("empty feedback"));

    request(&h, "Mention CONTRIBUTING.\nREADME.md:2: add a line below");
    ui.until("the revision runs", |u| {
        u.state("fix") == Some(TaskState::Running)
    })
    .await;
    ui.until("the second GO", |u| {
        u.state("fix") == Some(TaskState::AwaitingApproval)
    })
    .await;
    assert!(ui.errors.is_empty(), "{:?}", ui.errors);
    let second = ui.sha("fix");
    assert_ne!(second, first);
    let ws = r.root.join("state/workspaces/default/fix");
    assert_eq!(
        git(&ws, &["rev-parse", "HEAD~1"]).trim(),
        first,
        "on top of the first"
    );
    assert_eq!(git(&ws, &["rev-parse", "HEAD"]).trim(), second);

    // The model read the feedback after its whole first conversation.
    let reqs = server.requests();
    assert_eq!(reqs.len(), 4);
    let msgs = reqs[2]["messages"].as_array().unwrap();
    let last = msgs.last().unwrap()["content"].as_str().unwrap();
    assert!(last.starts_with(FEEDBACK_PREFIX), "{last}");
    assert!(last.contains("- README.md:2: add a line below"), "{last}");
    assert!(msgs.len() > reqs[1]["messages"].as_array().unwrap().len());

    // Attempt 2 is the task; attempt 1's Result and journal are kept as they were.
    let t = &ui.tasks["fix"];
    let other = result_extra(t).other;
    assert_eq!(other[REVIEW_ITERATION], 1);
    assert_eq!(other[REVIEW_BASE], first.as_str());
    let journal_2 = t.status.as_ref().unwrap().transcript_ref.clone().unwrap();
    assert_ne!(journal_2, journal_1);
    assert!(journal_2.ends_with("fix.attempt-2.jsonl"), "{journal_2}");
    assert_eq!(
        read_journal(Path::new(&journal_1)).unwrap().len(),
        records_1
    );
    let (store, _) = Store::open(&r.root.join("state")).unwrap();
    assert_eq!(
        foreman::backend::embedded::store::attempt_of(store.task(&key("fix")).unwrap()),
        2
    );
    let earlier = store.attempts(&key("fix")).unwrap();
    assert_eq!(earlier.len(), 1);
    assert_eq!(earlier[0].number, 1);
    assert_eq!(
        earlier[0].status.commit_sha.as_deref(),
        Some(first.as_str())
    );
    assert_eq!(
        earlier[0].status.transcript_ref.as_deref(),
        Some(journal_1.as_str())
    );
    drop(store);

    // The diff: the whole change holds both attempts' files, the latest only attempt 2's.
    let (whole, latest) = ui.diff(&h, key("fix")).await;
    let latest = latest.expect("two attempts: a latest-attempt diff");
    assert_eq!(latest.attempt, 2);
    let patch = |f: &[FileDiff]| f.iter().map(|d| d.patch.as_str()).collect::<String>();
    let own = patch(&latest.files.unwrap());
    assert!(own.contains("+See CONTRIBUTING."), "{own}");
    assert!(
        !own.contains("-teh"),
        "attempt 1's fix is not attempt 2's own: {own}"
    );
    let whole = patch(&whole);
    assert!(whole.contains("+See CONTRIBUTING."), "{whole}");
    assert!(
        whole.contains("teh"),
        "the whole change starts before the typo fix: {whole}"
    );

    // maxReviewIterations: 1 — a second round is refused and the GO still awaits approval.
    request(&h, "and once more");
    ui.until("the limit refusal", |u| !u.errors.is_empty())
        .await;
    let why = ui.errors.remove(0);
    assert!(why.contains("maxReviewIterations is 1"), "{why}");
    assert_eq!(ui.state("fix"), Some(TaskState::AwaitingApproval));
    assert_eq!(server.requests().len(), 4, "no model turn ran");

    // The push carries both commits.
    h.send(Command::ApprovePush(key("fix")));
    ui.until("pushed", |u| !u.jobs.is_empty()).await;
    assert!(matches!(&ui.jobs[0], (Job::Push, Ok(_))), "{:?}", ui.jobs);
    let log = git(&r.bare, &["log", "--format=%s", "foreman/issue-7"]);
    assert_eq!(
        log.lines().take(2).collect::<Vec<_>>(),
        ["docs: point to CONTRIBUTING", "docs: fix typo"]
    );
    h.send(Command::Shutdown);
    h.stopped().await;
}

/// `foreman` with the state, config home and model of this test.
fn foreman(
    state: &Path,
    base_url: &str,
    remote: &Path,
    args: &[&str],
    stdin: &str,
) -> (i32, String, String) {
    use std::io::Write;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_foreman"))
        .env("FOREMAN_STATE_DIR", state)
        .env("HOME", state)
        .env_remove("XDG_CONFIG_HOME")
        .args(["--inference-base-url", base_url, "--git-remote-url"])
        .arg(remote)
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

async fn foreman_async(
    state: PathBuf,
    base_url: String,
    remote: PathBuf,
    args: Vec<String>,
    stdin: &'static str,
) -> (i32, String, String) {
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        foreman(&state, &base_url, &remote, &args, stdin)
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn foreman_review_runs_a_round_headless_and_refuses_what_it_cannot() {
    let r = fleet_repo();
    let replies = common::two_attempts();
    let server = ScriptedServer::start(replies).unwrap();
    let (mut ui, h) = Ui::start(config(&r, &server.base_url()));
    submit(&h, &r.root, &format!("{AGENT}{TASK}{ORPHAN}"));
    ui.until("the GO and the orphan's failure", |u| {
        u.state("fix") == Some(TaskState::AwaitingApproval)
            && u.state("orphan") == Some(TaskState::Failed)
    })
    .await;
    h.send(Command::Shutdown);
    h.stopped().await;
    let first = ui.sha("fix");
    let state = r.root.join("state");
    let url = server.base_url();
    let run = |args: Vec<&str>, stdin: &'static str| {
        let args = args.into_iter().map(String::from).collect();
        foreman_async(state.clone(), url.clone(), r.bare.clone(), args, stdin)
    };

    let (code, _, err) = run(vec!["review", "nope", "--request-changes", "-"], "fix it").await;
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("no task default/nope"), "{err}");
    let (code, _, err) = run(vec!["review", "orphan", "--request-changes", "-"], "fix it").await;
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("is Failed") && err.contains("awaiting approval"),
        "{err}"
    );
    let (code, _, err) = run(vec!["review", "fix", "--request-changes", "-"], " \n").await;
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("empty feedback"), "{err}");
    let (code, _, err) = run(vec!["note", "nope", "hello"], "").await;
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("not in the store"), "{err}");
    let (code, _, err) = run(vec!["note", "fix", "hello"], "").await;
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("not running"), "{err}");
    assert_eq!(server.requests().len(), 2, "no refusal reached the model");

    // A round from a file: the model answers the feedback, its GO commits on top.
    let fb = r.root.join("feedback.txt");
    std::fs::write(&fb, "Mention CONTRIBUTING.\n").unwrap();
    let fb: &'static str = Box::leak(fb.display().to_string().into_boxed_str());
    let (code, out, err) = run(
        vec!["review", "default/fix", "--request-changes", fb, "-q"],
        "",
    )
    .await;
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("default/fix: GO"), "{out}");
    assert!(out.contains("awaiting approval again"), "{out}");
    let (store, _) = Store::open(&state).unwrap();
    let t = store.task(&key("fix")).unwrap();
    assert_eq!(task_state(t), TaskState::AwaitingApproval);
    let second = result_extra(t).commit_sha.unwrap();
    let ws = r.root.join("state/workspaces/default/fix");
    assert_eq!(git(&ws, &["rev-parse", "HEAD~1"]).trim(), first);
    assert_eq!(git(&ws, &["rev-parse", "HEAD"]).trim(), second);
    assert_eq!(
        store.attempts(&key("fix")).unwrap().len(),
        1,
        "attempt 1 is kept"
    );
    let reqs = server.requests();
    let last = reqs[2]["messages"].as_array().unwrap().last().unwrap()["content"].clone();
    assert!(
        last.as_str().unwrap().contains("Mention CONTRIBUTING."),
        "{last}"
    );
    drop(store);
    // maxReviewIterations: 1 holds headless too.
    let (code, _, err) = run(vec!["review", "fix", "--request-changes", "-"], "more").await;
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("maxReviewIterations is 1"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_note_from_another_process_reaches_the_live_run() {
    let r = fleet_repo();
    // Turn 1 runs a command that takes a while: the note arrives meanwhile.
    let slow = Reply::tool_call("bash", r#"{"command":"sleep 2"}"#);
    let server = ScriptedServer::start(vec![
        slow,
        common::fix_readme(),
        submit_result("GO", "docs: fix typo"),
    ])
    .unwrap();
    let (mut ui, h) = Ui::start(config(&r, &server.base_url()));
    submit(&h, &r.root, &format!("{AGENT}{TASK}"));
    ui.until("running", |u| u.state("fix") == Some(TaskState::Running))
        .await;
    // What `foreman note` does: another process's store queues it.
    let (mut other, _) = Store::open(&r.root.join("state")).unwrap();
    other
        .queue_note(&key("fix"), "use the British spelling")
        .unwrap();
    ui.until("the GO", |u| {
        u.state("fix") == Some(TaskState::AwaitingApproval)
    })
    .await;
    let want = note_message("use the British spelling");
    let reqs = server.requests();
    let carried = reqs.iter().position(|q| {
        q["messages"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["role"] == "user" && m["content"] == want.as_str())
    });
    assert!(carried.is_some(), "the note reached the model: {reqs:?}");
    let journal = ui.tasks["fix"]
        .status
        .as_ref()
        .unwrap()
        .transcript_ref
        .clone()
        .unwrap();
    let journalled = read_journal(Path::new(&journal)).unwrap().into_iter().any(|r| {
        matches!(r, Record::Message { message, .. } if message.content.as_deref() == Some(want.as_str()))
    });
    assert!(journalled, "the journal keeps it");
    // Once the run is over, a note is refused (and none is left behind for a later run).
    let err = other
        .queue_note(&key("fix"), "late")
        .unwrap_err()
        .to_string();
    assert!(err.contains("not running"), "{err}");
    h.send(Command::Shutdown);
    h.stopped().await;
}
