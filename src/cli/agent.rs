//! `foreman agent` (upstream's name): runs this machine's node daemon, the worker
//! (`k8s::worker`), headless: it registers the FleetNode, heartbeats, claims the tasks
//! scheduled to it and runs them. A drop-in for upstream foreman-agent's native mode (same
//! flags, spec §6; Go-style `-flag` spellings accepted too). "Agent" here is only the
//! subcommand's name: not the LLM loop (`crate::agent`) nor the Agent CRD.

use super::AgentArgs;
use super::common::{
    Exit, bad_input, connect_or_say, default_workspace_root, failed, shutdown_signal,
};
use super::printer::Printer;
use crate::api::fleetnode::NodeAccelerator;
use crate::executor::run::TokenSource;
use crate::k8s::worker::endpoint::EndpointConfig;
use crate::k8s::worker::node::NodeConfig;
use crate::k8s::worker::{self, WorkerConfig, WorkerEvent};
use crate::workspace::Identity;
use std::time::Duration;

/// A comma-separated flag's items, blanks dropped.
fn csv(s: &str) -> Vec<String> {
    s.split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(str::to_string)
        .collect()
}

/// A capacity flag as the FleetNode's int32 field takes it (negative = 0).
fn clamp_i32(n: i64) -> i32 {
    n.clamp(0, i32::MAX as i64) as i32
}

/// The worker daemon's settings from the flags, or why they cannot run.
fn worker_config(args: &AgentArgs, hostname: &str) -> Result<WorkerConfig, String> {
    let stub = stub_mode(args)?;
    let node = node_config(args, hostname)?;
    let root = args
        .workspace_dir
        .clone()
        .unwrap_or_else(default_workspace_root);
    let mut cfg = WorkerConfig::new(
        node,
        Identity {
            name: args.commit_author_name.clone(),
            email: args.commit_author_email.clone().unwrap_or_default(),
        },
        root,
    );
    cfg.task_namespace = (!args.task_namespace.is_empty()).then(|| args.task_namespace.clone());
    cfg.heartbeat_every = args.heartbeat_interval.max(Duration::from_secs(1));
    cfg.rescan_every = args.task_poll_interval.max(Duration::from_millis(100));
    cfg.endpoint = EndpointConfig {
        base_url_override: args.inference_base_url_override.clone(),
        host_override: args.inference_base_url_host_override.clone(),
        fallback_base_url: None,
    };
    cfg.git_remote_url = args.git_remote_url.clone();
    cfg.keep_workspace = args.keep_workspace;
    cfg.push_now = !args.await_approval;
    cfg.token = TokenSource::Lookup;
    let settings = super::common::run_settings(args.no_sandbox);
    cfg.sandbox = settings.sandbox;
    cfg.agent_defaults = settings.agent_defaults;
    cfg.github_api_base = Some(settings.github_api_base);
    cfg.stub_sleep = stub.then_some(args.stub_sleep);
    if let Some(d) = crate::config::project_dirs() {
        cfg.journal_dir = d.data_dir().join("transcripts");
    }
    Ok(cfg)
}

/// The flags' errors as `foreman agent` would report them at start (for install-service).
/// Ok carries what the agent would warn about at start (it starts anyway, like upstream).
pub(super) fn check_flags(args: &AgentArgs) -> Result<Vec<String>, String> {
    worker_config(args, "host").map(|_| startup_warnings(args))
}

/// `--agent-mode`: whether runs are stubbed.
fn stub_mode(args: &AgentArgs) -> Result<bool, String> {
    match args.agent_mode.as_str() {
        "native" => Ok(false),
        "stub" => Ok(true),
        other => Err(format!(
            "--agent-mode must be native or stub, not {other:?}"
        )),
    }
}

/// What the agent says at start about flags it runs without, like upstream (P550 relaxed
/// these from refusals to warnings: its chart leaves both empty, and a gate-only node needs
/// neither). The tasks that need them then fail with their own reason.
fn startup_warnings(args: &AgentArgs) -> Vec<String> {
    let mut out = Vec::new();
    if args.agent_mode != "native" {
        return out;
    }
    let blank = |v: &Option<String>| v.as_deref().is_none_or(|s| s.trim().is_empty());
    if blank(&args.git_remote_url) {
        out.push(
            "--git-remote-url is unset: tasks that clone fail with GitRemoteNotConfigured".into(),
        );
    }
    if blank(&args.commit_author_email) {
        out.push("--commit-author-email is unset: tasks that commit will fail (the DCO sign-off needs an address)".into());
    }
    let differs = |committer: &Option<String>, author: &str| {
        committer
            .as_deref()
            .is_some_and(|c| !c.is_empty() && c != author)
    };
    let email = args.commit_author_email.clone().unwrap_or_default();
    if differs(&args.commit_committer_name, &args.commit_author_name)
        || differs(&args.commit_committer_email, &email)
    {
        out.push("--commit-committer-name/-email differ from the author: not supported here, commits use the author as committer".into());
    }
    out
}

