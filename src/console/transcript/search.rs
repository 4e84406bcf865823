//! Transcript search: substring, smart-case (case-insensitive unless the query has an
//! uppercase letter), over the cells' display text — what the operator sees, including the
//! hidden part of collapsed cells (a jump there expands the cell).
//!
//! Matches are byte ranges sorted by (cell, start), so the renderer finds the matches of a row
//! by binary search. While a run streams, only cells at or after the model's `text_dirty`
//! index are rescanned; the current match is kept by position.

use super::cell::Cell;
use crate::agent::transcript::{Span, read_records};
use std::path::PathBuf;

/// Matches kept at most; a one-letter query over a 10 MB transcript would otherwise hold
/// millions of ranges. The counter then reads "n/100000+".
pub(crate) const MAX_MATCHES: usize = 100_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Match {
    pub cell: usize,
    pub start: usize,
    pub end: usize,
}

#[derive(Clone, Debug)]
pub(crate) struct Search {
    pub query: String,
    case_sensitive: bool,
    pub matches: Vec<Match>,
    pub current: Option<usize>,
    pub capped: bool,
    /// Tells this search's journal answers from an older one's.
    pub id: u64,
    pub journal: JournalScan,
}

/// Where the search of the previews' hidden parts (in the journal) stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum JournalScan {
    /// Nothing hidden to search, or its answer is in.
    Done,
    /// To be asked for ([`super::Transcript::journal_search`]).
    Wanted,
    Running,
}

/// The hidden parts of a journal-built transcript's tool results, searched off the UI
/// thread: each one's journal line is read and its display text built as opening the cell
/// would, and only matches past the part the cell holds are reported (the in-memory scan found
/// those before). A query has no line break, so no match straddles the cut.
#[derive(Debug)]
pub struct JournalSearch {
    pub(crate) id: u64,
    query: String,
    case_sensitive: bool,
    path: PathBuf,
    /// (cell, its journal line, bytes of its text the cell holds), by cell.
    cells: Vec<(usize, Span, usize)>,
}

/// A [`JournalSearch`]'s answer.
#[derive(Debug)]
pub struct Hits {
    pub(crate) id: u64,
    matches: Vec<Match>,
    capped: bool,
    /// The first line that could not be read, if any (the rest were still searched).
    pub error: Option<String>,
}

impl JournalSearch {
    pub(crate) fn new(s: &Search, path: PathBuf, cells: Vec<(usize, Span, usize)>) -> Self {
        JournalSearch {
            id: s.id,
            query: s.query.clone(),
            case_sensitive: s.case_sensitive,
            path,
            cells,
        }
    }

    /// Reads and searches every hidden part (blocking: run it on the blocking pool).
    pub fn run(self) -> Hits {
        let (mut matches, mut capped, mut error) = (Vec::new(), false, None);
        let mut next = self.cells.iter();
        let opened = read_records(&self.path, self.cells.iter().map(|c| c.1), |r| {
            let Some(&(cell, _, held)) = next.next() else {
                return false;
            };
            let whole = match super::cell::whole_tool_result(r) {
                Ok(c) => c,
                Err(e) => {
                    error.get_or_insert(e);
                    return true;
                }
            };
            find_all(
                &whole.text,
                &self.query,
                self.case_sensitive,
                &mut |s, e| {
                    if s < held {
                        return;
                    }
                    if matches.len() < MAX_MATCHES {
                        matches.push(Match {
                            cell,
                            start: s,
                            end: e,
                        });
                    } else {
                        capped = true;
                    }
                },
            );
            !capped
        });
        Hits {
            id: self.id,
            matches,
            capped,
            error: opened.err().or(error),
        }
    }
}

