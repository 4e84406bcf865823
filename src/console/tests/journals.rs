//! Finished runs' journals of any size: the tail is shown first and the whole replaces it,
//! search reaches the part loaded last, a torn record in the middle is marked where it was,
//! and closed transcripts over the budget are evicted and reloaded when selected again.

use super::*;
use crate::agent::transcript::{Journal, Record};
use crate::console::journal::{JournalPart, spawn_load};
use crate::console::state::Effect;
use std::path::{Path, PathBuf};
use tokio::sync::mpsc;

/// A finished task whose status points at `journal`.
fn finished(name: &str, journal: &Path) -> AgenticTask {
    task(
        name,
        30,
        AgenticTaskStatus {
            phase: Some(TaskPhase::Succeeded),
            verdict: Some(Verdict::Go),
            transcript_ref: Some(journal.display().to_string()),
            ..Default::default()
        },
    )
}

/// A journal of `turns` turns written by the real writer, ~`each` bytes of tool output per
/// turn; turn 1 says `first`, the last turn says `last`.
fn write_journal(path: &Path, turns: u32, each: usize, first: &str, last: &str) {
    let mut j = Journal::create(path).unwrap();
    j.append(&Record::Meta {
        schema_version: "foreman.transcript.v1".into(),
        task: "big".into(),
        agent: "coder".into(),
        model: "m".into(),
        base_url: "u".into(),
        started_at: "t".into(),
        max_turns: turns,
    })
    .unwrap();
    j.append(&Record::Message {
        turn: 0,
        message: Message::user("Fix everything."),
    })
    .unwrap();
    for t in 1..=turns {
        let word = match t {
            1 => first,
            t if t == turns => last,
            _ => "working",
        };
        let mut m = Message::assistant(format!("turn {t}: {word} on it"));
        m.tool_calls = Some(vec![ToolCall::new(
            format!("c{t}"),
            "bash",
            r#"{"command":"cargo test"}"#,
        )]);
        j.append(&Record::Message {
            turn: t,
            message: m,
        })
        .unwrap();
        let out =
            json!({"exit_code": 0, "stdout": format!("line of output {t}\n").repeat(each / 20)});
        j.append(&Record::Message {
            turn: t,
            message: Message::tool(format!("c{t}"), "bash", out.to_string()),
        })
        .unwrap();
    }
    j.append(&Record::End {
        result: json!({"verdict": "GO", "summary": "all fixed"}),
    })
    .unwrap();
}

/// The console with finished tasks `names` (journals under `dir`), the first selected.
fn app_with(dir: &Path, names: &[&str]) -> (App, Vec<PathBuf>) {
    let mut app = fixture("dark");
    let paths: Vec<PathBuf> = names
        .iter()
        .map(|n| dir.join(format!("{n}.jsonl")))
        .collect();
    for (n, p) in names.iter().zip(&paths) {
        app.on_backend(BackendEvent::TaskUpdated(Box::new(finished(n, p))));
    }
    select(&mut app, names[0]);
    render(&mut app, 120, 30);
    (app, paths)
}

/// What the backend does for `LoadTranscript` of a local journal, then the job: returns the
/// parts in the order they were built.
async fn load(app: &mut App, name: &str, path: &Path) -> Vec<JournalPart> {
    let fx = app.on_backend(BackendEvent::Journal {
        task: k(name),
        path: path.to_path_buf(),
    });
    let [Effect::LoadJournal(req)] = <[Effect; 1]>::try_from(fx).unwrap() else {
        panic!("no journal load")
    };
    let (tx, mut rx) = mpsc::unbounded_channel();
    spawn_load(req, move |p| {
        let _ = tx.send(p);
    });
    let mut parts = Vec::new();
    while let Some(p) = rx.recv().await {
        parts.push(p);
    }
    parts
}

fn search_total(app: &mut App, q: &str) -> usize {
    app.current_transcript_mut().map_or(0, |t| t.search(q))
}

