//! Real faults for the journal and the state: a 256 KiB tmpfs that fills up under the journal
//! and the database, and kill -9 of `foreman run` mid-turn, 20 times. The tmpfs tests need
//! root (mount); without it they say so on stdout and check nothing (CI runs as root).

mod common;

use common::fleet_repo;
use common::scripted_oai::{Reply, ScriptedServer};
use foreman::agent::transcript::{Journal, Record, incomplete, read_journal};
use foreman::api::load_str;
use foreman::backend::embedded::Store;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// A 256 KiB tmpfs, unmounted on drop.
struct Tmpfs {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

impl Tmpfs {
    fn mount() -> Option<Tmpfs> {
        if !nix_is_root() {
            println!("SKIPPED: not root, cannot mount a tmpfs (CI runs these as root)");
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("small");
        std::fs::create_dir(&path).unwrap();
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=256k", "tmpfs"])
            .arg(&path)
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        assert!(ok, "mount -t tmpfs failed although running as root");
        Some(Tmpfs { _dir: dir, path })
    }

    /// Fills the filesystem but for about `leave` bytes; returns the filler to delete.
    fn fill(&self, leave: usize) -> PathBuf {
        let filler = self.path.join("filler");
        let mut f = std::fs::File::create(&filler).unwrap();
        let chunk = vec![b'x'; 1024];
        use std::io::Write;
        while f.write_all(&chunk).is_ok() {}
        drop(f);
        let len = std::fs::metadata(&filler).unwrap().len();
        let f = std::fs::OpenOptions::new()
            .write(true)
            .open(&filler)
            .unwrap();
        f.set_len(len.saturating_sub(leave as u64)).unwrap();
        filler
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.path).status();
    }
}

fn nix_is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .map(|l| l.split_whitespace().nth(1) == Some("0"))
        })
        .unwrap_or(false)
}

fn big_record(i: u32) -> Record {
    Record::Retry {
        turn: i,
        attempt: 1,
        reason: "r".repeat(700),
    }
}

#[test]
fn a_disk_that_fills_for_a_moment_leaves_a_readable_journal_that_says_so() {
    let Some(fs) = Tmpfs::mount() else { return };
    let path = fs.path.join("t.jsonl");
    let mut j = Journal::create(&path).unwrap();
    j.append(&big_record(0)).unwrap();
    let filler = fs.fill(2000);
    let mut failed_at = None;
    for i in 1..20 {
        if j.append(&big_record(i)).is_err() {
            failed_at = Some(i);
            break;
        }
    }
    let failed_at = failed_at.expect("the full disk refused a write");
    std::fs::remove_file(filler).unwrap();
    for i in 100..103 {
        j.append(&big_record(i)).unwrap();
    }
    assert!(j.failed_writes() >= 1);
    let recs = read_journal(&path).unwrap();
    let turns: Vec<u32> = recs
        .iter()
        .filter_map(|r| match r {
            Record::Retry { turn, .. } => Some(*turn),
            _ => None,
        })
        .collect();
    // Everything before the failure and everything after it reads back.
    assert_eq!(
        &turns[..failed_at as usize],
        (0..failed_at).collect::<Vec<_>>().as_slice()
    );
    assert_eq!(&turns[turns.len() - 3..], [100, 101, 102]);
    assert!(
        incomplete(&recs),
        "no end record, maybe a torn one: {recs:?}"
    );
}

#[test]
fn a_full_disk_under_the_state_refuses_a_submit_whole_and_recovers() {
    let Some(fs) = Tmpfs::mount() else { return };
    let state = fs.path.join("state");
    let (mut store, _) = Store::open(&state).unwrap();
    let doc = |i: usize| {
        format!(
            "---\napiVersion: foreman.llmkube.dev/v1alpha1\nkind: AgenticTask\nmetadata: {{name: t-{i}}}\nspec:\n  kind: issue-fix\n  payload: {{repo: a/b, issue: 1, prompt: \"{}\"}}\n",
            "p".repeat(2000)
        )
    };
    store
        .submit(load_str("a", &doc(0)).unwrap(), false)
        .unwrap();
    let filler = fs.fill(4096);
    let many: String = (1..200).map(doc).collect();
    let err = store
        .submit(load_str("b", &many).unwrap(), false)
        .unwrap_err();
    assert!(err.to_string().contains("full"), "{err}");
    std::fs::remove_file(filler).unwrap();
    drop(store);
    let (mut store, warnings) = Store::open(&state).unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(store.tasks().len(), 1, "the refused submit left nothing");
    store
        .submit(load_str("c", &doc(1)).unwrap(), false)
        .unwrap();
    assert_eq!(store.tasks().len(), 2);
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

/// kill -9 of `foreman run` while the model keeps calling tools: every journal reads to its
/// last complete record, with at most the one record in flight torn (at the very end).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_of_foreman_run_mid_turn_loses_at_most_the_record_in_flight() {
    let repo = fleet_repo();
    let server =
        ScriptedServer::repeating(Reply::tool_call("read_file", r#"{"path":"README.md"}"#))
            .unwrap();
    let task = write(
        &repo.root,
        "task.yaml",
        "apiVersion: foreman.llmkube.dev/v1alpha1\nkind: AgenticTask\nmetadata: {name: fix-1}\nspec:\n  kind: issue-fix\n  payload: {repo: acme/fleet, issue: 7, prompt: \"Fix the typo\"}\n",
    );
    let agent = write(
        &repo.root,
        "agent.yaml",
        "apiVersion: foreman.llmkube.dev/v1alpha1\nkind: Agent\nmetadata: {name: coder}\nspec:\n  role: coder\n  maxTurns: 400\n  tools: [read_file, submit_result]\n",
    );
    let mut seen_records = 0;
    for round in 0..20u64 {
        let journal = repo.root.join(format!("j{round}.jsonl"));
        let mut child = Command::new(env!("CARGO_BIN_EXE_foreman"))
            .arg("run")
            .arg("--task")
            .arg(&task)
            .arg("--agent")
            .arg(&agent)
            .args(["--base-url", &server.base_url()])
            .arg("--git-remote-url")
            .arg(&repo.bare)
            .arg("--workspace-dir")
            .arg(repo.root.join(format!("ws{round}")))
            .args(["--commit-author-email", "bot@example.com", "--quiet"])
            .arg("--transcript")
            .arg(&journal)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        // Let it get into the loop, then kill it at a different moment each round.
        let start = std::time::Instant::now();
        while !journal.exists() && start.elapsed() < Duration::from_secs(20) {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        tokio::time::sleep(Duration::from_millis(150 + round * 37 % 400)).await;
        assert!(
            common::signal(child.id() as i32, 9),
            "round {round}: the run ended early"
        );
        let _ = child.wait();
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
        seen_records += records.len();
    }
    assert!(
        seen_records > 20 * 3,
        "the runs were killed mid-loop ({seen_records} records)"
    );
}
