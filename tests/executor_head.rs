//! Upstream HEAD's Agent fields honoured by the executor and its loop, against a scripted
//! model: `failureReason` on every failure, `LOOP-BUDGET-EXHAUSTED` and the per-request
//! timeout (#602), `maxOutputTokens`/`chatTemplateKwargs` on the wire, `reasoning_content`
//! kept out of the history, the stuck-loop detector, and the cloud-proxy provider's key.

mod common;

use common::scripted_oai::{Reply, ScriptedServer};
use common::{FleetRepo, agent, bot, fix_readme, fleet_repo, issue_task, submit_result};
use foreman::api::{Agent, FailureReason};
use foreman::executor::run::{ProviderKey, TokenSource};
use foreman::executor::terminal::{Terminal, apply_terminal};
use foreman::executor::{ExecEvent, ExecutorConfig, RunReport, execute};
use foreman::oai::ApiKey;
use foreman::workspace::Token;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

fn config(e: &FleetRepo, base_url: &str) -> ExecutorConfig {
    ExecutorConfig {
        base_url: base_url.to_string(),
        git_remote_url: Some(e.bare.display().to_string()),
        workspace_root: e.root.join("ws"),
        namespace: "default".into(),
        keep_workspace: false,
        identity: bot(),
        push_now: true,
        journal_path: e.root.join("journal.jsonl"),
        token: TokenSource::Given(Token::new("unused-for-local-remotes")),
        sandbox: Default::default(),
        provider_key: Default::default(),
        github_api_base: None,
    }
}

struct Ran {
    report: RunReport,
    events: Vec<ExecEvent>,
    server: ScriptedServer,
    took: Duration,
}

async fn run_cfg(
    agent: &Agent,
    replies: Vec<Reply>,
    tweak: impl FnOnce(&mut ExecutorConfig),
) -> (Ran, FleetRepo) {
    let e = fleet_repo();
    let server = ScriptedServer::start(replies).unwrap();
    let mut cfg = config(&e, &server.base_url());
    tweak(&mut cfg);
    let mut events = Vec::new();
    let t = Instant::now();
    let report = execute(&issue_task(), agent, &cfg, &mut |ev| events.push(ev))
        .await
        .unwrap();
    let ran = Ran {
        report,
        events,
        server,
        took: t.elapsed(),
    };
    (ran, e)
}

async fn run(agent_yaml: &str, replies: Vec<Reply>) -> Ran {
    run_cfg(&agent(agent_yaml), replies, |_| {}).await.0
}

/// The task's status after the run's terminal is applied.
fn status_reason(rep: &RunReport) -> Option<FailureReason> {
    let mut t = issue_task();
    let terminal = Terminal::Result {
        result: Box::new(rep.result.clone()),
        transcript_ref: None,
    };
    apply_terminal(&mut t, &terminal);
    t.status.unwrap().failure_reason
}

fn messages(request: &Value) -> &Vec<Value> {
    request["messages"].as_array().expect("messages")
}

#[tokio::test]
async fn every_incomplete_carries_heads_failure_reason_into_the_result_and_the_status() {
    use FailureReason as F;
    let rows: Vec<(&str, Vec<Reply>, &str, Option<F>)> = vec![
        (
            "max turns",
            vec![fix_readme(), fix_readme()],
            "MaxTurnsExhausted",
            Some(F::MaxTurnsExhausted),
        ),
        (
            "text only twice",
            vec![Reply::text("done"), Reply::text("done")],
            "AssistantHallucinatedFinish",
            Some(F::ModelMisunderstood),
        ),
        (
            "model ERROR",
            vec![submit_result("ERROR", "")],
            "ModelReportedError",
            Some(F::ModelReportedError),
        ),
    ];
    for (name, replies, reason, want) in rows {
        let ran = run("  maxTurns: 2\n", replies).await;
        let r = &ran.report.result;
        assert_eq!(r.verdict, "INCOMPLETE", "{name}");
        assert_eq!(r.reason(), Some(reason), "{name}");
        assert_eq!(r.failure_reason, want, "{name}");
        let v = serde_json::to_value(r).unwrap();
        assert_eq!(v["failureReason"], json!(want), "{name}: on the wire");
        assert_eq!(
            status_reason(&ran.report),
            want,
            "{name}: status.failureReason"
        );
    }
    // A NO-GO the model decided is not a failure: no reason, as upstream.
    let ran = run("", vec![submit_result("NO-GO", "")]).await;
    assert_eq!(ran.report.result.failure_reason, None);
    assert!(
        !serde_json::to_string(&ran.report.result)
            .unwrap()
            .contains("failureReason")
    );
}

