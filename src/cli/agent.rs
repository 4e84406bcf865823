//! `foreman agent`: the headless cluster agent, a drop-in for upstream foreman-agent's native
//! mode (same flags, spec §6; Go-style `-flag` spellings accepted too).

use super::printer::Printer;
use crate::api::fleetnode::NodeAccelerator;
use crate::executor::run::TokenSource;
use crate::k8s::worker::endpoint::EndpointConfig;
use crate::k8s::worker::node::NodeConfig;
use crate::k8s::worker::{self, WorkerConfig, WorkerEvent};
use crate::k8s::{ClusterArgs, connect};
use crate::workspace::Identity;
use clap::Args;
use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

#[derive(Args, Debug, Clone)]
pub struct AgentArgs {
    /// Kubeconfig (else $KUBECONFIG, in-cluster, ~/.kube/config).
    #[arg(long)]
    pub kubeconfig: Option<PathBuf>,
    /// Kubeconfig context.
    #[arg(long)]
    pub kube_context: Option<String>,
    /// FleetNode name [default: the sanitized hostname].
    #[arg(long, env = "FLEET_NODE_NAME")]
    pub fleet_node_name: Option<String>,
    /// Advertised in spec.tailscaleAddr.
    #[arg(long)]
    pub tailscale_addr: Option<String>,
    /// Per-task clone root [default: ~/foreman-workspaces].
    #[arg(long)]
    pub workspace_dir: Option<PathBuf>,
    /// Comma-separated roles (spec.roles).
    #[arg(long, default_value = "worker")]
    pub roles: String,
    /// metal, cuda or none [default: detected].
    #[arg(long)]
    pub accelerator: Option<String>,
    /// Comma-separated model names.
    #[arg(long, default_value = "")]
    pub installed_models: String,
    /// Comma-separated k=v labels on the FleetNode (for nodeSelector).
    #[arg(long, default_value = "")]
    pub node_labels: String,
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    pub heartbeat_interval: Duration,
    /// Rescan period of the task watch cache (claims are driven by the watch itself).
    #[arg(long, default_value = "5s", value_parser = parse_duration)]
    pub task_poll_interval: Duration,
    /// Namespace of the tasks to run; empty = all namespaces (what upstream's chart documents).
    #[arg(long, default_value = "default")]
    pub task_namespace: String,
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub stub_sleep: Duration,
    #[arg(long, default_value_t = 0)]
    pub max_context_tokens: i64,
    #[arg(long, default_value_t = 0)]
    pub tokens_per_second: i64,
    /// RAM to advertise; 0 = read from the OS.
    #[arg(long, default_value_t = 0)]
    pub total_ram_gb: i64,
    /// native or stub.
    #[arg(long, default_value = "native")]
    pub agent_mode: String,
    /// Clone and push URL (the fork); required in native mode.
    #[arg(long, env = "FOREMAN_GIT_REMOTE_URL")]
    pub git_remote_url: Option<String>,
    /// Full inference base URL including /v1 (skips the InferenceService lookup).
    #[arg(long)]
    pub inference_base_url_override: Option<String>,
    /// Host to put in the InferenceService URL; the port is read live from its Endpoints.
    #[arg(long)]
    pub inference_base_url_host_override: Option<String>,
    #[arg(long, default_value = "Foreman Bot")]
    pub commit_author_name: String,
    /// Required in native mode: the DCO sign-off needs a real address.
    #[arg(long, env = "FOREMAN_GIT_AUTHOR_EMAIL")]
    pub commit_author_email: Option<String>,
    #[arg(long)]
    pub keep_workspace: bool,
    /// Extension: do not push after a GO commit; the console's operator approves the push.
    #[arg(long)]
    pub await_approval: bool,
    /// Print the live transcript of each run on stderr.
    #[arg(long)]
    pub follow: bool,
    /// Accepted for compatibility; unused (as upstream).
    #[arg(long, hide = true)]
    pub opencode_bin: Option<String>,
    /// Accepted for compatibility; gate Jobs are not run by this agent.
    #[arg(long, hide = true)]
    pub foreman_namespace: Option<String>,
    /// controller-runtime logging flags: accepted and ignored (use RUST_LOG).
    #[arg(long, hide = true, num_args = 0..=1, default_missing_value = "true")]
    pub zap_devel: Option<String>,
    #[arg(long, hide = true)]
    pub zap_encoder: Option<String>,
    #[arg(long, hide = true)]
    pub zap_log_level: Option<String>,
    #[arg(long, hide = true)]
    pub zap_stacktrace_level: Option<String>,
    #[arg(long, hide = true)]
    pub zap_time_encoding: Option<String>,
}

