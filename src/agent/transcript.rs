//! Transcript persistence.
//!
//! Two shapes: a local JSONL journal appended as each message lands (one `write` per record,
//! no buffering, so a crash or `kill -9` loses at most the record in flight), and upstream's
//! `transcript.json` / `meta.json` export with the ~1 MiB ConfigMap cut rule, rewritten here so
//! that it always terminates (upstream §11.9 loops forever when two messages exceed the cap).

use super::events::TurnStats;
use crate::oai::Message;
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};

mod read;
pub use read::{Span, Tail, read_record, read_records, read_tail, scan_journal};

/// Schema tag shared by the journal and the export.
pub const SCHEMA: &str = "foreman.transcript.v1";
/// Upstream's cap on the marshalled `transcript.json`: 1 MiB minus 16 KiB of headroom for the
/// rest of the ConfigMap.
pub const CONFIGMAP_CAP: usize = 1024 * 1024 - 16 * 1024;

/// One line of the JSONL journal.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum Record {
    /// First line: what ran where.
    #[serde(rename_all = "camelCase")]
    Meta {
        schema_version: String,
        task: String,
        agent: String,
        model: String,
        base_url: String,
        started_at: String,
        /// The turn cap (absent in journals of older builds).
        #[serde(default)]
        max_turns: u32,
    },
    /// A message appended to the conversation (system, user, assistant, tool, nudges).
    Message { turn: u32, message: Message },
    /// Accounting for one finished chat turn.
    Turn(TurnStats),
    /// A failed attempt that was retried.
    Retry {
        turn: u32,
        attempt: u32,
        reason: String,
    },
    /// Something the operator must know about the run that is not a message, e.g. that the
    /// workspace's `.git/config` changed after the clone (so replay and export say it too).
    Warning { message: String },
    /// One run of the coder gate after a GO commit (issue 12).
    Gate(crate::api::gate::GateRun),
    /// Last line: how the run ended (the Result envelope).
    End { result: serde_json::Value },
    /// Never written: what [`read_journal`] puts where a line does not parse (a write torn by
    /// a full disk or a crash), so readers skip it, count it and show where it was.
    Torn { line: usize, bytes: usize },
}

impl Record {
    /// How many records of a journal were torn.
    pub fn torn_count(records: &[Record]) -> usize {
        records
            .iter()
            .filter(|r| matches!(r, Record::Torn { .. }))
            .count()
    }
}

/// Append-only JSONL writer. A failed append is counted ([`Journal::failed_writes`]) so the
/// run can say its journal is incomplete; the next append first ends the torn line, so one
/// failure never swallows the records after it.
pub struct Journal {
    file: std::fs::File,
    path: PathBuf,
    failed: usize,
    torn: bool,
}

