//! The transcript model: an append-mostly list of display cells built from executor events.
//!
//! Mental model: `events → Model → cells`. Each cell owns its *display text* (one `String`,
//! lines separated by `\n`) and a list of [`Para`]s (byte ranges of that text with a style
//! slot and a prefix). The layout cache wraps paras; search scans the display text; the
//! renderer slices it. Every mutation gives the cell a fresh, globally unique `rev` and lowers
//! `layout_dirty` / `text_dirty` to its index, which is all the cache needs to know.
//!
//! Streaming: the live partial turn occupies the tail (`live.start..`). Content deltas are
//! appended to the live assistant cell in place (an "append chain" records which para the
//! appends started at, so only that para onwards is re-wrapped); tool-call deltas update live
//! tool-call cells; a `Retry` truncates the tail back to `live.start`; the completed assistant
//! message replaces the whole tail, so nothing is shown twice.
//!
//! Not here: wrapping, scrolling, drawing.

use super::format::{self, FKind, FLine};
use crate::oai::{Message, Role, StreamEvent, Timings, Usage};

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

/// A fixed prefix drawn before a row's text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Prefix {
    pub text: &'static str,
    pub slot: Slot,
}

const fn pre(text: &'static str, slot: Slot) -> Prefix {
    Prefix { text, slot }
}
const INDENT: Prefix = pre("  ", Slot::Meta);
const INDENT2: Prefix = pre("    ", Slot::Meta);

/// One logical line of a cell: `text[start..end]`, no `\n` inside.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Para {
    pub start: usize,
    pub end: usize,
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
    ToolCall { name: String },
    ToolResult { name: String, is_error: bool },
    TurnHeader { turn: u32, max_turns: Option<u32> },
    TurnFooter(Box<FooterData>),
    Status,
    Retry { attempt: u32 },
}

/// Accounting shown in a turn footer; kept so the line can be rebuilt when the context window
/// becomes known.
#[derive(Clone, Debug, PartialEq)]
pub struct FooterData {
    pub turn: u32,
    pub elapsed_ms: u64,
    pub attempts: u32,
    pub usage: Option<Usage>,
    pub timings: Option<Timings>,
}

/// One display cell.
#[derive(Clone, Debug)]
pub(crate) struct Cell {
    pub kind: CellKind,
    /// Display text; paras index into it.
    pub text: String,
    pub paras: Vec<Para>,
    /// Paras always shown, before the collapsible body.
    pub header_paras: usize,
    /// `Some(n)`: collapsible, showing `n` body lines while collapsed.
    pub collapse: Option<usize>,
    pub expanded: bool,
    pub rev: u64,
    /// Identity for the layout cache: unique per cell, never reused (indices shift).
    pub id: u64,
    /// Since rev `.0` only appends happened, touching paras `.1..`; see [`Model::append`].
    pub chain: Option<(u64, usize)>,
    /// The original payload when the display text differs from it (tool results, arguments).
    pub raw: Option<String>,
}

impl Cell {
    fn new(kind: CellKind) -> Cell {
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
        }
    }

    /// Appends one logical line (must not contain `\n`; callers split first).
    fn line(&mut self, text: &str, slot: Slot, first: Prefix, rest: Prefix) {
        if !self.paras.is_empty() {
            self.text.push('\n');
        }
        let start = self.text.len();
        self.text.push_str(text);
        self.paras.push(Para {
            start,
            end: self.text.len(),
            slot,
            first,
            rest,
        });
    }

    /// Appends possibly multi-line `text`; the very first para of the cell gets `lead`.
    fn lines(&mut self, text: &str, slot: Slot, lead: Prefix, rest: Prefix) {
        for l in text.split('\n') {
            let first = if self.paras.is_empty() { lead } else { rest };
            self.line(l, slot, first, rest);
        }
    }

    /// True if the collapsible body is currently cut short.
    pub fn is_collapsed(&self) -> bool {
        self.collapse.is_some() && !self.expanded
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

/// The in-flight partial turn.
#[derive(Clone, Debug, Default)]
struct Live {
    /// First cell of the partial turn; everything from here on is provisional.
    start: usize,
    text_cell: Option<usize>,
    /// (stream index, cell index, accumulated name, accumulated arguments)
    calls: Vec<LiveCall>,
}

#[derive(Clone, Debug)]
struct LiveCall {
    index: usize,
    cell: usize,
    name: String,
    args: String,
}

/// Context fill: the last turn's prompt + completion tokens against the model's window.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ContextFill {
    pub used: u64,
    pub window: u64,
}

