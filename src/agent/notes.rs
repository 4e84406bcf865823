//! The operator's notes to a live run (issue 12, "steer"): the console or `foreman note` puts
//! text in a run's [`Inbox`]; the loop takes what is there before each chat turn and appends
//! it as a user message (so a note sent while a turn streams waits for the next one).

use std::sync::{Arc, Mutex};

/// How a note starts in the conversation: the model reads who wrote it, and the console
/// shows such messages as the operator's.
pub const OPERATOR_NOTE_PREFIX: &str = "Note from the operator:";

/// A run's inbox of notes; clones share it.
#[derive(Clone, Debug, Default)]
pub struct Inbox(Arc<Mutex<Queue>>);

#[derive(Debug, Default)]
struct Queue {
    notes: Vec<String>,
    /// The run reads no more ([`Inbox::close`]).
    closed: bool,
}

impl Inbox {
    /// Queues a note; false when the run has ended, so nothing would ever read it (the
    /// operator is told instead of being told "queued").
    pub fn push(&self, text: impl Into<String>) -> bool {
        match self.0.lock() {
            Ok(mut q) if !q.closed => {
                q.notes.push(text.into());
                true
            }
            _ => false,
        }
    }

    /// Everything queued, oldest first, leaving the inbox empty.
    pub fn take(&self) -> Vec<String> {
        self.0
            .lock()
            .map(|mut q| std::mem::take(&mut q.notes))
            .unwrap_or_default()
    }

    /// The run has ended: later pushes are refused, and the notes that came after the
    /// model's last turn are returned, to be reported as not read.
    pub fn close(&self) -> Vec<String> {
        self.0
            .lock()
            .map(|mut q| {
                q.closed = true;
                std::mem::take(&mut q.notes)
            })
            .unwrap_or_default()
    }
}

/// What the operator hears when a note to `task`'s run is queued.
pub fn queued_notice(task: &impl std::fmt::Display) -> String {
    format!("note for {task} queued: the model reads it before its next turn")
}

/// Why a note to `task` is refused once its run has ended ([`Inbox::push`] said false).
pub fn ended_refusal(task: &impl std::fmt::Display) -> String {
    format!("{task}'s run has ended; a note reaches only a live run")
}

/// What the operator hears of the notes [`Inbox::close`] handed back: never read.
pub fn unread_notice(n: usize, task: &impl std::fmt::Display) -> String {
    format!("{n} note(s) to {task} came after the model's last turn and were not read")
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
        assert!(other.push("first"));
        assert!(inbox.push("second"));
        assert_eq!(inbox.take(), ["first", "second"]);
        assert!(other.take().is_empty());
        // After the run's last turn: what came late is handed back, and nothing is queued.
        assert!(inbox.push("late"));
        assert_eq!(other.close(), ["late"]);
        assert!(!inbox.push("after the end"));
        assert!(inbox.take().is_empty());
        assert_eq!(
            as_note(&note_message(" use the v2 API ")),
            Some("use the v2 API")
        );
        assert_eq!(as_note("plain user text"), None);
    }
}
