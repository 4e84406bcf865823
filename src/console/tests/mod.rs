//! Tests of the console's state and drawing, by concern: every view as a snapshot at fixed
//! sizes (`views`), keys and mouse (`input`), what backend events do (`events`) and stored
//! transcripts (`transcripts`). Here: the shared fixture, a small fleet with one live run, on
//! a fixed clock so ages are stable.

mod attempts;
mod decision;
mod diff;
mod diff_scope;
mod events;
mod feedback;
mod gate;
mod input;
mod journals;
mod queue;
mod scopes;
mod summaries;
mod transcripts;
mod views;
mod workloads;

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

/// The console on the fixture fleet, `fix-greeting` streaming its second turn.
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
    app.on_backend(BackendEvent::Snapshot {
        tasks: fixture_tasks()
            .into_iter()
            .map(crate::fleet::held::Held::keyed)
            .collect(),
        nodes: vec![fixture_node()],
        agents: vec![],
    });
    stream_first_turns(&mut app);
    app
}

/// The queue: a running task, a GO awaiting approval, an interrupted run and a pending one.
fn fixture_tasks() -> Vec<AgenticTask> {
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
    vec![running, awaiting, interrupted, pending]
}

/// The one node, Ready, running `fix-greeting`.
fn fixture_node() -> FleetNode {
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
    node
}

/// `fix-greeting`'s live run: the opening messages, a tool turn, the next turn streaming.
fn stream_first_turns(app: &mut App) {
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

/// The drawn buffer as plain text rows (no quotes, no styles), for tests that read the screen.
pub(super) fn screen_lines(term: &Terminal<TestBackend>) -> Vec<String> {
    let buf = term.backend().buffer();
    (0..buf.area.height)
        .map(|y| {
            (0..buf.area.width)
                .map(|x| buf[(x, y)].symbol().to_string())
                .collect::<String>()
        })
        .collect()
}

/// [`screen_lines`] joined by newlines.
pub(super) fn screen(term: &Terminal<TestBackend>) -> String {
    screen_lines(term).join("\n")
}

fn select(app: &mut App, name: &str) {
    let i = app
        .mirror
        .order
        .iter()
        .position(|k| k.name == name)
        .unwrap();
    app.selected = i;
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

/// The fixed-point snapshots: `setup` run on the fixture in the dark and the light theme, the
/// frame drawn at 80x24, 120x30 and 200x60. The text is the same in both themes (asserted) and
/// snapshotted once per size as `NAME_WxH`; the styles differ (asserted). Returns the screens.
fn snapshot_sizes(name: &str, setup: impl Fn(&mut App)) -> Vec<String> {
    let mut screens = Vec::new();
    for (w, h) in [(80, 24), (120, 30), (200, 60)] {
        let mut frames = Vec::new();
        for theme in ["dark", "light"] {
            let mut app = fixture(theme);
            setup(&mut app);
            let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
            term.draw(|f| draw(f, &mut app)).unwrap();
            term.draw(|f| draw(f, &mut app)).unwrap();
            frames.push((
                format!("{}", term.backend()),
                term.backend().buffer().clone(),
            ));
        }
        assert_eq!(
            frames[0].0, frames[1].0,
            "{name} {w}x{h}: same text in both themes"
        );
        assert_ne!(
            frames[0].1, frames[1].1,
            "{name} {w}x{h}: themes style it differently"
        );
        insta::assert_snapshot!(format!("{name}_{w}x{h}"), frames[0].0);
        screens.push(frames.remove(0).0);
    }
    screens
}
