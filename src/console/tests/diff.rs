//! The diff comes through the backend: the diff key sends a command naming the task (the
//! backend finds the workspace, wherever it is), and the answer is built into a view off the
//! UI thread, then shown.

use super::*;
use crate::backend::{BackendHandle, Command};
use crate::console::pane::View;
use crate::console::state::{Effect, Level};
use crate::console::{JobEvent, carry_out, on_job};
use crate::workspace::FileDiff;
use tokio::sync::{mpsc, watch};

fn readme_fix() -> Vec<FileDiff> {
    vec![FileDiff {
        old_path: Some("README.md".into()),
        new_path: Some("README.md".into()),
        additions: 1,
        deletions: 1,
        patch: "diff --git a/README.md b/README.md\n--- a/README.md\n+++ b/README.md\n@@ -1,2 +1,2 @@\n # Greeter\n-teh greeter\n+the greeter\n".into(),
        binary: false,
    }]
}

#[tokio::test]
async fn the_diff_key_asks_the_backend_and_its_answer_is_shown() {
    let mut app = fixture("dark");
    select(&mut app, "fix-typo-readme");
    let (cmd_tx, mut cmd_rx) = mpsc::unbounded_channel();
    let (_stop, stopped) = watch::channel(false);
    let backend = BackendHandle::new(cmd_tx, stopped);
    let (job_tx, mut job_rx) = mpsc::unbounded_channel::<JobEvent>();

    // The key sends the backend a command naming the task, not a path to open here.
    for e in app.on_key(key('d')) {
        carry_out(e, &backend, &job_tx);
    }
    match cmd_rx.try_recv() {
        Ok(Command::LoadDiff(t)) => assert_eq!(t, k("fix-typo-readme")),
        other => panic!("expected LoadDiff, got {other:?}"),
    }
    assert!(cmd_rx.try_recv().is_err(), "one command");
    assert_eq!(app.view, View::Transcript, "nothing to show yet");

    // The backend's answer is built off the UI thread, then opens the diff pane.
    let fx = app.on_backend(BackendEvent::Diff {
        task: k("fix-typo-readme"),
        files: Ok(readme_fix()),
        latest: None,
    });
    assert!(matches!(fx.as_slice(), [Effect::BuildDiff(t, _)] if *t == k("fix-typo-readme")));
    for e in fx {
        carry_out(e, &backend, &job_tx);
    }
    let syntax = app.theme.syntax_theme.clone();
    let built = job_rx.recv().await.expect("the diff view is built");
    assert!(matches!(&built, JobEvent::Diff(t, _) if *t == k("fix-typo-readme")));
    on_job(&mut app, built, &job_tx, &syntax);
    assert_eq!(app.view, View::Diff);
    let screen = render(&mut app, 120, 30);
    assert!(
        screen.contains("Diff · default/fix-typo-readme")
            && screen.contains("the greeter")
            && screen.contains("teh greeter"),
        "{screen}"
    );

    // Back to the transcript and again: the loaded diff opens without asking twice.
    app.on_key(key('t'));
    assert_eq!(app.view, View::Transcript);
    for e in app.on_key(key('d')) {
        carry_out(e, &backend, &job_tx);
    }
    assert_eq!(app.view, View::Diff);
    assert!(cmd_rx.try_recv().is_err(), "no second LoadDiff");
}

#[test]
fn a_diff_the_backend_cannot_show_says_why() {
    let mut app = fixture("dark");
    select(&mut app, "fix-typo-readme");
    let fx = app.on_backend(BackendEvent::Diff {
        task: k("fix-typo-readme"),
        files: Err("ran on node m5-max; its workspace (and so its diff) is there".into()),
        latest: None,
    });
    assert!(fx.is_empty(), "{fx:?}");
    let crate::console::state::Status {
        text: msg, level, ..
    } = app.status.clone().unwrap();
    assert_eq!(level, Level::Error);
    assert!(
        msg.contains("default/fix-typo-readme") && msg.contains("node m5-max"),
        "{msg}"
    );
    assert_eq!(app.view, View::Transcript);
    assert!(app.diff.is_none());
}

#[test]
fn the_diff_key_is_offered_only_for_a_task_with_a_change() {
    let mut app = fixture("dark");
    select(&mut app, "bump-deps");
    let fx = app.on_key(key('d'));
    assert!(fx.is_empty(), "{fx:?}");
    assert_eq!(
        app.status.as_ref().unwrap().text,
        "diff: the run has not committed yet"
    );
}

#[test]
fn status_messages_replace_each_other_and_progress_clears_when_answered() {
    use crate::backend::Job;
    use crate::console::diff::DiffView;
    let mut app = fixture("dark");
    select(&mut app, "fix-typo-readme");
    app.on_key(key('d'));
    assert!(app.status.as_ref().unwrap().text.contains("loading diff"));
    app.on_diff_loaded(k("fix-typo-readme"), DiffView::new(readme_fix()));
    assert!(app.status.is_none(), "{:?}", app.status);
    let screens = snapshot_sizes("diff_open", |app| {
        select(app, "fix-typo-readme");
        app.on_key(key('d'));
        app.on_diff_loaded(k("fix-typo-readme"), DiffView::new(readme_fix()));
    });
    for s in &screens {
        assert!(
            !s.contains("loading diff") && s.contains("teh greeter"),
            "{s}"
        );
    }
    // A push: "pushing…" while it runs, then the backend's one message, not "pushed. pushed".
    app.on_key(key('t'));
    app.on_key(key('a'));
    app.on_key(key('y'));
    assert!(app.status.as_ref().unwrap().text.contains("pushing"));
    app.on_backend(BackendEvent::JobDone {
        task: k("fix-typo-readme"),
        job: Job::Push,
        outcome: Ok("pushed foreman/issue-7 to http://127.0.0.1:18090/acme/greeter.git".into()),
    });
    let text = &app.status.as_ref().unwrap().text;
    assert_eq!(text.matches("pushed").count(), 1, "{text}");
    // A later message replaces it; a plain message does not survive `done`.
    app.say("something else", Level::Warn);
    app.done();
    assert_eq!(app.status.as_ref().unwrap().text, "something else");
}

