//! `foreman push`: pushes a committed GO that `foreman run` left awaiting approval, reading
//! branch, commit and remote from the kept workspace itself.

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
    let token = crate::workspace::resolve_token().ok();
    eprintln!(
        "pushing {} ({}) to {}",
        info.branch,
        &info.sha[..info.sha.len().min(12)],
        info.remote
    );
    match executor::push_pending(&info, token).await {
        Ok(()) => {
            println!(
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
    let remote = repo
        .find_remote("origin")
        .ok()
        .and_then(|r| r.url().ok().map(crate::workspace::auth::redact_url))
        .unwrap_or_else(|| "origin".into());
    Ok(PendingPush {
        workspace: ws.to_path_buf(),
        remote,
        branch,
        sha,
    })
}
