//! Every view as a snapshot at fixed sizes (80x24, 120x30, 200x60), after key sequences, on
//! the dark and light themes; and sizes too small to draw.

use super::*;

#[test]
fn main_view_80x24_and_200x60() {
    let mut app = fixture("dark");
    select(&mut app, "fix-greeting");
    insta::assert_snapshot!("main_80x24", render(&mut app, 80, 24));
    insta::assert_snapshot!("main_200x60", render(&mut app, 200, 60));
}

#[test]
fn awaiting_task_footer_offers_approval_and_confirm_shows_the_push() {
    let mut app = fixture("dark");
    select(&mut app, "fix-typo-readme");
    let screen = render(&mut app, 120, 30);
    assert!(screen.contains("approve push"), "{screen}");
    insta::assert_snapshot!("awaiting_120x30", screen);
    app.on_key(key('a'));
    let screen = render(&mut app, 120, 30);
    assert!(
        screen.contains("foreman/issue-7") && screen.contains("0123456789abcdef"),
        "{screen}"
    );
    insta::assert_snapshot!("confirm_push_120x30", screen);
}

#[test]
fn help_overlay_lists_every_command_from_the_registry() {
    let mut app = fixture("dark");
    app.on_key(key('?'));
    let screen = render(&mut app, 200, 60);
    for c in crate::console::commands::COMMANDS {
        assert!(
            screen.contains(c.label),
            "help lacks {:?}:\n{screen}",
            c.label
        );
    }
    insta::assert_snapshot!("help_200x60", screen);
}

#[test]
fn search_and_pane_focus_after_keys() {
    let mut app = fixture("dark");
    select(&mut app, "fix-greeting");
    // `/` searches the transcript from the detail pane (in the queue it filters the queue).
    app.focus = crate::console::pane::Focus::Detail;
    for c in ['/', 'H', 'e', 'l', 'o'] {
        app.on_key(key(c));
    }
    insta::assert_snapshot!("search_typing_80x24", render(&mut app, 80, 24));
    app.on_key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE));
    app.on_key(KeyEvent::new(KeyCode::Tab, KeyModifiers::NONE));
    insta::assert_snapshot!("search_done_80x24", render(&mut app, 80, 24));
}

#[test]
fn light_and_dark_themes_style_the_same_frame_differently() {
    let mut dark = fixture("dark");
    let mut light = fixture("light");
    let mut a = Terminal::new(TestBackend::new(80, 24)).unwrap();
    let mut b = Terminal::new(TestBackend::new(80, 24)).unwrap();
    a.draw(|f| draw(f, &mut dark)).unwrap();
    b.draw(|f| draw(f, &mut light)).unwrap();
    assert_eq!(
        format!("{}", a.backend()),
        format!("{}", b.backend()),
        "same text"
    );
    assert_ne!(
        a.backend().buffer(),
        b.backend().buffer(),
        "different styles"
    );
    insta::assert_debug_snapshot!("light_80x24_styled", b.backend().buffer());
}

#[test]
fn tiny_and_odd_sizes_never_panic() {
    let mut app = fixture("dark");
    for (w, h) in [
        (1, 1),
        (10, 3),
        (39, 9),
        (40, 10),
        (41, 11),
        (300, 5),
        (5, 300),
    ] {
        render(&mut app, w, h);
    }
    assert!(render(&mut app, 20, 5).contains("too small"));
}

