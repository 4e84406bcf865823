//! Rendered-pane tests: insta snapshots of the pane at fixed sizes (TestBackend), plus
//! behaviour checks that read the rendered buffer (replay equals live, styles of matches,
//! degenerate sizes).

use super::*;
use crate::agent::TurnStats;
use crate::console::tests::{screen, screen_lines};
use crate::oai::{Message, StreamEvent, ToolCall, Usage};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::style::Modifier;

fn draw(t: &mut Transcript, w: u16, h: u16) -> Terminal<TestBackend> {
    let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
    term.draw(|f| {
        let area = f.area();
        t.prepare(area);
        t.render(area, f.buffer_mut(), &TranscriptStyle::default());
    })
    .unwrap();
    term
}

const BASH_RESULT: &str = r#"{"command":"cargo test","exit_code":101,"stderr":"error: test failed, to rerun pass `--lib`\n","stdout":"running 4 tests\ntest wrap::tests::empty ... ok\ntest wrap::tests::cjk ... ok\ntest model::tests::retry ... FAILED\ntest view::tests::follow ... ok\n\nfailures:\n    model::tests::retry\n","timed_out":false}"#;

fn usage(p: u64, c: u64) -> Option<Usage> {
    Some(Usage {
        prompt_tokens: p,
        completion_tokens: c,
        total_tokens: p + c,
    })
}

fn content(s: &str) -> StreamEvent {
    StreamEvent::Content(s.into())
}

/// The journal of a two-turn run: opening, turn 1 (text + bash call + result), turn 2 text.
fn journal() -> Vec<JournalItem> {
    let mut a1 = Message::assistant(
        "I'll run the test suite first to see what is failing before touching the code.",
    );
    a1.tool_calls = Some(vec![ToolCall::new(
        "call_1",
        "bash",
        r#"{"command":"cargo test"}"#,
    )]);
    vec![
        JournalItem::Status("cloning https://git.example/acme/widgets.git …".into()),
        JournalItem::Message {
            turn: 0,
            message: Message::system(
                "You are a coding agent.\nUse the tools.\nKeep changes small.\nAlways run tests.\nSubmit with submit_result.",
            ),
        },
        JournalItem::Message {
            turn: 0,
            message: Message::user("Fix the failing retry test in src/model.rs."),
        },
        JournalItem::TurnStarted {
            turn: 1,
            max_turns: 30,
        },
        JournalItem::Message {
            turn: 1,
            message: a1,
        },
        JournalItem::TurnFinished(TurnStats {
            turn: 1,
            elapsed_ms: 2400,
            attempts: 1,
            usage: usage(1834, 61),
            timings: None,
        }),
        JournalItem::Message {
            turn: 1,
            message: Message::tool("call_1", "bash", BASH_RESULT),
        },
        JournalItem::TurnStarted {
            turn: 2,
            max_turns: 30,
        },
        JournalItem::Message {
            turn: 2,
            message: Message::assistant(
                "The retry test fails because the partial turn is not discarded.\nI'll fix `discard_live`.",
            ),
        },
        JournalItem::TurnFinished(TurnStats {
            turn: 2,
            elapsed_ms: 3100,
            attempts: 2,
            usage: usage(2410, 88),
            timings: None,
        }),
    ]
}

fn finished() -> Transcript {
    let mut t = Transcript::replay(&journal());
    t.set_context_window(Some(8192));
    t
}

/// Turn 3 mid-stream: text cut mid-word, then a tool call whose arguments are still partial.
fn streaming() -> Transcript {
    let mut t = finished();
    t.turn_started(3, 30);
    for tok in [
        "Now ",
        "I'll ",
        "open ",
        "the ",
        "file.\nLooking at ",
        "disc",
    ] {
        t.stream(&content(tok));
    }
    t
}

#[test]
fn live_streaming_mid_token_80x24() {
    let mut t = streaming();
    insta::assert_snapshot!(draw(&mut t, 80, 24).backend());
}

#[test]
fn live_streaming_mid_token_200x60() {
    let mut t = streaming();
    t.stream(&StreamEvent::ToolCall {
        index: 0,
        id: Some("call_3".into()),
        name: Some("read_file".into()),
        arguments: r#"{"path": "src/mo"#.into(),
    });
    insta::assert_snapshot!(draw(&mut t, 200, 60).backend());
}

