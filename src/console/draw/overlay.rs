//! Overlays drawn over the panes: the `?` help (every command of the registry, dimmed where it
//! does not apply) and the confirm step of a dangerous action (what exactly will happen).

use super::block;
use crate::console::commands;
use crate::console::state::{App, Intent};
use crate::executor::run::GIT_CONFIG_CHANGED;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph};

fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    )
}

pub(super) fn draw_help(f: &mut Frame, app: &App, area: Rect) {
    let t = &app.theme;
    let rows = commands::help_rows(&app.context(), &app.keymap);
    let mut lines = Vec::new();
    let mut group = "";
    for (g, key, label, avail) in rows {
        if g != group {
            if !group.is_empty() {
                lines.push(Line::from(""));
            }
            lines.push(Line::from(Span::styled(g, t.title())));
            group = g;
        }
        let style = if avail { t.text() } else { t.dim() };
        lines.push(Line::from(vec![
            Span::styled(format!("  {key:<10}"), Style::new().fg(t.base.accent)),
            Span::styled(label, style),
        ]));
    }
    lines.push(Line::from(""));
    lines.push(Line::from(Span::styled(
        "rebind in ~/.config/foreman/config.toml [keymap] · any key closes",
        t.dim(),
    )));
    let r = centered(area, 64, lines.len() as u16 + 2);
    f.render_widget(Clear, r);
    f.render_widget(
        Paragraph::new(lines).block(block(" Help ".into(), true, t)),
        r,
    );
}

pub(super) fn draw_confirm(f: &mut Frame, app: &App, area: Rect, intent: &Intent) {
    let t = &app.theme;
    let extra = |k: &crate::fleet::TaskKey| {
        app.mirror
            .tasks
            .get(k)
            .map(crate::fleet::status::result_extra)
            .unwrap_or_default()
    };
    let shown = |v: Option<String>| v.unwrap_or_else(|| "?".into());
    let (title, body): (&str, Vec<String>) = match intent {
        Intent::ApprovePush(k) => (
            " Approve push ",
            vec![
                format!("task    {k}"),
                format!("remote  {}", shown(extra(k).remote)),
                format!("branch  {}", shown(extra(k).branch)),
                format!("commit  {}", shown(extra(k).commit_sha)),
            ],
        ),
        Intent::RejectPush(k) => (
            " Reject ",
            vec![
                format!("task    {k}"),
                "The commit stays in the kept workspace; nothing is pushed.".into(),
            ],
        ),
        Intent::OpenPr(k) => (
            " Open pull request ",
            vec![
                format!("task    {k}"),
                format!("head    {}", shown(extra(k).branch)),
                format!("remote  {}", shown(extra(k).remote)),
            ],
        ),
        Intent::Cancel(k) => (
            " Cancel run ",
            vec![
                format!("task    {k}"),
                "The run is stopped and marked Failed (re-queue with R).".into(),
            ],
        ),
    };
    let mut lines: Vec<Line> = body.into_iter().map(Line::from).collect();
    if let Intent::ApprovePush(k) = intent
        && let Some(note) = extra(k)
            .other
            .get(GIT_CONFIG_CHANGED)
            .and_then(|v| v.as_str())
    {
        // The model changed where git would push (sandbox off): say so before approval.
        let warn = Style::new().fg(t.status.error);
        for l in wrap_words(&crate::oai::terminal_safe(note), 72) {
            lines.push(Line::from(Span::styled(l, warn)));
        }
    }
    lines.push(Line::from(""));
    lines.push(Line::from(vec![
        Span::styled(" y ", Style::new().fg(t.selection.fg).bg(t.selection.bg)),
        Span::raw(" confirm   "),
        Span::styled(
            " any other key ",
            Style::new().fg(t.selection.fg).bg(t.selection.bg),
        ),
        Span::raw(" cancel"),
    ]));
    let w = lines.iter().map(|l| l.width() as u16).max().unwrap_or(20) + 4;
    let r = centered(area, w.max(40), lines.len() as u16 + 2);
    f.render_widget(Clear, r);
    f.render_widget(Paragraph::new(lines).block(block(title.into(), true, t)), r);
}

/// `text` in lines of at most `width` columns, broken at spaces.
fn wrap_words(text: &str, width: usize) -> Vec<String> {
    let mut lines = vec![String::new()];
    for word in text.split(' ') {
        let cur = lines.last_mut().expect("one line");
        if !cur.is_empty() && cur.chars().count() + 1 + word.chars().count() > width {
            lines.push(word.to_string());
        } else {
            if !cur.is_empty() {
                cur.push(' ');
            }
            cur.push_str(word);
        }
    }
    lines
}
