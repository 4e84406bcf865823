//! Folds OpenAI `chat.completion.chunk` payloads into one assistant message, emitting
//! [`StreamEvent`]s for live display. Pure (no I/O); fed by [`super::sse::SseParser`].
//!
//! Rules (upstream P550 semantics): per choice `index`, the first non-empty role wins,
//! content is concatenated; tool calls are keyed by their own `index` (missing = 0), `id`,
//! `type` and `function.name` are taken when non-empty but never concatenated (some servers
//! repeat the name in every chunk), arguments are concatenated; `usage` and llama.cpp's
//! `timings` are taken from whichever chunk carries them.
//!
//! [`Aggregator::reply_bytes`] counts the bytes that carry the reply (content, reasoning,
//! tool names and arguments): the client caps it and only its growth resets the idle timeout
//! (issue 9 §4), so keep-alives and empty deltas neither grow memory nor keep a turn alive.

use super::error::{OaiError, truncate_utf8};
use super::sse::SseError;
use super::types::{Message, Role, StreamEvent, Timings, ToolCall, Usage};
use serde::Deserialize;
use std::borrow::Cow;

#[derive(Deserialize)]
struct Chunk<'a> {
    #[serde(default, borrow)]
    choices: Option<Vec<ChoiceDelta<'a>>>,
    #[serde(default)]
    usage: Option<Usage>,
    #[serde(default)]
    timings: Option<Timings>,
    /// llama.cpp with `return_progress`: `{"total":970,"cache":0,"processed":454,"time_ms":27511}`.
    #[serde(default)]
    prompt_progress: Option<PromptProgress>,
    #[serde(default)]
    error: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct PromptProgress {
    #[serde(default)]
    total: u64,
    #[serde(default)]
    processed: u64,
}

#[derive(Deserialize)]
struct ChoiceDelta<'a> {
    #[serde(default)]
    index: Option<usize>,
    #[serde(default, borrow)]
    delta: Option<Delta<'a>>,
    #[serde(default, borrow)]
    finish_reason: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct Delta<'a> {
    #[serde(default, borrow)]
    role: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    content: Option<Cow<'a, str>>,
    /// Thinking models' reasoning (llama.cpp `reasoning_content`): kept on the message and
    /// counted, since it is the model producing output.
    #[serde(default, borrow)]
    reasoning_content: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    tool_calls: Option<Vec<ToolCallDelta<'a>>>,
}

#[derive(Deserialize)]
struct ToolCallDelta<'a> {
    #[serde(default)]
    index: Option<usize>,
    #[serde(default, borrow)]
    id: Option<Cow<'a, str>>,
    #[serde(default, borrow, rename = "type")]
    kind: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    function: Option<FunctionDelta<'a>>,
}

#[derive(Deserialize)]
struct FunctionDelta<'a> {
    #[serde(default, borrow)]
    name: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    arguments: Option<Cow<'a, str>>,
}

#[derive(Default, Debug)]
struct ToolAcc {
    id: String,
    kind: String,
    name: String,
    arguments: String,
}

#[derive(Default, Debug)]
struct ChoiceAcc {
    role: String,
    content: String,
    reasoning: String,
    /// Keyed by the tool call's own index; a short list, searched linearly.
    tools: Vec<(usize, ToolAcc)>,
    finish_reason: Option<String>,
}

/// The folded result of one stream.
#[derive(Debug, Clone, PartialEq)]
pub struct Aggregated {
    /// Role forced to assistant; `content` None when empty; `tool_calls` None when none,
    /// ordered by index, empty arguments normalised to `{}`, missing ids filled as `call_<index>`.
    pub message: Message,
    pub finish_reason: Option<String>,
    pub usage: Option<Usage>,
    pub timings: Option<Timings>,
}

/// Accumulates chunks of one streamed reply.
#[derive(Default, Debug)]
pub struct Aggregator {
    /// Keyed by choice index, in order of first appearance.
    choices: Vec<(usize, ChoiceAcc)>,
    usage: Option<Usage>,
    timings: Option<Timings>,
    /// Content, reasoning, tool-name and argument bytes seen, over all choices.
    reply_bytes: usize,
}

/// Largest body echoed back in an error message.
pub(crate) const ERROR_BODY_MAX: usize = 4096;

impl From<SseError> for OaiError {
    fn from(e: SseError) -> Self {
        OaiError::Decode(e.to_string())
    }
}