#[tokio::test]
async fn the_tail_shows_first_then_the_whole_replaces_it_and_search_reaches_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let (mut app, paths) = app_with(dir.path(), &["big"]);
    write_journal(&paths[0], 600, 2000, "EARLYBIRD", "LASTWORD");
    let mut parts = load(&mut app, "big", &paths[0]).await.into_iter();
    let (tail, whole) = (parts.next().unwrap(), parts.next().unwrap());
    assert!(parts.next().is_none());
    assert!(!tail.part.as_ref().unwrap().complete);
    assert!(whole.part.as_ref().unwrap().complete);

    app.on_journal_part(tail);
    let screen = render(&mut app, 120, 30);
    assert!(screen.contains("result: GO"), "{screen}");
    assert!(app.loading.contains(&k("big")), "still loading");
    // The tail alone: the last turn is there, the first is not (yet).
    assert_eq!(search_total(&mut app, "LASTWORD"), 1);
    assert_eq!(search_total(&mut app, "EARLYBIRD"), 0);

    app.on_journal_part(whole);
    assert!(!app.loading.contains(&k("big")) && app.loaded.contains_key(&k("big")));
    // The search typed meanwhile now covers the whole transcript.
    let s = app
        .current_transcript()
        .and_then(|t| t.search_status())
        .unwrap();
    assert_eq!((s.query.as_str(), s.total), ("EARLYBIRD", 1));
    let screen = render(&mut app, 120, 30);
    assert!(screen.contains("turn 1: EARLYBIRD on it"), "{screen}");
    assert!(!screen.contains("the earlier part is loading"), "{screen}");
    assert_eq!(app.turns[&k("big")], (600, 600));
    // Selecting it again asks for nothing more.
    assert!(app.ensure_transcript().is_empty());
}

#[tokio::test]
async fn a_small_journal_is_one_complete_part_and_a_tool_result_reads_back_raw() {
    let dir = tempfile::tempdir().unwrap();
    let (mut app, paths) = app_with(dir.path(), &["small"]);
    write_journal(&paths[0], 3, 100, "alpha", "omega");
    let parts = load(&mut app, "small", &paths[0]).await;
    assert_eq!(parts.len(), 1);
    for p in parts {
        app.on_journal_part(p);
    }
    let screen = render(&mut app, 120, 40);
    assert!(screen.contains("turn 3: omega on it"), "{screen}");
    assert!(!screen.contains("the earlier part is loading"), "{screen}");
    // The full build keeps no copy of a tool result's payload; it is read back on demand.
    let dir2 = tempfile::tempdir().unwrap();
    let p2 = dir2.path().join("j.jsonl");
    write_journal(&p2, 3, 100, "alpha", "omega");
    let whole =
        crate::console::transcript::load::full(&p2, ratatui::layout::Rect::new(0, 0, 80, 20))
            .unwrap();
    let t = &whole.transcript;
    let i = (0..t.cell_count())
        .find(|&i| {
            matches!(
                t.cell(i),
                Some((crate::console::transcript::CellKind::ToolResult { .. }, _))
            )
        })
        .unwrap();
    let raw = t.raw_text(i).unwrap();
    assert!(raw.starts_with("{\"exit_code\":0"), "{raw}");
    assert_ne!(t.cell(i).map(|c| c.1.to_string()), Some(raw));
}

#[tokio::test]
async fn a_torn_record_in_the_middle_is_marked_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let (mut app, paths) = app_with(dir.path(), &["torn"]);
    write_journal(&paths[0], 400, 2000, "EARLYBIRD", "LASTWORD");
    let text = std::fs::read_to_string(&paths[0]).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    lines.insert(300, r#"{"type":"message","turn":150,"mess"#);
    std::fs::write(&paths[0], lines.join("\n") + "\n").unwrap();
    for p in load(&mut app, "torn", &paths[0]).await {
        app.on_journal_part(p);
    }
    assert_eq!(
        search_total(&mut app, "journal line 301 (34 bytes) is torn"),
        1
    );
    // Nothing after it is lost.
    assert_eq!(search_total(&mut app, "LASTWORD"), 1);
    assert_eq!(search_total(&mut app, "turn 151: working"), 1);
}

