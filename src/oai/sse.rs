//! Incremental Server-Sent-Events line parser: bytes in, `data:` payloads out. Pure (no I/O)
//! so it can be fed arbitrary slices, tested byte by byte and benchmarked.
//!
//! Each `data:` line is one payload (as llama.cpp and every OpenAI-compatible server send
//! them). Comment (`:`), `event:`, `id:` and `retry:` lines and blank payloads are skipped;
//! `[DONE]` ends the stream. Lines end in LF or CRLF.

/// Longest line accepted (a single chunk carrying a whole file as tool arguments fits).
pub const MAX_LINE: usize = 16 * 1024 * 1024;

/// Why the byte stream is not usable SSE.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SseError {
    #[error("an SSE line is longer than {max} bytes")]
    LineTooLong { max: usize },
    #[error("an SSE data line is not valid UTF-8")]
    NotUtf8,
}

/// Splits a byte stream into SSE `data:` payloads.
#[derive(Debug)]
pub struct SseParser {
    /// The unfinished line carried over between `feed` calls.
    partial: Vec<u8>,
    max_line: usize,
    done: bool,
}

impl Default for SseParser {
    fn default() -> Self {
        Self::new()
    }
}

impl SseParser {
    pub fn new() -> Self {
        Self::with_max_line(MAX_LINE)
    }

    pub fn with_max_line(max_line: usize) -> Self {
        SseParser {
            partial: Vec::new(),
            max_line,
            done: false,
        }
    }

    /// Whether `[DONE]` was seen; later input is ignored.
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// Feeds bytes and calls `on_data` with each complete, non-blank payload (trimmed).
    /// Returns whether `[DONE]` has been seen. Errors from `on_data` stop the feed.
    pub fn feed<E, F>(&mut self, mut bytes: &[u8], mut on_data: F) -> Result<bool, E>
    where
        E: From<SseError>,
        F: FnMut(&str) -> Result<(), E>,
    {
        while !self.done {
            let Some(nl) = bytes.iter().position(|&b| b == b'\n') else {
                break;
            };
            if self.partial.is_empty() {
                self.check_len(nl)?;
                self.line(&bytes[..nl], &mut on_data)?;
            } else {
                self.check_len(self.partial.len() + nl)?;
                let mut line = std::mem::take(&mut self.partial);
                line.extend_from_slice(&bytes[..nl]);
                let result = self.line(&line, &mut on_data);
                line.clear();
                self.partial = line;
                result?;
            }
            bytes = &bytes[nl + 1..];
        }
        if !self.done && !bytes.is_empty() {
            self.check_len(self.partial.len() + bytes.len())?;
            self.partial.extend_from_slice(bytes);
        }
        Ok(self.done)
    }

    /// Handles a line left without a final newline when the body ended.
    pub fn finish<E, F>(&mut self, mut on_data: F) -> Result<bool, E>
    where
        E: From<SseError>,
        F: FnMut(&str) -> Result<(), E>,
    {
        if !self.done && !self.partial.is_empty() {
            let line = std::mem::take(&mut self.partial);
            self.line(&line, &mut on_data)?;
        }
        Ok(self.done)
    }

    fn check_len<E: From<SseError>>(&self, len: usize) -> Result<(), E> {
        if len > self.max_line {
            return Err(SseError::LineTooLong { max: self.max_line }.into());
        }
        Ok(())
    }

    fn line<E, F>(&mut self, line: &[u8], on_data: &mut F) -> Result<(), E>
    where
        E: From<SseError>,
        F: FnMut(&str) -> Result<(), E>,
    {
        let Some(payload) = line.strip_prefix(b"data:") else {
            // Comments, keep-alives, event:/id:/retry: fields and event separators.
            return Ok(());
        };
        let payload = payload.trim_ascii();
        if payload.is_empty() {
            return Ok(());
        }
        if payload == b"[DONE]" {
            self.done = true;
            return Ok(());
        }
        let text = std::str::from_utf8(payload).map_err(|_| SseError::NotUtf8)?;
        on_data(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(parser: &mut SseParser, input: &[u8], step: usize) -> (Vec<String>, bool) {
        let mut out = Vec::new();
        let mut done = false;
        for piece in input.chunks(step.max(1)) {
            done = parser
                .feed::<SseError, _>(piece, |p| {
                    out.push(p.to_string());
                    Ok(())
                })
                .unwrap();
        }
        done = parser
            .finish::<SseError, _>(|p| {
                out.push(p.to_string());
                Ok(())
            })
            .unwrap()
            || done;
        (out, done)
    }

    const STREAM: &str = ": keep-alive\r\nevent: message\r\nid: 7\r\ndata: {\"a\":1}\r\n\r\ndata:{\"b\":\"é\"}\n\ndata: \n\nretry: 10\ndata:   {\"c\":3}  \n\ndata: [DONE]\n\ndata: {\"after\":1}\n";

    #[test]
    fn every_split_gives_the_same_payloads() {
        let want = vec![r#"{"a":1}"#, r#"{"b":"é"}"#, r#"{"c":3}"#];
        for step in 1..STREAM.len() + 1 {
            let (got, done) = collect(&mut SseParser::new(), STREAM.as_bytes(), step);
            assert_eq!(got, want, "step {step}");
            assert!(done, "step {step}");
        }
    }

    #[test]
    fn no_done_and_no_final_newline() {
        let (got, done) = collect(&mut SseParser::new(), b"data: 1\n\ndata: 2", 3);
        assert_eq!(got, vec!["1", "2"]);
        assert!(!done);
    }

    #[test]
    fn long_line_is_an_error_even_when_split() {
        let mut p = SseParser::with_max_line(8);
        assert_eq!(p.feed::<SseError, _>(b"data: 12", |_| Ok(())), Ok(false));
        assert_eq!(
            p.feed::<SseError, _>(b"345\n", |_| Ok(())),
            Err(SseError::LineTooLong { max: 8 })
        );
        let mut p = SseParser::with_max_line(8);
        assert!(
            p.feed::<SseError, _>(b"data: 123456789\n", |_| Ok(()))
                .is_err()
        );
    }

    #[test]
    fn invalid_utf8_is_an_error() {
        let mut p = SseParser::new();
        assert_eq!(
            p.feed::<SseError, _>(b"data: \xff\xfe\n", |_| Ok(())),
            Err(SseError::NotUtf8)
        );
    }

    #[test]
    fn callback_error_stops_feed() {
        let mut p = SseParser::new();
        let mut seen = 0;
        let r = p.feed::<SseError, _>(b"data: 1\ndata: 2\n", |_| {
            seen += 1;
            Err(SseError::NotUtf8)
        });
        assert!(r.is_err());
        assert_eq!(seen, 1);
    }
}
