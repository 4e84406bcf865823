//! The fleet pane: one row per node (phase, accelerator, free RAM, current task, heartbeat,
//! tokens per second, recent prompt-cache hits), columns dropped by priority when narrow.

use super::{age, block, fit_columns, pick};
use crate::console::pane::Focus;
use crate::console::state::App;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::widgets::{Cell, Row, Table, TableState};

pub(super) fn draw(f: &mut Frame, app: &App, area: Rect) {
    let t = &app.theme;
    // CACHE only once a server reported its prompt cache (llama.cpp's `cache_n`).
    let cols = [
        (0, 8),
        (1, 8),
        (5, 5),
        (3, 4),
        (6, 16),
        (4, 3),
        (2, 5),
        (3, 5),
    ];
    let n = if app.live_cache.is_empty() { 7 } else { 8 };
    let (keep, widths) = fit_columns(area.width.saturating_sub(2), &cols[..n]);
    let header = Row::new(pick(
        &[
            "NODE", "PHASE", "ACC", "RAM", "TASK", "HB", "TOK/S", "CACHE",
        ],
        &keep,
    ))
    .style(Style::new().fg(t.base.header).add_modifier(Modifier::BOLD));
    let rows = app.mirror.nodes.values().map(|n| {
        let st = n.status.clone().unwrap_or_default();
        let cap = st.capability.clone().unwrap_or_default();
        let phase = st.phase.map_or("Unknown", |p| p.as_str());
        let phase_style = match phase {
            "Ready" => Style::new().fg(t.status.ok),
            "Draining" => Style::new().fg(t.status.warn),
            _ => Style::new().fg(t.status.error),
        };
        let hb = st
            .last_heartbeat_time
            .as_ref()
            .map_or("-".into(), |h| age(app.now() - h.0.as_second()));
        let tps = n
            .metadata
            .name
            .as_ref()
            .and_then(|name| app.live_tps.get(name))
            .map(|v| format!("{v:.0}"))
            .or_else(|| {
                cap.tokens_per_second
                    .filter(|v| *v > 0)
                    .map(|v| v.to_string())
            })
            .unwrap_or_else(|| "-".into());
        let cache = n
            .metadata
            .name
            .as_ref()
            .and_then(|name| app.live_cache.get(name)?.percent())
            .map_or_else(|| "-".into(), |p| format!("{p:.0}%"));
        Row::new(pick(
            &[
                Cell::from(n.metadata.name.clone().unwrap_or_default()),
                Cell::from(phase).style(phase_style),
                Cell::from(
                    cap.accelerator
                        .map_or("-".to_string(), |a| format!("{a:?}").to_lowercase()),
                ),
                Cell::from(cap.available_ram_gb.map_or("-".into(), |r| format!("{r}G"))),
                Cell::from(st.current_task.unwrap_or_else(|| "-".into())),
                Cell::from(hb),
                Cell::from(tps),
                Cell::from(cache),
            ],
            &keep,
        ))
    });
    let table = Table::new(rows, widths)
        .header(header)
        .row_highlight_style(app.theme.selected_row())
        .block(block(title(app), app.focus == Focus::Fleet, t));
    let mut state = TableState::default()
        .with_selected((app.focus == Focus::Fleet).then_some(app.selected_node));
    f.render_stateful_widget(table, area, &mut state);
}

/// " Fleet (3) · leader: NAME ": which scheduler leads stays in sight (the status line says it
/// once, when it changes).
fn title(app: &App) -> String {
    let n = app.mirror.nodes.len();
    match &app.leader {
        Some(l) => format!(" Fleet ({n}) · leader: {l} "),
        None => format!(" Fleet ({n}) "),
    }
}
