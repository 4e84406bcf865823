//! Reading journals of any size without holding them: record by record with where each
//! line lies in the file (so a reader can keep offsets and re-read a record on demand), and
//! the tail alone (so the console shows the end of a 200 MB run before the rest is read).

use super::Record;
use std::io::{BufRead, Read, Seek, SeekFrom};
use std::path::Path;

/// Where one record's line lies in its journal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Span {
    /// Byte offset of the line's first byte.
    pub offset: u64,
    /// Length of the line without its `\n`.
    pub len: u64,
    /// 1-based line number (0 when unknown: a line of a tail read).
    pub line: usize,
}

/// A line as a record: torn (unparseable, or a `torn` line someone wrote) becomes a
/// [`Record::Torn`] marker; blank lines are `None`.
fn parse_line(line: &[u8], number: usize) -> Option<Record> {
    if line.iter().all(u8::is_ascii_whitespace) {
        return None;
    }
    Some(match serde_json::from_slice::<Record>(line) {
        Ok(Record::Torn { .. }) | Err(_) => Record::Torn {
            line: number,
            bytes: line.len(),
        },
        Ok(r) => r,
    })
}

fn cannot(path: &Path, e: std::io::Error) -> String {
    format!("{}: cannot read transcript: {e}", path.display())
}

/// Calls `f` for every record of the journal in order, with its [`Span`], reading one line
/// at a time (memory: the longest line). Only an unreadable file is an error.
pub fn scan_journal(path: &Path, mut f: impl FnMut(Span, Record)) -> Result<(), String> {
    let file = std::fs::File::open(path).map_err(|e| cannot(path, e))?;
    let mut reader = std::io::BufReader::with_capacity(1 << 20, file);
    let mut buf = Vec::new();
    let (mut offset, mut number) = (0u64, 0usize);
    loop {
        buf.clear();
        let n = reader
            .read_until(b'\n', &mut buf)
            .map_err(|e| cannot(path, e))?;
        if n == 0 {
            return Ok(());
        }
        number += 1;
        let line = buf.strip_suffix(b"\n").unwrap_or(&buf);
        let span = Span {
            offset,
            len: line.len() as u64,
            line: number,
        };
        if let Some(r) = parse_line(line, number) {
            f(span, r);
        }
        offset += n as u64;
    }
}

/// Re-reads the one record at `span` (e.g. a tool result's full text for the operator).
pub fn read_record(path: &Path, span: Span) -> Result<Record, String> {
    let mut file = std::fs::File::open(path).map_err(|e| cannot(path, e))?;
    file.seek(SeekFrom::Start(span.offset))
        .map_err(|e| cannot(path, e))?;
    let len =
        usize::try_from(span.len).map_err(|_| format!("{}: line too long", path.display()))?;
    let mut line = vec![0u8; len];
    file.read_exact(&mut line).map_err(|e| cannot(path, e))?;
    parse_line(&line, span.line).ok_or_else(|| format!("{}: no record there", path.display()))
}

/// The records at `spans`, in the order given, through one open file: `f` gets each one (or
/// why it could not be read) and returns false to stop. Fails only when the file cannot be
/// opened.
pub fn read_records(
    path: &Path,
    spans: impl IntoIterator<Item = Span>,
    mut f: impl FnMut(Result<Record, String>) -> bool,
) -> Result<(), String> {
    let mut file = std::fs::File::open(path).map_err(|e| cannot(path, e))?;
    let mut line = Vec::new();
    for span in spans {
        let read = (|| {
            file.seek(SeekFrom::Start(span.offset))
                .map_err(|e| cannot(path, e))?;
            let len = usize::try_from(span.len)
                .map_err(|_| format!("{}: line too long", path.display()))?;
            line.resize(len, 0);
            file.read_exact(&mut line).map_err(|e| cannot(path, e))?;
            parse_line(&line, span.line)
                .ok_or_else(|| format!("{}: no record there", path.display()))
        })();
        if !f(read) {
            break;
        }
    }
    Ok(())
}

/// The end of a journal: its last records, and what the whole file holds around them.
#[derive(Clone, Debug, Default)]
pub struct Tail {
    /// The records of the last whole lines (torn ones marked with line 0).
    pub records: Vec<Record>,
    /// The run's turn cap, from the first line (`meta`), 0 when unknown.
    pub max_turns: u32,
    /// Byte offset where the tail starts (0: the tail is the whole journal).
    pub from: u64,
    /// The journal's size when read.
    pub len: u64,
}

/// Records wanted in a tail before it is good enough to show.
const TAIL_RECORDS: usize = 24;
/// The most a tail read grows to when its last lines are huge.
const TAIL_MAX: u64 = 8 << 20;

