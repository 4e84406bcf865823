//! The attempt selector's answers: any attempt of a task read back from the store (its
//! archived status), its own journal (`<name>.attempt-N.jsonl`) and, for an earlier attempt,
//! its diff while its commit is still in the kept workspace.

use super::runner::Runner;
use super::store::attempt_of;
use crate::api::{AgenticTask, AgenticTaskStatus};
use crate::backend::attempt::{AttemptView, workspace_gone};
use crate::backend::{BackendEvent, jobs};
use crate::fleet::TaskKey;
use crate::workspace::FileDiff;
use std::path::{Path, PathBuf};

impl Runner {
    /// Answers [`crate::backend::Command::LoadAttempt`] off the actor (journal and git reads).
    pub(super) fn load_attempt(&self, key: TaskKey, attempt: u32) {
        let Some(t) = self.store.task(&key).cloned() else {
            return self.emit(BackendEvent::Error(format!("no task {key}")));
        };
        let current = attempt_of(&t);
        let earlier = match self.store.attempts(&key) {
            Ok(a) => a,
            Err(e) => return self.emit(BackendEvent::Error(e.to_string())),
        };
        let mut attempts: Vec<u32> = earlier.iter().map(|a| a.number).collect();
        attempts.push(current);
        let status = if attempt == current {
            t.status.clone()
        } else {
            earlier
                .into_iter()
                .find(|a| a.number == attempt)
                .map(|a| a.status)
        };
        let journal = status
            .as_ref()
            .and_then(|s| s.transcript_ref.clone())
            .map(PathBuf::from)
            .unwrap_or_else(|| self.store.journal_path_of(&key, attempt));
        let events = self.events.clone();
        tokio::task::spawn_blocking(move || {
            let (records, diff) = match &status {
                None => (Err(no_such(&key, attempt, &attempts)), None),
                Some(s) => {
                    let diff = (attempt != current)
                        .then(|| earlier_diff(&t, s, attempt))
                        .flatten();
                    (read(&journal), diff)
                }
            };
            let view = AttemptView {
                task: key,
                attempt,
                attempts,
                status,
                records,
                diff,
            };
            let _ = events.send(BackendEvent::Attempt(Box::new(view)));
        });
    }
}

impl Runner {
    /// The current attempt's number and the commit the attempt before it ended with, when
    /// there is one (the base of the current attempt's own change).
    pub(super) fn previous_commit(&self, key: &TaskKey, t: &AgenticTask) -> Option<(u32, String)> {
        let current = attempt_of(t);
        let earlier = self.store.attempts(key).ok()?;
        let prev = earlier
            .into_iter()
            .filter(|a| a.number < current)
            .max_by_key(|a| a.number)?;
        let mut then = t.clone();
        then.status = Some(prev.status);
        let (_, sha) = jobs::change_of(&then).ok()?;
        Some((current, sha))
    }
}

fn no_such(key: &TaskKey, attempt: u32, attempts: &[u32]) -> String {
    let list: Vec<String> = attempts.iter().map(u32::to_string).collect();
    format!(
        "{key} has no attempt {attempt} (its attempts: {})",
        list.join(", ")
    )
}

/// The attempt's journal; none written (a run that never started) is an empty transcript.
fn read(journal: &Path) -> Result<Vec<crate::agent::transcript::Record>, String> {
    if journal.exists() {
        crate::agent::transcript::read_journal(journal)
    } else {
        Ok(Vec::new())
    }
}

/// An earlier attempt's change, read from the task's kept workspace when its commit is still
/// there (a later attempt clones afresh, so usually only a commit that reached the remote is).
/// Blocking (git2). `None`: the attempt recorded no commit.
fn earlier_diff(
    t: &AgenticTask,
    status: &AgenticTaskStatus,
    attempt: u32,
) -> Option<Result<Vec<FileDiff>, String>> {
    let mut then = t.clone();
    then.status = Some(status.clone());
    let (ws, sha) = jobs::change_of(&then).ok()?;
    let gone = || workspace_gone(attempt, &sha, &ws.display().to_string());
    let Ok(repo) = git2::Repository::open(&ws) else {
        return Some(Err(gone()));
    };
    let found = repo
        .revparse_single(&sha)
        .and_then(|o| o.peel_to_commit())
        .is_ok();
    if !found {
        return Some(Err(gone()));
    }
    Some(crate::workspace::diff_commit(&repo, &sha).map_err(|e| e.to_string()))
}