impl ContextFill {
    /// Percentage, 0-100+ (can exceed 100 if the server reports more than the window).
    pub fn percent(&self) -> f64 {
        if self.window == 0 {
            0.0
        } else {
            self.used as f64 * 100.0 / self.window as f64
        }
    }
}

/// Body lines shown while a tool result or system prompt is collapsed.
pub(crate) const RESULT_COLLAPSED_LINES: usize = 3;
/// Tool-call arguments are usually short and are what the operator reads; allow more.
pub(crate) const ARGS_COLLAPSED_LINES: usize = 8;

#[derive(Clone, Debug, Default)]
pub(crate) struct Model {
    pub cells: Vec<Cell>,
    next_rev: u64,
    /// Lowest cell index whose layout may be stale (`usize::MAX`: none).
    pub layout_dirty: usize,
    /// Lowest cell index whose display text may have changed (for search).
    pub text_dirty: usize,
    live: Option<Live>,
    pub window: Option<u64>,
    pub last_usage: Option<Usage>,
    /// New collapsible cells start expanded (set by expand-all).
    pub default_expanded: bool,
}

impl Model {
    pub fn new() -> Model {
        Model {
            layout_dirty: usize::MAX,
            text_dirty: usize::MAX,
            next_rev: 1,
            ..Model::default()
        }
    }

    fn bump(&mut self) -> u64 {
        let r = self.next_rev;
        self.next_rev += 1;
        r
    }

    fn touch(&mut self, i: usize, text_changed: bool) {
        let rev = self.bump();
        if let Some(c) = self.cells.get_mut(i) {
            c.rev = rev;
            if !text_changed {
                c.chain = None;
            }
        }
        self.layout_dirty = self.layout_dirty.min(i);
        if text_changed {
            self.text_dirty = self.text_dirty.min(i);
        }
    }

    fn push(&mut self, mut cell: Cell) -> usize {
        if cell.collapse.is_some() {
            cell.expanded = self.default_expanded;
        }
        if cell.paras.is_empty() {
            cell.line("", Slot::Meta, INDENT, INDENT);
        }
        cell.rev = self.bump();
        let i = self.cells.len();
        self.cells.push(cell);
        self.layout_dirty = self.layout_dirty.min(i);
        self.text_dirty = self.text_dirty.min(i);
        i
    }

    fn truncate(&mut self, len: usize) {
        if len < self.cells.len() {
            self.cells.truncate(len);
            self.layout_dirty = self.layout_dirty.min(len);
            self.text_dirty = self.text_dirty.min(len);
        }
    }

    /// Drops the provisional tail of a partial turn.
    fn discard_live(&mut self) {
        if let Some(live) = self.live.take() {
            self.truncate(live.start);
        }
    }

    // ---- inputs -------------------------------------------------------------------------

