//! The streaming chat client: one POST to `<base>/chat/completions` per attempt, SSE read with
//! an idle timeout, and retries that change the request (a nudge and a new seed), because
//! llama.cpp fails an identical request identically.

use super::aggregate::{Aggregated, Aggregator};
use super::body::{drain, read_prefix};
use super::error::{OaiError, Secs, truncate_utf8};
use super::key::ApiKey;
use super::protocol::{self, WireRequest};
use super::sse::SseParser;
use super::types::{Completion, Message, StreamEvent, ToolSpec};
use crate::api::ToolProtocol;
use serde::Serialize;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::time::{Instant, timeout, timeout_at};

/// How to reach the model and how to sample it.
#[derive(Clone, Debug)]
pub struct ClientConfig {
    /// Includes `/v1`; a trailing slash is tolerated.
    pub base_url: String,
    /// Always sent, even empty (llama.cpp ignores it).
    pub model: String,
    /// Omitted when None (the server's default applies).
    pub temperature: Option<f64>,
    /// Omitted when None.
    pub max_tokens: Option<u32>,
    /// Omitted when empty.
    pub stop: Vec<String>,
    /// Per attempt: the wait for response headers, and the longest gap between bytes that
    /// carry content or tool-call arguments (keep-alives and empty deltas do not count).
    pub header_timeout: Duration,
    /// Extra attempts after the first.
    pub max_retries: u32,
    pub protocol: ToolProtocol,
    /// Sent as `chat_template_kwargs` when set (upstream HEAD; e.g. `enable_thinking: false`).
    pub chat_template_kwargs: Option<serde_json::Map<String, serde_json::Value>>,
    /// Sent as `Authorization: Bearer <key>` when set (a cloud proxy's API key).
    pub api_key: Option<ApiKey>,
    /// llama.cpp's `id_slot`: the server slot (and so the prompt cache) this run keeps; a
    /// run that shares a server with others is pinned so they do not evict each other.
    pub id_slot: Option<u32>,
}

impl ClientConfig {
    /// Upstream defaults: 600 s header timeout, 3 retries, OpenAI tools.
    pub fn new(base_url: impl Into<String>, model: impl Into<String>) -> Self {
        ClientConfig {
            base_url: base_url.into(),
            model: model.into(),
            temperature: None,
            max_tokens: None,
            stop: Vec::new(),
            header_timeout: Duration::from_secs(600),
            max_retries: 3,
            protocol: ToolProtocol::OpenaiTools,
            chat_template_kwargs: None,
            api_key: None,
            id_slot: None,
        }
    }
}

/// After every choice has a finish_reason, how long to wait for a trailing usage chunk from a
/// server that never sends `[DONE]` and keeps the connection open.
const FINISH_GRACE: Duration = Duration::from_millis(250);
/// Retry backoff steps (the last repeats), each jittered by ±20%.
const BACKOFF_MS: [u64; 3] = [50, 250, 1000];

/// Bounds on what one streamed reply may cost (issue 9 §4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StreamLimits {
    /// The longest reply, in bytes of content, reasoning, tool names and arguments. Past it
    /// the stream is stopped and the attempt fails with [`OaiError::ReplyTooLarge`].
    pub max_reply_bytes: usize,
}

impl Default for StreamLimits {
    /// 1 MiB: far above any sane single reply, far below what hurts memory.
    fn default() -> Self {
        StreamLimits {
            max_reply_bytes: 1024 * 1024,
        }
    }
}

impl StreamLimits {
    /// The longest SSE line worth buffering: a JSON-escaped reply can be up to six bytes per
    /// byte (`\u001b`), plus room for the chunk's envelope.
    fn max_line(self) -> usize {
        self.max_reply_bytes
            .saturating_mul(6)
            .saturating_add(64 * 1024)
            .min(super::sse::MAX_LINE)
    }
}

/// A chat client; cheap to clone (shared configuration and HTTP client).
#[derive(Clone, Debug)]
pub struct Client {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    cfg: ClientConfig,
    limits: StreamLimits,
    http: reqwest::Client,
    url: reqwest::Url,
    /// Numbers `call_<n>` ids of JSON-schema-mode calls, unique per client.
    next_call: AtomicU64,
}

