//! Opening a finished run's journal without freezing the console, whatever its size.
//!
//! ```text
//! key ─► backend: BackendEvent::Journal{path} ─► App ─► Effect::LoadJournal ─► spawn_blocking:
//!    tail(path)  last ~256 KiB parsed, replayed and laid out ──► JobEvent (shown at once)
//!    full(path)  every record, one line at a time, straight into cells ──► JobEvent (replaces)
//! ```
//!
//! Both parts are laid out for the pane's last size off the UI thread, so installing one
//! costs the UI a pointer swap and a frame of the visible rows. The full build keeps compact
//! cells: a tool result's original payload (its display text is reformatted) is not copied
//! but found again in the journal by its line's span when asked for ([`Transcript::raw_text`]),
//! and of its display text only what the collapsed cell shows is kept: opening the cell
//! builds the rest again from that line ([`Transcript::restore_cells`]), closing it drops it,
//! and search reads the hidden parts from the journal off the UI thread (`search.rs`).

use super::Transcript;
use super::replay::Items;
use crate::agent::transcript::{Record, Span, read_record, read_records, read_tail, scan_journal};
use crate::oai::Role;
use ratatui::layout::Rect;
use std::path::{Path, PathBuf};

/// What the tail read aims at first (grown when the last lines are huge).
pub const TAIL_BYTES: u64 = 256 << 10;

/// One built part of a journal's transcript.
#[derive(Debug)]
pub struct Part {
    pub transcript: Transcript,
    /// False for the tail shown while the rest loads.
    pub complete: bool,
    /// The last turn rule (turn, cap), for the pane's title.
    pub turn: Option<(u32, u32)>,
    /// Records read (every one for a complete part).
    pub records: usize,
    /// The journal's size in bytes.
    pub journal_bytes: u64,
    /// [`Transcript::heap_bytes`], counted off the UI thread (O(cells)).
    pub heap_bytes: usize,
}

/// Where the tool results of a journal-built transcript came from.
#[derive(Clone, Debug, Default)]
pub(crate) struct Sources {
    pub path: Option<PathBuf>,
    /// (cell index, the journal line of its message), by cell index.
    pub spans: Vec<(usize, Span)>,
}

/// The journal's last records as a transcript, with a line saying the rest is on its way.
pub fn tail(path: &Path, area: Rect) -> Result<Part, String> {
    let tail = read_tail(path, TAIL_BYTES)?;
    let mut t = Transcript::new();
    if tail.from > 0 {
        t.status(&format!(
            "showing the last {} of this {} journal; the earlier part is loading …",
            human(tail.len - tail.from),
            human(tail.len)
        ));
    }
    let mut items = Items {
        max_turns: tail.max_turns,
        ..Items::default()
    };
    let mut turn = None;
    let records = tail.records.len();
    for r in tail.records {
        items.convert(r, &mut |i| {
            if let super::JournalItem::TurnStarted { turn: n, max_turns } = i {
                turn = Some((n, max_turns));
            }
            t.apply(&i);
        });
    }
    t.prepare(area);
    t.shrink();
    Ok(Part {
        heap_bytes: t.heap_bytes(),
        transcript: t,
        complete: tail.from == 0,
        turn,
        records,
        journal_bytes: tail.len,
    })
}

