//! Console start at fleet scale, as an operator meets it: a state directory with 10,000
//! finished runs (GO pushed with a PR, GO awaiting approval, NO-GO, INCOMPLETE, Interrupted;
//! each with its Result and a journal) and the real `foreman` binary started in a 200x60 pty.
//! Measures exec to the first full frame (the queue drawn with all 10,000 tasks) and the
//! process's peak RSS (VmHWM) then. Goals: ≤ 50 ms, ≤ 40 MB. Exits non-zero over a goal.
//!
//! Run it with `cargo bench --bench console` (the release binary is the product's figure);
//! `FOREMAN_BENCH_TASKS=1000` seeds another count (the same goals apply).

#[path = "../tests/common/pty.rs"]
mod pty;

use foreman::agent::transcript::{Journal, Record};
use foreman::api::load_str;
use foreman::api::task::FailureReason;
use foreman::backend::embedded::Store;
use foreman::executor::outcome::ResultEnvelope;
use foreman::executor::terminal::{Terminal, apply_terminal};
use foreman::fleet::TaskKey;
use foreman::fleet::extra::ResultExtra;
use foreman::fleet::reasons::REASON_INTERRUPTED;
use foreman::fleet::status::mark_claimed;
use foreman::oai::Message;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

const TASKS: usize = 10_000;
const BATCH: usize = 500;

/// How many finished runs to seed: [`TASKS`] unless `FOREMAN_BENCH_TASKS` says (a multiple of
/// [`BATCH`]).
fn tasks() -> usize {
    std::env::var("FOREMAN_BENCH_TASKS")
        .ok()
        .and_then(|n| n.parse::<usize>().ok())
        .filter(|n| *n > 0)
        .map_or(TASKS, |n| n.div_ceil(BATCH) * BATCH)
}
const RUNS: usize = 5;
const FRAME_GOAL_MS: f64 = 50.0;
const RSS_GOAL_MB: f64 = 40.0;

fn docs(from: usize, n: usize) -> String {
    let mut s = String::from(
        "apiVersion: foreman.llmkube.dev/v1alpha1\nkind: Agent\nmetadata: {name: coder}\nspec: {role: coder, tools: [read_file, submit_result]}\n",
    );
    for i in from..from + n {
        s.push_str(&format!(
            "---\napiVersion: foreman.llmkube.dev/v1alpha1\nkind: AgenticTask\nmetadata: {{name: task-{i:05}, namespace: default}}\nspec:\n  kind: issue-fix\n  agentRef: {{name: coder}}\n  payload: {{repo: acme/fleet, issue: {}, prompt: \"Fix the thing described in issue {i}: the parser drops the last line of a file without a newline\"}}\n",
            i + 1
        ));
    }
    s
}

/// How run `i` ended: mostly GO, some awaiting approval, NO-GO, INCOMPLETE and Interrupted.
fn finish(t: &mut foreman::api::AgenticTask, i: usize, journal: &Path) {
    mark_claimed(t, "bench-node");
    let branch = format!("foreman/task-{i:05}");
    let sha = format!("{:040x}", i * 7919);
    let base = ResultExtra {
        transcript_ref: Some(journal.display().to_string().into()),
        turn_count: Some(7 + (i % 13) as u64),
        model_summary: Some(format!("Fixed the parser for issue {i}")),
        ..Default::default()
    };
    let (verdict, extra) = match i % 10 {
        0..=5 => (
            "GO",
            ResultExtra {
                branch: Some(branch),
                commit_sha: Some(sha),
                pushed: Some(true),
                pr_url: Some(format!("https://github.com/acme/fleet/pull/{}", i + 1)),
                pr_number: Some(i as u64 + 1),
                ..base
            },
        ),
        6 => (
            "GO",
            ResultExtra {
                branch: Some(branch),
                commit_sha: Some(sha),
                pushed: Some(false),
                workspace: Some(format!("/state/workspaces/default/task-{i:05}")),
                ..base
            },
        ),
        7 => (
            "NO-GO",
            ResultExtra {
                intended_branch: Some(branch),
                ..base
            },
        ),
        8 => (
            "INCOMPLETE",
            ResultExtra {
                outcome: Some("LOOP-INCOMPLETE".into()),
                reason: Some("MaxTurnsExhausted".into()),
                ..base
            },
        ),
        _ => {
            return apply_terminal(
                t,
                &Terminal::Failed {
                    reason: REASON_INTERRUPTED.into(),
                    message: "the console stopped while this task ran; re-queue it with R".into(),
                },
            );
        }
    };
    let result = ResultEnvelope {
        schema_version: "foreman.llmkube.dev/result/v1".into(),
        kind: "native".into(),
        verdict: verdict.into(),
        failure_reason: (verdict == "INCOMPLETE").then_some(FailureReason::MaxTurnsExhausted),
        summary: format!("{verdict}: the parser keeps the last line of issue {i}'s file"),
        extra,
        elapsed_sec: 42.0 + i as f64 % 17.0,
    };
    apply_terminal(
        t,
        &Terminal::Result {
            result: Box::new(result),
            transcript_ref: Some(journal.display().to_string()),
        },
    );
}

