//! The executor end to end against a scripted OpenAI server and local bare git remotes:
//! every outcome of the Result envelope (spec §3.5).

mod common;

use common::scripted_oai::{Reply, ScriptedServer};
use common::{
    FleetRepo, agent, bot, fix_readme, fix_then_go, fleet_repo, git, issue_task, submit_result,
};
use foreman::executor::run::TokenSource;
use foreman::executor::{ExecEvent, ExecutorConfig, RunReport, execute, push_pending};
use foreman::workspace::Token;
use std::path::Path;

fn config(e: &FleetRepo, base_url: &str, push_now: bool) -> ExecutorConfig {
    ExecutorConfig {
        base_url: base_url.to_string(),
        git_remote_url: Some(e.bare.display().to_string()),
        workspace_root: e.root.join("ws"),
        namespace: "default".into(),
        keep_workspace: false,
        identity: bot(),
        push_now,
        journal_path: e.root.join("journal.jsonl"),
        token: TokenSource::Given(Token::new("unused-for-local-remotes")),
        sandbox: Default::default(),
        provider_key: Default::default(),
        github_api_base: None,
    }
}

async fn run(e: &FleetRepo, replies: Vec<Reply>, push_now: bool) -> (RunReport, Vec<ExecEvent>) {
    let server = ScriptedServer::start(replies).unwrap();
    let cfg = config(e, &server.base_url(), push_now);
    let mut events = Vec::new();
    let rep = execute(&issue_task(), &agent(""), &cfg, &mut |ev| events.push(ev))
        .await
        .unwrap();
    (rep, events)
}

/// The envelope's verdict and `extra.outcome`, the pair each outcome test checks.
fn verdict_outcome(rep: &RunReport) -> (&str, &str) {
    (rep.result.verdict.as_str(), rep.result.outcome())
}

fn remote_log(bare: &Path, branch: &str) -> String {
    git(
        bare,
        &["log", "-1", "--format=%an <%ae>%n%cn <%ce>%n%B", branch],
    )
}

#[tokio::test]
async fn go_commits_with_dco_and_pushes() {
    let e = fleet_repo();
    let (rep, events) = run(&e, fix_then_go("docs: fix typo\n\nFixes #7"), true).await;
    let r = &rep.result;
    assert_eq!(verdict_outcome(&rep), ("GO", ""), "{r:?}");
    assert_eq!(r.extra.branch.as_deref(), Some("foreman/issue-7"));
    let log = remote_log(&e.bare, "foreman/issue-7");
    assert!(
        log.starts_with("Foreman Bot <bot@example.com>\nForeman Bot <bot@example.com>\n"),
        "{log}"
    );
    assert!(
        log.contains("Fixes #7\n\nSigned-off-by: Foreman Bot <bot@example.com>"),
        "{log}"
    );
    assert_eq!(
        r.extra.commit_sha.as_deref().unwrap(),
        git(&e.bare, &["rev-parse", "foreman/issue-7"]).trim()
    );
    assert!(
        events
            .iter()
            .any(|ev| matches!(ev, ExecEvent::Status(s) if s.starts_with("pushing")))
    );
    // The workspace is removed after the run unless kept.
    assert!(!e.root.join("ws/default/fix-1").exists());
}

#[tokio::test]
async fn go_without_push_waits_for_approval_then_pushes() {
    let e = fleet_repo();
    let (rep, _) = run(&e, fix_then_go("docs: fix typo"), false).await;
    assert_eq!(rep.result.verdict, "GO");
    assert_eq!(rep.result.extra.pushed, Some(false));
    let pending = rep.pending_push.expect("pending push");
    assert!(
        pending.workspace.exists(),
        "workspace kept for the approval"
    );
    // Nothing on the remote yet.
    assert!(
        git(&e.bare, &["branch", "--list", "foreman/issue-7"])
            .trim()
            .is_empty()
    );
    push_pending(&pending, None).await.unwrap();
    // The model forgot `Fixes #7`: the executor added it.
    let log = remote_log(&e.bare, "foreman/issue-7");
    assert!(log.contains("Fixes #7"), "{log}");
}

#[tokio::test]
async fn no_go_is_model_decided_and_touches_no_git() {
    let e = fleet_repo();
    let (rep, _) = run(&e, vec![submit_result("NO-GO", "")], true).await;
    assert_eq!(verdict_outcome(&rep), ("NO-GO", "MODEL-DECIDED"));
    assert!(!git(&e.bare, &["branch", "--list"]).contains("foreman/"));
}

