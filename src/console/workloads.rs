//! The Workloads pane (`w`): every Workload the backend reports, with what it became (mode,
//! stages, its tasks per phase, the rollup), and its tasks one key away (`enter` filters the
//! queue to them). Pure: rows are computed from the mirror, drawing is `draw/workloads.rs`.

use super::commands::Action;
use super::pane::FILTER_PREFIX;
use super::pane::Focus;
use super::state::{App, Effect, Level};
use crate::api::{TaskPhase, Workload};
use crate::fleet::TaskKey;
use crate::fleet::held::Facts;
use crate::fleet::workload::{self, Counts, Mode};
use std::borrow::Cow;

/// One row of the pane.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorkloadRow {
    pub name: String,
    pub mode: Mode,
    /// Steps planned (after the `maxTasks` cut); `None` when it cannot be planned.
    pub stages: Option<usize>,
    pub pending: usize,
    pub running: usize,
    pub counts: Counts,
    /// `status.phase`, or "-" before any reconcile.
    pub rollup: String,
    /// The newest condition's words: why it failed, that it was cut, how far it is.
    pub note: String,
    pub intent: String,
}

fn row(w: &Workload, tasks: &[(&TaskKey, Cow<'_, Facts>)]) -> WorkloadRow {
    let mut counts = Counts::default();
    let mut running = 0;
    for (k, f) in tasks {
        let label = f.workload.as_deref();
        if workload::is_child_at(w, Some(k.namespace.as_str()), label) {
            counts.add(f.phase, f.verdict);
            running += usize::from(matches!(
                f.phase,
                Some(TaskPhase::Running | TaskPhase::Verifying)
            ));
        }
    }
    let st = w.status.clone().unwrap_or_default();
    let conds = st.conditions.unwrap_or_default();
    let note = conds
        .iter()
        .max_by_key(|c| c.last_transition_time.0)
        .map(|c| format!("{}: {}", c.reason, c.message))
        .unwrap_or_default();
    WorkloadRow {
        name: w.metadata.name.clone().unwrap_or_default(),
        mode: Mode::of(w),
        stages: workload::plan(w).ok().map(|p| p.tasks.len()),
        pending: counts.in_flight - running,
        running,
        counts,
        rollup: st.phase.map_or("-".into(), |p| format!("{p:?}")),
        note,
        intent: w.spec.intent.clone(),
    }
}

impl App {
    /// The pane's rows, in the mirror's (namespace, name) order.
    pub fn workload_rows(&self) -> Vec<WorkloadRow> {
        let tasks: Vec<(&TaskKey, Cow<'_, Facts>)> = self
            .mirror
            .tasks
            .iter()
            .map(|(k, t)| (k, t.facts()))
            .collect();
        self.mirror
            .workloads
            .values()
            .map(|w| row(w, &tasks))
            .collect()
    }

    /// `w` opens the pane; in it, move, close, or show the selected Workload's tasks.
    pub(super) fn workloads_action(&mut self, action: Action) -> Vec<Effect> {
        let n = self.mirror.workloads.len();
        let at = self.workloads_pane.unwrap_or(0).min(n.saturating_sub(1));
        match action {
            Action::ShowWorkloads => self.workloads_pane = Some(at),
            Action::WorkloadsUp => self.workloads_pane = Some(at.saturating_sub(1)),
            Action::WorkloadsDown => self.workloads_pane = Some((at + 1).min(n.saturating_sub(1))),
            Action::WorkloadsClose => self.workloads_pane = None,
            Action::WorkloadsOpen => {
                self.workloads_pane = None;
                let Some(r) = self.workload_rows().into_iter().nth(at) else {
                    return Vec::new();
                };
                self.filter = format!("{FILTER_PREFIX}{}", r.name);
                self.reorder();
                self.focus = Focus::Queue;
                let shown = self.mirror.order.len();
                self.say(
                    format!("{shown} task(s) of workload {} (esc shows all)", r.name),
                    Level::Info,
                );
            }
            _ => {}
        }
        Vec::new()
    }
}
