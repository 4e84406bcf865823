//! The live transcript pane: the engine behind the console's centre pane.
//!
//! ```text
//! executor events ──► Transcript::{push_message, stream, turn_started, turn_finished, status}
//!                          │  model: cells (display text + paras), live partial turn at the tail
//!   app, once per frame ──► prepare(area)   &mut: re-wrap dirty cells, prefix sums, resolve view
//!                          └► render(area, buf, style)   &self: draw only the visible rows
//!   app, on keys ─────────► scroll_* / resume_follow / select_* / toggle_selected / search*
//! ```
//!
//! Responsibilities: turning events into readable cells, wrapping with a cache keyed by
//! (cell revision, width), follow mode, selection, expand/collapse, search, replay.
//! Not here: the event loop, frame pacing, key bindings, borders and other panes (the app).
//!
//! Cost model: a steady frame is O(log n + visible rows); a streamed token re-wraps the paras
//! of the live cell it touched; a width change re-wraps everything once. Figures:
//! `cargo bench --bench render`.

mod cache;
mod cell;
mod examples;
mod format;
pub mod load;
mod model;
mod render;
mod replay;
mod search;
mod style;
mod view;
mod wrap;

#[cfg(test)]
mod tests;

pub use model::{CellKind, ContextFill};
pub use replay::{JournalItem, journal_items};
pub use search::{Hits, JournalSearch};
pub use style::TranscriptStyle;

use crate::agent::TurnStats;
use crate::oai::{Message, StreamEvent};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use view::Reveal;

/// Search state as shown to the operator: `current` of `total` (1-based).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SearchStatus {
    pub query: String,
    /// 1-based index of the current match, 0 if none.
    pub current: usize,
    pub total: usize,
    /// More matches exist than were kept ([`search::MAX_MATCHES`]).
    pub capped: bool,
    /// The hidden parts of tool results are still being searched in the journal.
    pub searching: bool,
}

/// A streaming, scrollable, searchable transcript of one agent run.
#[derive(Clone, Debug)]
pub struct Transcript {
    model: model::Model,
    layout: cache::Layout,
    view: view::View,
    search: Option<search::Search>,
    /// A journal-built transcript's journal and its tool results' lines ([`load`]).
    sources: load::Sources,
    /// Something the operator should hear about (a tool result that could not be read back).
    notice: Option<String>,
}

impl Default for Transcript {
    fn default() -> Self {
        Self::new()
    }
}

impl Transcript {
    pub fn new() -> Transcript {
        Transcript {
            model: model::Model::new(),
            layout: cache::Layout::default(),
            view: view::View::default(),
            search: None,
            sources: load::Sources::default(),
            notice: None,
        }
    }

    // ---- inputs (executor events) -------------------------------------------------------

    /// A message appended to the conversation: system, user, assistant (its text and tool
    /// calls; replaces the streamed partial turn), or a tool result (collapsed).
    pub fn push_message(&mut self, message: &Message) {
        self.model.push_message(message);
    }

    /// A streaming delta: content, a tool-call fragment, or a retry notice (which discards the
    /// partial turn).
    pub fn stream(&mut self, event: &StreamEvent) {
        self.model.stream(event);
    }

    /// A chat turn is about to be sent: draws a `── turn 3/30 ───` rule.
    pub fn turn_started(&mut self, turn: u32, max_turns: u32) {
        self.model.turn_started(turn, Some(max_turns));
    }

    /// A chat turn finished: adds its footer (tokens, tok/s, seconds, attempts, context fill).
    pub fn turn_finished(&mut self, stats: TurnStats) {
        self.model.turn_finished(stats);
    }

    /// A pipeline step outside the chat ("cloning …", "pushing …").
    pub fn status(&mut self, text: &str) {
        self.model.status(text);
    }

    /// The model's context window in tokens, if known; footers then show the fill.
    pub fn set_context_window(&mut self, window: Option<u64>) {
        self.model.set_context_window(window);
    }

    /// Last turn's prompt + completion tokens against the window (for a status bar).
    pub fn context_fill(&self) -> Option<ContextFill> {
        self.model.context_fill()
    }

    // ---- frame --------------------------------------------------------------------------