#[tokio::test]
async fn error_verdict_maps_to_incomplete() {
    let e = fleet_repo();
    let (rep, _) = run(&e, vec![submit_result("ERROR", "")], true).await;
    assert_eq!(rep.result.verdict, "INCOMPLETE");
    assert_eq!(rep.result.reason(), Some("ModelReportedError"));
}

#[tokio::test]
async fn go_without_edits_is_no_changes() {
    let e = fleet_repo();
    let (rep, _) = run(&e, vec![submit_result("GO", "docs: nothing")], true).await;
    assert_eq!(verdict_outcome(&rep), ("NO-GO", "NO-CHANGES"));
    assert_eq!(
        rep.result.extra.intended_branch.as_deref(),
        Some("foreman/issue-7")
    );
}

#[tokio::test]
async fn go_without_a_commit_message_is_refused_until_the_model_gives_one() {
    let e = fleet_repo();
    let (rep, _) = run(
        &e,
        vec![
            fix_readme(),
            submit_result("GO", "  "),
            submit_result("GO", "docs: fix typo\n\nFixes #7"),
        ],
        true,
    )
    .await;
    assert_eq!(verdict_outcome(&rep), ("GO", ""), "{:?}", rep.result);
    let log = remote_log(&e.bare, "foreman/issue-7");
    assert!(log.contains("docs: fix typo"), "{log}");
}

