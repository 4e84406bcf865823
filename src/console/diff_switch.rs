//! `v` in the diff view: the backend's diff answer kept in both scopes
//! ([`super::diff_scope`]), and the switch between them.

use super::diff_scope::{DiffScopes, Scope};
use super::state::{App, Effect, Level};
use crate::backend::attempt::AttemptDiff;
use crate::fleet::TaskKey;
use crate::workspace::FileDiff;

impl App {
    /// The open diff's task when `v` applies to it: the current attempt's change (not an
    /// earlier attempt's, from the selector) with a second scope.
    pub(super) fn diff_switchable(&self) -> Option<&TaskKey> {
        let (key, _) = self.diff.as_ref()?;
        let earlier = self
            .attempts
            .diff_of
            .as_ref()
            .is_some_and(|(k, _)| k == key);
        (!earlier && self.diff_scopes.switchable(key)).then_some(key)
    }

    /// The backend's diff answer: open the whole change, keep the current attempt's beside it.
    pub(super) fn on_diff(
        &mut self,
        task: TaskKey,
        files: Result<Vec<FileDiff>, String>,
        latest: Option<AttemptDiff>,
    ) -> Vec<Effect> {
        match files {
            Ok(files) => {
                self.diff_scopes = DiffScopes {
                    task: Some(task.clone()),
                    whole: files.clone(),
                    latest,
                    showing: Scope::Whole,
                };
                vec![Effect::BuildDiff(task, files)]
            }
            Err(e) => {
                self.say(format!("{task}: {e}"), Level::Error);
                Vec::new()
            }
        }
    }

    /// `v` in the diff view: the other scope, or why there is none.
    pub(super) fn switch_diff_scope(&mut self) -> Vec<Effect> {
        let Some(key) = self.diff_switchable().cloned() else {
            let key = self
                .diff
                .as_ref()
                .map(|(k, _)| k.to_string())
                .unwrap_or_default();
            self.say(
                format!("{key}: one attempt made this change, so the whole change is all there is"),
                Level::Info,
            );
            return Vec::new();
        };
        let s = &mut self.diff_scopes;
        let Some(latest) = &s.latest else {
            return Vec::new();
        };
        let files = match (s.showing, &latest.files) {
            (Scope::Latest, _) => s.whole.clone(),
            (Scope::Whole, Ok(f)) => f.clone(),
            (Scope::Whole, Err(e)) => {
                let msg = format!("{key}: attempt {}'s own change: {e}", latest.attempt);
                self.say(msg, Level::Error);
                return Vec::new();
            }
        };
        s.showing = match s.showing {
            Scope::Whole => Scope::Latest,
            Scope::Latest => Scope::Whole,
        };
        vec![Effect::BuildDiff(key, files)]
    }
}
