//! Drawing the visible window into a `Buffer`. Pure: reads the model, the layout cache and the
//! resolved view; never wraps. Cost is O(log n + visible rows × width).
//!
//! Rows come from the cache as byte ranges; each is sanitized (tabs, control characters) with
//! the same width rule the wrapper used and split into pieces at search-match boundaries. The
//! bottom row may carry the "↓ N new lines" badge and the search counter; the right-most column
//! is a scrollbar when the pane is at least two columns wide.

use super::Transcript;
use super::cache::Row;
use super::cell::{Cell, Slot};
use super::style::TranscriptStyle;
use super::wrap::{sanitize_into, str_width};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;

/// Text area and optional scrollbar column of a pane.
pub(crate) fn split(area: Rect) -> (Rect, Option<Rect>) {
    if area.width >= 2 {
        let text = Rect {
            width: area.width - 1,
            ..area
        };
        let bar = Rect {
            x: area.x + area.width - 1,
            width: 1,
            ..area
        };
        (text, Some(bar))
    } else {
        (area, None)
    }
}

/// Writes `s` from `x` up to `right` (exclusive); returns the next column.
fn put(buf: &mut Buffer, x: u16, y: u16, right: u16, s: &str, style: Style) -> u16 {
    if x >= right {
        return x;
    }
    buf.set_stringn(x, y, s, usize::from(right - x), style).0
}

fn human_bytes(n: u32) -> String {
    let n = f64::from(n);
    if n >= 1024.0 * 1024.0 {
        format!("{:.1} MiB", n / (1024.0 * 1024.0))
    } else if n >= 1024.0 {
        format!("{:.1} KiB", n / 1024.0)
    } else {
        format!("{n} bytes")
    }
}

struct RowCtx<'a> {
    t: &'a Transcript,
    st: &'a TranscriptStyle,
    ci: usize,
    cell: &'a Cell,
    selected: bool,
}

fn draw_row(buf: &mut Buffer, area: Rect, y: u16, row: Row, cx: &RowCtx<'_>) {
    let right = area.right();
    let x0 = area.x;
    let st = cx.st;
    let meta = st.meta;
    let marker = |prefix: &str, text: String, buf: &mut Buffer| {
        let x = put(buf, x0, y, right, prefix, meta);
        put(buf, x, y, right, &text, meta);
        str_width(prefix)
    };
    let prefix_w = match row {
        Row::Text {
            para,
            start,
            end,
            first,
        } => {
            let Some(p) = cx.cell.paras.get(para as usize) else {
                return;
            };
            let prefix = if first { p.first } else { p.rest };
            let mut x = put(buf, x0, y, right, prefix.text(), st.slot(prefix.slot()));
            let (start, end) = (start as usize, end as usize);
            let base = st.slot(p.slot);
            let mut col = 0;
            let mut piece = String::new();
            let mut pos = start;
            let (first_idx, matches) = match &cx.t.search {
                Some(s) => s.overlapping(cx.ci, start, end),
                None => (0, &[][..]),
            };
            let current = cx.t.search.as_ref().and_then(|s| s.current);
            for (k, m) in matches.iter().enumerate() {
                let (a, b) = (m.start.max(start), m.end.min(end));
                if let Some(s) = cx.cell.text.get(pos..a) {
                    piece.clear();
                    col = sanitize_into(s, col, &mut piece);
                    x = put(buf, x, y, right, &piece, base);
                }
                if let Some(s) = cx.cell.text.get(a..b) {
                    piece.clear();
                    col = sanitize_into(s, col, &mut piece);
                    let hl = if current == Some(first_idx + k) {
                        st.search_current
                    } else {
                        st.search_match
                    };
                    x = put(buf, x, y, right, &piece, base.patch(hl));
                }
                pos = b.max(pos);
            }
            if let Some(s) = cx.cell.text.get(pos..end) {
                piece.clear();
                sanitize_into(s, col, &mut piece);
                x = put(buf, x, y, right, &piece, base);
            }
            if p.slot == Slot::Rule && x < right {
                let x = put(buf, x, y, right, " ", meta);
                let fill = "─".repeat(usize::from(right.saturating_sub(x)));
                put(buf, x, y, right, &fill, meta);
            }
            str_width(prefix.text())
        }
        Row::MoreLines { hidden } => {
            let noun = if hidden == 1 { "line" } else { "lines" };
            marker("  ", format!("… {hidden} more {noun}"), buf)
        }
        Row::LineCut { para, bytes } => {
            let prefix = cx
                .cell
                .paras
                .get(para as usize)
                .map_or("  ", |p| p.rest.text());
            marker(
                prefix,
                format!("… line truncated for display ({} more)", human_bytes(bytes)),
                buf,
            )
        }
        Row::CellCut { lines } => marker(
            "  ",
            format!("… {lines} more lines truncated for display"),
            buf,
        ),
    };
    if cx.selected && prefix_w > 0 {
        let w = u16::try_from(prefix_w).unwrap_or(u16::MAX).min(area.width);
        buf.set_style(Rect::new(x0, y, w, 1), st.selection);
    }
}

