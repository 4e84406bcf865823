//! The attempt selector: `<` / `>` step through a re-queued task's attempts within bounds, an
//! earlier attempt is asked of the backend once and drawn read-only with its outcome line,
//! and the live current attempt keeps streaming underneath.

use super::*;
use crate::backend::{AttemptView, Command};
use crate::console::state::Effect;

const ATTEMPT: &str = "foreman.llmkube.dev/attempt";

/// The fixture with `fix-greeting` (running, streaming live) on its third attempt, selected,
/// the detail pane focused.
fn third_attempt() -> App {
    let mut app = fixture("dark");
    to_third_attempt(&mut app);
    app
}

fn to_third_attempt(app: &mut App) {
    let mut t = app.mirror.task(&k("fix-greeting")).unwrap().into_owned();
    t.metadata
        .annotations
        .get_or_insert_with(Default::default)
        .insert(ATTEMPT.into(), "3".into());
    app.on_backend(BackendEvent::TaskUpdated(Box::new(t)));
    select(app, "fix-greeting");
    app.focus = crate::console::pane::Focus::Detail;
}

/// Attempt `n` of `fix-greeting` as the embedded backend answers it: a rejected GO whose
/// workspace a later attempt replaced.
fn earlier(n: u32) -> AttemptView {
    AttemptView {
        task: k("fix-greeting"),
        attempt: n,
        attempts: vec![1, 2, 3],
        status: Some(AgenticTaskStatus {
            phase: Some(TaskPhase::Succeeded),
            verdict: Some(Verdict::Go),
            result: Some(json!({"verdict": "GO", "summary": "Fixed it.", "extra": {
                "branch": "foreman/issue-1", "commitSHA": "89abcdef0123456789abcdef0123456789abcdef",
                "workspace": "/tmp/ws/default/fix-greeting", "pushDecision": "rejected"}})),
            ..Default::default()
        }),
        records: Ok(journal(n)),
        diff: Some(Err(format!(
            "attempt {n}'s workspace is gone: its commit 89abcdef0123 is no longer in /tmp/ws"
        ))),
    }
}

/// A journal of `n` turns, with the meta record that gives "turn n/max".
fn journal(n: u32) -> Vec<crate::agent::transcript::Record> {
    let meta = crate::agent::transcript::Record::Meta {
        schema_version: "foreman.transcript.v1".into(),
        task: "fix-greeting".into(),
        agent: "tiny-coder".into(),
        model: "m".into(),
        base_url: "u".into(),
        started_at: "t".into(),
        max_turns: 4,
    };
    let mut out = vec![meta];
    out.extend(convo_records(n));
    out
}

fn asked(fx: &[Effect]) -> Vec<u32> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::Send(Command::LoadAttempt { task, attempt }) if *task == k("fix-greeting") => {
                Some(*attempt)
            }
            _ => None,
        })
        .collect()
}

fn shown_text(app: &App) -> String {
    let t = app.current_transcript().expect("a transcript is shown");
    (0..t.cell_count())
        .filter_map(|i| t.cell(i).map(|(_, text)| text.to_string()))
        .collect::<Vec<_>>()
        .join("\n")
}

/// `c` (`<` or `>`) asks the backend for exactly `asks` and shows attempt `shown` of the total.
/// Asking for nothing means no effect at all.
fn step(app: &mut App, c: char, asks: &[u32], shown: (u32, u32)) {
    let fx = app.on_key(key(c));
    assert_eq!(asked(&fx), asks, "after {c}");
    assert!(!asks.is_empty() || fx.is_empty(), "after {c}: {fx:?}");
    assert_eq!(app.shown_attempt(), Some(shown), "after {c}");
}

/// The status line holds `text`.
fn says(app: &App, text: &str) {
    let said = &app.status.as_ref().expect("a status line").text;
    assert!(said.contains(text), "{said}");
}

#[test]
fn stepping_back_asks_once_and_stays_within_the_attempts() {
    let mut app = third_attempt();
    assert_eq!(app.shown_attempt(), Some((3, 3)));
    // `>` on the current attempt: nothing to load, the status line says why.
    step(&mut app, '>', &[], (3, 3));
    says(&app, "attempt 3 is the current");
    step(&mut app, '<', &[2], (2, 3));
    step(&mut app, '<', &[1], (1, 3));
    step(&mut app, '<', &[], (1, 3));
    says(&app, "attempt 1 is the first");
    app.on_attempt(earlier(1));
    app.on_attempt(earlier(2));
    // Loaded once: stepping over them again asks nothing.
    step(&mut app, '>', &[], (2, 3));
    assert!(shown_text(&app).contains("step 2: reading"));
    step(&mut app, '<', &[], (1, 3));
    assert!(!shown_text(&app).contains("step 2: reading"));
    // A task with one attempt has no selector: the keys do nothing and say why.
    select(&mut app, "fix-typo-readme");
    step(&mut app, '<', &[], (1, 1));
    says(&app, "this task has one attempt (re-queue: R)");
}

