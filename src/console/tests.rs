//! Snapshot tests of every console view at fixed sizes (80x24 and 200x60), after key
//! sequences, on the dark and light themes. The clock is fixed so ages are stable.

use super::draw::draw;
use super::state::App;
use crate::agent::{LoopEvent, TurnStats};
use crate::api::fleetnode::{
    FleetNodeCapability, FleetNodePhase, FleetNodeStatus, NodeAccelerator,
};
use crate::api::{
    AgenticTask, AgenticTaskStatus, FleetNode, FleetNodeSpec, Object, TaskPhase, Verdict, load_str,
};
use crate::backend::BackendEvent;
use crate::config::Config;
use crate::console::theme::Theme;
use crate::executor::ExecEvent;
use crate::fleet::TaskKey;
use crate::oai::{Message, StreamEvent, Timings, ToolCall, Usage};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use serde_json::json;

const NOW: i64 = 1_800_000_000;

fn ts(secs_ago: i64) -> Time {
    Time(jiff::Timestamp::from_second(NOW - secs_ago).unwrap())
}

fn task(name: &str, created_ago: i64, status: AgenticTaskStatus) -> AgenticTask {
    let yaml = format!(
        "apiVersion: foreman.llmkube.dev/v1alpha1\nkind: AgenticTask\nmetadata: {{name: {name}, namespace: default}}\nspec:\n  kind: issue-fix\n  agentRef: {{name: tiny-coder}}\n  payload: {{repo: acme/greeter, issue: 1, prompt: fix}}\n"
    );
    let Object::Task(mut t) = load_str("t", &yaml).unwrap().remove(0) else {
        panic!()
    };
    t.metadata.creation_timestamp = Some(ts(created_ago));
    t.status = Some(status);
    *t
}

fn fixture(theme: &str) -> App {
    let mut warnings = Vec::new();
    let cfg = Config::defaults(&mut warnings);
    let mut app = App::new(
        Theme::builtin(theme).unwrap(),
        cfg.keymap.clone(),
        cfg.ui.bell,
        "embedded · state /home/op/.local/share/foreman · model http://127.0.0.1:8080/v1 · ? for help".into(),
    );
    app.clock = Some(NOW);
    let running = task(
        "fix-greeting",
        90,
        AgenticTaskStatus {
            phase: Some(TaskPhase::Running),
            assigned_node: Some("m5-max".into()),
            ..Default::default()
        },
    );
    let awaiting = task(
        "fix-typo-readme",
        600,
        AgenticTaskStatus {
            phase: Some(TaskPhase::Succeeded),
            assigned_node: Some("m5-max".into()),
            verdict: Some(Verdict::Go),
            result: Some(
                json!({"schemaVersion":"foreman.v1","kind":"native-agent-loop","verdict":"GO","summary":"Fixed the typo.",
            "extra":{"branch":"foreman/issue-7","commitSHA":"0123456789abcdef0123456789abcdef01234567","pushed":false,
            "workspace":"/tmp/ws/default/fix-typo-readme","remote":"http://127.0.0.1:18090/acme/greeter.git","turnCount":2},"elapsedSec":3.2}),
            ),
            ..Default::default()
        },
    );
    let interrupted = task(
        "add-tests",
        3600,
        AgenticTaskStatus {
            phase: Some(TaskPhase::Failed),
            verdict: Some(Verdict::Incomplete),
            conditions: Some(vec![Condition {
                type_: "Completed".into(),
                status: "False".into(),
                reason: "Interrupted".into(),
                message: "the console stopped while this task ran; re-queue it with R".into(),
                last_transition_time: ts(3000),
                observed_generation: None,
            }]),
            ..Default::default()
        },
    );
    let pending = task(
        "bump-deps",
        30,
        AgenticTaskStatus {
            phase: Some(TaskPhase::Pending),
            ..Default::default()
        },
    );
    let mut node = FleetNode::new(
        "m5-max",
        FleetNodeSpec {
            node_name: "m5-max".into(),
            roles: Some(vec!["worker".into()]),
            ..Default::default()
        },
    );
    node.status = Some(FleetNodeStatus {
        phase: Some(FleetNodePhase::Ready),
        last_heartbeat_time: Some(ts(4)),
        capability: Some(FleetNodeCapability {
            accelerator: Some(NodeAccelerator::Metal),
            total_ram_gb: Some(128),
            available_ram_gb: Some(62),
            max_context_tokens: Some(262144),
            tokens_per_second: Some(80),
            ..Default::default()
        }),
        current_task: Some("default/fix-greeting".into()),
        ..Default::default()
    });
    app.on_backend(BackendEvent::Snapshot {
        tasks: vec![running, awaiting, interrupted, pending],
        nodes: vec![node],
        agents: vec![],
    });
    let key = TaskKey {
        namespace: "default".into(),
        name: "fix-greeting".into(),
    };
    let run = |e: ExecEvent| BackendEvent::Run {
        task: key.clone(),
        event: e,
    };
    let lp = |e: LoopEvent| run(ExecEvent::Loop(e));
    app.on_backend(run(ExecEvent::Status(
        "cloning http://127.0.0.1:18090/acme/greeter.git".into(),
    )));
    app.on_backend(lp(LoopEvent::Message {
        turn: 0,
        message: Message::system("You are a careful engineer."),
    }));
    app.on_backend(lp(LoopEvent::Message {
        turn: 0,
        message: Message::user("Fix GitHub issue #1 in acme/greeter."),
    }));
    app.on_backend(lp(LoopEvent::TurnStarted {
        turn: 1,
        max_turns: 4,
    }));
    let mut call = Message::assistant("");
    call.content = None;
    call.tool_calls = Some(vec![ToolCall::new(
        "c1",
        "str_replace",
        r#"{"path":"greeter.py","old_string":"Helo","new_string":"Hello"}"#,
    )]);
    app.on_backend(lp(LoopEvent::Message {
        turn: 1,
        message: call,
    }));
    app.on_backend(lp(LoopEvent::Message {
        turn: 1,
        message: Message::tool(
            "c1",
            "str_replace",
            r#"{"path":"greeter.py","replacements":1}"#,
        ),
    }));
    app.on_backend(lp(LoopEvent::TurnFinished(TurnStats {
        turn: 1,
        elapsed_ms: 780,
        attempts: 1,
        usage: Some(Usage {
            prompt_tokens: 1762,
            completion_tokens: 33,
            total_tokens: 1795,
        }),
        timings: Some(Timings {
            predicted_per_second: Some(71.5),
            ..Default::default()
        }),
    })));
    app.on_backend(lp(LoopEvent::TurnStarted {
        turn: 2,
        max_turns: 4,
    }));
    app.on_backend(lp(LoopEvent::Stream {
        turn: 2,
        event: StreamEvent::Content("The typo is fixed; I will now report the res".into()),
    }));
    app
}

