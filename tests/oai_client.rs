//! The streaming client against the scripted server: streaming, retries (with a changed
//! request), timeouts, servers without `[DONE]`, and the JSON-schema tool protocol.

use foreman::api::ToolProtocol;
mod common;

use common::scripted_oai::{Reply, ScriptedServer, split_pieces};
use foreman::oai::{Client, ClientConfig, Message, OaiError, Role, StreamEvent, ToolSpec};
use serde_json::{Value, json};
use std::time::Duration;

fn tools() -> Vec<ToolSpec> {
    vec![
        ToolSpec::function(
            "run_shell",
            "Run a shell command",
            json!({"type":"object","properties":{"command":{"type":"string"}},"required":["command"]}),
        ),
        ToolSpec::function(
            "read_file",
            "Read a file",
            json!({"type":"object","properties":{"path":{"type":"string"}},"required":["path"]}),
        ),
    ]
}

fn history() -> Vec<Message> {
    vec![
        Message::system("You are a coder."),
        Message::user("List the files."),
    ]
}

fn client(server: &ScriptedServer, retries: u32) -> Client {
    let mut cfg = ClientConfig::new(server.base_url(), "");
    cfg.max_retries = retries;
    cfg.header_timeout = Duration::from_secs(10);
    Client::new(cfg).unwrap()
}

async fn run(client: &Client) -> (Result<foreman::oai::Completion, OaiError>, Vec<StreamEvent>) {
    let mut events = Vec::new();
    let mut sink = |e: StreamEvent| events.push(e);
    let r = client.complete(&history(), &tools(), &mut sink).await;
    (r, events)
}

fn retries(events: &[StreamEvent]) -> usize {
    events
        .iter()
        .filter(|e| matches!(e, StreamEvent::Retry { .. }))
        .count()
}

fn last_message(req: &Value) -> &Value {
    req["messages"].as_array().unwrap().last().unwrap()
}