/// The whole journal as a transcript, read one line at a time (memory: the cells, not the
/// records) and laid out for `area`.
pub fn full(path: &Path, area: Rect) -> Result<Part, String> {
    let mut t = Transcript::new();
    let mut items = Items::default();
    let (mut turn, mut records, mut bytes) = (None, 0usize, 0u64);
    let mut spans = Vec::new();
    scan_journal(path, |span, r| {
        records += 1;
        bytes = span.offset + span.len + 1;
        let tool = matches!(&r, Record::Message { message, .. } if message.role == Role::Tool);
        items.convert(r, &mut |i| {
            if let super::JournalItem::TurnStarted { turn: n, max_turns } = i {
                turn = Some((n, max_turns));
            }
            t.apply(&i);
        });
        if tool && let Some(i) = t.model.cells.len().checked_sub(1) {
            // Its payload stays in the journal; the cell keeps what its collapsed form shows.
            let c = &mut t.model.cells[i];
            c.raw = None;
            c.keep_preview();
            spans.push((i, span));
        }
    })?;
    t.sources = Sources {
        path: Some(path.to_path_buf()),
        spans,
    };
    t.prepare(area);
    t.shrink();
    Ok(Part {
        heap_bytes: t.heap_bytes(),
        transcript: t,
        complete: true,
        turn,
        records,
        journal_bytes: bytes,
    })
}

impl Transcript {
    /// Drops the spare capacity of a built part's per-cell vectors: grown by doubling while
    /// the journal was read, they held up to twice their cells (a quarter of a finished
    /// transcript's heap), and the part is only read from now on.
    pub(crate) fn shrink(&mut self) {
        self.model.cells.shrink_to_fit();
        self.layout.shrink();
        self.sources.spans.shrink_to_fit();
    }

    /// The journal line cell `i` was built from, if it is a journal-built tool result.
    pub(crate) fn span_of(&self, i: usize) -> Option<Span> {
        let spans = &self.sources.spans;
        let k = spans.binary_search_by_key(&i, |s| s.0).ok()?;
        Some(spans[k].1)
    }

    /// Brings back the whole of each preview among `cells` from its journal line, in one
    /// pass through the file. One that cannot be read (the journal moved or was rewritten)
    /// stays a preview, its hidden lines still counted; the first such failure is kept for the
    /// console to say ([`Transcript::take_notice`]).
    pub(crate) fn restore_cells(&mut self, cells: impl IntoIterator<Item = usize>) {
        let Some(path) = self.sources.path.clone() else {
            return;
        };
        let want: Vec<(usize, Span)> = cells
            .into_iter()
            .filter(|&i| self.model.cells.get(i).is_some_and(|c| c.more > 0))
            .filter_map(|i| Some((i, self.span_of(i)?)))
            .collect();
        if want.is_empty() {
            return;
        }
        let mut next = want.iter().map(|w| w.0);
        let mut failed = None;
        let model = &mut self.model;
        let opened = read_records(&path, want.iter().map(|w| w.1), |r| {
            let Some(i) = next.next() else { return false };
            let whole = match super::cell::whole_tool_result(r) {
                Ok(c) => c,
                Err(e) => {
                    failed.get_or_insert(e);
                    return true;
                }
            };
            let c = &mut model.cells[i];
            if whole.text.starts_with(&c.text)
                && whole.paras.len() == c.paras.len() + c.more as usize
            {
                c.restore(whole);
                // Its search matches stand: the text held before is a prefix of this one.
                model.touch(i, false);
            } else {
                failed.get_or_insert_with(|| "its journal changed since it was read".to_string());
            }
            true
        });
        if let Some(e) = opened.err().or(failed) {
            self.notice = Some(format!("cannot show the whole tool result: {e}"));
        }
    }

    /// Drops again the hidden part of each journal-built tool result among `cells` that is
    /// collapsed (it is built again when opened).
    pub(crate) fn keep_previews(&mut self, cells: impl IntoIterator<Item = usize>) {
        for i in cells {
            if self.span_of(i).is_some()
                && let Some(c) = self.model.cells.get_mut(i)
                && c.is_collapsed()
            {
                let before = c.more;
                c.keep_preview();
                if c.more != before {
                    self.model.touch(i, false);
                }
            }
        }
    }

    /// The original payload of cell `i` (a tool result's JSON as the tool returned it), read
    /// back from the journal when the cell does not hold it.
    pub fn raw_text(&self, i: usize) -> Option<String> {
        let spans = &self.sources.spans;
        if let Ok(k) = spans.binary_search_by_key(&i, |s| s.0)
            && let Some(path) = self.sources.path.as_deref()
        {
            return match read_record(path, spans[k].1) {
                Ok(Record::Message { message, .. }) => Some(message.text().to_string()),
                _ => None,
            };
        }
        self.cell(i).map(|(_, text)| text.to_string())
    }

