//! `submit_result`: the terminal tool. Invalid input is a tool error (not a crash or a silent
//! default) so the model gets another turn to submit properly.

use super::args::{Args, json_kind};
use super::{ModelVerdict, Submission, ToolError, ToolOutput};
use crate::oai::ToolSpec;
use serde_json::{Value, json};

pub(crate) const NAME: &str = "submit_result";
/// Upper bound on `summary`, in bytes (upstream "one sentence, 1–280 chars", checked as bytes).
pub(crate) const SUMMARY_MAX: usize = 280;

pub(crate) fn spec() -> ToolSpec {
    ToolSpec::function(
        NAME,
        "Finish the task and report the outcome. Call this exactly once, as your last action. \
         verdict: GO if the change is done and verified, NO-GO if it should not or cannot be \
         done, ERROR if something prevented you from working. For GO, give commit_message: \
         a subject line, a blank line, a body, and `Fixes #N` when there is an issue.",
        json!({
            "type": "object",
            "properties": {
                "verdict": {"type": "string", "enum": ["GO", "NO-GO", "ERROR"], "description": "Outcome of the task."},
                "summary": {"type": "string", "minLength": 1, "maxLength": SUMMARY_MAX, "description": "One sentence, 1-280 characters, saying what was done or why not."},
                "commit_message": {"type": "string", "description": "Full commit message (subject, blank line, body, `Fixes #N`). Required in practice for GO."},
                "extra": {"type": "object", "description": "Optional structured details."}
            },
            "required": ["verdict", "summary"],
            "additionalProperties": false
        }),
    )
}

pub(crate) fn run(args: &Value) -> Result<ToolOutput, ToolError> {
    let a = Args::new(
        NAME,
        args,
        &["verdict", "summary", "commit_message", "extra"],
    )?;
    let verdict_s = a.str("verdict")?;
    let verdict = ModelVerdict::parse(verdict_s).ok_or_else(|| {
        a.err(format!(
            "\"verdict\" must be one of \"GO\", \"NO-GO\", \"ERROR\", got {verdict_s:?}"
        ))
    })?;
    let summary = a.str("summary")?;
    if summary.trim().is_empty() {
        return Err(a.err("\"summary\" must be a non-empty sentence"));
    }
    if summary.len() > SUMMARY_MAX {
        return Err(a.err(format!(
            "\"summary\" is {} bytes; shorten it to at most {SUMMARY_MAX} (one sentence) and put \
             details in commit_message or extra",
            summary.len()
        )));
    }
    let commit_message = a.opt_str("commit_message")?.map(str::to_string);
    let extra = match a.opt_value("extra") {
        None => None,
        Some(v @ Value::Object(_)) => Some(v.clone()),
        Some(other) => {
            return Err(a.err(format!(
                "\"extra\" must be an object, got {}",
                json_kind(other)
            )));
        }
    };
    // The executor commits with this message verbatim; refusing here lets the model fix it on
    // its next turn instead of the run ending COMMIT-REJECTED.
    if verdict == ModelVerdict::Go
        && commit_message
            .as_deref()
            .is_none_or(|m| m.trim().is_empty())
    {
        return Err(a.err(
            "\"commit_message\" is required when verdict is GO: a subject line, a blank line, the \
             body, and `Fixes #N` for an issue",
        ));
    }
    Ok(ToolOutput {
        output: json!({"accepted": true, "verdict": verdict.as_str()}),
        submission: Some(Submission {
            verdict,
            summary: summary.to_string(),
            commit_message,
            extra,
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(v: Value) -> String {
        run(&v).err().map(|e| e.0).unwrap_or_default()
    }

    #[test]
    fn accepts_a_full_submission() {
        let out = run(&json!({
            "verdict": "GO", "summary": "Fixed it.",
            "commit_message": "fix: x\n\nFixes #1", "extra": {"k": 1}
        }))
        .expect("run");
        assert_eq!(out.output, json!({"accepted": true, "verdict": "GO"}));
        assert_eq!(
            out.submission,
            Some(Submission {
                verdict: ModelVerdict::Go,
                summary: "Fixed it.".into(),
                commit_message: Some("fix: x\n\nFixes #1".into()),
                extra: Some(json!({"k": 1})),
            })
        );
    }

    #[test]
    fn minimal_submission_and_other_verdicts() {
        let out = run(&json!({"verdict": "NO-GO", "summary": "Not needed."})).expect("run");
        let s = out.submission.expect("submission");
        assert_eq!(s.verdict, ModelVerdict::NoGo);
        assert_eq!((s.commit_message, s.extra), (None, None));
        let out = run(&json!({"verdict": "ERROR", "summary": "x", "extra": null})).expect("run");
        assert_eq!(out.output["verdict"], "ERROR");
    }

    #[test]
    fn summary_bounds_are_bytes() {
        assert!(run(&json!({"verdict": "NO-GO", "summary": "a".repeat(280)})).is_ok());
        assert!(err(json!({"verdict": "NO-GO", "summary": "a".repeat(281)})).contains("281 bytes"));
        // 141 two-byte characters = 282 bytes.
        assert!(err(json!({"verdict": "NO-GO", "summary": "é".repeat(141)})).contains("282 bytes"));
        assert!(err(json!({"verdict": "NO-GO", "summary": "  "})).contains("\"summary\" must be"));
    }

    #[test]
    fn go_needs_a_commit_message() {
        assert!(
            err(json!({"verdict": "GO", "summary": "x"})).contains("required when verdict is GO")
        );
        assert!(
            err(json!({"verdict": "GO", "summary": "x", "commit_message": " "}))
                .contains("required")
        );
        assert!(run(&json!({"verdict": "GO", "summary": "x", "commit_message": "fix: x"})).is_ok());
    }

    #[test]
    fn invalid_input_names_the_argument() {
        assert_eq!(
            err(json!({"verdict": "go", "summary": "x"})),
            "submit_result: \"verdict\" must be one of \"GO\", \"NO-GO\", \"ERROR\", got \"go\""
        );
        assert_eq!(
            err(json!({"summary": "x"})),
            "submit_result: missing required argument \"verdict\" (string)"
        );
        assert_eq!(
            err(json!({"verdict": "GO"})),
            "submit_result: missing required argument \"summary\" (string)"
        );
        assert_eq!(
            err(json!({"verdict": "GO", "summary": "x", "extra": [1]})),
            "submit_result: \"extra\" must be an object, got an array"
        );
        assert_eq!(
            err(json!({"verdict": "GO", "summary": "x", "commit_message": 5})),
            "submit_result: \"commit_message\" must be a string, got a number"
        );
    }
}
