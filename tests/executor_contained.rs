//! The executor's one path wires the containment in (issue 9): a hostile scripted model's
//! commands inside a real `execute` run go through the sandbox the operator's settings and
//! the Agent's `spec.sandbox` resolve to, an allow path exposing credentials or a sandbox
//! that cannot be set up ends the run before the clone, the Agent's reply cap reaches the
//! client, and the run's budget and per-turn call cap bound the tools.

mod common;

use common::scripted_oai::{Reply, ScriptedServer};
use common::{FleetRepo, agent, bot, fleet_repo, task};
use foreman::agent::LoopEvent;
use foreman::executor::run::TokenSource;
use foreman::executor::{ExecEvent, ExecutorConfig, RunReport, execute};
use foreman::oai::{Role, StreamEvent};
use foreman::sandbox::{Mode, Settings};
use foreman::workspace::Token;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

const TOKEN: &str = "ghp_EXECUTORTOKENMARKER1234";

fn config(e: &FleetRepo, base_url: &str, sandbox: Settings) -> ExecutorConfig {
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
        sandbox,
        provider_key: Default::default(),
        github_api_base: None,
    }
}

fn issue_task(extra: &str) -> foreman::api::AgenticTask {
    task(&format!(
        "  kind: issue-fix\n  agentRef: {{name: coder}}\n  payload: {{repo: acme/fleet, issue: 7, prompt: \"Fix the typo\"}}\n{extra}"
    ))
}

struct Ran {
    report: RunReport,
    events: Vec<ExecEvent>,
    took: Duration,
}

impl Ran {
    /// Every tool result the model was sent, parsed.
    fn tool_results(&self) -> Vec<Value> {
        self.events
            .iter()
            .filter_map(|ev| match ev {
                ExecEvent::Loop(LoopEvent::Message { message, .. })
                    if message.role == Role::Tool =>
                {
                    message.content.as_deref().map(|c| {
                        serde_json::from_str(c).unwrap_or_else(|_| Value::String(c.into()))
                    })
                }
                _ => None,
            })
            .collect()
    }

    /// The stdout+stderr of the bash results, in order.
    fn bash_outputs(&self) -> Vec<String> {
        self.tool_results()
            .iter()
            .filter(|v| v.get("command").is_some())
            .map(|v| {
                format!(
                    "{}{}",
                    v["stdout"].as_str().unwrap(),
                    v["stderr"].as_str().unwrap()
                )
            })
            .collect()
    }
}

async fn run_with(
    e: &FleetRepo,
    agent_extra: &str,
    task_extra: &str,
    sandbox: Settings,
    replies: Vec<Reply>,
) -> Ran {
    common::supervised();
    let server = ScriptedServer::start(replies).unwrap();
    let cfg = config(e, &server.base_url(), sandbox);
    let mut events = Vec::new();
    let started = Instant::now();
    let report = execute(
        &issue_task(task_extra),
        &agent(agent_extra),
        &cfg,
        &mut |ev| events.push(ev),
    )
    .await
    .unwrap();
    Ran {
        report,
        events,
        took: started.elapsed(),
    }
}

fn bash(command: &str) -> Reply {
    Reply::tool_call("bash", json!({ "command": command }).to_string())
}

fn no_go() -> Reply {
    common::submit_result("NO-GO", "")
}

