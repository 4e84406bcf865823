//! The model's prompt cache (issue 16 §2) against the scripted OpenAI server: runs pinned to
//! the server's slots (`id_slot`, the count from `/props`) and capped at them, every request's
//! prefix byte-stable across a converge turn, and llama.cpp's `cache_n` in the journal.

mod common;

use common::scripted_oai::{Reply, ScriptedServer};
use common::{agent, bot, fleet_repo, issue_task, submit_result};
use foreman::agent::transcript::{Record, read_journal};
use foreman::agent::{LoopConfig, LoopEnd, prompt, run_loop};
use foreman::api::ToolProtocol;
use foreman::backend::embedded::{EmbeddedOptions, start_embedded_with};
use foreman::backend::{BackendEvent, Command};
use foreman::executor::run::TokenSource;
use foreman::executor::{ExecutorConfig, execute_pinned};
use foreman::fleet::TaskKey;
use foreman::oai::{Client, ClientConfig};
use foreman::tools::{Registry, ToolOptions};
use foreman::workspace::Token;
use serde_json::{Value, json};
use std::time::Duration;
use tokio::sync::mpsc;

const AGENT: &str = "apiVersion: foreman.llmkube.dev/v1alpha1\nkind: Agent\nmetadata: {name: coder}\nspec:\n  role: coder\n  maxRetries: 0\n  tools: [read_file, bash, submit_result]\n";

fn task_yaml(name: &str) -> String {
    format!(
        "---\napiVersion: foreman.llmkube.dev/v1alpha1\nkind: AgenticTask\nmetadata: {{name: {name}}}\nspec:\n  kind: issue-fix\n  agentRef: {{name: coder}}\n  payload: {{repo: acme/fleet, issue: 7, prompt: \"work on task-{name}\"}}\n"
    )
}

/// Drains backend events until `cond` holds (or panics after 20 s saying what it waited for).
async fn wait_for(
    rx: &mut mpsc::UnboundedReceiver<BackendEvent>,
    what: &str,
    cond: impl Fn() -> bool,
) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while !cond() {
        if tokio::time::Instant::now() > deadline {
            panic!("timed out waiting for {what}");
        }
        let _ = tokio::time::timeout(Duration::from_millis(20), rx.recv()).await;
    }
}

/// Which task a chat request is for (its prompt names it) and the slot it asked for.
fn task_and_slot(req: &Value) -> (String, Option<u64>) {
    let text = req["messages"].to_string();
    let name = ["a", "b", "c"]
        .into_iter()
        .find(|n| text.contains(&format!("task-{n}")))
        .unwrap_or("?");
    (name.to_string(), req["id_slot"].as_u64())
}

#[tokio::test]
async fn runs_are_pinned_to_the_servers_slots_and_a_third_waits_for_one() {
    let r = fleet_repo();
    let props = json!({"total_slots": 2, "default_generation_settings": {"n_ctx": 4096}});
    let server = ScriptedServer::with_props(vec![Reply::Hang; 3], props).unwrap();
    let mut cfg = common::local::embedded_config(&r.root.join("state"), &server.base_url(), 3);
    cfg.git_remote_url = Some(r.bare.display().to_string());
    let opts = EmbeddedOptions {
        probe_inference: true,
        schedule_every: Duration::from_millis(100),
        heartbeat_every: Duration::from_millis(500),
        probe_every: Duration::from_secs(60),
        refresh_every: Duration::from_millis(100),
    };
    let (tx, mut rx) = mpsc::unbounded_channel();
    let h = start_embedded_with(cfg, opts, tx).unwrap();
    let manifest = r.root.join("t.yaml");
    let text = format!(
        "{AGENT}{}{}{}",
        task_yaml("a"),
        task_yaml("b"),
        task_yaml("c")
    );
    std::fs::write(&manifest, text).unwrap();
    h.send(Command::Submit {
        path: manifest,
        replace: false,
    });
    wait_for(&mut rx, "two chat requests", || {
        server.requests().len() >= 2
    })
    .await;
    // max_concurrent is 3, but the server has 2 slots: the third run must not start.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let first: Vec<(String, Option<u64>)> = server.requests().iter().map(task_and_slot).collect();
    assert_eq!(
        first.len(),
        2,
        "a third run started beyond the slots: {first:?}"
    );
    let mut slots: Vec<_> = first.iter().map(|(_, s)| *s).collect();
    slots.sort();
    assert_eq!(slots, [Some(0), Some(1)], "{first:?}");
    // Ending one run frees its slot for the waiting one.
    let (ended, freed) = first[0].clone();
    h.send(Command::Cancel(TaskKey::new("default", &ended)));
    wait_for(&mut rx, "the third chat request", || {
        server.requests().len() >= 3
    })
    .await;
    let (third, slot) = task_and_slot(&server.requests()[2]);
    assert!(first.iter().all(|(t, _)| *t != third), "{third} ran twice");
    assert_eq!(slot, freed, "the waiting run takes the freed slot");
    h.send(Command::Shutdown);
    h.stopped().await;
}

