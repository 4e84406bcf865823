//! The scheduler's decisions as a pure function of what the watches hold: no I/O, no clock
//! (the caller passes `now`). Every decision becomes an [`Action`] carrying the exact JSON merge
//! patch for the status subresource, including `metadata.resourceVersion`, so applying it is
//! an optimistic-concurrency write: if anyone changed the object since we saw it, the apiserver
//! answers 409 and nothing happens.
//!
//! The embedded backend runs the same pass and applies the same patches to its store
//! (`crate::fleet::patch`). Rules (spec §5.1, with upstream's gaps closed via
//! `crate::fleet::schedule::rules`): `""` → Pending; Pending tasks in queue order (priority, then age), cascade
//! failures (`UpstreamFailed`) and missing Agents (`AgentNotFound`) fail the task, waiting
//! dependencies leave it Pending; the Agent's `requiredCapability` replaces the task's own; first
//! fit by node name over Ready, fresh, idle nodes. A node is busy when its `currentTask` is set,
//! when any task is Scheduled/Running on it (the window before its agent writes `currentTask`),
//! or when this pass just gave it a task. Ready nodes without a heartbeat for 90 s become
//! NotReady (HEAD #633); Draining nodes are left alone.

use super::concurrency::Slots;
use super::rules::{self, Deps, HEARTBEAT_TIMEOUT_SECS};
use super::selector::LabelSelector;
use crate::api::{Agent, AgenticTask, FleetNode, FleetNodePhase, RequiredCapability, TaskPhase};
use crate::fleet::condition::upserted;
use crate::fleet::reasons::*;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use serde_json::{Value, json};
use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::sync::Arc;

/// Cascade failures can chain (a → b → c); this many rounds per pass, the rest next pass.
const MAX_CASCADE_ROUNDS: usize = 32;

/// What this scheduler instance owns: only matching nodes are placed on or marked stale, only
/// matching tasks are acted on (dependencies still resolve against every task it sees).
#[derive(Clone, Debug)]
pub struct Scope {
    pub node_selector: LabelSelector,
    pub task_selector: LabelSelector,
    /// Mark Ready nodes without a recent heartbeat NotReady (off: `--no-stale-marking`).
    pub mark_stale: bool,
}

impl Default for Scope {
    fn default() -> Self {
        Scope {
            node_selector: LabelSelector::default(),
            task_selector: LabelSelector::default(),
            mark_stale: true,
        }
    }
}

/// The object an action writes.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Target {
    Task { namespace: String, name: String },
    Node { name: String },
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Task { namespace, name } => write!(f, "AgenticTask {namespace}/{name}"),
            Target::Node { name } => write!(f, "FleetNode {name}"),
        }
    }
}

/// Why the scheduler writes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum What {
    /// No phase yet → Pending.
    MarkPending,
    /// Pending → Scheduled on this node.
    Schedule { node: String },
    /// Pending → Failed, verdict INCOMPLETE. `missing_agent` is set for `AgentNotFound`, so
    /// the writer can confirm with a live GET (the Agent's watch event may trail the task's).
    Fail {
        reason: &'static str,
        message: String,
        missing_agent: Option<String>,
    },
    /// Condition `Scheduled=False` with reason WaitingForDependencies (only when it changes).
    Waiting(String),
    /// Condition `Scheduled=False` with reason Unschedulable: no node in scope could ever take
    /// it as things stand (only when it changes).
    Unschedulable(String),
    /// Every node that fits is busy: drop a stale `Scheduled` condition (waiting is normal).
    ClearScheduled,
    /// Ready node without a heartbeat within 90 s → NotReady.
    NodeStale,
}

/// One status write: the merge patch includes `metadata.resourceVersion` (optimistic lock).
#[derive(Clone, Debug, PartialEq)]
pub struct Action {
    pub target: Target,
    pub what: What,
    pub patch: Value,
}

/// Where a pending task stands after dependencies and the Agent lookup.
#[derive(Clone, Debug)]
enum Decision {
    Wait(String),
    Fail {
        reason: &'static str,
        message: String,
        missing_agent: Option<String>,
    },
    Ready(RequiredCapability),
}

/// What one pass writes, by urgency.
#[derive(Default)]
struct Buckets {
    stale: Vec<Action>,
    fails: Vec<Action>,
    places: Vec<Action>,
    marks: Vec<Action>,
    cosmetic: Vec<Action>,
}

/// Every task by namespace and name (dependencies resolve against all of them), the nodes a
/// task is Scheduled or Running on, and the Agents by namespace and name.
struct Index<'a> {
    tasks: HashMap<&'a str, HashMap<String, &'a AgenticTask>>,
    busy: HashSet<&'a str>,
    agents: HashMap<(&'a str, &'a str), &'a Agent>,
}

