//! The detail pane: the selected task's diff or transcript, or a word on why there is none
//! yet (no tasks, loading, nothing recorded, waiting for the run).

use super::block;
use crate::console::diff::DiffStyle;
use crate::console::pane::{Focus, View};
use crate::console::state::App;
use crate::console::theme::Theme;
use crate::console::transcript::TranscriptStyle;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::Line;
use ratatui::widgets::Paragraph;

fn transcript_style(t: &Theme) -> TranscriptStyle {
    TranscriptStyle {
        assistant: Style::new().fg(t.transcript.assistant),
        tool_call: Style::new()
            .fg(t.transcript.tool_call)
            .add_modifier(Modifier::BOLD),
        tool_result: Style::new().fg(t.transcript.tool_result),
        retry: Style::new().fg(t.transcript.retry),
        error: Style::new().fg(t.status.error),
        search_match: Style::new().bg(t.base.search_match).fg(t.selection.fg),
        selection: t.selection(),
        ..TranscriptStyle::default()
    }
}

pub(super) fn draw(f: &mut Frame, app: &mut App, area: Rect) {
    let focused = app.focus == Focus::Detail;
    let Some(key) = app.selected_key().cloned() else {
        let p = Paragraph::new(vec![
            Line::from("No tasks yet."),
            Line::from(""),
            Line::from("Submit one with  foreman submit task.yaml  or  :submit FILE  here."),
        ])
        .style(app.theme.dim())
        .block(block(" Transcript ".into(), focused, &app.theme));
        f.render_widget(p, area);
        return;
    };
    if app.view == View::Diff
        && let Some((dk, d)) = app.diff.as_mut()
        && *dk == key
    {
        let b = block(
            format!(" Diff · {key} · {} ", d.summary()),
            focused,
            &app.theme,
        );
        let inner = b.inner(area);
        f.render_widget(b, area);
        d.prepare(inner);
        d.render(inner, f.buffer_mut(), &DiffStyle::from_theme(&app.theme));
        return;
    }
    let turn = app
        .turns
        .get(&key)
        .map(|(n, m)| format!(" · turn {n}/{m}"))
        .unwrap_or_default();
    let style = transcript_style(&app.theme);
    let theme = app.theme.clone();
    let Some(tr) = app.transcripts.get_mut(&key) else {
        let msg = if app.loading.contains(&key) {
            "loading transcript…"
        } else if app.mirror.tasks.get(&key).is_some_and(|t| {
            t.status
                .as_ref()
                .and_then(|s| s.phase)
                .is_some_and(|p| p.is_terminal())
        }) {
            "no transcript was recorded for this task"
        } else {
            "waiting for the run to start…"
        };
        let p = Paragraph::new(msg).style(theme.dim()).block(block(
            format!(" {key} "),
            focused,
            &theme,
        ));
        f.render_widget(p, area);
        return;
    };
    let fill = tr
        .context_fill()
        .map(|c| format!(" · ctx {:.0}%", c.percent()))
        .unwrap_or_default();
    let follow = if tr.is_following() {
        ""
    } else {
        " · paused (f: follow)"
    };
    let b = block(format!(" {key}{turn}{fill}{follow} "), focused, &theme);
    let inner = b.inner(area);
    f.render_widget(b, area);
    tr.prepare(inner);
    tr.render(inner, f.buffer_mut(), &style);
}
