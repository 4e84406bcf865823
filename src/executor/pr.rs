//! The operator's decisions that need the run's workspace and the remote: pushing an approved
//! GO and opening its pull request. Below both backends and the cluster worker (which carries
//! out decisions written by other consoles, `k8s::worker::decide`); `backend::jobs` re-exports
//! them. Each reads what it needs from the task, and returns a message safe to show.

use crate::api::AgenticTask;
use crate::executor::run::TokenSource;
use crate::executor::{PendingPush, push_pending};
use crate::fleet::status::result_extra;
use crate::github::{
    GitHubConfig, PrBodyInput, PrRequest, ensure_pr, parse_remote, pr_body, pr_title,
};
use crate::workspace::{self, Token};
use std::path::PathBuf;

/// What `push_pending` needs, rebuilt from `status.result.extra`.
pub fn pending_push(t: &AgenticTask) -> Result<PendingPush, String> {
    let e = result_extra(t);
    let need = |v: Option<String>, k: &str| {
        v.ok_or_else(|| {
            format!("the task's result has no extra.{k}; it cannot be pushed from the console (re-queue it)")
        })
    };
    Ok(PendingPush {
        workspace: PathBuf::from(need(e.workspace, "workspace")?),
        remote: need(e.remote, "remote")?,
        branch: need(e.branch, "branch")?,
        sha: need(e.commit_sha, "commitSHA")?,
    })
}

fn token(src: &TokenSource) -> Result<Token, String> {
    match src {
        TokenSource::Given(t) => Ok(t.clone()),
        TokenSource::Lookup => workspace::resolve_token().map_err(|e| e.to_string()),
    }
}

/// Pushes the approved branch. Local remotes need no token, so a missing one is only fatal
/// when the push itself fails.
pub async fn push(t: &AgenticTask, src: &TokenSource) -> Result<String, String> {
    let p = pending_push(t)?;
    if !p.workspace.exists() {
        return Err(format!(
            "the workspace {} is gone; re-queue the task to redo it",
            p.workspace.display()
        ));
    }
    push_pending(&p, token(src).ok()).await?;
    Ok(format!("pushed {} to {}", p.branch, p.remote))
}

/// Where the PR goes and what it says.
#[derive(Debug)]
pub struct PrOpened {
    pub url: String,
    pub number: u64,
    pub created: bool,
}

/// Opens (or finds) the PR of a pushed task.
pub async fn open_pr(
    t: &AgenticTask,
    git_remote_url: Option<&str>,
    api_base: &str,
    src: &TokenSource,
) -> Result<PrOpened, String> {
    let p = pending_push(t)?;
    let (owner, repo) = t
        .spec
        .payload
        .repo
        .as_deref()
        .and_then(|r| r.split_once('/'))
        .map(|(o, r)| (o.to_string(), r.trim_end_matches(".git").to_string()))
        .or_else(|| git_remote_url.and_then(parse_remote))
        .ok_or_else(|| {
            "cannot tell the GitHub repository: set spec.payload.repo (owner/name) or use a GitHub --git-remote-url".to_string()
        })?;
    let (ws, branch) = (p.workspace.clone(), p.branch.clone());
    let (default_base, message) = tokio::task::spawn_blocking(move || read_repo(&ws, &branch))
        .await
        .map_err(|e| format!("git worker failed: {e}"))??;
    // Across a fork (#875) the run recorded the upstream's base and the `forkowner:` head.
    let extra = crate::fleet::status::result_extra(t);
    let base = extra.base_branch.clone().unwrap_or(default_base);
    let head = extra.pr_head.clone().unwrap_or_else(|| p.branch.clone());
    let s = t.status.clone().unwrap_or_default();
    let summary = s
        .result
        .as_ref()
        .and_then(|r| r.get("summary"))
        .and_then(|v| v.as_str())
        .unwrap_or_default()
        .to_string();
    let body = pr_body(&PrBodyInput {
        summary,
        commit_message: message.clone(),
        issue_prompt: t.spec.payload.prompt.clone().unwrap_or_default(),
        issue_number: t.spec.payload.issue.filter(|n| *n > 0).map(|n| n as u64),
        transcript_ref: s.transcript_ref.clone(),
        verification: Vec::new(),
    });
    let cfg = GitHubConfig {
        api_base: api_base.to_string(),
        token: token(src)?.expose().to_string(),
    };
    let pr = ensure_pr(
        &cfg,
        &PrRequest {
            owner,
            repo,
            title: pr_title(&message),
            head,
            base,
            body,
            draft: false,
        },
    )
    .await
    .map_err(|e| e.to_string())?;
    Ok(PrOpened {
        url: pr.html_url,
        number: pr.number,
        created: pr.created,
    })
}

/// The remote's default branch and the branch head's commit message.
fn read_repo(ws: &std::path::Path, branch: &str) -> Result<(String, String), String> {
    let repo = git2::Repository::open(ws).map_err(|e| {
        format!(
            "cannot open the workspace {} ({e}); re-queue the task to redo it",
            ws.display()
        )
    })?;
    let base = repo
        .find_reference("refs/remotes/origin/HEAD")
        .ok()
        .and_then(|r| r.symbolic_target().ok().flatten().map(str::to_string))
        .and_then(|t| t.strip_prefix("refs/remotes/origin/").map(str::to_string))
        .or_else(|| {
            ["main", "master"]
                .into_iter()
                .find(|b| repo.find_reference(&format!("refs/remotes/origin/{b}")).is_ok())
                .map(str::to_string)
        })
        .ok_or_else(|| {
            "cannot tell the remote's default branch (no origin/HEAD, main or master in the workspace)".to_string()
        })?;
    let commit = repo
        .find_reference(&format!("refs/heads/{branch}"))
        .and_then(|r| r.peel_to_commit())
        .map_err(|e| format!("branch {branch} not found in the workspace: {e}"))?;
    Ok((base, commit.message().unwrap_or_default().to_string()))
}