#[tokio::test]
async fn happy_path_streams_a_tool_call() {
    let server = ScriptedServer::start(vec![Reply::tool_call_repeating_name(
        "run_shell",
        r#"{"command": "ls -la src"}"#,
    )])
    .unwrap();
    let mut cfg = ClientConfig::new(format!("{}/", server.base_url()), "");
    cfg.temperature = Some(0.0);
    cfg.max_tokens = Some(120);
    cfg.stop = vec!["</tool_call>".into()];
    let client = Client::new(cfg).unwrap();
    let (r, events) = run(&client).await;
    let c = r.unwrap();
    assert_eq!(c.attempts, 1);
    assert_eq!(c.message.role, Role::Assistant);
    assert_eq!(c.message.content, None);
    let calls = c.message.tool_calls.unwrap();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].function.name, "run_shell");
    assert_eq!(calls[0].function.arguments, r#"{"command": "ls -la src"}"#);
    assert_eq!(c.finish_reason.as_deref(), Some("tool_calls"));
    assert!(c.usage.unwrap().total_tokens > 0);
    assert_eq!(c.timings.unwrap().predicted_per_second, Some(100.0));
    // Argument fragments were streamed as they came.
    let args: String = events
        .iter()
        .map(|e| match e {
            StreamEvent::ToolCall { arguments, .. } => arguments.as_str(),
            _ => "",
        })
        .collect();
    assert_eq!(args, r#"{"command": "ls -la src"}"#);
    assert!(events.len() >= 3);

    let reqs = server.requests();
    assert_eq!(reqs.len(), 1);
    let req = &reqs[0];
    assert_eq!(req["model"], "");
    assert_eq!(req["stream"], true);
    assert_eq!(req["stream_options"], json!({"include_usage": true}));
    // llama.cpp streams its prompt progress only when asked.
    assert_eq!(req["return_progress"], json!(true));
    assert_eq!(req["temperature"], 0.0);
    assert_eq!(req["max_tokens"], 120);
    assert_eq!(req["stop"], json!(["</tool_call>"]));
    assert!(req.get("seed").is_none());
    assert!(req.get("response_format").is_none());
    let names: Vec<&str> = req["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["function"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["read_file", "run_shell"]);
    assert_eq!(req["messages"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn optional_fields_are_omitted() {
    let server = ScriptedServer::start(vec![Reply::text("Done. All good.")]).unwrap();
    let client = client(&server, 0);
    let mut sink = |_: StreamEvent| {};
    let c = client.complete(&history(), &[], &mut sink).await.unwrap();
    assert_eq!(c.message.content.as_deref(), Some("Done. All good."));
    assert_eq!(c.message.tool_calls, None);
    let req = &server.requests()[0];
    for key in ["tools", "temperature", "max_tokens", "stop", "seed"] {
        assert!(req.get(key).is_none(), "{key} should be omitted: {req}");
    }
}

#[tokio::test]
async fn truncated_arguments_are_retried_with_a_nudge_and_a_new_seed() {
    let bad = r#"{"command": "ls -"#;
    let server = ScriptedServer::start(vec![
        Reply::tool_call("run_shell", bad),
        Reply::tool_call("run_shell", r#"{"command": "ls"}"#),
    ])
    .unwrap();
    let (r, events) = run(&client(&server, 3)).await;
    let c = r.unwrap();
    assert_eq!(c.attempts, 2);
    assert_eq!(
        c.message.tool_calls()[0].function.arguments,
        r#"{"command": "ls"}"#
    );
    assert_eq!(retries(&events), 1);
    let retry_pos = events
        .iter()
        .position(|e| matches!(e, StreamEvent::Retry { attempt: 2, .. }))
        .unwrap();
    assert!(retry_pos > 0, "partial deltas come before the Retry event");

    let reqs = server.requests();
    assert_eq!(reqs.len(), 2);
    assert!(reqs[0].get("seed").is_none());
    assert!(reqs[1]["seed"].is_u64());
    let nudge = last_message(&reqs[1]);
    assert_eq!(nudge["role"], "user");
    let text = nudge["content"].as_str().unwrap();
    assert!(
        text.starts_with("Your previous reply could not be used ("),
        "{text}"
    );
    assert!(text.contains("valid JSON object"), "{text}");
    // The nudge is for that attempt only and the malformed call is never echoed back.
    assert_eq!(reqs[1]["messages"].as_array().unwrap().len(), 3);
    assert!(!reqs[1].to_string().contains("ls -\""));
    assert!(!reqs[1]["messages"].to_string().contains("tool_calls"));
}

#[tokio::test]
async fn exhausted_retries_on_malformed_arguments_return_them() {
    let bad = r#"{"command": "ca"#;
    let server = ScriptedServer::start(vec![
        Reply::tool_call("run_shell", bad),
        Reply::tool_call("run_shell", bad),
        Reply::tool_call("run_shell", bad),
    ])
    .unwrap();
    let (r, events) = run(&client(&server, 2)).await;
    let c = r.unwrap();
    assert_eq!(c.attempts, 3);
    assert_eq!(c.message.tool_calls()[0].function.arguments, bad);
    assert_eq!(retries(&events), 2);
    let reqs = server.requests();
    assert_eq!(reqs.len(), 3);
    assert_ne!(reqs[1]["seed"], reqs[2]["seed"]);
    // Each retry carries exactly one nudge (not one per earlier failure).
    assert_eq!(reqs[2]["messages"].as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn server_500_then_success() {
    let server = ScriptedServer::start(vec![
        Reply::llama_parse_error(),
        Reply::tool_call("read_file", r#"{"path": "a.rs"}"#),
    ])
    .unwrap();
    let (r, events) = run(&client(&server, 3)).await;
    let c = r.unwrap();
    assert_eq!(c.attempts, 2);
    assert_eq!(c.message.tool_calls()[0].function.name, "read_file");
    match &events[0] {
        StreamEvent::Retry { attempt, reason } => {
            assert_eq!(*attempt, 2);
            assert!(reason.contains("HTTP 500"), "{reason}");
        }
        other => panic!("expected a Retry event first, got {other:?}"),
    }
    let reqs = server.requests();
    let nudge = last_message(&reqs[1])["content"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        nudge.contains("Failed to parse tool call arguments"),
        "{nudge}"
    );
}

#[tokio::test]
async fn streamed_error_chunk_is_retried_like_a_500() {
    let server = ScriptedServer::start(vec![
        Reply::Chunks(
            vec![r#"{"error":{"code":500,"message":"Failed to parse tool call arguments as JSON","type":"server_error"}}"#.into()],
            true,
        ),
        Reply::tool_call("run_shell", r#"{"command":"pwd"}"#),
    ])
    .unwrap();
    let (r, _) = run(&client(&server, 1)).await;
    assert_eq!(r.unwrap().attempts, 2);
}

#[tokio::test]
async fn repeated_500_exhausts_retries() {
    let server = ScriptedServer::start(vec![
        Reply::llama_parse_error(),
        Reply::llama_parse_error(),
        Reply::llama_parse_error(),
    ])
    .unwrap();
    let (r, events) = run(&client(&server, 2)).await;
    match r {
        Err(OaiError::RetriesExhausted { attempts, last }) => {
            assert_eq!(attempts, 3);
            assert!(matches!(*last, OaiError::Http { status: 500, .. }));
        }
        other => panic!("expected RetriesExhausted, got {other:?}"),
    }
    assert_eq!(retries(&events), 2);
    assert_eq!(server.requests().len(), 3);
}

#[tokio::test]
async fn client_errors_are_not_retried() {
    let server = ScriptedServer::start(vec![
        Reply::status(
            400,
            r#"{"error":{"code":400,"message":"request (5010 tokens) exceeds the available context size (4096 tokens)","type":"exceed_context_size_error"}}"#,
        ),
        Reply::text("never served"),
    ])
    .unwrap();
    let (r, events) = run(&client(&server, 3)).await;
    match r {
        Err(e @ OaiError::Http { status: 400, .. }) => {
            let msg = e.to_string();
            assert!(msg.contains("exceeds the available context size"), "{msg}");
            assert!(msg.contains("context size"), "{msg}");
        }
        other => panic!("expected Http 400, got {other:?}"),
    }
    assert_eq!(retries(&events), 0);
    assert_eq!(server.requests().len(), 1);
    assert_eq!(server.remaining(), 1);
}

#[tokio::test]
async fn no_choices_is_not_retried() {
    let server = ScriptedServer::start(vec![
        Reply::Chunks(
            vec![r#"{"choices":[],"usage":{"total_tokens":1}}"#.into()],
            true,
        ),
        Reply::text("never served"),
    ])
    .unwrap();
    let (r, _) = run(&client(&server, 3)).await;
    assert!(matches!(r, Err(OaiError::NoChoices)), "{r:?}");
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn stream_cut_mid_response_then_success() {
    let (partial, _) = Reply::tool_call("run_shell", r#"{"command": "cargo test"}"#).payloads();
    let server = ScriptedServer::start(vec![
        Reply::CutMidStream(partial[..3].to_vec()),
        Reply::tool_call("run_shell", r#"{"command": "cargo test"}"#),
    ])
    .unwrap();
    let (r, events) = run(&client(&server, 2)).await;
    let c = r.unwrap();
    assert_eq!(c.attempts, 2);
    assert_eq!(
        c.message.tool_calls()[0].function.arguments,
        r#"{"command": "cargo test"}"#
    );
    assert_eq!(retries(&events), 1);
    assert!(server.requests()[1]["seed"].is_u64());
}

#[tokio::test]
async fn eof_before_finish_reason_is_retried() {
    let (partial, _) = Reply::text("half of a sentence").payloads();
    let server = ScriptedServer::start(vec![
        // A clean end of the body, but no finish_reason and no [DONE].
        Reply::ChunksThenEof(partial[..2].to_vec()),
        Reply::text("whole"),
    ])
    .unwrap();
    let (r, _) = run(&client(&server, 1)).await;
    let c = r.unwrap();
    assert_eq!(c.attempts, 2);
    assert_eq!(c.message.content.as_deref(), Some("whole"));
}

#[tokio::test]
async fn eof_after_finish_without_done_is_fine() {
    let (mut payloads, _) = Reply::text("fine").payloads();
    payloads.pop(); // no usage chunk either
    let server = ScriptedServer::start(vec![Reply::ChunksThenEof(payloads)]).unwrap();
    let (r, _) = run(&client(&server, 0)).await;
    let c = r.unwrap();
    assert_eq!(c.message.content.as_deref(), Some("fine"));
    assert_eq!(c.usage, None);
    assert_eq!(c.finish_reason.as_deref(), Some("stop"));
}

#[tokio::test]
async fn header_timeout_on_a_hanging_server_is_not_retried() {
    let server = ScriptedServer::start(vec![Reply::Hang, Reply::text("never served")]).unwrap();
    let mut cfg = ClientConfig::new(server.base_url(), "");
    cfg.header_timeout = Duration::from_millis(300);
    cfg.max_retries = 2;
    let client = Client::new(cfg).unwrap();
    let (r, _) = run(&client).await;
    match r {
        Err(e @ OaiError::Timeout(_)) => {
            assert!(e.to_string().contains("response headers"), "{e}");
        }
        other => panic!("expected Timeout, got {other:?}"),
    }
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn idle_stream_times_out_and_is_retried() {
    let (partial, _) = Reply::text("a b c").payloads();
    let server = ScriptedServer::start(vec![
        Reply::Stall(partial[..2].to_vec()),
        Reply::text("a b c"),
    ])
    .unwrap();
    let mut cfg = ClientConfig::new(server.base_url(), "");
    cfg.header_timeout = Duration::from_millis(400);
    cfg.max_retries = 1;
    let client = Client::new(cfg).unwrap();
    let (r, events) = run(&client).await;
    assert_eq!(r.unwrap().attempts, 2);
    match events
        .iter()
        .find(|e| matches!(e, StreamEvent::Retry { .. }))
    {
        Some(StreamEvent::Retry { reason, .. }) => {
            assert!(reason.contains("next chunk"), "{reason}")
        }
        other => panic!("expected a Retry event, got {other:?}"),
    }
}

#[tokio::test]
async fn no_done_with_open_connection_finishes_after_the_grace() {
    let (payloads, _) = Reply::tool_call("run_shell", r#"{"command":"ls"}"#).payloads();
    // The last payload is the usage chunk, sent after finish_reason.
    let server = ScriptedServer::start(vec![Reply::Chunks(payloads, false)]).unwrap();
    let client = client(&server, 0); // idle timeout 10 s
    let (r, _) = tokio::time::timeout(Duration::from_secs(5), run(&client))
        .await
        .expect("the turn must end soon after every choice has a finish_reason");
    let c = r.unwrap();
    assert_eq!(
        c.message.tool_calls()[0].function.arguments,
        r#"{"command":"ls"}"#
    );
    assert!(
        c.usage.is_some(),
        "the trailing usage chunk is still collected"
    );
}

#[tokio::test]
async fn connection_refused_says_what_to_check() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/v1", listener.local_addr().unwrap());
    drop(listener);
    let mut cfg = ClientConfig::new(url.clone(), "");
    cfg.max_retries = 1;
    let client = Client::new(cfg).unwrap();
    let mut sink = |_: StreamEvent| {};
    let r = client.complete(&history(), &tools(), &mut sink).await;
    match r {
        Err(e @ OaiError::RetriesExhausted { attempts: 2, .. }) => {
            let msg = e.to_string();
            assert!(msg.contains("is the llama.cpp server running at"), "{msg}");
            assert!(msg.contains(&url), "{msg}");
        }
        other => panic!("expected RetriesExhausted, got {other:?}"),
    }
}

#[tokio::test]
async fn dropping_the_future_cancels_and_the_client_stays_usable() {
    let server = ScriptedServer::start(vec![Reply::Hang, Reply::text("ok")]).unwrap();
    let client = client(&server, 0);
    let mut sink = |_: StreamEvent| {};
    let h = history();
    let t = tools();
    let cancelled = tokio::time::timeout(
        Duration::from_millis(200),
        client.complete(&h, &t, &mut sink),
    )
    .await;
    assert!(cancelled.is_err());
    let c = client.complete(&h, &t, &mut sink).await.unwrap();
    assert_eq!(c.message.content.as_deref(), Some("ok"));
}

fn json_client(server: &ScriptedServer, retries: u32) -> Client {
    let mut cfg = ClientConfig::new(server.base_url(), "");
    cfg.protocol = ToolProtocol::JsonSchema;
    cfg.max_retries = retries;
    Client::new(cfg).unwrap()
}

#[tokio::test]
async fn json_schema_mode_request_shape_and_parsing() {
    let server = ScriptedServer::start(vec![Reply::text(
        "{\n  \"tool\": \"read_file\",\n  \"arguments\": {\"path\": \"src/main.rs\"}\n}",
    )])
    .unwrap();
    let client = json_client(&server, 0);
    let mut call = Message::assistant("");
    call.tool_calls = Some(vec![foreman::oai::ToolCall::new(
        "c1",
        "run_shell",
        r#"{"command":"ls"}"#,
    )]);
    let mut msgs = history();
    msgs.push(call);
    msgs.push(Message::tool("c1", "run_shell", "src\nCargo.toml"));
    let mut events = Vec::new();
    let mut sink = |e: StreamEvent| events.push(e);
    let c = client.complete(&msgs, &tools(), &mut sink).await.unwrap();
    assert_eq!(c.message.content, None);
    let calls = c.message.tool_calls.clone().unwrap();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].function.name, "read_file");
    assert_eq!(calls[0].kind, "function");
    assert!(calls[0].id.starts_with("call_"), "{}", calls[0].id);
    assert_eq!(
        serde_json::from_str::<Value>(&calls[0].function.arguments).unwrap(),
        json!({"path": "src/main.rs"})
    );
    // The JSON was shown as it was written.
    let streamed: String = events
        .iter()
        .map(|e| match e {
            StreamEvent::Content(s) => s.as_str(),
            _ => "",
        })
        .collect();
    assert!(streamed.contains("\"read_file\""));

    let req = &server.requests()[0];
    assert!(req.get("tools").is_none());
    let rf = &req["response_format"];
    assert_eq!(rf["type"], "json_schema");
    assert_eq!(rf["json_schema"]["name"], "tool_call");
    let alts = rf["json_schema"]["schema"]["oneOf"].as_array().unwrap();
    assert_eq!(alts.len(), 2);
    assert_eq!(alts[1]["properties"]["tool"]["const"], "run_shell");
    assert_eq!(alts[1]["required"], json!(["tool", "arguments"]));
    let wire = req["messages"].as_array().unwrap();
    assert_eq!(wire.len(), 4);
    assert!(
        wire[0]["content"]
            .as_str()
            .unwrap()
            .contains("- run_shell: Run a shell command")
    );
    assert_eq!(wire[2]["role"], "assistant");
    assert_eq!(
        wire[2]["content"],
        r#"{"tool":"run_shell","arguments":{"command":"ls"}}"#
    );
    assert!(wire[2].get("tool_calls").is_none());
    assert_eq!(wire[3]["role"], "user");
    assert_eq!(wire[3]["content"], "Result of run_shell:\nsrc\nCargo.toml");
}

#[tokio::test]
async fn json_schema_mode_unparseable_reply_is_retried_then_returned() {
    let server = ScriptedServer::start(vec![
        Reply::text(r#"{"tool": "run_shell", "arguments": {"command": "l"#),
        Reply::text(r#"{"tool": "run_shell", "arguments": {"command": "ls"}}"#),
        Reply::text(r#"{"tool": "nope", "arguments": {}}"#),
        Reply::text(r#"{"tool": "run_shell", "arguments": {"comm"#),
    ])
    .unwrap();
    let client = json_client(&server, 1);
    let (r, events) = run(&client).await;
    let c = r.unwrap();
    assert_eq!(c.attempts, 2);
    assert_eq!(
        c.message.tool_calls()[0].function.arguments,
        r#"{"command":"ls"}"#
    );
    assert_eq!(retries(&events), 1);
    let nudge = last_message(&server.requests()[1])["content"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(nudge.contains("\"tool\""), "{nudge}");

    // Exhausted: the malformed reply comes back as a call the loop must repair.
    let (r, _) = run(&client).await;
    let c = r.unwrap();
    assert_eq!(c.attempts, 2);
    let call = &c.message.tool_calls()[0];
    assert_eq!(call.function.name, "run_shell");
    assert_eq!(
        call.function.arguments,
        r#"{"tool": "run_shell", "arguments": {"comm"#
    );
    assert!(serde_json::from_str::<Value>(&call.function.arguments).is_err());
}

#[tokio::test]
async fn script_exhaustion_answers_500_with_a_clear_body() {
    let server = ScriptedServer::start(vec![]).unwrap();
    let (r, _) = run(&client(&server, 0)).await;
    match r {
        Err(OaiError::Http { status: 500, body }) => {
            assert!(body.contains("no reply scripted for request #1"), "{body}")
        }
        other => panic!("expected Http 500, got {other:?}"),
    }
}

// The scripted server itself.
#[test]
fn pieces_cover_the_text() {
    for s in ["", "a", "{\"path\": \"é/ü\"}", "0123456789"] {
        let p = split_pieces(s, 4);
        assert_eq!(p.concat(), s);
        assert!(p.len() <= 4 && !p.is_empty());
    }
}

#[test]
fn tool_call_payloads_are_llama_shaped() {
    let (p, done) = Reply::tool_call_repeating_name("run", r#"{"command":"ls -la"}"#).payloads();
    assert!(done);
    let v: Vec<Value> = p.iter().map(|s| serde_json::from_str(s).unwrap()).collect();
    assert_eq!(
        v[1]["choices"][0]["delta"]["tool_calls"][0]["id"],
        "call_scripted_0"
    );
    assert_eq!(
        v[2]["choices"][0]["delta"]["tool_calls"][0]["function"]["name"],
        "run"
    );
    assert_eq!(v[v.len() - 2]["choices"][0]["finish_reason"], "tool_calls");
    assert!(v[v.len() - 1]["usage"]["total_tokens"].as_u64().unwrap() > 100);
}