#[test]
fn the_help_overlay_fits_small_and_wide_screens_and_scrolls() {
    use crate::console::state::Mode;
    let screens = snapshot_sizes("help", |app| {
        app.on_key(key('?'));
    });
    // The hint is whole at every size, never cut like "…any key clo".
    for s in &screens {
        assert!(s.contains("j/k pgup/pgdn scroll · q esc ? close"), "{s}");
    }
    let mut app = fixture("dark");
    app.on_key(key('?'));
    for (w, h) in [(160, 45), (200, 60)] {
        let s = render(&mut app, w, h);
        assert!(
            s.contains("General") && s.contains("rebind keys"),
            "{w}x{h}:\n{s}"
        );
    }
    // At 80x24 the last lines are below the fold; G brings them up, k goes back.
    let first = render(&mut app, 80, 24);
    let last = crate::console::commands::COMMANDS.last().unwrap().label;
    assert!(!first.contains(last), "{last}: {first}");
    app.on_key(key('x'));
    assert_eq!(app.mode, Mode::Help, "a stray key does not close it");
    app.on_key(key('G'));
    let bottom = render(&mut app, 80, 24);
    assert!(
        bottom.contains("help") && bottom.contains("quit") && bottom.contains(last),
        "{bottom}"
    );
    insta::assert_snapshot!("help_scrolled_80x24", bottom);
    app.on_key(key('k'));
    assert_ne!(render(&mut app, 80, 24), bottom, "k scrolls back up");
    for close in [
        KeyEvent::new(KeyCode::Char('q'), KeyModifiers::NONE),
        KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE),
        key('?'),
    ] {
        assert_eq!(app.mode, Mode::Help);
        app.on_key(close);
        assert_eq!(app.mode, Mode::Normal, "{close:?} closes");
        assert!(!app.quit, "q closes the overlay, it does not quit");
        app.on_key(key('?'));
    }
}

#[test]
fn the_header_says_in_the_error_colour_when_the_sandbox_is_off_or_unavailable() {
    for notice in [
        "sandbox off",
        "sandbox unavailable: bubblewrap (bwrap) is not installed",
    ] {
        let mut app = fixture("dark");
        app.sandbox_notice = Some(notice.into());
        let mut term = Terminal::new(TestBackend::new(120, 30)).unwrap();
        term.draw(|f| draw(f, &mut app)).unwrap();
        let lines = screen_lines(&term);
        // The status line (second to last) leads with the notice, in the error colour.
        let status = &lines[28];
        assert!(
            status.starts_with(&format!("{notice} · embedded")),
            "{status}"
        );
        let buf = term.backend().buffer();
        for x in 0..notice.chars().count() as u16 {
            assert_eq!(
                buf[(x, 28)].fg,
                app.theme.status.error,
                "cell {x}: {status}"
            );
        }
        // It stays while a message is shown.
        app.say("pushed foreman/issue-7", crate::console::state::Level::Info);
        term.draw(|f| draw(f, &mut app)).unwrap();
        assert!(screen_lines(&term)[28].starts_with(notice));
    }
    let mut app = fixture("dark");
    app.sandbox_notice = Some("sandbox off".into());
    select(&mut app, "fix-greeting");
    insta::assert_snapshot!("sandbox_off_80x24", render(&mut app, 80, 24));
    // Confined: no notice at all.
    let mut app = fixture("dark");
    assert!(!render(&mut app, 120, 30).contains("sandbox"));
}

