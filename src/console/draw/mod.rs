//! Drawing: fleet table, task queue, the selected task's live transcript or diff, the status
//! line and the footer of hints, plus the help and confirm overlays. Reads [`App`]; the only
//! writes are the panes' layout caches (`prepare`) and the hit-test regions.

use super::commands;
use super::pane::{Focus, View};
use super::state::{App, Intent, Level, Mode};
use crate::console::diff::DiffStyle;
use crate::console::theme::Theme;
use crate::console::transcript::TranscriptStyle;
use crate::fleet::TaskState;
use crate::fleet::task_state;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Clear, Paragraph, Row, Table, TableState, Wrap};

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

    draw_fleet(f, app, fleet);
    draw_queue(f, app, queue);
    draw_detail(f, app, detail);
    draw_status(f, app, status);
    draw_footer(f, app, footer);
    match app.mode.clone() {
        Mode::Help => draw_help(f, app, area),
        Mode::Confirm(intent) => draw_confirm(f, app, area, &intent),
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

fn draw_fleet(f: &mut Frame, app: &App, area: Rect) {
    let t = &app.theme;
    let (keep, widths) = fit_columns(
        area.width.saturating_sub(2),
        &[(0, 8), (1, 8), (5, 5), (3, 4), (6, 16), (4, 3), (2, 5)],
    );
    let header = Row::new(pick(
        &["NODE", "PHASE", "ACC", "RAM", "TASK", "HB", "TOK/S"],
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
            ],
            &keep,
        ))
    });
    let table = Table::new(rows, widths)
        .header(header)
        .row_highlight_style(app.theme.selection())
        .block(block(
            format!(" Fleet ({}) ", app.mirror.nodes.len()),
            app.focus == Focus::Fleet,
            t,
        ));
    let mut state = TableState::default()
        .with_selected((app.focus == Focus::Fleet).then_some(app.selected_node));
    f.render_stateful_widget(table, area, &mut state);
}

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

pub fn state_label(s: TaskState) -> &'static str {
    match s {
        TaskState::Pending => "Pending",
        TaskState::Waiting => "Waiting",
        TaskState::Scheduled => "Scheduled",
        TaskState::Running => "Running",
        TaskState::AwaitingApproval => "Awaiting approval",
        TaskState::Pushed => "Pushed",
        TaskState::PrOpen => "PR open",
        TaskState::Rejected => "Rejected",
        TaskState::Succeeded => "Succeeded",
        TaskState::Failed => "Failed",
        TaskState::Interrupted => "Interrupted",
    }
}

fn draw_queue(f: &mut Frame, app: &App, area: Rect) {
    let t = &app.theme;
    let (keep, widths) = fit_columns(
        area.width.saturating_sub(2),
        &[(0, 12), (1, 17), (5, 9), (6, 8), (2, 7), (4, 4), (3, 5)],
    );
    let header = Row::new(pick(
        &["TASK", "STATE", "KIND", "NODE", "VERDICT", "AGE", "TURN"],
        &keep,
    ))
    .style(Style::new().fg(t.base.header).add_modifier(Modifier::BOLD));
    // Only the visible window of rows is built: the queue may hold thousands of tasks.
    let visible = area.height.saturating_sub(3).max(1) as usize;
    let first = super::pane::queue_first_row(app.selected, area.height);
    let rows = app
        .mirror
        .order
        .iter()
        .skip(first)
        .take(visible)
        .filter_map(|k| {
            let task = app.mirror.tasks.get(k)?;
            let st = task_state(task);
            let status = task.status.clone().unwrap_or_default();
            let verdict = status.verdict.map_or("", |v| v.as_str());
            let vstyle = match verdict {
                "GO" | "GATE-PASS" => Style::new().fg(t.verdict.go),
                "NO-GO" | "GATE-FAIL" => Style::new().fg(t.verdict.no_go),
                _ => Style::new().fg(t.verdict.incomplete),
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
            let jobs = if app.jobs.iter().any(|(jk, _)| jk == k) {
                " …"
            } else {
                ""
            };
            Some(Row::new(pick(
                &[
                    Cell::from(k.name.clone()),
                    Cell::from(format!("{}{jobs}", state_label(st))).style(state_style(t, st)),
                    Cell::from(task.spec.kind.as_str()),
                    Cell::from(status.assigned_node.unwrap_or_else(|| "-".into())),
                    Cell::from(verdict).style(vstyle),
                    Cell::from(age(created)),
                    Cell::from(turn),
                ],
                &keep,
            )))
        });
    let waiting = app
        .mirror
        .tasks
        .values()
        .filter(|t| task_state(t) == TaskState::AwaitingApproval)
        .count();
    let title = if waiting > 0 {
        format!(
            " Queue ({}) · {waiting} awaiting approval ",
            app.mirror.order.len()
        )
    } else {
        format!(" Queue ({}) ", app.mirror.order.len())
    };
    let table = Table::new(rows, widths)
        .header(header)
        .row_highlight_style(app.theme.selection())
        .block(block(title, app.focus == Focus::Queue, t));
    let mut state = TableState::default()
        .with_selected((!app.mirror.order.is_empty()).then_some(app.selected - first));
    f.render_stateful_widget(table, area, &mut state);
}

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

fn draw_detail(f: &mut Frame, app: &mut App, area: Rect) {
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

fn draw_status(f: &mut Frame, app: &App, area: Rect) {
    let t = &app.theme;
    let line = match &app.mode {
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
    f.render_widget(Paragraph::new(line), area);
}

fn draw_footer(f: &mut Frame, app: &App, area: Rect) {
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

fn draw_help(f: &mut Frame, app: &App, area: Rect) {
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

fn draw_confirm(f: &mut Frame, app: &App, area: Rect, intent: &Intent) {
    let t = &app.theme;
    let extra = |k: &crate::fleet::TaskKey, field: &str| -> String {
        app.mirror
            .tasks
            .get(k)
            .and_then(|task| {
                task.status
                    .as_ref()?
                    .result
                    .as_ref()?
                    .get("extra")?
                    .get(field)?
                    .as_str()
                    .map(str::to_string)
            })
            .unwrap_or_else(|| "?".into())
    };
    let (title, body): (&str, Vec<String>) = match intent {
        Intent::ApprovePush(k) => (
            " Approve push ",
            vec![
                format!("task    {k}"),
                format!("remote  {}", extra(k, "remote")),
                format!("branch  {}", extra(k, "branch")),
                format!("commit  {}", extra(k, "commitSHA")),
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
                format!("head    {}", extra(k, "branch")),
                format!("remote  {}", extra(k, "remote")),
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
