//! Display cells: what one transcript entry looks like before wrapping.
//!
//! A [`Cell`] owns its display text (lines joined by `\n`) and [`Para`]s: byte ranges of that
//! text with a style slot and the prefixes of their first and continuation rows (`• `, `› `,
//! `└ `, indents). The builders here decide the look of each kind (assistant prose, tool call,
//! tool result, footer); the model decides when cells appear and change.

use super::format::{self, FKind, FLine};
use crate::agent::TurnStats;

/// Which [`TranscriptStyle`](super::TranscriptStyle) entry a para or prefix is drawn with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Slot {
    Assistant,
    AssistantMarker,
    User,
    System,
    ToolCall,
    ToolArgs,
    ToolResult,
    Error,
    Meta,
    Retry,
    Status,
    /// Meta text followed by a horizontal rule filling the row (turn headers).
    Rule,
}

/// A fixed prefix drawn before a row's text: an index into [`PREFIXES`], one byte, since
/// every para holds two (a replayed 200 MB journal holds millions of paras).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Prefix(u8);

/// Every prefix a cell uses.
const PREFIXES: [(&str, Slot); 12] = [
    ("  ", Slot::Meta),
    ("    ", Slot::Meta),
    ("▸ ", Slot::Meta),
    ("└ ", Slot::Meta),
    ("∴ ", Slot::Meta),
    ("• ", Slot::AssistantMarker),
    ("▸ ", Slot::ToolCall),
    ("↻ ", Slot::Retry),
    ("── ", Slot::Meta),
    ("   ", Slot::Meta),
    ("· ", Slot::Meta),
    ("› ", Slot::User),
];

/// The prefix `text` drawn with `slot`; it must be one of [`PREFIXES`] (a const use of a
/// missing one fails the build, a run-time one panics in the tests that draw it).
pub(crate) const fn pre(text: &'static str, slot: Slot) -> Prefix {
    let mut i = 0;
    while i < PREFIXES.len() {
        let (t, s) = PREFIXES[i];
        if s as u8 == slot as u8 && t.len() == text.len() {
            let (a, b) = (t.as_bytes(), text.as_bytes());
            let mut k = 0;
            while k < a.len() && a[k] == b[k] {
                k += 1;
            }
            if k == a.len() {
                return Prefix(i as u8);
            }
        }
        i += 1;
    }
    panic!("a prefix missing from PREFIXES")
}

impl Prefix {
    pub(crate) fn text(self) -> &'static str {
        PREFIXES[usize::from(self.0)].0
    }
    pub(crate) fn slot(self) -> Slot {
        PREFIXES[usize::from(self.0)].1
    }
}

/// A byte offset of a cell's text as a para stores it.
pub(crate) fn off(x: usize) -> u32 {
    u32::try_from(x).unwrap_or(u32::MAX)
}
pub(crate) const INDENT: Prefix = pre("  ", Slot::Meta);
pub(crate) const INDENT2: Prefix = pre("    ", Slot::Meta);

/// One logical line of a cell, no `\n` inside: it ends at `end` and starts where the one
/// before it ended plus its `\n` (0 for the first; [`Cell::para_range`]). Not storing the
/// start keeps a para at 8 bytes: a replayed tool result holds one per output line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Para {
    pub end: u32,
    pub slot: Slot,
    /// Prefix of the para's first row.
    pub first: Prefix,
    /// Prefix of its continuation rows; same width as `first`.
    pub rest: Prefix,
}

/// What a cell shows. Public so the app can describe the selection.
#[derive(Clone, Debug, PartialEq)]
pub enum CellKind {
    System,
    User,
    Assistant,
    /// A hybrid-thinking model's `reasoning_content`: dim, collapsed, never sent back.
    Reasoning,
    ToolCall {
        name: String,
    },
    ToolResult {
        name: String,
        is_error: bool,
    },
    TurnHeader {
        turn: u32,
        max_turns: Option<u32>,
    },
    /// Kept so the line can be rebuilt when the context window becomes known.
    TurnFooter(Box<TurnStats>),
    Status,
    Retry {
        attempt: u32,
    },
    /// The Agent's worked examples, one collapsed block (`examples.rs`).
    Examples {
        turns: u32,
    },
}

