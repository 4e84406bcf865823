//! End to end with real peers: llama.cpp serving Gemma-3-270M (FOREMAN_E2E_LLAMA_URL, started
//! by scripts/test) and the token-protected git smart-HTTP remote (started here). The model is
//! tiny and copies its examples, so these assert structure, not choices.
#![cfg(feature = "e2e")]

mod common;

use common::{GitServer, file_agent, seed_bare};
use foreman::agent::TurnStats;
use foreman::agent::transcript::{Record, messages_of, read_journal};
use foreman::api::load::KNOWN_TOOLS;
use foreman::executor::run::TokenSource;
use foreman::executor::{ExecutorConfig, execute};
use foreman::oai::Role;
use foreman::workspace::{Identity, Token};
use std::path::Path;

const TOKEN: &str = "e2e-s3cret-token";

fn llama_url() -> String {
    std::env::var("FOREMAN_E2E_LLAMA_URL")
        .expect("FOREMAN_E2E_LLAMA_URL is not set: run the e2e suites through scripts/test, which starts llama.cpp")
}

async fn run_tiny(
    agent_file: &str,
) -> (foreman::executor::RunReport, Vec<Record>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("git");
    seed_bare(
        &root,
        "acme/greeter.git",
        &[
            ("README.md", "# greeter\n"),
            ("greeter.py", "def greet():\n    return \"Helo, world!\"\n"),
        ],
    );
    let server = GitServer::start(&root, TOKEN);
    let mut agent = file_agent(
        &Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("examples")
            .join(agent_file),
    );
    agent.metadata.name = Some("coder".into());
    let cfg = ExecutorConfig {
        base_url: llama_url(),
        git_remote_url: Some(format!("http://127.0.0.1:{}/acme/greeter.git", server.port)),
        workspace_root: dir.path().join("ws"),
        namespace: "default".into(),
        keep_workspace: false,
        identity: Identity {
            name: "Foreman Bot".into(),
            email: "bot@example.com".into(),
        },
        push_now: true,
        journal_path: dir.path().join("journal.jsonl"),
        token: TokenSource::Given(Token::new(TOKEN)),
        sandbox: Default::default(),
        provider_key: Default::default(),
        github_api_base: None,
    };
    // payload.repo names the remote's own repository: a different one would be the upstream
    // of a fork (#875), cloned from instead.
    let task = common::task(
        "  kind: issue-fix\n  agentRef: {name: coder}\n  payload: {repo: acme/greeter, issue: 7, prompt: \"Fix the typo in README\"}\n",
    );
    let rep = execute(&task, &agent, &cfg, &mut |_| {})
        .await
        .expect("a Result, not an executor error");
    let records = read_journal(&rep.journal).unwrap();
    (rep, records, dir)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tiny_model_runs_a_task_to_a_result_with_real_tool_calls() {
    let (rep, records, _dir) = run_tiny("tiny-agent-tools.yaml").await;
    assert_eq!(rep.result.schema_version, "foreman.v1");
    assert!(
        ["GO", "NO-GO", "INCOMPLETE"].contains(&rep.result.verdict.as_str()),
        "{:?}",
        rep.result
    );
    let msgs = messages_of(&records);
    // Skip the few-shot examples: only calls the model made in this run count.
    let first_real = msgs
        .iter()
        .position(|m| m.role == Role::User && m.text().contains("Fix GitHub issue #7"))
        .unwrap();
    let calls: Vec<_> = msgs[first_real..]
        .iter()
        .flat_map(|m| m.tool_calls().to_vec())
        .collect();
    assert!(!calls.is_empty(), "the model made no tool call: {msgs:#?}");
    assert!(calls.iter().all(|c| !c.function.name.is_empty()));
    assert!(records.iter().any(
        |r| matches!(r, Record::Turn(TurnStats { usage: Some(u), .. }) if u.completion_tokens > 0)
    ));
    let journal = std::fs::read_to_string(&rep.journal).unwrap();
    assert!(
        !journal.contains(TOKEN),
        "the token leaked into the transcript"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grammar_constrained_mode_yields_only_valid_calls() {
    let (rep, records, _dir) = run_tiny("tiny-agent.yaml").await;
    assert_eq!(rep.result.schema_version, "foreman.v1");
    let msgs = messages_of(&records);
    let first_real = msgs
        .iter()
        .position(|m| m.role == Role::User && m.text().contains("Fix GitHub issue #7"))
        .unwrap();
    let assistant: Vec<_> = msgs[first_real..]
        .iter()
        .filter(|m| m.role == Role::Assistant)
        .collect();
    assert!(!assistant.is_empty());
    for m in assistant {
        let calls = m.tool_calls();
        assert_eq!(
            calls.len(),
            1,
            "every grammar turn is exactly one call: {m:?}"
        );
        assert!(
            KNOWN_TOOLS.contains(&calls[0].function.name.as_str()),
            "{m:?}"
        );
        let args: serde_json::Value = serde_json::from_str(&calls[0].function.arguments).unwrap();
        assert!(args.is_object());
    }
    // No retries were needed for malformed output.
    assert!(
        !records
            .iter()
            .any(|r| matches!(r, Record::Retry { reason, .. } if reason.contains("JSON")))
    );
}
