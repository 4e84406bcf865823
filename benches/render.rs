//! Transcript pane rendering figures: medians, p99 and max, against goals.
//!
//! Builds a ≥10 MB transcript of ≥5,000 turns (assistant prose, bash calls, multi-line JSON
//! results), then measures at 200x60:
//!   (a) steady-state frame: `prepare` + `render` of the visible window (target ≤ 2 ms),
//!   (b) the naive alternative: re-wrapping the whole transcript every frame,
//!   (c) token-to-screen latency while streaming at 200 tok/s (target ≤ 16 ms),
//!   (d) re-layout after a resize,
//!   (e) the paged frame through a real terminal backend (ratatui `Terminal` + crossterm,
//!       the buffer diff and the escape sequences written into a counting sink),
//!   (f) token-to-screen as the console's loop draws: 200 tok/s from another thread, bursts
//!       drained, at most one frame per 16 ms (`console::pacer`), timed from each token's send
//!       to the end of the write of the frame holding it (goal: median ≤ 16 ms).
//! Exits 1 when a figure is over its goal.
//!
//! Run: `cargo bench --bench render`.

use foreman::agent::TurnStats;
use foreman::console::pacer::Pacer;
use foreman::console::transcript::{Transcript, TranscriptStyle};
use foreman::oai::{Message, StreamEvent, ToolCall, Usage};
use ratatui::backend::CrosstermBackend;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Text};
use ratatui::widgets::{Paragraph, Widget, Wrap};
use ratatui::{Terminal, TerminalOptions, Viewport};
use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::RecvTimeoutError;
use std::time::{Duration, Instant};

const TURNS: u32 = 5_600;
const WORDS: &[&str] = &[
    "the",
    "model",
    "reads",
    "src/lib.rs",
    "and",
    "finds",
    "that",
    "retry",
    "handling",
    "is",
    "missing",
    "so",
    "I",
    "will",
    "add",
    "a",
    "small",
    "helper",
    "function",
    "before",
    "running",
    "cargo",
    "test",
    "again",
    "to",
    "confirm",
    "fix",
    "works",
    "日本語",
    "tokens",
    "context",
];

struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) as usize
    }
    fn words(&mut self, n: usize) -> String {
        let mut s = String::new();
        for i in 0..n {
            if i > 0 {
                s.push(' ');
            }
            s.push_str(WORDS[self.next() % WORDS.len()]);
        }
        s
    }
}

fn build() -> (Transcript, usize) {
    let mut t = Transcript::new();
    let mut rng = Lcg(42);
    let mut bytes = 0usize;
    let sys = Message::system(
        "You are a coding agent working in a git checkout.\nUse the tools.\nRun the tests.",
    );
    let user = Message::user("Fix the failing tests in the retry module.");
    bytes += sys.text().len() + user.text().len();
    t.push_message(&sys);
    t.push_message(&user);
    for turn in 1..=TURNS {
        t.turn_started(turn, TURNS);
        // ~600 bytes of prose in 2-3 paragraphs.
        let mut text = String::new();
        for p in 0..(2 + rng.next() % 2) {
            if p > 0 {
                text.push_str("\n\n");
            }
            let n = 30 + rng.next() % 20;
            text.push_str(&rng.words(n));
        }
        let cmd = format!("cargo test -p crate{} -- --nocapture", rng.next() % 100);
        let args = serde_json::json!({ "command": cmd }).to_string();
        let mut m = Message::assistant(text);
        m.tool_calls = Some(vec![ToolCall::new(format!("c{turn}"), "bash", &args)]);
        bytes += m.text().len() + args.len();
        t.push_message(&m);
        t.turn_finished(TurnStats {
            turn,
            elapsed_ms: 1500 + (rng.next() % 3000) as u64,
            attempts: 1,
            usage: Some(Usage {
                prompt_tokens: 1000 + u64::from(turn),
                completion_tokens: 120,
                total_tokens: 1120 + u64::from(turn),
            }),
            timings: None,
        });
        // ~1.4 KB of command output over ~30 lines.
        let mut out = String::new();
        for i in 0..(30 + rng.next() % 10) {
            out.push_str(&format!(
                "test module_{i}::case_{} ... ok\n",
                rng.next() % 1000
            ));
        }
        let result = serde_json::json!({
            "command": cmd, "exit_code": 0, "stdout": out, "stderr": "", "timed_out": false
        })
        .to_string();
        bytes += result.len();
        t.push_message(&Message::tool(format!("c{turn}"), "bash", result));
    }
    (t, bytes)
}

