//! Steering a live run (issue 12): a note the operator sends while a turn streams is queued
//! and reaches the model as a user message at the start of the next turn, in the very request
//! the (scripted) server receives, and the journal keeps it.

mod common;

use common::scripted_oai::ScriptedServer;
use common::{bot, fix_then_go, fleet_repo};
use foreman::agent::notes::{OPERATOR_NOTE_PREFIX, note_message};
use foreman::agent::transcript::{Record, read_journal};
use foreman::agent::{Inbox, LoopEvent};
use foreman::executor::run::TokenSource;
use foreman::executor::{ExecEvent, ExecutorConfig, execute_with};
use foreman::workspace::Token;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_note_sent_mid_stream_opens_the_next_turns_request() {
    let e = fleet_repo();
    let server = ScriptedServer::start(fix_then_go("docs: fix typo")).unwrap();
    let cfg = ExecutorConfig {
        base_url: server.base_url(),
        git_remote_url: Some(e.bare.display().to_string()),
        workspace_root: e.root.join("ws"),
        namespace: "default".into(),
        keep_workspace: false,
        identity: bot(),
        push_now: true,
        journal_path: e.root.join("journal.jsonl"),
        token: TokenSource::Given(Token::new("t")),
        sandbox: Default::default(),
        provider_key: Default::default(),
        github_api_base: None,
    };
    let inbox = Inbox::default();
    let operator = inbox.clone();
    let mut sent = false;
    let mut sink = |ev: ExecEvent| {
        // While turn 1 streams its reply, the operator types a note.
        if let ExecEvent::Loop(LoopEvent::Stream { turn: 1, .. }) = ev
            && !sent
        {
            sent = true;
            operator.push("use the British spelling");
        }
    };
    let rep = execute_with(
        &common::issue_task(),
        &common::agent(""),
        &cfg,
        inbox,
        &mut sink,
    )
    .await
    .unwrap();
    assert_eq!(rep.result.verdict, "GO", "{:?}", rep.result);
    assert!(sent, "turn 1 streamed");
    let reqs = server.requests();
    assert_eq!(reqs.len(), 2);
    let has_note = |i: usize| {
        reqs[i]["messages"].as_array().unwrap().iter().any(|m| {
            m["role"] == "user"
                && m["content"]
                    .as_str()
                    .is_some_and(|c| c.starts_with(OPERATOR_NOTE_PREFIX))
        })
    };
    assert!(!has_note(0), "the streaming turn is not interrupted");
    let last = reqs[1]["messages"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(last["role"], "user", "the note comes right before the turn");
    assert_eq!(last["content"], note_message("use the British spelling"));
    let journalled = read_journal(&rep.journal).unwrap().into_iter().any(|r| {
        matches!(r, Record::Message { turn: 2, message }
            if message.content.as_deref() == Some(note_message("use the British spelling").as_str()))
    });
    assert!(journalled, "the journal keeps the note");
}
