//! Layout cache: wrapped rows per cell, keyed by (cell id, cell revision, width), plus a
//! prefix sum of cell heights.
//!
//! Flow: `Model` marks `layout_dirty` (lowest changed index) → [`Layout::sync`] re-wraps only
//! cells at or after it whose revision or width differ, then rebuilds the prefix sums from that
//! index. While a reply streams that is the last cell or two, and for the live assistant cell
//! only the paras touched since the cached revision (its append chain). A width change
//! re-wraps everything once; nothing else does. Lookups (`locate`, `row_of`) are binary
//! searches over the prefix sums, so scrolling and finding the visible window are O(log n).
//!
//! Rows are byte ranges (16 bytes each), not `Line`s: memory stays proportional to the row
//! count and rendering slices the model's text.
//!
//! Tuning guide: [`MAX_LINE_ROWS`] bounds the work for one pathological line (a 1 MB JSON
//! blob), [`MAX_CELL_ROWS`] the rows of one cell; both add a visible marker and leave the
//! full text in the model. [`MIN_TEXT_COLS`] keeps tiny panes from producing one row per
//! character (the renderer clips instead).

use super::cell::Cell;
use super::model::Model;
use super::wrap::{WrapEnd, str_width, wrap_para};

/// Rows one logical line may produce before "… line truncated for display".
pub(crate) const MAX_LINE_ROWS: usize = 400;
/// Rows one cell may produce before "… N more lines truncated for display".
pub(crate) const MAX_CELL_ROWS: usize = 4000;
/// Rows each body line may take while its cell is collapsed.
pub(crate) const COLLAPSED_ROWS_PER_LINE: usize = 2;
/// Narrowest text column the wrapper lays out for; narrower panes clip.
pub(crate) const MIN_TEXT_COLS: usize = 4;

/// One screen row of a cell.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Row {
    /// `text[start..end]` of para `para`; `first` selects the para's first-row prefix.
    Text {
        para: u32,
        start: u32,
        end: u32,
        first: bool,
    },
    /// Collapsed cell: `hidden` body lines not shown.
    MoreLines { hidden: u32 },
    /// Para `para` continues for `bytes` more bytes that are not laid out.
    LineCut { para: u32, bytes: u32 },
    /// The cell has `lines` more lines that are not laid out.
    CellCut { lines: u32 },
}

fn u32_of(x: usize) -> u32 {
    u32::try_from(x).unwrap_or(u32::MAX)
}

#[derive(Clone, Debug, Default)]
pub(crate) struct CellLayout {
    id: u64,
    rev: u64,
    width: u16,
    /// In para order; an incremental re-wrap finds a para's first row among them (a
    /// separate index of first rows cost a Vec per cell in a finished transcript).
    pub rows: Vec<Row>,
}

impl Row {
    /// The para a row belongs to; `u32::MAX` for the trailing markers (after every para).
    fn para(&self) -> u32 {
        match *self {
            Row::Text { para, .. } | Row::LineCut { para, .. } => para,
            Row::MoreLines { .. } | Row::CellCut { .. } => u32::MAX,
        }
    }
}

#[derive(Clone, Debug)]
pub(crate) struct Layout {
    /// Width the rows were wrapped for (text area incl. prefixes).
    pub width: u16,
    pub cells: Vec<CellLayout>,
    /// `prefix[i]` = rows before cell `i`; `prefix[n]` = total.
    prefix: Vec<usize>,
}

impl Default for Layout {
    fn default() -> Self {
        Layout {
            width: 0,
            cells: Vec::new(),
            prefix: vec![0],
        }
    }
}