fn draw_scrollbar(buf: &mut Buffer, bar: Rect, top: usize, total: usize, st: &TranscriptStyle) {
    let h = usize::from(bar.height);
    if h == 0 || total <= h {
        return;
    }
    let max_top = total - h;
    let thumb = (h * h / total).clamp(1, h);
    let pos = (top.min(max_top) * (h - thumb) + max_top / 2) / max_top;
    for i in 0..h {
        let y = bar.y + u16::try_from(i).unwrap_or(u16::MAX);
        let (sym, style) = if i >= pos && i < pos + thumb {
            ("┃", st.scrollbar_thumb)
        } else {
            ("│", st.scrollbar_track)
        };
        put(buf, bar.x, y, bar.right(), sym, style);
    }
}

/// The bottom-row badges: "↓ 12 new lines" while paused, "3/17" while searching.
fn badges(t: &Transcript) -> Vec<String> {
    let mut out = Vec::new();
    let v = &t.view;
    if !v.follow && v.below > 0 {
        out.push(if v.new_below > 0 {
            format!(" ↓ {} new lines ", v.new_below)
        } else {
            format!(" ↓ {} more lines ", v.below)
        });
    }
    if let Some(s) = t.search_status() {
        let plus = if s.capped { "+" } else { "" };
        let more = if s.searching { " searching …" } else { "" };
        out.push(if s.total == 0 && !s.searching {
            format!(" /{} no matches ", s.query)
        } else {
            format!(" /{} {}/{}{plus}{more} ", s.query, s.current, s.total)
        });
    }
    out
}

pub(crate) fn render(t: &Transcript, area: Rect, buf: &mut Buffer, st: &TranscriptStyle) {
    let area = area.intersection(buf.area);
    if area.is_empty() {
        return;
    }
    for y in area.top()..area.bottom() {
        for x in area.left()..area.right() {
            buf[(x, y)].reset();
        }
    }
    let (text, bar) = split(area);
    let l = &t.layout;
    let v = &t.view;
    let mut cur = l.locate(v.top);
    for dy in 0..text.height {
        let Some((ci, off)) = cur else {
            break;
        };
        let (Some(cell), Some(cl)) = (t.model.cells.get(ci), l.cells.get(ci)) else {
            break;
        };
        let Some(&row) = cl.rows.get(off) else {
            break;
        };
        let cx = RowCtx {
            t,
            st,
            ci,
            cell,
            selected: v.selected == Some(ci),
        };
        draw_row(buf, text, text.y + dy, row, &cx);
        cur = if off + 1 < cl.rows.len() {
            Some((ci, off + 1))
        } else if ci + 1 < l.cells.len() {
            Some((ci + 1, 0))
        } else {
            None
        };
    }
    let y = text.bottom() - 1;
    let mut right = text.right();
    for badge in badges(t).iter().rev() {
        let w = u16::try_from(str_width(badge)).unwrap_or(u16::MAX);
        let x = right.saturating_sub(w).max(text.x);
        put(buf, x, y, right, badge, st.indicator);
        right = x.saturating_sub(1);
        if right <= text.x {
            break;
        }
    }
    if let Some(bar) = bar {
        draw_scrollbar(buf, bar, v.top, l.total(), st);
    }
}