impl<'a> Index<'a> {
    fn new(tasks: &'a [Arc<AgenticTask>], agents: &'a [Arc<Agent>]) -> Index<'a> {
        let mut index = Index {
            tasks: HashMap::new(),
            busy: HashSet::new(),
            agents: HashMap::new(),
        };
        for t in tasks {
            index
                .tasks
                .entry(ns_of(t))
                .or_default()
                .insert(name_of(t).to_string(), t.as_ref());
            if let Some(s) = &t.status
                && matches!(
                    s.phase,
                    Some(TaskPhase::Scheduled | TaskPhase::Running | TaskPhase::Verifying)
                )
                && let Some(n) = s.assigned_node.as_deref().filter(|n| !n.is_empty())
            {
                index.busy.insert(n);
            }
        }
        for a in agents {
            let ns = a.metadata.namespace.as_deref().unwrap_or("");
            let name = a.metadata.name.as_deref().unwrap_or("");
            index.agents.insert((ns, name), a.as_ref());
        }
        index
    }
}

/// All actions for one pass over the current state, most urgent first: node staleness (it
/// changes where tasks may go), failures, placements, Pending marks, cosmetic conditions.
pub fn plan(
    tasks: &[Arc<AgenticTask>],
    nodes: &[Arc<FleetNode>],
    agents: &[Arc<Agent>],
    scope: &Scope,
    now: jiff::Timestamp,
) -> Vec<Action> {
    let now_unix = now.as_second();
    let now_t = Time(jiff::Timestamp::from_second(now_unix).unwrap_or(now));
    let mut out = Buckets::default();

    let mut my_nodes: Vec<&FleetNode> = nodes
        .iter()
        .map(|n| n.as_ref())
        .filter(|n| scope.node_selector.matches(n.metadata.labels.as_ref()))
        .collect();
    my_nodes.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
    if scope.mark_stale {
        out.stale.extend(
            my_nodes
                .iter()
                .filter_map(|n| stale_node(n, now_unix, &now_t)),
        );
    }

    let index = Index::new(tasks, agents);
    let mut pending: Vec<&AgenticTask> = Vec::new();
    for t in tasks
        .iter()
        .filter(|t| scope.task_selector.matches(t.metadata.labels.as_ref()))
    {
        match t.status.as_ref().and_then(|s| s.phase) {
            None => out
                .marks
                .push(action(t, What::MarkPending, json!({"phase": "Pending"}))),
            Some(TaskPhase::Pending) => pending.push(t),
            Some(_) => {}
        }
    }
    pending.sort_by(|a, b| rules::queue_order(a, b));
    let decisions = decide_all(&pending, &index.tasks, &index.agents);

    let mut placer = Placer {
        free: my_nodes
            .iter()
            .copied()
            .filter(|n| {
                !index
                    .busy
                    .contains(n.metadata.name.as_deref().unwrap_or(""))
            })
            .collect(),
        diagnosis: Diagnosis::new(&my_nodes, &scope.node_selector, now_unix),
        slots: Slots::new(tasks, agents),
        now_unix,
        now_t: &now_t,
    };
    for (t, d) in pending.iter().zip(decisions) {
        placer.act(t, d, &mut out);
    }
    let Buckets {
        stale,
        fails,
        places,
        marks,
        cosmetic,
    } = out;
    [stale, fails, places, marks, cosmetic].concat()
}

/// Turns each pending task's decision into its action, handing out free nodes in queue order.
struct Placer<'a> {
    free: Vec<&'a FleetNode>,
    diagnosis: Diagnosis<'a>,
    /// Agents' `maxConcurrentTasks` slots.
    slots: Slots,
    now_unix: i64,
    now_t: &'a Time,
}

