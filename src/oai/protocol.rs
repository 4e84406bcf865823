//! Tool-protocol adapters: how tools and tool calls travel on the wire.
//!
//! [`ToolProtocol::OpenaiTools`] sends `tools` and reads `tool_calls` (upstream behaviour).
//! [`ToolProtocol::JsonSchema`] sends no `tools`; it describes them in the system message and
//! constrains the reply with a `response_format` JSON schema (`oneOf` one object per tool), which
//! llama.cpp compiles to a grammar, so a small model cannot write a malformed or missing call.
//! The history is rewritten for that mode (calls become JSON text, results become user turns)
//! and the reply's JSON is turned back into a [`ToolCall`].

use super::types::{Message, Role, ToolCall, ToolSpec};
use crate::api::ToolProtocol;
use serde::Serialize;
use serde_json::{Value, json};

/// The wire form of the conversation plus protocol-specific request fields.
pub(crate) struct WireRequest {
    pub messages: Vec<Message>,
    /// Sorted by name so the wire order is deterministic; None when not sent.
    pub tools: Option<Vec<ToolSpec>>,
    pub response_format: Option<ResponseFormat>,
}

/// Builds the messages, `tools` and `response_format` for `protocol`. `offered` is what this
/// turn may call: OpenAI mode sends only it; JSON-schema mode describes all of `tools` in the
/// system message (byte-stable across turns) and narrows the grammar to `offered`.
pub(crate) fn wire_request(
    protocol: ToolProtocol,
    messages: &[Message],
    tools: &[ToolSpec],
    offered: &[ToolSpec],
) -> WireRequest {
    let sort = |t: &[ToolSpec]| {
        let mut v = t.to_vec();
        v.sort_by(|a, b| a.name().cmp(b.name()));
        v
    };
    let sorted = sort(offered);
    let described = sort(if tools.is_empty() { offered } else { tools });
    let stripped;
    let messages = if messages.iter().any(|m| m.reasoning_content.is_some()) {
        stripped = without_reasoning(messages);
        stripped.as_slice()
    } else {
        messages
    };
    match protocol {
        ToolProtocol::OpenaiTools => WireRequest {
            messages: messages.iter().map(sanitize_openai).collect(),
            tools: (!sorted.is_empty()).then_some(sorted),
            response_format: None,
        },
        ToolProtocol::JsonSchema => WireRequest {
            messages: json_schema_messages(messages, &described),
            response_format: (!sorted.is_empty()).then(|| response_format(&sorted)),
            tools: None,
        },
    }
}

/// The history without past reasoning (upstream `stripReasoningForWire`, #650): a thinking
/// model's reasoning would otherwise re-enter its context and token budget every turn.
fn without_reasoning(messages: &[Message]) -> Vec<Message> {
    messages
        .iter()
        .map(|m| Message {
            reasoning_content: None,
            ..m.clone()
        })
        .collect()
}

/// llama.cpp answers 500 to a history holding malformed `arguments`, and fails every later
/// turn the same way (OpenHands #13949). The loop should already have replaced them; this is
/// the last line of defence.
fn sanitize_openai(m: &Message) -> Message {
    let mut m = m.clone();
    if let Some(calls) = m.tool_calls.as_mut() {
        for c in calls {
            if !is_json_object(&c.function.arguments) {
                c.function.arguments = "{}".into();
            }
        }
    }
    m
}

/// Whether `s` is a JSON object, the only usable shape for tool arguments.
fn is_json_object(s: &str) -> bool {
    matches!(serde_json::from_str::<Value>(s), Ok(Value::Object(_)))
}

/// Why the tool-call arguments of a reply are unusable, if they are.
pub(crate) fn invalid_arguments(message: &Message) -> Option<String> {
    message.tool_calls().iter().find_map(|c| {
        let args = &c.function.arguments;
        match serde_json::from_str::<Value>(args) {
            Ok(Value::Object(_)) => None,
            Ok(_) => Some(format!(
                "the arguments of tool call `{}` are not a JSON object",
                c.function.name
            )),
            Err(e) => Some(format!(
                "the arguments of tool call `{}` are not valid JSON: {e}",
                c.function.name
            )),
        }
    })
}

