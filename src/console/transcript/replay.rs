//! Rebuilding a transcript from a finished run's journal: its records become replay items
//! ([`journal_items`]), which feed the transcript.
//!
//! Replay feeds the same model entry points the live run used, minus the streaming deltas
//! (which the completed assistant message supersedes anyway), so a replayed transcript renders
//! exactly like the live one did once each turn finished.

use super::Transcript;
use crate::agent::TurnStats;
use crate::agent::transcript::Record;
use crate::oai::{Message, Role};

/// One journal entry, in the order the run produced it.
#[derive(Clone, Debug, PartialEq)]
pub enum JournalItem {
    TurnStarted {
        turn: u32,
        max_turns: u32,
    },
    Message {
        turn: u32,
        message: Message,
    },
    TurnFinished(TurnStats),
    Retry {
        turn: u32,
        attempt: u32,
        reason: String,
    },
    Status(String),
}

impl Transcript {
    /// Applies one journal entry.
    pub fn apply(&mut self, item: &JournalItem) {
        match item {
            JournalItem::TurnStarted { turn, max_turns } => self.turn_started(*turn, *max_turns),
            JournalItem::Message { message, .. } => self.push_message(message),
            JournalItem::TurnFinished(stats) => self.turn_finished(*stats),
            JournalItem::Retry {
                attempt, reason, ..
            } => self.stream(&crate::oai::StreamEvent::Retry {
                attempt: *attempt,
                reason: reason.clone(),
            }),
            JournalItem::Status(s) => self.status(s),
        }
    }

    /// A transcript built from journal entries.
    pub fn replay<'a>(items: impl IntoIterator<Item = &'a JournalItem>) -> Transcript {
        let mut t = Transcript::new();
        for item in items {
            t.apply(item);
        }
        t
    }

    /// A transcript from the journal's messages (tagged with their turn; 0 = the opening) and
    /// turn records. Turn rules go before a turn's first message, each turn's footer right
    /// after its assistant message — where the live run put them.
    pub fn from_journal(
        messages: &[(u32, Message)],
        turns: &[TurnStats],
        max_turns: u32,
    ) -> Transcript {
        let mut t = Transcript::new();
        let mut current = 0u32;
        let mut footed = 0u32;
        for (turn, m) in messages {
            if *turn > current {
                current = *turn;
                t.turn_started(current, max_turns);
            }
            t.push_message(m);
            if m.role == Role::Assistant && footed < current {
                footed = current;
                if let Some(stats) = turns.iter().find(|r| r.turn == current) {
                    t.turn_finished(*stats);
                }
            }
        }
        t
    }
}

/// The journal's records as the transcript pane's replay items.
pub fn journal_items(records: &[Record]) -> Vec<JournalItem> {
    let mut out = Vec::with_capacity(records.len());
    let mut last_turn = 0;
    let mut max_turns = 0;
    for r in records {
        match r {
            Record::Meta { max_turns: m, .. } => max_turns = *m,
            Record::Message { turn, message } => {
                if *turn > last_turn {
                    last_turn = *turn;
                    out.push(JournalItem::TurnStarted {
                        turn: *turn,
                        max_turns,
                    });
                }
                out.push(JournalItem::Message {
                    turn: *turn,
                    message: message.clone(),
                });
            }
            Record::Turn(stats) => out.push(JournalItem::TurnFinished(*stats)),
            Record::Retry {
                turn,
                attempt,
                reason,
            } => out.push(JournalItem::Retry {
                turn: *turn,
                attempt: *attempt,
                reason: reason.clone(),
            }),
            Record::Warning { message } => {
                out.push(JournalItem::Status(format!("warning: {message}")));
            }
            Record::Torn { line, bytes } => out.push(JournalItem::Status(format!(
                "⚠ journal line {line} ({bytes} bytes) is torn (a failed or cut-short write); skipped"
            ))),
            Record::Gate(g) => out.push(JournalItem::Status(format!(
                "gate {}: {}{}",
                g.attempt,
                g.cell(),
                g.command
                    .as_deref()
                    .map(|c| format!(" · {c}"))
                    .unwrap_or_default()
            ))),
            Record::End { result } => {
                let verdict = result["verdict"].as_str().unwrap_or("?");
                let summary = result["summary"].as_str().unwrap_or("");
                out.push(JournalItem::Status(format!(
                    "result: {verdict} — {summary}"
                )));
            }
        }
    }
    out
}
