//! Per-file unified diffs of a task's change, for the console's diff view: the whole change
//! since the branch left the default branch, or one attempt's commit.

use super::GitError;

/// One file's change. Added files have no `old_path`, deleted files no `new_path`; a rename
/// has both, differing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileDiff {
    pub old_path: Option<String>,
    pub new_path: Option<String>,
    pub additions: usize,
    pub deletions: usize,
    /// Unified patch text with `diff --git` header; for binary files just the header lines.
    pub patch: String,
    pub binary: bool,
}

/// Diff `head_sha` against its first parent (one commit: an attempt's own change); a root
/// commit is diffed against the empty tree. Renames are detected.
pub fn diff_commit(repo: &git2::Repository, head_sha: &str) -> Result<Vec<FileDiff>, GitError> {
    let parent = {
        let c = commit_of(repo, head_sha)?;
        c.parents().next().map(|p| p.id().to_string())
    };
    diff_range(repo, parent.as_deref(), head_sha)
}

/// The task's whole change: `head_sha` against where its branch left the clone's default
/// branch (the merge base with `origin/HEAD`, else with any `origin/*` branch), so a second
/// attempt's commit on top of the first shows both. Without a remote-tracking branch (a
/// workspace made by hand) it is the commit against its parent.
pub fn diff_change(repo: &git2::Repository, head_sha: &str) -> Result<Vec<FileDiff>, GitError> {
    match change_base(repo, head_sha)? {
        Some(base) => diff_range(repo, Some(&base), head_sha),
        None => diff_commit(repo, head_sha),
    }
}

/// Where the branch of `head_sha` left the default branch it was cloned from: of the merge
/// bases with `origin/*` (the pushed task branch included, which would give only the latest
/// attempt), the earliest.
fn change_base(repo: &git2::Repository, head_sha: &str) -> Result<Option<String>, GitError> {
    let head = commit_of(repo, head_sha)?.id();
    let Ok(refs) = repo.references_glob("refs/remotes/origin/*") else {
        return Ok(None);
    };
    let mut best: Option<git2::Oid> = None;
    for t in refs
        .flatten()
        .filter_map(|r| r.resolve().ok().and_then(|r| r.target()))
    {
        let Ok(base) = repo.merge_base(head, t) else {
            continue;
        };
        if base == head {
            continue;
        }
        best = match best {
            Some(b) if repo.graph_descendant_of(b, base).unwrap_or(false) => Some(base),
            Some(b) => Some(b),
            None => Some(base),
        };
    }
    Ok(best.map(|b| b.to_string()))
}

fn commit_of<'r>(repo: &'r git2::Repository, sha: &str) -> Result<git2::Commit<'r>, GitError> {
    repo.revparse_single(sha)
        .and_then(|o| o.peel_to_commit())
        .map_err(|e| {
            GitError::op(
                format!("diff of {sha}"),
                format!("no such commit: {}", e.message()),
            )
        })
}

/// `head_sha` against `base_sha` (`None`: the empty tree). Renames are detected.
pub fn diff_range(
    repo: &git2::Repository,
    base_sha: Option<&str>,
    head_sha: &str,
) -> Result<Vec<FileDiff>, GitError> {
    let what = || format!("diff of {head_sha}");
    let err = |e: git2::Error| GitError::op(what(), e.message());
    let new_tree = commit_of(repo, head_sha)?.tree().map_err(err)?;
    let old_tree = match base_sha {
        Some(b) => Some(commit_of(repo, b)?.tree().map_err(err)?),
        None => None,
    };
    let mut opts = git2::DiffOptions::new();
    opts.context_lines(3);
    let mut diff = repo
        .diff_tree_to_tree(old_tree.as_ref(), Some(&new_tree), Some(&mut opts))
        .map_err(err)?;
    diff.find_similar(None).map_err(err)?;

    let mut out = Vec::with_capacity(diff.deltas().len());
    for idx in 0..diff.deltas().len() {
        let Some(mut patch) = git2::Patch::from_diff(&diff, idx).map_err(err)? else {
            continue;
        };
        let delta = patch.delta();
        let path = |f: git2::DiffFile| f.path().map(|p| p.to_string_lossy().into_owned());
        let (old_path, new_path) = match delta.status() {
            git2::Delta::Added | git2::Delta::Untracked => (None, path(delta.new_file())),
            git2::Delta::Deleted => (path(delta.old_file()), None),
            _ => (path(delta.old_file()), path(delta.new_file())),
        };
        let binary = delta.flags().is_binary();
        let (_, additions, deletions) = patch.line_stats().map_err(err)?;
        let buf = patch.to_buf().map_err(err)?;
        out.push(FileDiff {
            old_path,
            new_path,
            additions,
            deletions,
            patch: String::from_utf8_lossy(&buf).into_owned(),
            binary,
        });
    }
    Ok(out)
}
