//! A decision written for the node that ran a task (issue 13): the line atop its transcript
//! while it waits (and when that node is gone), and `u` withdrawing it through the confirm.

use super::*;
use crate::console::state::{Effect, Intent, Mode};
use crate::fleet::decision::{ANNOTATION, Action, Decision};

/// The fixture with an approval by alice@prod waiting on `fix-typo-readme` (run by m5-max).
fn decided() -> (App, Decision) {
    let mut app = fixture("dark");
    let k = TaskKey::new("default", "fix-typo-readme");
    let mut t = app.mirror.task(&k).unwrap().into_owned();
    let at = jiff::Timestamp::from_second(NOW - 60).unwrap();
    let d = Decision::new(Action::Approve, None, "alice@prod", at).unwrap();
    t.metadata.annotations = Some([(ANNOTATION.to_string(), d.to_json())].into());
    app.on_backend(BackendEvent::TaskUpdated(Box::new(t)));
    select(&mut app, "fix-typo-readme");
    (app, d)
}

#[test]
fn a_waiting_decision_names_its_node_and_says_when_the_node_is_gone() {
    let (mut app, _) = decided();
    let live = render(&mut app, 120, 30);
    assert!(
        live.contains("approve the push waits for node m5-max (decided by alice@prod)"),
        "{live}"
    );
    // m5-max's heartbeat stops: five minutes later the line says it is gone.
    let mut node = fixture_node();
    node.status.as_mut().unwrap().last_heartbeat_time = Some(ts(300));
    app.on_backend(BackendEvent::NodeUpdated(Box::new(node)));
    let gone = render(&mut app, 120, 30);
    assert!(
        gone.contains("waits for node m5-max, gone 5m; withdraw it"),
        "{gone}"
    );
}

#[test]
fn u_withdraws_a_pending_decision_after_the_confirm() {
    let (mut app, d) = decided();
    let k = TaskKey::new("default", "fix-typo-readme");
    assert!(app.on_key(key('u')).is_empty());
    assert_eq!(app.mode, Mode::Confirm(Intent::WithdrawDecision(k.clone())));
    let dialog = render(&mut app, 120, 30);
    assert!(
        dialog.contains("Withdraw decision") && dialog.contains(&d.describe()[..30]),
        "{dialog}"
    );
    let fx = app.on_key(key('y'));
    assert!(
        matches!(fx.as_slice(), [Effect::Send(crate::backend::Command::WithdrawDecision(t))] if *t == k),
        "{fx:?}"
    );
    // Without a decision, `u` does nothing.
    select(&mut app, "bump-deps");
    assert!(app.on_key(key('u')).is_empty());
    assert_eq!(app.mode, Mode::Normal);
}

/// Another console wrote the annotation: an escape sequence in it never reaches the terminal.
#[test]
fn a_decision_from_another_writer_is_drawn_terminal_safe() {
    let mut app = fixture("dark");
    let k = TaskKey::new("default", "fix-typo-readme");
    let mut t = app.mirror.task(&k).unwrap().into_owned();
    let at = jiff::Timestamp::from_second(NOW - 60).unwrap();
    let d = Decision::new(Action::Reject, None, "eve\u{1b}[2J@ctx", at).unwrap();
    t.metadata.annotations = Some([(ANNOTATION.to_string(), d.to_json())].into());
    app.on_backend(BackendEvent::TaskUpdated(Box::new(t)));
    select(&mut app, "fix-typo-readme");
    let note = crate::console::decision::note(&app).unwrap().0;
    assert!(
        !note.contains('\u{1b}') && note.contains("decided by eve"),
        "{note:?}"
    );
}
