//! Upstream HEAD's `Agent.spec.maxConcurrentTasks` (`agentAtConcurrencyLimit`): at most that
//! many of an Agent's tasks in its namespace hold a slot (Scheduled, Running or Verifying);
//! past it a ready task stays Pending for a later pass, exactly as when no node fits. Unset
//! is unbounded. Placements of the same pass take slots too, so one pass never overshoots.

use crate::api::{Agent, AgenticTask, TaskPhase};
use std::collections::HashMap;
use std::sync::Arc;

type Key = (String, String);

pub(super) struct Slots {
    limits: HashMap<Key, usize>,
    used: HashMap<Key, usize>,
}

fn agent_key(t: &AgenticTask) -> Option<Key> {
    let name = t.spec.agent_ref.as_ref().map(|r| r.name.clone())?;
    let ns = t.metadata.namespace.clone().unwrap_or_default();
    (!name.is_empty()).then_some((ns, name))
}

impl Slots {
    pub(super) fn new(tasks: &[Arc<AgenticTask>], agents: &[Arc<Agent>]) -> Slots {
        let limits: HashMap<Key, usize> = agents
            .iter()
            .filter_map(|a| {
                let n = a.spec.max_concurrent_tasks?;
                let ns = a.metadata.namespace.clone().unwrap_or_default();
                Some(((ns, a.metadata.name.clone()?), n.max(0) as usize))
            })
            .collect();
        let mut used = HashMap::new();
        for t in tasks {
            let holds = matches!(
                t.status.as_ref().and_then(|s| s.phase),
                Some(TaskPhase::Scheduled | TaskPhase::Running | TaskPhase::Verifying)
            );
            if let Some(k) = agent_key(t).filter(|k| holds && limits.contains_key(k)) {
                *used.entry(k).or_insert(0) += 1;
            }
        }
        Slots { limits, used }
    }

    /// Whether `t`'s Agent already has its bound of tasks in flight.
    pub(super) fn full(&self, t: &AgenticTask) -> bool {
        let Some(k) = agent_key(t) else { return false };
        match self.limits.get(&k) {
            Some(&limit) => self.used.get(&k).copied().unwrap_or(0) >= limit,
            None => false,
        }
    }

    /// `t` was placed: its Agent holds one more slot.
    pub(super) fn take(&mut self, t: &AgenticTask) {
        if let Some(k) = agent_key(t).filter(|k| self.limits.contains_key(k)) {
            *self.used.entry(k).or_insert(0) += 1;
        }
    }
}
