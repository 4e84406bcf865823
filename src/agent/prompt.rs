//! Opening messages: system prompt, optional few-shot examples, the task prompt (spec §3.3).

use crate::api::{AgenticTaskSpec, FewShotExample, TaskKind};
use crate::oai::{Message, ToolCall};

/// Used when an Agent has no `systemPrompt` (upstream requires one in M3; P550 made it optional).
pub const DEFAULT_SYSTEM_PROMPT: &str = "You are a careful software engineer working in a git \
checkout. Act only through tool calls. Read before you edit, make the smallest correct change, \
verify it with the repository's own commands, then call submit_result exactly once with verdict \
GO (changes made and verified), NO-GO (not a good fit; leave no edits) or ERROR (blocked). Never \
run git commit, push or branch commands: the executor owns git. Never add Signed-off-by lines.";

/// The user message for a task (upstream `buildUserPrompt`).
pub fn user_prompt(spec: &AgenticTaskSpec, branch: &str) -> String {
    let prompt = spec.payload.prompt.as_deref().unwrap_or("").trim();
    match (spec.kind, spec.payload.issue) {
        (TaskKind::IssueFix, Some(n)) => {
            let repo = spec.payload.repo.as_deref().unwrap_or("this repository");
            let mut out = format!("Fix GitHub issue #{n} in {repo}.\n\n");
            if !prompt.is_empty() {
                out.push_str(&format!("Issue context:\n{prompt}\n\n"));
            }
            out.push_str(&format!(
                "The repository is already checked out in your workspace on branch {branch}.\n\
                 Make the minimum change that resolves the issue, verify it, then call submit_result.\n\
                 When the verdict is GO, the commit_message must end with the trailer line `Fixes #{n}`."
            ));
            out
        }
        _ => prompt.to_string(),
    }
}

/// System prompt, worked examples, task: the conversation the loop starts from.
pub fn opening(system: &str, few_shot: &[FewShotExample], user: String) -> Vec<Message> {
    let mut out = vec![Message::system(system)];
    for (i, ex) in few_shot.iter().enumerate() {
        let id = format!("example_{}", i + 1);
        // An empty `user` continues the previous example: a multi-step worked exchange.
        if !ex.user.trim().is_empty() {
            out.push(Message::user(ex.user.clone()));
        }
        let mut call = Message::assistant("");
        call.content = None;
        call.tool_calls = Some(vec![ToolCall::new(&id, &ex.tool, ex.arguments.to_string())]);
        out.push(call);
        out.push(Message::tool(id, ex.tool.clone(), ex.result.clone()));
    }
    out.push(Message::user(user));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::AgenticTaskPayload;

    fn spec(kind: TaskKind, issue: Option<i32>, prompt: &str) -> AgenticTaskSpec {
        AgenticTaskSpec {
            kind,
            model_ref: None,
            agent_ref: None,
            required_capability: None,
            payload: AgenticTaskPayload {
                repo: Some("acme/fleet".into()),
                issue,
                prompt: Some(prompt.into()),
                ..Default::default()
            },
            timeout_seconds: None,
            depends_on: None,
            priority: None,
            gate_profile: None,
            verdict_policy: None,
            mcp_enabled: None,
            gate: None,
        }
    }

    #[test]
    fn issue_fix_prompt_has_upstream_lines_in_order() {
        let p = user_prompt(
            &spec(TaskKind::IssueFix, Some(7), "Typo in README"),
            "foreman/issue-7",
        );
        let i1 = p.find("issue #7 in acme/fleet").unwrap();
        let i2 = p.find("Issue context:\nTypo in README").unwrap();
        let i3 = p.find("already checked out").unwrap();
        let i4 = p.find("call submit_result").unwrap();
        let i5 = p.find("`Fixes #7`").unwrap();
        assert!(i1 < i2 && i2 < i3 && i3 < i4 && i4 < i5);
    }

    #[test]
    fn other_kinds_use_the_prompt_verbatim() {
        assert_eq!(
            user_prompt(&spec(TaskKind::Freeform, None, "do x"), "b"),
            "do x"
        );
    }

    #[test]
    fn few_shot_examples_become_call_and_result_pairs() {
        let ex = FewShotExample {
            user: "list files".into(),
            tool: "bash".into(),
            arguments: serde_json::json!({"command": "ls"}),
            result: "README.md".into(),
        };
        let msgs = opening("sys", &[ex], "task".into());
        assert_eq!(msgs.len(), 5);
        assert_eq!(msgs[2].tool_calls()[0].function.name, "bash");
        assert_eq!(msgs[3].tool_call_id.as_deref(), Some("example_1"));
        assert_eq!(msgs[4].text(), "task");
    }

    #[test]
    fn an_example_without_user_text_continues_the_previous_one() {
        let step = |user: &str, tool: &str| FewShotExample {
            user: user.into(),
            tool: tool.into(),
            arguments: serde_json::json!({}),
            result: "ok".into(),
        };
        let msgs = opening(
            "sys",
            &[step("fix it", "str_replace"), step("", "submit_result")],
            "task".into(),
        );
        let roles: Vec<_> = msgs.iter().map(|m| m.role).collect();
        use crate::oai::Role::*;
        assert_eq!(
            roles,
            [System, User, Assistant, Tool, Assistant, Tool, User]
        );
    }
}