#[tokio::test]
async fn closed_transcripts_over_the_budget_are_evicted_and_reloaded_when_selected() {
    let dir = tempfile::tempdir().unwrap();
    let (mut app, paths) = app_with(dir.path(), &["one", "two"]);
    for p in &paths {
        write_journal(p, 300, 2000, "EARLYBIRD", "LASTWORD");
    }
    for p in load(&mut app, "one", &paths[0]).await {
        app.on_journal_part(p);
    }
    let one = app.journals.held_bytes();
    assert!(one > 300 * 2000 / 2, "counted: {one}");
    // Room for one transcript only.
    app.journals.budget = one + one / 2;
    select(&mut app, "two");
    let fx = app.ensure_transcript();
    assert!(
        fx.iter().any(|e| matches!(e, Effect::Send(crate::backend::Command::LoadTranscript(key)) if *key == k("two")))
    );
    let mut freed = 0;
    for p in load(&mut app, "two", &paths[1]).await {
        freed += app
            .on_journal_part(p)
            .iter()
            .filter(|e| matches!(e, Effect::DropTranscript(_)))
            .count();
    }
    assert!(app.transcripts.contains_key(&k("two")));
    assert!(
        !app.transcripts.contains_key(&k("one")),
        "the closed one is evicted"
    );
    assert!(
        freed >= 2,
        "the tail and the evicted one are freed off the UI thread"
    );
    assert!(app.journals.held_bytes() <= app.journals.budget);
    // Back to the first: it is asked for again, and shown again once loaded.
    select(&mut app, "one");
    let fx = app.ensure_transcript();
    assert!(
        fx.iter().any(|e| matches!(e, Effect::Send(crate::backend::Command::LoadTranscript(key)) if *key == k("one")))
    );
    for p in load(&mut app, "one", &paths[0]).await {
        app.on_journal_part(p);
    }
    assert_eq!(search_total(&mut app, "EARLYBIRD"), 1);
    assert!(
        !app.transcripts.contains_key(&k("two")),
        "now the other one went"
    );
}

#[tokio::test]
async fn a_stale_answer_is_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let (mut app, paths) = app_with(dir.path(), &["big"]);
    write_journal(&paths[0], 10, 100, "alpha", "omega");
    let parts = load(&mut app, "big", &paths[0]).await;
    // A re-queue forgets the task's transcript while the load ran.
    app.forget_transcript(&k("big"));
    for p in parts {
        assert!(app.on_journal_part(p).is_empty());
    }
    assert!(!app.transcripts.contains_key(&k("big")));
}

/// A word said only past the collapsed lines of an early tool result: the whole transcript
/// holds none of it, the search typed with `/` counts it once the journal search (a job)
/// answers, and the jump shows it, read back from the journal.
#[tokio::test]
async fn search_reaches_the_hidden_lines_of_tool_results_through_the_journal() {
    let dir = tempfile::tempdir().unwrap();
    let (mut app, paths) = app_with(dir.path(), &["deep"]);
    // Turn 2's output is 30 lines, its 20th says HIDDENWORD; 600 turns, so tail and whole.
    write_journal(&paths[0], 600, 400, "EARLYBIRD", "LASTWORD");
    let text = std::fs::read_to_string(&paths[0]).unwrap();
    let out: String = (1..=30)
        .map(|l| {
            if l == 20 {
                "HIDDENWORD here\n".to_string()
            } else {
                format!("row {l}\n")
            }
        })
        .collect();
    let deep = Message::tool(
        "c2",
        "bash",
        json!({"exit_code": 0, "stdout": out}).to_string(),
    );
    let line = serde_json::to_string(&Record::Message {
        turn: 2,
        message: deep,
    })
    .unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let at = lines
        .iter()
        .position(|l| l.contains(r#""tool_call_id":"c2""#))
        .unwrap();
    lines[at] = line;
    std::fs::write(&paths[0], lines.join("\n") + "\n").unwrap();
    for p in load(&mut app, "deep", &paths[0]).await {
        app.on_journal_part(p);
    }
    assert!(app.loaded.contains_key(&k("deep")) && !app.loading.contains(&k("deep")));
    let held = app.current_transcript().unwrap();
    assert!(
        (0..held.cell_count()).all(|i| !held.cell(i).unwrap().1.contains("HIDDENWORD")),
        "the whole transcript keeps only what collapsed cells show"
    );

    app.focus = crate::console::pane::Focus::Detail;
    for c in "/HIDDENWORD".chars() {
        app.on_key(key(c));
    }
    let fx = app.on_key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE));
    let [Effect::SearchJournal(job)] = <[Effect; 1]>::try_from(fx).unwrap() else {
        panic!("no journal search")
    };
    let s = app.current_transcript().unwrap().search_status().unwrap();
    assert_eq!((s.total, s.searching), (0, true));
    assert!(render(&mut app, 120, 30).contains("searching …"));
    let hits = tokio::task::spawn_blocking(move || job.run())
        .await
        .unwrap();
    app.on_search_hits(hits);
    let s = app.current_transcript().unwrap().search_status().unwrap();
    assert_eq!((s.current, s.total, s.searching), (1, 1, false));
    let screen = render(&mut app, 120, 30);
    assert!(screen.contains("HIDDENWORD here"), "{screen}");
    assert!(screen.contains("/HIDDENWORD 1/1"), "{screen}");
}
