//! Per-file unified diff of the task's commit against its base, for the console's diff view.

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

/// Diff `head_sha` against its first parent (the base the executor branched from); a root
/// commit is diffed against the empty tree. Renames are detected.
pub fn diff_commit(repo: &git2::Repository, head_sha: &str) -> Result<Vec<FileDiff>, GitError> {
    let what = || format!("diff of {head_sha}");
    let err = |e: git2::Error| GitError::op(what(), e.message());
    let commit = repo
        .revparse_single(head_sha)
        .and_then(|o| o.peel_to_commit())
        .map_err(|e| GitError::op(what(), format!("no such commit: {}", e.message())))?;
    let new_tree = commit.tree().map_err(err)?;
    let old_tree = match commit.parents().next() {
        Some(p) => Some(p.tree().map_err(err)?),
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
