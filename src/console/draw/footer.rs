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
        Mode::Command(q) => Line::from(vec![
            Span::styled(":", t.title()),
            Span::raw(q.clone()),
            Span::styled("▏", t.dim()),
        ]),
        _ => match &app.status {
            Some((m, level, _)) => {
                let c = match level {
                    Level::Info => t.status.ok,
                    Level::Warn => t.status.warn,
                    Level::Error => t.status.error,
                };
                Line::from(Span::styled(m.clone(), Style::new().fg(c)))
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

pub(super) fn draw_footer(f: &mut Frame, app: &App, area: Rect) {
    let t = &app.theme;
    let mut spans = Vec::new();
    for (key, label) in commands::footer(&app.context(), &app.keymap) {
        spans.push(Span::styled(
            format!(" {key} "),
            Style::new().fg(t.selection.fg).bg(t.selection.bg),
        ));
        spans.push(Span::styled(format!(" {label}  "), t.dim()));
    }
    f.render_widget(Paragraph::new(Line::from(spans)), area);
}