#[derive(Serialize)]
struct ChatRequest<'a> {
    model: &'a str,
    messages: &'a [Message],
    #[serde(skip_serializing_if = "Option::is_none")]
    tools: Option<&'a [ToolSpec]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    temperature: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_tokens: Option<u32>,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    stop: &'a [String],
    stream: bool,
    stream_options: StreamOptions,
    /// llama.cpp: stream prompt-processing progress (`prompt_progress` chunks) before the
    /// reply. Sent only to keyless (local) servers: a keyed cloud proxy may reject fields it
    /// does not know, so the field is left out there.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    return_progress: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    response_format: Option<&'a protocol::ResponseFormat>,
    #[serde(skip_serializing_if = "Option::is_none")]
    seed: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    chat_template_kwargs: Option<&'a serde_json::Map<String, serde_json::Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    id_slot: Option<u32>,
}

#[derive(Serialize)]
struct StreamOptions {
    include_usage: bool,
}

/// What one attempt produced, once the protocol adapter has read it.
enum Outcome {
    Usable(Completion),
    /// Tool-call arguments (or a JSON-schema reply) that cannot be parsed.
    Malformed {
        completion: Completion,
        reason: String,
    },
}

impl Client {
    /// Checks the configuration and builds the HTTP client; no request is sent. The stream
    /// limits are the defaults (see [`Client::with_limits`]).
    pub fn new(cfg: ClientConfig) -> Result<Client, OaiError> {
        Client::with_limits(cfg, StreamLimits::default())
    }