/// Calls `f(start, end)` for each non-overlapping occurrence of `needle` in `hay`.
fn find_all(hay: &str, needle: &str, case_sensitive: bool, f: &mut dyn FnMut(usize, usize)) {
    if needle.is_empty() {
        return;
    }
    if case_sensitive {
        for (i, m) in hay.match_indices(needle) {
            f(i, i + m.len());
        }
    } else if needle.is_ascii() {
        // ASCII bytes never occur inside multi-byte UTF-8 sequences, so a byte scan finds
        // exactly the char-aligned matches.
        // The first byte in either case is found with memchr (SIMD), then the rest compared:
        // a search over a replayed transcript's hundred MB runs on the UI thread.
        let n = needle.as_bytes();
        let h = hay.as_bytes();
        let (lo, up) = (n[0].to_ascii_lowercase(), n[0].to_ascii_uppercase());
        let mut i = 0;
        while i + n.len() <= h.len() {
            let Some(k) = memchr::memchr2(lo, up, &h[i..=h.len() - n.len()]) else {
                break;
            };
            let at = i + k;
            if h[at..at + n.len()].eq_ignore_ascii_case(n) {
                f(at, at + n.len());
                i = at + n.len();
            } else {
                i = at + 1;
            }
        }
    } else {
        let fold = |c: char| c.to_lowercase().next().unwrap_or(c);
        let needle: Vec<char> = needle.chars().map(fold).collect();
        let mut starts = hay.char_indices();
        while let Some((i, _)) = starts.next() {
            let mut it = hay[i..].char_indices();
            let mut end = None;
            for (k, &nc) in needle.iter().enumerate() {
                match it.next() {
                    Some((j, hc)) if fold(hc) == nc => {
                        if k + 1 == needle.len() {
                            end = Some(i + j + hc.len_utf8());
                        }
                    }
                    _ => break,
                }
            }
            if let Some(e) = end {
                f(i, e);
                // Skip to the end of this match.
                while starts.as_str().len() > hay.len() - e {
                    starts.next();
                }
            }
        }
    }
}

impl Search {
    /// `None` for an empty query.
    pub fn new(query: &str) -> Option<Search> {
        if query.is_empty() {
            return None;
        }
        use std::sync::atomic::{AtomicU64, Ordering};
        static NEXT: AtomicU64 = AtomicU64::new(1);
        Some(Search {
            query: query.to_string(),
            case_sensitive: query.chars().any(char::is_uppercase),
            matches: Vec::new(),
            current: None,
            capped: false,
            id: NEXT.fetch_add(1, Ordering::Relaxed),
            journal: JournalScan::Done,
        })
    }

