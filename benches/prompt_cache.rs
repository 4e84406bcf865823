//! The model's prompt cache with the real llama.cpp server (issue 16 §2): two conversations
//! shaped like agent runs (JSON-schema tools, a tool result per turn, a converge turn that
//! offers only submit_result), run one after the other and then at once, each pinned to its
//! own server slot (`id_slot`). Goals: every turn reuses ≥ 95 % of the previous turn's prompt
//! (`timings.cache_n`), the converge turn too, and the concurrent wall ≤ 1.05× the sequential.
//!
//! Needs a 2-slot server: `FOREMAN_LLAMA_PARALLEL=2 start_llama PORT LOG` (scripts/lib.sh),
//! then `FOREMAN_E2E_LLAMA_URL=http://127.0.0.1:PORT/v1`. `FOREMAN_BENCH_TURNS` (default 8) and
//! `FOREMAN_BENCH_MAX_TOKENS` (default 24) size the runs.
//! Exit 0 within goal, 1 over goal, 2 when no such server answers.

use foreman::api::ToolProtocol;
use foreman::oai::{Client, ClientConfig, Message, Timings, ToolSpec};
use serde_json::json;
use std::time::{Duration, Instant};

const REUSE_GOAL: f64 = 0.95;
const WALL_GOAL: f64 = 1.05;

fn tools() -> Vec<ToolSpec> {
    vec![
        ToolSpec::function(
            "read_file",
            "Read a file of the repository.",
            json!({"type":"object","properties":{"path":{"type":"string"}},"required":["path"]}),
        ),
        ToolSpec::function(
            "submit_result",
            "Finish with a verdict.",
            json!({"type":"object","properties":{
                "verdict":{"type":"string","enum":["GO","NO-GO","ERROR"]},
                "summary":{"type":"string"}},"required":["verdict","summary"]}),
        ),
    ]
}

fn client(base: &str, slot: u32) -> Client {
    let mut cfg = ClientConfig::new(base, "");
    cfg.protocol = ToolProtocol::JsonSchema;
    cfg.temperature = Some(0.0);
    cfg.max_tokens = Some(max_tokens());
    cfg.max_retries = 0;
    cfg.id_slot = Some(slot);
    Client::new(cfg).expect("client")
}