fn off() -> Settings {
    Settings {
        mode: Mode::Off,
        ..Settings::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hostile_models_bash_in_a_real_run_reaches_no_token_no_host_process_no_git() {
    let me = std::process::id();
    let hostile = vec![
        bash(&format!(
            "cat /proc/{me}/environ; cat /proc/[0-9]*/environ | tr '\\0' '\\n' | grep -c CARGO_PKG_NAME; echo PROC-DONE"
        )),
        bash(
            "grep -rsl ghp_EXECUTOR / --exclude-dir=proc --exclude-dir=sys --exclude-dir=usr \\
             --exclude-dir=.rustup --exclude-dir=.cargo --exclude-dir=go; echo GREP-DONE",
        ),
        bash(
            "echo '[remote \"origin\"]' >> .git/config && echo WROTE-CONFIG; \
             printf '#!/bin/sh\\nenv\\n' > .git/hooks/pre-commit && echo WROTE-HOOK; echo GIT-DONE",
        ),
        no_go(),
    ];
    let e = fleet_repo();
    let ran = run_with(&e, "", "", Settings::default(), hostile.clone()).await;
    assert_eq!(
        ran.report.result.verdict, "NO-GO",
        "{:?}",
        ran.report.result
    );
    let out = ran.bash_outputs();
    assert_eq!(out.len(), 3, "{out:?}");
    // The executor's (this test process's) /proc is not there; no process shows cargo's env.
    assert!(out[0].contains("No such file"), "{}", out[0]);
    assert!(out[0].starts_with("0\nPROC-DONE"), "{}", out[0]);
    assert!(
        out[1].trim_end().ends_with("GREP-DONE") && !out[1].contains('/'),
        "{}",
        out[1]
    );
    assert!(!out.concat().contains(TOKEN));
    assert!(
        !out[2].contains("WROTE-CONFIG") && !out[2].contains("WROTE-HOOK"),
        "{}",
        out[2]
    );
    assert!(out[2].contains("Read-only file system"), "{}", out[2]);

    // The same script with the operator's opt-out: the routes exist, so the above is the
    // sandbox's doing.
    let e = fleet_repo();
    let ran = run_with(&e, "", "", off(), hostile).await;
    let out = ran.bash_outputs();
    assert!(out[0].contains("CARGO_PKG_NAME=foreman"), "{}", out[0]);
    assert!(out[2].contains("WROTE-CONFIG"), "{}", out[2]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_agents_network_choice_reaches_the_sandbox() {
    let listen = "python3 -c \"import socket; s=socket.socket(); s.bind(('127.0.0.1', 0)); print('BOUND')\" 2>&1";
    let e = fleet_repo();
    let ran = run_with(&e, "", "", Settings::default(), vec![bash(listen), no_go()]).await;
    let out = ran.bash_outputs();
    assert!(
        !out[0].contains("BOUND") && out[0].contains("PermissionError"),
        "network none: {}",
        out[0]
    );
    let e = fleet_repo();
    let ran = run_with(
        &e,
        "  sandbox: {network: loopback}\n",
        "",
        Settings::default(),
        vec![bash(listen), no_go()],
    )
    .await;
    assert_eq!(ran.bash_outputs()[0], "BOUND\n");
}

#[tokio::test]
async fn an_allow_path_exposing_credentials_ends_the_run_before_the_clone() {
    let e = fleet_repo();
    let ran = run_with(
        &e,
        "  sandbox: {allowPaths: [\"~/.ssh\"]}\n",
        "",
        Settings::default(),
        vec![no_go()],
    )
    .await;
    let r = &ran.report.result;
    assert_eq!(r.verdict, "INCOMPLETE");
    assert_eq!(r.outcome(), "EXECUTOR-PRECONDITION-FAILED");
    assert_eq!(r.reason(), Some("ToolRegistryBuildFailed"));
    assert!(
        r.summary.contains("\"~/.ssh\"") && r.summary.contains("credentials"),
        "{}",
        r.summary
    );
    // With the sandbox off the same Agent runs (the operator chose to be unconfined).
    let e = fleet_repo();
    let ran = run_with(
        &e,
        "  sandbox: {allowPaths: [\"/opt\"]}\n",
        "",
        off(),
        vec![no_go()],
    )
    .await;
    assert_eq!(ran.report.result.verdict, "NO-GO");
}

#[tokio::test]
async fn the_agents_reply_cap_reaches_the_client() {
    let e = fleet_repo();
    let long = "word ".repeat(1000);
    let ran = run_with(
        &e,
        "  maxReplyBytes: 1024\n",
        "",
        Settings::default(),
        vec![Reply::text(long), no_go()],
    )
    .await;
    assert_eq!(ran.report.result.verdict, "NO-GO");
    let retried = ran.events.iter().any(|ev| {
        matches!(ev, ExecEvent::Loop(LoopEvent::Stream { event: StreamEvent::Retry { reason, .. }, .. })
            if reason.contains("1024"))
    });
    assert!(retried, "no retry naming the 1024-byte cap");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_hundred_sleeps_in_one_reply_end_at_the_runs_budget() {
    let e = fleet_repo();
    let calls: Vec<(String, String)> = (0..500)
        .map(|_| {
            (
                "bash".to_string(),
                json!({"command": "sleep 2"}).to_string(),
            )
        })
        .collect();
    let ran = run_with(
        &e,
        "",
        "  timeoutSeconds: 6\n",
        Settings::default(),
        vec![Reply::ToolCalls(calls), no_go()],
    )
    .await;
    // Unbounded, the reply would run 1,000 s; the bound is generous because the clone and
    // the commit around the loop slow down under a loaded CI machine (12.7 s seen at 2 cores).
    assert!(ran.took < Duration::from_secs(40), "took {:?}", ran.took);
    assert!(ran.took >= Duration::from_secs(5), "took {:?}", ran.took);
    assert_eq!(ran.report.result.verdict, "INCOMPLETE");
    assert_eq!(ran.report.result.reason(), Some("LoopBudgetExhausted"));
    // At most the sleeps that fit in 6 s ran; the one at the deadline was killed, not awaited.
    let done = ran.bash_outputs().len();
    assert!(done <= 3, "{done} sleeps finished");
}

#[tokio::test]
async fn at_most_the_per_turn_cap_of_calls_run_and_the_rest_are_told_why() {
    let e = fleet_repo();
    let calls: Vec<(String, String)> = (0..5)
        .map(|i| {
            (
                "bash".to_string(),
                json!({"command": format!("echo ran-{i}")}).to_string(),
            )
        })
        .collect();
    let ran = run_with(
        &e,
        "  maxToolCallsPerTurn: 3\n",
        "",
        Settings::default(),
        vec![Reply::ToolCalls(calls), no_go()],
    )
    .await;
    let results = ran.tool_results();
    assert_eq!(
        results.len(),
        6,
        "five answers and the submission: {results:?}"
    );
    for (i, r) in results[..3].iter().enumerate() {
        assert_eq!(r["stdout"], format!("ran-{i}\n"));
    }
    for r in &results[3..5] {
        assert_eq!(
            r["error"],
            "bash: not run: this reply asked for 5 tool calls and at most 3 run per turn; \
             send the ones you still need in your next reply"
        );
    }
    assert_eq!(ran.report.result.verdict, "NO-GO");
}

#[tokio::test]
async fn a_rewritten_git_config_is_noted_for_the_transcript_and_the_approval() {
    let e = fleet_repo();
    let server = ScriptedServer::start(vec![
        common::fix_readme(),
        bash("git config remote.origin.pushurl http://127.0.0.1:9/evil.git && echo REWROTE"),
        common::submit_result("GO", "docs: fix typo\n\nFixes #7"),
    ])
    .unwrap();
    // Only the operator's opt-out makes .git writable to the model.
    let mut cfg = config(&e, &server.base_url(), off());
    cfg.push_now = false;
    let mut events = Vec::new();
    let rep = execute(&issue_task(""), &agent(""), &cfg, &mut |ev| events.push(ev))
        .await
        .unwrap();
    assert_eq!(rep.result.verdict, "GO", "{:?}", rep.result);
    let note = rep.result.extra.other["gitConfigChanged"].as_str().unwrap();
    assert!(
        note.contains("remote.origin.pushurl")
            && note.ends_with(&format!("pushes to {}", e.bare.display())),
        "{note}"
    );
    assert!(
        events
            .iter()
            .any(|ev| matches!(ev, ExecEvent::Status(s) if s == &format!("warning: {note}"))),
        "the transcript says so"
    );
    // Untouched: no note.
    let e = fleet_repo();
    let ran = run_with(
        &e,
        "",
        "",
        Settings::default(),
        common::fix_then_go("docs: fix typo\n\nFixes #7"),
    )
    .await;
    assert_eq!(ran.report.result.verdict, "GO");
    assert!(
        !ran.report
            .result
            .extra
            .other
            .contains_key("gitConfigChanged")
    );
}

#[tokio::test]
async fn a_rewritten_git_config_is_kept_in_the_journal_for_replay_and_export() {
    use foreman::agent::transcript::{Record, read_journal};
    let e = fleet_repo();
    let server = ScriptedServer::start(vec![
        common::fix_readme(),
        bash("git config remote.origin.url http://127.0.0.1:9/evil.git"),
        common::submit_result("GO", "docs: fix typo\n\nFixes #7"),
    ])
    .unwrap();
    let mut cfg = config(&e, &server.base_url(), off());
    cfg.push_now = false;
    let rep = execute(&issue_task(""), &agent(""), &cfg, &mut |_| {})
        .await
        .unwrap();
    let note = rep.result.extra.other["gitConfigChanged"]
        .as_str()
        .unwrap()
        .to_string();
    let records = read_journal(&rep.journal).unwrap();
    let warning = Record::Warning {
        message: note.clone(),
    };
    let at = records.iter().position(|r| r == &warning);
    assert!(
        at.is_some_and(|i| matches!(records.get(i + 1), Some(Record::End { .. }))),
        "the warning, then the end: {records:?}"
    );
    // Replay shows what the live transcript showed.
    let items = foreman::console::transcript::journal_items(&records);
    let said = foreman::console::transcript::JournalItem::Status(format!("warning: {note}"));
    assert!(items.contains(&said), "{items:?}");
    // export-transcript says it on stderr and keeps it in meta.json.
    let out = tempfile::tempdir().unwrap();
    let run = std::process::Command::new(env!("CARGO_BIN_EXE_foreman"))
        .arg("export-transcript")
        .arg(&rep.journal)
        .arg("--out")
        .arg(out.path())
        .output()
        .unwrap();
    assert!(run.status.success(), "{run:?}");
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        stderr.contains(&format!("{}: {note}", rep.journal.display())),
        "{stderr}"
    );
    let meta: Value =
        serde_json::from_str(&std::fs::read_to_string(out.path().join("meta.json")).unwrap())
            .unwrap();
    assert_eq!(meta["warnings"], json!([note]), "{meta}");
}
