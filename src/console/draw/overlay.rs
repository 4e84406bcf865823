//! Overlays drawn over the panes: the `?` help (every command of the registry, dimmed where it
//! does not apply) and the confirm step of a dangerous action (what exactly will happen).

use super::block;
use crate::console::commands;
use crate::console::state::{App, Intent};
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

/// The `?` overlay: as wide as its longest line, as tall as the screen allows, scrolled by
/// `app.help_scroll` (clamped here; the largest useful offset is left in `app.regions` for
/// the keys). Its bottom border says how to scroll and close, so that hint is never cut.
pub(super) fn draw_help(f: &mut Frame, app: &mut App, area: Rect) {
    let t = app.theme.clone();
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
        "rebind keys in ~/.config/foreman/config.toml [keymap]",
        t.dim(),
    )));
    let total = lines.len() as u16;
    let hint = " j/k pgup/pgdn scroll · q esc ? close ";
    let widest = lines
        .iter()
        .map(|l| l.width())
        .max()
        .unwrap_or(0)
        .max(hint.len() + 2);
    let r = centered(area, widest as u16 + 4, total + 2);
    let inner_h = r.height.saturating_sub(2);
    let max_scroll = total.saturating_sub(inner_h);
    app.regions.help_max_scroll = max_scroll;
    let scroll = app.help_scroll.min(max_scroll);
    let title = if max_scroll > 0 {
        format!(" Help · {}-{} of {total} ", scroll + 1, scroll + inner_h)
    } else {
        " Help ".into()
    };
    let b = block(title, true, &t).title_bottom(Span::styled(hint, t.dim()));
    f.render_widget(Clear, r);
    f.render_widget(
        Paragraph::new(lines)
            .block(b.padding(ratatui::widgets::Padding::horizontal(1)))
            .scroll((scroll, 0)),
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
    let (title, verb, body): (&str, &str, Vec<String>) = match intent {
        Intent::ApprovePush(k) => (
            " Approve push ",
            "push",
            vec![
                format!("task    {k}"),
                format!("remote  {}", shown(extra(k).remote)),
                format!("branch  {}", shown(extra(k).branch)),
                format!("commit  {}", shown(extra(k).commit_sha)),
            ],
        ),
        Intent::RejectPush(k) => (
            " Reject ",
            "reject",
            vec![
                format!("task    {k}"),
                "The commit stays in the kept workspace; nothing is pushed.".into(),
            ],
        ),
        Intent::OpenPr(k) => (
            " Open pull request ",
            "open the PR",
            vec![
                format!("task    {k}"),
                format!("head    {}", shown(extra(k).branch)),
                format!("remote  {}", shown(extra(k).remote)),
            ],
        ),
        Intent::Cancel(k) => (
            " Cancel run ",
            "stop the run",
            vec![
                format!("task    {k}"),
                "The run is stopped and marked Failed (re-queue with R).".into(),
            ],
        ),
    };
    let mut lines: Vec<Line> = body.into_iter().map(Line::from).collect();
    lines.push(Line::from(""));
    // Exactly what the keys do (input.rs `on_confirm_key`): y and Enter confirm, the rest cancel.
    let key = Style::new().fg(t.selection.fg).bg(t.selection.bg);
    lines.push(Line::from(vec![
        Span::styled(" y ", key),
        Span::raw(" or "),
        Span::styled(" enter ", key),
        Span::raw(format!(" {verb}   ")),
        Span::styled(" any other key ", key),
        Span::raw(" cancel"),
    ]));
    let w = lines.iter().map(|l| l.width() as u16).max().unwrap_or(20) + 4;
    let r = centered(area, w.max(40), lines.len() as u16 + 2);
    f.render_widget(Clear, r);
    f.render_widget(Paragraph::new(lines).block(block(title.into(), true, t)), r);
}