    pub fn push_message(&mut self, m: &Message) {
        match m.role {
            Role::System => {
                self.end_live();
                let mut c = Cell::new(CellKind::System);
                c.line("system prompt", Slot::Meta, pre("▸ ", Slot::Meta), INDENT);
                c.header_paras = 1;
                c.collapse = Some(RESULT_COLLAPSED_LINES);
                c.lines(m.text(), Slot::System, INDENT, INDENT);
                self.push(c);
            }
            Role::User => {
                self.end_live();
                let mut c = Cell::new(CellKind::User);
                c.lines(m.text(), Slot::User, pre("› ", Slot::User), INDENT);
                self.push(c);
            }
            Role::Assistant => {
                // The finished message supersedes whatever streamed for it.
                self.discard_live();
                let text = m.text().trim_end_matches(['\n', '\r']);
                if !text.trim().is_empty() {
                    self.push(assistant_cell(text));
                }
                for call in m.tool_calls() {
                    self.push(tool_call_cell(
                        &call.function.name,
                        &call.function.arguments,
                        true,
                    ));
                }
            }
            Role::Tool => {
                self.end_live();
                let name = m.name.clone().unwrap_or_default();
                let (lines, is_error) = format::tool_result_lines(m.text());
                let mut c = Cell::new(CellKind::ToolResult { name, is_error });
                push_flines(&mut c, &lines, pre("└ ", Slot::Meta), result_slot(is_error));
                c.collapse = Some(RESULT_COLLAPSED_LINES);
                c.raw = Some(m.text().to_string());
                self.push(c);
            }
        }
    }

    pub fn stream(&mut self, ev: &StreamEvent) {
        match ev {
            StreamEvent::Content(delta) => {
                if delta.is_empty() {
                    return;
                }
                let i = match self.live_mut().text_cell {
                    Some(i) => i,
                    None => {
                        let i = self.insert_live_text_cell();
                        self.live_mut().text_cell = Some(i);
                        i
                    }
                };
                self.append(i, delta);
            }
            StreamEvent::ToolCall {
                index,
                id: _,
                name,
                arguments,
            } => {
                let live = self.live_mut();
                let pos = match live.calls.iter().position(|c| c.index == *index) {
                    Some(p) => p,
                    None => {
                        let cell = self.cells.len();
                        let live = self.live_mut();
                        live.calls.push(LiveCall {
                            index: *index,
                            cell,
                            name: String::new(),
                            args: String::new(),
                        });
                        let p = live.calls.len() - 1;
                        self.push(tool_call_cell("", "", false));
                        p
                    }
                };
                let live = self.live_mut();
                let Some(call) = live.calls.get_mut(pos) else {
                    return;
                };
                if let Some(n) = name {
                    // Some servers repeat the full name on every chunk, others send fragments.
                    if call.name.is_empty() || (*n != call.name && !call.name.ends_with(n.as_str()))
                    {
                        call.name.push_str(n);
                    }
                }
                call.args.push_str(arguments);
                let (cell, name, args) = (call.cell, call.name.clone(), call.args.clone());
                self.replace_cell(cell, tool_call_cell(&name, &args, false));
            }
            StreamEvent::Retry { attempt, reason } => {
                self.discard_live();
                let mut c = Cell::new(CellKind::Retry { attempt: *attempt });
                let text = format!("attempt {attempt} failed, retrying: {reason}");
                c.lines(&text, Slot::Retry, pre("↻ ", Slot::Retry), INDENT);
                self.push(c);
            }
        }
    }

    pub fn turn_started(&mut self, turn: u32, max_turns: Option<u32>) {
        self.end_live();
        let mut c = Cell::new(CellKind::TurnHeader { turn, max_turns });
        let label = match max_turns {
            Some(m) => format!("turn {turn}/{m}"),
            None => format!("turn {turn}"),
        };
        c.line(
            &label,
            Slot::Rule,
            pre("── ", Slot::Meta),
            pre("   ", Slot::Meta),
        );
        self.push(c);
    }

    pub fn turn_finished(&mut self, data: FooterData) {
        self.end_live();
        if let Some(u) = data.usage {
            self.last_usage = Some(u);
        }
        let text = footer_text(&data, self.window);
        let mut c = Cell::new(CellKind::TurnFooter(Box::new(data)));
        c.line(&text, Slot::Meta, INDENT, INDENT);
        self.push(c);
    }

