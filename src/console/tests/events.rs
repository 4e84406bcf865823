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
    let mut failed = app.mirror.task(&key).unwrap().into_owned();
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
        let mut t = app.mirror.task(&key).unwrap().into_owned();
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

/// llama.cpp's `cache_n`/`prompt_n` of a turn: the turn line says the hit, and the fleet
/// pane's CACHE column the node's recent hit (weighted by prompt size).
#[test]
fn cache_hits_show_in_the_turn_line_and_the_fleet_pane() {
    let mut app = fixture("dark");
    let before = render(&mut app, 140, 40);
    assert!(
        !before.contains("CACHE"),
        "no server said: no column\n{before}"
    );
    let turn = |n: u32, cache: f64, prompt: f64| BackendEvent::Run {
        task: k("fix-greeting"),
        event: ExecEvent::Loop(LoopEvent::TurnFinished(TurnStats {
            turn: n,
            elapsed_ms: 900,
            attempts: 1,
            usage: None,
            timings: Some(Timings {
                cache_n: Some(cache),
                prompt_n: Some(prompt),
                ..Default::default()
            }),
        })),
    };
    app.on_backend(turn(2, 1900.0, 100.0));
    app.on_backend(turn(3, 980.0, 20.0));
    let hits = app.live_cache.get("m5-max").and_then(|h| h.percent());
    assert!((hits.unwrap() - 96.0).abs() < 1e-9, "{hits:?}");
    select(&mut app, "fix-greeting");
    let screen = render(&mut app, 140, 40);
    assert!(screen.contains("cache 95%"), "{screen}");
    assert!(screen.contains("cache 98%"), "{screen}");
    assert!(screen.contains("CACHE"), "{screen}");
    let fleet = screen
        .lines()
        .find(|l| l.contains("m5-max") && l.contains('%'));
    assert!(fleet.is_some_and(|l| l.contains("96%")), "{screen}");
}

/// `bump-deps` ends as the executor writes a clone that failed: phase Succeeded, verdict
/// INCOMPLETE, extra.reason CloneFailed, the error in the summary; its live transcript only
/// got as far as "cloning".
fn clone_failed(app: &mut App) {
    app.on_backend(BackendEvent::Run {
        task: k("bump-deps"),
        event: ExecEvent::Status("cloning http://127.0.0.1:9/acme/greeter.git".into()),
    });
    let mut t = app.mirror.task(&k("bump-deps")).unwrap().into_owned();
    t.status = Some(AgenticTaskStatus {
        phase: Some(TaskPhase::Succeeded),
        verdict: Some(Verdict::Incomplete),
        result: Some(
            json!({"verdict":"INCOMPLETE","summary":"clone failed: connection refused (http://127.0.0.1:9/acme/greeter.git); is the git remote up?",
            "extra":{"outcome":"EXECUTOR-PRECONDITION-FAILED","reason":"CloneFailed"}}),
        ),
        ..Default::default()
    });
    app.on_backend(BackendEvent::TaskUpdated(Box::new(t)));
    select(app, "bump-deps");
}

#[test]
fn a_clone_failed_run_is_shown_failed_with_its_reason_everywhere() {
    let screens = snapshot_sizes("clone_failed", clone_failed);
    for s in &screens {
        assert!(!s.contains("Succeeded"), "{s}");
        assert!(
            s.contains("Incomplete") && s.contains("connection refused"),
            "{s}"
        );
    }
    assert!(
        screens[2].contains("CloneFailed"),
        "the reason in the queue's verdict cell"
    );
    let mut app = fixture("dark");
    clone_failed(&mut app);
    let st = app.status.clone().unwrap();
    assert_eq!(st.level, crate::console::state::Level::Error);
    assert!(
        st.text.contains("CloneFailed") && st.text.contains("connection refused"),
        "{}",
        st.text
    );
    // The state cell is in the failure colour, not the success one (unselected here; the
    // selected row's colours are the selection's business).
    select(&mut app, "fix-greeting");
    let mut term = Terminal::new(TestBackend::new(200, 60)).unwrap();
    term.draw(|f| draw(f, &mut app)).unwrap();
    let lines = screen_lines(&term);
    let (y, row) = lines
        .iter()
        .enumerate()
        .find(|(_, l)| l.contains("bump-deps") && l.contains("Incomplete"))
        .unwrap();
    let x = row
        .char_indices()
        .position(|(i, _)| row[i..].starts_with("Incomplete"))
        .unwrap();
    let cell = &term.backend().buffer()[(x as u16, y as u16)];
    assert_eq!(cell.fg, app.theme.phase.failed, "{row}");
    assert_ne!(app.theme.phase.failed, app.theme.phase.succeeded);
}

