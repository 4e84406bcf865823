#![cfg(feature = "e2e")]
//! Request changes on a cluster (issues 12 §3, 13 §1), against a real kube-apiserver, the real
//! git smart-HTTP server and the scripted model: a task node A ran gets changes requested from
//! console B; A runs attempt 2 from its workspace (the feedback reaches the model as a user
//! message, the new commit sits on the first); over `maxReviewIterations` is refused and the
//! task waits as it was; the approval pushes both commits once; attempt 1 stays readable. The
//! races (two consoles at once, request changes against approve) and A restarting between the
//! take and the revision each carry out one decision, once.
//!
//!   KUBE_PORT=16510 ETCD_PORT=12510 scripts/k8s.sh start /tmp/k8s
//!   FOREMAN_E2E_KUBECONFIG=/tmp/k8s/kubeconfig cargo test --features e2e --test e2e_cluster_revise
//!   scripts/k8s.sh stop /tmp/k8s

mod common;

use common::answer_feedback;
use common::cluster_ui::{REPO, Ui, World, key};
use common::git;
use common::scripted_oai::{Reply, ScriptedServer};
use foreman::agent::transcript::Record;
use foreman::backend::Command;
use foreman::executor::review::FEEDBACK_PREFIX;
use foreman::fleet::TaskState;
use foreman::fleet::decision::{Action, Decision, Mark, Progress, Stage};
use foreman::oai::Message;
use serde_json::{Value, json};
use std::time::Duration;

const FEEDBACK: &str = "Also add a README that points to CONTRIBUTING.";

/// The Agent of the real runs: one review allowed.
const RUNNER: &str = "apiVersion: foreman.llmkube.dev/v1alpha1\nkind: Agent\nmetadata: {name: runner}\nspec:\n  role: coder\n  maxRetries: 0\n  maxReviewIterations: 1\n  tools: [read_file, write_file, str_replace, submit_result]\n";

/// The chat requests whose last user message is the operator's feedback.
fn feedback_requests(model: &ScriptedServer) -> Vec<Value> {
    model
        .requests()
        .into_iter()
        .filter(|r| {
            r["messages"].as_array().is_some_and(|ms| {
                ms.iter().any(|m| {
                    m["role"] == "user"
                        && m["content"]
                            .as_str()
                            .is_some_and(|c| c.starts_with(FEEDBACK_PREFIX))
                })
            })
        })
        .collect()
}

/// `foreman review NAME --request-changes FILE` on the cluster, through the binary: its exit
/// code, stdout and stderr (it waits for node A).
async fn review_cli(w: &World, name: &str, feedback: &str) -> (i32, String, String) {
    let file = w.root.path().join(format!("feedback-{name}.txt"));
    std::fs::write(&file, feedback).unwrap();
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_foreman"));
    cmd.arg("--kubeconfig")
        .arg(&w.kc)
        .args(["-n", &w.ns, "review", name]);
    cmd.arg("--request-changes").arg(&file);
    let out = tokio::time::timeout(Duration::from_secs(120), cmd.output())
        .await
        .expect("foreman review ends")
        .unwrap();
    let text = |b: &[u8]| String::from_utf8_lossy(b).to_string();
    (
        out.status.code().unwrap_or(-1),
        text(&out.stdout),
        text(&out.stderr),
    )
}

fn mark(w: &World, name: &str) -> Mark {
    serde_json::from_value(w.extra(name)["decision"].clone()).expect("a decision mark")
}