#[tokio::test]
async fn the_model_cannot_install_a_hook_the_executor_would_run() {
    let e = fleet_repo();
    // The repository ships a failing hook in `hooks/`. Before issue 9 the model could point
    // core.hooksPath at it (or at anything it wrote) and the executor ran it on the host at
    // commit time; now `.git` is read-only in the model's sandbox, so the config edit fails
    // and no hook the model chose runs. (Hooks the operator configured still run, sandboxed:
    // tests/workspace_git.rs covers a rejecting hook.)
    let seed = e.root.join("seed-acme-fleet.git");
    std::fs::create_dir_all(seed.join("hooks")).unwrap();
    let hook = seed.join("hooks/pre-commit");
    std::fs::write(
        &hook,
        "#!/bin/sh\necho 'lint: trailing whitespace in README.md' >&2\nexit 1\n",
    )
    .unwrap();
    std::fs::set_permissions(&hook, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    git(&seed, &["add", "hooks/pre-commit"]);
    git(&seed, &["commit", "-q", "-m", "add hook"]);
    git(&seed, &["push", "-q", e.bare.to_str().unwrap(), "main"]);
    let server = ScriptedServer::start(vec![
        Reply::tool_call("bash", r#"{"command":"git config core.hooksPath hooks"}"#),
        fix_readme(),
        submit_result("GO", "docs: fix typo"),
    ])
    .unwrap();
    let cfg = config(&e, &server.base_url(), true);
    let rep = execute(&issue_task(), &agent(""), &cfg, &mut |_| {})
        .await
        .unwrap();
    assert_eq!(
        (rep.result.verdict.as_str(), rep.result.outcome()),
        ("GO", ""),
        "{:?}",
        rep.result
    );
    let records = foreman::agent::transcript::read_journal(&rep.journal).unwrap();
    let msgs = foreman::agent::transcript::messages_of(&records);
    let bash = msgs
        .iter()
        .find(|m| m.role == foreman::oai::Role::Tool && m.name.as_deref() == Some("bash"))
        .unwrap();
    assert!(
        bash.text().contains("Read-only file system"),
        "{}",
        bash.text()
    );
    let log = remote_log(&e.bare, "foreman/issue-7");
    assert!(log.contains("docs: fix typo"), "{log}");
}

#[tokio::test]
async fn rejected_push_is_push_failed_with_the_local_sha() {
    let e = fleet_repo();
    // Someone else already pushed a different foreman/issue-7: ours is not a fast-forward
    // (local-path remotes run no server hooks, so divergence is the rejection here; the
    // smart-HTTP e2e suite covers a pre-receive hook).
    let seed = e.root.join("seed-acme-fleet.git");
    git(&seed, &["checkout", "-q", "-b", "foreman/issue-7"]);
    std::fs::write(seed.join("OTHER.md"), "other work\n").unwrap();
    git(&seed, &["add", "-A"]);
    git(&seed, &["commit", "-q", "-m", "other work"]);
    git(
        &seed,
        &["push", "-q", e.bare.to_str().unwrap(), "foreman/issue-7"],
    );
    let theirs = git(&e.bare, &["rev-parse", "foreman/issue-7"]);
    let (rep, _) = run(&e, fix_then_go("docs: fix typo"), true).await;
    assert_eq!(
        verdict_outcome(&rep),
        ("NO-GO", "PUSH-FAILED"),
        "{:?}",
        rep.result
    );
    assert_eq!(
        rep.result.extra.commit_sha.as_deref().map(str::len),
        Some(40)
    );
    assert!(
        rep.result
            .extra
            .error
            .as_deref()
            .unwrap()
            .contains("rejected"),
        "{:?}",
        rep.result
    );
    assert_eq!(
        git(&e.bare, &["rev-parse", "foreman/issue-7"]),
        theirs,
        "never forced"
    );
}

#[tokio::test]
async fn preconditions_are_results_not_errors() {
    let e = fleet_repo();
    let server = ScriptedServer::start(vec![]).unwrap();
    let mut cfg = config(&e, &server.base_url(), true);

    let wrong = issue_task();
    let other_agent = {
        let mut a = agent("");
        a.metadata.name = Some("someone-else".into());
        a
    };
    let rep = execute(&wrong, &other_agent, &cfg, &mut |_| {})
        .await
        .unwrap();
    assert_eq!(rep.result.reason(), Some("AgentNotFound"));

    cfg.git_remote_url = None;
    let rep = execute(&issue_task(), &agent(""), &cfg, &mut |_| {})
        .await
        .unwrap();
    assert_eq!(rep.result.outcome(), "EXECUTOR-PRECONDITION-FAILED");
    assert_eq!(rep.result.reason(), Some("GitRemoteNotConfigured"));

    cfg.git_remote_url = Some(e.root.join("missing.git").display().to_string());
    let rep = execute(&issue_task(), &agent(""), &cfg, &mut |_| {})
        .await
        .unwrap();
    assert_eq!(rep.result.reason(), Some("CloneFailed"));
    assert!(
        rep.result.summary.contains("clone failed"),
        "{}",
        rep.result.summary
    );
}

#[tokio::test]
async fn unreachable_model_server_is_an_executor_error() {
    let e = fleet_repo();
    let cfg = config(&e, "http://127.0.0.1:9/v1", true);
    let err = execute(&issue_task(), &agent(""), &cfg, &mut |_| {})
        .await
        .unwrap_err();
    assert!(err.to_string().contains("chat turn 1 failed"), "{err}");
}

#[tokio::test]
async fn journal_records_every_message_and_the_result() {
    let e = fleet_repo();
    let (rep, _) = run(&e, fix_then_go("docs: fix typo"), true).await;
    let records = foreman::agent::transcript::read_journal(&rep.journal).unwrap();
    let msgs = foreman::agent::transcript::messages_of(&records);
    assert_eq!(msgs[0].role, foreman::oai::Role::System);
    assert!(msgs.iter().any(|m| {
        m.tool_calls()
            .iter()
            .any(|c| c.function.name == "str_replace")
    }));
    assert!(matches!(
        records.last(),
        Some(foreman::agent::transcript::Record::End { .. })
    ));
}

/// The pipeline steps, in order, as the console and the headless printer show them.
fn steps(events: &[ExecEvent]) -> Vec<String> {
    events
        .iter()
        .filter_map(|ev| match ev {
            ExecEvent::Status(s) => Some(s.clone()),
            ExecEvent::Loop(_) | ExecEvent::Gate(_) => None,
        })
        .collect()
}

#[tokio::test]
async fn the_steps_are_reported_in_pipeline_order() {
    let e = fleet_repo();
    let server = ScriptedServer::start(fix_then_go("docs: fix typo")).unwrap();
    let cfg = config(&e, &server.base_url(), true);
    let mut events = Vec::new();
    let rep = execute(&issue_task(), &agent(""), &cfg, &mut |ev| events.push(ev))
        .await
        .unwrap();
    let sha = rep.result.extra.commit_sha.as_deref().unwrap()[..12].to_string();
    assert_eq!(
        steps(&events),
        vec![
            format!("cloning {}", e.bare.display()),
            // The loop starts beside the clone; its tools wait for the branch.
            format!(
                "running the loop against {} (max 50 turns)",
                server.base_url()
            ),
            "on branch foreman/issue-7".to_string(),
            "committing".to_string(),
            format!("committed {sha}"),
            "pushing foreman/issue-7".to_string(),
        ]
    );
    // Every loop event lies between the loop's start and the commit.
    let first_loop = events
        .iter()
        .position(|ev| matches!(ev, ExecEvent::Loop(_)));
    let last_loop = events
        .iter()
        .rposition(|ev| matches!(ev, ExecEvent::Loop(_)));
    let committing = events
        .iter()
        .position(|ev| matches!(ev, ExecEvent::Status(s) if s == "committing"));
    assert!(
        first_loop.unwrap() == 2 && last_loop < committing,
        "{events:?}"
    );

    let e = fleet_repo();
    let (_, events) = run(&e, fix_then_go("docs: fix typo"), false).await;
    let s = steps(&events);
    assert_eq!(s.len(), 6, "{s:?}");
    assert_eq!(s[5], "awaiting push approval");
}

/// Events stamped as the sink receives them.
type Stamped = Vec<(std::time::Instant, ExecEvent)>;

/// A run of `replies` whose clone comes from a smart-HTTP remote answering each git request
/// `delay_ms` late.
async fn run_slow_remote(
    e: &FleetRepo,
    repo: &str,
    replies: Vec<Reply>,
    delay_ms: u64,
) -> (RunReport, Stamped, ScriptedServer) {
    const TOKEN: &str = "slow-remote-token";
    let remote = common::GitServer::start_slow(&e.root, TOKEN, delay_ms);
    let server = ScriptedServer::start(replies).unwrap();
    let mut cfg = config(e, &server.base_url(), true);
    cfg.git_remote_url = Some(remote.url(repo));
    cfg.token = TokenSource::Given(Token::new(TOKEN));
    let mut events = Vec::new();
    let rep = execute(&issue_task(), &agent(""), &cfg, &mut |ev| {
        events.push((std::time::Instant::now(), ev))
    })
    .await
    .unwrap();
    (rep, events, server)
}

fn status_at(events: &Stamped, prefix: &str) -> Option<usize> {
    events
        .iter()
        .position(|(_, ev)| matches!(ev, ExecEvent::Status(s) if s.starts_with(prefix)))
}

/// The model's first reply (an assistant message).
fn first_reply_at(events: &Stamped) -> Option<usize> {
    events.iter().position(|(_, ev)| {
        matches!(ev, ExecEvent::Loop(foreman::agent::LoopEvent::Message { message, .. })
            if message.role == foreman::oai::Role::Assistant)
    })
}

#[tokio::test]
async fn the_first_request_runs_beside_a_slow_clone_and_the_tools_wait_for_it() {
    let e = fleet_repo();
    let (rep, events, _server) =
        run_slow_remote(&e, "acme/fleet", fix_then_go("docs: fix typo"), 400).await;
    // The instant model answered (a str_replace of the README) long before the clone ended.
    let reply = first_reply_at(&events).expect("the model replied");
    let branched = status_at(&events, "on branch").expect("the branch was made");
    assert!(
        reply < branched,
        "the request waited for the clone: {events:?}"
    );
    let waited = events[branched].0 - events[reply].0;
    assert!(
        waited >= std::time::Duration::from_millis(300),
        "the clone was not slow: the reply came {waited:?} before the branch"
    );
    // Its edit ran in the cloned tree, not an empty directory: the commit holds it.
    assert_eq!(rep.result.verdict, "GO", "{:?}", rep.result);
    assert_eq!(rep.result.extra.pushed, Some(true));
    let pushed = git(&e.bare, &["show", "foreman/issue-7:README.md"]);
    assert!(pushed.contains("the fleet"), "{pushed}");
}

#[tokio::test]
async fn a_clone_that_fails_while_the_model_answers_ends_the_run_clone_failed() {
    let e = fleet_repo();
    let (rep, events, server) =
        run_slow_remote(&e, "acme/missing", fix_then_go("docs: fix typo"), 300).await;
    assert_eq!(rep.result.reason(), Some("CloneFailed"), "{:?}", rep.result);
    // The first reply came while the clone ran; its tool call never ran and no second
    // request was sent (the rounds were dropped at the tools' gate).
    assert!(first_reply_at(&events).is_some(), "{events:?}");
    assert_eq!(server.requests().len(), 1);
    assert!(status_at(&events, "committing").is_none());
    // The journal says how the run ended, and the empty workspace is gone.
    let records = foreman::agent::transcript::read_journal(&rep.journal).unwrap();
    match records.last() {
        Some(foreman::agent::transcript::Record::End { result }) => {
            assert_eq!(result, &serde_json::to_value(&rep.result).unwrap());
        }
        other => panic!("the journal does not end with the Result: {other:?}"),
    }
    let left = std::fs::read_dir(e.root.join("ws/default")).map_or(0, |d| d.count());
    assert_eq!(left, 0, "the workspace was left behind");
}