impl Placer<'_> {
    fn act(&mut self, t: &AgenticTask, d: Decision, out: &mut Buckets) {
        let (now_t, conds) = (self.now_t, conditions_of(t));
        match d {
            Decision::Wait(msg) => {
                let c = upserted(conds, "Scheduled", false, REASON_WAITING, &msg, now_t);
                if let Some(c) = c {
                    let a = action(t, What::Waiting(msg), json!({"conditions": c}));
                    out.cosmetic.push(a);
                }
            }
            Decision::Fail {
                reason,
                message,
                missing_agent,
            } => {
                let c = upserted(conds, "Failed", true, reason, &message, now_t)
                    .unwrap_or_else(|| conds.to_vec());
                let status = json!({
                    "phase": "Failed",
                    "verdict": "INCOMPLETE",
                    "finishedAt": now_t,
                    "conditions": c,
                });
                let what = What::Fail {
                    reason,
                    message,
                    missing_agent,
                };
                out.fails.push(action(t, what, status));
            }
            // At its Agent's bound the task stays Pending, unwritten, for a later pass.
            Decision::Ready(_) if self.slots.full(t) => {}
            Decision::Ready(cap) => self.place(t, &cap, out),
        }
    }

    /// First fit among the free nodes; otherwise say why it waits (only when that changes).
    fn place(&mut self, t: &AgenticTask, cap: &RequiredCapability, out: &mut Buckets) {
        let (now_t, conds) = (self.now_t, conditions_of(t));
        let fit = self
            .free
            .iter()
            .position(|n| rules::misfit(cap, n, self.now_unix).is_none());
        if let Some(i) = fit {
            let node = self
                .free
                .remove(i)
                .metadata
                .name
                .clone()
                .unwrap_or_default();
            let msg = format!("scheduled to FleetNode {node:?}");
            let c = upserted(conds, "Scheduled", true, REASON_ASSIGNED, &msg, now_t)
                .unwrap_or_else(|| conds.to_vec());
            let status = json!({"phase": "Scheduled", "assignedNode": node, "conditions": c});
            out.places.push(action(t, What::Schedule { node }, status));
            self.slots.take(t);
            return;
        }
        match self.diagnosis.why_unschedulable(cap) {
            None => {
                if conds.iter().any(|c| c.type_ == "Scheduled") {
                    let c: Vec<&Condition> =
                        conds.iter().filter(|c| c.type_ != "Scheduled").collect();
                    let a = action(t, What::ClearScheduled, json!({"conditions": c}));
                    out.cosmetic.push(a);
                }
            }
            Some(msg) => {
                let c = upserted(conds, "Scheduled", false, REASON_UNSCHEDULABLE, &msg, now_t);
                if let Some(c) = c {
                    let a = action(t, What::Unschedulable(msg), json!({"conditions": c}));
                    out.cosmetic.push(a);
                }
            }
        }
    }
}

/// Decisions for `pending` (same order), repeated while new failures cascade to dependants.
fn decide_all(
    pending: &[&AgenticTask],
    index: &HashMap<&str, HashMap<String, &AgenticTask>>,
    agents: &HashMap<(&str, &str), &Agent>,
) -> Vec<Decision> {
    let mut decisions: Vec<Option<Decision>> = vec![None; pending.len()];
    // Copies of tasks failed by this pass, as their dependants should see them.
    let mut failed: Vec<AgenticTask> = Vec::new();
    for _ in 0..MAX_CASCADE_ROUNDS {
        let view: Cow<HashMap<&str, HashMap<String, &AgenticTask>>> = if failed.is_empty() {
            Cow::Borrowed(index)
        } else {
            let mut v = index.clone();
            for f in &failed {
                v.entry(ns_of(f))
                    .or_default()
                    .insert(name_of(f).to_string(), f);
            }
            Cow::Owned(v)
        };
        let mut newly = Vec::new();
        for (t, slot) in pending.iter().zip(decisions.iter_mut()) {
            if matches!(slot, Some(Decision::Fail { .. })) {
                continue;
            }
            let d = decide(t, &view, agents);
            if matches!(d, Decision::Fail { .. }) {
                let mut copy = (*t).clone();
                copy.status.get_or_insert_with(Default::default).phase = Some(TaskPhase::Failed);
                newly.push(copy);
            }
            *slot = Some(d);
        }
        drop(view);
        if newly.is_empty() {
            break;
        }
        failed.extend(newly);
    }
    decisions
        .into_iter()
        .map(|d| d.unwrap_or(Decision::Wait(String::new())))
        .collect()
}

fn decide(
    t: &AgenticTask,
    index: &HashMap<&str, HashMap<String, &AgenticTask>>,
    agents: &HashMap<(&str, &str), &Agent>,
) -> Decision {
    let ns = ns_of(t);
    let empty = HashMap::new();
    match rules::deps(t, index.get(ns).unwrap_or(&empty)) {
        Deps::Waiting(msg) => return Decision::Wait(msg),
        Deps::Failed(message) => {
            return Decision::Fail {
                reason: REASON_UPSTREAM_FAILED,
                message,
                missing_agent: None,
            };
        }
        Deps::Ready => {}
    }
    let Some(agent_ref) = &t.spec.agent_ref else {
        return Decision::Ready(t.spec.required_capability.clone().unwrap_or_default());
    };
    match agents.get(&(ns, agent_ref.name.as_str())) {
        Some(a) => Decision::Ready(a.spec.required_capability.clone().unwrap_or_default()),
        None => Decision::Fail {
            reason: REASON_AGENT_NOT_FOUND,
            message: format!("Agent {:?} not found in namespace {ns:?}", agent_ref.name),
            missing_agent: Some(agent_ref.name.clone()),
        },
    }
}

