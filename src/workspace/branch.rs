//! Branch naming (upstream §3.2 step 8, plus `branchPrefix`) and `checkout -b`.

use super::GitError;
use crate::api::{AgenticTaskSpec, TaskKind};

/// Prefix of derived branch names when the payload sets none.
pub const DEFAULT_PREFIX: &str = "foreman/";

/// `payload.branch` if set; else `<prefix>issue-<N>` for issue-fix with `issue > 0`; else
/// `<prefix><task-name>`. `prefix` is `payload.branchPrefix` or `foreman/` (upstream ignores
/// branchPrefix, #510; we honour it verbatim). Blank values count as unset. The result must be
/// a valid ref name, so a bad payload fails here rather than at push time.
pub fn branch_name(task_name: &str, spec: &AgenticTaskSpec) -> Result<String, GitError> {
    let p = &spec.payload;
    let explicit = p.branch.as_deref().map(str::trim).filter(|b| !b.is_empty());
    let name = match explicit {
        Some(b) => b.to_string(),
        None => {
            let prefix = p.branch_prefix.as_deref().unwrap_or(DEFAULT_PREFIX).trim();
            match (spec.kind, p.issue) {
                (TaskKind::IssueFix, Some(n)) if n > 0 => format!("{prefix}issue-{n}"),
                _ => format!("{prefix}{task_name}"),
            }
        }
    };
    validate(&name)?;
    Ok(name)
}

fn validate(name: &str) -> Result<(), GitError> {
    let invalid = |reason: &str| {
        Err(GitError::InvalidBranchName {
            name: name.to_string(),
            reason: reason.to_string(),
        })
    };
    if name.is_empty() {
        return invalid("it is empty");
    }
    if name == "HEAD" || name.starts_with('-') {
        return invalid("it is reserved or starts with '-'");
    }
    if !git2::Reference::is_valid_name(&format!("refs/heads/{name}")) {
        return invalid(
            "not a valid git ref name (no spaces, '..', '~', '^', ':', '?', '*', '[', '\\', \
             trailing '/' or '.lock'); fix payload.branch or payload.branchPrefix",
        );
    }
    Ok(())
}

/// `git checkout -b <name>` at HEAD: create the branch at the HEAD commit and switch HEAD to it.
/// The working tree is untouched (it already matches HEAD right after the clone).
pub fn create_branch(repo: &git2::Repository, name: &str) -> Result<(), GitError> {
    validate(name)?;
    let what = || format!("create branch {name}");
    let refname = format!("refs/heads/{name}");
    match repo.head() {
        Ok(head) => {
            let commit = head.peel_to_commit().map_err(|e| {
                GitError::op(what(), format!("HEAD is not a commit: {}", e.message()))
            })?;
            repo.branch(name, &commit, false)
                .map_err(|e| GitError::op(what(), e.message()))?;
        }
        // An empty remote clones to an unborn HEAD; like git, just point HEAD at the new name
        // and let the first commit create it.
        Err(e) if e.code() == git2::ErrorCode::UnbornBranch => {}
        Err(e) => return Err(GitError::op(what(), e.message())),
    }
    repo.set_head(&refname)
        .map_err(|e| GitError::op(what(), e.message()))?;
    Ok(())
}

/// `git checkout -b <name> <commit>`: the branch at `commit` (the base branch's tip, fetched
/// from the upstream or the fork), checked out over the fresh clone's tree.
pub fn create_branch_at(
    repo: &git2::Repository,
    name: &str,
    commit: git2::Oid,
) -> Result<(), GitError> {
    validate(name)?;
    let what = || format!("create branch {name} at {commit}");
    let commit = repo
        .find_commit(commit)
        .map_err(|e| GitError::op(what(), e.message()))?;
    repo.branch(name, &commit, true)
        .map_err(|e| GitError::op(what(), e.message()))?;
    let mut co = git2::build::CheckoutBuilder::new();
    co.force();
    repo.checkout_tree(commit.as_object(), Some(&mut co))
        .map_err(|e| GitError::op(what(), e.message()))?;
    repo.set_head(&format!("refs/heads/{name}"))
        .map_err(|e| GitError::op(what(), e.message()))?;
    Ok(())
}
