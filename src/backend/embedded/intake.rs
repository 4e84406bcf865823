//! The issue picker's task lands here (`Command::CreateTask`): refused when the store already
//! holds an unfinished task for the same issue, otherwise created like a submitted manifest
//! (Pending, scheduled at once). The store is the authority: the console's own check sees
//! only what it has mirrored so far.

use super::runner::Runner;
use crate::api::{AgenticTask, Object};
use crate::backend::BackendEvent;
use crate::fleet::TaskKey;

impl Runner {
    pub(super) fn create_task(&mut self, t: AgenticTask) {
        let key = TaskKey::of(&t);
        // Only a task in flight is a duplicate, and every one is held in full (a packed one
        // is finished): no finished manifest is read.
        let dup = crate::github::issue_of(&t).and_then(|(repo, n)| {
            let held = self.store.held();
            let full = held.iter().filter_map(|(_, h)| h.full().map(|t| &**t));
            crate::github::duplicate_of(full, repo, n)
        });
        if let Some(msg) = dup {
            self.emit(BackendEvent::Error(msg));
            return;
        }
        match self
            .store
            .submit(vec![Object::Task(Box::new(t.clone()))], false)
        {
            Ok(done) => {
                for k in &done.tasks {
                    if let Some(stored) = self.store.task(k).cloned() {
                        self.emit(BackendEvent::TaskUpdated(Box::new(stored)));
                    }
                }
                self.emit(BackendEvent::Notice(format!(
                    "created {key}{}",
                    crate::github::of_issue(&t)
                )));
                self.schedule();
            }
            Err(e) => self.emit(BackendEvent::Error(format!("{key} not created: {e}"))),
        }
    }
}
