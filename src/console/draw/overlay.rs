//! Overlays drawn over the panes: the `?` help (every command of the registry, dimmed where it
//! does not apply) and the confirm step of a dangerous action (what exactly will happen).

use super::block;
use crate::console::commands;
use crate::console::state::{App, Intent};
use crate::executor::run::GIT_CONFIG_CHANGED;
use crate::oai::terminal_safe;
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

/// The `?` overlay: the registry's commands by group, in one column or, when one column would
/// not fit the height and two fit the width, in two; as tall as the screen allows and
/// scrolled by `app.help_scroll` (clamped here; the largest useful offset is left in
/// `app.regions` for the keys). The borders say where to rebind and how to scroll and close,
/// so those words are never cut.
pub(super) fn draw_help(f: &mut Frame, app: &mut App, area: Rect) {
    let t = app.theme.clone();
    let mut groups: Vec<Vec<Line>> = Vec::new();
    let mut group = "";
    for (g, key, label, avail) in commands::help_rows(&app.context(), &app.keymap) {
        if g != group {
            groups.push(vec![Line::from(Span::styled(g, t.title()))]);
            group = g;
        }
        let style = if avail { t.text() } else { t.dim() };
        if let Some(last) = groups.last_mut() {
            last.push(Line::from(vec![
                Span::styled(format!("  {key:<10}"), Style::new().fg(t.base.accent)),
                Span::styled(label, style),
            ]));
        }
    }
    let title = " Help · rebind keys in ~/.config/foreman/config.toml [keymap] ";
    let hint = " j/k pgup/pgdn scroll · q esc ? close ";
    let widest = groups.iter().flatten().map(Line::width).max().unwrap_or(0) as u16;
    let one: u16 = groups.iter().map(|g| g.len() as u16 + 1).sum::<u16>() - 1;
    let two_cols = one + 2 > area.height && area.width >= 2 * widest + 7;
    let columns = if two_cols {
        split_in_two(groups)
    } else {
        vec![join(groups)]
    };
    let tall = columns.iter().map(|c| c.len() as u16).max().unwrap_or(0);
    let col_w = widest + 2;
    let w = (col_w * columns.len() as u16 + 2).max(title.len() as u16 + 2);
    let r = centered(area, w, tall + 2);
    let inner_h = r.height.saturating_sub(2);
    let max_scroll = tall.saturating_sub(inner_h);
    app.regions.help_max_scroll = max_scroll;
    let scroll = app.help_scroll.min(max_scroll);
    let mut b = block(title.into(), true, &t).title_bottom(Span::styled(hint, t.dim()));
    if max_scroll > 0 {
        let at = format!(" {}-{} of {tall} ", scroll + 1, scroll + inner_h);
        b = b.title_bottom(Line::from(Span::styled(at, t.dim())).right_aligned());
    }
    let inner = b.inner(r);
    f.render_widget(Clear, r);
    f.render_widget(b, r);
    let cols = ratatui::layout::Layout::horizontal(
        columns
            .iter()
            .map(|_| ratatui::layout::Constraint::Length(col_w)),
    )
    .split(inner);
    for (c, lines) in cols.iter().zip(columns) {
        let c = Rect {
            x: c.x + 1,
            width: c.width.saturating_sub(1),
            ..*c
        };
        f.render_widget(Paragraph::new(lines).scroll((scroll, 0)), c);
    }
}

