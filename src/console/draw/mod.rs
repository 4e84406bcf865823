//! Drawing: fleet table, task queue, the selected task's live transcript or diff, the status
//! line and the footer of hints, plus the help and confirm overlays, one file per pane.
//! Reads [`App`]; the only writes are the panes' layout caches (`prepare`) and the hit-test
//! regions.

mod attempt;
mod detail;
mod feedback;
mod fleet;
mod footer;
mod gate;
mod overlay;
mod queue;
mod workloads;

use super::state::{App, Mode};
use crate::console::theme::Theme;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout};
use ratatui::text::Span;
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};

/// Smallest area the full layout is drawn in; below it a one-line notice is shown.
const MIN_W: u16 = 40;
const MIN_H: u16 = 10;

pub fn draw(f: &mut Frame, app: &mut App) {
    let area = f.area();
    if area.width < MIN_W || area.height < MIN_H {
        let msg = Paragraph::new(format!(
            "terminal too small ({}x{}); need {MIN_W}x{MIN_H}",
            area.width, area.height
        ))
        .wrap(Wrap { trim: true });
        f.render_widget(msg, area);
        return;
    }
    let [main, status, footer] = Layout::vertical([
        Constraint::Min(3),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(area);
    let left_w = (main.width * 9 / 20).clamp(36, 90);
    let [left, detail] =
        Layout::horizontal([Constraint::Length(left_w), Constraint::Min(10)]).areas(main);
    let fleet_h = (app.mirror.nodes.len() as u16 + 3).min((left.height / 3).max(3));
    let [fleet, queue] =
        Layout::vertical([Constraint::Length(fleet_h), Constraint::Min(3)]).areas(left);
    app.regions.fleet = fleet;
    app.regions.queue = queue;
    app.regions.detail = detail;

    fleet::draw(f, app, fleet);
    queue::draw(f, app, queue);
    if !attempt::draw(f, app, detail) {
        detail::draw(f, app, detail);
    }
    footer::draw_status(f, app, status);
    footer::draw_footer(f, app, footer);
    if let Some(p) = &app.picker {
        p.draw(f, main, &app.theme, app.tick);
    }
    if app.workloads_pane.is_some() {
        workloads::draw(f, app, main);
    }
    match app.mode.clone() {
        Mode::Help => overlay::draw_help(f, app, area),
        Mode::Confirm(intent) => overlay::draw_confirm(f, app, area, &intent),
        Mode::Feedback(fb) => feedback::draw_feedback(f, app, area, &fb),
        _ => {}
    }
}

/// Picks columns by priority until the width is used: `(priority, width)` per column, the
/// first column flexible. Returns the indexes kept, in display order, and their constraints.
fn fit_columns(inner: u16, cols: &[(u8, u16)]) -> (Vec<usize>, Vec<Constraint>) {
    let mut order: Vec<usize> = (0..cols.len()).collect();
    order.sort_by_key(|&i| cols[i].0);
    let mut used = 0u16;
    let mut keep = Vec::new();
    for i in order {
        let w = cols[i].1 + 1;
        if used + w <= inner || keep.is_empty() {
            used += w;
            keep.push(i);
        }
    }
    keep.sort();
    let cons = keep
        .iter()
        .map(|&i| {
            if i == 0 {
                Constraint::Min(cols[i].1)
            } else {
                Constraint::Length(cols[i].1)
            }
        })
        .collect();
    (keep, cons)
}

fn pick<T: Clone>(all: &[T], keep: &[usize]) -> Vec<T> {
    keep.iter().map(|&i| all[i].clone()).collect()
}

fn block<'a>(title: String, focused: bool, theme: &Theme) -> Block<'a> {
    Block::default()
        .borders(Borders::ALL)
        .border_style(theme.border(focused))
        .title(Span::styled(title, theme.title()))
}

fn age(secs: i64) -> String {
    match secs {
        s if s < 0 => "-".into(),
        s if s < 60 => format!("{s}s"),
        s if s < 3600 => format!("{}m", s / 60),
        s if s < 86400 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86400),
    }
}