fn frame(t: &mut Transcript, area: Rect, buf: &mut Buffer, st: &TranscriptStyle) {
    t.prepare(area);
    t.render(area, buf, st);
}

/// Prints median, p99 and max; with a `goal`, a median over it is recorded in `over` (the
/// bench exits 1 at the end, after every figure is printed).
fn stats(name: &str, mut v: Vec<Duration>, goal: Option<Duration>, over: &mut Vec<String>) {
    v.sort();
    let pct = |p: f64| v[((v.len() - 1) as f64 * p).round() as usize];
    let target = match goal {
        Some(g) if pct(0.5) > g => {
            over.push(format!("{name}: median {:.3?} > {g:?}", pct(0.5)));
            format!("goal ≤ {g:?}: OVER")
        }
        Some(g) => format!("goal ≤ {g:?}"),
        None => String::new(),
    };
    println!(
        "{name:<58} n={:<5} median {:>10.3?}  p99 {:>10.3?}  max {:>10.3?}  {target}",
        v.len(),
        pct(0.5),
        pct(0.99),
        pct(1.0)
    );
}

fn screen_text(buf: &Buffer) -> String {
    let mut s = String::new();
    for y in 0..buf.area.height {
        for x in 0..buf.area.width {
            s.push_str(buf[(x, y)].symbol());
        }
        s.push('\n');
    }
    s
}

/// A frame of the transcript pane (prepare + render) and a streamed token to the screen.
const FRAME_GOAL: Duration = Duration::from_millis(2);
const TOKEN_GOAL: Duration = Duration::from_millis(16);

