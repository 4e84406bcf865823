//! `foreman scheduler`: LLMKube's AgenticTask scheduler (spec §5.1) for clusters without
//! LLMKube's operator, plus FleetNode heartbeat staleness (§5.2, as at HEAD).
//!
//! Event-driven: watchers keep in-memory stores of AgenticTasks, FleetNodes and Agents; any
//! change triggers a pass (debounced), and a resync timer (10 s) catches what no event
//! announces (a heartbeat going stale). Each pass is [`plan::plan`], a pure function from the
//! stores to status writes, then [`apply`] of those writes with optimistic concurrency.
//!
//! # Coexisting with LLMKube's operator
//!
//! Never let two schedulers act on the same task. LLMKube's operator places every Pending
//! task in all namespaces on any Ready node and has no flag to narrow that (spec §5.1, §5.3),
//! so the safe setup is one or the other per cluster: don't run `foreman scheduler` where the
//! operator runs.
//!
//! The selectors split the work between schedulers that can each be kept to their own share
//! (several `foreman scheduler` instances, one per pool or team, or one next to a scheduler
//! that can be restricted). Give each its own labelled FleetNodes and tasks:
//! `--node-selector pool=foreman` places only on, and marks stale only, matching nodes;
//! `--task-selector scheduler=foreman` acts only on matching tasks; `--no-stale-marking`
//! leaves staleness to the other side.
//!
//! Should two schedulers still race for a task, every write carries the resourceVersion it was
//! planned against. The loser gets a 409 Conflict and drops its write, so the task is placed
//! once. Sharing nodes between schedulers with disjoint tasks is not safe: both can see the
//! same node free and give it a task each.
//!
//! Replicas of one scheduler (same `--lease-name`) elect a leader through a Lease
//! ([`crate::k8s::lease`]); only the holder runs passes ([`leader`]).

pub mod apply;
mod leader;
pub mod run;
mod warm;
pub mod workloads;

pub use crate::fleet::schedule::plan::{Action, Scope, Target, What, plan};
pub use crate::fleet::schedule::selector::{LabelSelector, SelectorError};
pub use apply::PassReport;
pub use run::{TaskChange, preflight, run, run_once, run_sharing, subscribe};

use std::time::Duration;

/// How the scheduler runs; `Default` is the product's (all namespaces, every node, stale
/// marking on, 10 s resync).
#[derive(Clone, Debug)]
pub struct SchedulerConfig {
    /// Namespace of the tasks and Agents to schedule; `None` or empty = all namespaces.
    pub task_namespace: Option<String>,
    pub scope: Scope,
    /// Pass at least this often, even without events.
    pub resync: Duration,
    /// Wait this long after an event so a burst of events becomes one pass.
    pub debounce: Duration,
    /// Status writes in flight at once.
    pub concurrency: usize,
    /// Fan Workloads out into tasks and roll their status up (`--fan-out-workloads`); off by
    /// default so it never fights LLMKube's own Workload controller.
    pub fan_out_workloads: bool,
    /// Leader election among replicas (`None`: this one always acts; `--once`, tests).
    pub lease: Option<crate::k8s::lease::LeaseConfig>,
    /// Hears the Lease holder's identity, for a console to show who schedules.
    pub leader: Option<tokio::sync::watch::Sender<String>>,
}

impl Default for SchedulerConfig {
    fn default() -> Self {
        SchedulerConfig {
            task_namespace: None,
            scope: Scope::default(),
            resync: Duration::from_secs(10),
            debounce: Duration::from_millis(50),
            concurrency: 8,
            fan_out_workloads: false,
            lease: None,
            leader: None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SchedulerError {
    #[error("cannot reach the cluster: {0}")]
    Unreachable(String),
    #[error(
        "the Foreman CRDs are not installed ({kind}.foreman.llmkube.dev is not served): run `foreman crds | kubectl apply -f -`"
    )]
    CrdsMissing { kind: &'static str },
    #[error("the cluster rejected our credentials: {0}")]
    Unauthorized(String),
    #[error(
        "not allowed to list {kind}: {message} (the scheduler needs get/list/watch on agentictasks, fleetnodes and agents, and patch on agentictasks/status and fleetnodes/status)"
    )]
    Forbidden { kind: &'static str, message: String },
    #[error("listing {kind} failed: {message}")]
    Api { kind: &'static str, message: String },
}
