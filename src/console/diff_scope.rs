//! The diff view's two scopes (issue 12): the task's whole change — every attempt since its
//! branch left the default branch — and, after a request for changes, the current attempt's
//! own commit on top. Both come in one backend answer, so `v` switches at once.

use crate::backend::attempt::AttemptDiff;
use crate::fleet::TaskKey;
use crate::workspace::FileDiff;

/// Which of the two the diff view shows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Scope {
    #[default]
    Whole,
    Latest,
}

/// The last diff answer, kept so `v` can rebuild the view in the other scope.
#[derive(Debug, Default)]
pub struct DiffScopes {
    pub(super) task: Option<TaskKey>,
    pub(super) whole: Vec<FileDiff>,
    pub(super) latest: Option<AttemptDiff>,
    pub(super) showing: Scope,
}

impl DiffScopes {
    /// Whether `key`'s diff has a second scope to switch to.
    pub fn switchable(&self, key: &TaskKey) -> bool {
        self.task.as_ref() == Some(key) && self.latest.is_some()
    }

    /// The title's words for `key`'s diff: which scope it shows, when there are two.
    pub fn label(&self, key: &TaskKey) -> Option<String> {
        let n = self
            .latest
            .as_ref()
            .filter(|_| self.switchable(key))?
            .attempt;
        Some(match self.showing {
            Scope::Whole => format!("whole change (attempts 1–{n})"),
            Scope::Latest => format!("attempt {n} only"),
        })
    }
}