fn attempt_annotation(w: &World, name: &str) -> Option<String> {
    let t = w.get("agentictask", name).unwrap();
    t["metadata"]["annotations"]["foreman.llmkube.dev/attempt"]
        .as_str()
        .map(str::to_string)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_requested_from_b_run_as_attempt_2_on_a_and_one_push_carries_both_commits() {
    let w = World::new("revise");
    let a = w.node("a");
    let mut replies = vec![
        Reply::tool_call(
            "str_replace",
            r#"{"path":"greeter.py","old_string":"Helo","new_string":"Hello"}"#,
        ),
        Reply::tool_call(
            "submit_result",
            json!({"verdict":"GO","summary":"fixed the greeting","commit_message":"fix: greeting\n\nFixes #1"}).to_string(),
        ),
    ];
    replies.extend(answer_feedback());
    let model = ScriptedServer::start(replies).unwrap();
    w.apply(RUNNER);
    w.apply(&format!(
        "apiVersion: foreman.llmkube.dev/v1alpha1\nkind: AgenticTask\nmetadata: {{name: run-me}}\nspec:\n  kind: issue-fix\n  agentRef: {{name: runner}}\n  payload: {{repo: {REPO}, issue: 1, prompt: \"Fix the greeting\"}}\n"
    ));
    w.patch_status("run-me", json!({"phase": "Pending"}));
    w.patch_status("run-me", json!({"phase": "Scheduled", "assignedNode": a}));
    let (worker_a, _ev) = w.real_worker(&a, &model.base_url()).await;
    let mut ui = Ui::start(&w.kc, &w.ns, &w.node("b"), &w.server.api()).await;
    ui.until("A's first GO", 90, |u| {
        u.state("run-me") == Some(TaskState::AwaitingApproval)
    })
    .await;
    let first = w.extra("run-me");
    let sha1 = first["commitSHA"].as_str().unwrap().to_string();
    let branch = first["branch"].as_str().unwrap().to_string();
    let ws = std::path::PathBuf::from(first["workspace"].as_str().unwrap());

    // Changes are requested headless (foreman review, waiting for A); A runs attempt 2 on
    // the same branch, from the first commit; B sees it.
    let (code, out, err) = review_cli(&w, "run-me", FEEDBACK).await;
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("request changes written"), "{out}");
    assert!(err.contains("review 1 started as attempt 2"), "{err}");
    assert!(out.contains("AwaitingApproval · GO"), "{out}");
    ui.until("attempt 2 awaiting approval", 90, |u| {
        u.state("run-me") == Some(TaskState::AwaitingApproval)
            && u.tasks["run-me"]
                .status
                .as_ref()
                .and_then(|s| s.commit_sha.as_deref())
                .is_some_and(|s| s != sha1)
    })
    .await;
    let e = w.extra("run-me");
    let sha2 = e["commitSHA"].as_str().unwrap().to_string();
    assert_eq!(e["branch"], branch.as_str());
    assert_eq!(
        (e["reviewIteration"].clone(), e["reviewBase"].clone()),
        (json!(1), json!(sha1))
    );
    let m = mark(&w, "run-me");
    assert_eq!(
        (m.stage, m.node.as_str()),
        (Progress::Done, a.as_str()),
        "{m:?}"
    );
    assert!(m.message.unwrap().contains("started as attempt 2"));
    assert_eq!(attempt_annotation(&w, "run-me").as_deref(), Some("2"));
    assert!(matches!(Stage::of(&ui.tasks["run-me"]), Stage::Ended(..)));
    let parent = git(&ws, &["rev-parse", &format!("{sha2}^")]);
    assert_eq!(
        parent.trim(),
        sha1,
        "the second commit is on top of the first"
    );
    let asked = feedback_requests(&model);
    assert!(!asked.is_empty(), "the model got the feedback");
    assert!(asked[0].to_string().contains(FEEDBACK), "{}", asked[0]);
    assert_eq!(w.pushes(), 0, "nothing pushed before the approval");

    // Attempt 1 is still readable, with how it ended.
    ui.h.send(Command::LoadAttempt {
        task: key(&w, "run-me"),
        attempt: 1,
    });
    ui.until("attempt 1", 15, |u| {
        u.attempts.iter().any(|v| v.attempt == 1)
    })
    .await;
    let one = ui.attempts.iter().find(|v| v.attempt == 1).unwrap();
    assert_eq!(one.attempts, vec![1, 2]);
    assert_eq!(
        one.status.as_ref().and_then(|s| s.commit_sha.as_deref()),
        Some(sha1.as_str())
    );
    let records = one.records.as_ref().expect("attempt 1's transcript");
    let text = format!("{records:?}");
    assert!(
        text.contains("str_replace") && !text.contains(FEEDBACK_PREFIX),
        "{text}"
    );

    // Over maxReviewIterations (1): refused on the decision (foreman review exits 2 and
    // says why), the task waits as it was.
    let (code, _, err) = review_cli(&w, "run-me", "One more thing.").await;
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("refused") && err.contains("maxReviewIterations is 1"),
        "{err}"
    );
    ui.until("the refusal", 30, |u| {
        matches!(Stage::of(&u.tasks["run-me"]), Stage::Ended(_, m) if m.stage == Progress::Failed)
    })
    .await;
    let m = mark(&w, "run-me");
    assert!(
        m.message
            .as_deref()
            .unwrap()
            .contains("maxReviewIterations is 1"),
        "{m:?}"
    );
    assert_eq!(ui.state("run-me"), Some(TaskState::AwaitingApproval));
    assert_eq!(w.extra("run-me")["commitSHA"], sha2.as_str());

    // The approval pushes both commits, once.
    ui.h.send(Command::ApprovePush(key(&w, "run-me")));
    ui.until("pushed", 30, |u| {
        u.state("run-me") == Some(TaskState::Pushed)
    })
    .await;
    assert_eq!(w.remote_ref(&branch).as_deref(), Some(sha2.as_str()));
    assert_eq!(
        git(&w.bare, &["rev-parse", &format!("{sha2}^")]).trim(),
        sha1
    );
    assert_eq!(w.pushes(), 1);
    worker_a.shutdown().await.unwrap();
    ui.stop().await;
}