fn key(c: char) -> KeyEvent {
    KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)
}

fn render(app: &mut App, w: u16, h: u16) -> String {
    let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
    // Twice: the first frame lays the panes out (prepare), as the real loop does.
    term.draw(|f| draw(f, app)).unwrap();
    term.draw(|f| draw(f, app)).unwrap();
    format!("{}", term.backend())
}

fn select(app: &mut App, name: &str) {
    let i = app.order.iter().position(|k| k.name == name).unwrap();
    app.selected = i;
}

#[test]
fn main_view_80x24_and_200x60() {
    let mut app = fixture("dark");
    select(&mut app, "fix-greeting");
    insta::assert_snapshot!("main_80x24", render(&mut app, 80, 24));
    insta::assert_snapshot!("main_200x60", render(&mut app, 200, 60));
}

#[test]
fn awaiting_task_footer_offers_approval_and_confirm_shows_the_push() {
    let mut app = fixture("dark");
    select(&mut app, "fix-typo-readme");
    let screen = render(&mut app, 120, 30);
    assert!(screen.contains("approve push"), "{screen}");
    insta::assert_snapshot!("awaiting_120x30", screen);
    app.on_key(key('a'));
    let screen = render(&mut app, 120, 30);
    assert!(
        screen.contains("foreman/issue-7") && screen.contains("0123456789abcdef"),
        "{screen}"
    );
    insta::assert_snapshot!("confirm_push_120x30", screen);
}

#[test]
fn help_overlay_lists_every_command_from_the_registry() {
    let mut app = fixture("dark");
    app.on_key(key('?'));
    let screen = render(&mut app, 200, 60);
    for c in super::commands::COMMANDS {
        assert!(
            screen.contains(c.label),
            "help lacks {:?}:\n{screen}",
            c.label
        );
    }
    insta::assert_snapshot!("help_200x60", screen);
}

