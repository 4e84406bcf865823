//! Keys and mouse: refused commands, pane focus, row selection and wheel scrolling.

use super::*;

#[test]
fn unavailable_commands_say_so_instead_of_acting() {
    let mut app = fixture("dark");
    select(&mut app, "bump-deps");
    let fx = app.on_key(key('a'));
    assert!(fx.is_empty());
    assert!(app.status.as_ref().unwrap().0.contains("not available"));
    assert_eq!(app.mode, crate::console::state::Mode::Normal);
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
    assert!(!app.quit, "Enter is not yes here");
    assert_eq!(app.mode, Mode::Normal);
    app.on_key(key('q'));
    app.on_key(key('y'));
    assert!(app.quit);
}