#[tokio::test]
async fn a_missing_remote_is_heads_git_remote_not_configured() {
    let (ran, _e) = run_cfg(&agent(""), vec![], |c| c.git_remote_url = None).await;
    let r = &ran.report.result;
    assert_eq!(r.outcome(), "EXECUTOR-PRECONDITION-FAILED");
    assert_eq!(r.reason(), Some("GitRemoteNotConfigured"));
    assert_eq!(
        r.failure_reason,
        Some(FailureReason::GitRemoteNotConfigured)
    );
    assert_eq!(ran.server.requests().len(), 0);
}

#[tokio::test]
async fn a_model_already_resolved_is_promoted_to_the_outcome() {
    let submit = Reply::tool_call(
        "submit_result",
        json!({"verdict": "NO-GO", "summary": "already fixed on main",
               "extra": {"outcome": "ALREADY-RESOLVED", "resolvedBy": "abc123"}})
        .to_string(),
    );
    let ran = run("", vec![submit]).await;
    let r = &ran.report.result;
    assert_eq!(
        (r.verdict.as_str(), r.outcome()),
        ("NO-GO", "ALREADY-RESOLVED")
    );
    assert_eq!(r.extra.other["resolvedBy"], "abc123");
    assert_eq!(r.failure_reason, None);
}

#[tokio::test]
async fn the_per_request_timeout_is_request_turn_timeout_seconds() {
    // A hung request is given up after 1 s, not HEAD's default 120 s nor the loop budget:
    // an executor error, which the status records as InfrastructureError (as upstream's
    // watcher does).
    let e = fleet_repo();
    let server = ScriptedServer::start(vec![Reply::Hang]).unwrap();
    let cfg = config(&e, &server.base_url());
    let agent = agent(
        "  requestTurnTimeoutSeconds: 1
  requestTimeoutSeconds: 600
",
    );
    let t = Instant::now();
    let err = execute(&issue_task(), &agent, &cfg, &mut |_| {})
        .await
        .expect_err("a hung model is an executor error");
    let took = t.elapsed();
    assert!(
        took >= Duration::from_secs(1) && took < Duration::from_secs(5),
        "took {took:?}"
    );
    assert!(err.to_string().contains("(1s)"), "{err}");
    let mut task = issue_task();
    apply_terminal(&mut task, &Terminal::executor_error(err.to_string()));
    let s = task.status.unwrap();
    assert_eq!(s.failure_reason, Some(FailureReason::InfrastructureError));
}

#[tokio::test]
async fn request_timeout_seconds_is_the_loop_budget_under_heads_semantics() {
    let ran = run(
        "  requestTurnTimeoutSeconds: 30\n  requestTimeoutSeconds: 2\n",
        vec![fix_readme(), Reply::Hang],
    )
    .await;
    let r = &ran.report.result;
    // Without HEAD's semantics the hang would last the 30 s turn timeout.
    assert!(ran.took < Duration::from_secs(20), "took {:?}", ran.took);
    assert_eq!(
        (r.verdict.as_str(), r.outcome()),
        ("INCOMPLETE", "LOOP-BUDGET-EXHAUSTED")
    );
    assert_eq!(r.failure_reason, Some(FailureReason::Timeout));
    let me = r.extra.model_extra.as_ref().unwrap();
    assert_eq!(me["outcome"], "LOOP-BUDGET-EXHAUSTED");
    assert_eq!(me["terminateTurn"], 2);
}