impl Aggregator {
    pub fn new() -> Self {
        Self::default()
    }

    /// Folds one `data:` payload. Deltas of the first choice seen are passed to `on_event`.
    /// A chunk carrying an `error` object becomes [`OaiError::Http`] with its `code`.
    pub fn push(
        &mut self,
        payload: &str,
        on_event: &mut dyn FnMut(StreamEvent),
    ) -> Result<(), OaiError> {
        let chunk: Chunk<'_> = serde_json::from_str(payload).map_err(|e| {
            OaiError::Decode(format!(
                "chunk is not valid JSON ({e}): {}",
                truncate_utf8(payload, 200)
            ))
        })?;
        if let Some(err) = chunk.error {
            return Err(streamed_error(&err));
        }
        if chunk.usage.is_some() {
            self.usage = chunk.usage;
        }
        if chunk.timings.is_some() {
            self.timings = chunk.timings;
        }
        if let Some(p) = chunk.prompt_progress.filter(|p| p.total > 0) {
            on_event(StreamEvent::PromptProgress {
                processed: p.processed.min(p.total),
                total: p.total,
            });
        }
        for choice in chunk.choices.unwrap_or_default() {
            self.fold_choice(choice, on_event);
        }
        Ok(())
    }

    fn fold_choice(&mut self, choice: ChoiceDelta<'_>, on_event: &mut dyn FnMut(StreamEvent)) {
        let index = choice.index.unwrap_or(0);
        let primary = self.choices.first().is_none_or(|(i, _)| *i == index);
        let acc = match self.choices.iter().position(|(i, _)| *i == index) {
            Some(pos) => &mut self.choices[pos].1,
            None => {
                self.choices.push((index, ChoiceAcc::default()));
                let last = self.choices.len() - 1;
                &mut self.choices[last].1
            }
        };
        if let Some(reason) = choice.finish_reason {
            acc.finish_reason = Some(reason.into_owned());
        }
        let Some(delta) = choice.delta else { return };
        if let Some(r) = &delta.reasoning_content {
            self.reply_bytes += r.len();
            acc.reasoning.push_str(r);
        }
        if let Some(role) = delta.role
            && acc.role.is_empty()
        {
            acc.role = role.into_owned();
        }
        if let Some(content) = delta.content
            && !content.is_empty()
        {
            self.reply_bytes += content.len();
            acc.content.push_str(&content);
            if primary {
                on_event(StreamEvent::Content(content.into_owned()));
            }
        }
        for call in delta.tool_calls.unwrap_or_default() {
            let tindex = call.index.unwrap_or(0);
            let tool = match acc.tools.iter().position(|(i, _)| *i == tindex) {
                Some(pos) => &mut acc.tools[pos].1,
                None => {
                    acc.tools.push((tindex, ToolAcc::default()));
                    let last = acc.tools.len() - 1;
                    &mut acc.tools[last].1
                }
            };
            let id = non_empty(call.id);
            if let Some(id) = &id {
                tool.id = id.to_string();
            }
            if let Some(kind) = non_empty(call.kind) {
                tool.kind = kind.into_owned();
            }
            let (name, arguments) = match call.function {
                Some(f) => (non_empty(f.name), f.arguments.unwrap_or_default()),
                None => (None, Cow::Borrowed("")),
            };
            if let Some(name) = &name {
                self.reply_bytes += name.len();
                tool.name = name.to_string();
            }
            self.reply_bytes += arguments.len();
            tool.arguments.push_str(&arguments);
            if primary && (id.is_some() || name.is_some() || !arguments.is_empty()) {
                on_event(StreamEvent::ToolCall {
                    index: tindex,
                    id: id.map(Cow::into_owned),
                    name: name.map(Cow::into_owned),
                    arguments: arguments.into_owned(),
                });
            }
        }
    }

    /// Whether at least one choice was seen and every seen choice has a finish_reason.
    pub fn all_finished(&self) -> bool {
        !self.choices.is_empty() && self.choices.iter().all(|(_, c)| c.finish_reason.is_some())
    }

    /// Bytes of content, reasoning, tool names and arguments folded so far.
    pub fn reply_bytes(&self) -> usize {
        self.reply_bytes
    }

    /// The reply: the choice with the lowest index. [`OaiError::NoChoices`] when none came.
    pub fn finish(self) -> Result<Aggregated, OaiError> {
        let (_, choice) = self
            .choices
            .into_iter()
            .min_by_key(|(i, _)| *i)
            .ok_or(OaiError::NoChoices)?;
        let mut tools = choice.tools;
        tools.sort_by_key(|(i, _)| *i);
        let calls: Vec<ToolCall> = tools
            .into_iter()
            .map(|(index, t)| {
                let mut call = ToolCall::new(t.id, t.name, t.arguments);
                if call.id.is_empty() {
                    call.id = format!("call_{index}");
                }
                if !t.kind.is_empty() {
                    call.kind = t.kind;
                }
                if call.function.arguments.trim().is_empty() {
                    call.function.arguments = "{}".into();
                }
                call
            })
            .collect();
        let message = Message {
            role: Role::Assistant,
            content: (!choice.content.is_empty()).then_some(choice.content),
            tool_calls: (!calls.is_empty()).then_some(calls),
            tool_call_id: None,
            name: None,
            reasoning_content: (!choice.reasoning.is_empty()).then_some(choice.reasoning),
        };
        Ok(Aggregated {
            message,
            finish_reason: choice.finish_reason,
            usage: self.usage,
            timings: self.timings,
        })
    }
}

