//! Transcripts from the backend: asked for once, replayed from a journal, appended when they
//! grow, never replacing a live one, dropped on re-queue.

use super::*;

#[test]
fn a_past_run_is_replayed_from_its_journal() {
    use crate::agent::transcript::Record;
    let mut app = fixture("dark");
    let key = TaskKey {
        namespace: "default".into(),
        name: "add-tests".into(),
    };
    let records = vec![
        Record::Meta {
            schema_version: "foreman.transcript.v1".into(),
            task: "add-tests".into(),
            agent: "tiny-coder".into(),
            model: "m".into(),
            base_url: "u".into(),
            started_at: "t".into(),
            max_turns: 9,
        },
        Record::Message {
            turn: 0,
            message: Message::user("Add the missing tests."),
        },
        Record::Message {
            turn: 1,
            message: Message::assistant("Reading the code first."),
        },
        Record::Turn(TurnStats {
            turn: 1,
            elapsed_ms: 900,
            attempts: 1,
            usage: None,
            timings: None,
        }),
        Record::End {
            result: json!({"verdict": "INCOMPLETE", "summary": "interrupted"}),
        },
    ];
    app.on_transcript_loaded(key.clone(), Ok(records));
    assert_eq!(app.turns[&key], (1, 9));
    select(&mut app, "add-tests");
    let screen = render(&mut app, 120, 30);
    assert!(
        screen.contains("Reading the code first.") && screen.contains("turn 1/9"),
        "{screen}"
    );
    assert!(screen.contains("result: INCOMPLETE"), "{screen}");
}

#[test]
fn opening_a_task_asks_the_backend_for_its_transcript_once() {
    use crate::backend::Command;
    use crate::console::state::Effect;
    let mut app = with_remote_running();
    app.focus = crate::console::pane::Focus::Queue;
    // Walk the queue onto the remote run: the UI asks the backend (whatever it is).
    let mut asked = Vec::new();
    for _ in 0..app.mirror.order.len() {
        for e in app.on_key(key('j')) {
            if let Effect::Send(Command::LoadTranscript(k)) = e {
                asked.push(k);
            }
        }
        if app.selected_key() == Some(&k("remote-run")) {
            break;
        }
    }
    for _ in 0..app.mirror.order.len() {
        if app.selected_key() == Some(&k("remote-run")) {
            break;
        }
        for e in app.on_key(key('k')) {
            if let Effect::Send(Command::LoadTranscript(k)) = e {
                asked.push(k);
            }
        }
    }
    assert_eq!(
        asked,
        vec![k("remote-run")],
        "only the remote run has one to load"
    );
    assert!(render(&mut app, 120, 30).contains("loading transcript"));
    // Nothing recorded yet: remembered, not asked again on every move.
    app.on_backend(BackendEvent::Transcript {
        task: k("remote-run"),
        records: Ok(Vec::new()),
    });
    assert!(!app.transcripts.contains_key(&k("remote-run")));
    assert!(render(&mut app, 120, 30).contains("waiting for the run to start"));
    let fx: Vec<Effect> = [key('j'), key('k'), key('k'), key('j')]
        .into_iter()
        .flat_map(|c| app.on_key(c))
        .collect();
    assert!(
        !fx.iter()
            .any(|e| matches!(e, Effect::Send(Command::LoadTranscript(_)))),
        "{fx:?}"
    );
    // The backend sends it by itself once it exists.
    select(&mut app, "remote-run");
    app.on_backend(BackendEvent::Transcript {
        task: k("remote-run"),
        records: Ok(convo_records(2)),
    });
    assert!(render(&mut app, 120, 30).contains("step 2: reading greeter.py"));
    assert_eq!(app.turns[&k("remote-run")].0, 2);
}

#[test]
fn a_grown_transcript_is_appended_keeping_the_readers_place() {
    let mut app = with_remote_running();
    select(&mut app, "remote-run");
    let key = k("remote-run");
    app.on_transcript_loaded(key.clone(), Ok(convo_records(6)));
    render(&mut app, 80, 14);
    assert!(app.transcripts[&key].is_following());
    // Following: the update shows the new tail.
    app.on_backend(BackendEvent::Transcript {
        task: key.clone(),
        records: Ok(convo_records(8)),
    });
    let screen = render(&mut app, 80, 14);
    assert!(app.transcripts[&key].is_following());
    assert!(screen.contains("output of step 8"), "{screen}");
    // Scrolled up: the update lands below, the view stays where the reader is.
    app.focus = crate::console::pane::Focus::Detail;
    app.on_key(KeyEvent::new(KeyCode::PageUp, KeyModifiers::NONE));
    render(&mut app, 80, 14);
    let tr = &app.transcripts[&key];
    assert!(!tr.is_following());
    let (top, total) = (tr.top_row(), tr.total_rows());
    app.on_backend(BackendEvent::Transcript {
        task: key.clone(),
        records: Ok(convo_records(10)),
    });
    render(&mut app, 80, 14);
    let tr = &app.transcripts[&key];
    assert!(!tr.is_following());
    assert_eq!(tr.top_row(), top, "the reader's place is kept");
    assert!(tr.total_rows() > total);
    assert!(tr.new_lines_below() > 0);
    // A rewritten transcript (cut to fit its ConfigMap) replaces the view.
    let mut cut = convo_records(10);
    cut.drain(2..12);
    app.on_backend(BackendEvent::Transcript {
        task: key.clone(),
        records: Ok(cut),
    });
    let screen = render(&mut app, 80, 14);
    assert!(app.transcripts[&key].is_following());
    assert!(screen.contains("output of step 10"), "{screen}");
}

