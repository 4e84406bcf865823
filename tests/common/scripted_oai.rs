//! A scripted OpenAI-compatible server for tests and benchmarks: plain HTTP/1.1 written by hand
//! on a Tokio TCP socket (so it can cut a stream mid-way or hang), serving a queue of replies
//! shaped like llama.cpp's stream and recording every request body.
//!
//! Each connection carries one request and is closed after the reply (`Connection: close`).

use serde_json::{Value, json};
use std::collections::VecDeque;
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{JoinHandle, JoinSet};

/// One scripted answer.
#[derive(Clone, Debug, PartialEq)]
pub enum Reply {
    /// One tool call; arguments are split over several chunks, the name optionally repeated
    /// in every chunk (as some servers do).
    ToolCall {
        name: String,
        arguments: String,
        repeat_name: bool,
    },
    /// Several tool calls (name, arguments) in one reply, indexes 0, 1, ...
    ToolCalls(Vec<(String, String)>),
    /// Assistant text, streamed word by word, finish_reason "stop".
    Text(String),
    /// Raw SSE `data:` payloads; the flag says whether `[DONE]` follows. Without it the
    /// connection stays open until the client closes it (servers that never send `[DONE]`).
    Chunks(Vec<String>, bool),
    /// A plain HTTP answer with this status and body.
    Status(u16, String),
    /// These payloads, then the body ends cleanly without `[DONE]` (servers that close instead).
    ChunksThenEof(Vec<String>),
    /// These payloads, then the connection is closed without ending the chunked body.
    CutMidStream(Vec<String>),
    /// These payloads, then silence with the connection open (an idle stream).
    Stall(Vec<String>),
    /// Read the request and never answer.
    Hang,
}

impl Reply {
    pub fn tool_call(name: impl Into<String>, arguments: impl Into<String>) -> Reply {
        Reply::ToolCall {
            name: name.into(),
            arguments: arguments.into(),
            repeat_name: false,
        }
    }
    pub fn tool_call_repeating_name(
        name: impl Into<String>,
        arguments: impl Into<String>,
    ) -> Reply {
        Reply::ToolCall {
            name: name.into(),
            arguments: arguments.into(),
            repeat_name: true,
        }
    }
    pub fn text(text: impl Into<String>) -> Reply {
        Reply::Text(text.into())
    }
    pub fn status(code: u16, body: impl Into<String>) -> Reply {
        Reply::Status(code, body.into())
    }
    /// llama.cpp's answer when the model wrote malformed tool-call JSON.
    pub fn llama_parse_error() -> Reply {
        Reply::status(
            500,
            r#"{"error":{"code":500,"message":"Failed to parse tool call arguments as JSON: [json.exception.parse_error.101] parse error at line 1, column 12: syntax error while parsing value - unexpected end of input","type":"server_error"}}"#,
        )
    }

    /// The `data:` payloads a streaming reply sends, and whether `[DONE]` follows.
    /// Non-streaming replies give no payloads.
    pub fn payloads(&self) -> (Vec<String>, bool) {
        match self {
            Reply::ToolCall {
                name,
                arguments,
                repeat_name,
            } => (tool_call_payloads(&[(name, arguments)], *repeat_name), true),
            Reply::ToolCalls(calls) => {
                let calls: Vec<(&String, &String)> = calls.iter().map(|(n, a)| (n, a)).collect();
                (tool_call_payloads(&calls, false), true)
            }
            Reply::Text(text) => (text_payloads(text), true),
            Reply::Chunks(p, done) => (p.clone(), *done),
            Reply::ChunksThenEof(p) | Reply::CutMidStream(p) | Reply::Stall(p) => {
                (p.clone(), false)
            }
            Reply::Status(..) | Reply::Hang => (Vec::new(), false),
        }
    }
}

fn chunk(choice: Value) -> String {
    json!({
        "choices": [choice],
        "created": 0,
        "id": "chatcmpl-scripted",
        "model": "scripted",
        "object": "chat.completion.chunk",
    })
    .to_string()
}

fn delta(delta: Value, finish: Option<&str>) -> String {
    chunk(json!({"finish_reason": finish, "index": 0, "delta": delta}))
}

fn role_chunk() -> String {
    delta(json!({"role": "assistant", "content": null}), None)
}

/// The trailing chunk with `usage` and llama.cpp `timings`.
fn usage_chunk(completion_tokens: usize) -> String {
    json!({
        "choices": [],
        "created": 0,
        "id": "chatcmpl-scripted",
        "model": "scripted",
        "object": "chat.completion.chunk",
        "usage": {"completion_tokens": completion_tokens, "prompt_tokens": 100, "total_tokens": 100 + completion_tokens},
        "timings": {"prompt_n": 100, "prompt_ms": 50.0, "prompt_per_second": 2000.0,
                    "predicted_n": completion_tokens, "predicted_ms": 10.0, "predicted_per_second": 100.0},
    })
    .to_string()
}