    /// [`Client::new`] with explicit stream limits (the Agent's `maxReplyBytes`).
    pub fn with_limits(cfg: ClientConfig, limits: StreamLimits) -> Result<Client, OaiError> {
        if limits.max_reply_bytes == 0 {
            return Err(OaiError::Config(
                "the reply cap is zero; set maxReplyBytes to at least 1024".into(),
            ));
        }
        let base = cfg.base_url.trim().trim_end_matches('/');
        if base.is_empty() {
            return Err(OaiError::Config(
                "the base URL is empty; set it to the server's /v1 endpoint, e.g. http://127.0.0.1:8080/v1".into(),
            ));
        }
        let url = reqwest::Url::parse(&format!("{base}/chat/completions")).map_err(|e| {
            OaiError::Config(format!(
                "the base URL `{base}` is not a URL ({e}); expected e.g. http://127.0.0.1:8080/v1"
            ))
        })?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(OaiError::Config(format!(
                "the base URL `{base}` must start with http:// or https://"
            )));
        }
        if cfg.header_timeout.is_zero() {
            return Err(OaiError::Config(
                "the request timeout is zero; set it to at least one second".into(),
            ));
        }
        // No idle pooling (`http::client`): llama.cpp's HTTP server closes the connection
        // after a streamed reply, so a pooled connection fails the next turn on send
        // ("connection closed before message completed"), costing a retry and the server's
        // prompt cache. One TCP connect per turn is negligible next to a model turn. The
        // client is the process's shared one: building one per run set up TLS every time.
        let http = super::http::client(cfg.header_timeout, url.as_str())
            .map_err(|e| OaiError::Config(format!("cannot build the HTTP client: {e}")))?;
        Ok(Client {
            inner: Arc::new(Inner {
                cfg,
                limits,
                http,
                url,
                next_call: AtomicU64::new(1),
            }),
        })
    }

    pub fn config(&self) -> &ClientConfig {
        &self.inner.cfg
    }

    /// One chat turn, streamed. `on_event` sees content / tool-call deltas as they arrive and
    /// a Retry event before each retry (so a UI can discard the partial turn). Dropping the
    /// future cancels the request (the connection is closed).
    ///
    /// When every attempt produced unparseable tool-call arguments, the last reply is returned
    /// as `Ok` with those arguments as received: the loop must replace them before the message
    /// goes back into the history, and tell the model the parse error.
    pub async fn complete(
        &self,
        messages: &[Message],
        tools: &[ToolSpec],
        on_event: &mut (dyn FnMut(StreamEvent) + Send),
    ) -> Result<Completion, OaiError> {
        self.complete_offering(messages, tools, tools, on_event)
            .await
    }

    /// [`Client::complete`] where the reply may call only `offered` (a subset of `tools`).
    /// In JSON-schema mode the system message still describes every tool and only the
    /// grammar narrows, so the prompt's prefix, and the server's cache of it, stay intact.
    pub async fn complete_offering(
        &self,
        messages: &[Message],
        tools: &[ToolSpec],
        offered: &[ToolSpec],
        on_event: &mut (dyn FnMut(StreamEvent) + Send),
    ) -> Result<Completion, OaiError> {
        let cfg = &self.inner.cfg;
        let wire = protocol::wire_request(cfg.protocol, messages, tools, offered);
        let tools = offered;
        let max_attempts = cfg.max_retries.saturating_add(1);
        let mut retry: Option<(Message, u32)> = None;
        let mut attempt: u32 = 1;
        loop {
            let body = self.body(&wire, retry.as_ref())?;
            let result = match self.attempt(body, on_event).await {
                Ok(agg) => Ok(self.interpret(agg, tools, attempt)),
                Err(e) => Err(e),
            };
            let (event_reason, nudge_reason) = match result {
                Ok(Outcome::Usable(c)) => return Ok(c),
                Ok(Outcome::Malformed { completion, reason }) => {
                    if attempt >= max_attempts {
                        return Ok(completion);
                    }
                    (reason.clone(), reason)
                }
                Err(e) if e.is_retryable() && attempt < max_attempts => {
                    (e.to_string(), nudge_reason(&e))
                }
                Err(e) if e.is_retryable() && attempt > 1 => {
                    return Err(OaiError::RetriesExhausted {
                        attempts: attempt,
                        last: Box::new(e),
                    });
                }
                Err(e) => return Err(e),
            };
            tracing::debug!(attempt, reason = %event_reason, "chat turn failed; retrying");
            on_event(StreamEvent::Retry {
                attempt: attempt + 1,
                reason: event_reason,
            });
            tokio::time::sleep(backoff(attempt - 1)).await;
            let old_seed = retry.as_ref().map(|(_, s)| *s);
            let mut seed = fastrand::u32(..);
            while Some(seed) == old_seed {
                seed = fastrand::u32(..);
            }
            retry = Some((protocol::nudge(cfg.protocol, &nudge_reason), seed));
            attempt += 1;
        }
    }

    fn body(
        &self,
        wire: &WireRequest,
        retry: Option<&(Message, u32)>,
    ) -> Result<Vec<u8>, OaiError> {
        let cfg = &self.inner.cfg;
        let with_nudge;
        let messages: &[Message] = match retry {
            Some((nudge, _)) => {
                with_nudge = [wire.messages.as_slice(), std::slice::from_ref(nudge)].concat();
                &with_nudge
            }
            None => &wire.messages,
        };
        let req = ChatRequest {
            model: &cfg.model,
            messages,
            tools: wire.tools.as_deref(),
            temperature: cfg.temperature,
            max_tokens: cfg.max_tokens,
            stop: &cfg.stop,
            stream: true,
            stream_options: StreamOptions {
                include_usage: true,
            },
            return_progress: cfg.api_key.is_none(),
            response_format: wire.response_format.as_ref(),
            seed: retry.map(|(_, s)| *s),
            chat_template_kwargs: cfg.chat_template_kwargs.as_ref(),
            id_slot: cfg.id_slot,
        };
        serde_json::to_vec(&req)
            .map_err(|e| OaiError::Decode(format!("cannot encode the request: {e}")))
    }

    /// Sends one request and folds its stream.
    async fn attempt(
        &self,
        body: Vec<u8>,
        on_event: &mut (dyn FnMut(StreamEvent) + Send),
    ) -> Result<Aggregated, OaiError> {
        let inner = &*self.inner;
        let limit = inner.cfg.header_timeout;
        let mut req = inner
            .http
            .post(inner.url.clone())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(reqwest::header::ACCEPT, "text/event-stream");
        if let Some(key) = &inner.cfg.api_key {
            let mut value =
                reqwest::header::HeaderValue::from_str(&format!("Bearer {}", key.expose()))
                    .map_err(|_| {
                        OaiError::Config(
                    "the API key holds characters a header cannot carry; check the Secret's value"
                        .into(),
                )
                    })?;
            value.set_sensitive(true);
            req = req.header(reqwest::header::AUTHORIZATION, value);
        }
        // Request sent → last reply byte, for the `overhead` bench (a disabled span costs a
        // cached interest check).
        let exchange = tracing::debug_span!("oai.exchange");
        let send = req.body(body).send();
        let mut resp = match timeout(limit, send).await {
            Err(_) => {
                return Err(OaiError::Timeout(format!(
                    "response headers from {} ({})",
                    inner.url,
                    Secs(limit)
                )));
            }
            Ok(Err(e)) => return Err(self.transport(&e)),
            Ok(Ok(r)) => r,
        };
        let status = resp.status();
        if !status.is_success() {
            let mut body = read_prefix(&mut resp, limit).await;
            if let Some(key) = &inner.cfg.api_key {
                body = key.redact(&body);
            }
            return Err(OaiError::Http {
                status: status.as_u16(),
                body,
            });
        }
        let cap = inner.limits.max_reply_bytes;
        let mut parser = SseParser::with_max_line(inner.limits.max_line());
        let mut agg = Aggregator::new();
        let mut finished_at: Option<Instant> = None;
        // Only reply bytes move it: keep-alive comments and empty deltas do not (issue 9 §4).
        let mut idle_deadline = Instant::now() + limit;
        loop {
            let until = finished_at.map_or(idle_deadline, |t| t + FINISH_GRACE);
            match timeout_at(until, resp.chunk()).await {
                Err(_) if finished_at.is_some() => break,
                Err(_) => return Err(OaiError::idle_timeout(limit)),
                Ok(Err(_)) if agg.all_finished() => break,
                Ok(Err(e)) => return Err(self.transport(&e)),
                Ok(Ok(None)) => {
                    parser.finish(|p| fold(&mut agg, p, on_event, cap))?;
                    break;
                }
                Ok(Ok(Some(bytes))) => {
                    let before = agg.reply_bytes();
                    let done = parser.feed(&bytes, |p| fold(&mut agg, p, on_event, cap))?;
                    if agg.reply_bytes() > before {
                        idle_deadline = Instant::now() + limit;
                    }
                    if done {
                        drain(&mut resp).await;
                        break;
                    }
                }
            }
            if finished_at.is_none() && agg.all_finished() {
                finished_at = Some(Instant::now());
            }
        }
        drop(exchange);
        if !parser.is_done() && !agg.all_finished() {
            return Err(OaiError::Transport(format!(
                "the reply stream from {} ended before the model finished (no finish_reason, no [DONE]); the connection was cut — did the server restart or crash?",
                inner.url
            )));
        }
        agg.finish()
    }

    /// Applies the protocol to a folded reply and checks its tool-call arguments.
    fn interpret(&self, agg: Aggregated, tools: &[ToolSpec], attempts: u32) -> Outcome {
        let mut completion = Completion {
            message: agg.message,
            finish_reason: agg.finish_reason,
            usage: agg.usage,
            timings: agg.timings,
            attempts,
        };
        let json_mode = self.inner.cfg.protocol == ToolProtocol::JsonSchema
            && !tools.is_empty()
            && completion.message.tool_calls.is_none();
        if json_mode {
            let content = completion.message.content.take().unwrap_or_default();
            let id = format!(
                "call_{}",
                self.inner.next_call.fetch_add(1, Ordering::Relaxed)
            );
            match protocol::parse_reply(&content, tools, id.clone()) {
                Ok(call) => completion.message.tool_calls = Some(vec![call]),
                Err(reason) => {
                    completion.message.tool_calls =
                        Some(vec![protocol::malformed_call(&content, id)]);
                    return Outcome::Malformed { completion, reason };
                }
            }
        } else if let Some(reason) = protocol::invalid_arguments(&completion.message) {
            return Outcome::Malformed { completion, reason };
        }
        Outcome::Usable(completion)
    }

    fn transport(&self, e: &reqwest::Error) -> OaiError {
        let url = &self.inner.url;
        let mut msg = e.to_string();
        let mut source = std::error::Error::source(e);
        while let Some(s) = source {
            let text = s.to_string();
            if !msg.contains(&text) {
                msg.push_str(": ");
                msg.push_str(&text);
            }
            source = s.source();
        }
        if e.is_timeout() {
            return OaiError::Timeout(format!("a connection to {url} ({msg})"));
        }
        if e.is_connect() {
            return OaiError::Transport(format!(
                "cannot connect to {url}: {msg}; is the llama.cpp server running at {}?",
                self.inner.cfg.base_url
            ));
        }
        OaiError::Transport(format!("transport error talking to {url}: {msg}"))
    }
}