fn non_empty(s: Option<Cow<'_, str>>) -> Option<Cow<'_, str>> {
    s.filter(|s| !s.is_empty())
}

/// llama.cpp streams failures as `data: {"error":{"code":500,"message":..}}`.
fn streamed_error(err: &serde_json::Value) -> OaiError {
    let status = err
        .get("code")
        .and_then(serde_json::Value::as_u64)
        .filter(|c| (400..=599).contains(c))
        .unwrap_or(500) as u16;
    let text = err.to_string();
    OaiError::Http {
        status,
        body: truncate_utf8(&text, ERROR_BODY_MAX).to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oai::sse::SseParser;

    /// Runs a raw SSE byte stream through parser + aggregator in slices of `step` bytes.
    fn run(input: &str, step: usize) -> (Result<Aggregated, OaiError>, Vec<StreamEvent>, bool) {
        let mut parser = SseParser::new();
        let mut agg = Aggregator::new();
        let mut events = Vec::new();
        let mut sink = |e: StreamEvent| events.push(e);
        let mut done = false;
        for piece in input.as_bytes().chunks(step) {
            match parser.feed(piece, |p| agg.push(p, &mut sink)) {
                Ok(d) => done = d,
                Err(e) => return (Err(e), events, done),
            }
        }
        if let Err(e) = parser.finish(|p| agg.push(p, &mut sink)) {
            return (Err(e), events, done);
        }
        (agg.finish(), events, done)
    }

    fn sse(payloads: &[&str], done: bool) -> String {
        let mut s: String = payloads.iter().map(|p| format!("data: {p}\n\n")).collect();
        if done {
            s.push_str("data: [DONE]\n\n");
        }
        s
    }

    const LLAMA_TOOL: &[&str] = &[
        r#"{"choices":[{"finish_reason":null,"index":0,"delta":{"role":"assistant","content":null}}],"object":"chat.completion.chunk"}"#,
        r#"{"choices":[{"finish_reason":null,"index":0,"delta":{"tool_calls":[{"index":0,"id":"abc","type":"function","function":{"name":"run_shell","arguments":"{"}}]}}]}"#,
        r#"{"choices":[{"finish_reason":null,"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"\"command\": \"git"}}]}}]}"#,
        r#"{"choices":[{"finish_reason":null,"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":" status\"}"}}]}}]}"#,
        r#"{"choices":[{"finish_reason":"tool_calls","index":0,"delta":{}}]}"#,
        r#"{"choices":[],"usage":{"completion_tokens":30,"prompt_tokens":285,"total_tokens":315,"prompt_tokens_details":{"cached_tokens":0}},"timings":{"cache_n":0,"prompt_n":285,"prompt_ms":776.2,"predicted_n":30,"predicted_ms":800.9,"predicted_per_second":36.2}}"#,
    ];

    #[test]
    fn reply_bytes_count_what_the_model_wrote_and_nothing_else() {
        let mut agg = Aggregator::new();
        let mut sink = |_e: StreamEvent| {};
        for p in [
            r#"{"choices":[{"index":0,"delta":{"role":"assistant","content":null}}]}"#,
            r#"{"choices":[{"index":0,"delta":{}}]}"#,
            r#"{"choices":[{"index":0,"delta":{"content":""}}]}"#,
            r#"{"choices":[],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}"#,
        ] {
            agg.push(p, &mut sink).unwrap();
        }
        assert_eq!(
            agg.reply_bytes(),
            0,
            "envelopes and empty deltas are not reply"
        );
        agg.push(
            r#"{"choices":[{"index":0,"delta":{"reasoning_content":"hmm"}}]}"#,
            &mut sink,
        )
        .unwrap();
        agg.push(
            r#"{"choices":[{"index":0,"delta":{"content":"héllo"}}]}"#,
            &mut sink,
        )
        .unwrap();
        agg.push(
            r#"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"c1","function":{"name":"bash","arguments":"{\"a\":1}"}}]}}]}"#,
            &mut sink,
        )
        .unwrap();
        assert_eq!(agg.reply_bytes(), 3 + 6 + 4 + 7);
    }

    #[test]
    fn llama_tool_call_at_every_split() {
        let input = sse(LLAMA_TOOL, true);
        for step in 1..=input.len() {
            let (got, events, done) = run(&input, step);
            let got = got.unwrap();
            assert!(done);
            let calls = got.message.tool_calls.clone().unwrap();
            assert_eq!(calls.len(), 1, "step {step}");
            assert_eq!(calls[0].id, "abc");
            assert_eq!(calls[0].kind, "function");
            assert_eq!(calls[0].function.name, "run_shell");
            assert_eq!(calls[0].function.arguments, r#"{"command": "git status"}"#);
            assert_eq!(got.message.content, None);
            assert_eq!(got.message.role, Role::Assistant);
            assert_eq!(got.finish_reason.as_deref(), Some("tool_calls"));
            assert_eq!(got.usage.unwrap().total_tokens, 315);
            let t = got.timings.unwrap();
            assert_eq!(t.prompt_n, Some(285.0));
            assert_eq!(t.cache_n, Some(0.0));
            assert_eq!(t.cache_hit(), Some(0.0));
            assert_eq!(t.predicted_per_second, Some(36.2));
            assert_eq!(events.len(), 3);
            assert_eq!(
                events[0],
                StreamEvent::ToolCall {
                    index: 0,
                    id: Some("abc".into()),
                    name: Some("run_shell".into()),
                    arguments: "{".into()
                }
            );
        }
    }

    #[test]
    fn content_with_comments_crlf_and_no_done() {
        let input = ": ping\r\ndata:{\"choices\":[{\"delta\":{\"role\":\"assistant\",\"content\":\"Hel\"}}]}\r\n\r\n: ping\r\nevent: x\r\ndata: {\"choices\":[{\"delta\":{\"content\":\"lo\\n\"},\"finish_reason\":\"stop\"}]}\r\n\r\n";
        for step in [1, 2, 7, 1000] {
            let (got, events, done) = run(input, step);
            let got = got.unwrap();
            assert!(!done);
            assert_eq!(got.message.content.as_deref(), Some("Hello\n"));
            assert_eq!(got.message.tool_calls, None);
            assert_eq!(
                events,
                vec![
                    StreamEvent::Content("Hel".into()),
                    StreamEvent::Content("lo\n".into())
                ]
            );
            assert_eq!(got.usage, None);
        }
    }

    #[test]
    fn repeated_names_are_not_concatenated_and_multiple_calls_are_ordered() {
        let input = sse(
            &[
                r#"{"choices":[{"delta":{"tool_calls":[{"index":1,"id":"b","function":{"name":"write_file","arguments":"{\"path\":"}}]}}]}"#,
                r#"{"choices":[{"delta":{"tool_calls":[{"index":0,"id":"a","function":{"name":"read_file","arguments":"{\"path\":\"x\"}"}}]}}]}"#,
                r#"{"choices":[{"delta":{"tool_calls":[{"index":1,"id":"b","function":{"name":"write_file","arguments":"\"y\"}"}}]}}]}"#,
                r#"{"choices":[{"delta":{"tool_calls":[{"function":{"name":"read_file","arguments":""}}]},"finish_reason":"tool_calls"}]}"#,
            ],
            false,
        );
        let (got, _, _) = run(&input, 5);
        let calls = got.unwrap().message.tool_calls.unwrap();
        assert_eq!(calls.len(), 2);
        assert_eq!(calls[0].function.name, "read_file");
        assert_eq!(calls[0].id, "a");
        assert_eq!(calls[0].function.arguments, r#"{"path":"x"}"#);
        assert_eq!(calls[1].function.name, "write_file");
        assert_eq!(calls[1].function.arguments, r#"{"path":"y"}"#);
    }

    #[test]
    fn empty_arguments_and_missing_ids_are_normalised() {
        let input = sse(
            &[
                r#"{"choices":[{"delta":{"tool_calls":[{"index":0,"function":{"name":"list"}}]}}]}"#,
                r#"{"choices":[{"delta":{},"finish_reason":"tool_calls"}]}"#,
            ],
            true,
        );
        let got = run(&input, 64).0.unwrap();
        let calls = got.message.tool_calls.unwrap();
        assert_eq!(calls[0].function.arguments, "{}");
        assert_eq!(calls[0].id, "call_0");
        assert_eq!(calls[0].kind, "function");
    }

    #[test]
    fn streamed_error_becomes_http_error() {
        let input = sse(
            &[
                r#"{"error":{"code":500,"message":"Failed to parse tool call arguments as JSON","type":"server_error"}}"#,
            ],
            false,
        );
        match run(&input, 9).0 {
            Err(OaiError::Http { status, body }) => {
                assert_eq!(status, 500);
                assert!(body.contains("Failed to parse"));
            }
            other => panic!("unexpected {other:?}"),
        }
        let input = sse(&[r#"{"error":"boom"}"#], false);
        assert!(matches!(
            run(&input, 9).0,
            Err(OaiError::Http { status: 500, .. })
        ));
    }

    #[test]
    fn no_choices_and_bad_json() {
        let input = sse(&[r#"{"choices":[],"usage":{"total_tokens":3}}"#], true);
        assert!(matches!(run(&input, 4).0, Err(OaiError::NoChoices)));
        assert!(matches!(
            run("data: {not json}\n\n", 4).0,
            Err(OaiError::Decode(_))
        ));
    }

    /// The chunks a real llama.cpp server (scripts/lib.sh start_llama, `return_progress: true`)
    /// sent before its first token, as captured: the progress becomes events, the text stays.
    #[test]
    fn llama_cpp_prompt_progress_chunks_become_events() {
        let chunk = |p: &str| {
            format!(
                "data: {{\"choices\":[{{\"finish_reason\":null,\"index\":0,\"delta\":{{\"role\":\"assistant\",\"content\":null}}}}],\"object\":\"chat.completion.chunk\",\"prompt_progress\":{p}}}\n\n"
            )
        };
        let input = [
            chunk(r#"{"total":970,"cache":0,"processed":0,"time_ms":0}"#),
            chunk(r#"{"total":970,"cache":0,"processed":454,"time_ms":27511}"#),
            chunk(r#"{"total":970,"cache":0,"processed":970,"time_ms":55919}"#),
            "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"}}]}\n\ndata: [DONE]\n\n".into(),
        ]
        .concat();
        let (got, events, _) = run(&input, 7);
        assert_eq!(got.unwrap().message.content.as_deref(), Some("Hi"));
        let p = |processed| StreamEvent::PromptProgress {
            processed,
            total: 970,
        };
        assert_eq!(
            events,
            vec![p(0), p(454), p(970), StreamEvent::Content("Hi".into())]
        );
    }

    #[test]
    fn finish_tracking_and_secondary_choices() {
        let mut agg = Aggregator::new();
        let mut events = Vec::new();
        let mut sink = |e: StreamEvent| events.push(e);
        assert!(!agg.all_finished());
        agg.push(r#"{"choices":[{"index":0,"delta":{"content":"a"}},{"index":1,"delta":{"content":"b"}}]}"#, &mut sink).unwrap();
        agg.push(
            r#"{"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}"#,
            &mut sink,
        )
        .unwrap();
        assert!(!agg.all_finished());
        agg.push(
            r#"{"choices":[{"index":1,"delta":null,"finish_reason":"length"}],"usage":null}"#,
            &mut sink,
        )
        .unwrap();
        assert!(agg.all_finished());
        assert_eq!(events, vec![StreamEvent::Content("a".into())]);
        let got = agg.finish().unwrap();
        assert_eq!(got.message.content.as_deref(), Some("a"));
        assert_eq!(got.finish_reason.as_deref(), Some("stop"));
    }
}