#[tokio::test]
async fn max_output_tokens_and_chat_template_kwargs_are_sent_on_every_request() {
    let ran = run(
        "  maxOutputTokens: 256\n  chatTemplateKwargs: {enable_thinking: false}\n",
        vec![fix_readme(), submit_result("NO-GO", "")],
    )
    .await;
    let raw = ran.server.raw_requests();
    assert_eq!(raw.len(), 2);
    for (_, body) in &raw {
        let text = String::from_utf8_lossy(body);
        assert!(text.contains(r#""max_tokens":256"#), "{text}");
        assert!(
            text.contains(r#""chat_template_kwargs":{"enable_thinking":false}"#),
            "{text}"
        );
    }
}

/// A streamed reply from a hybrid-thinking model: reasoning, then one tool call.
fn thinking_then(name: &str, args: &str, reasoning: &str) -> Reply {
    let chunk = |delta: Value, finish: Value| {
        json!({"choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}).to_string()
    };
    Reply::Chunks(
        vec![
            chunk(json!({"role": "assistant", "content": null}), Value::Null),
            chunk(json!({"reasoning_content": reasoning}), Value::Null),
            chunk(
                json!({"tool_calls": [{"index": 0, "id": "c1", "type": "function",
                        "function": {"name": name, "arguments": args}}]}),
                Value::Null,
            ),
            chunk(json!({}), json!("tool_calls")),
        ],
        true,
    )
}

#[tokio::test]
async fn reasoning_is_journalled_but_never_sent_back() {
    let args = r#"{"path":"README.md","old_string":"teh","new_string":"the"}"#;
    let thought = "The README says teh; I should fix THOUGHT-MARKER.";
    let (ran, e) = run_cfg(
        &agent(""),
        vec![
            thinking_then("str_replace", args, thought),
            submit_result("NO-GO", ""),
        ],
        |_| {},
    )
    .await;
    let raw = ran.server.raw_requests();
    assert_eq!(raw.len(), 2);
    let second = String::from_utf8_lossy(&raw[1].1);
    assert!(
        !second.contains("THOUGHT-MARKER"),
        "reasoning went back: {second}"
    );
    assert!(!second.contains("reasoning_content"));
    // The history still has the call the reasoning led to.
    let sent = &ran.server.requests()[1];
    assert!(
        messages(sent)
            .iter()
            .any(|m| m["tool_calls"][0]["function"]["name"] == "str_replace")
    );
    let journal = std::fs::read_to_string(e.root.join("journal.jsonl")).unwrap();
    assert!(
        journal
            .contains(r#""reasoning_content":"The README says teh; I should fix THOUGHT-MARKER.""#),
        "{journal}"
    );
    let reported = ran.events.iter().any(|ev| {
        matches!(ev, ExecEvent::Loop(foreman::agent::LoopEvent::Message { message, .. })
            if message.reasoning_content.as_deref() == Some(thought))
    });
    assert!(reported, "the transcript sees the reasoning");
}

#[tokio::test]
async fn a_repeated_call_is_nudged_then_stopped_as_stuck_loop_detected() {
    let grep = || Reply::tool_call("grep", r#"{"pattern":"teh"}"#);
    let ran = run(
        "  stuckLoopDetection: {repeatedToolThreshold: 3}\n",
        vec![grep(), grep(), grep(), grep(), submit_result("NO-GO", "")],
    )
    .await;
    let r = &ran.report.result;
    assert_eq!(
        (r.verdict.as_str(), r.outcome()),
        ("INCOMPLETE", "STUCK-LOOP-DETECTED"),
        "{r:?}"
    );
    assert_eq!(r.failure_reason, Some(FailureReason::ModelMisunderstood));
    let me = r.extra.model_extra.as_ref().unwrap();
    assert_eq!(
        (&me["signal"], &me["terminateTurn"]),
        (&json!("RepeatedToolCall"), &json!(4))
    );
    let reqs = ran.server.requests();
    assert_eq!(reqs.len(), 4, "stopped before a fifth request");
    // The nudge came after the third identical call, as the last message of request 4.
    let last = messages(&reqs[3]).last().unwrap();
    assert_eq!(last["role"], "user");
    let text = last["content"].as_str().unwrap();
    assert!(
        text.starts_with("PROGRESS MONITOR ALERT: grep called >= 3 times"),
        "{text}"
    );
    assert!(!messages(&reqs[2]).iter().any(|m| {
        m["content"]
            .as_str()
            .is_some_and(|c| c.contains("PROGRESS MONITOR"))
    }));
}

#[tokio::test]
async fn heeding_the_nudge_lets_the_run_finish() {
    let grep = || Reply::tool_call("grep", r#"{"pattern":"teh"}"#);
    let ran = run(
        "  stuckLoopDetection: {repeatedToolThreshold: 2}\n",
        vec![
            grep(),
            grep(),
            fix_readme(),
            submit_result("GO", "docs: fix typo"),
        ],
    )
    .await;
    assert_eq!(ran.report.result.verdict, "GO", "{:?}", ran.report.result);
}

const KEY: &str = "sk-proxy-SECRET-5f1d0c";

fn proxy_agent(base: &str) -> Agent {
    agent(&format!(
        "  model: local-name\n  provider: cloud-proxy\n  providerConfig:\n    baseURL: {base}\n    model: proxy-model\n    apiKeySecretRef: {{name: proxy, key: token}}\n"
    ))
}

/// Every output of a run, as text: events, Result, journal, the workspace's files.
fn all_outputs(ran: &Ran, e: &FleetRepo) -> String {
    let mut out = format!("{:?}\n{:?}\n", ran.events, ran.report);
    out.push_str(&serde_json::to_string(&ran.report.result).unwrap());
    out.push_str(&std::fs::read_to_string(e.root.join("journal.jsonl")).unwrap_or_default());
    out
}

#[tokio::test]
async fn cloud_proxy_sends_the_secrets_key_as_bearer_and_nowhere_else() {
    let server =
        ScriptedServer::start(vec![fix_readme(), submit_result("GO", "docs: fix typo")]).unwrap();
    let agent = proxy_agent(&server.base_url());
    let key = ApiKey::new(KEY).unwrap();
    // The backend's own URL is dead: the provider's baseURL must be the one used.
    let (ran, e) = run_cfg(&agent, vec![], |c| {
        c.base_url = "http://127.0.0.1:9/v1".into();
        c.provider_key = ProviderKey::Fetched(Ok(key));
    })
    .await;
    assert_eq!(ran.report.result.verdict, "GO", "{:?}", ran.report.result);
    // A proxy's tokens are billed: its first request waits for the clone and the branch
    // (a failed clone wastes none), unlike a run on the operator's own server.
    let at = |prefix: &str| {
        ran.events
            .iter()
            .position(|ev| matches!(ev, ExecEvent::Status(s) if s.starts_with(prefix)))
            .unwrap_or_else(|| panic!("no {prefix:?} step: {:?}", ran.events))
    };
    assert!(at("on branch") < at("running the loop"), "{:?}", ran.events);
    let raw = server.raw_requests();
    assert_eq!(raw.len(), 2);
    for (head, body) in &raw {
        let auth = head.lines().find_map(|l| {
            l.strip_prefix("authorization: ")
                .or(l.strip_prefix("Authorization: "))
        });
        assert_eq!(auth, Some(format!("Bearer {KEY}").as_str()), "{head}");
        assert!(String::from_utf8_lossy(body).contains(r#""model":"proxy-model""#));
    }
    assert!(
        !all_outputs(&ran, &e).contains(KEY),
        "the key leaked into an output"
    );
}

#[tokio::test]
async fn a_proxy_error_echoing_the_key_is_redacted_and_a_missing_key_says_where() {
    let echo = format!(r#"{{"error":"invalid api key {KEY}"}}"#);
    let server = ScriptedServer::start(vec![
        Reply::status(401, echo.clone()),
        Reply::status(401, echo),
    ])
    .unwrap();
    let agent = proxy_agent(&server.base_url());
    let e = fleet_repo();
    let mut cfg = config(&e, "");
    cfg.provider_key = ProviderKey::Fetched(Ok(ApiKey::new(KEY).unwrap()));
    let mut events = Vec::new();
    let err = execute(&issue_task(), &agent, &cfg, &mut |ev| events.push(ev))
        .await
        .expect_err("a 401 is an executor error");
    let text = format!("{err} {err:?} {events:?}");
    assert!(text.contains("401"), "{text}");
    assert!(!text.contains(KEY), "{text}");
    let journal = std::fs::read_to_string(e.root.join("journal.jsonl")).unwrap_or_default();
    assert!(!journal.contains(KEY));
    let before = server.raw_requests().len();

    // Embedded mode reads the Secret from the environment; unset, the run ends before the
    // model with upstream's InferenceServiceUnavailable, naming the variable.
    let (ran, _e) = run_cfg(&agent, vec![], |c| c.provider_key = ProviderKey::Env).await;
    let r = &ran.report.result;
    assert_eq!(
        r.failure_reason,
        Some(FailureReason::InferenceServiceUnavailable)
    );
    assert!(
        r.summary.contains("FOREMAN_SECRET_PROXY_TOKEN"),
        "{}",
        r.summary
    );
    assert_eq!(
        server.raw_requests().len(),
        before,
        "no request without the key"
    );
}