/// Wraps `cell` into `cl`, keeping rows of paras before `from_para`.
fn layout_cell(cell: &Cell, width: u16, cl: &mut CellLayout, from_para: usize) {
    // Paras laid out so far: up to the last one with a row (markers come after them all).
    let laid = cl
        .rows
        .iter()
        .rev()
        .map(Row::para)
        .find(|&p| p != u32::MAX)
        .map_or(0, |p| p as usize + 1);
    let from = from_para.min(laid);
    // Keeps the rows of paras before `from`; drops theirs and the trailing marker.
    let keep = cl.rows.partition_point(|r| (r.para() as usize) < from);
    cl.rows.truncate(keep);
    cl.id = cell.id;
    cl.rev = cell.rev;
    cl.width = width;

    let collapsed = cell.is_collapsed();
    let shown = if collapsed {
        (cell.header_paras + cell.collapse.unwrap_or(0)) as usize
    } else {
        usize::MAX
    };
    let n = cell.paras.len();
    // Lines past the paras held (a preview's) are hidden whether or not the cell is open: it
    // is open only once they are back, unless its journal could not be read.
    let mut cut = false;
    for (pi, para) in cell.paras.iter().enumerate().skip(from) {
        if pi >= shown {
            cl.rows.push(Row::MoreLines {
                hidden: u32_of(n - pi).saturating_add(cell.more),
            });
            cut = true;
            break;
        }
        if cl.rows.len() >= MAX_CELL_ROWS {
            cl.rows.push(Row::CellCut {
                lines: u32_of(n - pi).saturating_add(cell.more),
            });
            cut = true;
            break;
        }
        let pw = str_width(para.first.text()).max(str_width(para.rest.text()));
        let avail = (width as usize).saturating_sub(pw).max(MIN_TEXT_COLS);
        let max_rows = if collapsed && pi >= cell.header_paras as usize {
            COLLAPSED_ROWS_PER_LINE
        } else {
            MAX_LINE_ROWS.min(MAX_CELL_ROWS - cl.rows.len())
        };
        let mut first = true;
        let rows = &mut cl.rows;
        let (from_byte, to_byte) = cell.para_range(pi);
        let end = wrap_para(
            &cell.text,
            from_byte,
            to_byte,
            avail,
            max_rows,
            &mut |a, b| {
                rows.push(Row::Text {
                    para: u32_of(pi),
                    start: u32_of(a),
                    end: u32_of(b),
                    first,
                });
                first = false;
            },
        );
        if let WrapEnd::Cut { at } = end {
            cl.rows.push(Row::LineCut {
                para: u32_of(pi),
                bytes: u32_of((para.end as usize).saturating_sub(at)),
            });
        }
    }
    if !cut && cell.more > 0 {
        cl.rows.push(Row::MoreLines { hidden: cell.more });
    }
    if cl.rows.is_empty() {
        cl.rows.push(Row::Text {
            para: 0,
            start: 0,
            end: 0,
            first: true,
        });
    }
    cl.rows.shrink_to_fit();
}

impl Layout {
    /// Brings the cache up to date with `model` at `width`; returns the lowest cell index
    /// whose rows changed (`None` if nothing did).
    pub fn sync(&mut self, model: &mut Model, width: u16) -> Option<usize> {
        let n = model.cells.len();
        let mut from = std::mem::replace(&mut model.layout_dirty, usize::MAX);
        if width != self.width {
            self.width = width;
            from = 0;
        }
        from = from.min(n).min(self.cells.len());
        if from == n && self.cells.len() == n {
            return None;
        }
        self.cells.truncate(n);
        for (i, cell) in model.cells.iter().enumerate().skip(from) {
            match self.cells.get_mut(i) {
                Some(cl) if cl.id == cell.id && cl.rev == cell.rev && cl.width == width => {}
                Some(cl) => {
                    let start = match cell.chain {
                        Some((since, para))
                            if cl.id == cell.id && cl.width == width && cl.rev >= since =>
                        {
                            para as usize
                        }
                        _ => 0,
                    };
                    layout_cell(cell, width, cl, start);
                }
                None => {
                    let mut cl = CellLayout::default();
                    layout_cell(cell, width, &mut cl, 0);
                    self.cells.push(cl);
                }
            }
        }
        self.prefix.truncate(from + 1);
        if self.prefix.is_empty() {
            self.prefix.push(0);
        }
        let mut acc = self.prefix[self.prefix.len() - 1];
        for cl in &self.cells[from..] {
            acc += cl.rows.len();
            self.prefix.push(acc);
        }
        Some(from)
    }