fn main() {
    let mut over = Vec::new();
    let st = TranscriptStyle::default();
    let area = Rect::new(0, 0, 200, 60);
    let mut buf = Buffer::empty(area);

    let t0 = Instant::now();
    let (mut t, bytes) = build();
    let ingest = t0.elapsed();
    let t0 = Instant::now();
    frame(&mut t, area, &mut buf, &st);
    let first = t0.elapsed();
    println!(
        "transcript: {:.1} MB of message text, {TURNS} turns, {} cells, {} rows at 200 cols",
        bytes as f64 / 1e6,
        t.cell_count(),
        t.total_rows()
    );
    println!("ingest (events → model): {ingest:.1?}; first layout + frame: {first:.1?}\n");

    // (a) steady state, following the bottom.
    let mut v = Vec::new();
    for _ in 0..3000 {
        let s = Instant::now();
        frame(&mut t, area, &mut buf, &st);
        v.push(s.elapsed());
    }
    stats(
        "(a) steady frame, following (prepare+render)",
        v,
        Some(FRAME_GOAL),
        &mut over,
    );

    // (a') scrolled into the middle with a search active, paging each frame.
    t.search("retry");
    t.scroll_to_top();
    for _ in 0..50 {
        t.page_down();
    }
    let mut v = Vec::new();
    for i in 0..3000 {
        if i % 2 == 0 {
            t.page_down();
        } else {
            t.page_up();
        }
        let s = Instant::now();
        frame(&mut t, area, &mut buf, &st);
        v.push(s.elapsed());
    }
    stats(
        "(a') paged frame mid-transcript, search highlighting",
        v,
        Some(FRAME_GOAL),
        &mut over,
    );
    let s = Instant::now();
    let n = t.search("case_99");
    let search_time = s.elapsed();
    t.clear_search();
    t.resume_follow();
    println!("     search over the whole transcript: {n} matches in {search_time:.1?}");

    // (b) naive: re-wrap everything every frame.
    // (b1) ratatui Paragraph + Wrap over all lines, scrolled as far as its u16 offset allows.
    let mut all = Vec::new();
    for i in 0..t.cell_count() {
        if let Some((_, text)) = t.cell(i) {
            all.extend(text.split('\n').map(|l| l.to_string()));
        }
    }
    let mut v = Vec::new();
    for _ in 0..5 {
        let s = Instant::now();
        let text = Text::from(
            all.iter()
                .map(|l| Line::raw(l.as_str()))
                .collect::<Vec<_>>(),
        );
        let scroll = u16::try_from(all.len()).unwrap_or(u16::MAX);
        Paragraph::new(text)
            .wrap(Wrap { trim: false })
            .scroll((scroll, 0))
            .render(area, &mut buf);
        v.push(s.elapsed());
    }
    stats(
        "(b1) naive: Paragraph+Wrap over all lines, per frame",
        v,
        None,
        &mut over,
    );
    println!("     (u16 scroll: reaches ≤65,535 rows)");
    // (b2) our wrapper over everything every frame (= a cold layout per frame).
    let mut v = Vec::new();
    for i in 0..10 {
        let w = if i % 2 == 0 { 199 } else { 200 };
        let a = Rect::new(0, 0, w, 60);
        let s = Instant::now();
        frame(&mut t, a, &mut buf, &st);
        v.push(s.elapsed());
    }
    stats(
        "(b2) naive: full re-wrap of every cell, per frame",
        v,
        None,
        &mut over,
    );

    // (c) token-to-screen latency at 200 tok/s.
    frame(&mut t, area, &mut buf, &st);
    t.turn_started(TURNS + 1, TURNS + 1);
    let mut v = Vec::new();
    let mut missing = 0;
    let period = Duration::from_millis(5);
    let mut next = Instant::now();
    for i in 0..1000 {
        let tok = if i % 40 == 39 {
            format!(" w{i}.\n")
        } else {
            format!(" w{i}")
        };
        let now = Instant::now();
        if next > now {
            std::thread::sleep(next - now);
        }
        next += period;
        let s = Instant::now();
        t.stream(&StreamEvent::Content(tok.clone()));
        frame(&mut t, area, &mut buf, &st);
        v.push(s.elapsed());
        if !screen_text(&buf).contains(tok.trim_end()) {
            if missing == 0 {
                let scr = screen_text(&buf);
                let tail: Vec<&str> = scr.lines().rev().take(4).collect();
                println!("     first miss {tok:?}, bottom rows: {tail:#?}");
            }
            missing += 1;
        }
    }
    stats(
        "(c) token → visible (stream + prepare + render), 200 tok/s",
        v,
        Some(TOKEN_GOAL),
        &mut over,
    );
    println!("     tokens not found on screen after their frame: {missing}");

    // (d) resize re-layout.
    let mut v = Vec::new();
    for i in 0..10 {
        let w = [160, 200, 120, 200, 80][i % 5];
        let a = Rect::new(0, 0, w, 60);
        let mut b = Buffer::empty(a);
        let s = Instant::now();
        frame(&mut t, a, &mut b, &st);
        v.push(s.elapsed());
    }
    stats("(d) resize: full re-layout + frame", v, None, &mut over);

    // The same with every tool result expanded (all text laid out).
    t.set_all_expanded(true);
    frame(&mut t, area, &mut buf, &st);
    println!("     all expanded: {} rows at 200 cols", t.total_rows());
    let mut v = Vec::new();
    for _ in 0..1000 {
        let s = Instant::now();
        frame(&mut t, area, &mut buf, &st);
        v.push(s.elapsed());
    }
    stats(
        "(a\") steady frame, all expanded",
        v,
        Some(FRAME_GOAL),
        &mut over,
    );
    let mut v = Vec::new();
    for i in 0..10 {
        let w = [160, 200, 120, 200, 80][i % 5];
        let a = Rect::new(0, 0, w, 60);
        let mut b = Buffer::empty(a);
        let s = Instant::now();
        frame(&mut t, a, &mut b, &st);
        v.push(s.elapsed());
    }
    stats(
        "(d') resize, all expanded (= naive full re-wrap)",
        v,
        None,
        &mut over,
    );
    t.set_all_expanded(false);
    t.resume_follow();
    through_the_terminal(&mut t, &st, &mut over);
    if !over.is_empty() {
        println!("OVER goal: {}", over.join("; "));
        std::process::exit(1);
    }
}

/// A writer that only counts: the bytes a real terminal would receive.
#[derive(Clone, Default)]
struct Counting(Arc<AtomicUsize>);