#[test]
fn escape_sequences_from_the_model_never_reach_the_tui_buffer() {
    let hostile = "\u{1b}]52;c;ZXZpbA==\u{7}\u{1b}[2J\u{1b}]8;;https://evil.test\u{1b}\\link\u{1b}]8;;\u{1b}\\ \u{1b}]0;pwned\u{7}\u{9b}2J\u{1b}c";
    let mut app = fixture("dark");
    let key = TaskKey {
        namespace: "default".into(),
        name: "fix-greeting".into(),
    };
    let lp = |e: LoopEvent| BackendEvent::Run {
        task: key.clone(),
        event: ExecEvent::Loop(e),
    };
    app.on_backend(lp(LoopEvent::Stream {
        turn: 2,
        event: StreamEvent::Content(format!(" visible {hostile} words")),
    }));
    let mut call = Message::assistant(format!("said {hostile} this"));
    call.tool_calls = Some(vec![ToolCall::new(
        "c9",
        format!("bash{hostile}"),
        format!(r#"{{"command":"echo '{}'"}}"#, hostile.escape_default()),
    )]);
    app.on_backend(lp(LoopEvent::Message {
        turn: 2,
        message: call,
    }));
    app.on_backend(lp(LoopEvent::Message {
        turn: 2,
        message: Message::tool(
            "c9",
            "bash",
            json!({"exit_code": 0, "stdout": format!("out {hostile} ok\n"), "stderr": ""})
                .to_string(),
        ),
    }));
    app.on_backend(BackendEvent::Run {
        task: key.clone(),
        event: ExecEvent::Status(format!("retrying: server said {hostile}")),
    });
    select(&mut app, "fix-greeting");
    let mut term = Terminal::new(TestBackend::new(200, 60)).unwrap();
    term.draw(|f| draw(f, &mut app)).unwrap();
    term.draw(|f| draw(f, &mut app)).unwrap();
    let buf = term.backend().buffer();
    let text: String = buf.content().iter().map(|c| c.symbol()).collect();
    assert!(text.contains("said") && text.contains("out link"), "{text}");
    for cell in buf.content() {
        assert!(
            !cell
                .symbol()
                .chars()
                .any(|c| c.is_control() || ('\u{80}'..='\u{9f}').contains(&c)),
            "a control character reached the TUI buffer: {:?}",
            cell.symbol()
        );
    }
}

#[test]
fn narrow_layouts_keep_the_columns_and_hints_that_matter_and_the_selection_keeps_colours() {
    let paused = |app: &mut App| {
        select(app, "add-tests");
        app.on_transcript_loaded(k("add-tests"), Ok(convo_records(30)));
        app.focus = crate::console::pane::Focus::Detail;
        render(app, 80, 24); // lays the transcript out, as the loop does before any key
        app.on_key(key('k'));
    };
    let screens = snapshot_sizes("narrow_paused", paused);
    for s in &screens {
        let header = s
            .lines()
            .find(|l| l.contains("TASK ") && l.contains("STATE"))
            .unwrap();
        assert!(header.contains("VERDICT"), "{header}");
        assert!(s.contains("paused (f: follow)"), "{s}");
    }
    assert!(screens[0].contains("Awaiting "), "{}", screens[0]);
    // The selected row keeps each cell's colour (reversed), so Running stays the running
    // colour even though the dark theme's selection colour is the same cyan.
    for theme in ["dark", "light"] {
        let mut app = fixture(theme);
        select(&mut app, "fix-greeting");
        let mut term = Terminal::new(TestBackend::new(80, 24)).unwrap();
        term.draw(|f| draw(f, &mut app)).unwrap();
        let lines = screen_lines(&term);
        let (y, row) = lines
            .iter()
            .enumerate()
            .find(|(_, l)| l.contains("fix-greetin") && l.contains("Running"))
            .unwrap();
        let x = row
            .char_indices()
            .position(|(i, _)| row[i..].starts_with("Running"))
            .unwrap();
        let cell = &term.backend().buffer()[(x as u16, y as u16)];
        assert_eq!(cell.fg, app.theme.phase.running, "{theme}: {row}");
        assert!(
            cell.modifier.contains(ratatui::style::Modifier::REVERSED),
            "{theme}: selected"
        );
    }
}

#[test]
fn across_a_fork_the_push_dialog_names_the_fork_and_the_upstream_pr() {
    let mut app = fixture("dark");
    let k = crate::fleet::TaskKey::new("default", "fix-typo-readme");
    let mut t = app.mirror.task(&k).expect("fixture task").into_owned();
    crate::fleet::status::merge_extra(
        &mut t,
        &crate::fleet::extra::ResultExtra {
            upstream: Some("acme/fleet".into()),
            pr_head: Some("bot:foreman/issue-7".into()),
            base_branch: Some("release".into()),
            ..Default::default()
        },
    );
    app.mirror.put_task(t);
    select(&mut app, "fix-typo-readme");
    app.on_key(key('a'));
    let screen = render(&mut app, 120, 30);
    assert!(screen.contains("fork    "), "{screen}");
    assert!(screen.contains("(gets the push)"), "{screen}");
    assert!(
        screen.contains("PR on   acme/fleet from bot:foreman/issue-7 into release"),
        "{screen}"
    );
    insta::assert_snapshot!("confirm_push_fork_120x30", screen);
}
