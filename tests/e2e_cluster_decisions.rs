#![cfg(feature = "e2e")]
//! Decisions from any console and any node's diff (issue 13 §1–2), against a real
//! kube-apiserver and the real git smart-HTTP server (with its pulls API): a task node A ran is
//! approved, rejected and PR'd from consoles that are not A; A's worker pushes once (the
//! server's push log counts every `git-receive-pack`); the races (two approvals, approve vs
//! reject, A restarting between the decision and the push); A's published diff, capped when
//! large, is read by another console.
//!
//!   KUBE_PORT=16510 ETCD_PORT=12510 scripts/k8s.sh start /tmp/k8s
//!   FOREMAN_E2E_KUBECONFIG=/tmp/k8s/kubeconfig cargo test --features e2e --test e2e_cluster_decisions
//!   scripts/k8s.sh stop /tmp/k8s

mod common;

use common::cluster_ui::{REPO, TOKEN, Ui, World, cluster, key};
use common::git;
use common::k8s::kubectl_at;
use foreman::backend::{Command, Job};
use foreman::executor::run::TokenSource;
use foreman::fleet::TaskState;
use foreman::fleet::decision::{Action, Decision, Stage};
use foreman::k8s::worker::node::NodeConfig;
use foreman::k8s::worker::{self, WorkerConfig};
use foreman::workspace::{FileDiff, Identity, Token};
use serde_json::json;
use std::time::Duration;
use tokio::sync::mpsc;

