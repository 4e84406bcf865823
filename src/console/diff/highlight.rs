//! Syntax highlighting as a job for a worker thread.
//!
//! ```text
//! DiffView::highlight_job(theme) ─► HighlightJob (Arc'd rows, no copies) ─► run() on a worker
//!                                   ─► Highlighted { generation, spans per file } ─► DiffView::apply
//! ```
//!
//! Parse state is kept within a hunk (one `HighlightLines` per hunk, fed its rows in order),
//! like codex's `diff_render.rs`; it restarts at each hunk because the lines between hunks are
//! unknown. Files above the size guard never reach the job. The syntax and theme sets are
//! loaded once per process, lazily, on the first worker that needs them.

use super::parse::{Kind, Row};
use ratatui::style::{Color, Modifier, Style};
use std::ops::Range;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use syntect::easy::HighlightLines;
use syntect::highlighting::{FontStyle, ThemeSet};
use syntect::parsing::{SyntaxReference, SyntaxSet};

/// Patch bytes above which a file is not highlighted (codex's guard): highlighting is
/// roughly linear but slow enough that bigger files would take seconds on a small machine.
pub const MAX_HIGHLIGHT_BYTES: usize = 512 * 1024;
/// Patch lines above which a file is not highlighted (same reason, for many short lines).
pub const MAX_HIGHLIGHT_LINES: usize = 10_000;
/// Rows highlighted between checks of the cancel flag (~30 ms of syntect work).
const CANCEL_CHECK_ROWS: usize = 100;
/// Used when the configured syntect theme does not exist.
pub const FALLBACK_SYNTAX_THEME: &str = "base16-ocean.dark";

/// A byte range of a row's text and the syntax style to patch over the row style.
pub(crate) type HSpan = (Range<usize>, Style);

fn syntaxes() -> &'static SyntaxSet {
    static SET: OnceLock<SyntaxSet> = OnceLock::new();
    SET.get_or_init(SyntaxSet::load_defaults_newlines)
}

fn themes() -> &'static ThemeSet {
    static SET: OnceLock<ThemeSet> = OnceLock::new();
    SET.get_or_init(ThemeSet::load_defaults)
}

/// True when a patch is too big to highlight.
pub(crate) fn too_large(patch: &str) -> bool {
    patch.len() > MAX_HIGHLIGHT_BYTES || patch.lines().count() > MAX_HIGHLIGHT_LINES
}

/// One file's input to the job.
#[derive(Clone, Debug)]
pub(crate) struct JobFile {
    pub path: String,
    pub rows: Arc<Vec<Row>>,
}

/// Highlighting work for every eligible file of one [`DiffView`](super::DiffView) generation.
/// `Send + 'static`: move it into `spawn_blocking` and send the result back to the UI.
#[derive(Clone, Debug)]
pub struct HighlightJob {
    pub(crate) generation: u64,
    pub(crate) syntax_theme: String,
    /// Aligned with the view's files; `None` = binary, too large, or nothing to highlight.
    pub(crate) files: Vec<Option<JobFile>>,
    /// This job's id and the view's latest id: when a newer job or file set supersedes this
    /// one they differ, and `run` stops early instead of burning a core on a dead result.
    pub(crate) cancel: Cancel,
}

/// Latest-only cancellation shared by a view and the jobs it hands out.
#[derive(Clone, Debug)]
pub(crate) struct Cancel {
    pub id: u64,
    pub latest: Arc<AtomicU64>,
}

impl Cancel {
    fn is_cancelled(&self) -> bool {
        self.latest.load(Ordering::Relaxed) != self.id
    }
}

/// The job's result; hand it to [`DiffView::apply`](super::DiffView::apply).
#[derive(Clone, Debug)]
pub struct Highlighted {
    pub(crate) generation: u64,
    /// Per file, per row: spans, or `None` where the file was not highlighted.
    pub(crate) files: Vec<Option<Vec<Vec<HSpan>>>>,
    /// Set when the configured syntax theme was unknown and the fallback was used.
    pub(crate) notice: Option<String>,
    /// The job was superseded and stopped early; its spans are incomplete.
    pub(crate) cancelled: bool,
}

