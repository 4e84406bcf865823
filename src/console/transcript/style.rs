//! The pane's styles: a plain struct the app fills from its theme.
//!
//! Defaults follow the ANSI-first palette agent TUIs converged on (codex `styles.md`): the
//! terminal's own foreground for primary text, `DIM` for meta, named colours only (cyan
//! hints, magenta for the agent, red for errors), reverse video for matches and selection.
//! No black/white/yellow foregrounds and no RGB, so light and dark terminals both read.

use super::cell::Slot;
use ratatui::style::{Color, Modifier, Style};

/// Styles of every part of the transcript pane.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TranscriptStyle {
    /// Assistant prose.
    pub assistant: Style,
    /// The `•` before an assistant reply.
    pub assistant_marker: Style,
    /// User prompts and nudges.
    pub user: Style,
    /// System prompt body.
    pub system: Style,
    /// Tool-call header (`▸ bash`).
    pub tool_call: Style,
    /// Tool-call arguments.
    pub tool_args: Style,
    /// Tool-result text.
    pub tool_result: Style,
    /// Error results and failures.
    pub error: Style,
    /// Secondary text: prefixes, keys, footers, markers, turn rules.
    pub meta: Style,
    /// Retry notices.
    pub retry: Style,
    /// Pipeline status lines.
    pub status: Style,
    /// Search matches (patched over the text style).
    pub search_match: Style,
    /// The current search match.
    pub search_current: Style,
    /// Patched over the prefix column of the selected cell.
    pub selection: Style,
    pub scrollbar_thumb: Style,
    pub scrollbar_track: Style,
    /// "↓ 12 new lines" badge and search counter.
    pub indicator: Style,
}

impl Default for TranscriptStyle {
    fn default() -> Self {
        TranscriptStyle {
            assistant: Style::new(),
            assistant_marker: Style::new().fg(Color::Magenta),
            user: Style::new().add_modifier(Modifier::BOLD),
            system: Style::new().add_modifier(Modifier::DIM),
            tool_call: Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD),
            tool_args: Style::new(),
            tool_result: Style::new(),
            error: Style::new().fg(Color::Red),
            meta: Style::new().add_modifier(Modifier::DIM),
            retry: Style::new().fg(Color::Red).add_modifier(Modifier::ITALIC),
            status: Style::new().add_modifier(Modifier::DIM | Modifier::ITALIC),
            search_match: Style::new().add_modifier(Modifier::REVERSED),
            search_current: Style::new()
                .add_modifier(Modifier::REVERSED | Modifier::BOLD | Modifier::UNDERLINED),
            selection: Style::new().add_modifier(Modifier::REVERSED),
            scrollbar_thumb: Style::new(),
            scrollbar_track: Style::new().add_modifier(Modifier::DIM),
            indicator: Style::new()
                .fg(Color::Cyan)
                .add_modifier(Modifier::REVERSED | Modifier::BOLD),
        }
    }
}

impl TranscriptStyle {
    pub(crate) fn slot(&self, s: Slot) -> Style {
        match s {
            Slot::Assistant => self.assistant,
            Slot::AssistantMarker => self.assistant_marker,
            Slot::User => self.user,
            Slot::System => self.system,
            Slot::ToolCall => self.tool_call,
            Slot::ToolArgs => self.tool_args,
            Slot::ToolResult => self.tool_result,
            Slot::Error => self.error,
            Slot::Meta | Slot::Rule => self.meta,
            Slot::Retry => self.retry,
            Slot::Status => self.status,
        }
    }
}
