//! Nothing the model started outlives its call: not when the call returns, not after a
//! timeout, not when the process running it gets SIGTERM, SIGINT (handled by dropping the
//! call, as `foreman run` does) or SIGKILL. The killed parent is this test binary re-run as a
//! small helper process (`parent_helper`), so the real test process survives to look.

mod common;

use foreman::tools::{Registry, ToolOptions};
use serde_json::json;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const HELPER_ENV: &str = "FOREMAN_SANDBOX_LIFETIME_HELPER";

fn gone_within(marker: &str, limit: Duration) -> bool {
    let until = Instant::now() + limit;
    while common::running(marker) > 0 {
        if Instant::now() > until {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    true
}

/// A unique `sleep` argument per test (sleep accepts fractional seconds).
fn marker(n: u32) -> String {
    format!("1000.{}{n:02}", std::process::id())
}

/// Both a plain background child and one that left the process group with setsid.
fn leaky(marker: &str) -> String {
    format!("sleep {marker} & setsid sleep {marker} & echo started > started; wait")
}

fn registry(dir: &Path, timeout: Duration) -> Registry {
    common::supervised();
    let opts = ToolOptions {
        bash_timeout: timeout,
        ..ToolOptions::default()
    };
    Registry::new(dir, &[], opts).unwrap()
}

#[tokio::test]
async fn children_are_gone_when_the_call_returns_or_times_out() {
    let dir = tempfile::tempdir().unwrap();
    let m = marker(1);
    let r = registry(dir.path(), Duration::from_secs(20));
    let cmd = format!("sleep {m} & setsid sleep {m} & sleep 0.3; echo back");
    let out = r
        .dispatch("bash", &json!({"command": cmd}))
        .await
        .unwrap()
        .output;
    assert_eq!(out["stdout"], "back\n");
    assert!(
        gone_within(&m, Duration::from_secs(3)),
        "survived the return"
    );

    let m = marker(2);
    let r = registry(dir.path(), Duration::from_millis(800));
    let out = r
        .dispatch("bash", &json!({"command": leaky(&m)}))
        .await
        .unwrap()
        .output;
    assert_eq!(out["timed_out"], true);
    assert!(
        gone_within(&m, Duration::from_secs(3)),
        "survived the timeout"
    );
}

/// Runs only as the helper: one leaky bash call, SIGINT handled by dropping it.
#[test]
fn parent_helper() {
    let Ok(dir) = std::env::var(HELPER_ENV) else {
        return;
    };
    let m = std::env::var("FOREMAN_SANDBOX_LIFETIME_MARKER").unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let r = registry(Path::new(&dir), Duration::from_secs(600));
        let args = json!({"command": leaky(&m)});
        let call = r.dispatch("bash", &args);
        tokio::select! {
            _ = call => {}
            _ = tokio::signal::ctrl_c() => {}
        }
    });
    std::process::exit(0);
}

fn signalled_parent(n: u32, signal: i32) {
    let dir = tempfile::tempdir().unwrap();
    let m = marker(n);
    let mut parent = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "parent_helper",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(HELPER_ENV, dir.path())
        .env("FOREMAN_SANDBOX_LIFETIME_MARKER", &m)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = dir.path().join("started");
    let until = Instant::now() + Duration::from_secs(30);
    while !started.exists() && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(started.exists(), "the helper's command never started");
    assert!(
        common::running(&m) >= 2,
        "both sleeps run before the signal"
    );
    let pid = libc::pid_t::try_from(parent.id()).unwrap();
    assert!(common::signal(pid, signal), "kill({pid}, {signal})");
    let _ = parent.wait();
    assert!(
        gone_within(&m, Duration::from_secs(3)),
        "{} sleep(s) outlived a parent killed by signal {signal}",
        common::running(&m)
    );
}

#[test]
fn children_die_with_a_parent_killed_by_sigterm() {
    signalled_parent(3, libc::SIGTERM);
}

#[test]
fn children_die_with_a_parent_that_handles_sigint_by_dropping_the_call() {
    signalled_parent(4, libc::SIGINT);
}

#[test]
fn children_die_with_a_sigkilled_parent() {
    signalled_parent(5, libc::SIGKILL);
}