    /// Brings the layout up to date for a pane of `area`'s size. Call once per frame before
    /// [`render`](Self::render) with the same area; this is where all wrapping happens.
    pub fn prepare(&mut self, area: Rect) {
        let (text, _) = render::split(area);
        if let Some(s) = self.search.as_mut() {
            let from = std::mem::replace(&mut self.model.text_dirty, usize::MAX);
            if from < self.model.cells.len() {
                s.scan(&self.model.cells, from);
            }
        } else {
            self.model.text_dirty = usize::MAX;
        }
        if text.width > 0 {
            self.layout.sync(&mut self.model, text.width);
            // A search jump into the hidden part of a collapsed cell opens it.
            if let Some(Reveal::Byte { cell, byte }) = self.view.pending
                && self.layout.row_for_byte(cell, byte).is_none()
                && self.model.cells.get(cell).is_some_and(|c| c.is_collapsed())
            {
                self.restore_cells([cell]);
                self.model.set_expanded(cell, true);
                self.layout.sync(&mut self.model, text.width);
            }
        }
        self.view.resolve(&self.layout, usize::from(text.height));
    }

    /// Draws the visible window. Uses only what [`prepare`](Self::prepare) computed.
    pub fn render(&self, area: Rect, buf: &mut Buffer, style: &TranscriptStyle) {
        render::render(self, area, buf, style);
    }

    // ---- scrolling ----------------------------------------------------------------------

    pub fn scroll_up(&mut self, rows: usize) {
        let d = isize::try_from(rows).unwrap_or(isize::MAX);
        self.view.scroll_by(&self.layout, -d);
    }

    pub fn scroll_down(&mut self, rows: usize) {
        let d = isize::try_from(rows).unwrap_or(isize::MAX);
        self.view.scroll_by(&self.layout, d);
    }

    pub fn half_page_up(&mut self) {
        let d = self.view.half_page();
        self.view.scroll_by(&self.layout, -d);
    }

    pub fn half_page_down(&mut self) {
        let d = self.view.half_page();
        self.view.scroll_by(&self.layout, d);
    }

    pub fn page_up(&mut self) {
        let d = self.view.page();
        self.view.scroll_by(&self.layout, -d);
    }

    pub fn page_down(&mut self) {
        let d = self.view.page();
        self.view.scroll_by(&self.layout, d);
    }

    pub fn scroll_to_top(&mut self) {
        self.view.scroll_to_top(&self.layout);
    }

    /// Jumps to the end and sticks there again.
    pub fn scroll_to_bottom(&mut self) {
        self.view.resume_follow();
    }

    /// Same as [`scroll_to_bottom`](Self::scroll_to_bottom); the name for a "follow" key.
    pub fn resume_follow(&mut self) {
        self.view.resume_follow();
    }

    /// True while the view sticks to the bottom.
    pub fn is_following(&self) -> bool {
        self.view.follow
    }

    /// Rows that arrived below the view since follow paused (as of the last `prepare`).
    pub fn new_lines_below(&self) -> usize {
        self.view.new_below
    }

    /// Total wrapped rows (as of the last `prepare`).
    pub fn total_rows(&self) -> usize {
        self.layout.total()
    }

    /// First visible row (as of the last `prepare`).
    pub fn top_row(&self) -> usize {
        self.view.top
    }

    // ---- selection and expansion --------------------------------------------------------

    pub fn select_next(&mut self) {
        self.view.select_next(&self.layout);
    }

    pub fn select_prev(&mut self) {
        self.view.select_prev(&self.layout);
    }

    pub fn selected(&self) -> Option<usize> {
        self.view.selected
    }

    /// Kind and text of cell `i`: its original payload where it was reformatted and is held
    /// (a live run's), else what it holds (a replayed tool result: its preview until opened;
    /// [`raw_text`](Self::raw_text) reads its payload back).
    pub fn cell(&self, i: usize) -> Option<(&CellKind, &str)> {
        self.model.cells.get(i).map(|c| (&c.kind, c.full_text()))
    }

    pub fn cell_count(&self) -> usize {
        self.model.cells.len()
    }

