//! The Workloads pane: `w` opens it over the panes (only once a Workload is known), its rows
//! say mode, stages, tasks per phase and the rollup, `enter` filters the queue to the
//! Workload's tasks, Esc clears that filter; snapshots at 80x24 and 120x30.

use super::{fixture, render, task};
use crate::api::workload::WorkloadPhase;
use crate::api::{AgenticTaskStatus, Object, TaskPhase, Verdict, Workload, load_str};
use crate::backend::BackendEvent;
use crate::console::state::App;
use crate::fleet::workload::reconcile;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

fn key(c: KeyCode) -> KeyEvent {
    KeyEvent::new(c, KeyModifiers::NONE)
}

fn workload(yaml: &str) -> Workload {
    match load_str("w", yaml).unwrap().remove(0) {
        Object::Workload(w) => *w,
        _ => panic!("not a Workload"),
    }
}

/// The fixture console plus two Workloads: `ship` (a pipeline, its code step GO and its
/// verify step running) and `wish` (intent only, failed to plan).
fn app_with_workloads() -> App {
    let mut app = fixture("dark");
    let mut ship = workload(
        "apiVersion: foreman.llmkube.dev/v1alpha1\nkind: Workload\nmetadata: {name: ship, namespace: default}\nspec:\n  intent: fix the greeting, then verify it\n  repo: acme/greeter\n  pipeline:\n  - {name: code, kind: issue-fix, agentRef: {name: tiny-coder}, payload: {issue: 1}}\n  - {name: verify, kind: verify, agentRef: {name: gate}, dependsOn: [code], payload: {issue: 1}}\n",
    );
    let now = crate::fleet::status::now();
    let r = reconcile(&ship, &[], &now);
    ship.status = r.status;
    for (mut t, phase, verdict) in r
        .create
        .into_iter()
        .zip([
            (TaskPhase::Succeeded, Some(Verdict::Go)),
            (TaskPhase::Running, None),
        ])
        .map(|(t, (p, v))| (t, p, v))
    {
        let base = task(
            t.metadata.name.as_deref().unwrap(),
            60,
            AgenticTaskStatus::default(),
        );
        t.metadata.creation_timestamp = base.metadata.creation_timestamp;
        t.status = Some(AgenticTaskStatus {
            phase: Some(phase),
            verdict,
            ..Default::default()
        });
        app.on_backend(BackendEvent::TaskUpdated(Box::new(t)));
    }
    let tasks: Vec<_> = app
        .mirror
        .tasks
        .values()
        .map(|t| t.task().unwrap().into_owned())
        .collect();
    let refs: Vec<&crate::api::AgenticTask> = tasks.iter().collect();
    if let Some(s) = reconcile(&ship, &refs, &now).status {
        ship.status = Some(s);
    }
    let mut wish = workload(
        "apiVersion: foreman.llmkube.dev/v1alpha1\nkind: Workload\nmetadata: {name: wish, namespace: default}\nspec: {intent: make it faster}\n",
    );
    wish.status = reconcile(&wish, &[], &now).status;
    // Fixed times so the snapshots do not move.
    for w in [&mut ship, &mut wish] {
        for c in w.status.as_mut().unwrap().conditions.iter_mut().flatten() {
            c.last_transition_time = super::ts(30);
        }
        app.on_backend(BackendEvent::WorkloadUpdated(Box::new(w.clone())));
    }
    app
}

#[test]
fn w_is_refused_until_a_workload_is_known() {
    let mut app = fixture("dark");
    app.on_key(key(KeyCode::Char('w')));
    assert!(app.workloads_pane.is_none());
    let said = app
        .status
        .as_ref()
        .map(|s| s.text.clone())
        .unwrap_or_default();
    assert!(said.contains("no Workloads"), "{said}");
    assert!(!render(&mut app, 200, 60).contains(" w  workloads"));
}

#[test]
fn the_pane_shows_the_rollup_and_enter_filters_the_queue_to_its_tasks() {
    let mut app = app_with_workloads();
    let main = render(&mut app, 200, 60);
    assert!(
        main.contains(" w  workloads"),
        "the footer offers it:\n{main}"
    );
    app.on_key(key(KeyCode::Char('w')));
    assert_eq!(app.workloads_pane, Some(0));
    let rows = app.workload_rows();
    let ship = &rows[0];
    assert_eq!((ship.name.as_str(), ship.stages), ("ship", Some(2)));
    assert_eq!(
        (ship.counts.succeeded, ship.running, ship.pending),
        (1, 1, 0)
    );
    assert_eq!(ship.rollup, format!("{:?}", WorkloadPhase::Dispatched));
    assert_eq!(rows[1].rollup, "Failed");
    assert!(
        rows[1].note.contains("NoPlannerOrPipeline"),
        "{}",
        rows[1].note
    );
    insta::assert_snapshot!("workloads_80x24", render(&mut app, 80, 24));
    app.on_key(key(KeyCode::Char('j')));
    insta::assert_snapshot!("workloads_120x30", render(&mut app, 120, 30));
    // Back to `ship`, and enter: the queue holds its two tasks only.
    app.on_key(key(KeyCode::Char('k')));
    app.on_key(key(KeyCode::Enter));
    assert!(app.workloads_pane.is_none());
    assert_eq!(app.filter, "workload:ship");
    let shown: Vec<String> = app.mirror.order.iter().map(|k| k.name.clone()).collect();
    assert_eq!(shown.len(), 2, "{shown:?}");
    assert!(shown.iter().all(|n| {
        app.mirror
            .tasks
            .iter()
            .any(|(k, t)| k.name == *n && t.facts().workload.as_deref() == Some("ship"))
    }));
    // Esc in the queue clears the filter: every task again.
    app.on_key(key(KeyCode::Esc));
    assert!(app.filter.is_empty());
    assert!(app.mirror.order.len() > 2);
    // Esc closes the pane without filtering.
    app.on_key(key(KeyCode::Char('w')));
    assert_eq!(app.workloads_pane, Some(0), "{:?}", app.status);
    app.on_key(key(KeyCode::Esc));
    assert_eq!(
        (app.workloads_pane, app.filter.as_str()),
        (None, ""),
        "{:?} {:?}",
        app.status,
        app.mode
    );
}