/// Splits `s` into up to `n` pieces on char boundaries (always at least one piece).
pub fn split_pieces(s: &str, n: usize) -> Vec<&str> {
    let step = s.len().div_ceil(n.max(1)).max(1);
    let mut pieces = Vec::new();
    let mut start = 0;
    while start < s.len() {
        let mut end = (start + step).min(s.len());
        while !s.is_char_boundary(end) {
            end += 1;
        }
        pieces.push(&s[start..end]);
        start = end;
    }
    if pieces.is_empty() {
        pieces.push("");
    }
    pieces
}

fn tool_call_payloads(calls: &[(&String, &String)], repeat_name: bool) -> Vec<String> {
    let mut out = vec![role_chunk()];
    let mut pieces_total = 0;
    for (i, (name, args)) in calls.iter().enumerate() {
        for (k, piece) in split_pieces(args, 4).into_iter().enumerate() {
            pieces_total += 1;
            let call = if k == 0 {
                json!({"index": i, "id": format!("call_scripted_{i}"), "type": "function",
                       "function": {"name": name, "arguments": piece}})
            } else if repeat_name {
                json!({"index": i, "function": {"name": name, "arguments": piece}})
            } else {
                json!({"index": i, "function": {"arguments": piece}})
            };
            out.push(delta(json!({"tool_calls": [call]}), None));
        }
    }
    out.push(delta(json!({}), Some("tool_calls")));
    out.push(usage_chunk(pieces_total));
    out
}

fn text_payloads(text: &str) -> Vec<String> {
    let mut out = vec![role_chunk()];
    let words: Vec<&str> = text.split_inclusive(' ').collect();
    for w in &words {
        out.push(delta(json!({"content": w}), None));
    }
    out.push(delta(json!({}), Some("stop")));
    out.push(usage_chunk(words.len()));
    out
}

#[derive(Debug)]
struct State {
    queue: Mutex<VecDeque<Reply>>,
    /// When set, every request gets this reply (benchmarks).
    repeat: Option<Reply>,
    /// GET requests (a console's `/props`, `/models` probes) get 404 without taking a
    /// scripted reply, so a probe racing a run cannot steal the run's reply.
    chat_only: bool,
    /// When set, `GET /props` gets this JSON (llama.cpp's `total_slots`, ...); other GETs 404.
    props: Option<Value>,
    scripted: usize,
    requests: Mutex<Vec<Value>>,
    /// Every request as received: its head (request line and headers) and body bytes.
    raw: Mutex<Vec<(String, Vec<u8>)>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The running server; stops (and drops every open connection) when dropped.
#[derive(Debug)]
pub struct ScriptedServer {
    addr: SocketAddr,
    state: Arc<State>,
    task: JoinHandle<()>,
}

impl Drop for ScriptedServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl ScriptedServer {
    /// Serves `replies` in order, one per request; then 500 with a body naming the request.
    /// Must be called inside a Tokio runtime.
    pub fn start(replies: Vec<Reply>) -> io::Result<ScriptedServer> {
        let scripted = replies.len();
        Self::spawn(State {
            queue: Mutex::new(replies.into()),
            repeat: None,
            chat_only: false,
            props: None,
            scripted,
            requests: Mutex::new(Vec::new()),
            raw: Mutex::new(Vec::new()),
        })
    }

    /// [`ScriptedServer::start`] for a client that also probes with GETs (the console): every
    /// GET is answered 404 and is not counted; only the chat requests take `replies`.
    pub fn chat_only(replies: Vec<Reply>) -> io::Result<ScriptedServer> {
        let scripted = replies.len();
        Self::spawn(State {
            queue: Mutex::new(replies.into()),
            repeat: None,
            chat_only: true,
            props: None,
            scripted,
            requests: Mutex::new(Vec::new()),
            raw: Mutex::new(Vec::new()),
        })
    }

    /// Answers every request with `reply` (benchmarks, long loops).
    pub fn repeating(reply: Reply) -> io::Result<ScriptedServer> {
        Self::spawn(State {
            queue: Mutex::new(VecDeque::new()),
            repeat: Some(reply),
            chat_only: false,
            props: None,
            scripted: 0,
            requests: Mutex::new(Vec::new()),
            raw: Mutex::new(Vec::new()),
        })
    }

    /// [`ScriptedServer::chat_only`] that answers `GET /props` with `props` (a llama.cpp
    /// server's slot count and context, for a console's probe).
    pub fn with_props(replies: Vec<Reply>, props: Value) -> io::Result<ScriptedServer> {
        let scripted = replies.len();
        Self::spawn(State {
            queue: Mutex::new(replies.into()),
            repeat: None,
            chat_only: true,
            props: Some(props),
            scripted,
            requests: Mutex::new(Vec::new()),
            raw: Mutex::new(Vec::new()),
        })
    }

    fn spawn(state: State) -> io::Result<ScriptedServer> {
        let handle = tokio::runtime::Handle::try_current()
            .map_err(|e| io::Error::other(format!("ScriptedServer needs a Tokio runtime: {e}")))?;
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        std_listener.set_nonblocking(true)?;
        let addr = std_listener.local_addr()?;
        let state = Arc::new(state);
        let task = {
            let _guard = handle.enter();
            let listener = TcpListener::from_std(std_listener)?;
            handle.spawn(accept_loop(listener, state.clone()))
        };
        Ok(ScriptedServer { addr, state, task })
    }

