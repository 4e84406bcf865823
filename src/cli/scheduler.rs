//! `foreman scheduler`: places Pending AgenticTasks on FleetNodes and marks silent nodes
//! NotReady, for clusters without LLMKube's operator (see `cluster::scheduler` for the rules
//! and for how to run it next to the operator). Stops cleanly on Ctrl-C or SIGTERM.

use crate::k8s::scheduler::{self, LabelSelector, SchedulerConfig, Scope};
use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

#[derive(Args, Debug, Clone)]
pub struct SchedulerArgs {
    /// Kubeconfig file [default: $KUBECONFIG, in-cluster service account, ~/.kube/config].
    #[arg(long)]
    pub kubeconfig: Option<PathBuf>,
    /// Context in the kubeconfig [default: its current context].
    #[arg(long = "kube-context")]
    pub kube_context: Option<String>,
    /// Namespace of the AgenticTasks (and their Agents) to schedule; empty = all namespaces.
    #[arg(
        long = "task-namespace",
        visible_alias = "namespace",
        default_value = ""
    )]
    pub task_namespace: String,
    /// Only place tasks on, and only mark stale, FleetNodes with these labels (k=v,k!=v,k,!k).
    #[arg(long, default_value = "", value_parser = parse_selector)]
    pub node_selector: LabelSelector,
    /// Only act on AgenticTasks with these labels (dependencies still resolve against all).
    #[arg(long, default_value = "", value_parser = parse_selector)]
    pub task_selector: LabelSelector,
    /// Never mark FleetNodes NotReady (leave heartbeat staleness to someone else).
    #[arg(long)]
    pub no_stale_marking: bool,
    /// Pass at least this often without events (heartbeat staleness, re-checks): 10s, 500ms, 1m.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub resync: Duration,
    /// Schedule what can be scheduled now, then exit (for scripts).
    #[arg(long)]
    pub once: bool,
}

fn parse_selector(s: &str) -> Result<LabelSelector, String> {
    s.parse()
        .map_err(|e: scheduler::SelectorError| e.to_string())
}

/// `10`, `10s`, `500ms`, `2m` (a bare number is seconds).
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: u64 = num
        .parse()
        .map_err(|_| format!("invalid duration {s:?} (use e.g. 10s, 500ms, 1m)"))?;
    let d = match unit {
        "" | "s" => Duration::from_secs(n),
        "ms" => Duration::from_millis(n),
        "m" => Duration::from_secs(n.saturating_mul(60)),
        _ => return Err(format!("invalid duration {s:?} (use e.g. 10s, 500ms, 1m)")),
    };
    if d < Duration::from_millis(100) {
        return Err(format!("duration {s:?} is too short (minimum 100ms)"));
    }
    Ok(d)
}

impl SchedulerArgs {
    pub fn config(&self) -> SchedulerConfig {
        SchedulerConfig {
            task_namespace: Some(self.task_namespace.clone()).filter(|n| !n.is_empty()),
            scope: Scope {
                node_selector: self.node_selector.clone(),
                task_selector: self.task_selector.clone(),
                mark_stale: !self.no_stale_marking,
            },
            resync: self.resync,
            ..Default::default()
        }
    }
}

pub async fn scheduler(args: SchedulerArgs) -> ExitCode {
    let cluster = match super::agent::connect_or_say(
        args.kubeconfig.clone(),
        args.kube_context.clone(),
    )
    .await
    {
        Ok(c) => c,
        Err(code) => return code,
    };
    let cfg = args.config();
    let fail = |e: scheduler::SchedulerError| {
        eprintln!("error: {e}\n  cluster config: {}", cluster.source);
        ExitCode::from(1)
    };
    if args.once {
        return match scheduler::run_once(&cluster.client, &cfg).await {
            Ok(r) => {
                eprintln!(
                    "scheduled {}, failed {}, marked {} FleetNode(s) NotReady; {} write(s), {} lost race(s), {} error(s)",
                    r.scheduled, r.failed_tasks, r.stale_nodes, r.applied, r.conflicts, r.errors
                );
                if r.errors == 0 {
                    ExitCode::SUCCESS
                } else {
                    ExitCode::from(1)
                }
            }
            Err(e) => fail(e),
        };
    }
    match scheduler::run(cluster.client.clone(), cfg, shutdown_signal()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(e),
    }
}

/// Ctrl-C or SIGTERM (what `kubectl delete pod` and systemd send).
async fn shutdown_signal() {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = term => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("10").unwrap(), Duration::from_secs(10));
        assert_eq!(parse_duration("10s").unwrap(), Duration::from_secs(10));
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
        for bad in ["", "s", "10h", "-1s", "5ms", "1.5s"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }
}
