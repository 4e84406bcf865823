//! Drawing: a summary line, the file strip and the visible body rows of the current file.
//! Pure; cost is O(visible rows × width) whatever the diff's size.
//!
//! ```text
//! 3 files, +12 -4 · file 1/3 · hunk 1/2                  ← summary (+ notices)
//!  M src/lib.rs                                  +10 -2  ← strip, current file reversed
//!  A scripts/tool.py                              +2 -0
//! src/lib.rs                                             ← body row 0: file header
//! @@ -1,4 +1,5 @@ fn main                                 ← hunk header
//!  1  1   use std::io;                                   ← old/new numbers, sign, text
//!  2    - let a = 1;                                     ← tinted, `›` when cut off
//! ```

use super::parse::Kind;
use super::{DiffStyle, DiffView, FileEntry, HSpan};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

pub(crate) struct Layout {
    pub summary: Rect,
    pub strip: Rect,
    pub body: Rect,
}

/// Share of the pane the file strip may take, at most (it always gets one row if it fits).
const STRIP_SHARE: u16 = 3;

pub(crate) fn layout(v: &DiffView, area: Rect) -> Layout {
    let row = |y: u16, h: u16| Rect {
        x: area.x,
        y,
        width: area.width,
        height: h,
    };
    let summary_h = area.height.min(1);
    let rest = area.height - summary_h;
    let n = u16::try_from(v.files.len()).unwrap_or(u16::MAX);
    let strip_h = n.min((rest / STRIP_SHARE).max(1)).min(rest);
    let body_h = rest - strip_h;
    Layout {
        summary: row(area.y, summary_h),
        strip: row(area.y + summary_h, strip_h),
        body: row(area.y + summary_h + strip_h, body_h),
    }
}

/// Writes `s` from `x` up to `right` (exclusive); returns the next column.
fn put(buf: &mut Buffer, x: u16, y: u16, right: u16, s: &str, style: Style) -> u16 {
    if x >= right {
        return x;
    }
    buf.set_stringn(x, y, s, usize::from(right - x), style).0
}

pub(crate) fn render(v: &DiffView, area: Rect, buf: &mut Buffer, st: &DiffStyle) {
    let area = area.intersection(buf.area);
    if area.is_empty() {
        return;
    }
    let l = layout(v, area);
    summary(v, l.summary, buf, st);
    strip(v, l.strip, buf, st);
    body(v, l.body, buf, st);
}

fn summary(v: &DiffView, r: Rect, buf: &mut Buffer, st: &DiffStyle) {
    if r.is_empty() {
        return;
    }
    let mut text = v.summary();
    if !v.files.is_empty() {
        let (h, nh) = v.current_hunk();
        text.push_str(&format!(" · file {}/{}", v.current + 1, v.files.len()));
        if nh > 0 {
            text.push_str(&format!(" · hunk {}/{nh}", h + 1));
        }
    }
    if let Some(n) = &v.notice {
        text.push_str(" · ");
        text.push_str(n);
    }
    put(buf, r.x, r.y, r.right(), &text, st.meta);
}

fn strip(v: &DiffView, r: Rect, buf: &mut Buffer, st: &DiffStyle) {
    let h = usize::from(r.height);
    if h == 0 {
        return;
    }
    let first = (v.current + 1).saturating_sub(h);
    for (i, f) in v.files.iter().enumerate().skip(first).take(h) {
        let y = r.y + u16::try_from(i - first).unwrap_or(0);
        let counts = if f.binary {
            "bin".to_string()
        } else {
            format!("+{} -{}", f.additions, f.deletions)
        };
        let cw = u16::try_from(counts.width()).unwrap_or(u16::MAX);
        // Counts stay visible at the right edge when the pane has room for them.
        let path_right = if r.width > cw.saturating_add(4) {
            r.right() - cw - 1
        } else {
            r.right()
        };
        let x = put(
            buf,
            r.x,
            y,
            path_right,
            &format!(" {} ", f.status()),
            st.meta,
        );
        let room = usize::from(path_right.saturating_sub(x));
        put(
            buf,
            x,
            y,
            path_right,
            &tail_fit(&display_path(f), room),
            st.file_header,
        );
        if path_right < r.right() {
            let x = r.right() - cw;
            if f.binary {
                put(buf, x, y, r.right(), &counts, st.meta);
            } else {
                let a = format!("+{}", f.additions);
                let x = put(buf, x, y, r.right(), &a, st.added);
                let x = put(buf, x, y, r.right(), " ", st.meta);
                put(
                    buf,
                    x,
                    y,
                    r.right(),
                    &format!("-{}", f.deletions),
                    st.removed,
                );
            }
        }
        if i == v.current {
            buf.set_style(Rect { y, height: 1, ..r }, st.selected_file);
        }
    }
}

fn display_path(f: &FileEntry) -> String {
    match (&f.old_path, &f.new_path) {
        (Some(o), Some(n)) if o != n => format!("{o} → {n}"),
        _ => f.path().to_string(),
    }
}

/// `s`, or `…` plus its tail when wider than `room`: the file name is the part that matters.
fn tail_fit(s: &str, room: usize) -> String {
    if s.width() <= room || room == 0 {
        return s.to_string();
    }
    let mut w = 1;
    let mut start = s.len();
    for (i, c) in s.char_indices().rev() {
        w += c.width().unwrap_or(0);
        if w > room {
            break;
        }
        start = i;
    }
    format!("…{}", &s[start..])
}