/// Why nothing in scope could take a task even if every node were idle, per capability (tasks
/// mostly share a few capabilities, so the answer is cached).
struct Diagnosis<'a> {
    nodes: &'a [&'a FleetNode],
    selector: &'a LabelSelector,
    now_unix: i64,
    idle: Option<Vec<FleetNode>>,
    cache: Vec<(RequiredCapability, Option<String>)>,
}

impl<'a> Diagnosis<'a> {
    fn new(nodes: &'a [&'a FleetNode], selector: &'a LabelSelector, now_unix: i64) -> Self {
        Diagnosis {
            nodes,
            selector,
            now_unix,
            idle: None,
            cache: Vec::new(),
        }
    }

    /// `None` when some node would fit once idle (so the task simply waits its turn).
    fn why_unschedulable(&mut self, cap: &RequiredCapability) -> Option<String> {
        if let Some((_, answer)) = self.cache.iter().find(|(c, _)| c == cap) {
            return answer.clone();
        }
        let idle = self.idle.get_or_insert_with(|| {
            self.nodes
                .iter()
                .map(|n| {
                    let mut n = (*n).clone();
                    if let Some(s) = n.status.as_mut() {
                        s.current_task = None;
                    }
                    n
                })
                .collect()
        });
        let mut reasons: BTreeMap<String, usize> = BTreeMap::new();
        let mut fits = false;
        for n in idle.iter() {
            match rules::misfit(cap, n, self.now_unix) {
                None => {
                    fits = true;
                    break;
                }
                Some(r) => *reasons.entry(r).or_default() += 1,
            }
        }
        let answer = if fits {
            None
        } else if idle.is_empty() && self.selector.is_empty() {
            Some("no FleetNodes".to_string())
        } else if idle.is_empty() {
            Some(format!(
                "no FleetNodes match --node-selector {}",
                self.selector
            ))
        } else {
            let list: Vec<String> = reasons
                .iter()
                .map(|(r, n)| format!("{r} ({n} node{})", if *n == 1 { "" } else { "s" }))
                .collect();
            Some(format!("no FleetNode fits: {}", list.join("; ")))
        };
        if self.cache.len() < 256 {
            self.cache.push((cap.clone(), answer.clone()));
        }
        answer
    }
}

fn stale_node(n: &FleetNode, now_unix: i64, now_t: &Time) -> Option<Action> {
    let s = n.status.as_ref()?;
    if s.phase != Some(FleetNodePhase::Ready) {
        return None;
    }
    let fresh = s
        .last_heartbeat_time
        .as_ref()
        .is_some_and(|t| now_unix - t.0.as_second() <= HEARTBEAT_TIMEOUT_SECS);
    if fresh {
        return None;
    }
    let msg = format!("no heartbeat within {HEARTBEAT_TIMEOUT_SECS}s");
    let conds = s.conditions.as_deref().unwrap_or_default();
    let c = upserted(conds, "Ready", false, REASON_HEARTBEAT_STALE, &msg, now_t)
        .unwrap_or_else(|| conds.to_vec());
    Some(Action {
        target: Target::Node {
            name: n.metadata.name.clone().unwrap_or_default(),
        },
        what: What::NodeStale,
        patch: with_rv(
            n.metadata.resource_version.as_deref(),
            json!({"phase": "NotReady", "conditions": c}),
        ),
    })
}

fn action(t: &AgenticTask, what: What, status: Value) -> Action {
    Action {
        target: Target::Task {
            namespace: ns_of(t).to_string(),
            name: name_of(t).to_string(),
        },
        what,
        patch: with_rv(t.metadata.resource_version.as_deref(), status),
    }
}

/// `{"metadata": {"resourceVersion": rv}, "status": status}`: the apiserver applies the patch
/// only if the object is still at `rv` (409 Conflict otherwise).
fn with_rv(rv: Option<&str>, status: Value) -> Value {
    match rv {
        Some(rv) => json!({"metadata": {"resourceVersion": rv}, "status": status}),
        None => json!({"status": status}),
    }
}

fn ns_of(t: &AgenticTask) -> &str {
    t.metadata.namespace.as_deref().unwrap_or("")
}

fn name_of(t: &AgenticTask) -> &str {
    t.metadata.name.as_deref().unwrap_or("")
}

fn conditions_of(t: &AgenticTask) -> &[Condition] {
    t.status
        .as_ref()
        .and_then(|s| s.conditions.as_deref())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests;
