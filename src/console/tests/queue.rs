//! The queue's sort (`s`, `S`) with its filter, and the `:` line's completion and task jump.

use super::*;

fn names(app: &App) -> Vec<String> {
    app.mirror.order.iter().map(|k| k.name.clone()).collect()
}

#[test]
fn s_cycles_the_sort_column_and_shift_s_reverses_it_filter_kept() {
    let mut app = fixture("dark");
    // bump-deps outranks the others: the priority sort puts it first.
    let bump = crate::fleet::TaskKey::new("default", "bump-deps");
    let mut t = app.mirror.task(&bump).unwrap().into_owned();
    t.spec.priority = Some(5);
    app.on_backend(BackendEvent::TaskUpdated(Box::new(t)));
    let default = ["fix-typo-readme", "fix-greeting", "bump-deps", "add-tests"];
    assert_eq!(names(&app), default);
    for (k, want) in [
        (
            's',
            ["bump-deps", "fix-greeting", "fix-typo-readme", "add-tests"],
        ),
        (
            'S',
            ["add-tests", "fix-typo-readme", "fix-greeting", "bump-deps"],
        ),
        (
            's',
            ["fix-typo-readme", "fix-greeting", "bump-deps", "add-tests"],
        ),
        (
            's',
            ["bump-deps", "fix-typo-readme", "fix-greeting", "add-tests"],
        ),
        (
            's',
            ["add-tests", "bump-deps", "fix-greeting", "fix-typo-readme"],
        ),
        (
            'S',
            ["fix-typo-readme", "fix-greeting", "bump-deps", "add-tests"],
        ),
        ('s', default),
    ] {
        app.on_key(key(k));
        assert_eq!(names(&app), want, "after {k}: {:?}", app.sort);
    }
    // The selection follows its task through a sort.
    select(&mut app, "add-tests");
    app.on_key(key('s'));
    assert_eq!(app.selected_key().unwrap().name, "add-tests");
    // Sorted and filtered at once; a task arriving later lands in sorted place.
    app.on_key(key('/'));
    for c in "fix".chars() {
        app.on_key(key(c));
    }
    app.on_key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE));
    app.on_key(key('S'));
    assert_eq!(names(&app), ["fix-typo-readme", "fix-greeting"]);
    app.on_backend(BackendEvent::TaskUpdated(Box::new(task(
        "fix-zz",
        5,
        Default::default(),
    ))));
    assert_eq!(names(&app), ["fix-typo-readme", "fix-greeting", "fix-zz"]);
    // Outside the queue the keys say where they work.
    app.focus = crate::console::pane::Focus::Detail;
    app.on_key(key('s'));
    assert_eq!(
        app.status.as_ref().unwrap().text,
        "sort: the queue is not focused (focus it: tab)"
    );
}

#[test]
fn the_header_marks_the_sorted_column_and_its_direction() {
    let screens = snapshot_sizes("queue_sort", |app| {
        app.on_key(key('/'));
        app.on_key(key('f'));
        app.on_key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE));
        app.on_key(key('s'));
        app.on_key(key('S'));
    });
    for (i, s) in screens.iter().enumerate() {
        assert!(s.contains("AGE↓") || s.contains("by age ↓"), "{s}");
        assert!(s.contains("2 of 4"), "{s}");
        // At 80 columns the selected GO's own actions fill the footer; the title says the sort.
        assert!(i == 0 || s.contains(" s  sort"), "{s}");
        let (a, b) = (s.find("fix-ty").unwrap(), s.find("fix-gr").unwrap());
        assert!(a < b, "oldest first when reversed: {s}");
    }
    // Priority is not a column: the title names it.
    let mut app = fixture("dark");
    for _ in 0..3 {
        app.on_key(key('s'));
    }
    let s = render(&mut app, 120, 30);
    assert!(s.contains("Queue (4 · by priority ↑)"), "{s}");
    // The default order is unmarked.
    let s = render(&mut fixture("dark"), 120, 30);
    assert!(!s.contains('↑') && !s.contains('↓'), "{s}");
}

#[test]
fn tab_on_the_command_line_completes_and_cycles_and_task_jumps_by_name() {
    use crate::console::state::Mode;
    let tab = || KeyEvent::new(KeyCode::Tab, KeyModifiers::NONE);
    let enter = || KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE);
    let mut app = fixture("dark");
    app.on_key(key(':'));
    for c in "ta".chars() {
        app.on_key(key(c));
    }
    app.on_key(tab());
    assert_eq!(app.mode, Mode::Command("task ".into()));
    for c in "fix".chars() {
        app.on_key(key(c));
    }
    app.on_key(tab());
    assert_eq!(app.mode, Mode::Command("task fix-greeting".into()));
    let s = render(&mut app, 120, 30);
    assert!(
        s.contains(":task fix-greeting▏  fix-greeting fix-typo-readme"),
        "{s}"
    );
    app.on_key(tab());
    assert_eq!(app.mode, Mode::Command("task fix-typo-readme".into()));
    // A hidden task is reached too: the filter that hides it goes.
    app.mode = Mode::Normal;
    app.on_key(key('/'));
    app.on_key(key('b'));
    app.on_key(enter());
    assert_eq!(names(&app), ["bump-deps"]);
    app.on_key(key(':'));
    for c in "task add".chars() {
        app.on_key(key(c));
    }
    app.on_key(tab());
    app.on_key(enter());
    assert_eq!(app.mode, Mode::Normal);
    assert_eq!(app.selected_key().unwrap().name, "add-tests");
    assert!(app.filter.is_empty() && names(&app).len() == 4);
    // NAMESPACE/NAME works; an unknown name says so.
    app.run_command_line("task default/bump-deps");
    assert_eq!(app.selected_key().unwrap().name, "bump-deps");
    app.run_command_line("t nope");
    assert_eq!(
        app.status.as_ref().unwrap().text,
        ":task nope: no such task (tab completes names)"
    );
    assert_eq!(app.selected_key().unwrap().name, "bump-deps");
}
