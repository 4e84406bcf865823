//! Width measurement and greedy word wrapping over byte ranges.
//!
//! Wrapping never copies text: it reports rows as byte ranges into the cell's display text,
//! so the layout cache stays small (16 bytes a row) and rendering slices the original string.
//! The same [`glyph_width`] rule is used by [`wrap_para`] and by [`sanitize_into`] (the
//! renderer), so a row never measures differently from how it is drawn.
//!
//! Greedy wrapping is prefix-stable: appending text can only change the last row of a line and
//! add rows after it. The layout cache relies on that to re-wrap only the live tail while a
//! reply streams in.
//!
//! Work per line is bounded by `max_rows × width` characters, so a 1 MB single-line tool
//! output costs the same as a few hundred rows; the caller shows a truncation marker.

use unicode_width::UnicodeWidthChar;

/// Tab stops every 4 columns, measured from the start of the row's text (after the prefix).
pub(crate) const TAB_STOP: usize = 4;

/// Columns `c` occupies when it starts at column `col` of a row.
///
/// Tabs advance to the next tab stop, `\r` is dropped (CRLF output, progress bars), other
/// control characters are shown as U+FFFD so they can never reach the terminal raw.
pub(crate) fn glyph_width(c: char, col: usize) -> usize {
    match c {
        '\t' => TAB_STOP - col % TAB_STOP,
        '\r' => 0,
        c if c.is_control() => 1,
        c => c.width().unwrap_or(0),
    }
}

/// Display width of a short string (prefixes, markers) under the same rules as rows.
pub(crate) fn str_width(s: &str) -> usize {
    let mut col = 0;
    for c in s.chars() {
        col += glyph_width(c, col);
    }
    col
}

/// Appends `s` to `out` the way it is drawn: tabs expanded to spaces, `\r` dropped, control
/// characters replaced by U+FFFD. `col` is the row column `s` starts at; returns the column
/// after it.
pub(crate) fn sanitize_into(s: &str, mut col: usize, out: &mut String) -> usize {
    for c in s.chars() {
        let w = glyph_width(c, col);
        match c {
            '\t' => out.extend(std::iter::repeat_n(' ', w)),
            '\r' => {}
            c if c.is_control() => out.push('\u{FFFD}'),
            c => out.push(c),
        }
        col += w;
    }
    col
}

/// How wrapping of one line ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum WrapEnd {
    /// Every byte of the line is on some row.
    Done,
    /// `max_rows` were produced; the line continues at byte `at` (absolute offset).
    Cut { at: usize },
}

/// Wraps `text[start..end]` (one logical line, no `\n`) into rows of at most `avail` columns,
/// calling `emit(row_start, row_end)` with absolute byte offsets.
///
/// Breaks after spaces when possible; a space that falls exactly on the break is swallowed;
/// words longer than a row are split; a single glyph wider than the row gets a row of its own
/// (the renderer clips it). An empty line still yields one (empty) row.
pub(crate) fn wrap_para(
    text: &str,
    start: usize,
    end: usize,
    avail: usize,
    max_rows: usize,
    emit: &mut dyn FnMut(usize, usize),
) -> WrapEnd {
    let Some(line) = text.get(start..end) else {
        emit(start, start);
        return WrapEnd::Done;
    };
    let avail = avail.max(1);
    let max_rows = max_rows.max(1);
    let mut rows = 0usize;
    let mut row_start = 0usize; // relative to `line`
    let mut col = 0usize;
    let mut last_break: Option<usize> = None; // relative byte just after a space
    let mut emit_row = |a: usize, b: usize, rows: &mut usize| {
        emit(start + a, start + b);
        *rows += 1;
    };

    for (i, c) in line.char_indices() {
        let mut w = glyph_width(c, col);
        if col + w > avail {
            if c == ' ' {
                // Break on this very space and swallow it.
                emit_row(row_start, i, &mut rows);
                row_start = i + 1;
                col = 0;
                last_break = None;
                if rows >= max_rows {
                    return cut_or_done(line, row_start, start);
                }
                continue;
            }
            match last_break {
                Some(b) if b > row_start => {
                    // Trailing spaces of a wrapped row are invisible; keep them off the row.
                    let trimmed = line[row_start..b].trim_end_matches(' ').len();
                    emit_row(row_start, row_start + trimmed, &mut rows);
                    row_start = b;
                    // Re-measure the carried-over word from column 0 (tabs depend on column).
                    col = 0;
                    for ch in line[b..i].chars() {
                        col += glyph_width(ch, col);
                    }
                }
                _ if col > 0 => {
                    emit_row(row_start, i, &mut rows);
                    row_start = i;
                    col = 0;
                }
                _ => {}
            }
            last_break = None;
            if rows >= max_rows {
                return cut_or_done(line, row_start, start);
            }
            w = glyph_width(c, col);
            if col + w > avail && col > 0 {
                // The carried word plus this glyph still does not fit: hard-break the word.
                emit_row(row_start, i, &mut rows);
                row_start = i;
                col = 0;
                if rows >= max_rows {
                    return cut_or_done(line, row_start, start);
                }
                w = glyph_width(c, col);
            }
        }
        col += w;
        if c == ' ' {
            last_break = Some(i + 1);
        }
    }
    if row_start < line.len() || rows == 0 {
        emit_row(row_start, line.len(), &mut rows);
    }
    WrapEnd::Done
}

