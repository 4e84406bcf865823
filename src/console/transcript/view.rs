//! View state: follow mode, scroll anchor, selection, and the "new lines below" figure.
//!
//! Follow mode sticks the viewport to the bottom while a run streams. Any upward movement
//! (line, half page, page, top, a search jump, selecting a cell above the view) pauses it, and
//! the viewport then stays put while content keeps arriving — the complaint agent TUIs get most
//! (autoscroll fighting the reader). Scrolling back down to the last row, `scroll_to_bottom`
//! or `resume_follow` resumes it.
//!
//! While paused the top of the view is stored as an anchor `(cell, row offset)` rather than an
//! absolute row, so a resize or a cell above expanding does not move what the reader looks at.
//! Movement requests that need the final layout (reveal a cell, reveal a search match) are
//! queued in `pending` and resolved by `resolve` during `prepare`, when heights are known.

use super::cache::Layout;

/// Something to bring into view once the layout is current.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Reveal {
    /// The start of a cell (selection).
    Cell(usize),
    /// The row showing `byte` of a cell's display text (search); always pauses follow.
    Byte { cell: usize, byte: usize },
}

#[derive(Clone, Debug)]
pub(crate) struct View {
    pub follow: bool,
    /// Top of the view while paused: (cell, row offset in cell).
    anchor: (usize, usize),
    pub pending: Option<Reveal>,
    /// End of content when follow paused: (last cell, its height then).
    pause_mark: Option<(usize, usize)>,
    pub selected: Option<usize>,
    /// Resolved by `resolve`: first visible row and viewport height.
    pub top: usize,
    pub height: usize,
    /// Rows below the viewport, and how many of them arrived after pausing.
    pub below: usize,
    pub new_below: usize,
}

impl Default for View {
    fn default() -> Self {
        View {
            follow: true,
            anchor: (0, 0),
            pending: None,
            pause_mark: None,
            selected: None,
            top: 0,
            height: 0,
            below: 0,
            new_below: 0,
        }
    }
}

impl View {
    fn max_top(&self, l: &Layout) -> usize {
        l.total().saturating_sub(self.height)
    }

    /// The top row as of now (anchor applied to the current layout).
    fn current_top(&self, l: &Layout) -> usize {
        let max = self.max_top(l);
        if self.follow {
            max
        } else {
            l.row_of(self.anchor.0, self.anchor.1).min(max)
        }
    }

    fn pause(&mut self, l: &Layout) {
        if self.follow {
            self.follow = false;
            let last = l.len().saturating_sub(1);
            self.pause_mark = Some((last, l.height(last)));
        }
    }

    fn set_top(&mut self, l: &Layout, row: usize) {
        self.anchor = l.locate(row).unwrap_or((0, 0));
        self.top = row;
    }

    /// Scrolls by `delta` rows (negative = up). Up pauses follow; reaching the bottom
    /// going down resumes it.
    pub fn scroll_by(&mut self, l: &Layout, delta: isize) {
        // The newest movement wins over a reveal queued before it.
        self.pending = None;
        let max = self.max_top(l);
        let cur = self.current_top(l);
        let new = cur.saturating_add_signed(delta).min(max);
        if delta > 0 && new >= max {
            self.resume_follow();
            return;
        }
        if new < max {
            self.pause(l);
        }
        if !self.follow {
            self.set_top(l, new);
        }
    }

    pub fn page(&self) -> isize {
        isize::try_from(self.height.saturating_sub(1).max(1)).unwrap_or(isize::MAX)
    }

    pub fn half_page(&self) -> isize {
        isize::try_from((self.height / 2).max(1)).unwrap_or(isize::MAX)
    }

    pub fn scroll_to_top(&mut self, l: &Layout) {
        self.pending = None;
        if self.max_top(l) > 0 {
            self.pause(l);
            self.set_top(l, 0);
        }
    }

    pub fn resume_follow(&mut self) {
        self.pending = None;
        self.follow = true;
        self.pause_mark = None;
    }

    /// First and last cell intersecting the viewport.
    fn visible_cells(&self, l: &Layout) -> Option<(usize, usize)> {
        let top = self.current_top(l);
        let (a, _) = l.locate(top)?;
        let (b, _) = l.locate(top + self.height.saturating_sub(1))?;
        Some((a, b))
    }

    pub fn select_next(&mut self, l: &Layout) {
        let n = l.len();
        let next = match self.selected {
            Some(i) => (i + 1).min(n.saturating_sub(1)),
            None => match self.visible_cells(l) {
                Some((a, _)) => a,
                None => return,
            },
        };
        self.selected = Some(next);
        self.pending = Some(Reveal::Cell(next));
    }

    pub fn select_prev(&mut self, l: &Layout) {
        let prev = match self.selected {
            Some(i) => i.saturating_sub(1),
            None => match self.visible_cells(l) {
                Some((_, b)) => b,
                None => return,
            },
        };
        self.selected = Some(prev);
        self.pending = Some(Reveal::Cell(prev));
    }

