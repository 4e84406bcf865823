//! The fleet as this console mirrors it from the backend's events: tasks, nodes, agents and
//! workloads, and the queue order the operator sees. Plain data and the rules that keep it
//! consistent; what a change means for the operator (bell, status line, transcripts) is the
//! reducer's business (`reduce.rs`).

use super::sort::QueueSort;
use crate::api::{Agent, AgenticTask, FleetNode, Workload};
use crate::fleet::TaskKey;
use crate::fleet::held::Held;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::Arc;

#[derive(Default)]
pub struct Mirror {
    /// Shared with the backend's own copy where it has one (the embedded store's packed
    /// summaries): a start with 10,000 finished tasks holds each of them once, packed.
    pub tasks: BTreeMap<TaskKey, Held>,
    pub nodes: BTreeMap<String, FleetNode>,
    /// Agents and Workloads by (namespace, name).
    pub agents: BTreeMap<(String, String), Agent>,
    pub workloads: BTreeMap<(String, String), Workload>,
    /// Every task key in queue order ([`Mirror::reorder`]).
    pub order: Vec<TaskKey>,
    /// Tasks held as their summaries (`fleet::summary`) whose full task was asked for
    /// (`Command::LoadTask`); the answer is a `TaskUpdated`.
    pub asked: std::collections::BTreeSet<TaskKey>,
    /// Of every task, as of the last [`Mirror::reorder`]: how many await approval, and whether
    /// any has a coder gate (configured or run). The queue's title and its GATE column read
    /// these each frame instead of deriving every task's state again.
    pub awaiting: usize,
    pub gated: bool,
}

impl Mirror {
    /// Replaces tasks, nodes and agents with a backend's snapshot (workloads follow as
    /// updates). The caller re-sorts, as after every task change.
    pub fn replace(
        &mut self,
        tasks: Vec<(TaskKey, Held)>,
        nodes: Vec<FleetNode>,
        agents: Vec<Agent>,
    ) {
        self.tasks = tasks.into_iter().collect();
        self.asked.clear();
        self.nodes = nodes
            .into_iter()
            .map(|n| (n.metadata.name.clone().unwrap_or_default(), n))
            .collect();
        self.agents = agents
            .into_iter()
            .map(|a| (ns_name(&a.metadata), a))
            .collect();
    }

    /// The task of `key` as the console holds it (its summary until the full one is loaded;
    /// a packed one inflated).
    pub fn task(&self, key: &TaskKey) -> Option<Cow<'_, AgenticTask>> {
        self.tasks.get(key)?.task()
    }

    /// Whether the task of `key` is known and finished (read without inflating it).
    pub fn is_finished(&self, key: &TaskKey) -> bool {
        self.tasks.get(key).is_some_and(Held::is_finished)
    }

    /// Stores a task, returning the copy it replaced.
    pub fn put_task(&mut self, t: AgenticTask) -> Option<Held> {
        let key = TaskKey::of(&t);
        if !crate::fleet::summary::is_summary(&t) {
            self.asked.remove(&key);
        }
        self.tasks.insert(key, Held::Full(Arc::new(t)))
    }

    /// The command that loads the full task of `key` when only its summary is here and it was
    /// not asked for yet.
    pub fn ask_full(&mut self, key: &TaskKey) -> Option<crate::backend::Command> {
        let summary = self.tasks.get(key).is_some_and(Held::is_summary);
        (summary && self.asked.insert(key.clone()))
            .then(|| crate::backend::Command::LoadTask(key.clone()))
    }

    /// Forgets a task; false if it was not known.
    pub fn remove_task(&mut self, key: &TaskKey) -> bool {
        self.asked.remove(key);
        self.tasks.remove(key).is_some()
    }

    pub fn put_node(&mut self, n: FleetNode) {
        self.nodes
            .insert(n.metadata.name.clone().unwrap_or_default(), n);
    }

    pub fn remove_node(&mut self, name: &str) {
        self.nodes.remove(name);
    }

    pub fn put_agent(&mut self, a: Agent) {
        self.agents.insert(ns_name(&a.metadata), a);
    }

    pub fn remove_agent(&mut self, namespace: String, name: String) {
        self.agents.remove(&(namespace, name));
    }

    pub fn put_workload(&mut self, w: Workload) {
        self.workloads.insert(ns_name(&w.metadata), w);
    }

    pub fn remove_workload(&mut self, namespace: String, name: String) {
        self.workloads.remove(&(namespace, name));
    }

    /// Queue order: the operator's sort (by default running and awaiting first, then
    /// pending, then finished; newest first).
    pub fn reorder(&mut self, sort: QueueSort) {
        let (keys, tasks): (Vec<&TaskKey>, Vec<_>) = self
            .tasks
            .iter()
            .map(|(k, t)| (k, (k.name.as_str(), t.facts())))
            .unzip();
        let (order, awaiting, gated) = sort.order(&tasks);
        self.awaiting = awaiting;
        self.gated = gated;
        self.order = order.into_iter().map(|i| keys[i].clone()).collect();
    }
}

fn ns_name(m: &ObjectMeta) -> (String, String) {
    (
        m.namespace.clone().unwrap_or_else(|| "default".into()),
        m.name.clone().unwrap_or_default(),
    )
}