#[test]
fn a_live_transcript_is_never_replaced_by_a_stored_copy() {
    let mut app = fixture("dark");
    let key = k("fix-greeting");
    let cells = app.transcripts[&key].cell_count();
    app.on_backend(BackendEvent::Transcript {
        task: key.clone(),
        records: Ok(convo_records(1)),
    });
    assert_eq!(app.transcripts[&key].cell_count(), cells);
    assert!(!app.loaded.contains_key(&key));
}

#[test]
fn a_task_requeued_elsewhere_drops_its_old_transcript() {
    let mut app = fixture("dark");
    let key = k("add-tests");
    app.on_transcript_loaded(key.clone(), Ok(convo_records(2)));
    assert!(app.transcripts.contains_key(&key));
    let mut t = app.mirror.task(&key).unwrap().into_owned();
    t.status = Some(AgenticTaskStatus {
        phase: Some(TaskPhase::Pending),
        ..Default::default()
    });
    app.on_backend(BackendEvent::TaskUpdated(Box::new(t)));
    assert!(!app.transcripts.contains_key(&key));
    assert!(!app.turns.contains_key(&key));
    // A failed load says why and leaves nothing half-loaded.
    app.on_backend(BackendEvent::Transcript {
        task: key.clone(),
        records: Err(
            "cannot read ConfigMap default/foreman-transcript-add-tests: forbidden".into(),
        ),
    });
    assert!(app.status.as_ref().unwrap().text.contains("forbidden"));
    assert!(!app.loading.contains(&key));
}

#[test]
fn a_turn_without_tokens_shows_a_live_waiting_line_that_goes_with_the_first_token() {
    use crate::agent::LoopEvent;
    use crate::oai::StreamEvent;
    let start = |app: &mut App| {
        select(app, "fix-greeting");
        app.on_backend(BackendEvent::Run {
            task: k("fix-greeting"),
            event: ExecEvent::Loop(LoopEvent::TurnStarted {
                turn: 3,
                max_turns: 4,
            }),
        });
        app.clock = Some(NOW + 12);
    };
    let screens = snapshot_sizes("waiting_for_model", start);
    for s in &screens {
        assert!(s.contains("⠋ waiting for the model · 12 s"), "{s}");
    }
    let mut app = fixture("dark");
    start(&mut app);
    // The timer moves the spinner and asks for a frame; time moves the count.
    assert!(app.on_tick());
    app.clock = Some(NOW + 13);
    let s = render(&mut app, 120, 30);
    assert!(s.contains("⠙ waiting for the model · 13 s"), "{s}");
    // Where the server streams its prompt progress (llama.cpp), the line draws it as a bar.
    app.on_backend(BackendEvent::Run {
        task: k("fix-greeting"),
        event: ExecEvent::Loop(LoopEvent::Stream {
            turn: 3,
            event: StreamEvent::PromptProgress {
                processed: 454,
                total: 970,
            },
        }),
    });
    let s = render(&mut app, 120, 30);
    assert!(
        s.contains("waiting for the model · 13 s · prompt ▰▰▰▰▱▱▱▱▱▱ 46% (454/970)"),
        "{s}"
    );
    // The first token ends the wait.
    app.on_backend(BackendEvent::Run {
        task: k("fix-greeting"),
        event: ExecEvent::Loop(LoopEvent::Stream {
            turn: 3,
            event: StreamEvent::Content("Done".into()),
        }),
    });
    assert!(!render(&mut app, 120, 30).contains("waiting for the model"));
    app.status = None;
    assert!(!app.on_tick(), "nothing moves: no frame needed");
}

#[test]
fn the_agents_worked_examples_are_one_collapsed_labelled_block() {
    use crate::agent::transcript::Record;
    use crate::oai::ToolCall;
    let records = || {
        let mut call = Message::assistant("");
        call.content = None;
        call.tool_calls = Some(vec![ToolCall::new(
            "example_1",
            "str_replace",
            r#"{"path":"hello.py","old_string":"helo","new_string":"hello"}"#,
        )]);
        let msgs = vec![
            Message::system("You are a careful engineer."),
            Message::user("Example: fix the typo in hello.py (Fixes #3)."),
            call,
            Message::tool(
                "example_1",
                "str_replace",
                r#"{"path":"hello.py","replacements":1}"#,
            ),
            Message::user("Fix the greeting."),
        ];
        msgs.into_iter()
            .map(|message| Record::Message { turn: 0, message })
            .collect::<Vec<_>>()
    };
    let load = |app: &mut App| {
        select(app, "add-tests");
        app.on_transcript_loaded(k("add-tests"), Ok(records()));
    };
    let screens = snapshot_sizes("worked_examples", load);
    for s in &screens {
        assert!(s.contains("worked examples (1 turn)"), "{s}");
        assert!(
            !s.contains("hello.py"),
            "collapsed: the example's edit is not drawn as a turn\n{s}"
        );
        assert!(s.contains("Fix the greeting."), "{s}");
    }
    // Expanded, it shows what the example did.
    let mut app = fixture("dark");
    load(&mut app);
    app.focus = crate::console::pane::Focus::Detail;
    app.on_key(key('e'));
    assert!(render(&mut app, 120, 30).contains("hello.py"));
}