    /// A pipeline step. While a partial turn streams, the notice goes in front of it so a
    /// retry or the final message cannot remove it.
    pub fn status(&mut self, text: &str) {
        let mut c = Cell::new(CellKind::Status);
        c.lines(text, Slot::Status, pre("· ", Slot::Meta), INDENT);
        match self.live.as_ref().map(|l| l.start) {
            Some(start) if start < self.cells.len() => {
                c.rev = self.bump();
                self.cells.insert(start, c);
                if let Some(live) = self.live.as_mut() {
                    live.start += 1;
                    live.text_cell = live.text_cell.map(|t| t + 1);
                    for call in &mut live.calls {
                        call.cell += 1;
                    }
                }
                self.layout_dirty = self.layout_dirty.min(start);
                self.text_dirty = self.text_dirty.min(start);
            }
            _ => {
                self.push(c);
            }
        }
    }

    pub fn set_context_window(&mut self, window: Option<u64>) {
        if self.window == window {
            return;
        }
        self.window = window;
        for i in 0..self.cells.len() {
            let CellKind::TurnFooter(data) = &self.cells[i].kind else {
                continue;
            };
            let text = footer_text(data, window);
            let mut c = Cell::new(self.cells[i].kind.clone());
            c.line(&text, Slot::Meta, INDENT, INDENT);
            self.replace_cell(i, c);
        }
    }

    pub fn context_fill(&self) -> Option<ContextFill> {
        let u = self.last_usage?;
        Some(ContextFill {
            used: u.prompt_tokens + u.completion_tokens,
            window: self.window?,
        })
    }

    // ---- expansion ----------------------------------------------------------------------

    /// Flips a collapsible cell; returns false if `i` is not collapsible.
    pub fn toggle(&mut self, i: usize) -> bool {
        match self.cells.get_mut(i) {
            Some(c) if c.collapse.is_some() => {
                c.expanded = !c.expanded;
                self.touch(i, false);
                true
            }
            _ => false,
        }
    }

    pub fn set_expanded(&mut self, i: usize, on: bool) {
        if let Some(c) = self.cells.get_mut(i)
            && c.collapse.is_some()
            && c.expanded != on
        {
            c.expanded = on;
            self.touch(i, false);
        }
    }

    pub fn set_all_expanded(&mut self, on: bool) {
        self.default_expanded = on;
        for i in 0..self.cells.len() {
            self.set_expanded(i, on);
        }
    }

    // ---- helpers ------------------------------------------------------------------------

    fn live_mut(&mut self) -> &mut Live {
        let start = self.cells.len();
        self.live.get_or_insert_with(|| Live {
            start,
            ..Live::default()
        })
    }

    /// Inserts the live assistant cell at the start of the partial turn (before any live
    /// tool-call cells, which is where the finished message will put it).
    fn insert_live_text_cell(&mut self) -> usize {
        let start = self.live_mut().start;
        let mut cell = assistant_cell("");
        cell.rev = self.bump();
        let at = start.min(self.cells.len());
        self.cells.insert(at, cell);
        if let Some(live) = self.live.as_mut() {
            for c in &mut live.calls {
                if c.cell >= at {
                    c.cell += 1;
                }
            }
        }
        self.layout_dirty = self.layout_dirty.min(at);
        self.text_dirty = self.text_dirty.min(at);
        at
    }

    fn replace_cell(&mut self, i: usize, mut cell: Cell) {
        let Some(old) = self.cells.get(i) else {
            return;
        };
        cell.expanded = old.expanded;
        self.cells[i] = cell;
        self.touch(i, true);
    }