/// A GO of `name` awaiting approval on `node` (as `World::go_task`) whose run left a journal,
/// so a revision can resume it.
fn go_with_journal(w: &World, name: &str, node: &str) -> String {
    let sha = w.go_task(name, node, 0);
    let dir = w.root.path().join("journals");
    std::fs::create_dir_all(&dir).unwrap();
    let journal = dir.join(format!("{name}.jsonl"));
    let lines: Vec<String> = [
        (0, Message::system("You are a coder.")),
        (0, Message::user("Fix the greeting")),
        (1, Message::assistant("Fixed the greeting.")),
    ]
    .into_iter()
    .map(|(turn, message)| serde_json::to_string(&Record::Message { turn, message }).unwrap())
    .collect();
    std::fs::write(&journal, lines.join("\n") + "\n").unwrap();
    w.patch_status(name, json!({"result": {"extra": {"journal": journal}}}));
    sha
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_requests_and_a_restart_between_take_and_start_revise_once() {
    let w = World::new("revise-race");
    let a = w.node("a");
    go_with_journal(&w, "both-request", &a);
    go_with_journal(&w, "request-or-approve", &a);
    go_with_journal(&w, "taken-then-down", &a);
    let mut b = Ui::start(&w.kc, &w.ns, &w.node("b"), &w.server.api()).await;
    let mut c = Ui::start(&w.kc, &w.ns, &w.node("c"), &w.server.api()).await;

    // A is down. Two requests at once: one is written, the other is told whose won.
    for ui in [&b, &c] {
        ui.h.send(Command::RequestChanges {
            task: key(&w, "both-request"),
            feedback: FEEDBACK.into(),
        });
    }
    for ui in [&mut b, &mut c] {
        ui.until("an answer", 15, |u| {
            u.notices
                .iter()
                .chain(&u.errors)
                .any(|m| m.contains("both-request"))
        })
        .await;
    }
    let said: Vec<String> = [&b, &c]
        .iter()
        .flat_map(|u| u.notices.iter().chain(&u.errors).cloned())
        .filter(|m| m.contains("both-request"))
        .collect();
    assert_eq!(
        said.iter()
            .filter(|m| m.contains("request changes written"))
            .count(),
        1,
        "{said:?}"
    );
    assert!(
        said.iter()
            .any(|m| m.contains("won; yours (request changes) was not recorded")),
        "{said:?}"
    );

    // Request changes against approve: one is written.
    b.h.send(Command::RequestChanges {
        task: key(&w, "request-or-approve"),
        feedback: FEEDBACK.into(),
    });
    c.h.send(Command::ApprovePush(key(&w, "request-or-approve")));
    let approved = c
        .job("request-or-approve", foreman::backend::Job::Push)
        .await;
    b.until("the request's answer", 15, |u| {
        u.notices
            .iter()
            .chain(&u.errors)
            .any(|m| m.contains("request-or-approve"))
    })
    .await;
    let requested = b
        .notices
        .iter()
        .any(|m| m.contains("request-or-approve: request changes written"));
    assert!(
        approved.is_ok() != requested,
        "one wins: {approved:?} / {:?} {:?}",
        b.notices,
        b.errors
    );

    // A crashed after taking a request, before the revision began.
    let d = Decision::new(
        Action::RequestChanges,
        Some(FEEDBACK),
        "test@ctx",
        jiff::Timestamp::now(),
    )
    .unwrap();
    w.annotate("taken-then-down", &d);
    let taken = Mark::new(&d.id, Progress::Taken, &a, None);
    w.patch_status(
        "taken-then-down",
        json!({"result": {"extra": {"decision": taken.to_value()}}}),
    );

    // A comes up: each decision is carried out once.
    let mut replies = answer_feedback();
    replies.extend(answer_feedback());
    replies.extend(answer_feedback());
    let model = ScriptedServer::start(replies).unwrap();
    let (worker_a, _ev) = w.real_worker(&a, &model.base_url()).await;
    for name in ["both-request", "taken-then-down"] {
        b.until("revised", 90, |u| {
            u.state(name) == Some(TaskState::AwaitingApproval)
                && matches!(Stage::of(&u.tasks[name]), Stage::Ended(_, m) if m.stage == Progress::Done)
                && u.tasks[name].status.as_ref().and_then(|s| s.result.as_ref()).is_some_and(|r| r["extra"]["reviewIteration"] == 1)
        })
        .await;
        assert_eq!(attempt_annotation(&w, name).as_deref(), Some("2"), "{name}");
    }
    if requested {
        b.until("revised", 90, |u| {
            u.state("request-or-approve") == Some(TaskState::AwaitingApproval)
                && u.tasks["request-or-approve"]
                    .status
                    .as_ref()
                    .and_then(|s| s.result.as_ref())
                    .is_some_and(|r| r["extra"]["reviewIteration"] == 1)
        })
        .await;
        assert_eq!(w.pushes(), 0);
    } else {
        b.until("pushed", 30, |u| {
            u.state("request-or-approve") == Some(TaskState::Pushed)
        })
        .await;
        assert_eq!(w.pushes(), 1);
    }
    // Let the rescan run a few times: nothing is carried out again.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let revisions = if requested { 3 } else { 2 };
    assert_eq!(
        feedback_requests(&model).len(),
        2 * revisions,
        "one revision per request, two turns each"
    );
    assert_eq!(model.remaining(), 2 * (3 - revisions));
    worker_a.shutdown().await.unwrap();
    b.stop().await;
    c.stop().await;
}