/// Byte offset just past each element of the body's top-level `"messages"` array.
fn message_ends(body: &[u8]) -> Vec<usize> {
    let key = b"\"messages\":[";
    let start = body.windows(key.len()).position(|w| w == key).unwrap() + key.len();
    let (mut depth, mut in_str, mut esc, mut ends) = (0i32, false, false, Vec::new());
    for (i, &b) in body.iter().enumerate().skip(start) {
        if in_str {
            match b {
                _ if esc => esc = false,
                b'\\' => esc = true,
                b'"' => in_str = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_str = true,
            b'{' | b'[' => depth += 1,
            b'}' | b']' if depth == 0 => {
                ends.push(i);
                break;
            }
            b'}' | b']' => {
                depth -= 1;
                if depth == 0 {
                    ends.push(i + 1);
                }
            }
            _ => {}
        }
    }
    ends.pop();
    ends
}

#[tokio::test]
async fn json_schema_converge_turn_keeps_every_request_prefix_byte_stable() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("README.md"), "teh fleet\n").unwrap();
    let call =
        |tool: &str, args: Value| Reply::text(json!({"tool": tool, "arguments": args}).to_string());
    let replies = vec![
        call("read_file", json!({"path": "README.md"})),
        call("read_file", json!({"path": "README.md"})),
        call(
            "submit_result",
            json!({"verdict": "NO-GO", "summary": "nothing to do"}),
        ),
    ];
    let server = ScriptedServer::start(replies).unwrap();
    let mut cc = ClientConfig::new(server.base_url(), "m");
    cc.protocol = ToolProtocol::JsonSchema;
    cc.max_retries = 0;
    cc.header_timeout = Duration::from_secs(5);
    let client = Client::new(cc).unwrap();
    let registry = Registry::new(dir.path(), &[], ToolOptions::default()).unwrap();
    let cfg = LoopConfig {
        opening: prompt::opening("sys", &[], "fix the typo".into()),
        max_turns: 3,
        converge_turns: 1,
        max_tool_calls_per_turn: 8,
        ..Default::default()
    };
    let out = run_loop(&client, &registry, &cfg, &mut |_| {}).await;
    assert!(
        matches!(out.result, Ok(LoopEnd::Submitted(_))),
        "{:?}",
        out.result
    );
    let raw = server.raw_requests();
    assert_eq!(raw.len(), 3);
    for n in 1..raw.len() {
        let (prev, next) = (&raw[n - 1].1, &raw[n].1);
        let ends = message_ends(prev);
        let end = *ends.last().unwrap();
        assert!(
            next.len() > end && next[..end] == prev[..end],
            "request {} does not start with request {n}'s bytes:\n{}\n---\n{}",
            n + 1,
            String::from_utf8_lossy(&prev[..end]),
            String::from_utf8_lossy(&next[..end.min(next.len())]),
        );
        assert!(message_ends(next).len() > ends.len());
    }
    // The converge turn narrows the grammar, not the system message.
    let reqs = server.requests();
    let tools_of = |r: &Value| -> Vec<String> {
        let alts = r["response_format"]["json_schema"]["schema"]["oneOf"]
            .as_array()
            .unwrap();
        alts.iter()
            .map(|a| {
                a["properties"]["tool"]["const"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect()
    };
    assert!(tools_of(&reqs[1]).contains(&"read_file".to_string()));
    assert!(
        tools_of(&reqs[2]).iter().all(|t| t == "submit_result"),
        "{:?}",
        tools_of(&reqs[2])
    );
    let system = reqs[2]["messages"][0]["content"].as_str().unwrap();
    assert!(
        system.contains("- read_file:"),
        "the system message still lists every tool"
    );
    let last = reqs[2]["messages"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .to_string();
    assert!(
        last.contains("only submit_result is available now"),
        "{last}"
    );
}

/// A reply's payloads with llama.cpp's `cache_n` in its trailing `timings`.
fn with_cache(reply: Reply, cache_n: u64, prompt_n: u64) -> Reply {
    let (mut payloads, done) = reply.payloads();
    let last = payloads.last_mut().unwrap();
    let mut v: Value = serde_json::from_str(last).unwrap();
    v["timings"]["cache_n"] = json!(cache_n);
    v["timings"]["prompt_n"] = json!(prompt_n);
    *last = v.to_string();
    Reply::Chunks(payloads, done)
}

#[tokio::test]
async fn cache_n_is_parsed_and_journaled_and_the_slot_reaches_the_request() {
    let e = fleet_repo();
    let replies = vec![
        with_cache(common::fix_readme(), 0, 300),
        with_cache(submit_result("GO", "docs: fix typo"), 310, 12),
    ];
    let server = ScriptedServer::start(replies).unwrap();
    let cfg = ExecutorConfig {
        base_url: server.base_url(),
        git_remote_url: Some(e.bare.display().to_string()),
        workspace_root: e.root.join("ws"),
        namespace: "default".into(),
        keep_workspace: false,
        identity: bot(),
        push_now: false,
        journal_path: e.root.join("journal.jsonl"),
        token: TokenSource::Given(Token::new("unused-for-local-remotes")),
        sandbox: Default::default(),
        provider_key: Default::default(),
        github_api_base: None,
    };
    let rep = execute_pinned(
        &issue_task(),
        &agent(""),
        &cfg,
        Default::default(),
        Some(1),
        &mut |_| {},
    )
    .await
    .unwrap();
    assert_eq!(rep.result.verdict, "GO", "{:?}", rep.result);
    let slots: Vec<_> = server
        .requests()
        .iter()
        .map(|r| r["id_slot"].clone())
        .collect();
    assert_eq!(slots, [json!(1), json!(1)]);
    let turns: Vec<_> = read_journal(&rep.journal)
        .unwrap()
        .into_iter()
        .filter_map(|r| match r {
            Record::Turn(t) => t.timings,
            _ => None,
        })
        .collect();
    assert_eq!(turns.len(), 2);
    assert_eq!(
        (turns[0].cache_n, turns[0].prompt_n),
        (Some(0.0), Some(300.0))
    );
    assert_eq!(
        (turns[1].cache_n, turns[1].prompt_n),
        (Some(310.0), Some(12.0))
    );
    let text = std::fs::read_to_string(&rep.journal).unwrap();
    assert!(text.contains(r#""cache_n":310"#), "{text}");
}