/// Connects for a daemon command (`agent`, `scheduler`); on failure says why on stderr and
/// gives exit code 1.
pub async fn connect_or_say(
    kubeconfig: Option<PathBuf>,
    context: Option<String>,
) -> Result<crate::k8s::Cluster, ExitCode> {
    connect(&ClusterArgs {
        kubeconfig,
        context,
        namespace: None,
    })
    .await
    .map_err(|e| {
        eprintln!("error: {e}");
        ExitCode::from(1)
    })
}

/// Go durations as upstream's flags take them: `30s`, `1m30s`, `500ms`, `2h`.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let bad = || format!("invalid duration {s:?}: use e.g. 30s, 1m30s, 500ms");
    let s = s.trim();
    if s == "0" {
        return Ok(Duration::ZERO);
    }
    let mut total = 0f64;
    let mut rest = s;
    if rest.is_empty() {
        return Err(bad());
    }
    while !rest.is_empty() {
        let num_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(bad)?;
        let n: f64 = rest[..num_end].parse().map_err(|_| bad())?;
        rest = &rest[num_end..];
        let unit_end = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = match &rest[..unit_end] {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return Err(bad()),
        };
        total += n * scale;
        rest = &rest[unit_end..];
    }
    Ok(Duration::from_secs_f64(total))
}

/// Upstream's DNS-1123 node name: lowercase, runs outside `[a-z0-9-]` become `-`, trimmed,
/// at most 63 characters, `fleetnode` when empty.
pub fn fleet_node_name(raw: &str) -> String {
    let mut out = String::new();
    let mut in_run = false;
    for c in raw.to_lowercase().chars() {
        if c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' {
            out.push(c);
            in_run = false;
        } else if !in_run {
            out.push('-');
            in_run = true;
        }
    }
    let mut s = out.trim_matches('-').to_string();
    s.truncate(63);
    let s = s.trim_end_matches('-').to_string();
    if s.is_empty() { "fleetnode".into() } else { s }
}

fn csv(s: &str) -> Vec<String> {
    s.split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(str::to_string)
        .collect()
}

fn clamp_i32(n: i64) -> i32 {
    n.clamp(0, i32::MAX as i64) as i32
}

/// Rewrites Go-style `-flag`/`-flag=v` spellings of `foreman agent`'s long flags to `--flag`,
/// so upstream's launchd/systemd units work unchanged.
pub fn normalize_go_flags(args: Vec<OsString>) -> Vec<OsString> {
    if args.get(1).and_then(|a| a.to_str()) != Some("agent") {
        return args;
    }
    args.into_iter()
        .map(|a| match a.to_str() {
            Some(s)
                if s.starts_with('-')
                    && !s.starts_with("--")
                    && s.len() > 2
                    && s.as_bytes()[1].is_ascii_alphabetic() =>
            {
                OsString::from(format!("-{s}"))
            }
            _ => a,
        })
        .collect()
}

