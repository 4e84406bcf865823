//! The executor's git work on blocking threads (git2 blocks): the fresh workspace, the
//! pending push and its approval.

use super::error::ExecutorError;
use crate::workspace::{self, PushError, Token};
use std::path::{Path, PathBuf};

/// A committed GO waiting for the operator's push approval.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PendingPush {
    pub workspace: PathBuf,
    pub remote: String,
    pub branch: String,
    pub sha: String,
}

impl PendingPush {
    /// The `status.result.extra` fields a console reads back to push and open the PR
    /// (`backend::jobs::pending_push`).
    pub fn extras(&self) -> crate::fleet::extra::ResultExtra {
        crate::fleet::extra::ResultExtra {
            workspace: Some(self.workspace.display().to_string()),
            remote: Some(self.remote.clone()),
            branch: Some(self.branch.clone()),
            commit_sha: Some(self.sha.clone()),
            ..Default::default()
        }
    }
}

/// Pushes a pending GO (the operator's approval, or `--push`). The error text is safe to show.
pub async fn push_pending(p: &PendingPush, token: Option<Token>) -> Result<(), String> {
    let (ws, branch) = (p.workspace.clone(), p.branch.clone());
    blocking(move || -> Result<(), String> {
        let repo = git2::Repository::open(&ws)
            .map_err(|e| format!("cannot open workspace {}: {e}", ws.display()))?;
        workspace::push(&repo, &branch, token.as_ref()).map_err(|e| match e {
            PushError::Rejected { message } => format!("push rejected by the remote: {message}"),
            PushError::Auth { message } => format!("authentication failed: {message}"),
            PushError::Transport { message } => format!("push failed: {message}"),
        })
    })
    .await
    .map_err(|e| e.to_string())?
}

fn prepare_workspace(ws: &Path) -> Result<(), ExecutorError> {
    let err = |message: String| ExecutorError::Workspace {
        path: ws.display().to_string(),
        message,
    };
    if let Some(parent) = ws.parent() {
        std::fs::create_dir_all(parent).map_err(|e| err(format!("cannot create parent: {e}")))?;
    }
    match std::fs::remove_dir_all(ws) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(err(format!("cannot remove a leftover workspace: {e}"))),
    }
}

/// Removes the workspace when the run ends, unless asked to keep it or a push awaits approval.
pub(super) struct WorkspaceGuard {
    path: PathBuf,
    keep: bool,
}

impl WorkspaceGuard {
    /// An empty workspace at `path` (a leftover of an earlier run is removed), removed again
    /// when the guard drops unless `keep`.
    pub fn fresh(path: &Path, keep: bool) -> Result<WorkspaceGuard, ExecutorError> {
        prepare_workspace(path)?;
        Ok(WorkspaceGuard {
            path: path.to_path_buf(),
            keep,
        })
    }

    pub fn keep_for_approval(mut self) {
        self.keep = true;
    }
}

impl Drop for WorkspaceGuard {
    fn drop(&mut self) {
        if !self.keep {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

pub(super) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ExecutorError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ExecutorError::Internal(format!("git worker failed: {e}")))
}
