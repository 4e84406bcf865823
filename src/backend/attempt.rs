//! One attempt of a task, as the console's attempt selector asks for it
//! ([`super::Command::LoadAttempt`] → [`super::BackendEvent::Attempt`]). Re-queueing starts
//! attempt N+1; every earlier attempt keeps its journal, its status and (while its commit is
//! still in the kept workspace) its diff, so the operator can read how each try ended.

use crate::agent::transcript::Record;
use crate::api::AgenticTaskStatus;
use crate::fleet::TaskKey;
use crate::workspace::FileDiff;

/// What the cluster backend answers for an earlier attempt it does not keep.
pub const EARLIER_ONLY_EMBEDDED: &str = "the cluster keeps the current attempt and those a request for changes replaced; \
     earlier re-queued attempts are kept only in the embedded state";

/// The answer to [`super::Command::LoadAttempt`].
#[derive(Clone, Debug)]
pub struct AttemptView {
    pub task: TaskKey,
    /// The attempt this answers for (1-based).
    pub attempt: u32,
    /// Every attempt the backend can show, oldest first; the last is the current one.
    pub attempts: Vec<u32>,
    /// How that attempt ended (its verdict, conditions and Result with branch, commit and PR
    /// url); for the current attempt the task's status now. `None`: nothing is known of it.
    pub status: Option<AgenticTaskStatus>,
    /// That attempt's journal; `Err` says why it cannot be shown.
    pub records: Result<Vec<Record>, String>,
    /// An earlier attempt's change: its files when its commit is still in the kept workspace,
    /// else why not. `None` for the current attempt (its diff is [`super::Command::LoadDiff`])
    /// or an attempt that recorded no commit.
    pub diff: Option<Result<Vec<FileDiff>, String>>,
}

/// One attempt's own change, beside the whole change in [`super::BackendEvent::Diff`] (the
/// diff view's `v` switches between them).
#[derive(Clone, Debug)]
pub struct AttemptDiff {
    pub attempt: u32,
    /// Its commit against the one the attempt before it ended with; `Err` says why not.
    pub files: Result<Vec<FileDiff>, String>,
}

/// The message for an earlier attempt whose commit the kept workspace no longer holds (a
/// later attempt cloned afresh over it).
pub fn workspace_gone(attempt: u32, sha: &str, workspace: &str) -> String {
    let short: String = sha.chars().take(12).collect();
    format!(
        "attempt {attempt}'s workspace is gone: its commit {short} is no longer in {workspace} \
         (a later attempt replaced it); its transcript and result are kept"
    )
}