/// What the flags say, or why they cannot run.
pub fn worker_config(args: &AgentArgs, hostname: &str) -> Result<WorkerConfig, String> {
    let stub = match args.agent_mode.as_str() {
        "native" => false,
        "stub" => true,
        other => {
            return Err(format!(
                "--agent-mode must be native or stub, not {other:?}"
            ));
        }
    };
    let email = args.commit_author_email.clone().unwrap_or_default();
    if !stub {
        if args
            .git_remote_url
            .as_deref()
            .is_none_or(|u| u.trim().is_empty())
        {
            return Err(
                "--git-remote-url is required in native mode (the fork to clone and push)".into(),
            );
        }
        if !email.contains('@') {
            return Err(
                "--commit-author-email is required in native mode: the DCO sign-off needs a real address"
                    .into(),
            );
        }
    }
    let accelerator = match args.accelerator.as_deref().unwrap_or("") {
        "" => None,
        "metal" => Some(NodeAccelerator::Metal),
        "cuda" => Some(NodeAccelerator::Cuda),
        "none" | "cpu" => Some(NodeAccelerator::None),
        other => {
            return Err(format!(
                "--accelerator must be metal, cuda or none, not {other:?}"
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
    let name = fleet_node_name(args.fleet_node_name.as_deref().unwrap_or(hostname));
    let node = NodeConfig {
        name,
        tailscale_addr: args.tailscale_addr.clone(),
        roles: csv(&args.roles),
        labels,
        accelerator,
        installed_models: csv(&args.installed_models),
        max_context_tokens: clamp_i32(args.max_context_tokens),
        tokens_per_second: clamp_i32(args.tokens_per_second),
        total_ram_gb: clamp_i32(args.total_ram_gb),
    };
    let root = args
        .workspace_dir
        .clone()
        .unwrap_or_else(super::run::default_workspace_root);
    let mut cfg = WorkerConfig::new(
        node,
        Identity {
            name: args.commit_author_name.clone(),
            email,
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
    cfg.stub_sleep = stub.then_some(args.stub_sleep);
    if let Some(d) = crate::config::project_dirs() {
        cfg.journal_dir = d.data_dir().join("transcripts");
    }
    Ok(cfg)
}

pub async fn agent(args: AgentArgs) -> ExitCode {
    let host = crate::fleet::host::hostname();
    let cfg = match worker_config(&args, &host) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(super::run::EXIT_INPUT);
        }
    };
    let cluster = match connect_or_say(args.kubeconfig.clone(), args.kube_context.clone()).await {
        Ok(c) => c,
        Err(code) => return code,
    };
    eprintln!(
        "foreman agent: node {} · tasks in {} · cluster {}",
        cfg.node.name,
        cfg.task_namespace.as_deref().unwrap_or("all namespaces"),
        cluster.source
    );
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let handle = worker::spawn(cluster, cfg, tx);
    let stop = handle.stop_signal();
    tokio::spawn(async move {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => return,
            };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
        let _ = stop.send(true);
    });
    let follow = args.follow;
    let printer = tokio::spawn(async move {
        let mut p = Printer::new();
        while let Some(ev) = rx.recv().await {
            report(&mut p, ev, follow);
        }
    });
    let res = handle.join().await;
    let _ = printer.await;
    match res {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}

fn report(p: &mut Printer, ev: WorkerEvent, follow: bool) {
    let ts = jiff::Timestamp::now().strftime("%H:%M:%S");
    match ev {
        WorkerEvent::Registered(n) => eprintln!(
            "{ts} registered FleetNode {}",
            n.metadata.name.unwrap_or_default()
        ),
        WorkerEvent::Recovered(keys) => {
            for k in keys {
                eprintln!("{ts} re-queued orphaned task {k} (AgentRestartRecovery)");
            }
        }
        WorkerEvent::Claimed(k) => eprintln!("{ts} claimed {k}"),
        WorkerEvent::Run { event, .. } if follow => p.handle(&event),
        WorkerEvent::Run {
            task,
            event: crate::executor::ExecEvent::Status(s),
        } => eprintln!("{ts} {task}: {s}"),
        WorkerEvent::Run { .. } => {}
        WorkerEvent::Finished { task, outcome } => match outcome {
            Ok(v) => eprintln!("{ts} finished {task}: {v}"),
            Err(e) => eprintln!("{ts} finished {task} but its status was not written: {e}"),
        },
        WorkerEvent::Notice(m) => eprintln!("{ts} {m}"),
        WorkerEvent::Error(m) => eprintln!("{ts} error: {m}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct T {
        #[command(flatten)]
        a: AgentArgs,
    }

    #[test]
    fn go_durations_parse() {
        assert_eq!(parse_duration("30s").unwrap(), Duration::from_secs(30));
        assert_eq!(parse_duration("1m30s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert!(parse_duration("30").is_err());
        assert!(parse_duration("5x").is_err());
    }

    #[test]
    fn node_names_follow_upstream_sanitizing() {
        assert_eq!(fleet_node_name("Mac Studio.local"), "mac-studio-local");
        assert_eq!(fleet_node_name("__"), "fleetnode");
        assert_eq!(fleet_node_name(&"a".repeat(80)).len(), 63);
    }

    #[test]
    fn go_style_flags_and_native_requirements() {
        let argv: Vec<OsString> = [
            "foreman",
            "agent",
            "-fleet-node-name=M1",
            "-task-namespace",
            "",
        ]
        .iter()
        .map(OsString::from)
        .collect();
        let norm = normalize_go_flags(argv);
        assert_eq!(norm[2], "--fleet-node-name=M1");
        let t = T::parse_from(norm.iter().skip(1));
        assert!(
            worker_config(&t.a, "h")
                .unwrap_err()
                .contains("--git-remote-url")
        );
        let t = T::parse_from([
            "x",
            "--agent-mode",
            "stub",
            "--task-namespace",
            "",
            "--node-labels",
            "pool=a",
            "--fleet-node-name",
            "M1",
        ]);
        let c = worker_config(&t.a, "h").unwrap();
        assert_eq!(c.node.name, "m1");
        assert_eq!(c.task_namespace, None);
        assert_eq!(c.node.labels["pool"], "a");
        assert_eq!(c.stub_sleep, Some(Duration::from_secs(10)));
        let t = T::parse_from(["x", "--agent-mode", "job"]);
        assert!(worker_config(&t.a, "h").is_err());
    }
}
