//! The Workloads pane, drawn over the panes like the issue picker: a row per Workload (name,
//! mode, stages, its tasks per phase, the rollup) and the selected one's intent and newest
//! condition below. Manifest text is the author's: it goes through `terminal_safe`.

use super::{fit_columns, pick};
use crate::console::state::App;
use crate::oai::terminal_safe;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Clear, Paragraph, Row, Table, TableState, Wrap};

fn one_line(s: &str) -> String {
    terminal_safe(s).replace(['\n', '\t'], " ")
}

pub(super) fn draw(f: &mut Frame, app: &App, area: Rect) {
    let t = &app.theme;
    let rows = app.workload_rows();
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(t.border(true))
        .title(Span::styled(
            format!(" Workloads ({}) ", rows.len()),
            t.title(),
        ));
    let inner = block.inner(area);
    f.render_widget(Clear, area);
    f.render_widget(block, area);
    let [list, about] = Layout::vertical([Constraint::Min(2), Constraint::Length(3)]).areas(inner);
    let (keep, widths) = fit_columns(
        list.width,
        &[
            (0, 12),
            (2, 8),
            (3, 6),
            (4, 4),
            (4, 4),
            (1, 4),
            (1, 4),
            (1, 4),
            (0, 10),
        ],
    );
    let header = Row::new(pick(
        &[
            "WORKLOAD", "MODE", "STAGES", "PEND", "RUN", "OK", "FAIL", "INC", "ROLLUP",
        ],
        &keep,
    ))
    .style(Style::new().fg(t.base.header).add_modifier(Modifier::BOLD));
    let body = rows.iter().map(|r| {
        let style = match r.rollup.as_str() {
            "Completed" => Style::new().fg(t.status.ok),
            "Failed" => Style::new().fg(t.status.error),
            _ => Style::new().fg(t.status.warn),
        };
        let stages = r.stages.map_or("-".into(), |s| s.to_string());
        Row::new(pick(
            &[
                Cell::from(one_line(&r.name)),
                Cell::from(r.mode.as_str()),
                Cell::from(stages),
                Cell::from(r.pending.to_string()),
                Cell::from(r.running.to_string()),
                Cell::from(r.counts.succeeded.to_string()),
                Cell::from(r.counts.failed.to_string()),
                Cell::from(r.counts.incomplete.to_string()),
                Cell::from(r.rollup.clone()).style(style),
            ],
            &keep,
        ))
    });
    let table = Table::new(body, widths)
        .header(header)
        .row_highlight_style(t.selected_row());
    let mut state = TableState::default().with_selected(app.workloads_pane);
    f.render_stateful_widget(table, list, &mut state);
    let sel = app.workloads_pane.and_then(|i| rows.get(i));
    let lines = match sel {
        Some(r) => vec![
            Line::from(Span::styled(one_line(&r.intent), t.text())),
            Line::from(Span::styled(one_line(&r.note), t.dim())),
        ],
        None => vec![Line::from(Span::styled("no workloads", t.dim()))],
    };
    f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: true }), about);
}
