//! The clone and the branch the work starts on: the fork is cloned (it stays `origin`), and
//! the task's branch is cut from `payload.baseBranch` of the upstream when `payload.repo` is
//! another repository (fetched from it, #875), from the fork's `baseBranch`, or from the
//! fork's HEAD ([`super::super::route`]).

use super::super::git::blocking;
use super::super::route::Route;
use super::{ExecEvent, Halt, Precondition, Run};
use crate::tools::ReadySignal;
use crate::workspace::auth::redact_url;
use crate::workspace::{self, Token, upstream};

/// Where the branch starts, as found in the fresh clone.
enum Start {
    /// The clone's HEAD (no base asked for, no upstream).
    Head,
    /// This base branch's tip (`origin/<base>`, or `upstream/<base>` just fetched).
    At(String, git2::Oid),
}

impl Run<'_> {
    /// The task's branch name, from its name and spec alone (the first prompt names it, so
    /// it is known before the clone).
    pub(super) fn branch_name(&self) -> Result<String, Halt> {
        workspace::branch_name(&self.task_name, &self.task.spec).map_err(|e| {
            self.precondition(
                Precondition::BranchCheckoutFailed,
                &format!("branch checkout failed: {e}"),
            )
        })
    }

    /// The clone and the branch, while the first chat request runs: `signal` opens the
    /// tools' gate when the workspace is on its branch, or tells them why there is none.
    /// Returns the base branch's name (`None`: the clone's HEAD).
    pub(super) async fn set_up(
        &self,
        remote: &str,
        route: &Route,
        branch: &str,
        token: &Option<Token>,
        signal: ReadySignal,
        sink: &mut (dyn FnMut(ExecEvent) + Send),
    ) -> Result<Option<String>, Halt> {
        let made = match self.clone_repo(remote, token, sink).await {
            Ok(repo) => self.create_branch(repo, route, branch, token, sink).await,
            Err(h) => Err(h),
        };
        match &made {
            Ok(_) => signal.ready(),
            Err(_) => signal.failed("the clone or the branch failed"),
        }
        made
    }

    /// A fresh clone of the fork into the (empty) workspace.
    async fn clone_repo(
        &self,
        remote: &str,
        token: &Option<Token>,
        sink: &mut (dyn FnMut(ExecEvent) + Send),
    ) -> Result<git2::Repository, Halt> {
        sink(ExecEvent::Status(format!("cloning {}", redact_url(remote))));
        let (remote, ws, tok) = (remote.to_string(), self.workspace.clone(), token.clone());
        blocking(move || {
            // The clone alone, for the `overhead` bench.
            let span = tracing::debug_span!("git.clone");
            let repo = workspace::clone(&remote, &ws, tok.as_ref()).map_err(|e| e.to_string())?;
            drop(span);
            workspace::pin::record(repo.path(), &remote)
                .map_err(|e| format!("cannot write the clone record: {e}"))?;
            Ok::<_, String>(repo)
        })
        .await?
        .map_err(|e| self.precondition(Precondition::CloneFailed, &format!("clone failed: {e}")))
    }

    /// The task's `branch`, checked out at its base; returns the base branch's name
    /// (`None`: the clone's HEAD).
    async fn create_branch(
        &self,
        repo: git2::Repository,
        route: &Route,
        branch: &str,
        token: &Option<Token>,
        sink: &mut (dyn FnMut(ExecEvent) + Send),
    ) -> Result<Option<String>, Halt> {
        if let Some(line) = route.fetching(route.base.as_deref()) {
            sink(ExecEvent::Status(line));
        }
        let (route_c, tok, name) = (route.clone(), token.clone(), branch.to_string());
        let made = blocking(move || {
            let start = start_of(&repo, &route_c, tok.as_ref())
                .map_err(|e| (Precondition::CloneFailed, e))?;
            let checkout = |e: workspace::GitError| (Precondition::BranchCheckoutFailed, e);
            match start {
                Start::Head => workspace::create_branch(&repo, &name).map(|()| None),
                Start::At(base, oid) => {
                    workspace::create_branch_at(&repo, &name, oid).map(|()| Some(base))
                }
            }
            .map_err(checkout)
        })
        .await?;
        let base = made.map_err(|(reason, e)| {
            let what = match reason {
                Precondition::CloneFailed => "fetch of the base branch failed",
                _ => "branch checkout failed",
            };
            self.precondition(reason, &format!("{what}: {e}"))
        })?;
        match &base {
            Some(b) => sink(ExecEvent::Status(format!("on branch {branch} from {b}"))),
            None => sink(ExecEvent::Status(format!("on branch {branch}"))),
        }
        Ok(base)
    }
}

/// The base commit: fetched from the upstream across a fork, `origin/<base>` otherwise.
fn start_of(
    repo: &git2::Repository,
    route: &Route,
    token: Option<&Token>,
) -> Result<Start, workspace::GitError> {
    match (&route.upstream, &route.base) {
        (Some(u), base) => {
            let (base, oid) = upstream::fetch_base(repo, &u.url, base.as_deref(), token)?;
            Ok(Start::At(base, oid))
        }
        (None, Some(base)) => Ok(Start::At(base.clone(), upstream::origin_base(repo, base)?)),
        (None, None) => Ok(Start::Head),
    }
}