fn digits(n: u32) -> usize {
    n.checked_ilog10().map_or(1, |d| d as usize + 1)
}

fn body(v: &DiffView, r: Rect, buf: &mut Buffer, st: &DiffStyle) {
    if r.is_empty() {
        return;
    }
    let Some(f) = v.files.get(v.current) else {
        put(
            buf,
            r.x,
            r.y,
            r.right(),
            "nothing to show: the task's commit is identical to its base",
            st.meta,
        );
        return;
    };
    let w = digits(f.max_line);
    let current_hunk = f.hunks.get(v.hunk).copied();
    for (dy, i) in (v.top..f.body_len())
        .take(usize::from(r.height))
        .enumerate()
    {
        let y = r.y + u16::try_from(dy).unwrap_or(0);
        let line = Rect { y, height: 1, ..r };
        if i == 0 {
            file_header(f, line, buf, st);
            continue;
        }
        let Some(row) = f.rows.get(i - 1) else {
            let msg = if f.binary {
                "binary file changed"
            } else {
                "no textual changes (mode or rename only)"
            };
            put(buf, r.x, y, r.right(), msg, st.meta);
            continue;
        };
        let spans = f.spans.as_ref().and_then(|s| s.get(i - 1));
        match row.kind {
            Kind::Hunk => {
                let mut s = st.hunk_header;
                if current_hunk == Some(i - 1) {
                    s = s.patch(st.hunk_current);
                }
                text(buf, line, &row.text, &[], s, v.left, st.meta);
            }
            Kind::NoNewline => {
                let x = put(buf, r.x, y, r.right(), &" ".repeat(2 * w + 3), st.meta);
                let t = Rect {
                    x,
                    width: r.right().saturating_sub(x),
                    ..line
                };
                text(buf, t, &row.text, &[], st.meta, 0, st.meta);
            }
            Kind::Context | Kind::Added | Kind::Removed => {
                let (sign, sign_style, tint, plain) = match row.kind {
                    Kind::Added => ('+', st.added, st.added_line, st.added),
                    Kind::Removed => ('-', st.removed, st.removed_line, st.removed),
                    _ => (' ', st.context, Style::new(), st.context),
                };
                buf.set_style(line, tint);
                let num = |n: u32| {
                    if n == 0 {
                        " ".repeat(w)
                    } else {
                        format!("{n:>w$}")
                    }
                };
                let gutter = format!("{} {} ", num(row.old), num(row.new));
                let x = put(buf, r.x, y, r.right(), &gutter, st.line_number);
                let x = put(buf, x, y, r.right(), &format!("{sign} "), sign_style);
                let t = Rect {
                    x,
                    width: r.right().saturating_sub(x),
                    ..line
                };
                // Highlighted rows take their colours from syntect; plain rows from the sign.
                let (base, spans) = match spans {
                    Some(s) => (st.context, s.as_slice()),
                    None => (plain, &[][..]),
                };
                text(buf, t, &row.text, spans, base, v.left, st.meta);
            }
        }
    }
}

fn file_header(f: &FileEntry, line: Rect, buf: &mut Buffer, st: &DiffStyle) {
    let mut s = display_path(f);
    match f.status() {
        'A' => s.push_str(" (new file)"),
        'D' => s.push_str(" (deleted)"),
        _ => {}
    }
    let x = put(buf, line.x, line.y, line.right(), &s, st.file_header);
    if f.large && !f.binary {
        put(
            buf,
            x,
            line.y,
            line.right(),
            " · large diff: highlighting off",
            st.meta,
        );
    }
}

/// Draws `s` into the one-row rect `r` from column `left` on, styling byte ranges with
/// `spans` patched over `base`; a `›` in the last column marks text cut off on the right.
fn text(
    buf: &mut Buffer,
    r: Rect,
    s: &str,
    spans: &[HSpan],
    base: Style,
    left: usize,
    marker: Style,
) {
    if r.width == 0 {
        return;
    }
    let mut col = 0usize;
    let mut start = s.len();
    for (i, c) in s.char_indices() {
        if col >= left {
            start = i;
            break;
        }
        col += c.width().unwrap_or(0);
    }
    let width = usize::from(r.width);
    let overflow = s[start..].width() > width;
    let limit = if overflow { r.right() - 1 } else { r.right() };
    let mut x = r.x;
    let mut pos = start;
    for (range, sst) in spans {
        if range.end <= pos {
            continue;
        }
        if range.start > pos {
            let gap = s.get(pos..range.start).unwrap_or("");
            x = put(buf, x, r.y, limit, gap, base);
        }
        let from = range.start.max(pos);
        let piece = s.get(from..range.end).unwrap_or("");
        x = put(buf, x, r.y, limit, piece, base.patch(*sst));
        pos = range.end;
        if x >= limit {
            break;
        }
    }
    if pos < s.len() {
        put(buf, x, r.y, limit, s.get(pos..).unwrap_or(""), base);
    }
    if overflow {
        put(buf, r.right() - 1, r.y, r.right(), "›", marker);
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn long_paths_keep_their_tail() {
        assert_eq!(super::tail_fit("src/ui/diff/render.rs", 12), "…f/render.rs");
        assert_eq!(super::tail_fit("a.rs", 12), "a.rs");
        assert_eq!(super::tail_fit("abc", 1), "…");
    }
}
