//! What backend events do to the console: the status line, the bell, deletions, agents and
//! workloads, live speed per node.

use super::*;

#[test]
fn a_failed_run_says_why_in_the_status_line_and_context_fill_uses_the_node_window() {
    let mut app = fixture("dark");
    // The running task's node advertises 262,144 tokens: the fill meter has a window.
    let key = TaskKey {
        namespace: "default".into(),
        name: "fix-greeting".into(),
    };
    assert!(app.transcripts[&key].context_fill().is_some());
    let mut failed = app.mirror.tasks[&key].clone();
    let st = failed.status.as_mut().unwrap();
    st.phase = Some(TaskPhase::Failed);
    st.verdict = Some(Verdict::Incomplete);
    st.conditions = Some(vec![Condition {
        type_: "Completed".into(),
        status: "False".into(),
        reason: "ExecutorError".into(),
        message: "chat turn 3 failed: is the llama.cpp server running at http://127.0.0.1:8080/v1?"
            .into(),
        last_transition_time: ts(1),
        observed_generation: None,
    }]);
    app.on_backend(BackendEvent::TaskUpdated(Box::new(failed)));
    let crate::console::state::Status {
        text: msg, level, ..
    } = app.status.clone().unwrap();
    assert_eq!(level, crate::console::state::Level::Error);
    assert!(
        msg.contains("ExecutorError") && msg.contains("llama.cpp server"),
        "{msg}"
    );
}

#[test]
fn the_bell_rings_only_as_configured() {
    use crate::console::state::Effect;
    let awaiting = |app: &mut App| {
        let key = TaskKey {
            namespace: "default".into(),
            name: "bump-deps".into(),
        };
        let mut t = app.mirror.tasks[&key].clone();
        t.status = Some(AgenticTaskStatus {
            phase: Some(TaskPhase::Succeeded),
            verdict: Some(Verdict::Go),
            result: Some(
                json!({"verdict":"GO","summary":"x","extra":{"pushed":false,"branch":"b","commitSHA":"c"}}),
            ),
            ..Default::default()
        });
        app.on_backend(BackendEvent::TaskUpdated(Box::new(t)))
    };
    let mut app = fixture("dark");
    app.bell = crate::config::Bell::Approval;
    assert!(awaiting(&mut app).iter().any(|e| matches!(e, Effect::Bell)));
    let mut app = fixture("dark");
    app.bell = crate::config::Bell::Off;
    assert!(!awaiting(&mut app).iter().any(|e| matches!(e, Effect::Bell)));
}

#[test]
fn deletions_and_agents_and_workloads_update_the_state() {
    let mut app = fixture("dark");
    select(&mut app, "add-tests");
    app.on_transcript_loaded(k("add-tests"), Ok(convo_records(1)));
    assert!(app.transcripts.contains_key(&k("add-tests")));
    app.on_backend(BackendEvent::TaskDeleted(k("add-tests")));
    assert!(!app.mirror.tasks.contains_key(&k("add-tests")));
    assert!(!app.transcripts.contains_key(&k("add-tests")));
    assert!(!app.mirror.order.contains(&k("add-tests")));
    assert_eq!(app.mirror.order.len(), 3);
    app.on_backend(BackendEvent::NodeDeleted("m5-max".into()));
    assert!(app.mirror.nodes.is_empty());
    let agent = match load_str("a", "apiVersion: foreman.llmkube.dev/v1alpha1\nkind: Agent\nmetadata: {name: coder, namespace: team}\nspec: {role: coder, tools: [bash]}\n").unwrap().remove(0) {
        Object::Agent(a) => a,
        _ => panic!("not an agent"),
    };
    app.on_backend(BackendEvent::AgentUpdated(agent));
    assert!(
        app.mirror
            .agents
            .contains_key(&("team".into(), "coder".into()))
    );
    app.on_backend(BackendEvent::AgentDeleted {
        namespace: "team".into(),
        name: "coder".into(),
    });
    assert!(app.mirror.agents.is_empty());
    let wl = match load_str("w", "apiVersion: foreman.llmkube.dev/v1alpha1\nkind: Workload\nmetadata: {name: wl}\nspec: {intent: fix things}\n").unwrap().remove(0) {
        Object::Workload(w) => w,
        _ => panic!("not a workload"),
    };
    app.on_backend(BackendEvent::WorkloadUpdated(wl));
    assert_eq!(app.mirror.workloads.len(), 1);
    app.on_backend(BackendEvent::WorkloadDeleted {
        namespace: "default".into(),
        name: "wl".into(),
    });
    assert!(app.mirror.workloads.is_empty());
    // Unknown deletions are harmless.
    app.on_backend(BackendEvent::TaskDeleted(k("nope")));
    assert_eq!(app.mirror.order.len(), 3);
}

#[test]
fn live_speed_is_kept_per_node_that_ran_the_turn() {
    let mut app = fixture("dark");
    assert_eq!(app.live_tps.get("m5-max"), Some(&71.5));
    assert_eq!(app.live_tps.len(), 1, "only the node running the task");
    // A turn of a task with no node yet (not scheduled) is nobody's speed.
    app.on_backend(BackendEvent::Run {
        task: k("bump-deps"),
        event: ExecEvent::Loop(LoopEvent::TurnFinished(TurnStats {
            turn: 1,
            elapsed_ms: 10,
            attempts: 1,
            usage: None,
            timings: Some(Timings {
                predicted_per_second: Some(5.0),
                ..Default::default()
            }),
        })),
    });
    assert_eq!(app.live_tps.len(), 1);
    assert_eq!(app.live_tps.get("m5-max"), Some(&71.5));
}