/// The FleetNode this machine advertises.
fn node_config(args: &AgentArgs, hostname: &str) -> Result<NodeConfig, String> {
    let accelerator = match args.accelerator.as_deref().unwrap_or("") {
        "" => None,
        "metal" => Some(NodeAccelerator::Metal),
        "cuda" => Some(NodeAccelerator::Cuda),
        "vulkan" => Some(NodeAccelerator::Vulkan),
        "none" | "cpu" => Some(NodeAccelerator::None),
        other => {
            return Err(format!(
                "--accelerator must be metal, cuda, vulkan or none, not {other:?}"
            ));
        }
    };
    let mut labels = std::collections::BTreeMap::new();
    for kv in csv(&args.node_labels) {
        let (k, v) = kv
            .split_once('=')
            .ok_or_else(|| format!("--node-labels: {kv:?} is not key=value"))?;
        labels.insert(k.trim().to_string(), v.trim().to_string());
    }
    Ok(NodeConfig {
        name: crate::fleet::host::node_name(
            args.fleet_node_name
                .as_deref()
                .filter(|n| !n.trim().is_empty())
                .unwrap_or(hostname),
        ),
        tailscale_addr: args.tailscale_addr.clone(),
        roles: csv(&args.roles),
        labels,
        accelerator,
        installed_models: csv(&args.installed_models),
        max_context_tokens: clamp_i32(args.max_context_tokens),
        tokens_per_second: clamp_i32(args.tokens_per_second),
        total_ram_gb: clamp_i32(args.total_ram_gb),
    })
}

/// Runs the worker daemon until Ctrl-C or SIGTERM, its events on stderr.
pub async fn run_worker(args: AgentArgs) -> Exit {
    let host = crate::fleet::host::hostname();
    let cfg = match worker_config(&args, &host) {
        Ok(c) => c,
        Err(e) => return bad_input(e),
    };
    for w in startup_warnings(&args) {
        errln!("warning: {w}");
    }
    let cluster = match connect_or_say(args.kubeconfig.clone(), args.kube_context.clone()).await {
        Ok(c) => c,
        Err(code) => return code,
    };
    errln!(
        "foreman agent: node {} · tasks in {} · cluster {}",
        cfg.node.name,
        cfg.task_namespace.as_deref().unwrap_or("all namespaces"),
        cluster.source
    );
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let handle = worker::spawn(cluster, cfg, tx);
    let stop = handle.stop_signal();
    tokio::spawn(async move {
        shutdown_signal().await;
        let _ = stop.send(true);
    });
    let follow = args.follow;
    let printer = tokio::spawn(async move {
        let mut p = Printer::new();
        while let Some(ev) = rx.recv().await {
            print_worker_event(&mut p, ev, follow);
        }
    });
    let res = handle.join().await;
    let _ = printer.await;
    match res {
        Ok(()) => Exit::Ok,
        Err(e) => failed(e),
    }
}

/// One line per worker event; with `--follow` each run's live transcript instead of its
/// status lines.
fn print_worker_event(p: &mut Printer, ev: WorkerEvent, follow: bool) {
    let ts = jiff::Timestamp::now().strftime("%H:%M:%S");
    match ev {
        WorkerEvent::Registered(n) => errln!(
            "{ts} registered FleetNode {}",
            n.metadata.name.unwrap_or_default()
        ),
        WorkerEvent::Recovered(keys) => {
            for k in keys {
                errln!("{ts} re-queued orphaned task {k} (AgentRestartRecovery)");
            }
        }
        WorkerEvent::Claimed(k) => errln!("{ts} claimed {k}"),
        WorkerEvent::Run { event, .. } if follow => p.handle(&event),
        WorkerEvent::Run {
            task,
            event: crate::executor::ExecEvent::Status(s),
        } => errln!("{ts} {task}: {s}"),
        WorkerEvent::Run { .. } => {}
        WorkerEvent::Finished { task, outcome } => match outcome {
            Ok(v) => errln!("{ts} finished {task}: {v}"),
            Err(e) => errln!("{ts} finished {task} but its status was not written: {e}"),
        },
        WorkerEvent::Notice(m) => errln!("{ts} {m}"),
        WorkerEvent::Error(m) => errln!("{ts} error: {m}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::AgentOnly;
    use clap::Parser;

    fn args(v: &[&str]) -> AgentArgs {
        AgentOnly::parse_from(std::iter::once("agent").chain(v.iter().copied())).args
    }

    #[test]
    fn native_mode_starts_without_remote_or_author_and_says_so() {
        let a = args(&["--fleet-node-name", "M1", "--task-namespace", ""]);
        let c = worker_config(&a, "h").unwrap();
        assert_eq!(c.git_remote_url, None);
        let w = startup_warnings(&a);
        assert!(
            w.iter()
                .any(|m| m.contains("--git-remote-url") && m.contains("GitRemoteNotConfigured")),
            "{w:?}"
        );
        assert!(
            w.iter().any(|m| m.contains("--commit-author-email")),
            "{w:?}"
        );
        let full = args(&[
            "--git-remote-url",
            "https://example.com/fork.git",
            "--commit-author-email",
            "bot@example.com",
        ]);
        assert!(startup_warnings(&full).is_empty());
        let committer = args(&[
            "--commit-author-email",
            "a@x",
            "--commit-committer-email",
            "b@x",
        ]);
        assert!(
            startup_warnings(&committer)
                .iter()
                .any(|m| m.contains("committer"))
        );
        assert!(startup_warnings(&args(&["--agent-mode", "stub"])).is_empty());
    }

    #[test]
    fn flags_become_the_worker_config() {
        let t = args(&[
            "--agent-mode",
            "stub",
            "--task-namespace",
            "",
            "--node-labels",
            "pool=a",
            "--fleet-node-name",
            "M1",
        ]);
        let c = worker_config(&t, "h").unwrap();
        assert_eq!(c.node.name, "m1");
        assert_eq!(c.task_namespace, None);
        assert_eq!(c.node.labels["pool"], "a");
        assert_eq!(c.stub_sleep, Some(Duration::from_secs(10)));
        assert!(worker_config(&args(&["--agent-mode", "job"]), "h").is_err());
    }
}
