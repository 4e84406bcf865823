//! The executor's git work on blocking threads (git2 blocks) and what it needs: the token, the
//! commit identity the shell sees, the fresh workspace, the pending push and its approval.

use super::error::ExecutorError;
use crate::workspace::{self, PushError, Token};
use std::path::{Path, PathBuf};

/// Where the token comes from: the environment/file lookup (production) or given (tests).
#[derive(Clone, Debug)]
pub enum TokenSource {
    Lookup,
    Given(Token),
}

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

/// Pushes a pending GO (the operator's approval, or `--push`) to the remote the run cloned
/// from (the operator's), never to one the workspace's `.git/config` names. The error text is
/// safe to show.
pub async fn push_pending(p: &PendingPush, token: Option<Token>) -> Result<(), String> {
    let (ws, branch, shown) = (p.workspace.clone(), p.branch.clone(), p.remote.clone());
    blocking(move || -> Result<(), String> {
        let repo = git2::Repository::open(&ws)
            .map_err(|e| format!("cannot open workspace {}: {e}", ws.display()))?;
        let url = pinned_url(&shown, repo.path())?;
        workspace::push(&repo, &url, &branch, token.as_ref()).map_err(|e| match e {
            PushError::Rejected { message } => format!("push rejected by the remote: {message}"),
            PushError::Auth { message } => format!("authentication failed: {message}"),
            PushError::Transport { message } => format!("push failed: {message}"),
        })
    })
    .await
    .map_err(|e| e.to_string())?
}

/// Whether the remote's `branch` already points at the pending commit: a decision resumed
/// after a crash asks this first, so a push that landed before the crash is not repeated
/// (`fleet::decision`). Blocking git2 on a worker thread; the error text is safe to show.
pub async fn remote_has(p: &PendingPush, token: Option<Token>) -> Result<bool, String> {
    let (ws, branch, sha, shown) = (
        p.workspace.clone(),
        p.branch.clone(),
        p.sha.clone(),
        p.remote.clone(),
    );
    blocking(move || -> Result<bool, String> {
        let repo = git2::Repository::open(&ws)
            .map_err(|e| format!("cannot open workspace {}: {e}", ws.display()))?;
        let url = pinned_url(&shown, repo.path())?;
        let scrub = |e: git2::Error| workspace::auth::scrub(e.message(), token.as_ref());
        let mut remote = git2::Remote::create_detached(url.as_str()).map_err(scrub)?;
        let mut cbs = git2::RemoteCallbacks::new();
        let _creds = workspace::auth::install_credentials(&mut cbs, token.as_ref());
        let conn = remote
            .connect_auth(git2::Direction::Fetch, Some(cbs), None)
            .map_err(|e| format!("cannot read {shown}: {}", scrub(e)))?;
        let want = format!("refs/heads/{branch}");
        let heads = conn.list().map_err(scrub)?;
        Ok(heads
            .iter()
            .any(|h| h.name() == want && h.oid().to_string() == sha))
    })
    .await
    .map_err(|e| e.to_string())?
}

/// The URL to push to: the remote the run recorded (the operator's). A URL with credentials
/// is recorded redacted, so its full form comes from the clone record, which must redact to
/// the same URL (same host and path).
fn pinned_url(recorded: &str, git_dir: &Path) -> Result<String, String> {
    if !recorded.contains("***@") {
        return Ok(recorded.to_string());
    }
    match workspace::pin::load(git_dir) {
        Some(r) if workspace::auth::redact_url(&r.remote) == recorded => Ok(r.remote),
        _ => Err(format!(
            "cannot push to {recorded}: its credentials were recorded redacted and the clone \
             record does not match; configure the remote without credentials in the URL \
             (foreman sends the token itself)"
        )),
    }
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

    /// The kept workspace of a run under review: never removed by this run.
    pub fn kept(path: &Path) -> WorkspaceGuard {
        WorkspaceGuard {
            path: path.to_path_buf(),
            keep: true,
        }
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

/// Token needed for HTTP(S) remotes; local paths and file:// need none.
pub(super) fn resolve_token(src: &TokenSource, remote: &str) -> Result<Option<Token>, String> {
    let needs = remote.starts_with("http://") || remote.starts_with("https://");
    match src {
        TokenSource::Given(t) => Ok(Some(t.clone())),
        TokenSource::Lookup if needs => workspace::resolve_token()
            .map(Some)
            .map_err(|e| e.to_string()),
        TokenSource::Lookup => Ok(workspace::resolve_token().ok()),
    }
}

pub(super) fn identity_env(id: &workspace::Identity) -> Vec<(String, String)> {
    [
        ("GIT_AUTHOR_NAME", &id.name),
        ("GIT_AUTHOR_EMAIL", &id.email),
        ("GIT_COMMITTER_NAME", &id.name),
        ("GIT_COMMITTER_EMAIL", &id.email),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.clone()))
    .collect()
}

/// The issue a GO commit must reference (`Fixes #N`).
pub(super) fn fixes_issue(task: &crate::api::AgenticTask) -> Option<i32> {
    match task.spec.kind {
        crate::api::TaskKind::IssueFix => task.spec.payload.issue.filter(|n| *n > 0),
        _ => None,
    }
}
