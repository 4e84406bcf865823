//! The picker drawn over the panes (the status line and the footer of its keys stay below):
//! a line of what is listed, the issues and a preview of the selected one (side by side on a
//! wide screen, stacked on a narrow one), and the prompt or the last refusal. Issue text is
//! the issue author's, untrusted: every string goes through `terminal_safe` first.

use super::state::{Picker, PromptKind};
use crate::console::theme::Theme;
use crate::github::Issue;
use crate::oai::terminal_safe;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};

const SPINNER: [&str; 10] = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];
/// From this inner width on, the preview stands beside the list.
const SIDE_BY_SIDE: u16 = 100;

/// Untrusted text made safe for the terminal, tabs as spaces.
fn clean(s: &str) -> String {
    terminal_safe(s).replace('\t', "    ")
}

/// [`clean`] on one line.
fn one_line(s: &str) -> String {
    clean(s).replace('\n', " ")
}

impl Picker {
    pub fn draw(&self, f: &mut Frame, area: Rect, t: &Theme, tick: u64) {
        let r = area;
        let repo = self
            .repo
            .as_deref()
            .map_or("no repository".into(), one_line);
        let block = Block::default()
            .borders(Borders::ALL)
            .border_style(t.border(true))
            .title(Span::styled(
                format!(" New task from an issue · {repo} "),
                t.title(),
            ));
        let inner = block.inner(r);
        f.render_widget(Clear, r);
        f.render_widget(block, r);
        let [info, body, bottom] = Layout::vertical([
            Constraint::Length(1),
            Constraint::Min(2),
            Constraint::Length(1),
        ])
        .areas(inner);
        f.render_widget(Paragraph::new(self.info_line(t, tick)), info);
        if let Some(e) = &self.error {
            let p = Paragraph::new(one_line(e))
                .style(Style::new().fg(t.status.error))
                .wrap(Wrap { trim: true });
            f.render_widget(p, body);
        } else if body.width >= SIDE_BY_SIDE {
            let [list, preview] =
                Layout::horizontal([Constraint::Percentage(45), Constraint::Min(10)]).areas(body);
            self.draw_list(f, list, t);
            self.draw_preview(f, preview, t, Borders::LEFT);
        } else {
            let [list, preview] =
                Layout::vertical([Constraint::Percentage(45), Constraint::Min(3)]).areas(body);
            self.draw_list(f, list, t);
            self.draw_preview(f, preview, t, Borders::TOP);
        }
        f.render_widget(Paragraph::new(self.bottom_line(t)), bottom);
        self.draw_choice(f, r, t);
    }

