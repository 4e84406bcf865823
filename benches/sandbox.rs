//! Sandbox overhead per `bash` call: the median wall time of `true` through the tool with the
//! sandbox on (network none, the default policy) minus the same with the sandbox off, over
//! CALLS interleaved pairs (so a load spike hits both sides). Goal ≤ 5 ms; exits 1 above it.
//! Also prints the machine's load average, since the figure is only meaningful when quiet.
//!
//! `cargo bench --bench sandbox` (FOREMAN_BENCH_CALLS overrides the number of pairs).

use foreman::sandbox::{Mode, Network, Settings};
use foreman::tools::{Registry, ToolOptions};
use serde_json::json;
use std::time::Instant;

const CALLS: usize = 200;
const GOAL_MS: f64 = 5.0;

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn pct(v: &[f64], p: f64) -> f64 {
    v[((v.len() - 1) as f64 * p) as usize]
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

fn registry(dir: &std::path::Path, mode: Mode, network: Network) -> Registry {
    let settings = Settings {
        mode,
        network: Some(network),
        ..Settings::default()
    };
    Registry::sandboxed(
        dir,
        &["bash".into()],
        ToolOptions::default(),
        &settings,
        None,
    )
    .expect("registry")
}

async fn time_call(r: &Registry) -> f64 {
    let args = json!({"command": "true"});
    let t = Instant::now();
    let out = r.dispatch("bash", &args).await.expect("bash");
    assert_eq!(out.output["exit_code"], 0, "{}", out.output);
    t.elapsed().as_secs_f64() * 1000.0
}

fn main() {
    let calls = std::env::var("FOREMAN_BENCH_CALLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(CALLS)
        .max(20);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let over = rt.block_on(async {
        let dir = tempfile::tempdir().expect("tempdir");
        let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
        println!("sandbox overhead per bash call ({calls} interleaved pairs, {cpus} CPUs)");
        println!("load average before: {}", loadavg());
        let off = registry(dir.path(), Mode::Off, Network::None);
        let mut worst = 0.0f64;
        for network in [Network::None, Network::Loopback, Network::Full] {
            let on = registry(dir.path(), Mode::On, network);
            // Warm up: the backend probe, the private dir, the page cache.
            for _ in 0..5 {
                time_call(&on).await;
                time_call(&off).await;
            }
            let (mut a, mut b) = (Vec::with_capacity(calls), Vec::with_capacity(calls));
            for _ in 0..calls {
                a.push(time_call(&on).await);
                b.push(time_call(&off).await);
            }
            let (ma, mb) = (median(&mut a), median(&mut b));
            let overhead = ma - mb;
            println!(
                "network {:<8}  sandboxed median {ma:6.2} ms (p90 {:6.2})  unsandboxed median {mb:6.2} ms (p90 {:6.2})  overhead {overhead:5.2} ms",
                network.as_str(),
                pct(&a, 0.9),
                pct(&b, 0.9),
            );
            if network == Network::None {
                worst = worst.max(overhead);
            }
        }
        println!("load average after: {}", loadavg());
        worst
    });
    println!("goal: overhead with the default network none <= {GOAL_MS} ms");
    if over > GOAL_MS {
        println!("FAIL: {over:.2} ms is over the goal");
        std::process::exit(1);
    }
    println!("ok: {over:.2} ms");
}