impl Journal {
    /// Creates (truncating) the journal at `path`, creating parent directories.
    pub fn create(path: &Path) -> std::io::Result<Journal> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let file = std::fs::OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(true)
            .open(path)?;
        Ok(Journal {
            file,
            path: path.to_path_buf(),
            failed: 0,
            torn: false,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// [`Journal::append`] for a record the run goes on without: the live transcript already
    /// showed it, so a failed write is logged rather than ending the run.
    pub fn append_or_warn(&mut self, record: &Record) {
        if let Err(e) = self.append(record) {
            tracing::warn!("transcript journal write failed: {e}");
        }
    }

    /// Writes one record as one line with a single `write_all`, so the OS holds it even if
    /// this process dies right after.
    pub fn append(&mut self, record: &Record) -> std::io::Result<()> {
        let mut line = Vec::new();
        if self.torn {
            line.push(b'\n');
        }
        serde_json::to_writer(&mut line, record).map_err(std::io::Error::other)?;
        line.push(b'\n');
        let r = self.file.write_all(&line);
        self.torn = r.is_err();
        if r.is_err() {
            self.failed += 1;
        }
        r
    }

    /// Appends that failed (0: the journal holds every record of the run).
    pub fn failed_writes(&self) -> usize {
        self.failed
    }
}

/// Reads a journal back. A line that does not parse (a torn write anywhere, or the record in
/// flight at a crash) never hides the rest: it is skipped and a [`Record::Torn`] marks where it
/// was. Only an unreadable file is an error.
pub fn read_journal(path: &Path) -> Result<Vec<Record>, String> {
    let mut out = Vec::new();
    scan_journal(path, |_, r| out.push(r))?;
    Ok(out)
}

/// Whether a journal is short of its run: a torn record, or no `end` line (the run was cut
/// short or its last write failed).
pub fn incomplete(records: &[Record]) -> bool {
    Record::torn_count(records) > 0 || !records.iter().any(|r| matches!(r, Record::End { .. }))
}

/// The journal's warnings, in order.
pub fn warnings_of(records: &[Record]) -> Vec<String> {
    records
        .iter()
        .filter_map(|r| match r {
            Record::Warning { message } => Some(message.clone()),
            _ => None,
        })
        .collect()
}

/// The conversation held by a journal.
pub fn messages_of(records: &[Record]) -> Vec<Message> {
    records
        .iter()
        .filter_map(|r| match r {
            Record::Message { message, .. } => Some(message.clone()),
            _ => None,
        })
        .collect()
}

/// `transcript.json` as upstream writes it.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct TranscriptDoc {
    pub schema_version: String,
    pub turn_count: u32,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub truncated: bool,
    pub messages: Vec<Message>,
}

/// `meta.json` as upstream writes it.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct TranscriptMeta {
    pub schema_version: String,
    pub turn_count: u32,
    pub truncated: bool,
    pub bytes_stored: usize,
    /// The journal's warnings (a foreman extension; absent when there are none, as upstream).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// Exported pair, already serialised.
#[derive(Clone, Debug)]
pub struct Export {
    pub transcript_json: String,
    pub meta_json: String,
    pub truncated: bool,
}

impl Export {
    /// The same export with `warnings` in `meta.json`.
    pub fn warned(mut self, warnings: Vec<String>) -> Export {
        if let Ok(mut meta) = serde_json::from_str::<TranscriptMeta>(&self.meta_json) {
            meta.warnings = warnings;
            if let Ok(j) = serde_json::to_string(&meta) {
                self.meta_json = j;
            }
        }
        self
    }
}

/// Builds `transcript.json` + `meta.json` under `cap` bytes.
///
/// Steps, each only if still over the cap: keep the first two messages, a marker and the last
/// ten (upstream); shrink the kept tail one message at a time down to first + marker + last;
/// then repeatedly halve the largest text field; finally keep only the marker. Every step
/// strictly shrinks the document, so this always terminates.
pub fn export(messages: &[Message], turns: u32, cap: usize) -> Export {
    export_from(messages, turns, cap, false)
}

/// [`export`] of a journal that is already short of its run (`incomplete`): marked
/// truncated whatever its size, so the export never claims a whole transcript it lacks.
pub fn export_from(messages: &[Message], turns: u32, cap: usize, incomplete: bool) -> Export {
    let mut doc = TranscriptDoc {
        schema_version: SCHEMA.into(),
        turn_count: turns,
        truncated: incomplete,
        messages: messages.to_vec(),
    };
    let size = |d: &TranscriptDoc| serde_json::to_vec(d).map(|v| v.len()).unwrap_or(usize::MAX);

    if size(&doc) > cap && messages.len() > 12 {
        doc.truncated = true;
        let dropped = messages.len() - 12;
        doc.messages = cut(messages, 2, 10, dropped, turns);
    }
    if size(&doc) > cap {
        doc.truncated = true;
        let n = messages.len();
        let mut tail = 10.min(n.saturating_sub(1));
        while size(&doc) > cap && tail > 1 {
            tail -= 1;
            let head = 1.min(n - tail);
            doc.messages = cut(messages, head, tail, n - head - tail, turns);
        }
    }
    while size(&doc) > cap {
        doc.truncated = true;
        if !shrink_largest(&mut doc.messages) {
            doc.messages = vec![marker(messages.len(), turns)];
            break;
        }
    }
    let transcript_json = serde_json::to_string(&doc).unwrap_or_default();
    let meta = TranscriptMeta {
        schema_version: SCHEMA.into(),
        turn_count: turns,
        truncated: doc.truncated,
        bytes_stored: transcript_json.len(),
        warnings: Vec::new(),
    };
    Export {
        meta_json: serde_json::to_string(&meta).unwrap_or_default(),
        transcript_json,
        truncated: doc.truncated,
    }
}

fn marker(dropped: usize, turns: u32) -> Message {
    Message::system(format!(
        "[transcript truncated: {dropped} middle messages dropped to fit the 1 MiB ConfigMap budget; {turns} turns total]"
    ))
}

fn cut(messages: &[Message], head: usize, tail: usize, dropped: usize, turns: u32) -> Vec<Message> {
    let mut out = Vec::with_capacity(head + tail + 1);
    out.extend_from_slice(&messages[..head]);
    out.push(marker(dropped, turns));
    out.extend_from_slice(&messages[messages.len() - tail..]);
    out
}

/// Halves the largest content or arguments string; false when nothing is left to shrink.
fn shrink_largest(messages: &mut [Message]) -> bool {
    #[derive(Clone, Copy)]
    enum Field {
        Content(usize),
        Args(usize, usize),
    }
    let mut best: Option<(usize, Field)> = None;
    for (i, m) in messages.iter().enumerate() {
        let len = m.content.as_ref().map_or(0, String::len);
        if len > best.map_or(64, |b| b.0) {
            best = Some((len, Field::Content(i)));
        }
        for (j, c) in m.tool_calls().iter().enumerate() {
            let len = c.function.arguments.len();
            if len > best.map_or(64, |b| b.0) {
                best = Some((len, Field::Args(i, j)));
            }
        }
    }
    match best {
        None => false,
        Some((_, Field::Content(i))) => {
            if let Some(c) = messages[i].content.as_mut() {
                *c = halve(c);
            }
            true
        }
        Some((_, Field::Args(i, j))) => {
            if let Some(calls) = messages[i].tool_calls.as_mut() {
                // Half a JSON document is not JSON; keep the history replayable.
                calls[j].function.arguments = r#"{"truncated":true}"#.into();
            }
            true
        }
    }
}

/// Keeps the head and tail quarter of `s` around an omission marker (char-boundary safe).
fn halve(s: &str) -> String {
    let keep = s.len() / 4;
    let mut head = keep;
    while !s.is_char_boundary(head) {
        head -= 1;
    }
    let mut tail = s.len() - keep;
    while !s.is_char_boundary(tail) {
        tail += 1;
    }
    format!(
        "{}\n... [{} bytes omitted] ...\n{}",
        &s[..head],
        tail - head,
        &s[tail..]
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oai::ToolCall;

    fn convo(n: usize, each: usize) -> Vec<Message> {
        (0..n)
            .map(|i| match i {
                0 => Message::system("sys"),
                1 => Message::user("task"),
                _ => Message::tool(format!("c{i}"), "bash", "x".repeat(each)),
            })
            .collect()
    }

    #[test]
    fn small_transcript_is_exported_whole() {
        let msgs = convo(5, 10);
        let e = export(&msgs, 2, CONFIGMAP_CAP);
        assert!(!e.truncated);
        let doc: TranscriptDoc = serde_json::from_str(&e.transcript_json).unwrap();
        assert_eq!(doc.messages, msgs);
        assert!(!e.transcript_json.contains("truncated"));
        let meta: TranscriptMeta = serde_json::from_str(&e.meta_json).unwrap();
        assert_eq!(meta.bytes_stored, e.transcript_json.len());
        assert!(!meta.truncated);
    }

    #[test]
    fn large_transcript_keeps_first_two_marker_and_last_ten() {
        let msgs = convo(200, 20_000);
        let e = export(&msgs, 99, CONFIGMAP_CAP);
        assert!(e.truncated && e.transcript_json.len() <= CONFIGMAP_CAP);
        let doc: TranscriptDoc = serde_json::from_str(&e.transcript_json).unwrap();
        assert_eq!(doc.messages.len(), 13);
        assert_eq!(doc.messages[..2], msgs[..2]);
        assert_eq!(doc.messages[3..], msgs[190..]);
        assert!(
            doc.messages[2]
                .text()
                .contains("188 middle messages dropped")
        );
        assert!(doc.messages[2].text().contains("99 turns total"));
    }

    #[test]
    fn terminates_when_first_and_last_alone_exceed_the_cap() {
        let mut msgs = convo(20, 10);
        msgs[0] = Message::system("s".repeat(3 * 1024 * 1024));
        let last = msgs.len() - 1;
        msgs[last] = Message::tool("c", "bash", "t".repeat(3 * 1024 * 1024));
        let e = export(&msgs, 10, CONFIGMAP_CAP);
        assert!(e.truncated);
        assert!(e.transcript_json.len() <= CONFIGMAP_CAP);
        let doc: TranscriptDoc = serde_json::from_str(&e.transcript_json).unwrap();
        assert!(
            doc.messages
                .iter()
                .any(|m| m.text().contains("bytes omitted"))
        );
    }

    #[test]
    fn huge_tool_arguments_are_replaced_by_valid_json() {
        let mut msgs = convo(3, 10);
        let mut a = Message::assistant("");
        a.tool_calls = Some(vec![ToolCall::new(
            "c",
            "write_file",
            "y".repeat(2 * 1024 * 1024),
        )]);
        msgs.push(a);
        let e = export(&msgs, 1, CONFIGMAP_CAP);
        assert!(e.transcript_json.len() <= CONFIGMAP_CAP);
        let doc: TranscriptDoc = serde_json::from_str(&e.transcript_json).unwrap();
        let args = &doc.messages.last().unwrap().tool_calls()[0]
            .function
            .arguments;
        assert!(serde_json::from_str::<serde_json::Value>(args).is_ok());
    }

    #[test]
    fn tiny_cap_still_terminates() {
        let msgs = convo(30, 1000);
        let e = export(&msgs, 3, 10);
        assert!(e.truncated);
        let doc: TranscriptDoc = serde_json::from_str(&e.transcript_json).unwrap();
        assert_eq!(doc.messages.len(), 1);
    }

    #[test]
    fn journal_round_trips_and_skips_a_torn_last_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.jsonl");
        let mut j = Journal::create(&path).unwrap();
        j.append(&Record::Message {
            turn: 0,
            message: Message::system("s"),
        })
        .unwrap();
        j.append(&Record::Retry {
            turn: 1,
            attempt: 1,
            reason: "500".into(),
        })
        .unwrap();
        drop(j);
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        f.write_all(br#"{"type":"message","turn":1,"mess"#).unwrap();
        let recs = read_journal(&path).unwrap();
        assert_eq!(recs.len(), 3);
        assert_eq!(recs[2], Record::Torn { line: 3, bytes: 32 });
        assert_eq!(messages_of(&recs), vec![Message::system("s")]);
        assert!(incomplete(&recs));
    }

    /// `turn` lines exactly as journals written before TurnStats hold them (the record was a
    /// struct variant then): they read back, and are written again byte for byte.
    #[test]
    fn turn_lines_of_existing_journals_read_and_write_back_unchanged() {
        let full = r#"{"type":"turn","turn":2,"elapsedMs":780,"attempts":2,"usage":{"prompt_tokens":1762,"completion_tokens":33,"total_tokens":1795},"timings":{"prompt_n":100.0,"prompt_ms":50.0,"prompt_per_second":2000.0,"predicted_n":33.0,"predicted_ms":461.5,"predicted_per_second":71.5}}"#;
        let bare = r#"{"type":"turn","turn":1,"elapsedMs":12,"attempts":1}"#;
        let Record::Turn(t) = serde_json::from_str::<Record>(full).unwrap() else {
            panic!("not a turn record")
        };
        assert_eq!((t.turn, t.elapsed_ms, t.attempts), (2, 780, 2));
        assert_eq!(t.usage.map(|u| u.completion_tokens), Some(33));
        assert_eq!(t.timings.and_then(|t| t.predicted_per_second), Some(71.5));
        for line in [full, bare] {
            let r: Record = serde_json::from_str(line).unwrap();
            assert_eq!(serde_json::to_string(&r).unwrap(), line);
        }
    }

    #[test]
    fn a_torn_record_in_the_middle_is_skipped_counted_and_marked() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.jsonl");
        std::fs::write(&path, "{\"type\":\"retry\",\"turn\":1,\"attempt\":1,\"reason\":\"x\"}\nnot json\n{\"type\":\"retry\",\"turn\":1,\"attempt\":2,\"reason\":\"x\"}\n{\"type\":\"end\",\"result\":{}}\n").unwrap();
        let recs = read_journal(&path).unwrap();
        assert_eq!(recs.len(), 4);
        assert_eq!(recs[1], Record::Torn { line: 2, bytes: 8 });
        assert!(matches!(recs[2], Record::Retry { attempt: 2, .. }));
        assert_eq!(Record::torn_count(&recs), 1);
        assert!(incomplete(&recs));
    }

    /// A write that fails half-way (a full disk) leaves a torn line; the next append ends it
    /// first, so the records after the failure still read back.
    #[test]
    fn records_after_a_failed_write_stay_readable() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.jsonl");
        let mut j = Journal::create(&path).unwrap();
        j.append(&Record::Retry {
            turn: 1,
            attempt: 1,
            reason: "a".into(),
        })
        .unwrap();
        // What a torn write leaves: half a record, and the journal told it failed.
        j.file.write_all(br#"{"type":"retry","tu"#).unwrap();
        j.torn = true;
        j.failed += 1;
        j.append(&Record::Retry {
            turn: 1,
            attempt: 2,
            reason: "b".into(),
        })
        .unwrap();
        assert_eq!(j.failed_writes(), 1);
        let recs = read_journal(&path).unwrap();
        assert!(matches!(recs[1], Record::Torn { line: 2, .. }), "{recs:?}");
        assert!(
            matches!(recs[2], Record::Retry { attempt: 2, .. }),
            "{recs:?}"
        );
    }

    #[test]
    fn an_incomplete_journal_exports_as_truncated() {
        let msgs = convo(3, 10);
        assert!(!export(&msgs, 1, CONFIGMAP_CAP).truncated);
        let e = export_from(&msgs, 1, CONFIGMAP_CAP, true);
        assert!(e.truncated && e.meta_json.contains("\"truncated\":true"));
    }

    #[test]
    fn warnings_reach_meta_json_only_when_there_are_some() {
        let msgs = convo(3, 10);
        let plain = export(&msgs, 1, CONFIGMAP_CAP);
        assert!(!plain.meta_json.contains("warnings"), "upstream's shape");
        let recs = vec![
            Record::Warning {
                message: "the workspace's .git/config changed".into(),
            },
            Record::End {
                result: serde_json::json!({}),
            },
        ];
        let w = warnings_of(&recs);
        assert_eq!(w, ["the workspace's .git/config changed"]);
        let meta: TranscriptMeta =
            serde_json::from_str(&plain.warned(w.clone()).meta_json).unwrap();
        assert_eq!(meta.warnings, w);
    }
}