    /// What is listed: how many, whether more pages wait, the labels and search; a spinner
    /// while a page is read.
    fn info_line(&self, t: &Theme, tick: u64) -> Line<'static> {
        let shown = self.visible().len();
        let mut words = Vec::new();
        // Counts once something was read (not while the first page loads, nor over an error).
        if !self.issues.is_empty() || (!self.loading && self.error.is_none()) {
            words.push(match (shown, self.issues.len()) {
                (s, n) if s == n => format!("{n} open issue{}", if n == 1 { "" } else { "s" }),
                (s, n) => format!("{s} of {n} read match"),
            });
            let more = self.next_page.is_some();
            words.push(if more { "more pages" } else { "all read" }.into());
        }
        if !self.labels.is_empty() {
            words.push(format!("labels: {}", one_line(&self.labels.join(", "))));
        }
        if !self.search.is_empty() {
            words.push(format!("search: {}", one_line(&self.search)));
        }
        let mut spans = Vec::new();
        if self.loading {
            let frame = SPINNER[(tick % SPINNER.len() as u64) as usize];
            let what = match self.issues.is_empty() {
                true => "reading open issues…",
                false => "reading the next page…",
            };
            spans.push(Span::styled(
                format!("{frame} {what} "),
                Style::new().fg(t.status.warn),
            ));
        }
        spans.push(Span::styled(words.join(" · "), t.dim()));
        Line::from(spans)
    }

    fn draw_list(&self, f: &mut Frame, area: Rect, t: &Theme) {
        let visible = self.visible();
        if visible.is_empty() {
            let why = match (self.loading, self.issues.is_empty()) {
                (true, _) => "",
                (false, true) => "no open issues here",
                (false, false) => "no issue read matches the search",
            };
            f.render_widget(Paragraph::new(Span::styled(why, t.dim())), area);
            return;
        }
        let h = usize::from(area.height.max(1));
        let first = self.selected.saturating_sub(h - 1);
        let lines: Vec<Line> = visible
            .iter()
            .enumerate()
            .skip(first)
            .take(h)
            .map(|(i, issue)| self.row(issue, i == self.selected, area.width, t))
            .collect();
        f.render_widget(Paragraph::new(lines), area);
    }

    /// `#42  Fix the greeting  good first issue`, the selected row highlighted full width.
    fn row(&self, i: &Issue, selected: bool, width: u16, t: &Theme) -> Line<'static> {
        let mark = if selected { "▸ " } else { "  " };
        let mut text = format!("{mark}#{:<5}{}", i.number, one_line(&i.title));
        if !i.labels.is_empty() {
            text.push_str(&format!("  [{}]", one_line(&i.labels.join(", "))));
        }
        let width = usize::from(width);
        let mut text: String = text.chars().take(width).collect();
        if selected {
            let pad = width.saturating_sub(text.chars().count());
            text.push_str(&" ".repeat(pad));
            Line::from(Span::styled(text, t.selected_row()))
        } else {
            Line::from(Span::styled(text, t.text()))
        }
    }

    fn draw_preview(&self, f: &mut Frame, area: Rect, t: &Theme, edge: Borders) {
        let block = Block::default().borders(edge).border_style(t.border(false));
        let inner = block.inner(area);
        f.render_widget(block, area);
        let inner = Rect {
            x: inner.x + u16::from(edge == Borders::LEFT),
            width: inner.width.saturating_sub(u16::from(edge == Borders::LEFT)),
            ..inner
        };
        let Some(i) = self.selected_issue() else {
            return;
        };
        let bold = t.text().add_modifier(Modifier::BOLD);
        let mut lines = vec![Line::from(Span::styled(
            format!("#{} {}", i.number, one_line(&i.title)),
            bold,
        ))];
        if !i.labels.is_empty() {
            lines.push(Line::from(Span::styled(
                format!("labels: {}", one_line(&i.labels.join(", "))),
                t.dim(),
            )));
        }
        if !i.html_url.is_empty() {
            lines.push(Line::from(Span::styled(one_line(&i.html_url), t.dim())));
        }
        lines.push(Line::from(""));
        match i.body.trim() {
            "" => lines.push(Line::from(Span::styled("(no description)", t.dim()))),
            body => lines.extend(clean(body).lines().map(|l| Line::from(l.to_string()))),
        }
        f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
    }

    /// The prompt being typed, else the last refusal, else what enter does.
    fn bottom_line(&self, t: &Theme) -> Line<'static> {
        if let Some(p) = &self.prompt {
            let (label, hint) = match p.kind {
                PromptKind::Repo => ("repository: ", "owner/repo · enter reads it · esc"),
                PromptKind::Label => ("labels: ", "comma-separated, all must match · enter · esc"),
                PromptKind::Search => ("search: ", "title and body · enter keeps · esc clears"),
            };
            return Line::from(vec![
                Span::styled(label, t.title()),
                Span::raw(one_line(&p.text)),
                Span::styled("▏", t.dim()),
                Span::styled(format!("  {hint}"), t.dim()),
            ]);
        }
        if let Some(n) = &self.notice {
            return Line::from(Span::styled(one_line(n), Style::new().fg(t.status.warn)));
        }
        match self.selected_issue() {
            Some(i) => Line::from(Span::styled(
                format!(
                    "enter: a task for #{} (its title and body the prompt)",
                    i.number
                ),
                t.dim(),
            )),
            None => Line::from(""),
        }
    }

    /// The Agent list, over the picker, when more than one Agent could run the issue.
    fn draw_choice(&self, f: &mut Frame, area: Rect, t: &Theme) {
        let Some(c) = &self.choice else {
            return;
        };
        let names: Vec<String> = c
            .agents
            .iter()
            .map(|(ns, n)| one_line(&format!("{ns}/{n}")))
            .collect();
        let title = format!(" Agent for #{} ", c.issue.number);
        let widest = names.iter().map(|n| n.chars().count()).max().unwrap_or(0);
        let w = (widest.max(title.chars().count()) as u16 + 6).min(area.width);
        let h = (names.len() as u16 + 2).min(area.height);
        let r = Rect::new(
            area.x + (area.width - w) / 2,
            area.y + (area.height - h) / 2,
            w,
            h,
        );
        let lines: Vec<Line> = names
            .into_iter()
            .enumerate()
            .map(|(i, n)| {
                let mark = if i == c.selected { "▸" } else { " " };
                let text = format!("{mark}{n:<widest$} ");
                if i == c.selected {
                    Line::from(Span::styled(text, t.selected_row()))
                } else {
                    Line::from(Span::styled(text, t.text()))
                }
            })
            .collect();
        let block = Block::default()
            .borders(Borders::ALL)
            .border_style(t.border(true))
            .title(Span::styled(title, t.title()));
        f.render_widget(Clear, r);
        f.render_widget(Paragraph::new(lines).block(block), r);
    }
}