    /// Drops the spare capacity of the per-cell vectors (see [`Transcript::shrink`]).
    ///
    /// [`Transcript::shrink`]: super::Transcript::shrink
    pub fn shrink(&mut self) {
        self.cells.shrink_to_fit();
        self.prefix.shrink_to_fit();
    }

    /// Heap bytes of the cached rows and prefix sums.
    pub fn heap_bytes(&self) -> usize {
        let rows: usize = self
            .cells
            .iter()
            .map(|c| c.rows.capacity() * size_of::<Row>())
            .sum();
        rows + self.cells.capacity() * size_of::<CellLayout>() + self.prefix.capacity() * 8
    }

    pub fn total(&self) -> usize {
        self.prefix.last().copied().unwrap_or(0)
    }

    pub fn len(&self) -> usize {
        self.cells.len()
    }

    /// Rows before cell `i` (clamped to the total).
    pub fn start_of(&self, i: usize) -> usize {
        self.prefix.get(i).copied().unwrap_or_else(|| self.total())
    }

    pub fn height(&self, i: usize) -> usize {
        self.cells.get(i).map_or(0, |c| c.rows.len())
    }

    /// The cell containing absolute `row` and the offset inside it (O(log n)).
    pub fn locate(&self, row: usize) -> Option<(usize, usize)> {
        if self.cells.is_empty() {
            return None;
        }
        let i = self.prefix.partition_point(|&p| p <= row).saturating_sub(1);
        let i = i.min(self.cells.len() - 1);
        Some((i, row.saturating_sub(self.prefix[i])))
    }

    /// Absolute row of `offset` within cell `i`, clamped into the cell.
    pub fn row_of(&self, i: usize, offset: usize) -> usize {
        let h = self.height(i);
        self.start_of(i) + offset.min(h.saturating_sub(1))
    }

