//! `foreman push`: pushes a committed GO that `foreman run` left awaiting approval, reading
//! branch and commit from the kept workspace and the remote from its clone record (the URL
//! the run cloned from, never `.git/config`'s, which the model could have rewritten).

use super::PushArgs;
use super::common::{Exit, bad_input, failed};
use crate::executor::{self, PendingPush};
use std::path::Path;

pub async fn push(args: PushArgs) -> Exit {
    let ws = args.workspace;
    let info = match pending_from_workspace(&ws) {
        Ok(p) => p,
        Err(e) => return bad_input(e),
    };
    if let Some(note) = crate::workspace::pin::config_note(repo_dir(&ws).as_path()) {
        errln!("warning: {note}");
    }
    let token = crate::workspace::resolve_token().ok();
    errln!(
        "pushing {} ({}) to {}",
        info.branch,
        &info.sha[..info.sha.len().min(12)],
        info.remote
    );
    match executor::push_pending(&info, token).await {
        Ok(()) => {
            outln!(
                "{}",
                serde_json::json!({"pushed": true, "branch": info.branch, "commitSHA": info.sha})
            );
            Exit::Ok
        }
        Err(e) => failed(e),
    }
}

fn pending_from_workspace(ws: &Path) -> Result<PendingPush, String> {
    let repo = git2::Repository::open(ws)
        .map_err(|e| format!("{}: not a git workspace: {}", ws.display(), e.message()))?;
    let head = repo
        .head()
        .map_err(|e| format!("{}: no HEAD: {}", ws.display(), e.message()))?;
    let branch = head
        .shorthand()
        .ok()
        .filter(|_| head.is_branch())
        .ok_or_else(|| format!("{}: HEAD is not on a branch", ws.display()))?
        .to_string();
    let sha = head
        .target()
        .map(|o| o.to_string())
        .ok_or_else(|| format!("{}: HEAD has no commit", ws.display()))?;
    let remote = crate::workspace::pin::load(repo.path())
        .map(|r| crate::workspace::auth::redact_url(&r.remote))
        .ok_or_else(|| {
            format!(
                "{}: no clone record (.git/foreman-clone.json), so the operator's remote is \
                 unknown; push it with git yourself, or re-run the task",
                ws.display()
            )
        })?;
    Ok(PendingPush {
        workspace: ws.to_path_buf(),
        remote,
        branch,
        sha,
    })
}

/// The workspace's git directory.
fn repo_dir(ws: &Path) -> std::path::PathBuf {
    ws.join(".git")
}