#[test]
fn the_live_attempt_keeps_streaming_while_an_earlier_one_is_read() {
    let mut app = third_attempt();
    app.on_key(key('<'));
    let mut long = earlier(2);
    long.records = Ok(journal(40));
    app.on_attempt(long);
    assert!(shown_text(&app).contains("step 40: reading"));
    // The run goes on meanwhile: its tokens land in the live transcript, not the shown one.
    app.on_backend(BackendEvent::Run {
        task: k("fix-greeting"),
        event: ExecEvent::Loop(LoopEvent::Stream {
            turn: 2,
            event: StreamEvent::Content("ult now.".into()),
        }),
    });
    assert!(!shown_text(&app).contains("ult now."));
    let screen = render(&mut app, 120, 30);
    assert!(
        screen.contains("attempt 2 of 3") && screen.contains("read-only"),
        "{screen}"
    );
    assert!(!screen.contains("ult now."), "{screen}");
    // Scrolling the earlier attempt moves it, not the live one.
    assert!(app.transcripts[&k("fix-greeting")].is_following());
    app.on_key(key('g'));
    assert!(!app.current_transcript().unwrap().is_following());
    assert!(app.transcripts[&k("fix-greeting")].is_following());
    // Back on the current attempt: the live tail, everything streamed meanwhile included.
    app.on_key(key('>'));
    assert_eq!(app.shown_attempt(), Some((3, 3)));
    assert!(
        shown_text(&app).contains("ult now."),
        "{}",
        shown_text(&app)
    );
    let screen = render(&mut app, 120, 30);
    assert!(
        screen.contains("attempt 3 of 3") && !screen.contains("read-only"),
        "{screen}"
    );
}

#[test]
fn the_footer_offers_the_selector_only_with_more_than_one_attempt() {
    let mut app = fixture("dark");
    select(&mut app, "fix-greeting");
    app.focus = crate::console::pane::Focus::Detail;
    let one = crate::console::commands::footer(&app.context(), &app.keymap);
    assert!(!one.iter().any(|(k, _)| k == "<" || k == ">"), "{one:?}");
    let app = third_attempt();
    let three = crate::console::commands::footer(&app.context(), &app.keymap);
    assert!(
        three.contains(&("<".into(), "prev attempt"))
            && three.contains(&(">".into(), "next attempt")),
        "{three:?}"
    );
}

#[test]
fn an_earlier_attempt_diff_is_refused_with_why_or_built_and_a_deletion_drops_it() {
    let mut app = third_attempt();
    app.on_key(key('<'));
    app.on_attempt(earlier(2));
    assert!(app.on_key(key('d')).is_empty());
    let said = app.status.as_ref().unwrap().text.clone();
    assert!(said.contains("attempt 2's workspace is gone"), "{said}");
    // Its diff when the commit is still kept: built as any diff, titled with the attempt.
    let mut kept = earlier(1);
    kept.diff = Some(Ok(Vec::new()));
    app.on_key(key('<'));
    app.on_attempt(kept);
    let fx = app.on_key(key('d'));
    assert!(matches!(fx.as_slice(), [Effect::BuildDiff(k, _)] if k.name == "fix-greeting"));
    assert_eq!(app.attempts.diff_of, Some((k("fix-greeting"), 1)));
    // A deletion (as a re-queue) drops what was loaded: back to the live attempt.
    app.on_backend(BackendEvent::TaskDeleted(k("fix-greeting")));
    assert!(app.attempts.loaded.is_empty() && app.attempts.selected.is_empty());
}

/// The transcript pane on an earlier attempt: its number of how many, read-only, its outcome
/// line (rejected, branch, commit, workspace gone) and its own transcript.
#[test]
fn earlier_attempt_pane_snapshots() {
    let screens = snapshot_sizes("attempt_earlier", |app| {
        to_third_attempt(app);
        app.on_key(key('<'));
        app.on_attempt(earlier(2));
    });
    for s in &screens {
        assert!(s.contains("attempt 2 of 3"), "{s}");
        assert!(s.contains("attempt 2: Rejected"), "{s}");
    }
}

/// The current attempt of a re-queued task: its title says which of how many, and the footer
/// offers the selector.
#[test]
fn current_attempt_pane_snapshots() {
    let screens = snapshot_sizes("attempt_current", to_third_attempt);
    assert!(screens.iter().all(|s| s.contains("attempt 3 of 3")));
}

/// A re-queue (finished → Pending as attempt N+1, here or by another console) drops the loaded
/// attempts and the selection: the pane follows the new live attempt.
#[test]
fn a_re_queue_goes_back_to_the_live_attempt() {
    let mut app = fixture("dark");
    let annotate = |t: &mut AgenticTask, n: &str| {
        t.metadata
            .annotations
            .get_or_insert_with(Default::default)
            .insert(ATTEMPT.into(), n.into());
    };
    let mut t = app.mirror.task(&k("add-tests")).unwrap().into_owned();
    annotate(&mut t, "2");
    app.on_backend(BackendEvent::TaskUpdated(Box::new(t.clone())));
    select(&mut app, "add-tests");
    let fx = app.on_key(key('<'));
    assert!(matches!(fx.as_slice(),
        [Effect::Send(Command::LoadAttempt { task, attempt: 1 })] if *task == k("add-tests")));
    app.on_attempt(AttemptView {
        task: k("add-tests"),
        ..earlier(1)
    });
    assert_eq!(app.shown_attempt(), Some((1, 2)));
    assert_eq!(app.attempts.loaded.len(), 1);
    annotate(&mut t, "3");
    t.status = Some(AgenticTaskStatus {
        phase: Some(TaskPhase::Pending),
        ..Default::default()
    });
    app.on_backend(BackendEvent::TaskUpdated(Box::new(t)));
    assert_eq!(app.shown_attempt(), Some((3, 3)));
    assert!(app.attempts.loaded.is_empty() && app.attempts.selected.is_empty());
}
