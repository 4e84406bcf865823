//! `foreman scheduler`: places Pending AgenticTasks on FleetNodes and marks silent nodes
//! NotReady, for clusters without LLMKube's operator (see `k8s::scheduler` for the rules
//! and for how to run it next to the operator). Stops cleanly on Ctrl-C or SIGTERM.

use super::SchedulerArgs;
use super::common::{Exit, connect_or_say, failed, shutdown_signal};
use crate::k8s::scheduler::{self, SchedulerConfig, Scope};

impl SchedulerArgs {
    /// The daemon's settings from the flags.
    pub fn config(&self) -> SchedulerConfig {
        SchedulerConfig {
            task_namespace: Some(self.task_namespace.clone()).filter(|n| !n.is_empty()),
            scope: Scope {
                node_selector: self.node_selector.clone(),
                task_selector: self.task_selector.clone(),
                mark_stale: !self.no_stale_marking,
            },
            resync: self.resync,
            fan_out_workloads: self.fan_out_workloads,
            // `--once` is one round for scripts: it takes no part in the election.
            lease: (!self.once).then(|| {
                crate::k8s::lease::LeaseConfig::new(
                    &self.task_namespace,
                    &self.lease_name,
                    self.lease_duration,
                )
            }),
            ..Default::default()
        }
    }
}

pub async fn scheduler(args: SchedulerArgs) -> Exit {
    let cluster = match connect_or_say(args.kubeconfig.clone(), args.kube_context.clone()).await {
        Ok(c) => c,
        Err(code) => return code,
    };
    let cfg = args.config();
    let fail =
        |e: scheduler::SchedulerError| failed(format!("{e}\n  cluster config: {}", cluster.source));
    if args.once {
        return match scheduler::run_once(&cluster.client, &cfg).await {
            Ok(r) => {
                errln!(
                    "scheduled {}, failed {}, marked {} FleetNode(s) NotReady; {} write(s), {} lost race(s), {} error(s)",
                    r.scheduled,
                    r.failed_tasks,
                    r.stale_nodes,
                    r.applied,
                    r.conflicts,
                    r.errors
                );
                if r.errors == 0 {
                    Exit::Ok
                } else {
                    Exit::Failed
                }
            }
            Err(e) => fail(e),
        };
    }
    match scheduler::run(cluster.client.clone(), cfg, shutdown_signal()).await {
        Ok(()) => Exit::Ok,
        Err(e) => fail(e),
    }
}