    /// Bytes this transcript holds on the heap (cells, their layout, search matches): what
    /// the console's transcript budget counts.
    pub fn heap_bytes(&self) -> usize {
        let cells: usize = self
            .model
            .cells
            .iter()
            .map(super::cell::Cell::heap_bytes)
            .sum();
        let cells = cells + self.model.cells.capacity() * size_of::<super::cell::Cell>();
        let spans = self.sources.spans.capacity() * size_of::<(usize, Span)>();
        let search = self.search.as_ref().map_or(0, |s| {
            s.matches.capacity() * size_of::<super::search::Match>()
        });
        cells + self.layout.heap_bytes() + spans + search
    }
}

fn human(bytes: u64) -> String {
    if bytes >= 1 << 20 {
        format!("{:.1} MB", bytes as f64 / f64::from(1 << 20))
    } else {
        format!("{} KB", bytes.div_ceil(1024))
    }
}

#[cfg(test)]
mod tests {
    use super::Transcript;
    use crate::agent::transcript::{Journal, Record};
    use crate::oai::Message;
    use ratatui::layout::Rect;
    use std::path::Path;

    const AREA: Rect = Rect::new(0, 0, 80, 20);

    /// 40 turns, each a tool result of 12 output lines; turn 30's 9th line says NEEDLE.
    fn deep_journal(path: &Path) {
        let mut j = Journal::create(path).unwrap();
        for turn in 1..=40 {
            let m = Message::assistant(format!("reply {turn}"));
            j.append(&Record::Message { turn, message: m }).unwrap();
            let out: String = (1..=12)
                .map(|l| match (turn, l) {
                    (30, 9) => "NEEDLE in the haystack\n".to_string(),
                    _ => format!("case {turn}.{l} ok\n"),
                })
                .collect();
            let payload = serde_json::json!({"exit_code": 0, "stdout": out}).to_string();
            let r = Message::tool(format!("c{turn}"), "bash", payload);
            j.append(&Record::Message { turn, message: r }).unwrap();
        }
    }

    fn tool_cells(t: &Transcript) -> Vec<usize> {
        t.sources.spans.iter().map(|s| s.0).collect()
    }

    fn holds(t: &Transcript, word: &str) -> bool {
        t.model.cells.iter().any(|c| c.text.contains(word))
    }

    #[test]
    fn previews_hold_the_collapsed_lines_only_and_search_still_covers_everything() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.jsonl");
        deep_journal(&path);
        let mut lazy = super::full(&path, AREA).unwrap().transcript;
        assert_eq!(tool_cells(&lazy).len(), 40);
        for i in tool_cells(&lazy) {
            let c = &lazy.model.cells[i];
            assert!(
                c.more > 0 && c.paras.len() == 3,
                "cell {i}: {} + {}",
                c.paras.len(),
                c.more
            );
        }
        assert!(!holds(&lazy, "NEEDLE"));
        // The same transcript with every tool result whole, as a live run holds it.
        let mut whole = super::full(&path, AREA).unwrap().transcript;
        whole.restore_cells(tool_cells(&whole));
        assert!(whole.take_notice().is_none());
        assert!(holds(&whole, "NEEDLE") && whole.model.cells.iter().all(|c| c.more == 0));
        let text = |t: &Transcript| -> usize {
            tool_cells(t)
                .iter()
                .map(|&i| t.model.cells[i].text.len())
                .sum()
        };
        assert!(
            text(&lazy) * 3 < text(&whole),
            "{} of {}",
            text(&lazy),
            text(&whole)
        );
        assert!(lazy.heap_bytes() < whole.heap_bytes());