/// One display cell. Its counts are `u32` and its payload a `Box<str>`: a replayed 200 MB
/// journal holds about half a million cells, so each word of this struct costs megabytes.
#[derive(Clone, Debug)]
pub(crate) struct Cell {
    pub kind: CellKind,
    /// Display text; paras index into it.
    pub text: String,
    pub paras: Vec<Para>,
    /// Paras always shown, before the collapsible body.
    pub header_paras: u32,
    /// `Some(n)`: collapsible, showing `n` body lines while collapsed.
    pub collapse: Option<u32>,
    pub expanded: bool,
    pub rev: u64,
    /// Identity for the layout cache: unique per cell, never reused (indices shift).
    pub id: u64,
    /// Since rev `.0` only appends happened, touching paras `.1..`; see [`Model::append`].
    pub chain: Option<(u64, u32)>,
    /// The original payload when the display text differs from it (tool results, arguments).
    pub raw: Option<Box<str>>,
    /// Body lines not held: a journal-built tool result keeps only what its collapsed form
    /// shows ([`Cell::keep_preview`]) and is built again from its journal line when opened.
    pub more: u32,
}

impl Cell {
    pub(crate) fn new(kind: CellKind) -> Cell {
        Cell {
            kind,
            text: String::new(),
            paras: Vec::new(),
            header_paras: 0,
            collapse: None,
            expanded: false,
            rev: 0,
            id: next_id(),
            chain: None,
            raw: None,
            more: 0,
        }
    }

    /// Appends one logical line (must not contain `\n`; callers split first).
    pub(crate) fn line(&mut self, text: &str, slot: Slot, first: Prefix, rest: Prefix) {
        if !self.paras.is_empty() {
            self.text.push('\n');
        }
        self.text.push_str(text);
        self.paras.push(Para {
            end: off(self.text.len()),
            slot,
            first,
            rest,
        });
    }

    /// Appends possibly multi-line `text`; the very first para of the cell gets `lead`.
    pub(crate) fn lines(&mut self, text: &str, slot: Slot, lead: Prefix, rest: Prefix) {
        for l in text.split('\n') {
            let first = if self.paras.is_empty() { lead } else { rest };
            self.line(l, slot, first, rest);
        }
    }

    /// The byte range of para `i` in the text (empty past the last para).
    pub(crate) fn para_range(&self, i: usize) -> (usize, usize) {
        let Some(p) = self.paras.get(i) else {
            return (self.text.len(), self.text.len());
        };
        let end = p.end as usize;
        let start = i
            .checked_sub(1)
            .map_or(0, |k| self.paras[k].end as usize + 1);
        (start.min(end), end)
    }

    /// Drops the paras (and their text) past what the collapsed cell shows, counting them in
    /// [`more`](Self::more). The text kept is a prefix of the whole, so byte offsets into it
    /// (search matches) hold for the whole cell too.
    pub(crate) fn keep_preview(&mut self) {
        let shown = (self.header_paras + self.collapse.unwrap_or(0)) as usize;
        if self.collapse.is_none() || self.paras.len() <= shown {
            return;
        }
        self.more += off(self.paras.len() - shown);
        let end = shown.checked_sub(1).map_or(0, |k| self.para_range(k).1);
        self.text.truncate(end);
        self.paras.truncate(shown);
        self.shrink();
    }

    /// Takes the whole text back from `full`, the same cell built again from its payload.
    pub(crate) fn restore(&mut self, full: Cell) {
        self.text = full.text;
        self.paras = full.paras;
        self.more = 0;
    }

    /// True if the collapsible body is currently cut short.
    pub fn is_collapsed(&self) -> bool {
        self.collapse.is_some() && !self.expanded
    }

    /// Drops the spare capacity of a finished cell: built by pushes, it would hold up to
    /// twice its text (a replayed journal of hundreds of MB holds many cells).
    pub(crate) fn shrink(&mut self) {
        self.text.shrink_to_fit();
        self.paras.shrink_to_fit();
    }

    /// Heap bytes the cell holds (its text, paras, raw payload, kind's name).
    pub(crate) fn heap_bytes(&self) -> usize {
        let name = match &self.kind {
            CellKind::ToolCall { name } | CellKind::ToolResult { name, .. } => name.capacity(),
            CellKind::TurnFooter(_) => size_of::<TurnStats>(),
            _ => 0,
        };
        self.text.capacity()
            + self.paras.capacity() * size_of::<Para>()
            + self.raw.as_ref().map_or(0, |r| r.len())
            + name
    }

