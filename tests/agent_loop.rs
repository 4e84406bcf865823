//! The native loop against a scripted OpenAI server (deterministic): every way a turn can go
//! wrong, and what reaches the model's history afterwards.

mod common;

use common::scripted_oai::{Reply, ScriptedServer};
use foreman::agent::{LoopConfig, LoopEnd, LoopEvent, LoopOutcome, prompt, run_loop};
use foreman::api::ToolProtocol;
use foreman::oai::{Client, ClientConfig, Message, Role, StreamEvent};
use foreman::tools::{ModelVerdict, Registry, ToolOptions};
use std::time::Duration;

struct Run {
    outcome: LoopOutcome,
    events: Vec<LoopEvent>,
    server: ScriptedServer,
    _dir: tempfile::TempDir,
}

async fn run_with(replies: Vec<Reply>, max_turns: u32, retries: u32) -> Run {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("README.md"), "teh fleet\n").unwrap();
    let server = ScriptedServer::start(replies).unwrap();
    let client = Client::new(ClientConfig {
        base_url: server.base_url(),
        model: "m".into(),
        temperature: Some(0.0),
        max_tokens: None,
        stop: vec![],
        header_timeout: Duration::from_secs(5),
        max_retries: retries,
        protocol: ToolProtocol::OpenaiTools,
        chat_template_kwargs: None,
        api_key: None,
        id_slot: None,
    })
    .unwrap();
    let registry = Registry::new(dir.path(), &[], ToolOptions::default()).unwrap();
    let cfg = LoopConfig {
        opening: prompt::opening("sys", &[], "fix the typo".into()),
        max_turns,
        converge_turns: 0,
        deadline: None,
        max_tool_calls_per_turn: 32,
        ..Default::default()
    };
    let mut events = Vec::new();
    let outcome = run_loop(&client, &registry, &cfg, &mut |e| events.push(e)).await;
    Run {
        outcome,
        events,
        server,
        _dir: dir,
    }
}

fn submit_go() -> Reply {
    Reply::tool_call(
        "submit_result",
        r#"{"verdict":"GO","summary":"done","commit_message":"fix: typo"}"#,
    )
}

fn tool_messages(t: &[Message]) -> Vec<&Message> {
    t.iter().filter(|m| m.role == Role::Tool).collect()
}

/// No request body ever carries tool-call arguments that are not a JSON object.
fn assert_history_is_clean(server: &ScriptedServer) {
    for req in server.requests() {
        for m in req["messages"].as_array().unwrap() {
            for c in m["tool_calls"].as_array().into_iter().flatten() {
                let args = c["function"]["arguments"].as_str().unwrap();
                let v: serde_json::Value = serde_json::from_str(args)
                    .unwrap_or_else(|e| panic!("malformed arguments echoed back: {args:?} ({e})"));
                assert!(v.is_object(), "non-object arguments echoed back: {args}");
            }
        }
    }
}

