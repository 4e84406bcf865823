//! Request changes (`c`): the multi-line editor takes text and newlines, ctrl-s sends the
//! backend the feedback for the selected GO, Esc drops an empty draft at once and a typed one
//! only after `y`, the diff view pre-fills `file:line: `, and the Agent's
//! `maxReviewIterations` is enforced before anything is sent.

use super::*;
use crate::backend::Command;
use crate::console::diff::DiffView;
use crate::console::pane::View;
use crate::console::state::{Effect, Intent, Mode};
use crate::workspace::FileDiff;

fn ctrl(c: char) -> KeyEvent {
    KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL)
}
fn code(c: KeyCode) -> KeyEvent {
    KeyEvent::new(c, KeyModifiers::NONE)
}
fn typed(app: &mut App, s: &str) {
    for c in s.chars() {
        app.on_key(if c == '\n' {
            code(KeyCode::Enter)
        } else {
            key(c)
        });
    }
}
fn draft(app: &App) -> String {
    match &app.mode {
        Mode::Feedback(fb) => fb.text.clone(),
        other => panic!("the editor is not open: {other:?}"),
    }
}

/// The fixture's Agent `tiny-coder` with `maxReviewIterations: max`.
fn agent_with_limit(app: &mut App, max: u32) {
    let yaml = format!(
        "apiVersion: foreman.llmkube.dev/v1alpha1\nkind: Agent\nmetadata: {{name: tiny-coder, namespace: default}}\nspec: {{role: coder, tools: [bash], maxReviewIterations: {max}}}\n"
    );
    let Object::Agent(a) = load_str("a", &yaml).unwrap().remove(0) else {
        panic!("not an agent")
    };
    app.on_backend(BackendEvent::AgentUpdated(a));
}

/// The awaiting task as if changes were requested `n` times already.
fn reviewed(app: &mut App, n: u32) {
    let mut t = app.mirror.task(&k("fix-typo-readme")).unwrap().into_owned();
    let s = t.status.as_mut().unwrap();
    s.result.as_mut().unwrap()["extra"]["reviewIteration"] = n.into();
    app.on_backend(BackendEvent::TaskUpdated(Box::new(t)));
}

#[test]
fn typing_newlines_and_ctrl_s_send_the_feedback_for_the_selected_go() {
    let mut app = fixture("dark");
    select(&mut app, "fix-typo-readme");
    assert!(app.on_key(key('c')).is_empty());
    assert_eq!(draft(&app), "");
    typed(&mut app, "Add a test.\nREADME.md:2: not this wordx");
    app.on_key(code(KeyCode::Backspace));
    // Keys bound elsewhere (q quits, a approves) are text here.
    assert_eq!(draft(&app), "Add a test.\nREADME.md:2: not this word");
    assert!(!app.quit);
    let fx = app.on_key(ctrl('s'));
    assert_eq!(app.mode, Mode::Normal);
    match fx.as_slice() {
        [Effect::Send(Command::RequestChanges { task, feedback })] => {
            assert_eq!(*task, k("fix-typo-readme"));
            assert_eq!(feedback, "Add a test.\nREADME.md:2: not this word");
        }
        other => panic!("expected RequestChanges, got {other:?}"),
    }
    assert!(
        app.status
            .as_ref()
            .unwrap()
            .text
            .contains("requesting changes")
    );
}

#[test]
fn empty_feedback_is_not_sent_and_esc_asks_before_dropping_a_draft() {
    let mut app = fixture("dark");
    select(&mut app, "fix-typo-readme");
    app.on_key(key('c'));
    typed(&mut app, "  \n ");
    assert!(
        app.on_key(ctrl('s')).is_empty(),
        "blank feedback is not sent"
    );
    assert!(
        matches!(app.mode, Mode::Feedback(_)),
        "the editor stays open"
    );
    assert!(app.status.as_ref().unwrap().text.contains("empty feedback"));
    // A blank draft closes at once.
    app.on_key(code(KeyCode::Esc));
    assert_eq!(app.mode, Mode::Normal);
    // A typed one asks; any key but y goes back to it, y drops it.
    app.on_key(key('c'));
    typed(&mut app, "rename it");
    app.on_key(code(KeyCode::Esc));
    assert!(
        matches!(&app.mode, Mode::Confirm(Intent::DiscardFeedback(fb)) if fb.text == "rename it")
    );
    let screen = render(&mut app, 80, 24);
    assert!(
        screen.contains("Discard feedback") && screen.contains("y/N"),
        "{screen}"
    );
    app.on_key(code(KeyCode::Enter));
    assert_eq!(draft(&app), "rename it", "enter does not discard");
    app.on_key(code(KeyCode::Esc));
    assert!(app.on_key(key('y')).is_empty());
    assert_eq!(app.mode, Mode::Normal);
    assert_eq!(app.status.as_ref().unwrap().text, "feedback discarded");
}

