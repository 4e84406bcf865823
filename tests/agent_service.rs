//! `foreman agent install-service` for real under a systemd user manager (Linux): the
//! generated unit is written, enabled and started, systemd runs the real binary with the
//! agent's flags, and uninstall stops and removes it. Where no systemd user manager answers
//! (containers, CI without a login session) the test says SKIP and returns: it checks
//! nothing there. The launchd side is only generated and snapshot-tested here
//! (src/k8s/worker/service.rs); `scripts/mac-check` installs it on a Mac.
//!
//! With `FOREMAN_E2E_KUBECONFIG` the unit's agent connects to that apiserver and must stay
//! active; without it, it must at least have been started by systemd (and fail to connect).

use foreman::cli::service::{Manager, file_of, install, uninstall};
use foreman::k8s::worker::service::{ServiceSpec, systemd_unit};
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

fn systemctl(args: &[&str]) -> (bool, String) {
    match Command::new("systemctl").arg("--user").args(args).output() {
        Ok(o) => (
            o.status.success(),
            String::from_utf8_lossy(&o.stdout).trim().to_string(),
        ),
        Err(e) => (false, e.to_string()),
    }
}

/// Whether a systemd user manager answers (`running`, `degraded`, `starting`…, not
/// `offline` or an error).
fn user_manager() -> Result<(), String> {
    if !cfg!(target_os = "linux") {
        return Err("not Linux".into());
    }
    let (_, state) = systemctl(&["is-system-running"]);
    match state.as_str() {
        "running" | "degraded" | "starting" | "initializing" => Ok(()),
        other => Err(format!("systemctl --user is-system-running says {other:?}")),
    }
}

#[test]
fn the_systemd_user_unit_starts_and_stops_for_real() {
    if let Err(why) = user_manager() {
        eprintln!("SKIP: no systemd user manager ({why}); the unit was not started");
        return;
    }
    let home = PathBuf::from(std::env::var("HOME").unwrap());
    let name = format!("foreman-agent-test-{}.service", std::process::id());
    let manager = Manager::Systemd {
        dir: home.join(".config/systemd/user"),
    };
    let kubeconfig = std::env::var("FOREMAN_E2E_KUBECONFIG").ok();
    let kc = kubeconfig
        .clone()
        .unwrap_or_else(|| "/nonexistent/kubeconfig".into());
    let spec = ServiceSpec {
        name: name.clone(),
        program: env!("CARGO_BIN_EXE_foreman").into(),
        args: [
            "agent",
            "--agent-mode",
            "stub",
            "--fleet-node-name",
            "systemd-e2e",
            "--task-namespace",
            "systemd-e2e",
            "--kubeconfig",
            &kc,
        ]
        .map(String::from)
        .into(),
        env: vec![("RUST_LOG".into(), "info".into())],
        working_dir: home.clone(),
        log_file: home.join("unused.log"),
    };
    let file = install(&manager, &name, &systemd_unit(&spec)).unwrap();
    assert_eq!(file, file_of(&manager, &name));
    assert_eq!(systemctl(&["is-enabled", &name]).1, "enabled");

    // systemd started the real binary: a main process start time is recorded.
    let deadline = Instant::now() + Duration::from_secs(15);
    let started = loop {
        let (_, t) = systemctl(&["show", &name, "-p", "ExecMainStartTimestampMonotonic"]);
        let started = t.trim_start_matches("ExecMainStartTimestampMonotonic=") != "0";
        if started || Instant::now() > deadline {
            break started;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let active_later = kubeconfig.is_some().then(|| {
        std::thread::sleep(Duration::from_secs(3));
        systemctl(&["is-active", &name]).1
    });

    let removed = uninstall(&manager, &name).unwrap();
    assert_eq!(removed.as_deref(), Some(file.as_path()));
    assert!(!file.exists());
    assert!(!systemctl(&["is-enabled", &name]).0);
    assert!(started, "systemd never started {name}");
    if let Some(state) = active_later {
        assert_eq!(state, "active", "the agent did not stay up against {kc}");
    }
}
