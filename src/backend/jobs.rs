//! The operator's async jobs on a finished task: pushing an approved GO, opening its pull
//! request and reading its diff. Each reads what it needs from the task (so all work after a
//! restart), does its git work on a blocking thread, and returns a message safe to show (never
//! the token).

use super::attempt::AttemptDiff;
use crate::api::AgenticTask;
use crate::fleet::status::result_extra;
use crate::workspace::{self, FileDiff};
use std::path::{Path, PathBuf};

/// Push and PR live in the executor layer, so the cluster worker carries them out too.
pub use crate::executor::pr::{PrOpened, open_pr, pending_push, push};

/// Where a task's change is: the kept workspace and the commit (`extra.workspace`,
/// `extra.commitSHA`). Without both there is nothing to diff; the console offers its diff
/// command only when this answers.
pub fn change_of(t: &AgenticTask) -> Result<(PathBuf, String), String> {
    let e = result_extra(t);
    let need = |v: Option<String>, k: &str| {
        v.ok_or_else(|| {
            format!("the task's result has no extra.{k}, so there is no change to show")
        })
    };
    Ok((
        PathBuf::from(need(e.workspace, "workspace")?),
        need(e.commit_sha, "commitSHA")?,
    ))
}

/// The task's whole change (every attempt, since its branch left the default branch), file
/// by file, read from its workspace on this machine (the caller knows the workspace is here).
pub async fn load_diff(t: &AgenticTask) -> Result<Vec<FileDiff>, String> {
    let (ws, sha) = change_of(t)?;
    tokio::task::spawn_blocking(move || {
        let repo = open(&ws)?;
        workspace::diff_change(&repo, &sha).map_err(|e| e.to_string())
    })
    .await
    .map_err(|e| format!("git worker failed: {e}"))?
}

/// The current attempt's own change: its commit against `since`, the commit the previous
/// attempt ended with. `None` unless `since` is under it on the same branch (a revision); a
/// re-queued attempt cloned afresh has no earlier commit under it.
pub async fn load_attempt_diff(
    t: &AgenticTask,
    attempt: u32,
    since: String,
) -> Option<AttemptDiff> {
    let (ws, sha) = change_of(t).ok()?;
    tokio::task::spawn_blocking(move || {
        let repo = open(&ws).ok()?;
        let oid = |s: &str| repo.revparse_single(s).ok().map(|o| o.id());
        let (head, base) = (oid(&sha)?, oid(&since)?);
        if head == base || !repo.graph_descendant_of(head, base).unwrap_or(false) {
            return None;
        }
        let files = workspace::diff_range(&repo, Some(&since), &sha).map_err(|e| e.to_string());
        Some(AttemptDiff { attempt, files })
    })
    .await
    .ok()
    .flatten()
}

/// The kept workspace at `ws`, or why it cannot be read. Blocking (git2).
fn open(ws: &Path) -> Result<git2::Repository, String> {
    if !ws.is_dir() {
        return Err(format!(
            "the workspace {} is gone from this machine; re-queue the task to redo it",
            ws.display()
        ));
    }
    git2::Repository::open(ws)
        .map_err(|e| format!("cannot open workspace {}: {}", ws.display(), e.message()))
}
