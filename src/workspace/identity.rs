//! Who the executor commits as: one identity for author and committer (upstream
//! `--commit-author-name/-email`), needed by the commit and by the hooks it runs.

/// Author and committer of every commit (upstream `--commit-author-name/-email`).
#[derive(Clone, Debug)]
pub struct Identity {
    pub name: String,
    pub email: String,
}
