//! Sandbox overhead per `bash` call: the median wall time of `true` through the tool with the
//! sandbox on minus the same with the sandbox off, over CALLS interleaved pairs (so a load
//! spike hits both sides), per network mode. Goal ≤ 5 ms with the default network none;
//! exits 1 above it. First a breakdown of where a whole bwrap per call spends its time (why
//! the tool runs its commands through one long-lived supervisor per sandbox instead), then
//! the load average, since the figures are only meaningful on a quiet machine.
//!
//! `cargo bench --bench sandbox` (FOREMAN_BENCH_CALLS overrides the number of pairs).

use foreman::sandbox::{Invocation, Mode, Network, Policy, Sandbox, Settings};
use foreman::tools::{Registry, ToolOptions};
use serde_json::json;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

const CALLS: usize = 200;
const BREAKDOWN_CALLS: usize = 40;
const GOAL_MS: f64 = 5.0;

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

/// Of a sorted slice.
fn pct(v: &[f64], p: f64) -> f64 {
    v[((v.len() - 1) as f64 * p) as usize]
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

fn registry(dir: &Path, mode: Mode, network: Network) -> Registry {
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

/// Median and p90 (ms) of `n` runs of `f`.
fn stats(n: usize, mut f: impl FnMut() -> f64) -> (f64, f64) {
    let mut v: Vec<f64> = (0..n).map(|_| f()).collect();
    let m = median(&mut v);
    (m, pct(&v, 0.9))
}

fn time_cmd(mut cmd: Command) -> f64 {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let t = Instant::now();
    let s = cmd.status().expect("spawn");
    assert!(s.success(), "{cmd:?}: {s}");
    t.elapsed().as_secs_f64() * 1000.0
}

fn bwrap(flags: &[&str]) -> Command {
    let mut c = Command::new("bwrap");
    c.args(flags)
        .args(["--ro-bind", "/", "/", "sh", "-c", "true"]);
    c
}

/// Where a whole bwrap per command spends its time, cumulatively: each row adds one layer.
fn breakdown(dir: &Path) {
    println!("breakdown of one bwrap per command (median / p90 ms, {BREAKDOWN_CALLS} runs each):");
    let row = |what: &str, (m, p): (f64, f64), base: f64| {
        println!("  {what:<58} {m:6.2} / {p:6.2}   +{:5.2}", m - base);
    };
    let (base, p) = stats(BREAKDOWN_CALLS, || {
        let mut c = Command::new("sh");
        c.args(["-c", "true"]);
        time_cmd(c)
    });
    row("sh -c true, unsandboxed", (base, p), base);
    row(
        "bwrap exec + mount namespace (--ro-bind / /)",
        stats(BREAKDOWN_CALLS, || time_cmd(bwrap(&[]))),
        base,
    );
    row(
        "+ user and PID namespaces",
        stats(BREAKDOWN_CALLS, || {
            time_cmd(bwrap(&["--unshare-user", "--unshare-pid"]))
        }),
        base,
    );
    let ns = [
        "--unshare-user",
        "--unshare-pid",
        "--unshare-ipc",
        "--unshare-uts",
        "--unshare-cgroup-try",
        "--unshare-net",
        "--die-with-parent",
        "--new-session",
    ];
    row(
        "+ IPC, UTS, cgroup and network namespaces",
        stats(BREAKDOWN_CALLS, || time_cmd(bwrap(&ns))),
        base,
    );
    let sb = Sandbox::new(Policy::new(dir));
    let args = [OsStr::new("-c"), OsStr::new("true")];
    let inv = Invocation {
        program: OsStr::new("sh"),
        args: &args,
        cwd: dir,
        env: &[("PATH".into(), "/usr/bin:/bin".into())],
        read_only: &[],
    };
    let probe = sb.command(&inv).expect("sandbox");
    let mounts = probe
        .get_args()
        .map(|a| a.to_string_lossy().into_owned())
        .filter(|a| {
            a.starts_with("--ro-bind")
                || ["--bind", "--symlink", "--proc", "--dev"].contains(&a.as_str())
        })
        .count();
    row(
        &format!("+ the policy's {mounts} mounts and the seccomp filter (per call)"),
        stats(BREAKDOWN_CALLS, || {
            time_cmd(sb.command(&inv).expect("sandbox"))
        }),
        base,
    );
    println!("  (the seccomp filter is compiled once per process, not per call)");
}

async fn compare(dir: &Path, calls: usize, label: &str, networks: &[Network]) -> f64 {
    let off = registry(dir, Mode::Off, Network::None);
    let mut worst = 0.0f64;
    for &network in networks {
        let on = registry(dir, Mode::On, network);
        // Warm up: the backend probe, the private dir, the supervisor, the page cache.
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
            "{label:<11} network {:<8}  sandboxed median {ma:6.2} ms (p90 {:6.2})  unsandboxed median {mb:6.2} ms (p90 {:6.2})  overhead {overhead:5.2} ms",
            network.as_str(),
            pct(&a, 0.9),
            pct(&b, 0.9),
        );
        if network == Network::None {
            worst = worst.max(overhead);
        }
    }
    worst
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
        breakdown(dir.path());
        // The fallback first: once a supervisor is named it is used for the rest of the process.
        compare(dir.path(), calls / 4, "per-call", &[Network::None]).await;
        foreman::sandbox::use_supervisor(PathBuf::from(env!("CARGO_BIN_EXE_foreman")));
        let worst = compare(
            dir.path(),
            calls,
            "supervised",
            &[Network::None, Network::Loopback, Network::Full],
        )
        .await;
        println!("load average after: {}", loadavg());
        worst
    });
    println!("goal: supervised overhead with the default network none <= {GOAL_MS} ms");
    if over > GOAL_MS {
        println!("FAIL: {over:.2} ms is over the goal");
        std::process::exit(1);
    }
    println!("ok: {over:.2} ms");
}
