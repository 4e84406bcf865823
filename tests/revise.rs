//! Request changes (issue 12) through the executor's engine, `executor::revise`: a GO awaiting
//! approval, the operator's feedback, attempt 2 resumed from the GO commit against the scripted
//! model. The feedback is the last message of the second attempt's first request (after the
//! whole first conversation), the new GO commits on top, the push carries both, and the
//! review round is recorded in the Result.

mod common;

use common::scripted_oai::ScriptedServer;
use common::{FleetRepo, bot, fix_then_go, fleet_repo, git};
use foreman::agent::Inbox;
use foreman::agent::transcript::{Record, read_journal};
use foreman::executor::review::{FEEDBACK_PREFIX, REVIEW_BASE, REVIEW_ITERATION, Revision};
use foreman::executor::run::TokenSource;
use foreman::executor::{ExecutorConfig, RunReport, execute, push_pending, revise};
use foreman::workspace::Token;

fn config(e: &FleetRepo, base_url: &str, journal: &str) -> ExecutorConfig {
    ExecutorConfig {
        base_url: base_url.to_string(),
        git_remote_url: Some(e.bare.display().to_string()),
        workspace_root: e.root.join("ws"),
        namespace: "default".into(),
        keep_workspace: false,
        identity: bot(),
        push_now: false,
        journal_path: e.root.join(journal),
        token: TokenSource::Given(Token::new("unused-for-local-remotes")),
        sandbox: Default::default(),
        provider_key: Default::default(),
        github_api_base: None,
    }
}

/// Attempt 1: fix the typo, GO, awaiting approval.
async fn first_attempt(e: &FleetRepo) -> RunReport {
    let s = ScriptedServer::start(fix_then_go("docs: fix typo\n\nFixes #7")).unwrap();
    let cfg = config(e, &s.base_url(), "attempt-1.jsonl");
    let rep = execute(&common::issue_task(), &common::agent(""), &cfg, &mut |_| {})
        .await
        .unwrap();
    assert_eq!(rep.result.verdict, "GO", "{:?}", rep.result);
    rep
}

fn revision(rep: &RunReport, feedback: &str, iteration: u32) -> Revision {
    Revision {
        pending: rep.pending_push.clone().expect("awaits approval"),
        previous_journal: rep.journal.clone(),
        feedback: feedback.into(),
        iteration,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requested_changes_resume_the_conversation_and_commit_on_top() {
    let e = fleet_repo();
    let one = first_attempt(&e).await;
    let first_sha = one.pending_push.clone().unwrap().sha;
    let s = ScriptedServer::start(common::answer_feedback()).unwrap();
    let cfg = config(&e, &s.base_url(), "attempt-2.jsonl");
    let rev = revision(
        &one,
        "Mention CONTRIBUTING.\nREADME.md:2: add a line below",
        1,
    );
    let agent = common::agent("");
    let task = common::issue_task();
    let two = revise(&task, &agent, &cfg, &rev, Inbox::default(), &mut |_| {})
        .await
        .unwrap();
    assert_eq!(two.result.verdict, "GO", "{:?}", two.result);
    let pending = two.pending_push.clone().expect("awaits approval again");
    assert_ne!(pending.sha, first_sha);
    assert_eq!(pending.workspace, rev.pending.workspace);
    let ws = &pending.workspace;
    assert_eq!(git(ws, &["rev-parse", "HEAD~1"]).trim(), first_sha);
    assert_eq!(git(ws, &["rev-parse", "HEAD"]).trim(), pending.sha);
    // The first request of attempt 2: the whole first conversation, then the feedback.
    let reqs = s.requests();
    assert_eq!(reqs.len(), 2);
    let msgs = reqs[0]["messages"].as_array().unwrap();
    let last = msgs.last().unwrap();
    assert_eq!(last["role"], "user");
    let text = last["content"].as_str().unwrap();
    assert!(text.starts_with(FEEDBACK_PREFIX), "{text}");
    assert!(text.contains("Mention CONTRIBUTING."), "{text}");
    assert!(text.contains("- README.md:2: add a line below"), "{text}");
    assert_eq!(msgs[0]["role"], "system");
    let calls = |name: &str| {
        msgs.iter()
            .filter(|m| m["tool_calls"][0]["function"]["name"] == name)
            .count()
    };
    assert_eq!(
        (calls("str_replace"), calls("submit_result")),
        (1, 1),
        "attempt 1's calls are in the history"
    );
    // The Result records the round; attempt 2's journal is the whole conversation.
    let other = &two.result.extra.other;
    assert_eq!(other[REVIEW_ITERATION], 1);
    assert_eq!(other[REVIEW_BASE], first_sha.as_str());
    let records = read_journal(&two.journal).unwrap();
    let messages = records
        .iter()
        .filter(|r| matches!(r, Record::Message { .. }))
        .count();
    assert_eq!(
        messages,
        msgs.len() + 4,
        "history and feedback, then two replies and their tool results"
    );
    // The push carries both commits.
    push_pending(&pending, None).await.unwrap();
    let remote = git(&e.bare, &["log", "--format=%s", &pending.branch]);
    assert_eq!(
        remote.lines().take(2).collect::<Vec<_>>(),
        ["docs: point to CONTRIBUTING", "docs: fix typo"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_workspace_moved_off_the_reviewed_commit_is_refused() {
    let e = fleet_repo();
    let one = first_attempt(&e).await;
    let mut rev = revision(&one, "again", 1);
    rev.pending.sha = "0".repeat(40);
    let s = ScriptedServer::start(vec![]).unwrap();
    let cfg = config(&e, &s.base_url(), "attempt-2.jsonl");
    let err = revise(
        &common::issue_task(),
        &common::agent(""),
        &cfg,
        &rev,
        Inbox::default(),
        &mut |_| {},
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(err.contains("not at the reviewed commit"), "{err}");
    assert!(s.requests().is_empty(), "no model turn ran");
}
