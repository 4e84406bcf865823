//! The detail pane: the selected task's diff or transcript, or a word on why there is none
//! yet (no tasks, loading, nothing recorded, waiting for the run).

use super::block;
use crate::console::diff::DiffStyle;
use crate::console::pane::{Focus, View};
use crate::console::state::App;
use crate::console::theme::Theme;
use crate::console::transcript::TranscriptStyle;
use crate::fleet::outcome::failure;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::Line;
use ratatui::widgets::{Paragraph, Wrap};

pub(super) fn transcript_style(t: &Theme) -> TranscriptStyle {
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
        let of = match (&app.attempts.diff_of, app.diff_scopes.label(&key)) {
            (Some((k, n)), _) if *k == key => format!(" · attempt {n}"),
            (_, Some(scope)) => format!(" · {scope}"),
            _ => String::new(),
        };
        let b = block(
            format!(" Diff · {key}{of} · {} ", d.summary()),
            focused,
            &app.theme,
        );
        let inner = b.inner(area);
        f.render_widget(b, area);
        d.prepare(inner);
        d.render(inner, f.buffer_mut(), &DiffStyle::from_theme(&app.theme));
        return;
    }
    let attempt = match app.shown_attempt() {
        Some((n, total)) if total > 1 => format!(" · attempt {n} of {total}"),
        _ => String::new(),
    };
    let turn = app
        .turns
        .get(&key)
        .map(|(n, m)| format!(" · turn {n}/{m}"))
        .unwrap_or_default();
    let style = transcript_style(&app.theme);
    let theme = app.theme.clone();
    let (waiting, failed) = (waiting_text(app, &key), note(app));
    let Some(tr) = app.transcripts.get_mut(&key) else {
        let msg = if app.loading.contains(&key) {
            "loading transcript…"
        } else if app.mirror.task(&key).is_some_and(|t| {
            t.status
                .as_ref()
                .and_then(|s| s.phase)
                .is_some_and(|p| p.is_terminal())
        }) {
            "no transcript was recorded for this task"
        } else {
            "waiting for the run to start…"
        };
        let b = block(format!(" {key}{attempt} "), focused, &theme);
        let inner = b.inner(area);
        f.render_widget(b, area);
        let rest = banner(f, failed, inner);
        let rest = super::gate::panel(f, app, &key, rest);
        f.render_widget(Paragraph::new(msg).style(theme.dim()), rest);
        return;
    };
    let fill = tr
        .context_fill()
        .map(|c| format!(" · ctx {:.0}%", c.percent()))
        .unwrap_or_default();
    let follow = if tr.is_following() {
        String::new()
    } else {
        let k = app.keymap.get("toggle_follow").map(|k| k.to_string());
        format!(" · paused ({}: follow)", k.as_deref().unwrap_or(":follow"))
    };
    let title = fit_title(
        area.width.saturating_sub(2).into(),
        [key.to_string(), key.name.clone()],
        &[attempt, turn, fill],
        &follow,
    );
    let b = block(title, focused, &theme);
    let inner = b.inner(area);
    f.render_widget(b, area);
    let inner = banner(f, failed, inner);
    let inner = super::gate::panel(f, app, &key, inner);
    let inner = waiting_line(f, waiting, inner);
    app.regions.transcript = inner;
    let Some(tr) = app.transcripts.get_mut(&key) else {
        return;
    };
    tr.prepare(inner);
    tr.render(inner, f.buffer_mut(), &style);
}

/// The transcript's title in `width` columns: the follow hint always (it says how to get
/// the live tail back), then as many extras as fit (dropped from the end), with the task's
/// full key or, when even that is too long, its name.
pub(super) fn fit_title(
    width: usize,
    names: [String; 2],
    extras: &[String],
    follow: &str,
) -> String {
    let len = |s: &str| s.chars().count();
    for name in &names {
        for n in (0..=extras.len()).rev() {
            let t = format!(" {name}{}{follow} ", extras[..n].concat());
            if len(&t) <= width {
                return t;
            }
        }
    }
    format!(" {}{follow} ", names[1])
}

