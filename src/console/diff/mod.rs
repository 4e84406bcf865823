//! The diff pane: the task's change against its base, one file at a time.
//!
//! ```text
//! workspace::diff_commit ─► Vec<FileDiff> ─► DiffView::new        parse once, plain colours
//!   app, after new() ─────► highlight_job(theme) ─► spawn_blocking(job.run()) ─► apply(result)
//!   app, once per frame ──► prepare(area)   &mut: clamp scroll for the pane's height
//!                          └► render(area, buf, style)   &self: file strip + visible rows only
//!   app, on keys ─────────► next/prev_file, next/prev_hunk, scroll_*, page_*, scroll_left/right
//! ```
//!
//! Large diffs never freeze the UI: parsing is linear and done once, drawing touches only the
//! visible rows, and syntect runs on a worker. Files above the size guard
//! ([`MAX_HIGHLIGHT_BYTES`], [`MAX_HIGHLIGHT_LINES`]) stay plain. Each view (and each
//! [`set_files`](DiffView::set_files)) takes a fresh generation from a process-wide counter,
//! so a late result for an older file set is dropped by [`apply`](DiffView::apply).
//!
//! Not here: running the job, key bindings, borders (the app).

mod highlight;
mod parse;
mod render;
mod style;

#[cfg(test)]
mod tests;

pub use highlight::{
    FALLBACK_SYNTAX_THEME, HighlightJob, Highlighted, MAX_HIGHLIGHT_BYTES, MAX_HIGHLIGHT_LINES,
};
pub use style::DiffStyle;

use crate::workspace::FileDiff;
use highlight::{Cancel, HSpan, JobFile};
use parse::Row;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

static NEXT_GENERATION: AtomicU64 = AtomicU64::new(1);

/// One file of the view: its diff metadata, parsed rows and (once applied) highlight spans.
#[derive(Clone, Debug)]
struct FileEntry {
    old_path: Option<String>,
    new_path: Option<String>,
    additions: usize,
    deletions: usize,
    binary: bool,
    /// Above the size guard: never highlighted.
    large: bool,
    rows: Arc<Vec<Row>>,
    hunks: Vec<usize>,
    max_line: u32,
    spans: Option<Vec<Vec<HSpan>>>,
}

impl FileEntry {
    fn new(f: FileDiff) -> FileEntry {
        let p = parse::parse(&f.patch);
        FileEntry {
            large: highlight::too_large(&f.patch),
            old_path: f.old_path,
            new_path: f.new_path,
            additions: f.additions,
            deletions: f.deletions,
            binary: f.binary,
            rows: Arc::new(p.rows),
            hunks: p.hunks,
            max_line: p.max_line,
            spans: None,
        }
    }

    /// The path shown for the file (the new one unless deleted).
    fn path(&self) -> &str {
        self.new_path
            .as_deref()
            .or(self.old_path.as_deref())
            .unwrap_or("?")
    }

    /// `A`dded, `D`eleted, `R`enamed or `M`odified.
    fn status(&self) -> char {
        match (&self.old_path, &self.new_path) {
            (None, _) => 'A',
            (_, None) => 'D',
            (Some(o), Some(n)) if o != n => 'R',
            _ => 'M',
        }
    }

    /// Body rows: a file header row, then the patch rows (or one message row).
    fn body_len(&self) -> usize {
        1 + self.rows.len().max(usize::from(self.rows.is_empty()))
    }
}

/// The diff view of one task: a file strip and the scrollable patch of the current file.
#[derive(Clone, Debug)]
pub struct DiffView {
    files: Vec<FileEntry>,
    generation: u64,
    current: usize,
    /// Current hunk of the current file (index into its `hunks`).
    hunk: usize,
    /// First visible body row.
    top: usize,
    /// Columns of text scrolled off to the left.
    left: usize,
    /// Body height from the last `prepare` (0 before the first one).
    body_h: usize,
    notice: Option<String>,
    /// Id of the latest job handed out; older jobs see a different value and stop. Shared
    /// with clones of the view.
    latest_job: Arc<AtomicU64>,
}