/// `FOREMAN_BENCH_MAX_TOKENS` (default 24): the reply cap per turn.
fn max_tokens() -> u32 {
    std::env::var("FOREMAN_BENCH_MAX_TOKENS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(24)
}

/// One run's turns: each turn's timings; the last turn is the converge turn.
async fn conversation(c: &Client, name: &str, turns: u32) -> Result<Vec<Timings>, String> {
    let all = tools();
    let submit = [all[1].clone()];
    let mut history = vec![
        Message::system("You are a careful coder. Work only through the tools."),
        Message::user(format!(
            "Task {name}: read the notes files one by one (notes-{name}-1.txt, ...) and report."
        )),
    ];
    let mut out = Vec::new();
    for turn in 1..=turns {
        let converge = turn == turns;
        if converge {
            history.push(Message::user(
                "1 turn(s) left: only submit_result is available now. Report your verdict.",
            ));
        }
        let offered = if converge { &submit[..] } else { &all[..] };
        let done = c
            .complete_offering(&history, &all, offered, &mut |_| {})
            .await
            .map_err(|e| format!("{name} turn {turn}: {e}"))?;
        out.push(done.timings.ok_or("the server sent no timings")?);
        let call = done.message.tool_calls().first().cloned();
        history.push(done.message);
        if let Some(call) = call {
            let result = format!("notes-{name}-{turn}.txt: item {turn} of task {name} is done.");
            history.push(Message::tool(call.id, call.function.name, result));
        }
    }
    Ok(out)
}

/// Per turn after the first: cached tokens over the previous turn's whole prompt.
fn reuse(t: &[Timings]) -> Vec<f64> {
    let total = |x: &Timings| x.cache_n.unwrap_or(0.0) + x.prompt_n.unwrap_or(0.0);
    t.windows(2)
        .map(|w| w[1].cache_n.unwrap_or(0.0) / total(&w[0]).max(1.0))
        .collect()
}

async fn slots(base: &str) -> Option<u64> {
    let root = base.trim_end_matches('/').trim_end_matches("/v1");
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .ok()?;
    let props: serde_json::Value = http
        .get(format!("{root}/props"))
        .send()
        .await
        .ok()?
        .json()
        .await
        .ok()?;
    props["total_slots"].as_u64()
}

fn report(label: &str, runs: &[Vec<Timings>]) -> (f64, f64) {
    let mut min_turn = f64::INFINITY;
    let mut min_converge = f64::INFINITY;
    for (i, t) in runs.iter().enumerate() {
        let r = reuse(t);
        let shown: Vec<String> = r.iter().map(|x| format!("{:.1}", x * 100.0)).collect();
        println!(
            "  {label} run {}: reuse per turn % [{}]",
            i + 1,
            shown.join(", ")
        );
        if let Some((last, rest)) = r.split_last() {
            min_converge = min_converge.min(*last);
            min_turn = rest.iter().copied().fold(min_turn, f64::min);
        }
    }
    (min_turn, min_converge)
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let Some(base) = std::env::var("FOREMAN_E2E_LLAMA_URL").ok() else {
        eprintln!("prompt_cache: set FOREMAN_E2E_LLAMA_URL to a 2-slot llama.cpp server's /v1");
        std::process::exit(2);
    };
    match slots(&base).await {
        Some(n) if n >= 2 => {}
        other => {
            eprintln!(
                "prompt_cache: {base} reports total_slots {other:?}; start it with FOREMAN_LLAMA_PARALLEL=2"
            );
            std::process::exit(2);
        }
    }
    let turns: u32 = std::env::var("FOREMAN_BENCH_TURNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(8)
        .max(3);
    let (a, b) = (client(&base, 0), client(&base, 1));
    let run = |r: Result<Vec<Timings>, String>| {
        r.unwrap_or_else(|e| {
            eprintln!("prompt_cache: {e}");
            std::process::exit(2)
        })
    };
    // Warm-up so neither measured phase pays the model's first load.
    run(conversation(&a, "warm", 2).await);
    let t = Instant::now();
    let seq = vec![
        run(conversation(&a, "a", turns).await),
        run(conversation(&b, "b", turns).await),
    ];
    let seq_wall = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let (ca, cb) = tokio::join!(conversation(&a, "c", turns), conversation(&b, "d", turns));
    let con = vec![run(ca), run(cb)];
    let con_wall = t.elapsed().as_secs_f64();
    println!("prompt_cache: {turns} turns per run, 2 runs, slots 0 and 1");
    let (s_turn, s_conv) = report("sequential", &seq);
    let (c_turn, c_conv) = report("concurrent", &con);
    let min_turn = s_turn.min(c_turn);
    let min_conv = s_conv.min(c_conv);
    let ratio = con_wall / seq_wall;
    let ok = |b: bool| if b { "OK" } else { "OVER" };
    println!(
        "  per-turn reuse (min)      {:>6.1} %   goal ≥ {:.0} %  {}",
        min_turn * 100.0,
        REUSE_GOAL * 100.0,
        ok(min_turn >= REUSE_GOAL)
    );
    println!(
        "  converge-turn reuse (min) {:>6.1} %   goal ≥ {:.0} %  {}",
        min_conv * 100.0,
        REUSE_GOAL * 100.0,
        ok(min_conv >= REUSE_GOAL)
    );
    println!(
        "  wall concurrent/sequential {:.2}× ({con_wall:.1} s / {seq_wall:.1} s)   goal ≤ {WALL_GOAL:.2}×  {}",
        ratio,
        ok(ratio <= WALL_GOAL)
    );
    if min_turn < REUSE_GOAL || min_conv < REUSE_GOAL || ratio > WALL_GOAL {
        std::process::exit(1);
    }
}
