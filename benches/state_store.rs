//! The SQLite state at scale: submit throughput (objects/s, one transaction per submit of
//! 1,000 objects, and one per single-object submit) and console start to first frame with
//! 10,000 tasks in the store (open the database, first Snapshot, first full frame at 200x60).
//! Goals: first frame <= 60 ms; >= 5,000 objects/s batched. Exits non-zero over a goal.

use foreman::api::load_str;
#[path = "../tests/common/local.rs"]
mod local;

use foreman::backend::BackendEvent;
use foreman::backend::embedded::{Store, start_embedded_with};
use foreman::config::Config;
use foreman::console::draw::draw;
use foreman::console::state::App;
use foreman::console::theme::Theme;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use std::time::Instant;

const TASKS: usize = 10_000;
const BATCH: usize = 1_000;
const SINGLES: usize = 200;
const FRAME_GOAL_MS: f64 = 60.0;
const BATCH_GOAL: f64 = 5_000.0;

fn docs(from: usize, n: usize) -> String {
    (from..from + n)
        .map(|i| format!(
            "---\napiVersion: foreman.llmkube.dev/v1alpha1\nkind: AgenticTask\nmetadata: {{name: task-{i:05}, namespace: default}}\nspec:\n  kind: issue-fix\n  agentRef: {{name: missing}}\n  payload: {{repo: acme/fleet, issue: {}, prompt: \"Fix the thing described in issue {i}\"}}\n",
            i + 1
        ))
        .collect()
}

fn main() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut store, _) = Store::open(dir.path()).expect("store");
    let batches: Vec<_> = (0..TASKS / BATCH)
        .map(|b| load_str("bench", &docs(b * BATCH, BATCH)).expect("load"))
        .collect();
    let t = Instant::now();
    for objs in batches {
        store.submit(objs, false).expect("submit");
    }
    let batched = TASKS as f64 / t.elapsed().as_secs_f64();
    let singles: Vec<_> = (0..SINGLES)
        .map(|i| load_str("bench", &docs(TASKS + i, 1)).expect("load"))
        .collect();
    let t = Instant::now();
    for objs in singles {
        store.submit(objs, false).expect("submit");
    }
    let single = SINGLES as f64 / t.elapsed().as_secs_f64();
    drop(store);

    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let first_frame = rt.block_on(async {
        let start = Instant::now();
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let cfg = local::embedded_config(dir.path(), "http://127.0.0.1:9/v1", 1);
        let opts = local::still_options();
        let _backend = start_embedded_with(cfg, opts, tx).expect("backend");
        let c = Config::defaults(&mut Vec::new());
        let mut app = App::new(
            Theme::builtin("dark").expect("theme"),
            c.keymap.clone(),
            c.ui.bell,
            "bench".into(),
        );
        loop {
            let ev = rx.recv().await.expect("backend events");
            let snapshot = matches!(ev, BackendEvent::Snapshot { .. });
            app.on_backend(ev);
            if snapshot {
                break;
            }
        }
        let mut term = Terminal::new(TestBackend::new(200, 60)).expect("terminal");
        term.draw(|f| draw(f, &mut app)).expect("draw");
        let first = start.elapsed();
        assert_eq!(app.mirror.order.len(), TASKS + SINGLES);
        first
    });
    let ms = first_frame.as_secs_f64() * 1000.0;
    println!("state store (SQLite, WAL, synchronous=FULL):");
    println!(
        "  submit, {BATCH} objects per transaction: {batched:.0} objects/s  (goal >= {BATCH_GOAL:.0})"
    );
    println!("  submit, 1 object per transaction: {single:.0} objects/s");
    println!(
        "  console start to first frame with {} tasks: {ms:.1} ms  (goal <= {FRAME_GOAL_MS:.0} ms)",
        TASKS + SINGLES
    );
    if ms > FRAME_GOAL_MS || batched < BATCH_GOAL {
        eprintln!("over goal");
        std::process::exit(1);
    }
}