    /// Applies pending reveals and computes `top`, `below`, `new_below` for the frame.
    pub fn resolve(&mut self, l: &Layout, height: usize) {
        self.height = height;
        let n = l.len();
        self.selected = match self.selected {
            Some(_) if n == 0 => None,
            Some(i) => Some(i.min(n - 1)),
            None => None,
        };
        let max = self.max_top(l);
        if let Some(reveal) = self.pending.take() {
            let (row, force_pause) = match reveal {
                Reveal::Cell(i) => (l.start_of(i.min(n.saturating_sub(1))), false),
                Reveal::Byte { cell, byte } => (
                    l.start_of(cell) + l.row_for_byte(cell, byte).unwrap_or(0),
                    true,
                ),
            };
            let cur = self.current_top(l);
            let visible = row >= cur && row < cur + self.height;
            if !visible {
                // Leave a third of the view as context above the target.
                let t = row.saturating_sub(self.height / 3).min(max);
                if t < max || !self.follow {
                    self.pause(l);
                    self.set_top(l, t);
                }
            } else if force_pause {
                self.pause(l);
                self.set_top(l, cur);
            }
        }
        self.top = self.current_top(l);
        let bottom = self.top + self.height;
        self.below = l.total().saturating_sub(bottom);
        self.new_below = match (self.follow, self.pause_mark) {
            (false, Some((c, r))) => {
                let mark = if c < n {
                    l.start_of(c) + r.min(l.height(c))
                } else {
                    l.total()
                };
                l.total().saturating_sub(mark.max(bottom))
            }
            _ => 0,
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::console::transcript::model::Model;
    use crate::oai::{Message, StreamEvent};

    /// 20 one-row cells in a 5-row view.
    fn setup() -> (Model, Layout, View) {
        let mut m = Model::new();
        for i in 0..20 {
            m.push_message(&Message::user(format!("u{i}")));
        }
        let mut l = Layout::default();
        l.sync(&mut m, 40);
        let mut v = View::default();
        v.resolve(&l, 5);
        (m, l, v)
    }

    #[test]
    fn follow_sticks_to_bottom() {
        let (mut m, mut l, mut v) = setup();
        assert_eq!(v.top, 15);
        m.push_message(&Message::user("more"));
        l.sync(&mut m, 40);
        v.resolve(&l, 5);
        assert_eq!(v.top, 16);
        assert!(v.follow);
    }

    #[test]
    fn scrolling_up_pauses_and_counts_new_lines() {
        let (mut m, mut l, mut v) = setup();
        v.scroll_by(&l, -3);
        v.resolve(&l, 5);
        assert!(!v.follow);
        assert_eq!(v.top, 12);
        assert_eq!((v.below, v.new_below), (3, 0));
        for _ in 0..4 {
            m.stream(&StreamEvent::Content("tok\n".into()));
        }
        l.sync(&mut m, 40);
        v.resolve(&l, 5);
        assert_eq!(v.top, 12, "paused view does not move");
        assert_eq!(v.new_below, 5, "4 lines + the trailing empty one");
        assert_eq!(v.below, 8);
        v.resume_follow();
        v.resolve(&l, 5);
        assert_eq!(v.top, 20);
        assert_eq!(v.new_below, 0);
    }

    #[test]
    fn scrolling_down_to_the_bottom_resumes_follow() {
        let (_m, l, mut v) = setup();
        v.scroll_by(&l, -v.page());
        v.resolve(&l, 5);
        assert_eq!(v.top, 11);
        v.scroll_by(&l, v.half_page());
        v.resolve(&l, 5);
        assert_eq!((v.top, v.follow), (13, false));
        v.scroll_by(&l, 100);
        assert!(v.follow);
        v.scroll_to_top(&l);
        v.resolve(&l, 5);
        assert_eq!((v.top, v.follow), (0, false));
        v.scroll_by(&l, -1);
        v.resolve(&l, 5);
        assert_eq!(v.top, 0);
    }

    #[test]
    fn short_content_never_pauses() {
        let mut m = Model::new();
        m.push_message(&Message::user("only"));
        let mut l = Layout::default();
        l.sync(&mut m, 40);
        let mut v = View::default();
        v.resolve(&l, 5);
        v.scroll_by(&l, -1);
        v.scroll_to_top(&l);
        assert!(v.follow);
    }

    #[test]
    fn anchor_survives_growth_above_and_resize() {
        let (mut m, mut l, mut v) = setup();
        v.scroll_by(&l, -10);
        v.resolve(&l, 5);
        assert_eq!(v.top, 5);
        // Expanding nothing / appending below keeps the same cell on top.
        m.push_message(&Message::user("x ".repeat(100)));
        l.sync(&mut m, 10);
        v.resolve(&l, 5);
        assert_eq!(l.locate(v.top).map(|p| p.0), Some(5));
    }

    #[test]
    fn selection_moves_and_reveals() {
        let (_m, l, mut v) = setup();
        v.select_prev(&l);
        assert_eq!(v.selected, Some(19));
        v.resolve(&l, 5);
        assert!(v.follow, "last cell is visible: no jump");
        for _ in 0..10 {
            v.select_prev(&l);
        }
        v.resolve(&l, 5);
        assert_eq!(v.selected, Some(9));
        assert!(!v.follow);
        assert!(v.top <= 9 && 9 < v.top + 5);
        v.select_next(&l);
        v.resolve(&l, 5);
        assert_eq!(v.selected, Some(10));
    }

    #[test]
    fn resume_follow_cancels_a_queued_reveal() {
        let (_m, l, mut v) = setup();
        v.pending = Some(Reveal::Byte { cell: 2, byte: 0 });
        v.resume_follow();
        v.resolve(&l, 5);
        assert!(v.follow);
        assert_eq!(v.top, 15);
    }

    #[test]
    fn search_reveal_pauses_even_if_visible() {
        let (_m, l, mut v) = setup();
        v.pending = Some(Reveal::Byte { cell: 18, byte: 0 });
        v.resolve(&l, 5);
        assert!(!v.follow);
        assert_eq!(v.top, 15);
        v.pending = Some(Reveal::Byte { cell: 2, byte: 0 });
        v.resolve(&l, 5);
        assert_eq!(v.top, 1);
    }
}
