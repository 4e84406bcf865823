//! The coder gate in the console (issue 12): the queue's GATE cell (pending / passed /
//! failed with its duration) and, under the selected task's transcript, the gate's last run
//! with the head and tail of its output when it failed.

use crate::api::AgenticTask;
use crate::api::gate::{GateRun, GateStatus};
use crate::console::state::App;
use crate::fleet::{TaskKey, TaskState, task_state};
use crate::oai::terminal_safe;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Paragraph};

/// The gate run to show for `task`: the live one while it runs, else the one in its result.
pub(super) fn gate_of(app: &App, key: &TaskKey, task: &AgenticTask) -> Option<GateRun> {
    let live = app.gates.get(key);
    if task_state(task) == TaskState::Running
        && let Some(g) = live
    {
        return Some(g.clone());
    }
    crate::fleet::status::gate_run(task).or_else(|| live.cloned())
}

/// Whether any task of the queue has a gate (configured or run): only then is the column
/// shown, so queues without gates keep their columns.
pub(super) fn any(app: &App) -> bool {
    !app.gates.is_empty() || app.mirror.gated
}

/// The queue's cell and its style.
pub(super) fn cell(app: &App, key: &TaskKey, task: &AgenticTask) -> (String, Style) {
    let t = &app.theme;
    match gate_of(app, key, task) {
        None => ("-".into(), t.dim()),
        Some(g) => {
            let color = match g.status {
                GateStatus::Pending => t.phase.running,
                GateStatus::Passed => t.verdict.go,
                GateStatus::Failed => t.verdict.no_go,
            };
            (short(&g), Style::new().fg(color))
        }
    }
}

/// The queue's narrow form: `✓ 0.9s`, `✗ 2.4s`, `pending` (the detail pane says more).
fn short(g: &GateRun) -> String {
    let secs = g.duration_ms as f64 / 1000.0;
    let d = if secs < 100.0 {
        format!("{secs:.1}s")
    } else {
        format!("{secs:.0}s")
    };
    match g.status {
        GateStatus::Pending => "pending".into(),
        GateStatus::Passed => format!("✓ {d}"),
        GateStatus::Failed => format!("✗ {d}"),
    }
}

/// Output lines the panel shows at most.
const MAX_LINES: usize = 12;

/// The selected task's gate run at the bottom of the detail pane (a failed one with the head
/// and tail of its output, up to a third of the pane); returns the area left above it.
pub(super) fn panel(f: &mut Frame, app: &App, key: &TaskKey, area: Rect) -> Rect {
    let Some(task) = app.mirror.task(key) else {
        return area;
    };
    let Some(g) = gate_of(app, key, &task) else {
        return area;
    };
    let t = &app.theme;
    let mut head = format!("gate {} · {}", g.attempt, g.cell());
    if let Some(c) = &g.command {
        let why = match (g.timed_out, g.exit_code) {
            (true, _) => "timed out".to_string(),
            (false, Some(code)) => format!("exit {code}"),
            (false, None) => "could not run".to_string(),
        };
        head.push_str(&format!(" · {} · {why}", terminal_safe(c)));
    }
    let output: Vec<String> = if g.status == GateStatus::Failed {
        terminal_safe(g.output.trim_end())
            .lines()
            .map(str::to_string)
            .collect()
    } else {
        Vec::new()
    };
    let room = (area.height / 3).saturating_sub(2) as usize;
    let shown = output.len().min(MAX_LINES).min(room);
    let omitted = output.len() > shown && shown > 0;
    // The rule above, the head line, the output shown and its omission marker.
    let height = 2 + shown as u16 + u16::from(omitted);
    if area.height < height + 3 {
        return area;
    }
    let [rest, bottom] =
        Layout::vertical([Constraint::Min(1), Constraint::Length(height)]).areas(area);
    let color = match g.status {
        GateStatus::Pending => t.phase.running,
        GateStatus::Passed => t.verdict.go,
        GateStatus::Failed => t.verdict.no_go,
    };
    let mut lines = vec![Line::styled(
        head,
        Style::new().fg(color).add_modifier(Modifier::BOLD),
    )];
    if shown > 0 {
        // The head and (longer) the tail: the command's first lines and where it failed.
        let h = shown / 3;
        let tail = shown - h;
        let mut pick: Vec<&String> = output[..h].iter().collect();
        if omitted {
            pick.push(&output[0]);
        }
        pick.extend(output[output.len() - tail..].iter());
        for (i, l) in pick.into_iter().enumerate() {
            let text = if omitted && i == h {
                format!("… {} lines …", output.len() - shown)
            } else {
                l.clone()
            };
            lines.push(Line::styled(text, t.dim()));
        }
    }
    let p =
        Paragraph::new(lines).block(Block::default().borders(Borders::TOP).border_style(t.dim()));
    f.render_widget(p, bottom);
    rest
}