impl Highlighted {
    /// Why the result differs from what was asked (unknown theme), if it does.
    pub fn notice(&self) -> Option<&str> {
        self.notice.as_deref()
    }
}

impl HighlightJob {
    /// Runs syntect over every eligible file. Blocking and CPU-bound: call it off the UI thread.
    pub fn run(self) -> Highlighted {
        let ts = themes();
        let (theme, notice) = match ts.themes.get(&self.syntax_theme) {
            Some(t) => (Some(t), None),
            None => (
                ts.themes
                    .get(FALLBACK_SYNTAX_THEME)
                    .or_else(|| ts.themes.values().next()),
                Some(format!(
                    "syntax theme {:?} unknown; using {FALLBACK_SYNTAX_THEME}",
                    self.syntax_theme
                )),
            ),
        };
        let cancel = &self.cancel;
        let files = match theme {
            Some(theme) => self
                .files
                .iter()
                .map(|f| f.as_ref().and_then(|f| highlight_file(f, theme, cancel)))
                .collect(),
            None => vec![None; self.files.len()],
        };
        Highlighted {
            generation: self.generation,
            files,
            notice,
            cancelled: cancel.is_cancelled(),
        }
    }
}

/// The syntax for a path's extension (or whole name, e.g. `Makefile`); none for plain text.
fn syntax_for(path: &str) -> Option<&'static SyntaxReference> {
    let ss = syntaxes();
    let name = path.rsplit('/').next().unwrap_or(path);
    let ext = name.rsplit_once('.').map(|(_, e)| e);
    ext.and_then(|e| ss.find_syntax_by_extension(e))
        .or_else(|| ss.find_syntax_by_extension(name))
        .filter(|s| s.name != "Plain Text")
}

fn highlight_file(
    f: &JobFile,
    theme: &syntect::highlighting::Theme,
    cancel: &Cancel,
) -> Option<Vec<Vec<HSpan>>> {
    let ss = syntaxes();
    let syntax = syntax_for(&f.path)?;
    let mut out = Vec::with_capacity(f.rows.len());
    let mut hl = HighlightLines::new(syntax, theme);
    let mut line = String::new();
    for (i, row) in f.rows.iter().enumerate() {
        if i % CANCEL_CHECK_ROWS == 0 && cancel.is_cancelled() {
            return None;
        }
        match row.kind {
            Kind::Hunk => {
                hl = HighlightLines::new(syntax, theme);
                out.push(Vec::new());
            }
            Kind::NoNewline => out.push(Vec::new()),
            Kind::Context | Kind::Added | Kind::Removed => {
                line.clear();
                line.push_str(&row.text);
                line.push('\n');
                let mut spans = Vec::new();
                // A syntect error (broken grammar state) leaves the row plain; the next hunk
                // starts fresh.
                if let Ok(ranges) = hl.highlight_line(&line, ss) {
                    let mut at = 0usize;
                    for (st, piece) in ranges {
                        let end = (at + piece.len()).min(row.text.len());
                        if at < end {
                            spans.push((at..end, convert(st)));
                        }
                        at += piece.len();
                    }
                }
                out.push(spans);
            }
        }
    }
    Some(out)
}

fn convert(s: syntect::highlighting::Style) -> Style {
    let c = s.foreground;
    let mut st = Style::new().fg(Color::Rgb(c.r, c.g, c.b));
    if s.font_style.contains(FontStyle::BOLD) {
        st = st.add_modifier(Modifier::BOLD);
    }
    if s.font_style.contains(FontStyle::ITALIC) {
        st = st.add_modifier(Modifier::ITALIC);
    }
    if s.font_style.contains(FontStyle::UNDERLINE) {
        st = st.add_modifier(Modifier::UNDERLINED);
    }
    st
}
