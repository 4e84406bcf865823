//! The coder gate in the console (issue 12): the queue's GATE column (pending while the gate
//! runs, passed or failed with its duration after), the failed gate's output under the
//! transcript, and the second, y-only confirmation of a push whose commit failed its gate.

use super::*;
use crate::api::gate::{GateRun, GateStatus};
use crate::console::state::{Effect, Intent, Mode};

fn failed_gate() -> serde_json::Value {
    json!({"status": "failed", "attempt": 3, "durationMs": 2400, "command": "cargo test",
           "exitCode": 101, "output": "$ cargo test\n   Compiling greeter v0.1.0\nrunning 2 tests\ntest greets ... ok\ntest says_hello ... FAILED\nassertion failed: left == right\n  left: \"Helo\"\n right: \"Hello\"\ntest result: FAILED. 1 passed; 1 failed\n\n(exit code 101)\n",
           "commit": "0123456789abcdef0123456789abcdef01234567"})
}

/// The fixture with the awaiting task's commit failed by its gate (retries used up) and the
/// running task's gate pending.
fn gated() -> App {
    let mut app = fixture("dark");
    let k = TaskKey::new("default", "fix-typo-readme");
    let mut t = app.mirror.task(&k).unwrap().into_owned();
    if let Some(r) = t.status.as_mut().and_then(|s| s.result.as_mut()) {
        r["extra"]["gate"] = failed_gate();
    }
    app.on_backend(BackendEvent::TaskUpdated(Box::new(t)));
    let pending = GateRun {
        status: GateStatus::Pending,
        attempt: 1,
        duration_ms: 0,
        command: None,
        exit_code: None,
        timed_out: false,
        output: String::new(),
        commit: None,
    };
    app.on_backend(BackendEvent::Run {
        task: TaskKey::new("default", "fix-greeting"),
        event: ExecEvent::Gate(pending),
    });
    app
}

#[test]
fn the_gate_column_and_the_failed_output_at_80x24_and_120x30() {
    let mut app = gated();
    select(&mut app, "fix-typo-readme");
    let wide = render(&mut app, 120, 30);
    assert!(
        wide.contains("GATE") && wide.contains("failed 2.4s"),
        "{wide}"
    );
    assert!(wide.contains("pending"), "{wide}");
    assert!(
        wide.contains("gate 3 · failed 2.4s · cargo test · exit 101"),
        "{wide}"
    );
    assert!(
        wide.contains("test result: FAILED. 1 passed; 1 failed"),
        "{wide}"
    );
    insta::assert_snapshot!("gate_120x30", wide);
    let narrow = render(&mut app, 80, 24);
    assert!(
        narrow.contains("GATE") && narrow.contains("failed"),
        "{narrow}"
    );
    insta::assert_snapshot!("gate_80x24", narrow);
}

#[test]
fn queues_without_gates_have_no_gate_column() {
    let mut app = fixture("dark");
    assert!(!render(&mut app, 120, 30).contains("GATE"));
}

#[test]
fn approving_a_failed_gate_asks_twice_and_only_y_confirms_the_second() {
    let mut app = gated();
    select(&mut app, "fix-typo-readme");
    app.on_key(key('a'));
    let first = render(&mut app, 120, 30);
    assert!(first.contains("gate    failed 2.4s"), "{first}");
    // The first y does not push: it asks again.
    assert!(app.on_key(key('y')).is_empty());
    let k = TaskKey::new("default", "fix-typo-readme");
    assert_eq!(
        app.mode,
        Mode::Confirm(Intent::ApproveFailedGate(k.clone()))
    );
    let second = render(&mut app, 120, 30);
    assert!(second.contains("Push it anyway? y/N"), "{second}");
    // Enter, which confirms the usual step, cancels this one.
    let enter = KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE);
    assert!(app.on_key(enter).is_empty());
    assert_eq!(app.mode, Mode::Normal);
    app.on_key(key('a'));
    app.on_key(key('y'));
    let fx = app.on_key(key('y'));
    assert!(
        matches!(fx.as_slice(), [Effect::Send(crate::backend::Command::ApprovePush(t))] if *t == k),
        "{fx:?}"
    );
}

#[test]
fn a_passed_gate_is_approved_with_one_confirmation() {
    let mut app = fixture("dark");
    let k = TaskKey::new("default", "fix-typo-readme");
    let mut t = app.mirror.task(&k).unwrap().into_owned();
    if let Some(r) = t.status.as_mut().and_then(|s| s.result.as_mut()) {
        r["extra"]["gate"] = json!({"status": "passed", "attempt": 1, "durationMs": 900});
    }
    app.on_backend(BackendEvent::TaskUpdated(Box::new(t)));
    select(&mut app, "fix-typo-readme");
    app.on_key(key('a'));
    let fx = app.on_key(key('y'));
    assert!(
        matches!(fx.as_slice(), [Effect::Send(crate::backend::Command::ApprovePush(t))] if *t == k),
        "{fx:?}"
    );
}

#[test]
fn m_on_a_running_task_sends_a_note_and_is_refused_elsewhere() {
    let mut app = fixture("dark");
    select(&mut app, "fix-greeting");
    app.on_key(key('m'));
    for c in "use v2".chars() {
        app.on_key(key(c));
    }
    let screen = render(&mut app, 120, 30);
    assert!(screen.contains("note to fix-greeting: use v2"), "{screen}");
    let enter = KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE);
    let fx = app.on_key(enter);
    assert!(
        matches!(fx.as_slice(), [Effect::Send(crate::backend::Command::Note { task, text })]
            if task.name == "fix-greeting" && text == "use v2"),
        "{fx:?}"
    );
    select(&mut app, "fix-typo-readme");
    assert!(app.on_key(key('m')).is_empty());
    assert_eq!(app.mode, Mode::Normal, "no note to a run that is not live");
}