/// Folds one payload and enforces the reply cap as soon as it is passed.
fn fold(
    agg: &mut Aggregator,
    payload: &str,
    on_event: &mut (dyn FnMut(StreamEvent) + Send),
    cap: usize,
) -> Result<(), OaiError> {
    agg.push(payload, on_event)?;
    if agg.reply_bytes() > cap {
        return Err(OaiError::ReplyTooLarge { limit: cap });
    }
    Ok(())
}

/// What the model is told about a failed attempt (short; the full error goes to the UI).
fn nudge_reason(e: &OaiError) -> String {
    match e {
        OaiError::ReplyTooLarge { limit } => format!(
            "it passed {limit} bytes and was cut off; answer in less text, and write large \
             files in several smaller write_file calls"
        ),
        OaiError::Http { status, body } => {
            let message = serde_json::from_str::<serde_json::Value>(body)
                .ok()
                .and_then(|v| {
                    // A 5xx body wraps it in "error"; a streamed error chunk is the inner object.
                    let m = v["error"]["message"].as_str().or(v["message"].as_str());
                    m.map(str::to_string)
                })
                .unwrap_or_else(|| body.clone());
            format!(
                "the server rejected it with HTTP {status}: {}",
                truncate_utf8(&message, 300)
            )
        }
        _ => "it was cut off before it finished".into(),
    }
}

