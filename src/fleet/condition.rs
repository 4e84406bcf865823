//! One condition upsert for every writer (the embedded backend, the scheduler's plan, the
//! agent's claims, terminal writes and heartbeats), following the Kubernetes rule for
//! `metav1.Condition`: `lastTransitionTime` moves only when `status` flips; a new reason or
//! message on the same status keeps the time, so "since when" stays true.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};

/// `"True"` or `"False"`.
fn status_str(ok: bool) -> &'static str {
    if ok { "True" } else { "False" }
}

/// Sets the condition of `type_` in `conds` (replacing it in place, or appending it); returns
/// whether anything changed. The transition time is `now` for a new condition or a flipped
/// status, and the old one otherwise.
pub fn upsert(
    conds: &mut Vec<Condition>,
    type_: &str,
    ok: bool,
    reason: &str,
    message: &str,
    now: &Time,
) -> bool {
    let status = status_str(ok);
    let message = cut_message(message);
    let old = conds.iter_mut().find(|c| c.type_ == type_);
    if let Some(c) = &old
        && c.status == status
        && c.reason == reason
        && c.message == message
    {
        return false;
    }
    let last_transition_time = match &old {
        Some(c) if c.status == status => c.last_transition_time.clone(),
        _ => now.clone(),
    };
    let new = Condition {
        type_: type_.to_string(),
        status: status.to_string(),
        reason: reason.to_string(),
        message: message.to_string(),
        last_transition_time,
        observed_generation: None,
    };
    match old {
        Some(c) => *c = new,
        None => conds.push(new),
    }
    true
}

/// `message` cut to what the CRD admits (at a character boundary), so a long error text does
/// not get the whole status write rejected.
fn cut_message(message: &str) -> &str {
    let max = crate::api::common::CONDITION_MESSAGE_MAX;
    if message.len() <= max {
        return message;
    }
    let mut end = max;
    while !message.is_char_boundary(end) {
        end -= 1;
    }
    &message[..end]
}

/// `conds` with the condition set, or `None` when it already reads so (for writers that build
/// a patch from a borrowed status).
pub fn upserted(
    conds: &[Condition],
    type_: &str,
    ok: bool,
    reason: &str,
    message: &str,
    now: &Time,
) -> Option<Vec<Condition>> {
    let mut out = conds.to_vec();
    upsert(&mut out, type_, ok, reason, message, now).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: i64) -> Time {
        Time(jiff::Timestamp::from_second(s).unwrap())
    }

    #[test]
    fn a_message_longer_than_the_crd_admits_is_cut_at_a_char_boundary() {
        let max = crate::api::common::CONDITION_MESSAGE_MAX;
        let long = format!("a{}", "é".repeat(max));
        let mut conds = Vec::new();
        upsert(&mut conds, "Ready", false, "Failed", &long, &at(1));
        let m = &conds[0].message;
        assert!(m.len() <= max && m.len() >= max - 1, "{}", m.len());
        assert!(long.starts_with(m.as_str()));
        let short = "fine";
        upsert(&mut conds, "Ready", false, "Failed", short, &at(2));
        assert_eq!(conds[0].message, short);
    }

    #[test]
    fn transition_time_moves_only_when_the_status_flips() {
        let mut conds = Vec::new();
        assert!(upsert(&mut conds, "Ready", true, "A", "a", &at(10)));
        assert_eq!(conds[0].last_transition_time, at(10));
        // Same status, same words: nothing to write.
        assert!(!upsert(&mut conds, "Ready", true, "A", "a", &at(20)));
        // New reason and message, same status: updated, time kept.
        assert!(upsert(&mut conds, "Ready", true, "B", "b", &at(30)));
        assert_eq!(
            (conds[0].reason.as_str(), conds[0].message.as_str()),
            ("B", "b")
        );
        assert_eq!(conds[0].last_transition_time, at(10));
        // Flipped status: new time.
        assert!(upsert(&mut conds, "Ready", false, "B", "b", &at(40)));
        assert_eq!(conds[0].status, "False");
        assert_eq!(conds[0].last_transition_time, at(40));
        // Another type is appended; the first keeps its place.
        assert!(upsert(&mut conds, "Scheduled", true, "C", "c", &at(50)));
        assert_eq!(conds.len(), 2);
        assert_eq!(conds[0].type_, "Ready");
        assert_eq!(conds[1].last_transition_time, at(50));
    }

    #[test]
    fn upserted_leaves_the_input_alone() {
        let conds = vec![];
        let out = upserted(&conds, "Ready", true, "A", "a", &at(1)).unwrap();
        assert_eq!(out.len(), 1);
        assert!(upserted(&out, "Ready", true, "A", "a", &at(2)).is_none());
    }
}
