//! Keys and mouse: refused commands, pane focus, row selection and wheel scrolling.

use super::*;

#[test]
fn unavailable_commands_say_why_and_the_key_that_helps_instead_of_acting() {
    let mut app = fixture("dark");
    select(&mut app, "bump-deps");
    let fx = app.on_key(key('a'));
    assert!(fx.is_empty());
    assert_eq!(
        app.status.as_ref().unwrap().text,
        "approve push: the run has not finished"
    );
    assert_eq!(app.mode, crate::console::state::Mode::Normal);
    // Esc in the queue has nothing to go back from: no word at all.
    app.status = None;
    app.on_key(KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE));
    assert!(app.status.is_none(), "{:?}", app.status);
    let screens = snapshot_sizes("refusal_open_pr", |app| {
        select(app, "fix-typo-readme");
        app.on_key(key('P'));
    });
    for s in &screens {
        assert!(s.contains("open PR: push first (a)"), "{s}");
    }
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
    assert_eq!(app.focus, crate::console::pane::Focus::Queue);
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
        crate::console::pane::Focus::Queue,
        "scrolling does not steal focus"
    );
    app.on_mouse(click(d.x + 5, d.y + 5));
    assert_eq!(app.focus, crate::console::pane::Focus::Detail);
}

#[test]
fn the_confirm_hint_names_exactly_the_keys_that_confirm() {
    use crate::backend::Command;
    use crate::console::state::{Effect, Mode};
    let screens = snapshot_sizes("confirm", |app| {
        select(app, "fix-typo-readme");
        app.on_key(key('a'));
    });
    for s in &screens {
        assert!(
            s.contains(" y ") && s.contains(" enter ") && s.contains("push"),
            "{s}"
        );
        assert!(s.contains("any other key") && s.contains("cancel"), "{s}");
    }
    // Enter confirms, as the hint says.
    let mut app = fixture("dark");
    select(&mut app, "fix-typo-readme");
    app.on_key(key('a'));
    let fx = app.on_key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE));
    assert!(
        matches!(fx.as_slice(), [Effect::Send(Command::ApprovePush(k))] if k.name == "fix-typo-readme"),
        "{fx:?}"
    );
    // Any other key cancels and sends nothing.
    for other in [KeyCode::Esc, KeyCode::Char('n'), KeyCode::Char('j')] {
        app.on_key(key('a'));
        assert!(matches!(app.mode, Mode::Confirm(_)));
        let fx = app.on_key(KeyEvent::new(other, KeyModifiers::NONE));
        assert!(
            fx.is_empty() && app.mode == Mode::Normal,
            "{other:?}: {fx:?}"
        );
    }
}

/// `q` with a run streaming here asks first ("1 run in progress … y/N"); anything but `y`
/// keeps the console; `y` quits (the backend's shutdown marks the run Interrupted).
#[test]
fn quit_with_a_run_in_flight_asks_first() {
    use crate::console::state::{Intent, Mode};
    let mut app = fixture("dark");
    assert_eq!(app.runs_in_flight(), 1);
    app.on_key(key('q'));
    assert_eq!(app.mode, Mode::Confirm(Intent::Quit { runs: 1 }));
    assert!(!app.quit);
    let screen = render(&mut app, 120, 30);
    assert!(
        screen.contains("1 run in progress: quit and interrupt it? y/N"),
        "{screen}"
    );
    app.on_key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE));
    assert!(
        !screen.contains(" enter "),
        "quitting is y/N: the hint offers no Enter\n{screen}"
    );
    assert!(!app.quit, "Enter is not yes here");
    assert_eq!(app.mode, Mode::Normal);
    app.on_key(key('q'));
    app.on_key(key('y'));
    assert!(app.quit);
}

#[test]
fn the_readme_says_what_the_mouse_default_is() {
    let readme = include_str!("../../../README.md");
    let default = crate::config::Config::defaults(&mut Vec::new()).ui.mouse;
    let said = if default {
        "Mouse is on by default"
    } else {
        "Mouse is off by default"
    };
    assert!(readme.contains(said), "README must say: {said}");
    assert!(readme.contains("ui.mouse = true") || default);
}

#[test]
fn slash_in_the_queue_filters_it_by_name_state_node_or_verdict_and_esc_clears() {
    use crate::console::state::Mode;
    let esc = || KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE);
    let enter = || KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE);
    let typed = |app: &mut App, s: &str| {
        app.on_key(key('/'));
        for c in s.chars() {
            app.on_key(key(c));
        }
    };
    let screens = snapshot_sizes("queue_filter", |app| typed(app, "fix"));
    for s in &screens {
        assert!(s.contains("2 of 4") && s.contains("esc clears"), "{s}");
        assert!(!s.contains("bump-deps") && !s.contains("add-tests"), "{s}");
    }
    let names = |app: &App| {
        app.mirror
            .order
            .iter()
            .map(|k| k.name.clone())
            .collect::<Vec<_>>()
    };
    let mut app = fixture("dark");
    for (q, want) in [
        ("pending", vec!["bump-deps"]),
        ("m5-max", vec!["fix-typo-readme", "fix-greeting"]),
        ("go", vec!["fix-typo-readme"]),
    ] {
        typed(&mut app, q);
        app.on_key(enter());
        assert_eq!(app.mode, Mode::Normal);
        assert_eq!(names(&app), want, "/{q}");
        let sel = app.selected_key().unwrap().name.clone();
        assert!(
            want.contains(&sel.as_str()),
            "the selection stays in the rows: {sel}"
        );
        app.on_key(esc());
        assert_eq!(
            app.mirror.order.len(),
            4,
            "esc in the queue clears the filter"
        );
    }
    // A new task that does not match stays hidden while the filter holds.
    typed(&mut app, "fix");
    app.on_key(enter());
    let t = task("other", 1, Default::default());
    app.on_backend(BackendEvent::TaskUpdated(Box::new(t)));
    assert!(!names(&app).contains(&"other".to_string()));
    app.on_key(esc());
    assert!(names(&app).contains(&"other".to_string()));
}