    /// `http://127.0.0.1:<port>/v1`.
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// Every request body received so far, in order (a body that is not JSON is kept as a string).
    pub fn requests(&self) -> Vec<Value> {
        lock(&self.state.requests).clone()
    }

    /// Every request exactly as received: the head (request line and headers, as sent) and
    /// the body's bytes.
    pub fn raw_requests(&self) -> Vec<(String, Vec<u8>)> {
        lock(&self.state.raw).clone()
    }

    /// How many scripted replies have not been served yet.
    pub fn remaining(&self) -> usize {
        lock(&self.state.queue).len()
    }
}

async fn accept_loop(listener: TcpListener, state: Arc<State>) {
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                if let Ok((stream, _)) = accepted {
                    conns.spawn(serve(stream, state.clone()));
                }
            }
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
}

const MAX_HEAD: usize = 64 * 1024;
const MAX_BODY: usize = 256 * 1024 * 1024;

/// Reads one request (head + Content-Length body); None when the client went away.
async fn read_request(stream: &mut TcpStream) -> Option<(String, Vec<u8>)> {
    let mut buf = Vec::with_capacity(8192);
    let mut tmp = [0u8; 8192];
    let head_end = loop {
        if let Some(pos) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break pos + 4;
        }
        if buf.len() > MAX_HEAD {
            return None;
        }
        let n = stream.read(&mut tmp).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&tmp[..n]);
    };
    let raw_head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let head = raw_head.to_ascii_lowercase();
    let len = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse::<usize>().ok())
        .unwrap_or(0)
        .min(MAX_BODY);
    let mut body = buf.split_off(head_end);
    while body.len() < len {
        let n = stream.read(&mut tmp).await.ok()?;
        if n == 0 {
            return None;
        }
        body.extend_from_slice(&tmp[..n]);
    }
    body.truncate(len);
    Some((raw_head, body))
}

async fn serve(mut stream: TcpStream, state: Arc<State>) {
    let Some((head, body)) = read_request(&mut stream).await else {
        return;
    };
    if state.chat_only && head.starts_with("GET ") {
        let reply = match &state.props {
            Some(p) if head.starts_with("GET /props ") => Reply::status(200, p.to_string()),
            _ => Reply::status(404, "not served here"),
        };
        let _ = write_reply(&mut stream, &reply).await;
        return;
    }
    lock(&state.raw).push((head, body.clone()));
    let value = serde_json::from_slice::<Value>(&body)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into_owned()));
    let number = {
        let mut reqs = lock(&state.requests);
        reqs.push(value);
        reqs.len()
    };
    let reply = match &state.repeat {
        Some(r) => Some(r.clone()),
        None => lock(&state.queue).pop_front(),
    };
    let reply = reply.unwrap_or_else(|| {
        Reply::status(
            500,
            json!({"error": {"code": 500, "type": "server_error", "message": format!(
                "scripted server: no reply scripted for request #{number} (the script had {} replies)",
                state.scripted)}})
            .to_string(),
        )
    });
    // Write errors mean the client went away, which tests cause on purpose.
    let _ = write_reply(&mut stream, &reply).await;
}

async fn write_reply(stream: &mut TcpStream, reply: &Reply) -> io::Result<()> {
    match reply {
        Reply::Hang => wait_for_close(stream).await,
        Reply::Status(code, body) => {
            let head = format!(
                "HTTP/1.1 {code} Scripted\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            stream.write_all(head.as_bytes()).await?;
            stream.write_all(body.as_bytes()).await?;
            stream.shutdown().await
        }
        _ => {
            let (payloads, done) = reply.payloads();
            stream
                .write_all(
                    b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
                )
                .await?;
            for p in &payloads {
                write_chunk(stream, format!("data: {p}\n\n").as_bytes()).await?;
            }
            match reply {
                Reply::CutMidStream(_) => stream.shutdown().await,
                Reply::ChunksThenEof(_) => {
                    stream.write_all(b"0\r\n\r\n").await?;
                    stream.shutdown().await
                }
                _ if done => {
                    write_chunk(stream, b"data: [DONE]\n\n").await?;
                    stream.write_all(b"0\r\n\r\n").await?;
                    stream.shutdown().await
                }
                _ => wait_for_close(stream).await,
            }
        }
    }
}

async fn write_chunk(stream: &mut TcpStream, data: &[u8]) -> io::Result<()> {
    let mut frame = format!("{:x}\r\n", data.len()).into_bytes();
    frame.extend_from_slice(data);
    frame.extend_from_slice(b"\r\n");
    stream.write_all(&frame).await
}

/// Keeps the connection open until the client closes it.
async fn wait_for_close(stream: &mut TcpStream) -> io::Result<()> {
    let mut tmp = [0u8; 1024];
    while stream.read(&mut tmp).await? > 0 {}
    Ok(())
}
