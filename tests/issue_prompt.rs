//! Upstream #571: an issue-fix task with an empty `payload.prompt` gets its issue's title and
//! body at run time, read from the testbed's token-checking server (`git_http_server.py`'s
//! issues endpoint) on the host; the model's request carries the issue, never the token. An
//! issue that cannot be read stops the run before the clone and before any model turn.

mod common;

use common::scripted_oai::ScriptedServer;
use common::{FleetRepo, agent, bot, fix_then_go, fleet_repo, task};
use foreman::executor::run::TokenSource;
use foreman::executor::{ExecEvent, ExecutorConfig, RunReport, execute};
use foreman::workspace::Token;

const TOKEN: &str = "s3cret-issue-token";

fn serve(e: &FleetRepo) -> common::GitServer {
    let root = e.root.join("api");
    std::fs::create_dir_all(root.join("acme")).unwrap();
    let issues = serde_json::json!([
        {"number": 7, "title": "Fix the typo in README", "body": "It says recieve.\nIt should say receive.", "labels": [], "state": "open"},
    ]);
    std::fs::write(root.join("acme/fleet.issues.json"), issues.to_string()).unwrap();
    common::GitServer::start_logged(&root, TOKEN, Some(&e.root.join("api.log")))
}

fn config(e: &FleetRepo, base_url: &str, api: &str) -> ExecutorConfig {
    ExecutorConfig {
        base_url: base_url.to_string(),
        git_remote_url: Some(e.bare.display().to_string()),
        workspace_root: e.root.join("ws"),
        namespace: "default".into(),
        keep_workspace: false,
        identity: bot(),
        push_now: true,
        journal_path: e.root.join("journal.jsonl"),
        token: TokenSource::Given(Token::new(TOKEN)),
        sandbox: Default::default(),
        provider_key: Default::default(),
        github_api_base: Some(api.to_string()),
    }
}

fn issue(n: u32, prompt: &str) -> foreman::api::AgenticTask {
    task(&format!(
        "  kind: issue-fix\n  agentRef: {{name: coder}}\n  payload: {{repo: acme/fleet, issue: {n}{prompt}}}\n"
    ))
}

async fn run(
    e: &FleetRepo,
    server: &ScriptedServer,
    api: &str,
    t: &foreman::api::AgenticTask,
) -> (RunReport, Vec<ExecEvent>) {
    common::supervised();
    let cfg = config(e, &server.base_url(), api);
    let mut events = Vec::new();
    let rep = execute(t, &agent(""), &cfg, &mut |ev| events.push(ev))
        .await
        .unwrap();
    (rep, events)
}

/// The user message of the first chat request.
fn first_user_message(server: &ScriptedServer) -> String {
    let req = server
        .requests()
        .into_iter()
        .next()
        .expect("a chat request");
    req["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["role"] == "user")
        .and_then(|m| m["content"].as_str())
        .unwrap_or_default()
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_prompt_is_filled_with_the_issue_and_the_token_stays_on_the_host() {
    let e = fleet_repo();
    let api = serve(&e);
    let server = ScriptedServer::start(fix_then_go("docs: fix typo\n\nFixes #7")).unwrap();
    let (rep, events) = run(&e, &server, &api.api(), &issue(7, "")).await;
    assert_eq!(rep.result.verdict, "GO", "{:?}", rep.result);
    let user = first_user_message(&server);
    assert!(
        user.starts_with("Fix GitHub issue #7 in acme/fleet."),
        "{user}"
    );
    assert!(
        user.contains(
            "Issue context:\nFix the typo in README\n\nIt says recieve.\nIt should say receive."
        ),
        "{user}"
    );
    let sent: Vec<String> = server
        .raw_requests()
        .into_iter()
        .map(|(_, body)| String::from_utf8_lossy(&body).into_owned())
        .collect();
    assert!(
        sent.iter().all(|b| !b.contains(TOKEN)),
        "the token reached the model"
    );
    assert!(events.iter().any(|ev| matches!(ev,
        ExecEvent::Status(s) if s == "reading issue #7 of acme/fleet: payload.prompt is empty")));
    let log = std::fs::read_to_string(e.root.join("api.log")).unwrap();
    assert!(log.contains("/repos/acme/fleet/issues/7"), "{log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_prompt_of_its_own_is_kept_and_github_is_not_asked() {
    let e = fleet_repo();
    let api = serve(&e);
    let server = ScriptedServer::start(fix_then_go("docs: fix typo\n\nFixes #7")).unwrap();
    let t = issue(7, ", prompt: \"Only the README line 1\"");
    let (rep, _) = run(&e, &server, &api.api(), &t).await;
    assert_eq!(rep.result.verdict, "GO", "{:?}", rep.result);
    let user = first_user_message(&server);
    assert!(
        user.contains("Issue context:\nOnly the README line 1\n"),
        "{user}"
    );
    assert!(!user.contains("recieve"), "{user}");
    let log = std::fs::read_to_string(e.root.join("api.log")).unwrap_or_default();
    assert!(!log.contains("/issues"), "{log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreadable_issue_stops_the_run_before_the_clone_and_the_model() {
    let e = fleet_repo();
    let api = serve(&e);
    let server = ScriptedServer::start(fix_then_go("docs: fix typo\n\nFixes #99")).unwrap();
    let (rep, events) = run(&e, &server, &api.api(), &issue(99, "")).await;
    let r = &rep.result;
    assert_eq!(r.reason(), Some("IssueUnavailable"), "{r:?}");
    let summary = r.summary.clone();
    assert!(
        summary.contains("payload.prompt is empty and issue #99 of acme/fleet could not be read"),
        "{summary}"
    );
    assert!(
        summary.contains("Put the issue's text in payload.prompt"),
        "{summary}"
    );
    assert!(!summary.contains(TOKEN), "{summary}");
    assert!(server.requests().is_empty(), "the model was asked");
    assert!(
        !events
            .iter()
            .any(|ev| matches!(ev, ExecEvent::Status(s) if s.starts_with("cloning"))),
        "{events:?}"
    );
    // A wrong token is said as such, not as a missing issue.
    let mut cfg = config(&e, &server.base_url(), &api.api());
    cfg.token = TokenSource::Given(Token::new("wrong-token"));
    let rep = execute(&issue(7, ""), &agent(""), &cfg, &mut |_| {})
        .await
        .unwrap();
    let summary = rep.result.summary.clone();
    assert_eq!(rep.result.reason(), Some("IssueUnavailable"));
    assert!(summary.contains("401"), "{summary}");
    assert!(!summary.contains("wrong-token"), "{summary}");
}
