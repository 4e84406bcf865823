//! kill -9 of the real console while a task is mid-turn, 20 times: the console runs in a pty
//! against a scripted model that answers two tool calls and then streams the start of a third
//! reply and stalls; the console is killed at a different moment each round. Afterwards every
//! journal reads to its last complete record (at most the record in flight torn, at the end),
//! a fresh console shows every task Interrupted, and each can be re-queued (R) as attempt 2.

mod common;

use common::fleet_repo;
use common::pty::{self, PtyChild};
use common::scripted_oai::{Reply, ScriptedServer};
use foreman::agent::transcript::{Record, read_journal};
use foreman::api::load_str;
use foreman::backend::embedded::Store;
use foreman::backend::embedded::store::attempt_of;
use foreman::fleet::{TaskKey, TaskState, task_state};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

const ROUNDS: usize = 20;

fn task_doc(i: usize) -> String {
    format!(
        "apiVersion: foreman.llmkube.dev/v1alpha1\nkind: Agent\nmetadata: {{name: coder}}\nspec:\n  role: coder\n  maxTurns: 40\n  tools: [read_file, submit_result]\n---\napiVersion: foreman.llmkube.dev/v1alpha1\nkind: AgenticTask\nmetadata: {{name: fix-{i:02}}}\nspec:\n  kind: issue-fix\n  agentRef: {{name: coder}}\n  payload: {{repo: acme/fleet, issue: {n}, prompt: \"Fix the typo\"}}\n",
        n = i + 1
    )
}

/// Two tool turns, then a reply that starts streaming and never ends: the run is mid-turn.
/// Served by [`ScriptedServer::chat_only`]: the console's inference probes (`/props`,
/// `/models`, GETs) race the run and must not take its replies (they once did under load,
/// failing the run's first chat with the probe's 404).
fn slow_model() -> Vec<Reply> {
    let read = || Reply::tool_call("read_file", r#"{"path":"README.md"}"#);
    let (payloads, _) = Reply::text("I am looking at the README to find the typo").payloads();
    vec![read(), read(), Reply::Stall(payloads[..2].to_vec())]
}

fn console(state: &Path, home: &Path, base_url: &str, remote: &Path) -> PtyChild {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_foreman"));
    cmd.env("HOME", home)
        .env("FOREMAN_CONFIG", home.join("empty.toml"))
        .env("FLEET_NODE_NAME", "kill-node")
        .env("TERM", "xterm-256color")
        .arg("--state-dir")
        .arg(state)
        .args(["--inference-url", base_url])
        .arg("--remote")
        .arg(remote)
        .args(["--author-email", "bot@example.com"]);
    pty::spawn(&mut cmd, 160, 45).expect("the console starts in a pty")
}

fn journal_len(path: &Path) -> usize {
    read_journal(path).map(|r| r.len()).unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_of_the_console_mid_turn_leaves_every_task_recoverable() {
    let repo = fleet_repo();
    let home = repo.root.join("home");
    std::fs::create_dir_all(&home).unwrap();
    std::fs::write(home.join("empty.toml"), "").unwrap();
    let state = repo.root.join("state");
    let mut journals = Vec::new();
    let mut seen_records = 0;
    for round in 0..ROUNDS {
        let key = TaskKey::new("default", format!("fix-{round:02}"));
        let journal = {
            let (mut store, _) = Store::open(&state).unwrap();
            store
                .submit(load_str("t", &task_doc(round)).unwrap(), true)
                .unwrap();
            store.journal_path(&key)
        };
        let server = ScriptedServer::chat_only(slow_model()).unwrap();
        let mut ui = console(&state, &home, &server.base_url(), &repo.bare);
        // Into the loop (Meta, system and user journaled), then kill at a different moment.
        let start = Instant::now();
        while journal_len(&journal) < 3 && start.elapsed() < Duration::from_secs(60) {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        if journal_len(&journal) < 3 {
            let (store, _) = Store::open(&state).unwrap();
            panic!(
                "round {round}: the run never got into its loop ({:?}, {} requests to the model); the console drew:\n{}",
                store.task(&key).and_then(|t| t.status.clone()),
                server.requests().len(),
                ui.output()
            );
        }
        tokio::time::sleep(Duration::from_millis((round as u64 * 53) % 400)).await;
        assert!(
            common::signal(ui.child.id() as i32, 9),
            "round {round}: the console ended before the kill"
        );
        let _ = ui.child.wait();
        let records = read_journal(&journal).unwrap();
        let torn: Vec<usize> = records
            .iter()
            .enumerate()
            .filter(|(_, r)| matches!(r, Record::Torn { .. }))
            .map(|(i, _)| i)
            .collect();
        assert!(
            torn.is_empty() || torn == [records.len() - 1],
            "round {round}: only the record in flight may be torn: {torn:?} of {}",
            records.len()
        );
        assert!(matches!(records[0], Record::Meta { .. }), "round {round}");
        assert!(
            !records.iter().any(|r| matches!(r, Record::End { .. })),
            "round {round}: the run was killed mid-turn, not after its end"
        );
        seen_records += records.len();
        journals.push((key, journal));
    }
    assert!(
        seen_records > ROUNDS * 5,
        "the runs were killed inside their loops ({seen_records} records)"
    );

    // A fresh console recovers every task: all 20 Interrupted in the queue.
    let server = ScriptedServer::chat_only(Vec::new()).unwrap();
    let mut ui = console(&state, &home, &server.base_url(), &repo.bare);
    assert!(
        ui.wait_for(&format!("Queue ({ROUNDS})"), Duration::from_secs(30))
            .is_some(),
        "the fresh console never showed the {ROUNDS} tasks:\n{}",
        ui.output()
    );
    assert!(
        ui.wait_for("Interrupted", Duration::from_secs(10))
            .is_some(),
        "the fresh console shows no Interrupted task"
    );
    ui.send(b"q");
    let _ = ui.child.wait();

    let (mut store, warnings) = Store::open(&state).unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    store.recover().unwrap();
    for (key, journal) in &journals {
        let t = store.task(key).unwrap().clone();
        assert_eq!(
            task_state(&t),
            TaskState::Interrupted,
            "{key}: {:?}",
            t.status.as_ref().map(|s| &s.conditions)
        );
        let before = std::fs::read(journal).unwrap();
        let again = store.requeue(key).unwrap();
        assert_eq!(attempt_of(&again), 2, "{key}: R starts attempt 2");
        assert_eq!(
            std::fs::read(journal).unwrap(),
            before,
            "{key}: attempt 1's journal is kept as it was"
        );
        assert_ne!(store.journal_path_of(key, 2), *journal);
    }
}
