//! The sandbox's supervisor (one bwrap per sandbox, the foreman binary as its PID 1): a
//! command run through it sees exactly what a command in its own bwrap sees, nothing it
//! started is left when the call returns (no waiting), the model cannot kill or trace the
//! supervisor, and a killed supervisor is replaced.

mod common;

use foreman::sandbox::{Mode, Network, Settings};
use foreman::tools::{Registry, ToolOptions};
use serde_json::{Value, json};
use std::path::Path;
use std::time::{Duration, Instant};

fn registry(dir: &Path, timeout: Duration) -> Registry {
    let opts = ToolOptions {
        bash_timeout: timeout,
        ..ToolOptions::default()
    };
    let settings = Settings {
        mode: Mode::On,
        network: Some(Network::None),
        ..Settings::default()
    };
    Registry::sandboxed(dir, &["bash".into()], opts, &settings, None).unwrap()
}

async fn bash(r: &Registry, command: &str) -> Value {
    r.dispatch("bash", &json!({ "command": command }))
        .await
        .unwrap()
        .output
}

#[tokio::test]
async fn a_supervised_call_runs_like_one_in_its_own_bwrap() {
    common::supervised();
    let dir = tempfile::tempdir().unwrap();
    let r = registry(dir.path(), Duration::from_secs(20));
    let out = bash(&r, "echo out; echo err >&2; exit 3").await;
    assert_eq!(out["exit_code"], 3, "{out}");
    assert_eq!(out["stdout"], "out\n");
    assert_eq!(out["stderr"], "err\n");
    let out = bash(&r, "kill -9 $$").await;
    assert_eq!(out["exit_code"], 137, "{out}");
    // Its own PID namespace, with the supervisor as PID 1.
    let out = bash(&r, "cat /proc/1/cmdline | tr '\\0' ' '").await;
    assert_eq!(
        out["stdout"], "/run/foreman/supervisor --foreman-sandbox-supervisor ",
        "{out}"
    );
    let out = bash(&r, "read x; echo \"[$x]\"").await;
    assert_eq!(out["stdout"], "[]\n", "stdin is /dev/null");
    // The shell's own glob: no other process of the call exists while it runs.
    let out = bash(&r, "set -- /proc/[0-9]*; echo $#").await;
    assert_eq!(out["stdout"], "2\n", "the supervisor and sh: {out}");
}

#[tokio::test]
async fn nothing_a_call_started_is_left_when_it_returns() {
    common::supervised();
    let dir = tempfile::tempdir().unwrap();
    let r = registry(dir.path(), Duration::from_millis(1500));
    let m = format!("1000.{}77", std::process::id());
    // Detached from the pipes and the process group: only the supervisor's kill finds it.
    let out = bash(&r, &format!("setsid sleep {m} >/dev/null 2>&1 & echo up")).await;
    assert_eq!(out["stdout"], "up\n", "{out}");
    assert_eq!(common::running(&m), 0, "a sleep {m} outlived the call");
    let out = bash(&r, &format!("setsid sleep {m} >/dev/null 2>&1 & sleep 60")).await;
    assert_eq!(out["timed_out"], true, "{out}");
    assert_eq!(common::running(&m), 0, "a sleep {m} outlived the timeout");
    let out = bash(&r, "set -- /proc/[0-9]*; echo $#").await;
    assert_eq!(
        out["stdout"], "2\n",
        "only the supervisor and this call's sh: {out}"
    );
}

#[tokio::test]
async fn the_model_cannot_kill_or_trace_the_supervisor() {
    common::supervised();
    let dir = tempfile::tempdir().unwrap();
    let r = registry(dir.path(), Duration::from_secs(20));
    // Init ignores signals from inside; kill(-1) spares init and the caller.
    let out = bash(&r, "kill -9 1; kill -9 -1; echo survived").await;
    assert_eq!(out["stdout"], "survived\n", "{out}");
    let out = bash(
        &r,
        "echo still here; cat /proc/1/environ; head -c1 /proc/1/mem",
    )
    .await;
    assert_eq!(out["stdout"], "still here\n", "{out}");
    assert_ne!(out["exit_code"], 0, "{out}");
}

#[tokio::test]
async fn the_supervisor_is_started_once_and_calls_are_fast() {
    common::supervised();
    let dir = tempfile::tempdir().unwrap();
    let r = registry(dir.path(), Duration::from_secs(20));
    bash(&r, "true").await;
    let t = Instant::now();
    for i in 0..20 {
        let out = bash(&r, &format!("echo {i} > n; cat n")).await;
        assert_eq!(out["stdout"], format!("{i}\n"));
    }
    let per = t.elapsed() / 20;
    assert!(per < Duration::from_millis(250), "{per:?} per call");
}