fn cut_or_done(line: &str, row_start: usize, start: usize) -> WrapEnd {
    if row_start >= line.len() {
        WrapEnd::Done
    } else {
        WrapEnd::Cut {
            at: start + row_start,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wrap(s: &str, avail: usize, max_rows: usize) -> (Vec<&str>, WrapEnd) {
        let mut rows = Vec::new();
        let end = wrap_para(s, 0, s.len(), avail, max_rows, &mut |a, b| {
            rows.push((a, b))
        });
        (rows.into_iter().map(|(a, b)| &s[a..b]).collect(), end)
    }

    #[test]
    fn words_break_at_spaces() {
        let (rows, end) = wrap("the quick brown fox", 10, 100);
        assert_eq!(rows, vec!["the quick", "brown fox"]);
        assert_eq!(end, WrapEnd::Done);
    }

    #[test]
    fn long_words_are_split() {
        let (rows, _) = wrap("abcdefghij", 4, 100);
        assert_eq!(rows, vec!["abcd", "efgh", "ij"]);
    }

    #[test]
    fn empty_line_is_one_row() {
        let (rows, _) = wrap("", 10, 100);
        assert_eq!(rows, vec![""]);
    }

    #[test]
    fn wide_chars_never_straddle_the_edge() {
        // Each CJK glyph is 2 columns: 5 columns hold two of them.
        let (rows, _) = wrap("日本語テキスト", 5, 100);
        assert_eq!(rows, vec!["日本", "語テ", "キス", "ト"]);
        for r in &rows {
            assert!(str_width(r) <= 5);
        }
    }

    #[test]
    fn glyph_wider_than_row_gets_its_own_row() {
        let (rows, _) = wrap("日x", 1, 100);
        assert_eq!(rows, vec!["日", "x"]);
    }

    #[test]
    fn tabs_expand_to_tab_stops() {
        assert_eq!(str_width("\tx"), 5);
        assert_eq!(str_width("ab\tx"), 5);
        let mut out = String::new();
        sanitize_into("a\tb\r\u{1b}", 0, &mut out);
        assert_eq!(out, "a   b\u{FFFD}");
        let (rows, _) = wrap("\t\tabc", 8, 100);
        assert_eq!(rows, vec!["\t\t", "abc"]);
    }

    #[test]
    fn row_cap_reports_where_the_line_continues() {
        let s = "x".repeat(1_000_000);
        let (rows, end) = wrap(&s, 100, 3);
        assert_eq!(rows.len(), 3);
        assert_eq!(end, WrapEnd::Cut { at: 300 });
    }

    #[test]
    fn wrapping_is_prefix_stable() {
        // Rows of a prefix are rows of the whole, except possibly the last one.
        let full = "lorem ipsum dolor sit amet, consectetur adipiscing elit sed do";
        let (all, _) = wrap(full, 12, 100);
        for cut in 1..full.len() {
            let (part, _) = wrap(&full[..cut], 12, 100);
            let stable = part.len() - 1;
            assert_eq!(part[..stable], all[..stable], "prefix {cut}");
        }
    }

    #[test]
    fn rows_never_exceed_width() {
        let s = "a bb ccc dddd eeeee ffffff\tg 日本 x";
        for w in 1..30 {
            let (rows, _) = wrap(s, w, 1000);
            for r in rows {
                let rw = str_width(r);
                assert!(rw <= w || r.chars().count() == 1, "{r:?} at {w}");
            }
        }
    }
}
