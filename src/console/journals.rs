//! The journal-built transcripts' bookkeeping (loads under way, sizes, the budget) and the
//! job that builds them; what their arrival does to the console is in [`super::journal`].

use super::transcript::load::{self, Part};
use crate::fleet::TaskKey;
use ratatui::layout::Rect;
use std::collections::HashMap;
use std::path::PathBuf;

/// Default of `ui.transcript_budget_mb`.
pub const DEFAULT_BUDGET: usize = 256 << 20;

/// The journal-built transcripts the console holds and the loads under way.
#[derive(Debug)]
pub struct Journals {
    /// Bytes the transcripts not shown may hold together before the least recently shown go.
    pub budget: usize,
    pub(crate) generation: u64,
    /// The generation each key's next answer must carry.
    pub(crate) pending: HashMap<TaskKey, u64>,
    /// Complete journal-built transcripts: their heap bytes and when last shown.
    pub(crate) held: HashMap<TaskKey, (usize, u64)>,
    pub(crate) clock: u64,
}

impl Default for Journals {
    fn default() -> Self {
        Journals {
            budget: DEFAULT_BUDGET,
            generation: 0,
            pending: HashMap::new(),
            held: HashMap::new(),
            clock: 0,
        }
    }
}

impl Journals {
    /// Bytes held by the complete journal-built transcripts.
    pub fn held_bytes(&self) -> usize {
        self.held.values().map(|h| h.0).sum()
    }

    /// Whether a load of `key`'s journal is under way.
    pub fn is_loading(&self, key: &TaskKey) -> bool {
        self.pending.contains_key(key)
    }

    /// `key` is shown now (its transcript is the last one evicted).
    pub(crate) fn touch(&mut self, key: &TaskKey) {
        self.clock += 1;
        if let Some(h) = self.held.get_mut(key) {
            h.1 = self.clock;
        }
    }

    pub(crate) fn forget(&mut self, key: &TaskKey) {
        self.pending.remove(key);
        self.held.remove(key);
    }
}

/// Read a task's journal off the UI thread ([`spawn_load`]).
#[derive(Debug)]
pub struct JournalRequest {
    pub key: TaskKey,
    pub path: PathBuf,
    /// The transcript's area at the last frame: both parts are laid out for it.
    pub area: Rect,
    pub(crate) generation: u64,
}

/// A part of a journal's transcript, built off the UI thread.
#[derive(Debug)]
pub struct JournalPart {
    pub key: TaskKey,
    pub(crate) generation: u64,
    pub part: Result<Part, String>,
}

/// Runs a [`JournalRequest`] on the blocking pool: the tail, then (unless the tail is the
/// whole journal) every record; each part goes to `send` as it is built.
pub fn spawn_load(req: JournalRequest, send: impl Fn(JournalPart) + Send + 'static) {
    tokio::task::spawn_blocking(move || {
        let part = |part| JournalPart {
            key: req.key.clone(),
            generation: req.generation,
            part,
        };
        let tail = load::tail(&req.path, req.area);
        let more = tail.as_ref().is_ok_and(|p| !p.complete);
        send(part(tail));
        if more {
            send(part(load::full(&req.path, req.area)));
        }
    });
}

/// Frees a dropped transcript (hundreds of MB of cells at most) on the blocking pool, off the
/// UI thread, then hands the freed pages back to the OS: glibc keeps large frees in its arenas,
/// so without the trim the process's RSS would stay at its peak after every eviction.
pub fn drop_off_thread<T: Send + 'static>(t: T) {
    tokio::task::spawn_blocking(move || {
        drop(t);
        give_back_freed_memory();
    });
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)] // malloc_trim has no safe binding; it takes no pointer and only walks glibc's own arenas
fn give_back_freed_memory() {
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Other allocators (macOS's libmalloc, musl) return freed pages by themselves.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn give_back_freed_memory() {}
