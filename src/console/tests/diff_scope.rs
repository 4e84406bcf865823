//! `v` in the diff view: a change made over two attempts (a request for changes added a
//! commit on top) shows whole, and switches to the latest attempt's own commit and back; a
//! change of one attempt has nothing to switch to, and says so.

use super::*;
use crate::backend::attempt::AttemptDiff;
use crate::backend::{BackendEvent, BackendHandle};
use crate::console::pane::View;
use crate::console::state::{Effect, Level};
use crate::console::{JobEvent, carry_out, on_job};
use crate::workspace::FileDiff;
use tokio::sync::{mpsc, watch};

fn file(path: &str, old: &str, new: &str) -> FileDiff {
    FileDiff {
        old_path: Some(path.into()),
        new_path: Some(path.into()),
        additions: 1,
        deletions: 1,
        patch: format!(
            "diff --git a/{path} b/{path}\n--- a/{path}\n+++ b/{path}\n@@ -1 +1 @@\n-{old}\n+{new}\n"
        ),
        binary: false,
    }
}

struct Harness {
    app: App,
    backend: BackendHandle,
    job_tx: mpsc::UnboundedSender<JobEvent>,
    job_rx: mpsc::UnboundedReceiver<JobEvent>,
    _cmd_rx: mpsc::UnboundedReceiver<crate::backend::Command>,
    _stop: watch::Sender<bool>,
}

impl Harness {
    fn new() -> Harness {
        let mut app = fixture("dark");
        select(&mut app, "fix-typo-readme");
        let (cmd_tx, cmd_rx) = mpsc::unbounded_channel();
        let (stop, stopped) = watch::channel(false);
        let (job_tx, job_rx) = mpsc::unbounded_channel::<JobEvent>();
        app.on_key(key('d'));
        Harness {
            app,
            backend: BackendHandle::new(cmd_tx, stopped),
            job_tx,
            job_rx,
            _cmd_rx: cmd_rx,
            _stop: stop,
        }
    }

    /// Carries out `fx` (a diff build, off the UI thread) and lets the built view open.
    async fn build(&mut self, fx: Vec<Effect>) {
        assert!(matches!(fx.as_slice(), [Effect::BuildDiff(..)]), "{fx:?}");
        for e in fx {
            carry_out(e, &self.backend, &self.job_tx);
        }
        // The last build's highlighting may arrive first: carry it out and wait on.
        let syntax = self.app.theme.syntax_theme.clone();
        loop {
            let ev = self.job_rx.recv().await.expect("the diff view is built");
            let built = matches!(ev, JobEvent::Diff(..));
            on_job(&mut self.app, ev, &self.job_tx, &syntax);
            if built {
                break;
            }
        }
        assert_eq!(self.app.view, View::Diff);
    }
}

#[tokio::test]
async fn v_switches_between_the_whole_change_and_the_latest_attempts_own() {
    let mut h = Harness::new();
    let first = file("greeter.py", "Helo", "Hello");
    let second = file("README.md", "teh greeter", "the greeter");
    let fx = h.app.on_backend(BackendEvent::Diff {
        task: k("fix-typo-readme"),
        files: Ok(vec![first.clone(), second.clone()]),
        latest: Some(AttemptDiff {
            attempt: 2,
            files: Ok(vec![second]),
        }),
    });
    h.build(fx).await;
    let screen = render(&mut h.app, 120, 30);
    assert!(screen.contains("whole change (attempts 1–2)"), "{screen}");
    assert!(screen.contains("2 files"), "{screen}");
    assert!(h.app.context().diff_scopes, "v applies");

    let fx = h.app.on_key(key('v'));
    h.build(fx).await;
    let screen = render(&mut h.app, 120, 30);
    assert!(screen.contains("attempt 2 only"), "{screen}");
    assert!(
        screen.contains("1 file") && !screen.contains("greeter.py"),
        "{screen}"
    );

    let fx = h.app.on_key(key('v'));
    h.build(fx).await;
    let screen = render(&mut h.app, 120, 30);
    assert!(screen.contains("whole change (attempts 1–2)"), "{screen}");
    assert!(screen.contains("greeter.py"), "{screen}");
}

#[tokio::test]
async fn one_attempt_has_one_scope_and_v_says_so() {
    let mut h = Harness::new();
    let fx = h.app.on_backend(BackendEvent::Diff {
        task: k("fix-typo-readme"),
        files: Ok(vec![file("README.md", "teh", "the")]),
        latest: None,
    });
    h.build(fx).await;
    let screen = render(&mut h.app, 120, 30);
    assert!(!screen.contains("whole change"), "{screen}");
    assert!(!h.app.context().diff_scopes, "v does not apply");
    assert!(h.app.on_key(key('v')).is_empty());
    let s = h.app.status.clone().unwrap();
    assert_eq!(s.level, Level::Warn);
    assert!(
        s.text.contains("the whole change is all there is"),
        "{}",
        s.text
    );
}

#[tokio::test]
async fn the_latest_attempts_diff_that_failed_says_why_and_keeps_the_whole() {
    let mut h = Harness::new();
    let fx = h.app.on_backend(BackendEvent::Diff {
        task: k("fix-typo-readme"),
        files: Ok(vec![file("README.md", "teh", "the")]),
        latest: Some(AttemptDiff {
            attempt: 3,
            files: Err("no such commit".into()),
        }),
    });
    h.build(fx).await;
    assert!(h.app.on_key(key('v')).is_empty());
    let s = h.app.status.clone().unwrap();
    assert_eq!(s.level, Level::Error);
    assert!(
        s.text.contains("attempt 3's own change: no such commit"),
        "{}",
        s.text
    );
    let screen = render(&mut h.app, 120, 30);
    assert!(screen.contains("whole change (attempts 1–3)"), "{screen}");
}
