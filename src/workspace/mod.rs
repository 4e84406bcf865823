//! git2 workspace pipeline: token, clone, branch, commit (DCO, hooks), push.
