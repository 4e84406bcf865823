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
//! but found again in the journal by its line's span when asked for ([`Transcript::raw_text`]).

use super::Transcript;
use super::replay::Items;
use crate::agent::transcript::{Record, Span, read_record, read_tail, scan_journal};
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
            // Its raw payload stays in the journal; the cell keeps the display text.
            t.model.cells[i].raw = None;
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
    use crate::agent::transcript::{Journal, Record};
    use crate::oai::Message;
    use ratatui::layout::Rect;

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
