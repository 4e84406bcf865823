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
    let mut items = Items::default();
    for r in records {
        items.convert(r.clone(), &mut |i| out.push(i));
    }
    out
}

/// Turns records into replay items one at a time (owned: a message moves, not copied), so a
/// journal of any size is replayed without holding its records.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Items {
    pub last_turn: u32,
    pub max_turns: u32,
}

impl Items {
    pub(crate) fn convert(&mut self, r: Record, out: &mut dyn FnMut(JournalItem)) {
        match r {
            Record::Meta { max_turns: m, .. } => self.max_turns = m,
            Record::Message { turn, message } => {
                if turn > self.last_turn {
                    self.last_turn = turn;
                    out(JournalItem::TurnStarted {
                        turn,
                        max_turns: self.max_turns,
                    });
                }
                out(JournalItem::Message { turn, message });
            }
            Record::Turn(stats) => out(JournalItem::TurnFinished(stats)),
            Record::Retry {
                turn,
                attempt,
                reason,
            } => out(JournalItem::Retry {
                turn,
                attempt,
                reason,
            }),
            Record::Warning { message } => out(JournalItem::Status(format!("warning: {message}"))),
            Record::Torn { line: 0, bytes } => out(JournalItem::Status(format!(
                "⚠ a journal line near the end ({bytes} bytes) is torn (a failed or cut-short write); skipped"
            ))),
            Record::Torn { line, bytes } => out(JournalItem::Status(format!(
                "⚠ journal line {line} ({bytes} bytes) is torn (a failed or cut-short write); skipped"
            ))),
            Record::Gate(g) => out(JournalItem::Status(format!(
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
                out(JournalItem::Status(format!(
                    "result: {verdict} — {summary}"
                )));
            }
        }
    }
}