    /// Row offset inside cell `i` that shows byte `byte` of its display text, if laid out.
    pub fn row_for_byte(&self, i: usize, byte: usize) -> Option<usize> {
        let rows = &self.cells.get(i)?.rows;
        let b = u32_of(byte);
        rows.iter().position(|r| match *r {
            Row::Text { start, end, .. } => start <= b && b < end.max(start + 1),
            Row::MoreLines { .. } | Row::LineCut { .. } | Row::CellCut { .. } => false,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oai::{Message, StreamEvent};

    fn model_with(n: usize) -> Model {
        let mut m = Model::new();
        for i in 0..n {
            m.push_message(&Message::user(format!(
                "message number {i} with some words"
            )));
        }
        m
    }

    #[test]
    fn prefix_sums_and_lookup() {
        let mut m = model_with(3);
        let mut l = Layout::default();
        assert_eq!(l.sync(&mut m, 20), Some(0));
        // "› message number 0 with some words" at 18 text columns → 2 rows each.
        assert_eq!(l.total(), 6);
        assert_eq!(l.locate(0), Some((0, 0)));
        assert_eq!(l.locate(3), Some((1, 1)));
        assert_eq!(l.locate(5), Some((2, 1)));
        assert_eq!(l.locate(99), Some((2, 95)));
        assert_eq!(l.row_of(2, 99), 5);
        assert_eq!(
            l.sync(&mut m, 20),
            None,
            "nothing changed, nothing re-wrapped"
        );
    }

    #[test]
    fn only_changed_cells_are_rewrapped() {
        let mut m = model_with(50);
        let mut l = Layout::default();
        l.sync(&mut m, 40);
        m.stream(&StreamEvent::Content("hello".into()));
        assert_eq!(l.sync(&mut m, 40), Some(50));
        m.stream(&StreamEvent::Content(" world".into()));
        assert_eq!(l.sync(&mut m, 40), Some(50));
        assert_eq!(l.height(50), 1);
        // A width change re-wraps everything.
        assert_eq!(l.sync(&mut m, 30), Some(0));
    }

    #[test]
    fn incremental_rewrap_matches_full_rewrap() {
        let text = "The quick brown fox jumps over the lazy dog.\nSecond line here, fairly long \
                    indeed so it wraps.\n\nFourth 日本語 line\twith a tab and more words";
        let mut m = Model::new();
        let mut l = Layout::default();
        for (k, ch) in text.char_indices() {
            m.stream(&StreamEvent::Content(ch.to_string()));
            if k % 3 == 0 {
                l.sync(&mut m, 17);
            }
        }
        l.sync(&mut m, 17);
        let mut fresh = Layout::default();
        let mut m2 = m.clone();
        m2.layout_dirty = 0;
        fresh.sync(&mut m2, 17);
        assert_eq!(l.cells[0].rows, fresh.cells[0].rows);
        assert_eq!(l.total(), fresh.total());
    }

    #[test]
    fn collapsed_cells_show_a_marker() {
        let mut m = Model::new();
        let body: Vec<String> = (0..10).map(|i| format!("line {i}")).collect();
        m.push_message(&Message::tool("c", "bash", body.join("\n")));
        let mut l = Layout::default();
        l.sync(&mut m, 40);
        assert_eq!(l.height(0), 4);
        assert_eq!(l.cells[0].rows[3], Row::MoreLines { hidden: 7 });
        m.toggle(0);
        l.sync(&mut m, 40);
        assert_eq!(l.height(0), 10);
    }

    #[test]
    fn huge_single_line_is_capped() {
        let mut m = Model::new();
        m.push_message(&Message::assistant("x".repeat(1_000_000)));
        let mut l = Layout::default();
        l.sync(&mut m, 80);
        assert_eq!(l.height(0), MAX_LINE_ROWS + 1);
        let last = l.cells[0].rows.last().copied();
        assert_eq!(
            last,
            Some(Row::LineCut {
                para: 0,
                bytes: u32_of(1_000_000 - MAX_LINE_ROWS * 78)
            })
        );
    }

    #[test]
    fn many_lines_hit_the_cell_cap() {
        let mut m = Model::new();
        m.push_message(&Message::assistant("y\n".repeat(10_000)));
        let mut l = Layout::default();
        l.sync(&mut m, 80);
        assert_eq!(l.height(0), MAX_CELL_ROWS + 1);
        assert!(matches!(
            l.cells[0].rows.last(),
            Some(Row::CellCut { lines: 6000 })
        ));
    }

    #[test]
    fn rows_alone_carry_the_incremental_rewrap() {
        // No per-para index beside the rows: a cell's layout is its rows and its keys.
        assert!(size_of::<CellLayout>() <= 48, "{}", size_of::<CellLayout>());
        // Streamed lines, one cut at MAX_LINE_ROWS, re-wrapped from their chain's para each
        // time, give the rows a full wrap gives.
        let mut m = Model::new();
        let mut l = Layout::default();
        let long = "z".repeat(8 * MAX_LINE_ROWS + 50);
        for piece in [
            "first line",
            "
second ",
            "line
",
            &long,
            "
after ",
            "the cut

end",
        ] {
            m.stream(&StreamEvent::Content(piece.into()));
            l.sync(&mut m, 10);
        }
        let mut fresh = Layout::default();
        let mut m2 = m.clone();
        m2.layout_dirty = 0;
        fresh.sync(&mut m2, 10);
        assert_eq!(l.cells[0].rows, fresh.cells[0].rows);
        assert!(
            l.cells[0]
                .rows
                .iter()
                .any(|r| matches!(r, Row::LineCut { para: 2, .. })),
            "the long line is cut"
        );
    }

    #[test]
    fn byte_to_row() {
        let mut m = Model::new();
        m.push_message(&Message::assistant("aaaa bbbb cccc"));
        let mut l = Layout::default();
        l.sync(&mut m, 6); // 4 text columns
        assert_eq!(l.row_for_byte(0, 0), Some(0));
        assert_eq!(l.row_for_byte(0, 6), Some(1));
        assert_eq!(l.row_for_byte(0, 12), Some(2));
        assert_eq!(l.row_for_byte(0, 100), None);
    }
}