    /// Appends streamed text to an assistant cell, splitting paras at newlines, and extends
    /// the cell's append chain so the cache re-wraps only from the first touched para.
    fn append(&mut self, i: usize, delta: &str) {
        let rev = self.bump();
        let Some(c) = self.cells.get_mut(i) else {
            return;
        };
        let last = c.paras.len().saturating_sub(1);
        c.chain = Some(match c.chain {
            Some((since, from)) => (since, from.min(last)),
            None => (c.rev, last),
        });
        let mut rest = delta;
        loop {
            match rest.find('\n') {
                Some(nl) => {
                    c.text.push_str(&rest[..nl]);
                    if let Some(p) = c.paras.last_mut() {
                        p.end = c.text.len();
                    }
                    c.text.push('\n');
                    let start = c.text.len();
                    c.paras.push(Para {
                        start,
                        end: start,
                        slot: Slot::Assistant,
                        first: INDENT,
                        rest: INDENT,
                    });
                    rest = &rest[nl + 1..];
                }
                None => {
                    c.text.push_str(rest);
                    if let Some(p) = c.paras.last_mut() {
                        p.end = c.text.len();
                    }
                    break;
                }
            }
        }
        c.rev = rev;
        self.layout_dirty = self.layout_dirty.min(i);
        self.text_dirty = self.text_dirty.min(i);
    }

    /// The partial turn is over (turn boundary): its cells become permanent as they are.
    fn end_live(&mut self) {
        self.live = None;
    }
}

fn result_slot(is_error: bool) -> Slot {
    if is_error {
        Slot::Error
    } else {
        Slot::ToolResult
    }
}

fn assistant_cell(text: &str) -> Cell {
    let mut c = Cell::new(CellKind::Assistant);
    c.lines(
        text,
        Slot::Assistant,
        pre("• ", Slot::AssistantMarker),
        INDENT,
    );
    c
}

fn tool_call_cell(name: &str, args: &str, complete: bool) -> Cell {
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
    c.raw = Some(args.to_string());
    c
}

/// Adds formatter output: keys and plain text at one indent, section values at two. The
/// cell's first para (if it has none yet) gets `lead` instead.
fn push_flines(c: &mut Cell, lines: &[FLine], lead: Prefix, text_slot: Slot) {
    for l in lines {
        let (slot, p) = match l.kind {
            FKind::Key => (Slot::Meta, INDENT),
            FKind::Value => (text_slot, INDENT2),
            FKind::Plain => (text_slot, INDENT),
            FKind::Error => (Slot::Error, INDENT),
        };
        let first = if c.paras.is_empty() { lead } else { p };
        // Keep prefixes of one para the same width (the wrapper assumes it).
        let rest = if first.text.len() == p.text.len() {
            p
        } else {
            INDENT
        };
        c.line(&l.text, slot, first, rest);
    }
}