/// Groups one after the other, a blank line between two.
fn join(groups: Vec<Vec<Line<'_>>>) -> Vec<Line<'_>> {
    let mut out = Vec::new();
    for g in groups {
        if !out.is_empty() {
            out.push(Line::from(""));
        }
        out.extend(g);
    }
    out
}

/// Two columns of whole groups, the split where the taller column is shortest.
fn split_in_two(groups: Vec<Vec<Line<'_>>>) -> Vec<Vec<Line<'_>>> {
    let lens: Vec<usize> = groups.iter().map(|g| g.len() + 1).collect();
    let total: usize = lens.iter().sum();
    let at = (1..groups.len())
        .min_by_key(|&k| {
            let left: usize = lens[..k].iter().sum();
            left.max(total - left)
        })
        .unwrap_or(groups.len());
    let mut left = groups;
    let right = left.split_off(at);
    vec![join(left), join(right)]
}

/// The remote the push goes to: across a fork (#875) it is named as the fork.
fn remote_line(x: &crate::fleet::extra::ResultExtra) -> String {
    let remote = x.remote.clone().unwrap_or_else(|| "?".into());
    match x.upstream {
        Some(_) => format!("fork    {remote} (gets the push)"),
        None => format!("remote  {remote}"),
    }
}

/// Across a fork: the upstream the PR is opened on, from which head, into which base.
fn pr_on_line(x: &crate::fleet::extra::ResultExtra) -> Option<String> {
    let up = x.upstream.as_deref()?;
    let head = x.pr_head.as_deref().or(x.branch.as_deref()).unwrap_or("?");
    let base = x.base_branch.as_deref().unwrap_or("its default branch");
    // Task text (payload.repo, payload.baseBranch) that another writer may have set.
    Some(terminal_safe(&format!("PR on   {up} from {head} into {base}")).into_owned())
}

/// What an approval pushes where (and, across a fork, where its PR goes).
fn approve_body(
    app: &App,
    k: &crate::fleet::TaskKey,
    x: &crate::fleet::extra::ResultExtra,
) -> Vec<String> {
    let shown = |v: &Option<String>| v.clone().unwrap_or_else(|| "?".into());
    vec![
        format!("task    {k}"),
        remote_line(x),
        format!("branch  {}", shown(&x.branch)),
        format!("commit  {}", shown(&x.commit_sha)),
    ]
    .into_iter()
    .chain(pr_on_line(x))
    .chain(has_gate(app, k).then(|| format!("gate    {}", gate_line(app, k))))
    .collect()
}

pub(super) fn draw_confirm(f: &mut Frame, app: &App, area: Rect, intent: &Intent) {
    let t = &app.theme;
    let extra = |k: &crate::fleet::TaskKey| {
        app.mirror
            .task(k)
            .map(|t| crate::fleet::status::result_extra(&t))
            .unwrap_or_default()
    };
    let shown = |v: Option<String>| v.unwrap_or_else(|| "?".into());
    let (title, verb, body): (&str, &str, Vec<String>) = match intent {
        Intent::ApprovePush(k) => (" Approve push ", "push", approve_body(app, k, &extra(k))),
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
                format!("head    {}", shown(extra(k).pr_head.or(extra(k).branch))),
                remote_line(&extra(k)),
            ]
            .into_iter()
            .chain(pr_on_line(&extra(k)))
            .collect(),
        ),
        Intent::WithdrawDecision(k) => withdraw(app, k),
        Intent::Cancel(k) => (
            " Cancel run ",
            "stop the run",
            vec![
                format!("task    {k}"),
                "The run is stopped and marked Failed (re-queue with R).".into(),
            ],
        ),
        Intent::ApproveFailedGate(k) => (
            " The gate failed ",
            "push anyway",
            vec![
                format!("task    {k}"),
                format!("gate    {}", gate_line(app, k)),
                "This commit failed the coder gate. Push it anyway? y/N".into(),
            ],
        ),
        Intent::Quit { runs } => (" Quit ", "quit", quit_body(*runs)),
        Intent::DiscardFeedback(fb) => (" Discard feedback ", "discard", discard_body(fb)),
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
    // Exactly what the keys do (input.rs `on_confirm_key`): y and Enter confirm, the rest cancel.
    // Quitting is y/N: Enter does not quit there.
    let key = Style::new().fg(t.selection.fg).bg(t.selection.bg);
    let mut confirm = vec![Span::styled(" y ", key)];
    if !intent.y_only() {
        confirm.extend([Span::raw(" or "), Span::styled(" enter ", key)]);
    }
    lines.push(Line::from(
        [
            confirm,
            vec![
                Span::raw(format!(" {verb}   ")),
                Span::styled(" any other key ", key),
                Span::raw(" cancel"),
            ],
        ]
        .concat(),
    ));
    let w = lines.iter().map(|l| l.width() as u16).max().unwrap_or(20) + 4;
    let r = centered(area, w.max(40), lines.len() as u16 + 2);
    f.render_widget(Clear, r);
    f.render_widget(Paragraph::new(lines).block(block(title.into(), true, t)), r);
}

fn discard_body(fb: &crate::console::state::Feedback) -> Vec<String> {
    vec![
        format!("task    {}", fb.task),
        format!(
            "{} line(s) of feedback are not sent. Discard them? y/N",
            fb.text.trim_end().lines().count()
        ),
    ]
}

/// The withdrawal's dialog: the decision it takes back.
fn withdraw(app: &App, k: &crate::fleet::TaskKey) -> (&'static str, &'static str, Vec<String>) {
    let open = app
        .mirror
        .task(k)
        .and_then(|t| crate::fleet::decision::describe_open(&t));
    let body = vec![
        format!("task    {k}"),
        terminal_safe(&open.unwrap_or_else(|| "no pending decision".into())).into_owned(),
        "Its node has not taken it yet; nothing was done.".into(),
    ];
    (" Withdraw decision ", "withdraw it", body)
}

fn quit_body(runs: usize) -> Vec<String> {
    vec![
        format!(
            "{runs} run{} in progress: quit and interrupt {}? y/N",
            if runs == 1 { "" } else { "s" },
            if runs == 1 { "it" } else { "them" }
        ),
        "Interrupted runs keep their journal; re-queue them with R.".into(),
    ]
}

/// The task's recorded gate run in one line (`failed 1.2s · make test · exit 2`).
fn gate_line(app: &App, k: &crate::fleet::TaskKey) -> String {
    let Some(g) = app
        .mirror
        .task(k)
        .and_then(|t| crate::fleet::status::gate_run(&t))
    else {
        return "?".into();
    };
    match (&g.command, g.timed_out, g.exit_code) {
        (Some(c), true, _) => format!("{} · {} · timed out", g.cell(), terminal_safe(c)),
        (Some(c), false, Some(code)) => {
            format!("{} · {} · exit {code}", g.cell(), terminal_safe(c))
        }
        _ => g.cell(),
    }
}

fn has_gate(app: &App, k: &crate::fleet::TaskKey) -> bool {
    app.mirror
        .task(k)
        .and_then(|t| crate::fleet::status::gate_run(&t))
        .is_some()
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