    /// The full text of the cell (original payload where it was reformatted).
    pub fn full_text(&self) -> &str {
        self.raw.as_deref().unwrap_or(&self.text)
    }
}

fn next_id() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// Body lines shown while a tool result or system prompt is collapsed.
pub(crate) const RESULT_COLLAPSED_LINES: u32 = 3;
/// Tool-call arguments are usually short and are what the operator reads; allow more.
pub(crate) const ARGS_COLLAPSED_LINES: u32 = 8;

pub(crate) fn result_slot(is_error: bool) -> Slot {
    if is_error {
        Slot::Error
    } else {
        Slot::ToolResult
    }
}

/// The reasoning of one reply, if it has any: a dim "thinking" header and the text, collapsed.
pub(crate) fn reasoning_cell(m: &crate::oai::Message) -> Option<Cell> {
    let text = m.reasoning_content.as_deref().unwrap_or("").trim();
    if text.is_empty() {
        return None;
    }
    let mut c = Cell::new(CellKind::Reasoning);
    c.line("thinking", Slot::Meta, pre("∴ ", Slot::Meta), INDENT);
    c.header_paras = 1;
    c.collapse = Some(REASONING_COLLAPSED_LINES);
    c.lines(text, Slot::Meta, INDENT, INDENT);
    Some(c)
}

/// Reasoning lines shown while collapsed.
const REASONING_COLLAPSED_LINES: u32 = 3;

pub(crate) fn assistant_cell(text: &str) -> Cell {
    let mut c = Cell::new(CellKind::Assistant);
    c.lines(
        text,
        Slot::Assistant,
        pre("• ", Slot::AssistantMarker),
        INDENT,
    );
    c
}

pub(crate) fn tool_call_cell(name: &str, args: &str, complete: bool) -> Cell {
    let shown = if name.is_empty() { "…" } else { name };
    let mut c = Cell::new(CellKind::ToolCall {
        name: name.to_string(),
    });
    c.line(shown, Slot::ToolCall, pre("▸ ", Slot::ToolCall), INDENT);
    c.header_paras = 1;
    let lines = if complete {
        format::tool_args_lines(args)
    } else {
        // Partial JSON: show it as it arrives.
        let mut v = Vec::new();
        if !args.is_empty() {
            for l in format::strip_ansi(args).split('\n') {
                v.push(FLine {
                    text: l.to_string(),
                    kind: FKind::Plain,
                });
            }
        }
        v
    };
    push_flines(&mut c, &lines, INDENT, Slot::ToolArgs);
    c.collapse = Some(ARGS_COLLAPSED_LINES);
    c.raw = Some(args.into());
    c
}

/// A tool's result as the transcript shows it: reformatted (JSON keys, output lines) and
/// collapsed; the journal-built transcript and its search build it the same way.
pub(crate) fn tool_result_cell(name: String, payload: &str) -> Cell {
    let (lines, is_error) = format::tool_result_lines(payload);
    let mut c = Cell::new(CellKind::ToolResult { name, is_error });
    push_flines(&mut c, &lines, pre("└ ", Slot::Meta), result_slot(is_error));
    c.collapse = Some(RESULT_COLLAPSED_LINES);
    c
}

/// The tool result at a journal line, built whole as the transcript shows it (opening a
/// preview and searching its hidden part both start here).
pub(crate) fn whole_tool_result(
    r: Result<crate::agent::transcript::Record, String>,
) -> Result<Cell, String> {
    match r? {
        crate::agent::transcript::Record::Message { message, .. }
            if message.role == crate::oai::Role::Tool =>
        {
            let name = message.name.clone().unwrap_or_default();
            Ok(tool_result_cell(name, message.text()))
        }
        _ => Err("no tool result at its line".to_string()),
    }
}

/// Adds formatter output: keys and plain text at one indent, section values at two. The
/// cell's first para (if it has none yet) gets `lead` instead.
pub(crate) fn push_flines(c: &mut Cell, lines: &[FLine], lead: Prefix, text_slot: Slot) {
    for l in lines {
        let (slot, p) = match l.kind {
            FKind::Key => (Slot::Meta, INDENT),
            FKind::Value => (text_slot, INDENT2),
            FKind::Plain => (text_slot, INDENT),
            FKind::Error => (Slot::Error, INDENT),
        };
        let first = if c.paras.is_empty() { lead } else { p };
        // Keep prefixes of one para the same width (the wrapper assumes it).
        let rest = if first.text().len() == p.text().len() {
            p
        } else {
            INDENT
        };
        c.line(&l.text, slot, first, rest);
    }
}

