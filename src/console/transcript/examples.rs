//! The Agent's worked examples (few-shot turns the loop opens with, tool-call ids
//! `example_N`, see `agent::prompt::opening`) drawn as one collapsed, labelled block, so they
//! are not mistaken for what the model did in this run.

use super::cell::{Cell, CellKind, INDENT, Slot, pre};
use super::model::Model;
use crate::oai::{Message, Role};

/// Tool-call id prefix of the opening's worked examples.
const EXAMPLE_ID: &str = "example_";

/// A message of the worked examples: an example's tool call or its result.
fn is_example(m: &Message) -> bool {
    match m.role {
        Role::Assistant => {
            let calls = m.tool_calls();
            !calls.is_empty() && calls.iter().all(|c| c.id.starts_with(EXAMPLE_ID))
        }
        Role::Tool => m
            .tool_call_id
            .as_deref()
            .is_some_and(|id| id.starts_with(EXAMPLE_ID)),
        _ => false,
    }
}

impl Model {
    /// Appends a message: a worked example into the examples block, anything else as its
    /// own cells.
    pub fn push_message(&mut self, m: &Message) {
        if !is_example(m) {
            return self.push_message_cells(m);
        }
        let before = self.cells.len();
        let is_call = m.role == Role::Assistant;
        self.push_message_cells(m);
        let drawn: Vec<Cell> = self.cells.drain(before..).collect();
        for c in drawn {
            self.absorb_example(c, is_call);
        }
    }

    /// Moves `cell` (an example message drawn as a cell) into the examples block, opening
    /// the block at the first one; an example's call also takes the user message just
    /// before it (the example's question).
    fn absorb_example(&mut self, cell: Cell, is_call: bool) {
        let question = (is_call
            && matches!(self.cells.last().map(|c| &c.kind), Some(CellKind::User)))
        .then(|| self.cells.pop())
        .flatten();
        let at = self
            .cells
            .iter()
            .position(|c| matches!(c.kind, CellKind::Examples { .. }))
            .unwrap_or(self.cells.len());
        let (turns, mut body) = match self.cells.get(at) {
            Some(b) => match b.kind {
                CellKind::Examples { turns } => (turns, b.clone()),
                _ => (0, Cell::new(CellKind::Examples { turns: 0 })),
            },
            None => (0, Cell::new(CellKind::Examples { turns: 0 })),
        };
        if body.paras.is_empty() {
            body.line("", Slot::Meta, INDENT, INDENT);
        }
        for c in question.iter().chain(std::iter::once(&cell)) {
            for (i, p) in c.paras.iter().enumerate() {
                let (start, end) = c.para_range(i);
                body.line(&c.text[start..end], p.slot, p.first, p.rest);
            }
        }
        let turns = turns + u32::from(is_call);
        let mut b = Cell::new(CellKind::Examples { turns });
        b.line(
            &format!(
                "worked examples ({turns} {}) · from the Agent, not this run · e expands",
                if turns == 1 { "turn" } else { "turns" }
            ),
            Slot::Meta,
            pre("▸ ", Slot::Meta),
            INDENT,
        );
        for (i, p) in body.paras.iter().enumerate().skip(1) {
            let (start, end) = body.para_range(i);
            b.line(&body.text[start..end], p.slot, p.first, p.rest);
        }
        b.header_paras = 1;
        b.collapse = Some(0);
        b.expanded = self.default_expanded;
        if at < self.cells.len() {
            self.cells[at] = b;
            self.restyle(at);
        } else {
            self.push(b);
        }
    }
}
