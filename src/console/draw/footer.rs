//! The two bottom lines: the status line (the latest message, or the `/` and `:` prompts
//! being typed), led by the sandbox notice while commands run unconfined, and the footer of
//! hints from the command registry.

use crate::console::commands;
use crate::console::state::{App, Level, Mode};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

pub(super) fn draw_status(f: &mut Frame, app: &App, area: Rect) {
    let t = &app.theme;
    let mut line = match &app.mode {
        Mode::Search(q) => Line::from(vec![
            Span::styled("/", t.title()),
            Span::raw(q.clone()),
            Span::styled("▏", t.dim()),
        ]),
        Mode::Filter(q) => Line::from(vec![
            Span::styled("filter /", t.title()),
            Span::raw(q.clone()),
            Span::styled("▏", t.dim()),
            Span::styled(
                "  name, state, node, verdict · enter keeps · esc clears",
                t.dim(),
            ),
        ]),
        Mode::Note(k, q) => Line::from(vec![
            Span::styled(format!("note to {}: ", k.name), t.title()),
            Span::raw(q.clone()),
            Span::styled("▏", t.dim()),
            Span::styled("  before its next turn · enter sends · esc drops", t.dim()),
        ]),
        Mode::Command(q) => {
            let mut spans = vec![
                Span::styled(":", t.title()),
                Span::raw(q.clone()),
                Span::styled("▏", t.dim()),
            ];
            // A tab cycle shows its candidates, the current one highlighted.
            if let Some(c) = &app.completion {
                spans.push(Span::raw("  "));
                for (i, cand) in c.candidates.iter().enumerate() {
                    let style = if i == c.index {
                        Style::new().fg(t.selection.fg).bg(t.selection.bg)
                    } else {
                        t.dim()
                    };
                    spans.push(Span::styled(cand.clone(), style));
                    spans.push(Span::raw(" "));
                }
            } else if q.is_empty() {
                spans.push(Span::styled(
                    "  submit FILE · task NAME · quit · tab completes",
                    t.dim(),
                ));
            }
            Line::from(spans)
        }
        _ => match &app.status {
            Some(s) => {
                let c = match s.level {
                    Level::Info => t.status.ok,
                    Level::Warn => t.status.warn,
                    Level::Error => t.status.error,
                };
                Line::from(Span::styled(s.text.clone(), Style::new().fg(c)))
            }
            None => Line::from(Span::styled(app.backend_label.clone(), t.dim())),
        },
    };
    if let Some(n) = &app.sandbox_notice {
        let notice = Style::new().fg(t.status.error).add_modifier(Modifier::BOLD);
        line.spans
            .insert(0, Span::styled(format!("{n} · "), notice));
    }
    f.render_widget(Paragraph::new(line), area);
}

/// The footer: the registry's quick commands that apply now, in registry order; when they do
/// not all fit the width, the last ones go first, but never `help` (the way to every key).
pub(super) fn draw_footer(f: &mut Frame, app: &App, area: Rect) {
    let t = &app.theme;
    let mut hints = commands::footer(&app.context(), &app.keymap);
    pair_attempt_keys(&mut hints);
    let width = |(k, l): &(String, &str)| k.chars().count() + l.chars().count() + 5;
    let help = commands::info(commands::Action::Help).label;
    while hints.iter().map(width).sum::<usize>() > usize::from(area.width) {
        match hints.iter().rposition(|(_, l)| *l != help) {
            Some(i) => hints.remove(i),
            None => break,
        };
    }
    let mut spans = Vec::new();
    for (key, label) in hints {
        spans.push(Span::styled(
            format!(" {key} "),
            Style::new().fg(t.selection.fg).bg(t.selection.bg),
        ));
        spans.push(Span::styled(format!(" {label}  "), t.dim()));
    }
    f.render_widget(Paragraph::new(Line::from(spans)), area);
}

/// `<` and `>` share one hint ("< >  attempt"): one idea, and the narrow footer has room for
/// one.
fn pair_attempt_keys(hints: &mut Vec<(String, &'static str)>) {
    let label = |a| commands::info(a).label;
    let (prev, next) = (
        label(commands::Action::PrevAttempt),
        label(commands::Action::NextAttempt),
    );
    if let Some(i) = hints.iter().position(|(_, l)| *l == prev)
        && hints.get(i + 1).is_some_and(|(_, l)| *l == next)
    {
        let keys = format!("{} {}", hints[i].0, hints[i + 1].0);
        hints[i] = (keys, "attempt");
        hints.remove(i + 1);
    }
}
