//! Observation masking (upstream HEAD `contextWindowTokens`/`observationWindowTurns`, #563),
//! checked on the bytes the scripted model server receives: each request's messages are the
//! previous request's plus what the turn appended — byte for byte, so llama.cpp's prompt
//! cache is reused — except at the one turn where the conversation passes the budget, where
//! every tool result but the newest is masked at once.

mod common;

use common::scripted_oai::{Reply, ScriptedServer};
use foreman::agent::context::ContextConfig;
use foreman::agent::{LoopConfig, LoopEnd, prompt, run_loop};
use foreman::api::ContextStrategy;
use foreman::oai::{Client, ClientConfig};
use foreman::tools::{Registry, ToolOptions};

/// The body up to the end of its `messages` array (the serializer writes `model`, then
/// `messages`, then `tools`), without the closing bracket.
fn messages_prefix(body: &[u8]) -> &[u8] {
    let end = body
        .windows(10)
        .position(|w| w == br#"],"tools":"#)
        .expect("a messages array followed by tools");
    &body[..end]
}

/// Runs `reads` reads of distinct 1200-byte files, then a submission, with `context`.
async fn run(reads: usize, context: ContextConfig) -> Vec<Vec<u8>> {
    let dir = tempfile::tempdir().unwrap();
    let mut replies = Vec::new();
    for i in 0..reads {
        std::fs::write(dir.path().join(format!("f{i}.txt")), "x".repeat(1200)).unwrap();
        replies.push(Reply::tool_call(
            "read_file",
            format!(r#"{{"path":"f{i}.txt"}}"#),
        ));
    }
    replies.push(Reply::tool_call(
        "submit_result",
        r#"{"verdict":"NO-GO","summary":"read them"}"#,
    ));
    let server = ScriptedServer::start(replies).unwrap();
    let client = Client::new(ClientConfig::new(server.base_url(), "m")).unwrap();
    let registry = Registry::new(dir.path(), &[], ToolOptions::default()).unwrap();
    let cfg = LoopConfig {
        opening: prompt::opening("sys", &[], "read the files".into()),
        max_turns: 20,
        max_tool_calls_per_turn: 32,
        context,
        ..Default::default()
    };
    let out = run_loop(&client, &registry, &cfg, &mut |_| {}).await;
    assert!(
        matches!(out.result, Ok(LoopEnd::Submitted(_))),
        "{:?}",
        out.result
    );
    // The whole conversation is kept; only the wire is cut.
    let whole = out
        .transcript
        .iter()
        .filter(|m| m.text().contains(&"x".repeat(1200)));
    assert_eq!(whole.count(), reads);
    server.raw_requests().into_iter().map(|(_, b)| b).collect()
}

/// The request numbers (1-based) whose messages do not start with the previous request's.
fn cuts(bodies: &[Vec<u8>]) -> Vec<usize> {
    (1..bodies.len())
        .filter(|&k| !bodies[k].starts_with(messages_prefix(&bodies[k - 1])))
        .map(|k| k + 1)
        .collect()
}

fn window(tokens: usize, keep: usize) -> ContextConfig {
    ContextConfig {
        strategy: ContextStrategy::Window,
        window_tokens: tokens,
        observation_window: keep,
    }
}

fn masked_count(body: &[u8]) -> usize {
    String::from_utf8_lossy(body).matches("truncated; ").count()
}

#[tokio::test]
async fn under_the_budget_every_request_only_appends() {
    let bodies = run(6, window(100_000, 1)).await;
    assert_eq!(bodies.len(), 7);
    assert_eq!(cuts(&bodies), Vec::<usize>::new());
    assert!(bodies.iter().all(|b| masked_count(b) == 0));
}

#[tokio::test]
async fn past_the_budget_old_results_are_masked_in_one_step_and_the_prefix_holds_after() {
    // Each read adds ~330 tokens; 2000 is passed once, near the sixth result; after the
    // step the conversation is ~550 tokens and the last two reads do not pass it again.
    let bodies = run(8, window(2000, 1)).await;
    assert_eq!(bodies.len(), 9);
    let c = cuts(&bodies);
    assert_eq!(c.len(), 1, "one masking step, at request {c:?}");
    let at = c[0] - 1;
    assert_eq!(
        masked_count(&bodies[at - 1]),
        0,
        "nothing masked before the step"
    );
    // At the step every result but the newest is masked at once...
    let results_then = at; // request k+1 carries k results
    assert_eq!(masked_count(&bodies[at]), results_then - 1);
    // ...and the following requests only append (the newer results stay whole).
    for b in &bodies[at + 1..] {
        assert_eq!(masked_count(b), results_then - 1);
    }
    let text = String::from_utf8_lossy(&bodies[at]);
    assert!(
        text.contains(r#"[tool result from \"read_file\" truncated;"#),
        "{text}"
    );
}

#[tokio::test]
async fn the_session_strategy_drops_old_turns_to_a_low_water_mark_not_every_turn() {
    let session = ContextConfig {
        strategy: ContextStrategy::Session,
        ..window(1200, 1)
    };
    let bodies = run(8, session).await;
    let c = cuts(&bodies);
    // Each cut goes down to 60 % of the budget, so it is not repeated on the next turn.
    assert!(!c.is_empty() && c.len() <= 3, "cuts at {c:?}");
    assert!(
        c.windows(2).all(|w| w[1] > w[0] + 1),
        "two turns in a row cut: {c:?}"
    );
    let last = String::from_utf8_lossy(bodies.last().unwrap());
    assert!(last.contains("read the files"), "the task is pinned");
    assert!(!last.contains(r#"f0.txt"#), "the oldest turn was dropped");
}
