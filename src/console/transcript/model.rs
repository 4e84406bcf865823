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

pub use super::cell::CellKind;
use super::cell::{
    Cell, INDENT, Para, RESULT_COLLAPSED_LINES, Slot, assistant_cell, footer_text, off, pre,
    reasoning_cell, tool_call_cell, tool_result_cell, user_cell,
};
use crate::agent::TurnStats;
use crate::oai::{Message, Role, StreamEvent, Usage};

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

    pub(super) fn touch(&mut self, i: usize, text_changed: bool) {
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

    /// Cell `i` was replaced: its layout and text are stale.
    pub(crate) fn restyle(&mut self, i: usize) {
        self.touch(i, false);
        self.text_dirty = self.text_dirty.min(i);
    }

    pub(crate) fn push(&mut self, mut cell: Cell) -> usize {
        if cell.collapse.is_some() {
            cell.expanded = self.default_expanded;
        }
        if cell.paras.is_empty() {
            cell.line("", Slot::Meta, INDENT, INDENT);
        }
        cell.rev = self.bump();
        cell.shrink();
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

    /// Cells for one message as in a run (`examples.rs` folds the worked examples).
    pub(crate) fn push_message_cells(&mut self, m: &Message) {
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
                self.push(user_cell(m.text()));
            }
            Role::Assistant => {
                // The finished message supersedes whatever streamed for it.
                self.discard_live();
                let _ = reasoning_cell(m).map(|c| self.push(c));
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
                let mut c = tool_result_cell(m.name.clone().unwrap_or_default(), m.text());
                c.raw = Some(m.text().into());
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
            StreamEvent::PromptProgress { .. } => {} // drawn on the waiting line
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

    pub fn turn_finished(&mut self, data: TurnStats) {
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
        let last = off(c.paras.len().saturating_sub(1));
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
                        p.end = off(c.text.len());
                    }
                    c.text.push('\n');
                    c.paras.push(Para {
                        end: off(c.text.len()),
                        slot: Slot::Assistant,
                        first: INDENT,
                        rest: INDENT,
                    });
                    rest = &rest[nl + 1..];
                }
                None => {
                    c.text.push_str(rest);
                    if let Some(p) = c.paras.last_mut() {
                        p.end = off(c.text.len());
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
        m.turn_finished(TurnStats {
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
