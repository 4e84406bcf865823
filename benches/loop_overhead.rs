//! Loop overhead per turn against an instant scripted server.
//!
//! Prints three figures: the whole turn (HTTP round trip to a loopback server that answers at
//! once + SSE parse + tool dispatch + bookkeeping), a bare `Client::complete` on the same
//! growing history (the server and transport share), and their difference — the loop's own
//! overhead, which the goal (≤ 1 ms) is about.

use foreman::agent::{LoopConfig, LoopEnd, prompt, run_loop};
use foreman::api::ToolProtocol;
#[path = "../tests/common/scripted_oai.rs"]
#[allow(dead_code)]
mod scripted_oai;
use foreman::oai::{Client, ClientConfig};
use foreman::tools::{Registry, ToolOptions};
use scripted_oai::{Reply, ScriptedServer};
use std::time::{Duration, Instant};

const TURNS: u32 = 200;
const RUNS: usize = 5;

fn client(base_url: String) -> Client {
    Client::new(ClientConfig {
        base_url,
        model: "bench".into(),
        temperature: None,
        max_tokens: None,
        stop: vec![],
        header_timeout: Duration::from_secs(10),
        max_retries: 0,
        protocol: ToolProtocol::OpenaiTools,
        chat_template_kwargs: None,
        api_key: None,
        id_slot: None,
    })
    .expect("client")
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let overhead = rt.block_on(async {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("README.md"), "# bench\n".repeat(20)).expect("write");
        let registry = Registry::new(dir.path(), &[], ToolOptions::default()).expect("registry");
        let server =
            ScriptedServer::repeating(Reply::tool_call("read_file", r#"{"path":"README.md"}"#))
                .expect("server");
        let client = client(server.base_url());

        let mut loop_ms = Vec::new();
        let mut bare_ms = Vec::new();
        for _ in 0..RUNS {
            let cfg = LoopConfig {
                opening: prompt::opening("system", &[], "benchmark".into()),
                max_turns: TURNS,
                converge_turns: 0,
                deadline: None,
                max_tool_calls_per_turn: 32,
                ..Default::default()
            };
            let t = Instant::now();
            let out = run_loop(&client, &registry, &cfg, &mut |_| {}).await;
            let per_turn = t.elapsed().as_secs_f64() * 1000.0 / TURNS as f64;
            assert!(matches!(out.result, Ok(LoopEnd::MaxTurnsExhausted)));
            loop_ms.push(per_turn);

            // The same requests without the loop: replay the histories the loop sent.
            let history = out.transcript;
            let specs = registry.specs();
            let t = Instant::now();
            let mut n = 0;
            for end in (2..history.len()).step_by(2).take(TURNS as usize) {
                client
                    .complete(&history[..end], &specs, &mut |_| {})
                    .await
                    .expect("complete");
                n += 1;
            }
            bare_ms.push(t.elapsed().as_secs_f64() * 1000.0 / n as f64);
        }
        let (l, b) = (median(loop_ms), median(bare_ms));
        println!("loop_overhead: {TURNS} turns x {RUNS} runs (median per turn)");
        println!("  whole turn incl. loopback HTTP + SSE: {l:.3} ms");
        println!("  bare chat call on the same history:    {b:.3} ms");
        let overhead = (l - b).max(0.0);
        println!(
            "  loop overhead (difference):            {overhead:.3} ms  (goal <= {GOAL_MS} ms)"
        );
        overhead
    });
    if overhead > GOAL_MS {
        println!("OVER goal");
        std::process::exit(1);
    }
}

/// The loop's own time per turn, over a bare chat call on the same history.
const GOAL_MS: f64 = 1.0;
