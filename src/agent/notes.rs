//! The operator's notes to a live run (issue 12, "steer"): the console or `foreman note` puts
//! text in a run's [`Inbox`]; the loop takes what is there before each chat turn and appends
//! it as a user message (so a note sent while a turn streams waits for the next one).

use std::sync::{Arc, Mutex};

/// How a note starts in the conversation: the model reads who wrote it, and the console
/// shows such messages as the operator's.
pub const OPERATOR_NOTE_PREFIX: &str = "Note from the operator:";

/// A run's inbox of notes; clones share it.
#[derive(Clone, Debug, Default)]
pub struct Inbox(Arc<Mutex<Vec<String>>>);

impl Inbox {
    pub fn push(&self, text: impl Into<String>) {
        if let Ok(mut v) = self.0.lock() {
            v.push(text.into());
        }
    }

    /// Everything queued, oldest first, leaving the inbox empty.
    pub fn take(&self) -> Vec<String> {
        self.0
            .lock()
            .map(|mut v| std::mem::take(&mut *v))
            .unwrap_or_default()
    }
}

/// The user message a note becomes.
pub fn note_message(text: &str) -> String {
    format!("{OPERATOR_NOTE_PREFIX} {}", text.trim())
}

/// The note's text if `content` is an operator's note.
pub fn as_note(content: &str) -> Option<&str> {
    content.strip_prefix(OPERATOR_NOTE_PREFIX).map(str::trim)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notes_are_taken_once_in_order() {
        let inbox = Inbox::default();
        let other = inbox.clone();
        other.push("first");
        inbox.push("second");
        assert_eq!(inbox.take(), ["first", "second"]);
        assert!(other.take().is_empty());
        assert_eq!(
            as_note(&note_message(" use the v2 API ")),
            Some("use the v2 API")
        );
        assert_eq!(as_note("plain user text"), None);
    }
}
