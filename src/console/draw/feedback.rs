//! The request-changes editor (`c`): a box over the panes with the feedback as typed, hard
//! wrapped to its width and scrolled so the cursor line (the end) is always in view; the
//! title names the task and the review round, the bottom border the keys.

use super::block;
use crate::console::state::{App, Feedback};
use crate::oai::terminal_safe;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph};
use unicode_width::UnicodeWidthChar;

/// Shown in the empty editor: what to write and how a line comment is spelled.
const PLACEHOLDER: [&str; 2] = [
    "What should change? The model gets this with its previous conversation.",
    "A line `path:LINE: comment` is a comment on that line of the change.",
];

pub(super) fn draw_feedback(f: &mut Frame, app: &App, area: Rect, fb: &Feedback) {
    let t = &app.theme;
    let w = area.width.saturating_sub(4).clamp(20, 96);
    let h = area.height.saturating_sub(4).clamp(6, 18);
    let r = Rect::new(
        area.x + (area.width.saturating_sub(w)) / 2,
        area.y + (area.height.saturating_sub(h)) / 2,
        w.min(area.width),
        h.min(area.height),
    );
    let round = match fb.max {
        Some(max) => format!("review {} of {max}", fb.iteration),
        None => format!("review {}", fb.iteration),
    };
    let title = format!(" Request changes · {} · {round} ", fb.task.name);
    let hint = " enter newline · ctrl-s send · esc discard ";
    let b = block(title, true, t).title_bottom(Span::styled(hint, t.dim()));
    let inner = b.inner(r);
    let width = usize::from(inner.width.saturating_sub(1)).max(1);
    let lines: Vec<Line> = if fb.text.is_empty() {
        let mut v = vec![Line::from(Span::styled("▏", t.dim()))];
        v.extend(PLACEHOLDER.map(|p| Line::from(Span::styled(p, t.dim()))));
        v
    } else {
        let mut rows = wrap(&terminal_safe(&fb.text), width);
        let keep = usize::from(inner.height).max(1);
        let skip = rows.len().saturating_sub(keep);
        let mut v: Vec<Line> = rows
            .drain(skip..)
            .map(|l| Line::from(Span::styled(l, t.text())))
            .collect();
        if let Some(last) = v.last_mut() {
            last.spans.push(Span::styled("▏", t.dim()));
        }
        v
    };
    f.render_widget(Clear, r);
    f.render_widget(b, r);
    f.render_widget(Paragraph::new(lines), inner);
}

/// `text`'s lines, each cut into rows of at most `width` columns (a line's end is a row's
/// end: the editor shows the newlines where they are).
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut rows = Vec::new();
    for line in text.split('\n') {
        let mut row = String::new();
        let mut used = 0;
        for c in line.chars() {
            let c = if c == '\t' { ' ' } else { c };
            let cw = c.width().unwrap_or(0);
            if used + cw > width {
                rows.push(std::mem::take(&mut row));
                used = 0;
            }
            row.push(c);
            used += cw;
        }
        rows.push(row);
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::wrap;

    #[test]
    fn wrap_keeps_newlines_and_cuts_long_lines() {
        assert_eq!(wrap("ab\n\ncdefg", 3), ["ab", "", "cde", "fg"]);
        assert_eq!(wrap("", 3), [""]);
        assert_eq!(
            wrap("日本語", 4),
            ["日本", "語"],
            "wide characters count twice"
        );
    }
}
