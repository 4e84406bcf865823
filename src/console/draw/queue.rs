//! The queue pane: the tasks in queue order, only the visible window of rows built (the queue
//! may hold thousands), with the count awaiting approval in the title.

use super::{age, block, fit_columns, pick};
use crate::api::AgenticTask;
use crate::console::pane::{Focus, queue_first_row};
use crate::console::state::App;
use crate::console::theme::Theme;
use crate::fleet::outcome::{failure, state_label};
use crate::fleet::task_state;
use crate::fleet::{TaskKey, TaskState};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::widgets::{Cell, Row, Table, TableState};

fn state_style(t: &Theme, s: TaskState) -> Style {
    let c = match s {
        TaskState::Pending | TaskState::Waiting => t.phase.pending,
        TaskState::Scheduled => t.phase.scheduled,
        TaskState::Running => t.phase.running,
        TaskState::AwaitingApproval => t.phase.awaiting_approval,
        TaskState::Pushed | TaskState::PrOpen | TaskState::Succeeded => t.phase.succeeded,
        TaskState::Rejected | TaskState::Failed | TaskState::Interrupted => t.phase.failed,
    };
    let s2 = Style::new().fg(c);
    if s == TaskState::AwaitingApproval {
        s2.add_modifier(Modifier::BOLD)
    } else {
        s2
    }
}

pub(super) fn draw(f: &mut Frame, app: &App, area: Rect) {
    let t = &app.theme;
    // Narrow (an 80-column screen): a shorter TASK, "Awaiting" for "Awaiting approval" and a
    // shorter VERDICT, so TASK, STATE and VERDICT (the reason of a failure) all stay.
    let inner = area.width.saturating_sub(2);
    let narrow = inner < 48;
    // The GATE column only when some task has a coder gate (queues without keep theirs).
    let gated = super::gate::any(app);
    let cols: &[(u8, u16)] = match (narrow, gated) {
        (true, false) => &[(0, 10), (1, 11), (5, 9), (6, 8), (2, 10), (4, 4), (3, 5)],
        (false, false) => &[(0, 12), (1, 17), (5, 9), (6, 8), (2, 11), (4, 4), (3, 5)],
        // Narrow, a failed gate matters more than the verdict (GO on an awaiting task).
        (true, true) => &[
            (0, 10),
            (1, 11),
            (6, 9),
            (7, 8),
            (3, 10),
            (2, 7),
            (5, 4),
            (4, 5),
        ],
        (false, true) => &[
            (0, 12),
            (1, 17),
            (6, 9),
            (7, 8),
            (2, 11),
            (3, 7),
            (5, 4),
            (4, 5),
        ],
    };
    let (keep, widths) = fit_columns(inner, cols);
    let sort = app.sort;
    let heads = headers(app, gated);
    let header = Row::new(pick(&heads, &keep))
        .style(Style::new().fg(t.base.header).add_modifier(Modifier::BOLD));
    // Only the visible window of rows is built: the queue may hold thousands of tasks.
    let visible = area.height.saturating_sub(3).max(1) as usize;
    let first = queue_first_row(app.selected, area.height);
    let rows = app
        .mirror
        .order
        .iter()
        .skip(first)
        .take(visible)
        .filter_map(|k| {
            let task = app.mirror.task(k)?;
            Some(Row::new(pick(&cells(app, k, &task, narrow, gated), &keep)))
        });
    let waiting = app.mirror.awaiting;
    let count = if app.filter.is_empty() {
        format!("{}", app.mirror.order.len())
    } else {
        format!(
            "{} of {} · /{}",
            app.mirror.order.len(),
            app.mirror.tasks.len(),
            app.filter
        )
    };
    // A sort by a column the table does not show (priority, or one cut at this width) is
    // named in the title.
    let shown = sort
        .column
        .header()
        .is_some_and(|h| keep.iter().any(|&i| heads[i].starts_with(h)));
    let count = if sort.is_default() || shown {
        count
    } else {
        format!("{count} · by {} {}", sort.column.label(), sort.arrow())
    };
    let title = if waiting > 0 {
        format!(" Queue ({count}) · {waiting} awaiting approval ")
    } else {
        format!(" Queue ({count}) ")
    };
    let table = Table::new(rows, widths)
        .header(header)
        .row_highlight_style(app.theme.selected_row())
        .block(block(title, app.focus == Focus::Queue, t));
    let mut state = TableState::default()
        .with_selected((!app.mirror.order.is_empty()).then_some(app.selected - first));
    f.render_stateful_widget(table, area, &mut state);
}

