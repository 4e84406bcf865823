//! The attempt selector's state: `<` / `>` step through a task's attempts in the transcript
//! pane. The current attempt is the live one (streamed here or loaded with `LoadTranscript`,
//! as always); an earlier one is asked of the backend once (`Command::LoadAttempt`), kept here
//! and drawn read-only with its outcome line, so browsing the past never disturbs the live
//! view. What the keys and the backend's answers do to it: `attempt_select.rs`.

use crate::api::{AgenticTask, AgenticTaskStatus};
use crate::console::transcript::Transcript;
use crate::fleet::TaskKey;
use crate::workspace::FileDiff;
use std::collections::{HashMap, HashSet};

/// One earlier attempt as the backend sent it.
pub struct Earlier {
    /// How it ended (None: the backend knows nothing of it).
    pub status: Option<AgenticTaskStatus>,
    /// Its transcript (None: nothing was recorded), or why it cannot be shown.
    pub transcript: Result<Option<Transcript>, String>,
    /// Its change, or why it is gone; None when it recorded no commit.
    pub diff: Option<Result<Vec<FileDiff>, String>>,
}

/// The selector's state across tasks.
#[derive(Default)]
pub struct Attempts {
    /// The attempt shown per task, while it is an earlier one (absent: the current one).
    pub selected: HashMap<TaskKey, u32>,
    pub loaded: HashMap<(TaskKey, u32), Earlier>,
    pub loading: HashSet<(TaskKey, u32)>,
    /// The attempt whose diff the diff view shows, when not the current one.
    pub diff_of: Option<(TaskKey, u32)>,
}

impl Attempts {
    /// Drops a task's selection and loaded attempts (a re-queue or deletion: back to live).
    pub fn forget(&mut self, key: &TaskKey) {
        self.selected.remove(key);
        self.loaded.retain(|(k, _), _| k != key);
        self.loading.retain(|(k, _)| k != key);
        if self.diff_of.as_ref().is_some_and(|(k, _)| k == key) {
            self.diff_of = None;
        }
    }
}

/// The task `t` as it was at the end of an earlier attempt (its status then), for the
/// outcome words the queue uses.
pub fn as_it_ended(t: &AgenticTask, status: Option<&AgenticTaskStatus>) -> AgenticTask {
    AgenticTask {
        status: status.cloned(),
        ..t.clone()
    }
}