impl Write for Counting {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.fetch_add(b.len(), Ordering::Relaxed);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

type SinkTerminal = Terminal<CrosstermBackend<Counting>>;

fn sink_terminal(w: u16, h: u16) -> (SinkTerminal, Arc<AtomicUsize>) {
    let sink = Counting::default();
    let bytes = Arc::clone(&sink.0);
    let options = TerminalOptions {
        viewport: Viewport::Fixed(Rect::new(0, 0, w, h)),
    };
    let term = Terminal::with_options(CrosstermBackend::new(sink), options).expect("a terminal");
    (term, bytes)
}

/// (e) frames through ratatui's `Terminal` and crossterm (buffer diff and escape sequences
/// written, as on screen), and (f) token-to-screen as the console's loop does it: tokens
/// from another thread at 200 tok/s, drained in bursts, drawn at most once per frame
/// (`console::pacer`, the loop's own rule), each token timed from its send to the end of
/// the write of the first frame that holds it.
fn through_the_terminal(t: &mut Transcript, st: &TranscriptStyle, over: &mut Vec<String>) {
    let (mut term, bytes) = sink_terminal(200, 60);
    let area = Rect::new(0, 0, 200, 60);
    let draw = |term: &mut SinkTerminal, t: &mut Transcript| -> String {
        let done = term
            .draw(|f| {
                t.prepare(area);
                t.render(area, f.buffer_mut(), st);
            })
            .expect("drawn");
        screen_text(done.buffer)
    };
    draw(&mut term, t);
    t.scroll_to_top();
    let mut v = Vec::new();
    let before = bytes.load(Ordering::Relaxed);
    for i in 0..1000 {
        if i % 2 == 0 {
            t.page_down();
        } else {
            t.page_up();
        }
        let s = Instant::now();
        draw(&mut term, t);
        v.push(s.elapsed());
    }
    let per_frame = (bytes.load(Ordering::Relaxed) - before) / 1000;
    stats(
        "(e) paged frame through Terminal + crossterm (diff, write)",
        v,
        Some(FRAME_GOAL),
        over,
    );
    println!("     {per_frame} bytes written per frame");

    t.resume_follow();
    draw(&mut term, t);
    t.turn_started(TURNS + 2, TURNS + 2);
    let (tx, rx) = std::sync::mpsc::channel::<(Instant, String)>();
    let producer = std::thread::spawn(move || {
        let period = Duration::from_millis(5);
        let mut next = Instant::now();
        for i in 0..1000 {
            let now = Instant::now();
            if next > now {
                std::thread::sleep(next - now);
            }
            next += period;
            let tok = if i % 40 == 39 {
                format!(" t{i}.\n")
            } else {
                format!(" t{i}")
            };
            if tx.send((Instant::now(), tok)).is_err() {
                return;
            }
        }
    });
    let mut pacer = Pacer::new(Instant::now());
    let mut pending: Vec<(Instant, String)> = Vec::new();
    let (mut lat, mut missing) = (Vec::new(), 0usize);
    let mut frames = 0usize;
    let mut open = true;
    while open || !pending.is_empty() {
        if !pending.is_empty() && pacer.due(Instant::now()) {
            let screen = draw(&mut term, t);
            let end = Instant::now();
            pacer.drawn(end);
            frames += 1;
            for (sent, tok) in pending.drain(..) {
                lat.push(end - sent);
                missing += usize::from(!screen.contains(tok.trim_end()));
            }
        }
        let wait = if pending.is_empty() {
            Duration::from_secs(1)
        } else {
            pacer.wait(Instant::now())
        };
        match rx.recv_timeout(wait) {
            Ok(first) => {
                for (sent, tok) in std::iter::once(first).chain(rx.try_iter()) {
                    t.stream(&StreamEvent::Content(tok.clone()));
                    pending.push((sent, tok));
                }
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => open = false,
        }
    }
    producer.join().expect("the producer ends");
    stats(
        "(f) token → written frame, 200 tok/s, 16 ms frame cap",
        lat,
        Some(TOKEN_GOAL),
        over,
    );
    println!(
        "     {frames} frames for 1000 tokens; tokens not on screen in their frame: {missing}"
    );
    if missing > 0 {
        over.push(format!("(f): {missing} tokens were not on screen"));
    }
}