#[test]
fn the_agents_review_limit_refuses_before_anything_is_sent() {
    let mut app = fixture("dark");
    select(&mut app, "fix-typo-readme");
    agent_with_limit(&mut app, 1);
    reviewed(&mut app, 1);
    assert!(app.on_key(key('c')).is_empty());
    assert_eq!(app.mode, Mode::Normal, "the editor does not open");
    let said = &app.status.as_ref().unwrap().text;
    assert!(said.contains("maxReviewIterations is 1"), "{said}");
    // Within the limit it opens and says which review this is; reached meanwhile (another
    // console asked first), ctrl-s closes it without sending.
    reviewed(&mut app, 0);
    app.on_key(key('c'));
    assert!(render(&mut app, 120, 30).contains("review 1 of 1"));
    typed(&mut app, "again");
    reviewed(&mut app, 1);
    assert!(app.on_key(ctrl('s')).is_empty());
    assert_eq!(app.mode, Mode::Normal);
    assert!(
        app.status
            .as_ref()
            .unwrap()
            .text
            .contains("maxReviewIterations")
    );
}

#[test]
fn c_applies_only_to_a_go_awaiting_approval() {
    let mut app = fixture("dark");
    select(&mut app, "fix-greeting");
    assert!(app.on_key(key('c')).is_empty());
    assert_eq!(app.mode, Mode::Normal);
    assert_eq!(
        app.status.as_ref().unwrap().text,
        "request changes: the run has not finished (steer it: m)"
    );
}

#[test]
fn from_the_diff_c_starts_with_the_file_and_line_at_the_top() {
    let mut app = fixture("dark");
    select(&mut app, "fix-typo-readme");
    let patch = "diff --git a/src/greet.py b/src/greet.py\n--- a/src/greet.py\n+++ b/src/greet.py\n@@ -10,3 +10,3 @@\n def greet():\n-    print('Helo')\n+    print('Hello')\n     return 0\n@@ -40,2 +40,3 @@\n x = 1\n+y = 2\n z = 3\n";
    let files = vec![FileDiff {
        old_path: Some("src/greet.py".into()),
        new_path: Some("src/greet.py".into()),
        additions: 2,
        deletions: 1,
        patch: patch.into(),
        binary: false,
    }];
    app.on_diff_loaded(k("fix-typo-readme"), DiffView::new(files));
    render(&mut app, 120, 30);
    app.on_key(key('c'));
    assert_eq!(
        draft(&app),
        "src/greet.py:11: ",
        "the first hunk's added line"
    );
    app.on_key(code(KeyCode::Esc));
    app.on_key(key('y'));
    app.on_key(key(']'));
    app.on_key(key('c'));
    assert_eq!(draft(&app), "src/greet.py:41: ", "the next hunk's");
    typed(&mut app, "why y?");
    let fx = app.on_key(ctrl('s'));
    assert!(
        matches!(fx.as_slice(), [Effect::Send(Command::RequestChanges { feedback, .. })]
        if feedback == "src/greet.py:41: why y?")
    );
    assert_eq!(
        crate::executor::review::line_comments("src/greet.py:41: why y?")[0].line,
        41
    );
    assert_eq!(app.view, View::Transcript, "the reviewed diff is closed");
    assert!(app.diff.is_none());
}

#[test]
fn the_editor_at_80x24_and_120x30() {
    let screens = snapshot_sizes("feedback_editor", |app| {
        select(app, "fix-typo-readme");
        app.on_key(key('c'));
        typed(
            app,
            "Please also mention CONTRIBUTING in the README.\nREADME.md:2: keep the old wording here",
        );
    });
    for s in &screens {
        assert!(
            s.contains("Request changes · fix-typo-readme · review 1"),
            "{s}"
        );
        assert!(
            s.contains("ctrl-s send") && s.contains("README.md:2: keep"),
            "{s}"
        );
    }
    let empty = snapshot_sizes("feedback_editor_empty", |app| {
        select(app, "fix-typo-readme");
        app.on_key(key('c'));
    });
    assert!(empty[0].contains("path:LINE: comment"), "{}", empty[0]);
}

#[test]
fn the_feedback_in_a_revisions_transcript_is_labelled_as_the_operators() {
    use crate::agent::LoopEvent;
    use crate::executor::review::FEEDBACK_PREFIX;
    let mut app = fixture("dark");
    select(&mut app, "fix-greeting");
    let text = format!("{FEEDBACK_PREFIX} (review 1 of at most 3):\n\nAdd a test.\n");
    app.on_backend(BackendEvent::Run {
        task: k("fix-greeting"),
        event: ExecEvent::Loop(LoopEvent::Message {
            turn: 2,
            message: Message::user(text),
        }),
    });
    let screen = render(&mut app, 120, 30);
    assert!(screen.contains("operator · requested changes"), "{screen}");
    assert!(screen.contains("Add a test."), "{screen}");
}