#[test]
fn search_and_pane_focus_after_keys() {
    let mut app = fixture("dark");
    select(&mut app, "fix-greeting");
    for c in ['/', 'H', 'e', 'l', 'o'] {
        app.on_key(key(c));
    }
    insta::assert_snapshot!("search_typing_80x24", render(&mut app, 80, 24));
    app.on_key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE));
    app.on_key(KeyEvent::new(KeyCode::Tab, KeyModifiers::NONE));
    insta::assert_snapshot!("search_done_80x24", render(&mut app, 80, 24));
}

#[test]
fn light_and_dark_themes_style_the_same_frame_differently() {
    let mut dark = fixture("dark");
    let mut light = fixture("light");
    let mut a = Terminal::new(TestBackend::new(80, 24)).unwrap();
    let mut b = Terminal::new(TestBackend::new(80, 24)).unwrap();
    a.draw(|f| draw(f, &mut dark)).unwrap();
    b.draw(|f| draw(f, &mut light)).unwrap();
    assert_eq!(
        format!("{}", a.backend()),
        format!("{}", b.backend()),
        "same text"
    );
    assert_ne!(
        a.backend().buffer(),
        b.backend().buffer(),
        "different styles"
    );
    insta::assert_debug_snapshot!("light_80x24_styled", b.backend().buffer());
}

#[test]
fn tiny_and_odd_sizes_never_panic() {
    let mut app = fixture("dark");
    for (w, h) in [
        (1, 1),
        (10, 3),
        (39, 9),
        (40, 10),
        (41, 11),
        (300, 5),
        (5, 300),
    ] {
        render(&mut app, w, h);
    }
    assert!(render(&mut app, 20, 5).contains("too small"));
}

#[test]
fn unavailable_commands_say_so_instead_of_acting() {
    let mut app = fixture("dark");
    select(&mut app, "bump-deps");
    let fx = app.on_key(key('a'));
    assert!(fx.is_empty());
    assert!(app.status.as_ref().unwrap().0.contains("not available"));
    assert_eq!(app.mode, super::state::Mode::Normal);
}

#[test]
fn a_failed_run_says_why_in_the_status_line_and_context_fill_uses_the_node_window() {
    let mut app = fixture("dark");
    // The running task's node advertises 262,144 tokens: the fill meter has a window.
    let key = TaskKey {
        namespace: "default".into(),
        name: "fix-greeting".into(),
    };
    assert!(app.transcripts[&key].context_fill().is_some());
    let mut failed = app.tasks[&key].clone();
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
    let (msg, level, _) = app.status.clone().unwrap();
    assert_eq!(level, super::state::Level::Error);
    assert!(
        msg.contains("ExecutorError") && msg.contains("llama.cpp server"),
        "{msg}"
    );
}

#[test]
fn mouse_focuses_panes_selects_rows_and_scrolls_the_transcript() {
    use crossterm::event::{MouseButton, MouseEvent, MouseEventKind};
    let mut app = fixture("dark");
    render(&mut app, 120, 30);
    let click = |col: u16, row: u16| MouseEvent {
        kind: MouseEventKind::Down(MouseButton::Left),
        column: col,
        row,
        modifiers: KeyModifiers::NONE,
    };
    // Queue rows start two rows below the pane's top border (border, header).
    let q = app.regions.queue;
    app.on_mouse(click(q.x + 2, q.y + 3));
    assert_eq!(app.focus, super::state::Focus::Queue);
    assert_eq!(app.selected, 1);
    select(&mut app, "fix-greeting");
    // Short enough that the transcript overflows the pane.
    render(&mut app, 80, 14);
    let key = TaskKey {
        namespace: "default".into(),
        name: "fix-greeting".into(),
    };
    assert!(app.transcripts[&key].is_following());
    let d = app.regions.detail;
    app.on_mouse(MouseEvent {
        kind: MouseEventKind::ScrollUp,
        column: d.x + 5,
        row: d.y + 5,
        modifiers: KeyModifiers::NONE,
    });
    assert!(
        !app.transcripts[&key].is_following(),
        "wheel up pauses follow"
    );
    assert_eq!(
        app.focus,
        super::state::Focus::Queue,
        "scrolling does not steal focus"
    );
    app.on_mouse(click(d.x + 5, d.y + 5));
    assert_eq!(app.focus, super::state::Focus::Detail);
}

