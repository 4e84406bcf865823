//! A hostile server cannot make one chat turn unbounded (issue 9 §4): an endless stream of
//! 1 MB deltas is cut at the reply cap with memory bounded, and keep-alive comments or empty
//! deltas do not reset the idle timeout, while real content does.

mod common;

use common::scripted_oai::{Reply, ScriptedServer};
use foreman::oai::{Client, ClientConfig, Message, OaiError, StreamEvent, StreamLimits};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// A raw HTTP server: answers every connection with SSE headers, then writes `next(i)` for
/// i = 0, 1, ... every `every` until the client goes away.
async fn streaming_server(
    every: Duration,
    next: impl Fn(usize) -> Vec<u8> + Send + Sync + 'static,
) -> String {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    let next = std::sync::Arc::new(next);
    tokio::spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            let next = std::sync::Arc::clone(&next);
            tokio::spawn(async move {
                let mut buf = vec![0u8; 64 * 1024];
                let _ = s.read(&mut buf).await;
                let head = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\n";
                if s.write_all(head.as_bytes()).await.is_err() {
                    return;
                }
                for i in 0.. {
                    if s.write_all(&next(i)).await.is_err() {
                        return;
                    }
                    tokio::time::sleep(every).await;
                }
            });
        }
    });
    format!("http://{addr}/v1")
}

fn client(base: &str, idle: Duration, retries: u32) -> Client {
    let mut cfg = ClientConfig::new(base, "");
    cfg.header_timeout = idle;
    cfg.max_retries = retries;
    Client::new(cfg).unwrap()
}

async fn turn(c: &Client) -> (Result<foreman::oai::Completion, OaiError>, Vec<StreamEvent>) {
    let mut events = Vec::new();
    let r = c
        .complete(&[Message::user("hi")], &[], &mut |e| events.push(e))
        .await;
    (r, events)
}

fn vm_hwm_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

fn content_chunk(text: &str) -> Vec<u8> {
    let payload = serde_json::json!({"choices": [{"index": 0, "delta": {"content": text}}]});
    format!("data: {payload}\n\n").into_bytes()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn endless_megabyte_deltas_are_cut_at_the_cap_with_memory_bounded() {
    let megabyte = "x".repeat(1_000_000);
    let chunk = content_chunk(&megabyte);
    let base = streaming_server(Duration::ZERO, move |_| chunk.clone()).await;
    let c = client(&base, Duration::from_secs(10), 3);
    let start = Instant::now();
    let (r, events) = turn(&c).await;
    let took = start.elapsed();
    match r {
        Err(OaiError::RetriesExhausted { attempts, last }) => {
            assert_eq!(attempts, 4);
            assert!(
                matches!(*last, OaiError::ReplyTooLarge { limit } if limit == 1024 * 1024),
                "{last:?}"
            );
        }
        other => panic!("expected the cap to end every attempt, got {other:?}"),
    }
    assert!(took < Duration::from_secs(20), "took {took:?}");
    // Each attempt streamed at most the cap plus one delta before it was stopped.
    let streamed: usize = events
        .iter()
        .map(|e| match e {
            StreamEvent::Content(t) => t.len(),
            _ => 0,
        })
        .sum();
    assert!(streamed <= 4 * 2_000_000, "{streamed} bytes streamed");
    let hwm = vm_hwm_kib();
    assert!(hwm < 100 * 1024, "peak RSS {hwm} KiB");
}

#[tokio::test]
async fn keep_alive_comments_do_not_keep_a_turn_alive() {
    let base = streaming_server(Duration::from_millis(50), |i| {
        if i == 0 {
            content_chunk("start ")
        } else {
            b": keep-alive\n\n".to_vec()
        }
    })
    .await;
    let c = client(&base, Duration::from_millis(800), 0);
    let start = Instant::now();
    let (r, _) = turn(&c).await;
    let took = start.elapsed();
    assert!(
        matches!(&r, Err(OaiError::Timeout(m)) if m.contains("no content or tool-call arguments")),
        "{r:?}"
    );
    assert!(
        took >= Duration::from_millis(750) && took < Duration::from_secs(3),
        "ended after {took:?}, not at the 0.8 s idle timeout"
    );
}

#[tokio::test]
async fn empty_deltas_and_role_chunks_do_not_keep_a_turn_alive() {
    let frames = [
        r#"{"choices":[{"index":0,"delta":{"role":"assistant","content":null}}]}"#,
        r#"{"choices":[{"index":0,"delta":{}}]}"#,
        r#"{"choices":[{"index":0,"delta":{"content":""}}]}"#,
        r#"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":""}}]}}]}"#,
    ];
    let base = streaming_server(Duration::from_millis(50), move |i| {
        format!("data: {}\n\n", frames[i % frames.len()]).into_bytes()
    })
    .await;
    let c = client(&base, Duration::from_millis(800), 0);
    let start = Instant::now();
    let (r, _) = turn(&c).await;
    assert!(matches!(&r, Err(OaiError::Timeout(_))), "{r:?}");
    assert!(start.elapsed() < Duration::from_secs(3));
}

#[tokio::test]
async fn slow_real_content_resets_the_idle_timeout() {
    // One word every 300 ms for ~2.4 s, idle timeout 800 ms: content keeps the turn alive.
    let base = streaming_server(Duration::from_millis(300), |i| match i {
        0..=7 => content_chunk("w "),
        8 => b"data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n".to_vec(),
        _ => Vec::new(),
    })
    .await;
    let c = client(&base, Duration::from_millis(800), 0);
    let (r, _) = turn(&c).await;
    assert_eq!(r.unwrap().message.text(), "w ".repeat(8));
}

#[tokio::test]
async fn an_oversized_reply_is_retried_with_a_nudge_to_answer_shorter() {
    let server = ScriptedServer::start(vec![
        Reply::tool_call(
            "write_file",
            format!(r#"{{"path":"a","content":"{}"}}"#, "y".repeat(8000)),
        ),
        Reply::text("short"),
    ])
    .unwrap();
    let mut cfg = ClientConfig::new(server.base_url(), "");
    cfg.max_retries = 1;
    let c = Client::with_limits(
        cfg,
        StreamLimits {
            max_reply_bytes: 4096,
        },
    )
    .unwrap();
    let (r, events) = turn(&c).await;
    let done = r.unwrap();
    assert_eq!((done.attempts, done.message.text()), (2, "short"));
    assert!(events.iter().any(
        |e| matches!(e, StreamEvent::Retry { reason, .. } if reason.contains("passed 4096 bytes"))
    ));
    let reqs = server.requests();
    let nudge = reqs[1]["messages"].as_array().unwrap().last().unwrap()["content"]
        .as_str()
        .unwrap_or("")
        .to_string();
    assert!(
        nudge.contains("cut off") && nudge.contains("smaller"),
        "{nudge}"
    );
}