/// Two files, two hunks in the first, one long line to scroll sideways.
fn two_files() -> Vec<FileDiff> {
    let long = "x".repeat(150);
    let body: String = (1..=30).map(|i| format!(" line {i}\n")).collect();
    vec![
        FileDiff {
            old_path: Some("a.py".into()),
            new_path: Some("a.py".into()),
            additions: 2,
            deletions: 2,
            patch: format!(
                "diff --git a/a.py b/a.py\n--- a/a.py\n+++ b/a.py\n@@ -1,3 +1,3 @@\n-old one\n+new one\n{body}@@ -40,2 +40,2 @@\n-old two {long}END\n+new two\n"
            ),
            binary: false,
        },
        FileDiff {
            old_path: Some("b.py".into()),
            new_path: Some("b.py".into()),
            additions: 1,
            deletions: 0,
            patch: "diff --git a/b.py b/b.py\n--- a/b.py\n+++ b/b.py\n@@ -1,1 +1,2 @@\n keep\n+added in b\n".into(),
            binary: false,
        },
    ]
}

#[test]
fn the_diff_keys_reach_the_widget_and_are_listed() {
    use crate::console::diff::DiffView;
    let open = |app: &mut App| {
        select(app, "fix-typo-readme");
        app.on_diff_loaded(k("fix-typo-readme"), DiffView::new(two_files()));
    };
    let screens = snapshot_sizes("diff_keys", open);
    for s in &screens[1..] {
        assert!(
            s.contains("] ") && s.contains("next hunk") && s.contains("next file"),
            "{s}"
        );
    }
    let mut app = fixture("dark");
    open(&mut app);
    render(&mut app, 120, 30);
    let d = |app: &App| app.diff.as_ref().unwrap().1.clone();
    app.on_key(key(']'));
    assert_eq!(d(&app).current_hunk(), (1, 2), "] goes to the next hunk");
    app.on_key(key('['));
    assert_eq!(d(&app).current_hunk(), (0, 2), "[ goes back");
    app.on_key(key('G'));
    assert_eq!(
        d(&app).current_file(),
        (0, 2),
        "G scrolls, it does not change file"
    );
    assert!(d(&app).top_row() > 0, "G is the bottom of the file");
    app.on_key(key('g'));
    assert_eq!(d(&app).top_row(), 0);
    app.on_key(KeyEvent::new(KeyCode::Char('d'), KeyModifiers::CONTROL));
    assert!(d(&app).top_row() > 0, "ctrl-d scrolls half a page");
    app.on_key(KeyEvent::new(KeyCode::Char('u'), KeyModifiers::CONTROL));
    assert_eq!(d(&app).top_row(), 0, "ctrl-u scrolls back");
    // The long line's end comes into view with right, and goes with left.
    app.on_key(key('G'));
    assert!(!render(&mut app, 120, 30).contains("END"));
    for _ in 0..15 {
        app.on_key(KeyEvent::new(KeyCode::Right, KeyModifiers::NONE));
    }
    assert!(render(&mut app, 120, 30).contains("END"), "right scrolls");
    for _ in 0..15 {
        app.on_key(KeyEvent::new(KeyCode::Left, KeyModifiers::NONE));
    }
    assert!(
        !render(&mut app, 120, 30).contains("END"),
        "left scrolls back"
    );
    app.on_key(KeyEvent::new(KeyCode::Char('}'), KeyModifiers::NONE));
    assert_eq!(d(&app).current_file(), (1, 2), "}} is the next file");
    assert!(render(&mut app, 120, 30).contains("added in b"));
    app.on_key(KeyEvent::new(KeyCode::Char('{'), KeyModifiers::NONE));
    assert_eq!(d(&app).current_file(), (0, 2), "{{ is the previous file");
    // The ? overlay lists them under Diff.
    app.on_key(key('?'));
    let help = render(&mut app, 200, 60);
    for l in [
        "Diff",
        "next hunk",
        "prev hunk",
        "next file",
        "prev file",
        "scroll left",
        "scroll right",
        "half page down",
    ] {
        assert!(help.contains(l), "{l}:\n{help}");
    }
}

#[test]
fn ctrl_d_and_ctrl_u_scroll_the_transcript_half_a_page() {
    let mut app = fixture("dark");
    select(&mut app, "add-tests");
    app.on_transcript_loaded(k("add-tests"), Ok(convo_records(20)));
    app.focus = crate::console::pane::Focus::Detail;
    render(&mut app, 80, 24);
    let top = |app: &App| app.transcripts[&k("add-tests")].top_row();
    let bottom = top(&app);
    app.on_key(KeyEvent::new(KeyCode::Char('u'), KeyModifiers::CONTROL));
    render(&mut app, 80, 24);
    let up = top(&app);
    assert!(
        up < bottom && bottom - up < 20,
        "half a page: {bottom} -> {up}"
    );
    app.on_key(KeyEvent::new(KeyCode::Char('d'), KeyModifiers::CONTROL));
    render(&mut app, 80, 24);
    assert_eq!(top(&app), bottom);
}