#[test]
fn tool_result_collapsed_then_expanded() {
    let mut t = finished();
    let collapsed = draw(&mut t, 80, 24);
    insta::assert_snapshot!("collapsed", collapsed.backend());
    // Select the tool result (walk back from the bottom) and expand it.
    let result = (0..t.cell_count())
        .find(|&i| matches!(t.cell(i), Some((CellKind::ToolResult { .. }, _))))
        .unwrap();
    while t.selected() != Some(result) {
        t.select_prev();
        draw(&mut t, 80, 24);
    }
    assert!(t.toggle_selected());
    let expanded = draw(&mut t, 80, 24);
    insta::assert_snapshot!("expanded", expanded.backend());
    assert!(screen(&collapsed).contains("… 9 more lines"));
    assert!(!screen(&expanded).contains("… 9 more lines"));
    assert!(screen(&expanded).contains("model::tests::retry ... FAILED"));
}

#[test]
fn expand_all_at_200x60() {
    let mut t = finished();
    t.set_all_expanded(true);
    let term = draw(&mut t, 200, 60);
    insta::assert_snapshot!(term.backend());
    assert!(screen(&term).contains("Submit with submit_result."));
}

#[test]
fn paused_follow_shows_new_lines_indicator() {
    let mut t = finished();
    t.turn_started(3, 30);
    for i in 0..10 {
        t.stream(&content(&format!("streamed line {i}\n")));
    }
    draw(&mut t, 80, 24);
    t.scroll_up(5);
    draw(&mut t, 80, 24);
    assert!(!t.is_following());
    for i in 10..22 {
        t.stream(&content(&format!("streamed line {i}\n")));
    }
    let term = draw(&mut t, 80, 24);
    insta::assert_snapshot!(term.backend());
    assert!(screen(&term).contains("↓ 12 new lines"));
    assert_eq!(t.new_lines_below(), 12);
    // Resuming jumps to the end and drops the badge.
    t.resume_follow();
    let term = draw(&mut t, 80, 24);
    assert!(!screen(&term).contains("new lines"));
    assert!(screen(&term).contains("streamed line 21"));
}