/// The spinner's frames, one per tick.
const SPINNER: [&str; 10] = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];

/// While a turn has had no token yet (the server is reading the prompt), a live line at the
/// bottom of the pane says so and for how long; returns the area left above it.
fn waiting_line(f: &mut Frame, waiting: Option<(String, Style)>, area: Rect) -> Rect {
    let Some((text, style)) = waiting else {
        return area;
    };
    if area.height < 3 {
        return area;
    }
    let [rest, line] = Layout::vertical([Constraint::Min(1), Constraint::Length(1)]).areas(area);
    f.render_widget(Paragraph::new(text).style(style), line);
    rest
}

/// Rows `text` takes when word-wrapped to `width` columns (as `Wrap` does, near enough).
fn wrapped_rows(text: &str, width: u16) -> u16 {
    use unicode_width::UnicodeWidthStr;
    let width = usize::from(width.max(1));
    let (mut rows, mut col) = (1u16, 0usize);
    for word in text.split_whitespace() {
        let w = word.width();
        let need = if col == 0 { w } else { col + 1 + w };
        if need <= width {
            col = need;
        } else {
            rows = rows.saturating_add(1 + (w / width) as u16);
            col = w % width;
        }
    }
    rows
}

/// A failed run's reason or the pull request at the top of the pane (up to four rows and a blank one), so the
/// transcript below is read knowing how it ended; returns the area left below it.
pub(super) fn banner(f: &mut Frame, failed: Option<(String, Color)>, area: Rect) -> Rect {
    let Some((text, color)) = failed else {
        return area;
    };
    let rows = wrapped_rows(&text, area.width).clamp(1, 4);
    let p = Paragraph::new(text)
        .style(Style::new().fg(color))
        .wrap(Wrap { trim: true });
    if area.height < rows + 3 {
        return area;
    }
    let [top, _, rest] = Layout::vertical([
        Constraint::Length(rows),
        Constraint::Length(1),
        Constraint::Min(1),
    ])
    .areas(area);
    f.render_widget(p, top);
    rest
}

/// The live "waiting for the model" line of `key`'s turn, if it has had no token yet.
fn waiting_text(app: &App, key: &crate::fleet::TaskKey) -> Option<(String, Style)> {
    app.waiting.get(key).map(|since| {
        let frame = SPINNER[(app.tick % SPINNER.len() as u64) as usize];
        let secs = (app.now() - since).max(0);
        let bar = app
            .prompt_progress
            .get(key)
            .map_or_else(String::new, |&(done, total)| progress_bar(done, total));
        (
            format!("{frame} waiting for the model · {secs} s{bar}"),
            Style::new().fg(app.theme.base.accent),
        )
    })
}

/// Atop the transcript: how a failed run ended, or where its pull request is.
fn note(app: &App) -> Option<(String, Color)> {
    let theme = &app.theme;
    let key_of = |a: &str| {
        app.keymap
            .get(a)
            .map_or_else(|| format!(":{a}"), |k| k.to_string())
    };
    app.selected_task()
        .and_then(|t| failure(&t))
        .map(|f| (format!("✗ {}: {}", f.reason, f.message), theme.status.error))
        .or_else(|| crate::console::decision::note(app))
        .or_else(|| {
            let url = app.selected_pr_url()?;
            let (o, y) = (key_of("open_pr_url"), key_of("copy_pr_url"));
            Some((
                format!("pull request {url} ({o} opens, {y} copies)"),
                theme.status.ok,
            ))
        })
}

/// " · prompt ▰▰▰▱▱▱▱▱▱▱ 30% (291/970)": ten cells, rounded down so full means done.
fn progress_bar(done: u64, total: u64) -> String {
    let total = total.max(1);
    let done = done.min(total);
    let cells = (done * 10 / total) as usize;
    format!(
        " · prompt {}{} {}% ({done}/{total})",
        "▰".repeat(cells),
        "▱".repeat(10 - cells),
        done * 100 / total
    )
}
