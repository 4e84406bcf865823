//! What the attempt selector's keys (`<` / `>`, `d` on an earlier attempt) and the backend's
//! answers (`BackendEvent::Attempt`) do to the console's state ([`super::attempts`]).

use super::attempts::Earlier;
use super::commands::Action;
use super::state::{App, Effect, Level};
use crate::backend::embedded::store::attempt_of;
use crate::backend::{AttemptView, Command};
use crate::console::transcript::{Transcript, journal_items};

impl App {
    /// The selected task's (shown attempt, number of attempts); None without a task.
    pub fn shown_attempt(&self) -> Option<(u32, u32)> {
        let key = self.selected_key()?;
        let total = attempt_of(&*self.mirror.task(key)?);
        let shown = self
            .attempts
            .selected
            .get(key)
            .copied()
            .filter(|n| *n < total)
            .unwrap_or(total);
        Some((shown, total))
    }

    /// The earlier attempt shown for the selected task, and whether it has arrived.
    pub fn earlier_shown(&self) -> Option<(u32, Option<&Earlier>)> {
        let (shown, total) = self.shown_attempt()?;
        if shown >= total {
            return None;
        }
        let key = self.selected_key()?.clone();
        Some((shown, self.attempts.loaded.get(&(key, shown))))
    }

    /// `<` / `>`: the previous or next attempt of the selected task, within 1..=current; an
    /// earlier one not loaded yet is asked of the backend.
    pub(super) fn step_attempt(&mut self, action: Action) -> Vec<Effect> {
        let (Some(key), Some((shown, total))) =
            (self.selected_key().cloned(), self.shown_attempt())
        else {
            return Vec::new();
        };
        let next = match action {
            Action::PrevAttempt if shown > 1 => shown - 1,
            Action::NextAttempt if shown < total => shown + 1,
            _ => {
                let edge = if shown <= 1 { "first" } else { "current" };
                self.say(format!("attempt {shown} is the {edge}"), Level::Info);
                return Vec::new();
            }
        };
        if next == total {
            self.attempts.selected.remove(&key);
            return self.ensure_transcript();
        }
        self.attempts.selected.insert(key.clone(), next);
        let id = (key.clone(), next);
        if self.attempts.loaded.contains_key(&id) || !self.attempts.loading.insert(id) {
            return Vec::new();
        }
        vec![Effect::Send(Command::LoadAttempt {
            task: key,
            attempt: next,
        })]
    }

    /// An attempt from the backend: an earlier one is kept for the selector; the current
    /// one is the live transcript's stored copy.
    pub fn on_attempt(&mut self, v: AttemptView) {
        let id = (v.task.clone(), v.attempt);
        self.attempts.loading.remove(&id);
        let current = self.mirror.task(&v.task).map(|t| attempt_of(&t));
        if current.is_none_or(|c| v.attempt >= c) {
            return self.on_transcript_loaded(v.task, v.records);
        }
        let transcript = v
            .records
            .map(|r| (!r.is_empty()).then(|| Transcript::replay(journal_items(&r).iter())));
        let earlier = Earlier {
            status: v.status,
            transcript,
            diff: v.diff,
        };
        self.attempts.loaded.insert(id, earlier);
    }

    /// The transcript the keys scroll and search: the earlier attempt's when one is shown.
    pub(super) fn earlier_transcript_mut(&mut self) -> Option<&mut Transcript> {
        let (shown, total) = self.shown_attempt()?;
        if shown >= total {
            return None;
        }
        let id = (self.selected_key()?.clone(), shown);
        self.attempts
            .loaded
            .get_mut(&id)?
            .transcript
            .as_mut()
            .ok()?
            .as_mut()
    }

    /// `d` on an earlier attempt: its diff when its commit is still kept, else why not.
    /// None when the current attempt is shown (the usual diff).
    pub(super) fn earlier_diff(&mut self) -> Option<Vec<Effect>> {
        let (shown, Some(e)) = self.earlier_shown()? else {
            return Some(Vec::new());
        };
        let key = self.selected_key()?.clone();
        match e.diff.clone() {
            Some(Ok(files)) => {
                self.diff = None;
                self.attempts.diff_of = Some((key.clone(), shown));
                Some(vec![Effect::BuildDiff(key, files)])
            }
            Some(Err(why)) => {
                self.say(why, Level::Warn);
                Some(Vec::new())
            }
            None => {
                self.say(
                    format!("attempt {shown} recorded no commit; there is no diff"),
                    Level::Info,
                );
                Some(Vec::new())
            }
        }
    }
}