    /// Expands or collapses the selected cell; false if nothing collapsible is selected.
    pub fn toggle_selected(&mut self) -> bool {
        let Some(i) = self.view.selected else {
            return false;
        };
        if self.model.cells.get(i).is_some_and(|c| c.is_collapsed()) {
            self.restore_cells([i]);
        }
        let toggled = self.model.toggle(i);
        self.keep_previews([i]);
        toggled
    }

    /// Expands or collapses every tool result, tool call and system prompt, including ones
    /// that arrive later.
    pub fn set_all_expanded(&mut self, expanded: bool) {
        let n = self.model.cells.len();
        if expanded {
            self.restore_cells(0..n);
        }
        self.model.set_all_expanded(expanded);
        if !expanded {
            self.keep_previews(0..n);
        }
    }

    /// What the operator should hear about since the last call, once.
    pub fn take_notice(&mut self) -> Option<String> {
        self.notice.take()
    }

    pub fn all_expanded(&self) -> bool {
        self.model.default_expanded
    }

    // ---- search -------------------------------------------------------------------------

    /// Searches the transcript (smart-case substring) and jumps to the first match at or after
    /// the top of the view. Returns the number of matches. An empty query clears the search.
    pub fn search(&mut self, query: &str) -> usize {
        let Some(mut s) = search::Search::new(query) else {
            self.search = None;
            return 0;
        };
        s.scan(&self.model.cells, 0);
        if self.sources.path.is_some() && self.model.cells.iter().any(|c| c.more > 0) {
            s.journal = search::JournalScan::Wanted;
        }
        let from = self.layout.locate(self.view.top).map_or(0, |p| p.0);
        s.current = s.first_from(from);
        let n = s.matches.len();
        let target = s.current_match();
        self.search = Some(s);
        if let Some(m) = target {
            self.reveal_match(m);
        }
        n
    }

    pub fn search_next(&mut self) {
        self.search_step(true);
    }

    pub fn search_prev(&mut self) {
        self.search_step(false);
    }

    fn search_step(&mut self, forward: bool) {
        let target = self.search.as_mut().and_then(|s| s.step(forward));
        if let Some(m) = target {
            self.reveal_match(m);
        }
    }

    fn reveal_match(&mut self, m: search::Match) {
        self.view.pending = Some(Reveal::Byte {
            cell: m.cell,
            byte: m.start,
        });
    }

    /// The search of the tool results' hidden parts the last [`search`](Self::search) needs,
    /// once: run it off the UI thread ([`JournalSearch::run`]) and hand its answer to
    /// [`add_hits`](Self::add_hits).
    pub fn journal_search(&mut self) -> Option<JournalSearch> {
        let s = self.search.as_mut()?;
        if s.journal != search::JournalScan::Wanted {
            return None;
        }
        let path = self.sources.path.clone()?;
        let cells = self
            .sources
            .spans
            .iter()
            .filter_map(|&(i, span)| {
                let c = self.model.cells.get(i)?;
                (c.more > 0).then_some((i, span, c.text.len()))
            })
            .collect();
        s.journal = search::JournalScan::Running;
        Some(JournalSearch::new(s, path, cells))
    }

    /// A journal search's answer: merged into the current search if it is that search's
    /// (returns whether); with no match before it, the view goes to the first one.
    pub fn add_hits(&mut self, hits: Hits) -> bool {
        let Some(s) = self.search.as_mut() else {
            return false;
        };
        let had = s.current.is_some();
        if !s.add(hits) {
            return false;
        }
        if !had {
            let from = self.layout.locate(self.view.top).map_or(0, |p| p.0);
            s.current = s.first_from(from);
            if let Some(m) = s.current_match() {
                self.reveal_match(m);
            }
        }
        true
    }

    /// The current search's identity (journal answers carry it).
    pub fn search_id(&self) -> Option<u64> {
        self.search.as_ref().map(|s| s.id)
    }

    pub fn clear_search(&mut self) {
        self.search = None;
    }

    pub fn search_status(&self) -> Option<SearchStatus> {
        let s = self.search.as_ref()?;
        Some(SearchStatus {
            query: s.query.clone(),
            current: s.current.map_or(0, |c| c + 1),
            total: s.matches.len(),
            capped: s.capped,
            searching: s.journal != search::JournalScan::Done,
        })
    }
}