        for q in ["NEEDLE", "ok", "case 3", "exit_code", "12 ok", "reply"] {
            let want = whole.search(q);
            assert!(whole.journal_search().is_none(), "nothing hidden there");
            let shown = lazy.search(q);
            let job = lazy.journal_search().expect("the hidden parts to search");
            assert!(lazy.search_status().unwrap().searching);
            assert!(lazy.journal_search().is_none(), "asked once");
            let hits = job.run();
            assert!(hits.error.is_none());
            assert!(lazy.add_hits(hits));
            let s = lazy.search_status().unwrap();
            assert_eq!(
                (s.total, s.searching),
                (want, false),
                "{q}: {shown} shown at first"
            );
        }
        // An older search's answer is not mixed into a newer one.
        lazy.search("NEEDLE");
        let old = lazy.journal_search().unwrap();
        lazy.search("haystack");
        let _new = lazy.journal_search().unwrap();
        assert!(!lazy.add_hits(old.run()));
        // Jumping to the match opens its cell, read back from the journal.
        lazy.search("NEEDLE");
        let hits = lazy.journal_search().unwrap().run();
        assert!(lazy.add_hits(hits));
        lazy.prepare(AREA);
        let s = lazy.search_status().unwrap();
        assert_eq!((s.current, s.total), (1, 1));
        assert!(holds(&lazy, "NEEDLE in the haystack"));
    }

    #[test]
    fn opening_a_preview_reads_it_back_and_closing_it_drops_it_again() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.jsonl");
        deep_journal(&path);
        let mut t = super::full(&path, AREA).unwrap().transcript;
        let i = tool_cells(&t)[29];
        let hidden = t.model.cells[i].more;
        t.view.selected = Some(i);
        assert!(t.toggle_selected());
        assert_eq!(t.model.cells[i].more, 0);
        assert!(t.model.cells[i].text.contains("NEEDLE"));
        t.prepare(AREA);
        assert!(
            t.layout.height(i) > 12,
            "every line laid out: {}",
            t.layout.height(i)
        );
        assert!(t.toggle_selected());
        assert_eq!(t.model.cells[i].more, hidden);
        assert!(!holds(&t, "NEEDLE"));

        t.set_all_expanded(true);
        assert!(t.model.cells.iter().all(|c| c.more == 0));
        t.set_all_expanded(false);
        assert!(tool_cells(&t).iter().all(|&i| t.model.cells[i].more > 0));

        // The journal is gone: the cell opens as far as it can and says what is missing.
        std::fs::remove_file(&path).unwrap();
        assert!(t.toggle_selected());
        let notice = t.take_notice().expect("a notice");
        assert!(
            notice.starts_with("cannot show the whole tool result"),
            "{notice}"
        );
        assert_eq!(t.model.cells[i].more, hidden);
        t.prepare(AREA);
        let rows = &t.layout.cells[i].rows;
        assert_eq!(
            rows.last(),
            Some(&super::super::cache::Row::MoreLines { hidden })
        );
    }

    #[test]
    fn a_full_part_holds_no_spare_capacity() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.jsonl");
        let mut j = Journal::create(&path).unwrap();
        for turn in 1..=100 {
            let m = Message::assistant(format!("reply {turn}"));
            j.append(&Record::Message { turn, message: m }).unwrap();
            let r = Message::tool(format!("c{turn}"), "bash", "{\"exit_code\":0}".to_string());
            j.append(&Record::Message { turn, message: r }).unwrap();
        }
        drop(j);
        let t = super::full(&path, Rect::new(0, 0, 80, 20))
            .unwrap()
            .transcript;
        let n = t.model.cells.len();
        assert!(n >= 200, "{n} cells");
        assert_eq!(t.model.cells.capacity(), n);
        assert_eq!(t.layout.cells.capacity(), n);
        assert_eq!(t.sources.spans.capacity(), t.sources.spans.len());
        assert_eq!(t.sources.spans.len(), 100);
    }
}
