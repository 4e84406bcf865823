//! The transcript pane on an earlier attempt (the attempt selector, `<` / `>`): read-only, its
//! title saying which attempt of how many, its outcome line on top (how it ended, its branch,
//! commit and pull request, whether its diff is still kept), its own transcript below.

use super::block;
use super::detail::{banner, fit_title, transcript_style};
use crate::console::attempts::{Earlier, as_it_ended};
use crate::console::pane::{Focus, View};
use crate::console::state::App;
use crate::fleet::outcome::{failure, state_label};
use crate::fleet::status::result_extra;
use crate::fleet::{TaskKey, TaskState, task_state};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Color;
use ratatui::widgets::Paragraph;

/// Draws the detail pane when the selected task shows an earlier attempt's transcript; false
/// when it shows the current one or a diff (the usual pane, `detail::draw`).
pub(super) fn draw(f: &mut Frame, app: &mut App, area: Rect) -> bool {
    let (Some(key), Some((shown, total))) = (app.selected_key().cloned(), app.shown_attempt())
    else {
        return false;
    };
    let diff_shown = app.view == View::Diff && app.diff.as_ref().is_some_and(|(k, _)| *k == key);
    if shown >= total || diff_shown {
        return false;
    }
    let key = &key;
    let theme = app.theme.clone();
    let style = transcript_style(&theme);
    let outcome = outcome_line(app, key, shown);
    // Which attempt and "read-only" matter more than the namespace: the name goes short first.
    let extras = [
        format!(" · attempt {shown} of {total}"),
        " · read-only".into(),
    ];
    let width: usize = area.width.saturating_sub(2).into();
    let full = format!(" {key}{} ", extras.concat());
    let title = if full.chars().count() <= width {
        full
    } else {
        fit_title(width, [key.name.clone(), key.name.clone()], &extras, "")
    };
    let b = block(title, app.focus == Focus::Detail, &theme);
    let inner = b.inner(area);
    f.render_widget(b, area);
    let inner = banner(f, outcome, inner);
    let body = |text: String| Paragraph::new(text).style(theme.dim());
    match app.attempts.loaded.get_mut(&(key.clone(), shown)) {
        None => f.render_widget(body(format!("loading attempt {shown}…")), inner),
        Some(Earlier {
            transcript: Err(why),
            ..
        }) => f.render_widget(body(why.clone()), inner),
        Some(Earlier {
            transcript: Ok(None),
            ..
        }) => f.render_widget(
            body(format!("no transcript was recorded for attempt {shown}")),
            inner,
        ),
        Some(Earlier {
            transcript: Ok(Some(tr)),
            ..
        }) => {
            tr.prepare(inner);
            tr.render(inner, f.buffer_mut(), &style);
        }
    }
    true
}

/// "attempt 1: Rejected · branch foreman/issue-7 · commit 0123456 · diff kept (d)": how the
/// attempt ended, in the queue's words, and where its work is.
fn outcome_line(app: &App, key: &TaskKey, n: u32) -> Option<(String, Color)> {
    let theme = &app.theme;
    let e = app.attempts.loaded.get(&(key.clone(), n))?;
    let Some(status) = e.status.as_ref() else {
        let text = format!("attempt {n}: how it ended is not known here");
        return Some((text, theme.status.warn));
    };
    let t = as_it_ended(&*app.mirror.task(key)?, Some(status));
    let mut text = format!("attempt {n}: {}", state_label(&t));
    let fail = failure(&t);
    if let Some(f) = &fail {
        text.push_str(&format!(" · {}: {}", f.reason, f.message));
    }
    let x = result_extra(&t);
    if let Some(b) = x.branch {
        text.push_str(&format!(" · branch {b}"));
    }
    if let Some(c) = x.commit_sha {
        text.push_str(&format!(
            " · commit {}",
            c.chars().take(7).collect::<String>()
        ));
    }
    if let Some(u) = x.pr_url {
        text.push_str(&format!(" · PR {u}"));
    }
    let d = app.keymap.get("view_diff").map(|k| k.to_string());
    match &e.diff {
        Some(Ok(_)) => text.push_str(&format!(" · diff kept ({})", d.as_deref().unwrap_or("d"))),
        Some(Err(_)) => text.push_str(" · its workspace is gone (no diff)"),
        None => {}
    }
    let color = if fail.is_some() {
        theme.status.error
    } else if task_state(&t) == TaskState::Rejected {
        theme.status.warn
    } else {
        theme.status.ok
    };
    Some((text, color))
}
