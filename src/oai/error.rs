//! Errors of one chat turn. Each message says what to check, because the operator reading it
//! usually has a local llama.cpp server to look at.

use std::fmt;

/// Why a chat turn failed.
#[derive(Debug, thiserror::Error)]
pub enum OaiError {
    /// A non-2xx answer, or an `error` object streamed inside a 2xx (llama.cpp does that).
    #[error("server answered HTTP {status}: {body} ({})", http_hint(*status))]
    Http {
        status: u16,
        /// The first 4 KiB of the body.
        body: String,
    },
    /// Connection refused or dropped, TLS failure, a body cut short.
    #[error("{0}")]
    Transport(String),
    /// What we waited for and how long.
    #[error(
        "timed out waiting for {0}; check that the server is not overloaded or raise the request timeout"
    )]
    Timeout(String),
    /// A finished 2xx stream that carried no choice at all.
    #[error("the server's reply had no choices; check the model name and the server log")]
    NoChoices,
    /// The stream was not the OpenAI chunk format.
    #[error(
        "could not decode the server's stream: {0}; is the base URL an OpenAI-compatible /v1 endpoint?"
    )]
    Decode(String),
    /// Every attempt failed with a retryable error; `last` is the final one.
    #[error("gave up after {attempts} attempts: {last}")]
    RetriesExhausted { attempts: u32, last: Box<OaiError> },
    /// The configuration cannot work (bad URL, zero timeout).
    #[error("invalid chat client configuration: {0}")]
    Config(String),
    /// The reply's content and tool-call arguments passed the cap; the stream was stopped
    /// there (issue 9 §4). Retried with a nudge to answer shorter.
    #[error(
        "the model's reply passed {limit} bytes of content and tool-call arguments and was cut \
         off; raise the Agent's maxReplyBytes if replies this long are expected"
    )]
    ReplyTooLarge { limit: usize },
}

impl OaiError {
    /// Whether a fresh attempt (with a nudge and a new seed) may succeed.
    /// Header timeouts are not retried: the server is alive but busy, and a retry would only
    /// queue another copy of the prompt behind the first.
    pub fn is_retryable(&self) -> bool {
        match self {
            OaiError::Http { status, .. } => *status >= 500,
            OaiError::Transport(_) | OaiError::ReplyTooLarge { .. } => true,
            OaiError::Timeout(what) => what.starts_with(IDLE_PREFIX),
            OaiError::NoChoices
            | OaiError::Decode(_)
            | OaiError::RetriesExhausted { .. }
            | OaiError::Config(_) => false,
        }
    }

    pub(crate) fn idle_timeout(after: std::time::Duration) -> OaiError {
        OaiError::Timeout(format!(
            "{IDLE_PREFIX} (no content or tool-call arguments for {})",
            Secs(after)
        ))
    }
}

fn http_hint(status: u16) -> &'static str {
    match status {
        404 => "check the base URL: it must be the server's /v1 endpoint",
        400 => {
            "the server refused the request; check the context size, the model name and the tool schemas"
        }
        401 | 403 => "the endpoint wants credentials; this client sends none (local models)",
        500..=599 => {
            "see the server log; llama.cpp's \"Failed to parse tool call arguments\" means the model wrote malformed JSON"
        }
        _ => "see the server log",
    }
}

/// Marks the idle-gap timeout, which is retryable unlike the header timeout.
const IDLE_PREFIX: &str = "the next chunk of the reply stream";

/// Formats a duration as seconds with up to three decimals, for error messages.
pub(crate) struct Secs(pub std::time::Duration);

impl fmt::Display for Secs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.0.as_secs_f64();
        if s.fract() == 0.0 {
            write!(f, "{}s", s as u64)
        } else {
            write!(f, "{:.3}s", s)
        }
    }
}

/// Cuts `s` to at most `max` bytes on a char boundary (server bodies are echoed in errors).
pub(crate) fn truncate_utf8(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn retry_classes() {
        assert!(
            OaiError::Http {
                status: 500,
                body: String::new()
            }
            .is_retryable()
        );
        assert!(
            !OaiError::Http {
                status: 400,
                body: String::new()
            }
            .is_retryable()
        );
        assert!(OaiError::Transport("x".into()).is_retryable());
        assert!(OaiError::idle_timeout(Duration::from_millis(1500)).is_retryable());
        assert!(!OaiError::Timeout("response headers".into()).is_retryable());
        assert!(!OaiError::NoChoices.is_retryable());
        assert!(!OaiError::Decode("x".into()).is_retryable());
        assert!(OaiError::ReplyTooLarge { limit: 1024 }.is_retryable());
    }

    #[test]
    fn truncates_on_char_boundary() {
        assert_eq!(truncate_utf8("héllo", 2), "h");
        assert_eq!(truncate_utf8("abc", 10), "abc");
        assert_eq!(Secs(Duration::from_millis(1500)).to_string(), "1.500s");
        assert_eq!(Secs(Duration::from_secs(3)).to_string(), "3s");
    }
}