pub(crate) fn footer_text(d: &FooterData, window: Option<u64>) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oai::ToolCall;

    fn texts(m: &Model) -> Vec<String> {
        m.cells.iter().map(|c| c.text.clone()).collect()
    }

    fn content(s: &str) -> StreamEvent {
        StreamEvent::Content(s.into())
    }

    #[test]
    fn streamed_text_is_replaced_by_the_final_message() {
        let mut m = Model::new();
        m.turn_started(1, Some(5));
        m.stream(&content("Hel"));
        m.stream(&content("lo\nwor"));
        assert_eq!(m.cells.len(), 2);
        assert_eq!(m.cells[1].text, "Hello\nwor");
        assert_eq!(m.cells[1].paras.len(), 2);
        let mut fin = Message::assistant("Hello\nworld");
        fin.tool_calls = Some(vec![ToolCall::new("c1", "bash", r#"{"command":"ls"}"#)]);
        m.push_message(&fin);
        assert_eq!(
            texts(&m),
            vec!["turn 1/5", "Hello\nworld", "bash\ncommand: ls"]
        );
    }

    #[test]
    fn tool_call_deltas_build_a_live_cell() {
        let mut m = Model::new();
        let tc = |name: Option<&str>, args: &str| StreamEvent::ToolCall {
            index: 0,
            id: Some("c1".into()),
            name: name.map(String::from),
            arguments: args.into(),
        };
        m.stream(&tc(Some("bash"), ""));
        m.stream(&tc(Some("bash"), "{\"comm"));
        m.stream(&tc(None, "and\": \"ls"));
        assert_eq!(m.cells.len(), 1);
        assert_eq!(m.cells[0].text, "bash\n{\"command\": \"ls");
        // Text arriving after a tool call goes before it, where the final message puts it.
        m.stream(&content("thinking"));
        assert_eq!(texts(&m), vec!["thinking", "bash\n{\"command\": \"ls"]);
        m.stream(&tc(None, "\"}"));
        assert_eq!(m.cells[1].text, "bash\n{\"command\": \"ls\"}");
    }

    #[test]
    fn retry_discards_the_partial_turn() {
        let mut m = Model::new();
        m.turn_started(2, Some(5));
        m.stream(&content("partial"));
        m.stream(&StreamEvent::Retry {
            attempt: 1,
            reason: "bad JSON".into(),
        });
        assert_eq!(
            texts(&m),
            vec!["turn 2/5", "attempt 1 failed, retrying: bad JSON"]
        );
        m.stream(&content("again"));
        m.push_message(&Message::assistant("again!"));
        assert_eq!(
            texts(&m),
            vec!["turn 2/5", "attempt 1 failed, retrying: bad JSON", "again!"]
        );
    }

    #[test]
    fn append_chain_records_first_touched_para() {
        let mut m = Model::new();
        m.stream(&content("a\nb"));
        let (since, from) = m.cells[0].chain.unwrap_or((0, 99));
        assert_eq!(from, 0);
        assert!(since < m.cells[0].rev);
        m.stream(&content("c\nd"));
        assert_eq!(m.cells[0].chain.map(|c| c.1), Some(0));
        assert_eq!(m.cells[0].text, "a\nbc\nd");
        assert_eq!(m.cells[0].paras.len(), 3);
    }

    #[test]
    fn status_during_streaming_survives_retry() {
        let mut m = Model::new();
        m.stream(&content("part"));
        m.status("cloning …");
        m.stream(&content("ial"));
        assert_eq!(texts(&m), vec!["cloning …", "partial"]);
        m.stream(&StreamEvent::Retry {
            attempt: 1,
            reason: "x".into(),
        });
        assert_eq!(
            texts(&m),
            vec!["cloning …", "attempt 1 failed, retrying: x"]
        );
    }

    #[test]
    fn footer_and_context_fill() {
        let mut m = Model::new();
        m.set_context_window(Some(8192));
        m.turn_finished(FooterData {
            turn: 3,
            elapsed_ms: 2000,
            attempts: 2,
            usage: Some(Usage {
                prompt_tokens: 1000,
                completion_tokens: 48,
                total_tokens: 1048,
            }),
            timings: None,
        });
        assert_eq!(
            m.cells[0].text,
            "turn 3 · 1,000 + 48 tok · 24.0 tok/s · 2.0 s · 2 attempts · ctx 13% of 8,192"
        );
        let fill = m
            .context_fill()
            .unwrap_or(ContextFill { used: 0, window: 0 });
        assert_eq!(fill.used, 1048);
        assert!((fill.percent() - 12.79).abs() < 0.01);
        m.set_context_window(Some(2096));
        assert!(m.cells[0].text.ends_with("ctx 50% of 2,096"));
    }

    #[test]
    fn tool_results_are_collapsible_and_keep_raw_text() {
        let mut m = Model::new();
        let raw = r#"{"exit_code":0,"stdout":"1\n2\n3\n4\n5\n"}"#;
        m.push_message(&Message::tool("c1", "bash", raw));
        let c = &m.cells[0];
        assert!(c.is_collapsed());
        assert_eq!(c.full_text(), raw);
        assert_eq!(c.text, "exit_code: 0\nstdout:\n1\n2\n3\n4\n5");
        assert!(m.toggle(0));
        assert!(!m.cells[0].is_collapsed());
        m.set_all_expanded(false);
        assert!(m.cells[0].is_collapsed());
        m.push_message(&Message::user("hi"));
        assert!(!m.toggle(1), "user cells do not collapse");
    }
}