fn write_journal(path: &Path, i: usize) {
    let mut j = Journal::create(path).expect("journal");
    let records = [
        Record::Meta {
            schema_version: "1".into(),
            task: format!("default/task-{i:05}"),
            agent: "default/coder".into(),
            model: "qwen".into(),
            base_url: "http://127.0.0.1:9/v1".into(),
            started_at: "2026-12-01T10:00:00Z".into(),
            max_turns: 40,
        },
        Record::Message {
            turn: 0,
            message: Message::system("You are a careful coding agent."),
        },
        Record::Message {
            turn: 0,
            message: Message::user(format!("Fix issue {i} in acme/fleet")),
        },
        Record::Message {
            turn: 1,
            message: Message::assistant("I read the parser and fixed the last-line case."),
        },
    ];
    for r in &records {
        j.append(r).expect("append");
    }
}

/// The state directory the console opens: every task finished, with its Result and journal.
fn seed(state: &Path, tasks: usize) {
    let (mut store, _) = Store::open(state).expect("store");
    for b in 0..tasks / BATCH {
        let objs = load_str("bench", &docs(b * BATCH, BATCH)).expect("load");
        store.submit(objs, false).expect("submit");
    }
    for i in 0..tasks {
        let key = TaskKey::new("default", format!("task-{i:05}"));
        let journal = store.journal_path(&key);
        write_journal(&journal, i);
        let mut t = store.task(&key).expect("seeded").clone();
        finish(&mut t, i, &journal);
        store.save_task(&t).expect("save");
    }
}

/// One start: exec to the frame that shows the queue with every task; the peak RSS then.
fn start_once(state: &Path, home: &Path, tasks: usize) -> (Duration, f64) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_foreman"));
    cmd.env_clear()
        .env("HOME", home)
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("TERM", "xterm-256color")
        .env("FOREMAN_STATE_DIR", state)
        .env("FOREMAN_INFERENCE_BASE_URL", "http://127.0.0.1:9/v1")
        .env("FLEET_NODE_NAME", "bench-node");
    let start = Instant::now();
    let mut child = pty::spawn(&mut cmd, 200, 60).expect("spawn foreman in a pty");
    // The frame before the Snapshot says "Queue (0)"; the terminal gets only the changed
    // cells, so the full frame is the one that writes the count of every task.
    let marker = format!("{tasks})");
    let Some(at) = child.wait_for(&marker, Duration::from_secs(60)) else {
        eprintln!(
            "the console never drew {marker:?}; it printed:\n{}",
            String::from_utf8_lossy(&child.seen)
        );
        std::process::exit(2);
    };
    let first = at - start;
    let rss = child.peak_rss_mb().unwrap_or(f64::NAN);
    child.send(b"q");
    let _ = child.wait_for("\x1b[?1049l", Duration::from_secs(5));
    (first, rss)
}

fn main() {
    let dir = tempfile::tempdir().expect("tempdir");
    let home = dir.path().join("home");
    std::fs::create_dir_all(&home).expect("home");
    // FOREMAN_BENCH_STATE=DIR keeps the seeded state in DIR (seeded once, reused after), for
    // profiling the start again and again without seeding 10,000 runs each time.
    let state = match std::env::var_os("FOREMAN_BENCH_STATE") {
        Some(d) => std::path::PathBuf::from(d),
        None => dir.path().join("state"),
    };
    let tasks = tasks();
    if state.join("state.db").exists() {
        println!("console: reusing the seeded state in {}", state.display());
    } else {
        let t = Instant::now();
        seed(&state, tasks);
        println!(
            "console: seeded {tasks} finished runs in {:.1} s",
            t.elapsed().as_secs_f64()
        );
    }
    let mut frames = Vec::new();
    let mut peak: f64 = 0.0;
    for _ in 0..RUNS {
        let (f, rss) = start_once(&state, &home, tasks);
        frames.push(f.as_secs_f64() * 1000.0);
        peak = peak.max(rss);
    }
    frames.sort_by(f64::total_cmp);
    let median = frames[RUNS / 2];
    println!(
        "  exec to first full frame (200x60 pty, {tasks} tasks): median {median:.1} ms of {RUNS} (min {:.1}, max {:.1})  (goal <= {FRAME_GOAL_MS:.0} ms)",
        frames[0],
        frames[RUNS - 1]
    );
    println!("  peak RSS at that frame: {peak:.1} MB  (goal <= {RSS_GOAL_MB:.0} MB)");
    if median > FRAME_GOAL_MS || peak > RSS_GOAL_MB || peak.is_nan() {
        println!("OVER goal");
        std::process::exit(1);
    }
    println!("OK");
}