/// Marks each text column: `#` current match, `^` other match, `.` neither.
fn match_mask(term: &Terminal<TestBackend>) -> String {
    let buf = term.backend().buffer();
    let st = TranscriptStyle::default();
    (0..buf.area.height)
        .map(|y| {
            (0..buf.area.width - 1)
                .map(|x| {
                    let m = buf[(x, y)].modifier;
                    if m.contains(st.search_current.add_modifier) {
                        '#'
                    } else if m.contains(Modifier::REVERSED)
                        && buf[(x, y)].fg != ratatui::style::Color::Cyan
                    {
                        '^'
                    } else {
                        '.'
                    }
                })
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn search_highlights_and_counts() {
    let mut t = finished();
    draw(&mut t, 80, 24);
    let n = t.search("test");
    assert_eq!(n, 16);
    t.search_next();
    let term = draw(&mut t, 80, 24);
    assert!(!t.is_following(), "a search jump pauses follow");
    let status = t.search_status().unwrap();
    assert_eq!((status.current, status.total), (2, 16));
    insta::assert_snapshot!("search_screen", term.backend());
    insta::assert_snapshot!("search_mask", match_mask(&term));
    assert!(screen(&term).contains("/test 2/16"));
    // Smart case: an uppercase letter makes it case-sensitive.
    assert_eq!(t.search("FAILED"), 1);
    assert_eq!(t.search("failed"), 2);
}

#[test]
fn search_into_collapsed_result_expands_it() {
    let mut t = finished();
    draw(&mut t, 80, 24);
    assert_eq!(t.search("view::tests::follow"), 1);
    let term = draw(&mut t, 80, 24);
    assert!(screen(&term).contains("test view::tests::follow ... ok"));
}

#[test]
fn retry_notice_replaces_partial_turn() {
    let mut t = finished();
    t.turn_started(3, 30);
    t.stream(&content("Let me call the tool with "));
    t.stream(&StreamEvent::ToolCall {
        index: 0,
        id: Some("c9".into()),
        name: Some("bash".into()),
        arguments: r#"{"command": ls"#.into(),
    });
    let before = screen(&draw(&mut t, 80, 24));
    assert!(before.contains("Let me call the tool with"));
    t.stream(&StreamEvent::Retry {
        attempt: 1,
        reason: "llama-server 500: Failed to parse tool call arguments as JSON".into(),
    });
    t.stream(&content("Retrying"));
    let term = draw(&mut t, 80, 24);
    insta::assert_snapshot!(term.backend());
    let s = screen(&term);
    assert!(!s.contains("Let me call the tool"));
    assert!(s.contains("attempt 1 failed, retrying"));
}

#[test]
fn tiny_10x3() {
    let mut t = streaming();
    insta::assert_snapshot!(draw(&mut t, 10, 3).backend());
}

#[test]
fn wide_chars_and_tabs() {
    let mut t = Transcript::new();
    t.push_message(&Message::user(
        "日本語のテキストを折り返す。全角文字は二列を使う。",
    ));
    t.push_message(&Message::tool(
        "c",
        "bash",
        "col1\tcol2\tcol3\na\tbb\tccc\n\u{1b}[31mred\u{1b}[0m and a bell \u{7} here",
    ));
    t.set_all_expanded(true);
    insta::assert_snapshot!(draw(&mut t, 30, 10).backend());
}

#[test]
fn replay_renders_like_live() {
    // Live: the same run with streaming deltas and a retry in turn 2.
    let mut live = Transcript::new();
    for item in journal() {
        match &item {
            JournalItem::Message { message, .. } if message.role == crate::oai::Role::Assistant => {
                for chunk in message.text().as_bytes().chunks(7) {
                    live.stream(&content(&String::from_utf8_lossy(chunk)));
                }
                for (i, c) in message.tool_calls().iter().enumerate() {
                    live.stream(&StreamEvent::ToolCall {
                        index: i,
                        id: Some(c.id.clone()),
                        name: Some(c.function.name.clone()),
                        arguments: c.function.arguments.clone(),
                    });
                }
                live.push_message(message);
            }
            _ => live.apply(&item),
        }
        draw(&mut live, 80, 24);
    }
    live.set_context_window(Some(8192));
    let replayed = finished();
    let mut replayed = replayed;
    assert_eq!(
        screen(&draw(&mut live, 80, 24)),
        screen(&draw(&mut replayed, 80, 24))
    );
    assert_eq!(
        screen(&draw(&mut live, 200, 60)),
        screen(&draw(&mut replayed, 200, 60))
    );

    // from_journal (messages + turn records) matches too.
    let items = journal();
    let msgs: Vec<(u32, Message)> = items
        .iter()
        .filter_map(|i| match i {
            JournalItem::Message { turn, message } => Some((*turn, message.clone())),
            _ => None,
        })
        .collect();
    let turns: Vec<TurnStats> = items
        .iter()
        .filter_map(|i| match i {
            JournalItem::TurnFinished(r) => Some(*r),
            _ => None,
        })
        .collect();
    let mut fj = Transcript::from_journal(&msgs, &turns, 30);
    fj.set_context_window(Some(8192));
    let mut no_status = Transcript::replay(items.iter().skip(1));
    no_status.set_context_window(Some(8192));
    assert_eq!(
        screen(&draw(&mut fj, 80, 24)),
        screen(&draw(&mut no_status, 80, 24))
    );
}

#[test]
fn degenerate_sizes_never_panic() {
    let mut t = streaming();
    t.push_message(&Message::tool("c", "bash", "x".repeat(5000)));
    t.set_all_expanded(true);
    t.search("a");
    t.select_prev();
    for (w, h) in [
        (0, 0),
        (0, 5),
        (5, 0),
        (1, 1),
        (1, 5),
        (2, 1),
        (3, 2),
        (7, 4),
        (80, 1),
    ] {
        draw(&mut t, w, h);
        t.scroll_up(3);
        t.page_down();
        draw(&mut t, w, h);
        t.scroll_to_top();
        t.search_next();
        draw(&mut t, w, h);
        t.resume_follow();
    }
    // Rendering into an area outside the buffer is clipped, not a panic.
    let mut buf = ratatui::buffer::Buffer::empty(ratatui::layout::Rect::new(0, 0, 10, 10));
    t.render(
        ratatui::layout::Rect::new(5, 5, 50, 50),
        &mut buf,
        &TranscriptStyle::default(),
    );
}

#[test]
fn megabyte_line_is_truncated_for_display_only() {
    let mut t = Transcript::new();
    let big = format!("{{\"stdout\":\"{}\"}}", "0123456789".repeat(100_000));
    t.push_message(&Message::tool("c", "bash", &big));
    t.set_all_expanded(true);
    let term = draw(&mut t, 80, 24);
    let s = screen(&term);
    assert!(s.contains("… line truncated for display ("), "{s}");
    assert_eq!(
        t.cell(0).map(|c| c.1.len()),
        Some(big.len()),
        "model keeps it all"
    );
    // Streaming a 1 MB line token by token stays bounded per frame.
    let mut t = Transcript::new();
    for _ in 0..200 {
        t.stream(&content(&"y".repeat(5000)));
        draw(&mut t, 80, 24);
    }
    assert!(screen(&draw(&mut t, 80, 24)).contains("line truncated for display"));
}

#[test]
fn selection_marks_the_prefix_column() {
    let mut t = finished();
    draw(&mut t, 80, 24);
    t.select_prev();
    let term = draw(&mut t, 80, 24);
    let sel = t.selected().unwrap();
    assert_eq!(
        sel,
        t.cell_count() - 1,
        "starts from the bottom of the view"
    );
    let buf = term.backend().buffer();
    let rows = screen_lines(&term);
    let y = rows
        .iter()
        .position(|r| r.starts_with("  turn 2 ·"))
        .unwrap() as u16;
    assert!(buf[(0, y)].modifier.contains(Modifier::REVERSED));
    assert!(!buf[(5, y)].modifier.contains(Modifier::REVERSED));
    assert!(!buf[(0, y - 1)].modifier.contains(Modifier::REVERSED));
    assert!(!t.toggle_selected(), "a footer does not collapse");
}

/// A journal file as builds before TurnStats wrote it (`meta`, messages, a `turn` line with
/// usage and llama.cpp timings, `end`) still replays, its turn footer included.
#[test]
fn a_journal_in_the_existing_format_replays_with_its_turn_footer() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fix-1.jsonl");
    std::fs::write(
        &path,
        concat!(
            r#"{"type":"meta","schemaVersion":"foreman.transcript.v1","task":"fix-1","agent":"coder","model":"qwen","baseUrl":"http://127.0.0.1:8080/v1","startedAt":"2025-01-01T00:00:00Z","maxTurns":30}"#,
            "\n",
            r#"{"type":"message","turn":0,"message":{"role":"user","content":"Fix the typo."}}"#,
            "\n",
            r#"{"type":"message","turn":1,"message":{"role":"assistant","content":"Fixing it now."}}"#,
            "\n",
            r#"{"type":"turn","turn":1,"elapsedMs":2000,"attempts":2,"usage":{"prompt_tokens":1762,"completion_tokens":33,"total_tokens":1795},"timings":{"predicted_n":33.0,"predicted_per_second":71.5}}"#,
            "\n",
            r#"{"type":"end","result":{"verdict":"GO","summary":"fixed"}}"#,
            "\n",
        ),
    )
    .unwrap();
    let records = crate::agent::transcript::read_journal(&path).unwrap();
    let items = crate::console::transcript::journal_items(&records);
    let mut t = Transcript::replay(&items);
    let text = screen(&draw(&mut t, 100, 12));
    assert!(text.contains("turn 1/30"), "{text}");
    assert!(text.contains("Fixing it now."), "{text}");
    assert!(
        text.contains("turn 1 · 1,762 + 33 tok · 71.5 tok/s · 2.0 s · 2 attempts"),
        "{text}"
    );
    assert!(text.contains("result: GO"), "{text}");
}

#[test]
fn reasoning_is_a_dim_collapsed_cell_before_the_reply() {
    let mut m = Message::assistant("Fixing it now.");
    m.reasoning_content = Some("The retry test fails because\nthe backoff is zero.".into());
    let items = vec![JournalItem::Message {
        turn: 1,
        message: m,
    }];
    let mut t = Transcript::replay(&items);
    let term = draw(&mut t, 80, 12);
    let rows = screen_lines(&term);
    let at = |needle: &str| rows.iter().position(|r| r.contains(needle));
    let (head, first, reply) = (
        at("∴ thinking").expect("the thinking header"),
        at("The retry test fails because").expect("the reasoning"),
        at("• Fixing it now.").expect("the reply"),
    );
    assert!(head < first && first < reply, "{rows:?}");
    let buf = term.backend().buffer();
    let x = rows[first].chars().position(|c| c == 'T').unwrap() as u16;
    assert!(buf[(x, first as u16)].modifier.contains(Modifier::DIM));
    let x = rows[reply].chars().position(|c| c == 'F').unwrap() as u16;
    assert!(!buf[(x, reply as u16)].modifier.contains(Modifier::DIM));
}