#[test]
fn the_bell_rings_only_as_configured() {
    use super::state::Effect;
    let awaiting = |app: &mut App| {
        let key = TaskKey {
            namespace: "default".into(),
            name: "bump-deps".into(),
        };
        let mut t = app.tasks[&key].clone();
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

fn k(name: &str) -> TaskKey {
    TaskKey::new("default", name)
}

/// A conversation of `turns` tool turns as journal records (what a ConfigMap converts to).
fn convo_records(turns: u32) -> Vec<crate::agent::transcript::Record> {
    use crate::agent::transcript::Record;
    let mut out = vec![
        Record::Message {
            turn: 0,
            message: Message::system("You are a careful engineer."),
        },
        Record::Message {
            turn: 0,
            message: Message::user("Fix the greeting."),
        },
    ];
    for t in 1..=turns {
        out.push(Record::Message {
            turn: t,
            message: Message::assistant(format!("step {t}: reading greeter.py")),
        });
        out.push(Record::Message {
            turn: t,
            message: Message::tool(format!("c{t}"), "bash", format!("output of step {t}")),
        });
    }
    out
}

/// The fixture plus a task running on another node (nothing streams here).
fn with_remote_running() -> App {
    let mut app = fixture("dark");
    let t = task(
        "remote-run",
        5,
        AgenticTaskStatus {
            phase: Some(TaskPhase::Running),
            assigned_node: Some("other-node".into()),
            ..Default::default()
        },
    );
    app.on_backend(BackendEvent::TaskUpdated(Box::new(t)));
    app
}

#[test]
fn deletions_and_agents_and_workloads_update_the_state() {
    let mut app = fixture("dark");
    select(&mut app, "add-tests");
    app.on_transcript_loaded(k("add-tests"), Ok(convo_records(1)));
    assert!(app.transcripts.contains_key(&k("add-tests")));
    app.on_backend(BackendEvent::TaskDeleted(k("add-tests")));
    assert!(!app.tasks.contains_key(&k("add-tests")));
    assert!(!app.transcripts.contains_key(&k("add-tests")));
    assert!(!app.order.contains(&k("add-tests")));
    assert_eq!(app.order.len(), 3);
    app.on_backend(BackendEvent::NodeDeleted("m5-max".into()));
    assert!(app.nodes.is_empty());
    let agent = match load_str("a", "apiVersion: foreman.llmkube.dev/v1alpha1\nkind: Agent\nmetadata: {name: coder, namespace: team}\nspec: {role: coder, tools: [bash]}\n").unwrap().remove(0) {
        Object::Agent(a) => a,
        _ => panic!("not an agent"),
    };
    app.on_backend(BackendEvent::AgentUpdated(agent));
    assert!(app.agents.contains_key(&("team".into(), "coder".into())));
    app.on_backend(BackendEvent::AgentDeleted {
        namespace: "team".into(),
        name: "coder".into(),
    });
    assert!(app.agents.is_empty());
    let wl = match load_str("w", "apiVersion: foreman.llmkube.dev/v1alpha1\nkind: Workload\nmetadata: {name: wl}\nspec: {intent: fix things}\n").unwrap().remove(0) {
        Object::Workload(w) => w,
        _ => panic!("not a workload"),
    };
    app.on_backend(BackendEvent::WorkloadUpdated(wl));
    assert_eq!(app.workloads.len(), 1);
    app.on_backend(BackendEvent::WorkloadDeleted {
        namespace: "default".into(),
        name: "wl".into(),
    });
    assert!(app.workloads.is_empty());
    // Unknown deletions are harmless.
    app.on_backend(BackendEvent::TaskDeleted(k("nope")));
    assert_eq!(app.order.len(), 3);
}

#[test]
fn opening_a_task_asks_the_backend_for_its_transcript_once() {
    use super::state::Effect;
    use crate::backend::Command;
    let mut app = with_remote_running();
    app.focus = super::state::Focus::Queue;
    // Walk the queue onto the remote run: the UI asks the backend (whatever it is).
    let mut asked = Vec::new();
    for _ in 0..app.order.len() {
        for e in app.on_key(key('j')) {
            if let Effect::Send(Command::LoadTranscript(k)) = e {
                asked.push(k);
            }
        }
        if app.selected_key() == Some(&k("remote-run")) {
            break;
        }
    }
    for _ in 0..app.order.len() {
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
    app.focus = super::state::Focus::Detail;
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
    let mut t = app.tasks[&key].clone();
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
    assert!(app.status.as_ref().unwrap().0.contains("forbidden"));
    assert!(!app.loading.contains(&key));
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
