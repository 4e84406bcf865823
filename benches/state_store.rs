//! The SQLite state at scale: submit throughput (objects/s) with one transaction per submit of
//! 1,000 objects and with one per single-object submit, into a store that already holds the
//! objects before them (10,000 tasks at the end). Goal: >= 5,000 objects/s batched. Exits
//! non-zero over goal. Console start with 10,000 tasks in the store is `benches/console.rs`
//! (the real binary in a pty).

use foreman::api::load_str;
use foreman::backend::embedded::Store;
use std::time::Instant;

const TASKS: usize = 10_000;
const BATCH: usize = 1_000;
const SINGLES: usize = 200;
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
    assert_eq!(store.held().len(), TASKS + SINGLES);
    println!("state store (SQLite, WAL, synchronous=FULL):");
    println!(
        "  submit, {BATCH} objects per transaction: {batched:.0} objects/s  (goal >= {BATCH_GOAL:.0})"
    );
    println!("  submit, 1 object per transaction: {single:.0} objects/s (one fsync each)");
    if batched < BATCH_GOAL {
        println!("OVER goal");
        std::process::exit(1);
    }
    println!("OK");
}