impl DiffView {
    /// Parses every file and is ready to draw plain (+/- coloured) text at once.
    pub fn new(files: Vec<FileDiff>) -> DiffView {
        DiffView {
            files: files.into_iter().map(FileEntry::new).collect(),
            generation: NEXT_GENERATION.fetch_add(1, Ordering::Relaxed),
            current: 0,
            hunk: 0,
            top: 0,
            left: 0,
            body_h: 0,
            notice: None,
            latest_job: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Replaces the file set (e.g. a new commit); a running job stops early and its result,
    /// like any pending one, is refused by `apply`.
    pub fn set_files(&mut self, files: Vec<FileDiff>) {
        self.cancel_job();
        *self = DiffView::new(files);
    }

    /// Tells the latest job handed out to stop (its result will be refused).
    fn cancel_job(&self) {
        self.latest_job.fetch_add(1, Ordering::Relaxed);
    }

    /// Highlighting work for the current file set; run it off the UI thread. Supersedes (and
    /// cancels) the previous job of this view: latest-only, like gitui's `AsyncSingleJob`.
    pub fn highlight_job(&self, syntax_theme: &str) -> HighlightJob {
        let id = self.latest_job.fetch_add(1, Ordering::Relaxed) + 1;
        HighlightJob {
            cancel: Cancel {
                id,
                latest: Arc::clone(&self.latest_job),
            },
            generation: self.generation,
            syntax_theme: syntax_theme.to_string(),
            files: self
                .files
                .iter()
                .map(|f| {
                    (!f.binary && !f.large && !f.rows.is_empty()).then(|| JobFile {
                        path: f.path().to_string(),
                        rows: Arc::clone(&f.rows),
                    })
                })
                .collect(),
        }
    }

    /// Installs a job's result; returns false (and changes nothing) if it is stale: another
    /// file set, or a job that was cancelled.
    pub fn apply(&mut self, h: Highlighted) -> bool {
        if h.cancelled || h.generation != self.generation || h.files.len() != self.files.len() {
            return false;
        }
        for (f, spans) in self.files.iter_mut().zip(h.files) {
            f.spans = spans.filter(|s| s.len() == f.rows.len());
        }
        self.notice = h.notice;
        true
    }

    /// True once a highlight result has been applied.
    pub fn is_highlighted(&self) -> bool {
        self.files.iter().any(|f| f.spans.is_some())
    }

    /// "3 files, +12 -4" (or "no changes").
    pub fn summary(&self) -> String {
        if self.files.is_empty() {
            return "no changes".into();
        }
        let add: usize = self.files.iter().map(|f| f.additions).sum();
        let del: usize = self.files.iter().map(|f| f.deletions).sum();
        let n = self.files.len();
        let s = if n == 1 { "" } else { "s" };
        format!("{n} file{s}, +{add} -{del}")
    }

    /// Index of the current file and the number of files.
    pub fn current_file(&self) -> (usize, usize) {
        (self.current, self.files.len())
    }

    /// Index of the current hunk in the current file and that file's number of hunks.
    pub fn current_hunk(&self) -> (usize, usize) {
        let n = self.files.get(self.current).map_or(0, |f| f.hunks.len());
        (self.hunk.min(n.saturating_sub(1)), n)
    }

    /// First visible body row of the current file (row 0 is the file header).
    pub fn top_row(&self) -> usize {
        self.top
    }

    /// Where a review comment goes (`c` in the diff): the current file's path and, from the
    /// top of the view or the current hunk's start when a short file cannot scroll there, the
    /// first added line of that hunk, else its first line the file has (a deleted file's old
    /// one). `None` for an empty or binary file.
    pub fn anchor(&self) -> Option<(String, u32)> {
        let f = self.files.get(self.current)?;
        let hunk = f.hunks.get(self.hunk).copied().unwrap_or(0);
        let rows = f.rows.get(self.top.saturating_sub(1).max(hunk)..)?;
        let end = (rows.iter().skip(1))
            .position(|r| r.kind == parse::Kind::Hunk)
            .map_or(rows.len(), |i| i + 1);
        let here = &rows[..end];
        let line = (here.iter().find(|r| r.kind == parse::Kind::Added))
            .or_else(|| here.iter().find(|r| r.new > 0))
            .map(|r| r.new)
            .or_else(|| here.iter().find(|r| r.old > 0).map(|r| r.old))?;
        Some((f.path().to_string(), line))
    }

    // ---- navigation ---------------------------------------------------------------------

    fn select_file(&mut self, i: usize) {
        self.current = i;
        self.hunk = 0;
        self.top = 0;
        self.left = 0;
    }

    /// Next file; wraps from the last to the first.
    pub fn next_file(&mut self) {
        if !self.files.is_empty() {
            self.select_file((self.current + 1) % self.files.len());
        }
    }

    /// Previous file; wraps from the first to the last.
    pub fn prev_file(&mut self) {
        if !self.files.is_empty() {
            let n = self.files.len();
            self.select_file((self.current + n - 1) % n);
        }
    }

    /// Body row of hunk `h` of the current file (+1 for the file header row).
    fn hunk_row(&self, h: usize) -> Option<usize> {
        self.files.get(self.current)?.hunks.get(h).map(|r| r + 1)
    }

    fn show_hunk(&mut self) {
        if let Some(r) = self.hunk_row(self.hunk) {
            self.top = r;
            self.clamp();
        }
    }

    /// Next hunk; past the file's last hunk it moves to the next file that has hunks, and
    /// stays put at the very last hunk.
    pub fn next_hunk(&mut self) {
        let Some(f) = self.files.get(self.current) else {
            return;
        };
        if self.hunk + 1 < f.hunks.len() {
            self.hunk += 1;
            self.show_hunk();
        } else if let Some(i) =
            (self.current + 1..self.files.len()).find(|&i| !self.files[i].hunks.is_empty())
        {
            self.select_file(i);
            self.show_hunk();
        }
    }

    /// Previous hunk; before the file's first hunk it moves to the last hunk of the previous
    /// file that has hunks, and stays put at the very first hunk.
    pub fn prev_hunk(&mut self) {
        if self.hunk > 0 {
            self.hunk -= 1;
            self.show_hunk();
        } else if let Some(i) = (0..self.current)
            .rev()
            .find(|&i| !self.files[i].hunks.is_empty())
        {
            self.select_file(i);
            self.hunk = self.files[i].hunks.len() - 1;
            self.show_hunk();
        }
    }

    fn max_top(&self) -> usize {
        let len = self.files.get(self.current).map_or(0, FileEntry::body_len);
        len.saturating_sub(self.body_h.max(1))
    }

    fn clamp(&mut self) {
        self.top = self.top.min(self.max_top());
    }

    /// After a scroll the current hunk is the last one starting at or above the top row.
    fn sync_hunk(&mut self) {
        if let Some(f) = self.files.get(self.current) {
            self.hunk = f
                .hunks
                .iter()
                .rposition(|&r| r < self.top.max(1))
                .unwrap_or(0);
        }
    }

    pub fn scroll_down(&mut self, n: usize) {
        self.top = self.top.saturating_add(n);
        self.clamp();
        self.sync_hunk();
    }

    pub fn scroll_up(&mut self, n: usize) {
        self.top = self.top.saturating_sub(n);
        self.sync_hunk();
    }

    /// A page is the body height minus one row of overlap.
    pub fn page_down(&mut self) {
        self.scroll_down(self.body_h.saturating_sub(1).max(1));
    }

    pub fn page_up(&mut self) {
        self.scroll_up(self.body_h.saturating_sub(1).max(1));
    }

    pub fn half_page_down(&mut self) {
        self.scroll_down((self.body_h / 2).max(1));
    }

    pub fn half_page_up(&mut self) {
        self.scroll_up((self.body_h / 2).max(1));
    }

    /// The current file's first row.
    pub fn scroll_to_top(&mut self) {
        self.scroll_up(usize::MAX);
    }

    /// The current file's last page.
    pub fn scroll_to_bottom(&mut self) {
        self.scroll_down(usize::MAX);
    }

    /// Horizontal scroll of the patch text (the gutter stays).
    pub fn scroll_right(&mut self, n: usize) {
        self.left = self.left.saturating_add(n).min(100_000);
    }

    pub fn scroll_left(&mut self, n: usize) {
        self.left = self.left.saturating_sub(n);
    }

    // ---- frame --------------------------------------------------------------------------

    /// Clamps the scroll position for a pane of `area`'s size. Call once per frame before
    /// [`render`](Self::render) with the same area.
    pub fn prepare(&mut self, area: Rect) {
        self.body_h = render::layout(self, area).body.height.into();
        self.clamp();
    }

    /// Draws the file strip and the visible rows; reads only what `prepare` settled.
    pub fn render(&self, area: Rect, buf: &mut Buffer, style: &DiffStyle) {
        render::render(self, area, buf, style);
    }
}
