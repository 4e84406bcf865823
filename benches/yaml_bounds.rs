//! How fast the manifest loader refuses hostile YAML (`tests/yaml_bounds.rs` pins the errors).
//!
//! Each case is loaded 7 times; the figure is the median CPU time of the loading thread (the
//! issue measured CPU: serde_yaml spent 26 s on the 200 KB case, 115 s on the 400 KB one), with
//! the median wall time next to it. Goal: every hostile case under 100 ms of CPU; over it, the
//! bench exits 1. A valid 1,000-object file is timed too, for scale (no goal).
//!
//!   cargo bench --bench yaml_bounds

use foreman::api::{LoadError, Object, load_file, load_str};
use std::path::Path;
use std::time::{Duration, Instant};

const RUNS: usize = 7;
const GOAL: Duration = Duration::from_millis(100);

const TASK: &str = "apiVersion: foreman.llmkube.dev/v1alpha1
kind: AgenticTask
metadata: {name: fix-1}
spec:
  kind: issue-fix
  agentRef: {name: coder}
  payload: {repo: acme/fleet, issue: 1, prompt: fix it}
";

/// CPU time of the calling thread.
#[allow(unsafe_code)] // clock_gettime has no safe std equivalent for thread CPU time
fn thread_cpu() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec for the duration of the call.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime(CLOCK_THREAD_CPUTIME_ID) failed");
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// Median CPU and wall time of `RUNS` loads, and the last result.
fn time(load: impl Fn() -> Result<Vec<Object>, LoadError>) -> (Duration, Duration, String) {
    let (mut cpu, mut wall, mut last) = (Vec::new(), Vec::new(), String::new());
    for _ in 0..RUNS {
        let (c0, w0) = (thread_cpu(), Instant::now());
        let r = load();
        cpu.push(thread_cpu() - c0);
        wall.push(w0.elapsed());
        last = match r {
            Ok(objs) => format!("ok: {} objects", objs.len()),
            Err(e) => e.to_string(),
        };
    }
    cpu.sort();
    wall.sort();
    (cpu[RUNS / 2], wall[RUNS / 2], last)
}

fn laughs() -> String {
    let mut text = String::from("a: &a [x, x, x, x, x, x, x, x, x]\n");
    for (name, prev) in [("b", "a"), ("c", "b"), ("d", "c"), ("e", "d"), ("f", "e")] {
        let refs = vec![format!("*{prev}"); 9].join(", ");
        text.push_str(&format!("{name}: &{name} [{refs}]\n"));
    }
    text.push_str(&format!("g: [{}]\n", ["*f"; 9].join(", ")));
    text
}

fn tasks(n: usize) -> String {
    (0..n)
        .map(|i| TASK.replace("fix-1", &format!("t{i}")))
        .collect::<Vec<_>>()
        .join("---\n")
}

fn main() {
    let dir = tempfile::tempdir().expect("temp dir");
    let big = dir.path().join("big.yaml");
    std::fs::File::create(&big)
        .and_then(|f| f.set_len(50 << 20))
        .expect("50 MB file");
    let hostile: Vec<(&str, String)> = vec![
        (
            "flow sequences 10^5 deep (200 KB)",
            format!("{}{}", "[".repeat(100_000), "]".repeat(100_000)),
        ),
        (
            "flow mappings 10^5 deep (400 KB)",
            format!("{}{}", "{a: ".repeat(100_000), "}".repeat(100_000)),
        ),
        (
            "block mappings 1,000 deep (500 KB)",
            (0..1_000)
                .map(|i| format!("{}a:\n", " ".repeat(i)))
                .collect(),
        ),
        ("billion laughs (9^7 nodes)", laughs()),
        ("10,000 documents", "a: 1\n---\n".repeat(10_000)),
        (
            "1 MiB + 1 byte of text",
            format!("{TASK}#{}", "x".repeat((1 << 20) - TASK.len())),
        ),
    ];
    println!("yaml_bounds: median of {RUNS} loads, thread CPU (wall)");
    let mut over = Vec::new();
    let mut report = |name: &str, (cpu, wall, last): (Duration, Duration, String)| {
        let verdict = if cpu < GOAL { "ok" } else { "OVER GOAL" };
        println!(
            "  {name:<36} {:>8.2} ms ({:>8.2} ms)  {verdict}\n      -> {last}",
            cpu.as_secs_f64() * 1e3,
            wall.as_secs_f64() * 1e3
        );
        if cpu >= GOAL {
            over.push(name.to_string());
        }
    };
    for (name, text) in &hostile {
        report(name, time(|| load_str("t.yaml", text)));
    }
    report("50 MB file on disk", time(|| load_file(Path::new(&big))));
    let valid = tasks(1_000);
    let (cpu, wall, last) = time(|| load_str("t.yaml", &valid));
    println!(
        "  {:<36} {:>8.2} ms ({:>8.2} ms)  for scale, no goal\n      -> {last}",
        format!("valid: 1,000 tasks ({} KB)", valid.len() / 1024),
        cpu.as_secs_f64() * 1e3,
        wall.as_secs_f64() * 1e3
    );
    if !over.is_empty() {
        println!("yaml_bounds: over the {GOAL:?} goal: {}", over.join(", "));
        std::process::exit(1);
    }
    println!("yaml_bounds: every hostile case under {GOAL:?} of CPU");
}