/// The n-th retry delay (0-based): 50 ms, 250 ms, then 1 s, each ±20%.
pub(crate) fn backoff(n: u32) -> Duration {
    let base = BACKOFF_MS[(n as usize).min(BACKOFF_MS.len() - 1)] as f64;
    Duration::from_secs_f64(base * (0.8 + 0.4 * fastrand::f64()) / 1000.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_steps_with_jitter() {
        for _ in 0..50 {
            let b = [backoff(0), backoff(1), backoff(2), backoff(7)];
            let ms: Vec<f64> = b.iter().map(|d| d.as_secs_f64() * 1000.0).collect();
            assert!((40.0..=60.0).contains(&ms[0]), "{ms:?}");
            assert!((200.0..=300.0).contains(&ms[1]), "{ms:?}");
            assert!((800.0..=1200.0).contains(&ms[2]), "{ms:?}");
            assert!((800.0..=1200.0).contains(&ms[3]), "{ms:?}");
        }
    }

    #[test]
    fn config_is_checked() {
        let ok = Client::new(ClientConfig::new("http://127.0.0.1:1/v1/", "")).unwrap();
        assert_eq!(
            ok.inner.url.as_str(),
            "http://127.0.0.1:1/v1/chat/completions"
        );
        for bad in ["", "not a url", "ftp://x/v1"] {
            assert!(matches!(
                Client::new(ClientConfig::new(bad, "")),
                Err(OaiError::Config(_))
            ));
        }
        let mut cfg = ClientConfig::new("http://x/v1", "");
        cfg.header_timeout = Duration::ZERO;
        assert!(matches!(Client::new(cfg), Err(OaiError::Config(_))));
    }

    #[test]
    fn nudge_reason_uses_llama_message() {
        let e = OaiError::Http {
            status: 500,
            body:
                r#"{"error":{"code":500,"message":"Failed to parse tool call arguments as JSON"}}"#
                    .into(),
        };
        assert_eq!(
            nudge_reason(&e),
            "the server rejected it with HTTP 500: Failed to parse tool call arguments as JSON"
        );
        let streamed = OaiError::Http {
            status: 500,
            body: r#"{"code":500,"message":"boom"}"#.into(),
        };
        assert_eq!(
            nudge_reason(&streamed),
            "the server rejected it with HTTP 500: boom"
        );
        assert_eq!(
            nudge_reason(&OaiError::Transport("x".into())),
            "it was cut off before it finished"
        );
    }
}
