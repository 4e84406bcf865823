#![cfg(feature = "e2e")]
//! The client against a real llama.cpp server (xllamacpp + Gemma-3-270M, see
//! /work/shared/testbed/README.md). The server URL comes from FOREMAN_E2E_LLAMA_URL (with or
//! without `/v1`). The model is tiny: these tests assert structure, never choices.

use foreman::api::ToolProtocol;
use foreman::oai::{
    Client, ClientConfig, Completion, Message, OaiError, StreamEvent, ToolCall, ToolSpec,
};
use serde_json::{Value, json};
use std::time::Duration;

fn base_url() -> String {
    let url = std::env::var("FOREMAN_E2E_LLAMA_URL").unwrap_or_default();
    assert!(
        !url.trim().is_empty(),
        "FOREMAN_E2E_LLAMA_URL is not set: start the llama.cpp test server \
         (scripts/test does it; see scripts/lib.sh start_llama: xserve.py with CHAT_TEMPLATE_FILE=gemma3-tools.jinja) \
         and set FOREMAN_E2E_LLAMA_URL=http://127.0.0.1:<port>"
    );
    let url = url.trim().trim_end_matches('/');
    if url.ends_with("/v1") {
        url.to_string()
    } else {
        format!("{url}/v1")
    }
}

fn tools() -> Vec<ToolSpec> {
    vec![
        ToolSpec::function(
            "get_weather",
            "Get current weather for a city",
            json!({"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}),
        ),
        ToolSpec::function(
            "run_shell",
            "Run a shell command in the agent sandbox",
            json!({"type":"object","properties":{"command":{"type":"string"}},"required":["command"]}),
        ),
    ]
}

fn call(id: &str, name: &str, args: &str) -> Message {
    let mut m = Message::assistant("");
    m.tool_calls = Some(vec![ToolCall::new(id, name, args)]);
    m
}

/// The testbed's few-shot conversation (fewshot_request.py) followed by `prompt`.
fn few_shot(prompt: &str) -> Vec<Message> {
    vec![
        Message::system("You are a coding agent. Use the tools."),
        Message::user("Run ls -la"),
        call("c1", "run_shell", r#"{"command": "ls -la"}"#),
        Message::tool("c1", "run_shell", "total 0"),
        Message::assistant("The directory is empty."),
        Message::user("What is the weather in Berlin?"),
        call("c2", "get_weather", r#"{"city": "Berlin"}"#),
        Message::tool("c2", "get_weather", r#"{"temp_c": 12}"#),
        Message::assistant("It is 12 C in Berlin."),
        Message::user(prompt),
    ]
}

fn config(protocol: ToolProtocol) -> ClientConfig {
    let mut cfg = ClientConfig::new(base_url(), "");
    cfg.temperature = Some(0.0);
    cfg.max_tokens = Some(200);
    cfg.stop = vec!["</tool_call>".into()];
    cfg.header_timeout = Duration::from_secs(120);
    cfg.max_retries = 2;
    cfg.protocol = protocol;
    cfg
}

async fn turn(client: &Client, messages: &[Message]) -> (Completion, Vec<StreamEvent>) {
    let mut events = Vec::new();
    let mut sink = |e: StreamEvent| events.push(e);
    let c = client
        .complete(messages, &tools(), &mut sink)
        .await
        .unwrap_or_else(|e| panic!("chat turn failed: {e}"));
    (c, events)
}

/// A call names an advertised tool and carries a JSON object holding its required key.
fn assert_valid_call(c: &ToolCall) {
    let required = match c.function.name.as_str() {
        "get_weather" => "city",
        "run_shell" => "command",
        other => panic!("the model called a tool that was not advertised: {other}"),
    };
    let args: Value = serde_json::from_str(&c.function.arguments)
        .unwrap_or_else(|e| panic!("arguments are not JSON ({e}): {}", c.function.arguments));
    assert!(args.is_object(), "arguments are not an object: {args}");
    assert!(args[required].is_string(), "`{required}` missing in {args}");
    assert!(!c.id.is_empty());
    assert_eq!(c.kind, "function");
}

#[tokio::test]
async fn openai_tools_turn_streams_a_real_tool_call() {
    let client = Client::new(config(ToolProtocol::OpenaiTools)).unwrap();
    let (c, events) = turn(&client, &few_shot("Run git status")).await;
    let calls = c.message.tool_calls();
    assert!(
        !calls.is_empty(),
        "no tool call; reply was {:?}",
        c.message.content
    );
    for call in calls {
        assert_valid_call(call);
    }
    assert_eq!(c.finish_reason.as_deref(), Some("tool_calls"));
    assert!(
        events
            .iter()
            .any(|e| matches!(e, StreamEvent::ToolCall { name: Some(_), .. })),
        "tool-call deltas were streamed: {events:?}"
    );
    let usage = c.usage.expect("include_usage gives a usage chunk");
    assert!(usage.prompt_tokens > 0 && usage.completion_tokens > 0);
    assert!(c.timings.and_then(|t| t.predicted_n).unwrap_or(0.0) > 0.0);
}

#[tokio::test]
async fn json_schema_turns_only_yield_valid_advertised_calls() {
    let client = Client::new(config(ToolProtocol::JsonSchema)).unwrap();
    for prompt in [
        "Run git status",
        "What is the weather in Paris?",
        "Show me the files in src",
        "Is it raining in Tokyo?",
    ] {
        let (c, events) = turn(&client, &few_shot(prompt)).await;
        eprintln!(
            "{prompt:?} -> {:?} (attempts {}, {} tokens)",
            c.message.tool_calls(),
            c.attempts,
            c.usage.map_or(0, |u| u.completion_tokens)
        );
        for e in &events {
            if let StreamEvent::Retry { reason, .. } = e {
                eprintln!("  retried: {reason}");
            }
        }
        // The grammar makes every reply parse, so a retry could only be a transport failure
        // (e.g. reusing a connection llama.cpp closed after the previous stream).
        assert_eq!(c.attempts, 1, "{prompt}: {events:?}");
        assert_eq!(c.message.content, None, "{prompt}");
        let calls = c.message.tool_calls();
        assert_eq!(calls.len(), 1, "{prompt}: {calls:?}");
        assert_valid_call(&calls[0]);
        assert!(calls[0].id.starts_with("call_"));
        assert!(
            events.iter().any(|e| matches!(e, StreamEvent::Content(_))),
            "{prompt}: the JSON was streamed as content"
        );
    }
}

#[tokio::test]
async fn malformed_history_arguments_do_not_poison_the_turn() {
    // Sent verbatim, llama.cpp answers 500 "Failed to parse tool call arguments as JSON".
    let mut messages = few_shot("Run git status");
    messages[2] = call("c1", "run_shell", r#"{"command": "ls -"#);
    let client = Client::new(config(ToolProtocol::OpenaiTools)).unwrap();
    let (c, _) = turn(&client, &messages).await;
    assert_eq!(c.attempts, 1);
}

#[tokio::test]
async fn context_overflow_is_a_4xx_and_not_retried() {
    let client = Client::new(config(ToolProtocol::OpenaiTools)).unwrap();
    // Twice the server's context window, whatever it was started with (llama.cpp's /props).
    let props_url = format!("{}/props", base_url().trim_end_matches("/v1"));
    let props: Value = reqwest::get(&props_url)
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let n_ctx = props["default_generation_settings"]["n_ctx"]
        .as_u64()
        .unwrap_or(4096) as usize;
    let huge = vec![Message::user("hello ".repeat(2 * n_ctx))];
    let mut retries = 0;
    let mut sink = |e: StreamEvent| {
        if matches!(e, StreamEvent::Retry { .. }) {
            retries += 1;
        }
    };
    match client.complete(&huge, &tools(), &mut sink).await {
        Err(OaiError::Http { status, body }) => {
            assert_eq!(status, 400, "{body}");
            assert!(body.contains("context"), "{body}");
        }
        other => panic!("expected HTTP 400, got {other:?}"),
    }
    assert_eq!(retries, 0);
}