/// B's diff pane over `files`, `next` files in: the screen as text.
fn screen(files: &[FileDiff], next: usize) -> String {
    use foreman::console::diff::{DiffStyle, DiffView};
    use ratatui::{Terminal, backend::TestBackend};
    let mut v = DiffView::new(files.to_vec());
    let mut term = Terminal::new(TestBackend::new(120, 30)).unwrap();
    // Laid out once (file positions), then stepped, then drawn as the pane does.
    v.prepare(term.get_frame().area());
    for _ in 0..next {
        v.next_file();
    }
    term.draw(|f| {
        let area = f.area();
        v.prepare(area);
        v.render(area, f.buffer_mut(), &DiffStyle::default());
    })
    .unwrap();
    let buf = term.backend().buffer();
    (0..buf.area.height)
        .map(|y| {
            (0..buf.area.width)
                .map(|x| buf[(x, y)].symbol())
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_console_approves_rejects_and_opens_the_pr_and_node_a_pushes_once() {
    let w = World::new("decide");
    let (a, b) = (w.node("a"), w.node("b"));
    let sha = w.go_task("approve-me", &a, 0);
    w.go_task("reject-me", &a, 0);
    let (worker_a, _events) = w.worker(&a);
    let mut ui = Ui::start(&w.kc, &w.ns, &b, &w.server.api()).await;
    let who = cluster(&w.kc, &w.ns).await.who;
    assert_eq!(ui.state("approve-me"), Some(TaskState::AwaitingApproval));

    // A publishes its change; B, which has no workspace, reads it.
    w.wait_diff_published("approve-me").await;
    ui.h.send(Command::LoadDiff(key(&w, "approve-me")));
    ui.until("the diff", 15, |u| !u.diffs.is_empty()).await;
    let files = ui.diffs.pop().unwrap().1.expect("B reads A's diff");
    assert_eq!(files.len(), 1, "{files:?}");
    assert_eq!(files[0].new_path.as_deref(), Some("greeter.py"));
    assert!(
        files[0].patch.contains("+print('Hello from approve-me')"),
        "{}",
        files[0].patch
    );

    // Approve from B: the decision is written; A pushes from its workspace, once.
    ui.h.send(Command::ApprovePush(key(&w, "approve-me")));
    let out = ui.job("approve-me", Job::Push).await.expect("written");
    assert!(out.contains(&format!("node {a} carries it out")), "{out}");
    ui.until("pushed, seen on B", 30, |u| {
        u.state("approve-me") == Some(TaskState::Pushed)
    })
    .await;
    assert_eq!(
        w.remote_ref("foreman/approve-me").as_deref(),
        Some(sha.as_str())
    );
    assert_eq!(w.pushes(), 1, "one push reached the server");
    let e = w.extra("approve-me");
    assert_eq!(e["pushDecision"], "approved");
    assert_eq!(
        e["decidedBy"],
        who.as_str(),
        "the kubeconfig user@context of B"
    );
    assert_eq!(e["pushedSHA"], sha.as_str());
    assert_eq!(e["decision"]["stage"], "done");
    assert_eq!(e["decision"]["node"], a.as_str());

    // Open the PR from B: A opens it on the pulls API; B sees it.
    ui.h.send(Command::OpenPr(key(&w, "approve-me")));
    ui.job("approve-me", Job::OpenPr).await.expect("written");
    ui.until("PR open on B", 30, |u| {
        u.state("approve-me") == Some(TaskState::PrOpen)
    })
    .await;
    let e = w.extra("approve-me");
    assert!(
        e["prUrl"]
            .as_str()
            .unwrap()
            .ends_with("/acme/greeter/pull/1"),
        "{e}"
    );
    assert_eq!(w.pushes(), 1, "opening the PR pushed nothing");

    // Reject from B: recorded by A, nothing pushed.
    ui.h.send(Command::RejectPush(key(&w, "reject-me")));
    ui.until("rejected on B", 30, |u| {
        u.state("reject-me") == Some(TaskState::Rejected)
    })
    .await;
    assert_eq!(w.remote_ref("foreman/reject-me"), None);
    assert_eq!(w.pushes(), 1);
    assert_eq!(w.extra("reject-me")["decidedBy"], who.as_str());

    // With A gone, a decision waits on the task and can be withdrawn (once).
    worker_a.shutdown().await.unwrap();
    w.go_task("withdraw-me", &a, 0);
    ui.until("the new task", 15, |u| {
        u.state("withdraw-me") == Some(TaskState::AwaitingApproval)
    })
    .await;
    ui.h.send(Command::ApprovePush(key(&w, "withdraw-me")));
    ui.job("withdraw-me", Job::Push).await.expect("written");
    ui.until("pending on B", 15, |u| {
        matches!(
            u.tasks.get("withdraw-me").map(Stage::of),
            Some(Stage::Pending(_))
        )
    })
    .await;
    ui.h.send(Command::WithdrawDecision(key(&w, "withdraw-me")));
    ui.until("withdrawn", 15, |u| {
        u.notices
            .iter()
            .any(|n| n.contains("withdrew approve the push"))
    })
    .await;
    ui.until("no decision on B", 15, |u| {
        matches!(
            u.tasks.get("withdraw-me").map(Stage::of),
            Some(Stage::None(None))
        )
    })
    .await;
    ui.h.send(Command::WithdrawDecision(key(&w, "withdraw-me")));
    ui.until("nothing to withdraw", 15, |u| {
        u.errors.iter().any(|e| e.contains("no pending decision"))
    })
    .await;
    assert_eq!(ui.state("withdraw-me"), Some(TaskState::AwaitingApproval));
    assert_eq!(w.pushes(), 1);
    ui.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_consoles_one_decision_wins_the_other_is_told_and_one_push_happens() {
    let w = World::new("decide-race");
    let a = w.node("a");
    w.go_task("both-approve", &a, 0);
    w.go_task("approve-or-reject", &a, 0);
    let mut b = Ui::start(&w.kc, &w.ns, &w.node("b"), &w.server.api()).await;
    let mut c = Ui::start(&w.kc, &w.ns, &w.node("c"), &w.server.api()).await;

    // Two approvals at once: one is written, the other is told whose won.
    b.h.send(Command::ApprovePush(key(&w, "both-approve")));
    c.h.send(Command::ApprovePush(key(&w, "both-approve")));
    let outcomes = [
        b.job("both-approve", Job::Push).await,
        c.job("both-approve", Job::Push).await,
    ];
    assert_eq!(
        outcomes.iter().filter(|o| o.is_ok()).count(),
        1,
        "{outcomes:?}"
    );
    let lost = outcomes.iter().find_map(|o| o.as_ref().err()).unwrap();
    assert!(
        lost.contains("approve the push by") && lost.contains("won; yours"),
        "{lost}"
    );

    // Approve against reject: one wins, the other console is told.
    b.h.send(Command::ApprovePush(key(&w, "approve-or-reject")));
    c.h.send(Command::RejectPush(key(&w, "approve-or-reject")));
    let approved = b.job("approve-or-reject", Job::Push).await;
    c.until("the reject's answer", 30, |u| {
        u.notices
            .iter()
            .chain(&u.errors)
            .any(|m| m.contains("approve-or-reject"))
    })
    .await;
    let rejected = c
        .notices
        .iter()
        .any(|m| m.contains("reject the push written"));
    assert!(
        approved.is_ok() != rejected,
        "exactly one wins: {approved:?} / {:?} {:?}",
        c.notices,
        c.errors
    );
    if rejected {
        assert!(
            approved
                .unwrap_err()
                .contains("won; yours (approve the push)")
        );
    } else {
        assert!(
            c.errors
                .iter()
                .any(|e| e.contains("won; yours (reject the push)")),
            "{:?}",
            c.errors
        );
    }

    // A comes up and carries out the winners: one push per approved task.
    let (worker_a, _ev) = w.worker(&a);
    b.until("both-approve pushed", 30, |u| {
        u.state("both-approve") == Some(TaskState::Pushed)
    })
    .await;
    let want = if rejected {
        TaskState::Rejected
    } else {
        TaskState::Pushed
    };
    b.until("the winner carried out", 30, |u| {
        u.state("approve-or-reject") == Some(want)
    })
    .await;
    c.until("seen on C too", 30, |u| {
        u.state("approve-or-reject") == Some(want)
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(w.pushes(), if rejected { 1 } else { 2 });
    assert_eq!(
        w.remote_ref("foreman/approve-or-reject").is_some(),
        !rejected
    );
    worker_a.shutdown().await.unwrap();
    b.stop().await;
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_restarting_between_the_decision_and_the_push_pushes_once_after_restart() {
    let w = World::new("decide-restart");
    let a = w.node("a");
    // Decided while A was down.
    let sha_down = w.go_task("decided-while-down", &a, 0);
    // Taken by A, which crashed before pushing.
    let sha_taken = w.go_task("taken-not-pushed", &a, 0);
    // Taken by A, which crashed after the push landed but before it was recorded.
    let sha_landed = w.go_task("pushed-not-recorded", &a, 0);
    let at = jiff::Timestamp::now();
    for name in [
        "decided-while-down",
        "taken-not-pushed",
        "pushed-not-recorded",
    ] {
        let d = Decision::new(Action::Approve, None, "alice@prod", at).unwrap();
        w.annotate(name, &d);
        if name != "decided-while-down" {
            let mark = json!({"id": d.id, "stage": "taken", "node": a, "at": d.at});
            w.patch_status(name, json!({"result": {"extra": {"decision": mark}}}));
        }
    }
    // The landed push went straight to the repository, not through the server.
    let ws = w.root.path().join("ws/pushed-not-recorded");
    git(
        &ws,
        &[
            "push",
            "-q",
            w.bare.to_str().unwrap(),
            "foreman/pushed-not-recorded",
        ],
    );
    assert_eq!(w.pushes(), 0);

    let (worker_a, _ev) = w.worker(&a);
    let mut ui = Ui::start(&w.kc, &w.ns, &w.node("b"), &w.server.api()).await;
    for name in [
        "decided-while-down",
        "taken-not-pushed",
        "pushed-not-recorded",
    ] {
        ui.until(name, 30, |u| u.state(name) == Some(TaskState::Pushed))
            .await;
        assert_eq!(w.extra(name)["decision"]["stage"], "done", "{name}");
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(w.pushes(), 2, "the landed push is not repeated");
    let msg = w.extra("pushed-not-recorded")["decision"]["message"].clone();
    assert!(
        msg.as_str()
            .unwrap()
            .contains("found on the remote after a restart"),
        "{msg}"
    );
    for (branch, sha) in [
        ("foreman/decided-while-down", &sha_down),
        ("foreman/taken-not-pushed", &sha_taken),
        ("foreman/pushed-not-recorded", &sha_landed),
    ] {
        assert_eq!(
            w.remote_ref(branch).as_deref(),
            Some(sha.as_str()),
            "{branch}"
        );
    }
    // Restarting again changes nothing: every decision is done.
    worker_a.shutdown().await.unwrap();
    let (again, _ev) = w.worker(&a);
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(w.pushes(), 2);
    again.shutdown().await.unwrap();
    ui.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_diff_is_published_capped_and_read_by_another_console() {
    let w = World::new("decide-diff");
    let a = w.node("a");
    // 60 files of ~12 KiB: about 0.7 MiB of patch, over the 512 KiB cap.
    w.go_task("large", &a, 60);
    let (worker_a, _ev) = w.worker(&a);
    let cm = w.wait_diff_published("large").await;
    let text = cm["data"]["diff.patch"].as_str().unwrap();
    assert!(text.len() <= 512 * 1024 + 300, "{}", text.len());
    let last = text.lines().last().unwrap();
    assert!(
        last.starts_with("# foreman: diff cut at 512 KiB") && last.contains("of 61 file(s)"),
        "{last}"
    );
    assert_eq!(
        cm["metadata"]["labels"]["foreman.llmkube.dev/diff-of"],
        "large"
    );
    assert_eq!(cm["metadata"]["ownerReferences"][0]["kind"], "AgenticTask");

    let mut ui = Ui::start(&w.kc, &w.ns, &w.node("b"), &w.server.api()).await;
    ui.h.send(Command::LoadDiff(key(&w, "large")));
    ui.until("the diff", 15, |u| !u.diffs.is_empty()).await;
    let files = ui.diffs.pop().unwrap().1.expect("B reads A's capped diff");
    let marker = files.last().unwrap().new_path.clone().unwrap();
    assert!(
        marker.starts_with("# foreman: diff cut at 512 KiB"),
        "{marker}"
    );
    assert!(files.len() > 10 && files.len() < 61, "{}", files.len());
    // Files come in git's order (gen0.txt … gen59.txt, greeter.py): the last ones are cut.
    assert_eq!(files[0].new_path.as_deref(), Some("gen0.txt"));
    assert!(
        !files
            .iter()
            .any(|f| f.new_path.as_deref() == Some("greeter.py"))
    );
    // The diff view renders what B received, the cut said at its end.
    let first = screen(&files, 0);
    assert!(
        first.contains("gen0.txt") && first.contains("large file 0 line 0"),
        "{first}"
    );
    let last = screen(&files, files.len() - 1);
    assert!(last.contains("# foreman: diff cut at 512 KiB"), "{last}");
    worker_a.shutdown().await.unwrap();
    ui.stop().await;
}

/// The whole way with a real run: node A's worker claims the task, the executor runs it
/// (scripted model, clone and commit over smart HTTP) to *Awaiting approval*; console B reads
/// the diff A published and approves; A pushes it, once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_run_by_node_a_is_reviewed_and_approved_from_console_b() {
    use common::scripted_oai::{Reply, ScriptedServer};
    use foreman::k8s::worker::endpoint::EndpointConfig;
    let w = World::new("decide-run");
    let a = w.node("a");
    let model = ScriptedServer::start(vec![
        Reply::tool_call(
            "str_replace",
            r#"{"path":"greeter.py","old_string":"Helo","new_string":"Hello"}"#,
        ),
        Reply::tool_call(
            "submit_result",
            json!({"verdict":"GO","summary":"fixed the greeting","commit_message":"fix: greeting\n\nFixes #1"}).to_string(),
        ),
    ])
    .unwrap();
    let runner = "apiVersion: foreman.llmkube.dev/v1alpha1\nkind: Agent\nmetadata: {name: runner}\nspec:\n  role: coder\n  maxRetries: 0\n  tools: [read_file, str_replace, submit_result]\n";
    let task = format!(
        "apiVersion: foreman.llmkube.dev/v1alpha1\nkind: AgenticTask\nmetadata: {{name: run-me}}\nspec:\n  kind: issue-fix\n  agentRef: {{name: runner}}\n  payload: {{repo: {REPO}, issue: 1, prompt: \"Fix the greeting\"}}\n"
    );
    kubectl_at(&w.kc, &["-n", &w.ns, "apply", "-f", "-"], Some(runner));
    kubectl_at(&w.kc, &["-n", &w.ns, "apply", "-f", "-"], Some(&task));
    w.patch_status("run-me", json!({"phase": "Pending"}));
    w.patch_status("run-me", json!({"phase": "Scheduled", "assignedNode": a}));

    let mut cfg_a = WorkerConfig::new(
        NodeConfig {
            name: a.clone(),
            roles: vec!["worker".into()],
            total_ram_gb: 64,
            ..Default::default()
        },
        Identity {
            name: "Foreman Bot".into(),
            email: "bot@example.com".into(),
        },
        w.root.path().join("worker-a"),
    );
    cfg_a.task_namespace = Some(w.ns.clone());
    cfg_a.heartbeat_every = Duration::from_secs(1);
    cfg_a.rescan_every = Duration::from_millis(500);
    cfg_a.transcript_every = Duration::from_millis(200);
    cfg_a.push_now = false;
    cfg_a.keep_workspace = false;
    cfg_a.token = TokenSource::Given(Token::new(TOKEN));
    cfg_a.git_remote_url = Some(w.server.url(REPO));
    cfg_a.endpoint = EndpointConfig {
        base_url_override: None,
        host_override: None,
        fallback_base_url: Some(model.base_url()),
    };
    let (tx, _ev) = mpsc::unbounded_channel();
    let worker_a = worker::spawn(cluster(&w.kc, &w.ns).await, cfg_a, tx);

    let mut ui = Ui::start(&w.kc, &w.ns, &w.node("b"), &w.server.api()).await;
    ui.until("A's run awaiting approval", 90, |u| {
        u.state("run-me") == Some(TaskState::AwaitingApproval)
    })
    .await;
    let sha = w.extra("run-me")["commitSHA"].as_str().unwrap().to_string();
    let branch = w.extra("run-me")["branch"].as_str().unwrap().to_string();
    assert_eq!(w.pushes(), 0, "nothing is pushed before the approval");
    w.wait_diff_published("run-me").await;
    ui.h.send(Command::LoadDiff(key(&w, "run-me")));
    ui.until("the diff", 15, |u| !u.diffs.is_empty()).await;
    let files = ui.diffs.pop().unwrap().1.expect("B reads A's diff");
    assert_eq!(files.len(), 1, "{files:?}");
    assert!(
        files[0].patch.contains("+print('Hello')"),
        "{}",
        files[0].patch
    );

    ui.h.send(Command::ApprovePush(key(&w, "run-me")));
    ui.job("run-me", Job::Push).await.expect("written");
    ui.until("pushed by A, seen on B", 30, |u| {
        u.state("run-me") == Some(TaskState::Pushed)
    })
    .await;
    assert_eq!(w.remote_ref(&branch).as_deref(), Some(sha.as_str()));
    assert_eq!(w.pushes(), 1);
    worker_a.shutdown().await.unwrap();
    ui.stop().await;
}