/// Every column's cell of one task's row, in header order.
fn cells<'a>(
    app: &App,
    k: &TaskKey,
    task: &AgenticTask,
    narrow: bool,
    gated: bool,
) -> Vec<Cell<'a>> {
    let t = &app.theme;
    let st = task_state(task);
    let status = task.status.clone().unwrap_or_default();
    let failed = failure(task);
    // A failure shows its reason in the verdict cell (unless the state says it
    // already), in the error colour.
    let (verdict, vstyle) = match (&failed, status.verdict.map(|v| v.as_str())) {
        (Some(f), v) if f.reason == state_label(task) => {
            (v.unwrap_or("").into(), Style::new().fg(t.status.error))
        }
        (Some(f), _) => (f.reason.clone(), Style::new().fg(t.status.error)),
        (None, Some(v @ ("GO" | "GATE-PASS"))) => (v.into(), Style::new().fg(t.verdict.go)),
        (None, Some(v @ ("NO-GO" | "GATE-FAIL"))) => (v.into(), Style::new().fg(t.verdict.no_go)),
        (None, v) => (
            v.unwrap_or("").into(),
            Style::new().fg(t.verdict.incomplete),
        ),
    };
    let sstyle = if failed.is_some() {
        Style::new().fg(t.phase.failed)
    } else {
        state_style(t, st)
    };
    let created = task
        .metadata
        .creation_timestamp
        .as_ref()
        .map_or(-1, |c| app.now() - c.0.as_second());
    let turn = app
        .turns
        .get(k)
        .map(|(n, m)| {
            if *m > 0 {
                format!("{n}/{m}")
            } else {
                n.to_string()
            }
        })
        .or_else(|| {
            status
                .result
                .as_ref()
                .and_then(|r| r["extra"]["turnCount"].as_u64())
                .map(|n| n.to_string())
        })
        .unwrap_or_else(|| "-".into());
    let label = match state_label(task) {
        "Awaiting approval" if narrow => "Awaiting",
        l => l,
    };
    let jobs = if app.jobs.iter().any(|(jk, _)| jk == k) {
        " …"
    } else {
        ""
    };
    let mut row = vec![
        Cell::from(k.name.clone()),
        Cell::from(format!("{}{jobs}", label)).style(sstyle),
        Cell::from(task.spec.kind.as_str()),
        Cell::from(status.assigned_node.unwrap_or_else(|| "-".into())),
        Cell::from(verdict).style(vstyle),
        Cell::from(age(created)),
        Cell::from(turn),
    ];
    if gated {
        let (text, style) = super::gate::cell(app, k, task);
        row.insert(5, Cell::from(text).style(style));
    }
    row
}

/// The column headers, the sorted one marked with its direction's arrow (the default order
/// is unmarked); GATE only in a gated queue.
fn headers(app: &App, gated: bool) -> Vec<String> {
    let names: &[&str] = if gated {
        &[
            "TASK", "STATE", "KIND", "NODE", "VERDICT", "GATE", "AGE", "TURN",
        ]
    } else {
        &["TASK", "STATE", "KIND", "NODE", "VERDICT", "AGE", "TURN"]
    };
    // The sorted column carries the direction's arrow (the default order is unmarked).
    let sort = app.sort;
    names
        .iter()
        .map(|&h| {
            if !sort.is_default() && sort.column.header() == Some(h) {
                format!("{h}{}", sort.arrow())
            } else {
                h.to_string()
            }
        })
        .collect()
}