    /// Drops matches in cells `from..` and rescans them; matches in the hidden part of a
    /// preview (found in the journal) stay.
    pub fn scan(&mut self, cells: &[Cell], from: usize) {
        let keep = self.current.and_then(|c| self.matches.get(c).copied());
        let cut = self.matches.partition_point(|m| m.cell < from);
        let hidden = |m: &Match| {
            cells
                .get(m.cell)
                .is_some_and(|c| c.more > 0 && m.start >= c.text.len())
        };
        let kept: Vec<Match> = self.matches[cut..].iter().copied().filter(hidden).collect();
        self.matches.truncate(cut);
        self.capped = false;
        'cells: for (ci, cell) in cells.iter().enumerate().skip(from) {
            let mut full = false;
            let matches = &mut self.matches;
            find_all(&cell.text, &self.query, self.case_sensitive, &mut |s, e| {
                if matches.len() < MAX_MATCHES {
                    matches.push(Match {
                        cell: ci,
                        start: s,
                        end: e,
                    });
                } else {
                    full = true;
                }
            });
            if full {
                self.capped = true;
                break 'cells;
            }
        }
        if !kept.is_empty() {
            self.merge(kept);
        }
        self.restore_current(keep);
    }

    /// Adds a journal search's answer (once; an older search's answer is ignored). Returns
    /// whether it was this search's.
    pub fn add(&mut self, hits: Hits) -> bool {
        if hits.id != self.id || self.journal != JournalScan::Running {
            return false;
        }
        self.journal = JournalScan::Done;
        let keep = self.current.and_then(|c| self.matches.get(c).copied());
        self.capped |= hits.capped;
        self.merge(hits.matches);
        self.restore_current(keep);
        true
    }

    /// Sorted in, duplicates dropped, at most [`MAX_MATCHES`] kept.
    fn merge(&mut self, more: Vec<Match>) {
        self.matches.extend(more);
        self.matches.sort_unstable();
        self.matches.dedup();
        if self.matches.len() > MAX_MATCHES {
            self.matches.truncate(MAX_MATCHES);
            self.capped = true;
        }
    }

    /// The current match again after the matches changed: `keep` if it is still there, else
    /// the next one.
    fn restore_current(&mut self, keep: Option<Match>) {
        self.current = match keep {
            None if self.matches.is_empty() => None,
            None => self.current.map(|c| c.min(self.matches.len() - 1)),
            Some(k) => {
                let i = self.matches.partition_point(|m| *m < k);
                if i < self.matches.len() {
                    Some(i)
                } else {
                    self.matches.len().checked_sub(1)
                }
            }
        };
    }

    /// Index of the first match in cell `cell` or later (wrapping to the first match).
    pub fn first_from(&self, cell: usize) -> Option<usize> {
        if self.matches.is_empty() {
            return None;
        }
        let i = self.matches.partition_point(|m| m.cell < cell);
        Some(if i < self.matches.len() { i } else { 0 })
    }

    pub fn step(&mut self, forward: bool) -> Option<Match> {
        let n = self.matches.len();
        if n == 0 {
            return None;
        }
        let next = match (self.current, forward) {
            (None, _) => 0,
            (Some(c), true) => (c + 1) % n,
            (Some(c), false) => (c + n - 1) % n,
        };
        self.current = Some(next);
        self.matches.get(next).copied()
    }

    pub fn current_match(&self) -> Option<Match> {
        self.matches.get(self.current?).copied()
    }

    /// Matches of `cell` overlapping bytes `start..end`, with the index of the first one.
    pub fn overlapping(&self, cell: usize, start: usize, end: usize) -> (usize, &[Match]) {
        let lo = self
            .matches
            .partition_point(|m| m.cell < cell || (m.cell == cell && m.end <= start));
        let mut hi = lo;
        while let Some(m) = self.matches.get(hi) {
            if m.cell != cell || m.start >= end {
                break;
            }
            hi += 1;
        }
        (lo, &self.matches[lo..hi])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::console::transcript::model::Model;
    use crate::oai::Message;

    fn all(hay: &str, needle: &str, cs: bool) -> Vec<(usize, usize)> {
        let mut v = Vec::new();
        find_all(hay, needle, cs, &mut |a, b| v.push((a, b)));
        v
    }

    #[test]
    fn smart_case() {
        assert!(!Search::new("error").is_some_and(|s| s.case_sensitive));
        assert!(Search::new("Error").is_some_and(|s| s.case_sensitive));
        assert!(Search::new("").is_none());
        assert_eq!(all("Error error ERROR", "error", false).len(), 3);
        assert_eq!(all("Error error ERROR", "Error", true), vec![(0, 5)]);
    }

    #[test]
    fn non_overlapping_and_unicode() {
        assert_eq!(all("aaaa", "aa", false), vec![(0, 2), (2, 4)]);
        assert_eq!(all("Ünïcödé ünïcödé", "ünï", false), vec![(0, 5), (12, 17)]);
        assert_eq!(all("日本語 x 日本", "日本", false), vec![(0, 6), (12, 18)]);
        // ASCII query in non-ASCII text stays char aligned.
        assert_eq!(all("éxé", "x", false), vec![(2, 3)]);
        // The first byte in either case, a needle at the very end, one longer than the hay.
        assert_eq!(
            all("xAbc aBC abC", "abc", false),
            vec![(1, 4), (5, 8), (9, 12)]
        );
        assert_eq!(all("ab", "abc", false), vec![]);
        assert_eq!(all("::a::", "::", false), vec![(0, 2), (3, 5)]);
    }

    #[test]
    fn rescan_keeps_current_and_steps_wrap() {
        let mut m = Model::new();
        for t in ["alpha beta", "gamma", "beta beta"] {
            m.push_message(&Message::user(t));
        }
        let mut s = Search::new("beta").unwrap_or_else(|| unreachable!());
        s.scan(&m.cells, 0);
        assert_eq!(s.matches.len(), 3);
        assert_eq!(s.first_from(1), Some(1));
        s.current = Some(1);
        assert_eq!(s.step(true).map(|m| m.cell), Some(2));
        assert_eq!(s.step(true).map(|m| m.cell), Some(0), "wraps around");
        assert_eq!(s.step(false).map(|m| m.start), Some(5));
        m.push_message(&Message::user("beta again"));
        s.scan(&m.cells, 3);
        assert_eq!(s.matches.len(), 4);
        assert_eq!(s.current_match().map(|m| (m.cell, m.start)), Some((2, 5)));
        let (lo, ms) = s.overlapping(2, 3, 9);
        assert_eq!((lo, ms.len()), (1, 2));
    }

    #[test]
    fn match_count_is_capped() {
        let mut m = Model::new();
        m.push_message(&Message::user("a".repeat(MAX_MATCHES + 10)));
        let mut s = Search::new("a").unwrap_or_else(|| unreachable!());
        s.scan(&m.cells, 0);
        assert_eq!(s.matches.len(), MAX_MATCHES);
        assert!(s.capped);
    }
}