/// `fix-typo-readme` as it is after a restart once its PR was opened: only the task's
/// status says where the pull request is.
fn pr_open(app: &mut App) {
    let mut t = app.mirror.task(&k("fix-typo-readme")).unwrap().into_owned();
    let r = t.status.as_mut().unwrap().result.as_mut().unwrap();
    r["extra"]["pushed"] = json!(true);
    r["extra"]["prUrl"] = json!("http://127.0.0.1:18090/acme/greeter/pull/1");
    r["extra"]["prNumber"] = json!(1);
    app.on_backend(BackendEvent::TaskUpdated(Box::new(t)));
    select(app, "fix-typo-readme");
}

#[test]
fn the_pr_url_is_shown_after_a_restart_and_o_opens_it_y_copies_it() {
    use crate::console::state::Effect;
    let screens = snapshot_sizes("pr_open", pr_open);
    for s in &screens {
        assert!(s.contains("PR open") || s.contains("PR ope"), "{s}");
        assert!(s.contains("pull/1") && s.contains("copies"), "{s}");
    }
    assert!(
        screens[1].contains("open PR in browser"),
        "the footer offers o"
    );
    let mut app = fixture("dark");
    pr_open(&mut app);
    let url = "http://127.0.0.1:18090/acme/greeter/pull/1";
    let fx = app.on_key(key('o'));
    assert!(
        matches!(fx.as_slice(), [Effect::OpenUrl(u)] if u == url),
        "{fx:?}"
    );
    let fx = app.on_key(key('y'));
    assert!(
        matches!(fx.as_slice(), [Effect::Copy(u)] if u == url),
        "{fx:?}"
    );
    // A URL that is not plain http(s) (control bytes, another scheme) is never handed on.
    let mut t = app.mirror.task(&k("fix-typo-readme")).unwrap().into_owned();
    let r = t.status.as_mut().unwrap().result.as_mut().unwrap();
    r["extra"]["prUrl"] = json!("javascript:alert(1)\u{1b}]52;c;x\u{7}");
    app.on_backend(BackendEvent::TaskUpdated(Box::new(t)));
    assert!(app.on_key(key('o')).is_empty() && app.on_key(key('y')).is_empty());
    // Before a push there is no PR: o says what to do.
    select(&mut app, "fix-greeting");
    app.on_key(key('o'));
    assert!(
        app.status
            .as_ref()
            .unwrap()
            .text
            .contains("no pull request"),
        "{:?}",
        app.status
    );
}

#[test]
fn the_fleet_pane_title_keeps_which_scheduler_leads() {
    let screens = snapshot_sizes("fleet_leader", |app| {
        app.on_backend(BackendEvent::Leader("sched-a-4242".into()));
    });
    for s in &screens {
        let title = s.lines().find(|l| l.contains(" Fleet (")).unwrap();
        assert!(title.contains("leader: sched-a-4242"), "{title}");
    }
    // It stays when later news takes the status line, and follows a new holder.
    let mut app = fixture("dark");
    app.on_backend(BackendEvent::Leader("sched-a-4242".into()));
    app.on_backend(BackendEvent::Notice("something else".into()));
    app.on_backend(BackendEvent::Leader("sched-b-7\u{1b}[2J".into()));
    let screen = render(&mut app, 120, 30);
    let title = screen.lines().find(|l| l.contains(" Fleet (")).unwrap();
    assert!(
        title.contains("leader: sched-b-7") && !title.contains('\u{1b}'),
        "{title}"
    );
}