/// Reads the last `bytes` of the journal (growing, up to 8 MiB, while that holds fewer than
/// two dozen records) and the turn cap from its first line.
pub fn read_tail(path: &Path, bytes: u64) -> Result<Tail, String> {
    let mut file = std::fs::File::open(path).map_err(|e| cannot(path, e))?;
    let len = file.metadata().map_err(|e| cannot(path, e))?.len();
    let mut want = bytes.max(1);
    loop {
        let from = len.saturating_sub(want);
        // One byte before `from` tells whether the first line read is whole.
        let start = from.saturating_sub(1);
        file.seek(SeekFrom::Start(start))
            .map_err(|e| cannot(path, e))?;
        let mut buf = Vec::with_capacity(usize::try_from(len - start).unwrap_or(0));
        file.read_to_end(&mut buf).map_err(|e| cannot(path, e))?;
        let body = if from == 0 {
            &buf[..]
        } else {
            match buf.iter().position(|b| *b == b'\n') {
                Some(nl) => &buf[nl + 1..],
                None => &[][..],
            }
        };
        let from_line = if from == 0 { 1 } else { 0 };
        let records: Vec<Record> = body
            .split(|b| *b == b'\n')
            .enumerate()
            .filter_map(|(i, l)| parse_line(l, if from_line == 1 { i + 1 } else { 0 }))
            .collect();
        if from == 0 || records.len() >= TAIL_RECORDS || want >= TAIL_MAX {
            let tail_from = len - body.len() as u64;
            let max_turns = first_meta(path).unwrap_or(0);
            return Ok(Tail {
                records,
                max_turns,
                from: if from == 0 { 0 } else { tail_from },
                len,
            });
        }
        want = (want * 4).min(TAIL_MAX);
    }
}

/// The turn cap of the journal's `meta` line (bounded read: a meta line is small).
fn first_meta(path: &Path) -> Option<u32> {
    let file = std::fs::File::open(path).ok()?;
    let mut line = Vec::new();
    std::io::BufReader::new(file.take(64 << 10))
        .read_until(b'\n', &mut line)
        .ok()?;
    match serde_json::from_slice::<Record>(line.trim_ascii_end()).ok()? {
        Record::Meta { max_turns, .. } => Some(max_turns),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agent::transcript::{Journal, read_journal};
    use crate::oai::Message;

    fn journal(dir: &Path, n: usize) -> std::path::PathBuf {
        let path = dir.join("t.jsonl");
        let mut j = Journal::create(&path).unwrap();
        j.append(&Record::Meta {
            schema_version: "v".into(),
            task: "t".into(),
            agent: "a".into(),
            model: "m".into(),
            base_url: "u".into(),
            started_at: "s".into(),
            max_turns: 77,
        })
        .unwrap();
        for i in 0..n {
            j.append(&Record::Message {
                turn: u32::try_from(i).unwrap(),
                message: Message::user(format!("message {i} {}", "x".repeat(100))),
            })
            .unwrap();
        }
        path
    }

    #[test]
    fn scan_gives_each_record_its_line_and_re_reads_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = journal(dir.path(), 50);
        let mut spans = Vec::new();
        scan_journal(&path, |s, _| spans.push(s)).unwrap();
        assert_eq!(spans.len(), 51);
        assert_eq!((spans[0].offset, spans[1].line), (0, 2));
        let Record::Message { message, .. } = read_record(&path, spans[30]).unwrap() else {
            panic!("not a message")
        };
        assert!(message.text().starts_with("message 29 "));
        assert_eq!(read_journal(&path).unwrap().len(), 51);
    }

    #[test]
    fn a_tail_holds_the_last_whole_records_and_the_turn_cap() {
        let dir = tempfile::tempdir().unwrap();
        let path = journal(dir.path(), 400);
        let t = read_tail(&path, 4096).unwrap();
        assert_eq!(t.max_turns, 77);
        assert!(t.from > 0 && t.len == std::fs::metadata(&path).unwrap().len());
        assert!(
            t.records.len() >= TAIL_RECORDS,
            "grown to {}",
            t.records.len()
        );
        assert!(!t.records.iter().any(|r| matches!(r, Record::Torn { .. })));
        let Some(Record::Message { message, .. }) = t.records.last() else {
            panic!("no message")
        };
        assert!(message.text().starts_with("message 399 "));
        // A small journal is its own tail.
        let small = read_tail(&journal(dir.path(), 3), 1 << 20).unwrap();
        assert_eq!((small.from, small.records.len()), (0, 4));
    }
}