pub(crate) fn footer_text(d: &TurnStats, window: Option<u64>) -> String {
    let mut parts = Vec::new();
    if let Some(u) = d.usage {
        parts.push(format!(
            "{} + {} tok",
            format::thousands(u.prompt_tokens),
            format::thousands(u.completion_tokens)
        ));
    }
    let secs = d.elapsed_ms as f64 / 1000.0;
    let tps = d.timings.and_then(|t| t.predicted_per_second).or_else(|| {
        let u = d.usage?;
        (d.elapsed_ms > 0 && u.completion_tokens > 0).then(|| u.completion_tokens as f64 / secs)
    });
    if let Some(t) = tps {
        parts.push(format!("{t:.1} tok/s"));
    }
    if let Some(hit) = d.timings.and_then(|t| t.cache_hit()) {
        parts.push(format!("cache {:.0}%", hit * 100.0));
    }
    parts.push(format!("{secs:.1} s"));
    if d.attempts > 1 {
        parts.push(format!("{} attempts", d.attempts));
    }
    if let (Some(u), Some(w)) = (d.usage, window)
        && w > 0
    {
        let used = u.prompt_tokens + u.completion_tokens;
        parts.push(format!(
            "ctx {:.0}% of {}",
            used as f64 * 100.0 / w as f64,
            format::thousands(w)
        ));
    }
    format!("turn {} · {}", d.turn, parts.join(" · "))
}

/// A user message; the operator's note to the live run (`m`) and their request for changes
/// (`c`) are labelled as theirs.
pub(crate) fn user_cell(text: &str) -> Cell {
    let mut c = Cell::new(CellKind::User);
    let feedback = text.starts_with(crate::executor::review::FEEDBACK_PREFIX);
    match crate::agent::notes::as_note(text) {
        Some(note) => {
            c.line("operator", Slot::Meta, pre("▸ ", Slot::Meta), INDENT);
            c.lines(note, Slot::User, pre("› ", Slot::User), INDENT);
        }
        None if feedback => {
            let label = "operator · requested changes";
            c.line(label, Slot::Meta, pre("▸ ", Slot::Meta), INDENT);
            c.lines(text, Slot::User, pre("› ", Slot::User), INDENT);
        }
        None => c.lines(text, Slot::User, pre("› ", Slot::User), INDENT),
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn para_ranges_follow_from_the_ends() {
        assert_eq!(size_of::<Para>(), 8);
        let mut c = Cell::new(CellKind::Assistant);
        c.lines("ab\n\ncde", Slot::Assistant, INDENT, INDENT);
        c.line("f", Slot::Meta, INDENT, INDENT);
        let texts: Vec<&str> = (0..c.paras.len())
            .map(|i| {
                let (a, b) = c.para_range(i);
                &c.text[a..b]
            })
            .collect();
        assert_eq!(texts, ["ab", "", "cde", "f"]);
        assert_eq!(c.para_range(4), (c.text.len(), c.text.len()));
    }

    #[test]
    fn a_preview_is_a_prefix_of_the_whole_and_restores_to_it() {
        let payload = r#"{"exit_code":0,"stdout":"1\n2\n3\n4\n5\n6\n"}"#;
        let whole = tool_result_cell("bash".into(), payload);
        let mut c = whole.clone();
        c.keep_preview();
        let shown = RESULT_COLLAPSED_LINES as usize;
        assert_eq!(c.paras.len(), shown);
        assert_eq!(c.more as usize, whole.paras.len() - shown);
        assert!(whole.text.starts_with(&c.text) && c.text.len() < whole.text.len());
        assert_eq!(c.paras[..], whole.paras[..shown]);
        c.restore(tool_result_cell("bash".into(), payload));
        assert_eq!((c.text, c.paras, c.more), (whole.text, whole.paras, 0));
        // Nothing past the collapsed form: nothing dropped.
        let mut short = tool_result_cell("bash".into(), r#"{"exit_code":0}"#);
        let before = short.text.clone();
        short.keep_preview();
        assert_eq!((short.text, short.more), (before, 0));
    }
}
