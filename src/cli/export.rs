//! `foreman export-transcript`: a run's JSONL journal as upstream's transcript.json +
//! meta.json, cut by the same 1 MiB ConfigMap rule the cluster uses.

use super::common::{Exit, bad_input};
use crate::agent::transcript::{self, CONFIGMAP_CAP, Record};
use std::path::Path;

pub fn export_transcript(journal: &Path, out: &Path) -> Exit {
    let records = match transcript::read_journal(journal) {
        Ok(r) => r,
        Err(e) => return bad_input(e),
    };
    let turns = records
        .iter()
        .filter_map(|r| match r {
            Record::Turn(t) => Some(t.turn),
            _ => None,
        })
        .max()
        .unwrap_or(0);
    let torn = Record::torn_count(&records);
    if torn > 0 {
        errln!(
            "warning: {}: {torn} torn record(s) skipped; the export is marked truncated",
            journal.display()
        );
    } else if transcript::incomplete(&records) {
        errln!(
            "warning: {}: the journal has no end record (the run was cut short or a write failed); the export is marked truncated",
            journal.display()
        );
    }
    let incomplete = transcript::incomplete(&records) || journal_said_incomplete(&records);
    let e = transcript::export_from(
        &transcript::messages_of(&records),
        turns,
        CONFIGMAP_CAP,
        incomplete,
    );
    let warnings = transcript::warnings_of(&records);
    for w in &warnings {
        // The note can quote names from the model's .git/config: no control bytes to the tty.
        let w = crate::oai::terminal::terminal_safe(w);
        eprintln!("warning: {}: {w}", journal.display());
    }
    let e = e.warned(warnings);
    let write = |name: &str, body: &str| std::fs::write(out.join(name), body);
    if let Err(err) = std::fs::create_dir_all(out)
        .and_then(|()| write("transcript.json", &e.transcript_json))
        .and_then(|()| write("meta.json", &e.meta_json))
    {
        return bad_input(format!("{}: {err}", out.display()));
    }
    outln!("{}", e.meta_json);
    Exit::Ok
}

/// The run's own Result said writes to this journal failed (`extra.journalIncomplete`).
fn journal_said_incomplete(records: &[Record]) -> bool {
    records.iter().any(
        |r| matches!(r, Record::End { result } if result["extra"]["journalIncomplete"] == true),
    )
}