/// The corrective user message appended (for one attempt only) when retrying.
pub(crate) fn nudge(protocol: ToolProtocol, reason: &str) -> Message {
    let format = match protocol {
        ToolProtocol::OpenaiTools => {
            "Reply again with exactly one tool call whose arguments are one complete, valid JSON object."
        }
        ToolProtocol::JsonSchema => {
            "Reply again with exactly one JSON object of the form {\"tool\": \"<tool name>\", \"arguments\": {...}}."
        }
    };
    Message::user(format!(
        "Your previous reply could not be used ({reason}). {format}"
    ))
}

/// `response_format` for JSON-schema mode. Typed rather than a `serde_json::Value` because
/// field order matters: llama.cpp compiles properties to grammar in the order received, and
/// the model must name the tool before writing its arguments.
#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct ResponseFormat {
    #[serde(rename = "type")]
    kind: &'static str,
    json_schema: NamedSchema,
}

#[derive(Serialize, Clone, Debug, PartialEq)]
struct NamedSchema {
    name: &'static str,
    strict: bool,
    schema: OneOf,
}

#[derive(Serialize, Clone, Debug, PartialEq)]
struct OneOf {
    #[serde(rename = "oneOf")]
    one_of: Vec<CallSchema>,
}

#[derive(Serialize, Clone, Debug, PartialEq)]
struct CallSchema {
    #[serde(rename = "type")]
    kind: &'static str,
    properties: CallProperties,
    required: [&'static str; 2],
    #[serde(rename = "additionalProperties")]
    additional_properties: bool,
}

#[derive(Serialize, Clone, Debug, PartialEq)]
struct CallProperties {
    tool: Const,
    arguments: Value,
}

#[derive(Serialize, Clone, Debug, PartialEq)]
struct Const {
    #[serde(rename = "const")]
    value: String,
}

/// `{"tool": <name>, "arguments": <that tool's parameters>}`, one alternative per tool.
/// `submit_result` gets two alternatives so the grammar itself enforces its contract: a GO
/// must carry a `commit_message` (a tiny model otherwise stops after the required fields).
pub fn response_format(tools: &[ToolSpec]) -> ResponseFormat {
    let one_of = tools
        .iter()
        .flat_map(|t| {
            let params = parameters_schema(t);
            let variants = if t.name() == "submit_result" {
                submit_variants(&params).unwrap_or_else(|| vec![params])
            } else {
                vec![params]
            };
            variants.into_iter().map(|arguments| CallSchema {
                kind: "object",
                properties: CallProperties {
                    tool: Const {
                        value: t.name().to_string(),
                    },
                    arguments,
                },
                required: ["tool", "arguments"],
                additional_properties: false,
            })
        })
        .collect();
    ResponseFormat {
        kind: "json_schema",
        json_schema: NamedSchema {
            name: "tool_call",
            strict: true,
            schema: OneOf { one_of },
        },
    }
}

/// GO (commit_message required) and NO-GO/ERROR variants of submit_result's parameters;
/// `None` when the schema does not have the expected shape.
fn submit_variants(params: &Value) -> Option<Vec<Value>> {
    let props = params.get("properties")?.as_object()?;
    props.get("commit_message")?;
    props.get("verdict")?;
    let required: Vec<Value> = params.get("required")?.as_array()?.clone();
    let mut go = params.clone();
    go["properties"]["verdict"] = json!({"const": "GO"});
    let mut go_required = required.clone();
    if !go_required.iter().any(|r| r == "commit_message") {
        go_required.push(json!("commit_message"));
    }
    go["required"] = Value::Array(go_required);
    let mut other = params.clone();
    other["properties"]["verdict"] = json!({"enum": ["NO-GO", "ERROR"]});
    if let Some(p) = other["properties"].as_object_mut() {
        p.remove("commit_message");
    }
    Some(vec![go, other])
}

fn parameters_schema(t: &ToolSpec) -> Value {
    match &t.function.parameters {
        Value::Object(o) if !o.is_empty() => Value::Object(o.clone()),
        _ => json!({"type": "object"}),
    }
}

/// The system-message section that tells the model the tools and the reply format.
fn tools_prompt(tools: &[ToolSpec]) -> String {
    let mut s = String::from(
        "# Tools\n\nReply with exactly one JSON object and nothing else, of the form\n\
         {\"tool\": \"<tool name>\", \"arguments\": {<the tool's arguments>}}\n\
         After each call you receive its result and reply with the next call.\n\nTools:",
    );
    for t in tools {
        s.push_str(&format!(
            "\n- {}: {}\n  arguments schema: {}",
            t.name(),
            t.function.description.trim(),
            parameters_schema(t)
        ));
    }
    s
}

fn call_text(c: &ToolCall) -> String {
    let args = serde_json::from_str::<Value>(&c.function.arguments)
        .ok()
        .filter(Value::is_object)
        .unwrap_or_else(|| json!({}));
    // By hand: "tool" first, as in the grammar (serde_json would sort the keys).
    format!(
        "{{\"tool\":{},\"arguments\":{args}}}",
        Value::from(c.function.name.as_str())
    )
}

/// Rewrites the history: tools go into the system message, assistant calls become their JSON
/// text, tool results become user turns `Result of <name>:` (merged when consecutive).
fn json_schema_messages(messages: &[Message], tools: &[ToolSpec]) -> Vec<Message> {
    let mut out: Vec<Message> = Vec::with_capacity(messages.len() + 1);
    let section = (!tools.is_empty()).then(|| tools_prompt(tools));
    let mut section_placed = section.is_none();
    for m in messages {
        match m.role {
            Role::System => {
                let mut text = m.text().to_string();
                if let Some(sec) = section.as_ref().filter(|_| !section_placed) {
                    if !text.is_empty() {
                        text.push_str("\n\n");
                    }
                    text.push_str(sec);
                    section_placed = true;
                }
                out.push(Message::system(text));
            }
            Role::User => push_user(&mut out, m.text().to_string()),
            Role::Assistant => {
                let text = if m.tool_calls().is_empty() {
                    m.text().to_string()
                } else {
                    m.tool_calls()
                        .iter()
                        .map(call_text)
                        .collect::<Vec<_>>()
                        .join("\n")
                };
                out.push(Message::assistant(text));
            }
            Role::Tool => {
                let name = m
                    .name
                    .clone()
                    .filter(|n| !n.is_empty())
                    .or_else(|| tool_name_for(messages, m.tool_call_id.as_deref()))
                    .unwrap_or_else(|| "the tool".into());
                push_user(&mut out, format!("Result of {name}:\n{}", m.text()));
            }
        }
    }
    if let Some(sec) = section.filter(|_| !section_placed) {
        out.insert(0, Message::system(sec));
    }
    out
}

/// Appends a user turn, merging it into a directly preceding user turn: several tool results
/// (or a result and a nudge) in a row would break templates that require alternating roles.
fn push_user(out: &mut Vec<Message>, text: String) {
    if let Some(last) = out.last_mut()
        && last.role == Role::User
    {
        let merged = format!("{}\n\n{text}", last.text());
        last.content = Some(merged);
        return;
    }
    out.push(Message::user(text));
}

fn tool_name_for(messages: &[Message], call_id: Option<&str>) -> Option<String> {
    let call_id = call_id?;
    messages
        .iter()
        .flat_map(|m| m.tool_calls())
        .find(|c| c.id == call_id)
        .map(|c| c.function.name.clone())
}

/// Reads a JSON-schema-mode reply `{"tool": .., "arguments": {..}}` into a tool call named
/// one of `tools`. Tolerates a Markdown code fence (servers that ignore `response_format`).
pub(crate) fn parse_reply(
    content: &str,
    tools: &[ToolSpec],
    id: String,
) -> Result<ToolCall, String> {
    let text = strip_fence(content.trim());
    let value: Value =
        serde_json::from_str(text).map_err(|e| format!("the reply is not valid JSON: {e}"))?;
    let obj = value
        .as_object()
        .ok_or_else(|| "the reply is not a JSON object".to_string())?;
    let name = obj
        .get("tool")
        .and_then(Value::as_str)
        .ok_or_else(|| "the reply has no string field \"tool\"".to_string())?;
    if !tools.iter().any(|t| t.name() == name) {
        let known: Vec<&str> = tools.iter().map(ToolSpec::name).collect();
        return Err(format!(
            "tool `{name}` does not exist (tools: {})",
            known.join(", ")
        ));
    }
    let args = match obj.get("arguments") {
        None | Some(Value::Null) => json!({}),
        Some(Value::String(s)) => match serde_json::from_str::<Value>(s) {
            Ok(v @ Value::Object(_)) => v,
            _ => return Err("\"arguments\" is not a JSON object".into()),
        },
        Some(v @ Value::Object(_)) => v.clone(),
        Some(_) => return Err("\"arguments\" is not a JSON object".into()),
    };
    Ok(ToolCall::new(id, name, args.to_string()))
}

/// Best effort for a reply that could not be parsed: the tool name if it can be seen, and
/// the raw text as the (malformed) arguments, so the loop can report the parse error.
pub(crate) fn malformed_call(content: &str, id: String) -> ToolCall {
    let name = content
        .split_once("\"tool\"")
        .and_then(|(_, rest)| rest.trim_start().strip_prefix(':'))
        .and_then(|rest| rest.trim_start().strip_prefix('"'))
        .and_then(|rest| rest.split_once('"'))
        .map(|(name, _)| name.to_string())
        .unwrap_or_default();
    ToolCall::new(id, name, content)
}

fn strip_fence(s: &str) -> &str {
    let Some(rest) = s.strip_prefix("```") else {
        return s;
    };
    let rest = rest.trim_start_matches(|c: char| c.is_ascii_alphanumeric());
    rest.trim_end().strip_suffix("```").unwrap_or(rest).trim()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn submit_result_go_requires_a_commit_message_in_the_grammar() {
        let submit = ToolSpec::function(
            "submit_result",
            "Finish",
            json!({"type":"object","properties":{
                "verdict":{"type":"string","enum":["GO","NO-GO","ERROR"]},
                "summary":{"type":"string"},"commit_message":{"type":"string"}},
                "required":["verdict","summary"]}),
        );
        let rf = serde_json::to_value(response_format(&[submit])).unwrap();
        let alts = rf["json_schema"]["schema"]["oneOf"].as_array().unwrap();
        assert_eq!(alts.len(), 2);
        let go = &alts[0]["properties"]["arguments"];
        assert_eq!(go["properties"]["verdict"], json!({"const": "GO"}));
        assert!(
            go["required"]
                .as_array()
                .unwrap()
                .contains(&json!("commit_message"))
        );
        let other = &alts[1]["properties"]["arguments"];
        assert_eq!(
            other["properties"]["verdict"]["enum"],
            json!(["NO-GO", "ERROR"])
        );
        assert!(other["properties"].get("commit_message").is_none());
    }

    fn tools() -> Vec<ToolSpec> {
        vec![
            ToolSpec::function(
                "run_shell",
                "Run a command",
                json!({"type":"object","properties":{"command":{"type":"string"}},"required":["command"]}),
            ),
            ToolSpec::function("list", "List files", Value::Null),
        ]
    }

    #[test]
    fn openai_mode_sorts_tools_and_scrubs_malformed_history() {
        let mut a = Message::assistant("");
        a.tool_calls = Some(vec![ToolCall::new("c1", "run_shell", "{\"command\": ")]);
        let w = wire_request(
            ToolProtocol::OpenaiTools,
            &[Message::user("hi"), a],
            &tools(),
            &tools(),
        );
        let names: Vec<_> = w
            .tools
            .unwrap()
            .iter()
            .map(|t| t.name().to_string())
            .collect();
        assert_eq!(names, ["list", "run_shell"]);
        assert_eq!(w.messages[1].tool_calls()[0].function.arguments, "{}");
        assert!(w.response_format.is_none());
        let w = wire_request(ToolProtocol::OpenaiTools, &[Message::user("hi")], &[], &[]);
        assert!(w.tools.is_none());
    }

    #[test]
    fn json_schema_mode_rewrites_history() {
        let mut call = Message::assistant("thinking");
        call.tool_calls = Some(vec![ToolCall::new(
            "c1",
            "run_shell",
            r#"{"command":"ls"}"#,
        )]);
        let mut result = Message::tool("c1", "", "a\nb");
        result.name = None;
        let history = vec![
            Message::system("You are a coder."),
            Message::user("list files"),
            call,
            result,
            Message::user("go on"),
        ];
        let w = wire_request(ToolProtocol::JsonSchema, &history, &tools(), &tools());
        assert!(w.tools.is_none());
        assert_eq!(w.messages.len(), 4);
        let sys = w.messages[0].text();
        assert!(sys.starts_with("You are a coder.\n\n# Tools"));
        assert!(sys.contains("- run_shell: Run a command"));
        assert!(sys.contains(r#""required":["command"]"#));
        assert_eq!(w.messages[2].role, Role::Assistant);
        assert_eq!(
            w.messages[2].text(),
            r#"{"tool":"run_shell","arguments":{"command":"ls"}}"#
        );
        assert_eq!(w.messages[3].role, Role::User);
        assert_eq!(w.messages[3].text(), "Result of run_shell:\na\nb\n\ngo on");
        let rf_text = serde_json::to_string(&w.response_format.unwrap()).unwrap();
        assert!(
            rf_text
                .contains(r#"{"type":"object","properties":{"tool":{"const":"list"},"arguments":"#),
            "{rf_text}"
        );
        let rf: Value = serde_json::from_str(&rf_text).unwrap();
        assert_eq!(rf["type"], "json_schema");
        assert_eq!(rf["json_schema"]["strict"], true);
        let alts = rf["json_schema"]["schema"]["oneOf"].as_array().unwrap();
        assert_eq!(alts.len(), 2);
        assert_eq!(alts[0]["properties"]["tool"]["const"], "list");
        assert_eq!(alts[0]["properties"]["arguments"], json!({"type":"object"}));
        assert_eq!(
            alts[1]["properties"]["arguments"]["required"],
            json!(["command"])
        );
    }

    #[test]
    fn json_schema_mode_without_system_message_inserts_one() {
        let w = wire_request(
            ToolProtocol::JsonSchema,
            &[Message::user("x")],
            &tools(),
            &tools(),
        );
        assert_eq!(w.messages[0].role, Role::System);
        assert!(w.messages[0].text().starts_with("# Tools"));
    }

    #[test]
    fn json_schema_narrowing_keeps_the_system_message_and_narrows_the_grammar() {
        let history = [Message::system("S"), Message::user("go")];
        let all = tools();
        let only_list = [all[1].clone()];
        let full = wire_request(ToolProtocol::JsonSchema, &history, &all, &all);
        let narrow = wire_request(ToolProtocol::JsonSchema, &history, &all, &only_list);
        assert_eq!(full.messages, narrow.messages, "the prefix is byte-stable");
        let rf = serde_json::to_value(narrow.response_format.unwrap()).unwrap();
        let alts = rf["json_schema"]["schema"]["oneOf"].as_array().unwrap();
        assert_eq!(alts.len(), 1);
        assert_eq!(alts[0]["properties"]["tool"]["const"], "list");
        let openai = wire_request(ToolProtocol::OpenaiTools, &history, &all, &only_list);
        assert_eq!(
            openai.tools.unwrap().len(),
            1,
            "OpenAI mode sends what is offered"
        );
    }

    #[test]
    fn parses_replies() {
        let t = tools();
        let c = parse_reply(
            "{\n  \"tool\": \"run_shell\", \"arguments\": {\"command\": \"ls\"}}",
            &t,
            "call_1".into(),
        )
        .unwrap();
        assert_eq!(c.function.name, "run_shell");
        assert_eq!(c.function.arguments, r#"{"command":"ls"}"#);
        assert_eq!(c.id, "call_1");
        let c = parse_reply("```json\n{\"tool\":\"list\"}\n```", &t, "x".into()).unwrap();
        assert_eq!(c.function.arguments, "{}");
        assert!(
            parse_reply(r#"{"tool":"nope","arguments":{}}"#, &t, "x".into())
                .unwrap_err()
                .contains("does not exist")
        );
        assert!(parse_reply(r#"{"tool":"list","arguments":{"#, &t, "x".into()).is_err());
        assert!(parse_reply(r#"{"tool":"list","arguments":3}"#, &t, "x".into()).is_err());
        let m = malformed_call(
            r#"{"tool": "run_shell", "arguments": {"command": "l"#,
            "call_2".into(),
        );
        assert_eq!(m.function.name, "run_shell");
        assert!(!is_json_object(&m.function.arguments));
    }

    #[test]
    fn invalid_arguments_reasons() {
        let mut m = Message::assistant("");
        m.tool_calls = Some(vec![
            ToolCall::new("a", "x", "{}"),
            ToolCall::new("b", "y", "{\"a\":"),
        ]);
        assert!(
            invalid_arguments(&m)
                .unwrap()
                .contains("`y` are not valid JSON")
        );
        m.tool_calls = Some(vec![ToolCall::new("a", "x", "[1]")]);
        assert!(invalid_arguments(&m).unwrap().contains("not a JSON object"));
        m.tool_calls = Some(vec![ToolCall::new("a", "x", "{\"k\":1}")]);
        assert_eq!(invalid_arguments(&m), None);
        assert!(nudge(ToolProtocol::OpenaiTools, "r").text().contains("(r)"));
    }
}
