//! What a run checks and reads before the clone, so a run that cannot work costs no clone
//! and no model time: the Agent the task names, the model server, and the issue's text for
//! an empty prompt (#571; its rules are in [`crate::executor::issue_prompt`]).

use super::{ExecEvent, Halt, Precondition, Run};
use crate::executor::provider::{self, Endpoint};
use crate::workspace::{self, Token};

impl Run<'_> {
    /// The task names this Agent, and there is a model server to talk to (the Agent's
    /// provider's, key included).
    pub(super) fn check_preconditions(&self) -> Result<Endpoint, Halt> {
        if let Some(r) = &self.task.spec.agent_ref
            && r.name != self.agent_name
        {
            return Err(self.precondition(
                Precondition::AgentNotFound,
                &format!(
                    "task references Agent {:?} but the supplied Agent is {:?}",
                    r.name, self.agent_name
                ),
            ));
        }
        let unavailable =
            |msg: &str| self.precondition(Precondition::InferenceServiceUnavailable, msg);
        let endpoint = provider::resolve(self.agent, &self.cfg.base_url, &self.cfg.provider_key)
            .map_err(|msg| unavailable(&msg))?;
        if endpoint.base_url.trim().is_empty() {
            return Err(unavailable(
                "no inference base URL: pass --base-url (e.g. http://127.0.0.1:8080/v1)",
            ));
        }
        Ok(endpoint)
    }

    /// The issue's title and body for an issue-fix task with an empty prompt (#571), read
    /// before the clone so an unreadable issue costs no model time.
    pub(super) async fn issue_prompt(
        &self,
        token: &Option<Token>,
        sink: &mut (dyn FnMut(ExecEvent) + Send),
    ) -> Result<Option<String>, Halt> {
        use crate::executor::issue_prompt as ip;
        let (Some(api), Some(want)) = (&self.cfg.github_api_base, ip::wanted(&self.task.spec))
        else {
            return Ok(None);
        };
        let (owner, repo, n) = &want;
        sink(ExecEvent::Status(format!(
            "reading issue #{n} of {owner}/{repo}: payload.prompt is empty"
        )));
        let token = token.clone().or_else(|| workspace::resolve_token().ok());
        match ip::fetch(api, token.as_ref(), &want).await {
            Ok(p) => Ok(Some(p)),
            Err(e) => Err(self.precondition(
                Precondition::IssueUnavailable,
                &ip::unavailable(api, &want, &e),
            )),
        }
    }
}