#[tokio::test]
async fn submit_result_ends_the_loop() {
    let r = run_with(
        vec![
            Reply::tool_call("read_file", r#"{"path":"README.md"}"#),
            submit_go(),
        ],
        10,
        0,
    )
    .await;
    match r.outcome.result.unwrap() {
        LoopEnd::Submitted(s) => assert_eq!(s.verdict, ModelVerdict::Go),
        other => panic!("{other:?}"),
    }
    assert_eq!(r.outcome.turns, 2);
    let tools = tool_messages(&r.outcome.transcript);
    assert!(tools[0].text().contains("teh fleet"));
    // Second request carried the whole history: system, user, assistant, tool.
    assert_eq!(
        r.server.requests()[1]["messages"].as_array().unwrap().len(),
        4
    );
}

#[tokio::test]
async fn truncated_arguments_are_retried_with_a_nudge() {
    let r = run_with(
        vec![
            Reply::tool_call("read_file", r#"{"path":"READ"#),
            Reply::tool_call("read_file", r#"{"path":"README.md"}"#),
            submit_go(),
        ],
        10,
        2,
    )
    .await;
    assert!(matches!(r.outcome.result, Ok(LoopEnd::Submitted(_))));
    let reqs = r.server.requests();
    assert_eq!(reqs.len(), 3);
    // The retry differs from the failed request (a corrective nudge), so llama.cpp will not
    // fail it the same way.
    assert_ne!(reqs[0]["messages"], reqs[1]["messages"]);
    assert!(r.events.iter().any(|e| matches!(
        e,
        LoopEvent::Stream {
            event: StreamEvent::Retry { .. },
            ..
        }
    )));
    assert_history_is_clean(&r.server);
}

#[tokio::test]
async fn malformed_arguments_are_never_echoed_and_the_model_is_told() {
    // Retries disabled: the malformed call reaches the loop.
    let r = run_with(
        vec![
            Reply::tool_call("write_file", r#"{"path": "a.txt", "content": "x"#),
            submit_go(),
        ],
        10,
        0,
    )
    .await;
    assert!(matches!(r.outcome.result, Ok(LoopEnd::Submitted(_))));
    let tool = tool_messages(&r.outcome.transcript)[0];
    assert!(
        tool.text().contains("not a valid JSON object"),
        "{}",
        tool.text()
    );
    let assistant = &r.outcome.transcript[2];
    assert_eq!(assistant.tool_calls()[0].function.arguments, "{}");
    assert!(
        !r._dir.path().join("a.txt").exists(),
        "the broken call must not run"
    );
    assert_history_is_clean(&r.server);
}

#[tokio::test]
async fn unknown_tool_is_a_tool_error_and_the_loop_goes_on() {
    let r = run_with(vec![Reply::tool_call("deploy", "{}"), submit_go()], 10, 0).await;
    assert!(matches!(r.outcome.result, Ok(LoopEnd::Submitted(_))));
    let tool = tool_messages(&r.outcome.transcript)[0];
    let v: serde_json::Value = serde_json::from_str(tool.text()).unwrap();
    assert!(v["error"].as_str().unwrap().contains("deploy"), "{v}");
}

#[tokio::test]
async fn text_only_turn_is_nudged_once_then_ends_the_run() {
    let r = run_with(
        vec![Reply::text("I fixed it."), Reply::text("Done, really.")],
        10,
        0,
    )
    .await;
    assert!(matches!(r.outcome.result, Ok(LoopEnd::HallucinatedFinish)));
    assert_eq!(r.outcome.turns, 2);
    let nudge = &r.outcome.transcript[3];
    assert_eq!(nudge.role, Role::User);
    assert!(nudge.text().contains("tool calls"));
}

#[tokio::test]
async fn text_only_turn_then_a_call_recovers() {
    let r = run_with(vec![Reply::text("Let me look."), submit_go()], 10, 0).await;
    assert!(matches!(r.outcome.result, Ok(LoopEnd::Submitted(_))));
}

#[tokio::test]
async fn max_turns_is_enforced() {
    let replies = (0..3)
        .map(|_| Reply::tool_call("read_file", r#"{"path":"README.md"}"#))
        .collect();
    let r = run_with(replies, 3, 0).await;
    assert!(matches!(r.outcome.result, Ok(LoopEnd::MaxTurnsExhausted)));
    assert_eq!(r.outcome.turns, 3);
    assert_eq!(r.server.requests().len(), 3);
}

#[tokio::test]
async fn stream_cut_mid_response_is_retried() {
    let r = run_with(
        vec![
            Reply::CutMidStream(vec![
                r#"{"choices":[{"index":0,"delta":{"role":"assistant","content":"Let me"}}]}"#
                    .into(),
            ]),
            submit_go(),
        ],
        10,
        2,
    )
    .await;
    assert!(
        matches!(r.outcome.result, Ok(LoopEnd::Submitted(_))),
        "{:?}",
        r.outcome.result
    );
    assert_eq!(r.server.requests().len(), 2);
}

#[tokio::test]
async fn server_500_then_success() {
    let r = run_with(
        vec![
            Reply::Status(500, "Failed to parse tool call arguments as JSON".into()),
            submit_go(),
        ],
        10,
        2,
    )
    .await;
    assert!(matches!(r.outcome.result, Ok(LoopEnd::Submitted(_))));
    assert_eq!(r.outcome.turns, 1);
}

#[tokio::test]
async fn persistent_500_is_a_loop_error_with_the_transcript_kept() {
    let replies = (0..3).map(|_| Reply::Status(500, "boom".into())).collect();
    let r = run_with(replies, 10, 2).await;
    let err = r.outcome.result.unwrap_err().to_string();
    assert!(err.contains("chat turn 1 failed"), "{err}");
    assert_eq!(r.outcome.transcript.len(), 2);
}

#[tokio::test]
async fn budget_ends_a_hanging_turn() {
    let dir = tempfile::tempdir().unwrap();
    let server = ScriptedServer::start(vec![Reply::Hang]).unwrap();
    let client = Client::new(ClientConfig {
        base_url: server.base_url(),
        model: String::new(),
        temperature: None,
        max_tokens: None,
        stop: vec![],
        header_timeout: Duration::from_secs(60),
        max_retries: 0,
        protocol: ToolProtocol::OpenaiTools,
        chat_template_kwargs: None,
        api_key: None,
        id_slot: None,
    })
    .unwrap();
    let registry = Registry::new(dir.path(), &[], ToolOptions::default()).unwrap();
    let cfg = LoopConfig {
        opening: prompt::opening("sys", &[], "x".into()),
        max_turns: 5,
        converge_turns: 0,
        deadline: Some(tokio::time::Instant::now() + Duration::from_millis(300)),
        max_tool_calls_per_turn: 32,
        ..Default::default()
    };
    let out = run_loop(&client, &registry, &cfg, &mut |_| {}).await;
    assert!(matches!(out.result, Ok(LoopEnd::BudgetExhausted)));
}

#[tokio::test]
async fn every_call_of_a_turn_runs_and_the_first_submission_wins() {
    let r = run_with(
        vec![Reply::ToolCalls(vec![
            (
                "submit_result".into(),
                r#"{"verdict":"NO-GO","summary":"first"}"#.into(),
            ),
            ("read_file".into(), r#"{"path":"README.md"}"#.into()),
        ])],
        10,
        0,
    )
    .await;
    match r.outcome.result.unwrap() {
        LoopEnd::Submitted(s) => assert_eq!(s.summary, "first"),
        other => panic!("{other:?}"),
    }
    assert_eq!(tool_messages(&r.outcome.transcript).len(), 2);
}

#[tokio::test]
async fn the_last_turns_offer_only_submit_result() {
    let dir = tempfile::tempdir().unwrap();
    let replies = vec![
        Reply::tool_call("read_file", r#"{"path":"x"}"#),
        Reply::tool_call("read_file", r#"{"path":"x"}"#),
        submit_go(),
    ];
    let server = ScriptedServer::start(replies).unwrap();
    let client = Client::new(ClientConfig::new(server.base_url(), "m")).unwrap();
    let registry = Registry::new(dir.path(), &[], ToolOptions::default()).unwrap();
    let cfg = LoopConfig {
        opening: prompt::opening("sys", &[], "x".into()),
        max_turns: 3,
        converge_turns: 1,
        deadline: None,
        max_tool_calls_per_turn: 32,
        ..Default::default()
    };
    let out = run_loop(&client, &registry, &cfg, &mut |_| {}).await;
    assert!(matches!(out.result, Ok(LoopEnd::Submitted(_))));
    let reqs = server.requests();
    let names = |i: usize| -> Vec<String> {
        reqs[i]["tools"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["function"]["name"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(names(0).len(), 6);
    assert_eq!(names(2), ["submit_result"]);
    let last_user = reqs[2]["messages"]
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .find(|m| m["role"] == "user")
        .unwrap();
    assert!(
        last_user["content"]
            .as_str()
            .unwrap()
            .contains("1 turn(s) left")
    );
}

#[tokio::test]
async fn an_empty_reply_keeps_a_content_key_in_the_history() {
    let r = run_with(vec![Reply::text(""), submit_go()], 10, 0).await;
    assert!(matches!(r.outcome.result, Ok(LoopEnd::Submitted(_))));
    let second = &r.server.requests()[1];
    let assistant = second["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["role"] == "assistant")
        .unwrap();
    assert_eq!(assistant["content"], "", "{assistant}");
}
