//! A finished run's journal in the console, whatever its size: shown tail first, completed in
//! a background job, and dropped again when closed transcripts exceed the budget.
//!
//! ```text
//! BackendEvent::Journal{path} ─► on_journal ─► Effect::LoadJournal ─► spawn_load (blocking pool)
//!   JobEvent::Journal(tail) ─► on_journal_part: shown at once ("the earlier part is loading")
//!   JobEvent::Journal(full) ─► on_journal_part: replaces it; over budget? evict the least
//!                              recently shown other transcripts (reloaded when selected again)
//! ```
//!
//! A generation number per load drops answers that a newer load, a re-queue, a deletion or a
//! live stream superseded.

pub use super::journals::{
    DEFAULT_BUDGET, JournalPart, JournalRequest, Journals, drop_off_thread, spawn_load,
};
use super::state::{App, Effect, Level, Loaded};
use super::transcript::{Hits, Transcript};
use crate::fleet::TaskKey;
use ratatui::layout::Rect;
use std::path::PathBuf;

impl App {
    /// The backend named a task's journal: read it, unless this console streams the run live.
    pub(super) fn on_journal(&mut self, key: TaskKey, path: PathBuf) -> Vec<Effect> {
        if self.transcripts.contains_key(&key) && !self.loaded.contains_key(&key) {
            self.loading.remove(&key);
            return Vec::new();
        }
        self.journals.generation += 1;
        let generation = self.journals.generation;
        self.journals.pending.insert(key.clone(), generation);
        self.loading.insert(key.clone());
        let area = match self.regions.transcript {
            a if a.width > 0 && a.height > 0 => a,
            _ => inner(self.regions.detail),
        };
        vec![Effect::LoadJournal(JournalRequest {
            key,
            path,
            area,
            generation,
        })]
    }

    /// A built part arrived: the tail is shown at once, the whole replaces it (keeping the
    /// search); then closed transcripts over the budget are evicted.
    pub fn on_journal_part(&mut self, p: JournalPart) -> Vec<Effect> {
        let key = p.key;
        if self.journals.pending.get(&key) != Some(&p.generation) {
            return Vec::new();
        }
        let live = self.transcripts.contains_key(&key) && !self.loaded.contains_key(&key);
        let part = match p.part {
            Ok(part) if !live => part,
            Ok(_) => return self.load_ended(&key),
            Err(e) => {
                self.say(e, Level::Warn);
                return self.load_ended(&key);
            }
        };
        if let Some(t) = part.turn {
            self.turns.insert(key.clone(), t);
        }
        let mut fx = Vec::new();
        if part.complete {
            self.load_ended(&key);
        }
        let mark = Loaded {
            records: part.records,
            items: 0,
            hash: 0,
        };
        self.loaded.insert(key.clone(), mark);
        let old = if part.complete && part.records == 0 {
            self.transcripts.remove(&key)
        } else {
            let mut t = part.transcript;
            let query = self
                .transcripts
                .get(&key)
                .and_then(Transcript::search_status);
            if let Some(q) = query {
                t.search(&q.query);
                fx.extend(
                    t.journal_search()
                        .map(|j| Effect::SearchJournal(Box::new(j))),
                );
            }
            if part.complete {
                self.journals.clock += 1;
                let held = (part.heap_bytes, self.journals.clock);
                self.journals.held.insert(key.clone(), held);
            }
            self.transcripts.insert(key, t)
        };
        fx.extend(old.map(|t| Effect::DropTranscript(Box::new(t))));
        if part.complete {
            fx.extend(self.evict());
        }
        fx
    }

    /// The journal search the current transcript's last search needs, if any.
    pub(super) fn search_journal(&mut self) -> Vec<Effect> {
        self.current_transcript_mut()
            .and_then(Transcript::journal_search)
            .map(|j| Effect::SearchJournal(Box::new(j)))
            .into_iter()
            .collect()
    }

    /// A journal search answered: its transcript (the one whose search it was, shown or not)
    /// takes the matches; the operator hears the new total if it is the one shown.
    pub fn on_search_hits(&mut self, hits: Hits) {
        let error = hits.error.clone();
        let id = hits.id;
        let shown = self
            .current_transcript()
            .and_then(Transcript::search_id)
            .is_some_and(|s| s == id);
        let target = if shown {
            self.current_transcript_mut()
        } else {
            self.transcripts
                .values_mut()
                .find(|t| t.search_id() == Some(id))
        };
        let Some(t) = target else { return };
        if !t.add_hits(hits) {
            return;
        }
        let status = t.search_status();
        if let Some(e) = error {
            self.say(
                format!("search: part of the journal could not be read: {e}"),
                Level::Warn,
            );
        } else if shown && let Some(s) = status {
            let plus = if s.capped { "+" } else { "" };
            self.say(
                format!("/{}: {}{plus} matches", s.query, s.total),
                Level::Info,
            );
        }
    }

    fn load_ended(&mut self, key: &TaskKey) -> Vec<Effect> {
        self.journals.pending.remove(key);
        self.loading.remove(key);
        Vec::new()
    }

    /// Drops the least recently shown journal-built transcripts (never the selected one)
    /// until those held fit the budget; selecting one again reloads it.
    fn evict(&mut self) -> Vec<Effect> {
        let keep = self.selected_key().cloned();
        let mut fx = Vec::new();
        while self.journals.held_bytes() > self.journals.budget {
            let victim = self
                .journals
                .held
                .iter()
                .filter(|(k, _)| Some(*k) != keep.as_ref())
                .min_by_key(|(_, h)| h.1)
                .map(|(k, _)| k.clone());
            let Some(k) = victim else { break };
            self.journals.held.remove(&k);
            self.loaded.remove(&k);
            if let Some(t) = self.transcripts.remove(&k) {
                fx.push(Effect::DropTranscript(Box::new(t)));
            }
        }
        fx
    }
}

/// A pane's area inside its border.
fn inner(r: Rect) -> Rect {
    Rect {
        x: r.x.saturating_add(1),
        y: r.y.saturating_add(1),
        width: r.width.saturating_sub(2),
        height: r.height.saturating_sub(2),
    }
}
