//! Where a keymap action applies, so one key may serve actions that can never be live at the
//! same time (`n`: the next search match in the transcript, a new task from an issue in the
//! queue). Lives with the keymap, below the console's registry, because both the config's
//! conflict check and the registry's key resolution need the same answer.

use std::fmt;

/// The part of the console a key press goes to: the focused pane (and, for the detail pane,
/// what it shows), or a modal overlay.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Scope {
    /// Every pane (not modal overlays, which take their own keys).
    Global,
    Fleet,
    Queue,
    Transcript,
    Diff,
    /// The issue picker (`n` in the queue): modal, so global keys do not fire in it.
    Picker,
    /// The Workloads pane (`w`): modal like the picker.
    Workloads,
}

/// Actions that apply in one scope only; every other action is [`Scope::Global`]. A new
/// command is global unless it is listed here.
const SCOPED: &[(&str, Scope)] = &[
    ("search_next", Scope::Transcript),
    ("search_prev", Scope::Transcript),
    ("new_from_issue", Scope::Queue),
    ("picker_repo", Scope::Picker),
    ("picker_label", Scope::Picker),
    ("picker_search", Scope::Picker),
    ("picker_more", Scope::Picker),
    ("picker_pick", Scope::Picker),
    ("picker_close", Scope::Picker),
    ("picker_up", Scope::Picker),
    ("picker_down", Scope::Picker),
    ("workloads_up", Scope::Workloads),
    ("workloads_down", Scope::Workloads),
    ("workloads_open", Scope::Workloads),
    ("workloads_close", Scope::Workloads),
];

impl Scope {
    /// The scope of a keymap action (by its `[keymap]` name).
    pub fn of(action: &str) -> Scope {
        SCOPED
            .iter()
            .find(|(a, _)| *a == action)
            .map_or(Scope::Global, |(_, s)| *s)
    }

    /// Modal scopes take only their own keys.
    pub fn is_modal(self) -> bool {
        matches!(self, Scope::Picker | Scope::Workloads)
    }

    /// Whether actions of `self` and `other` can be live at once: the same scope, or a global
    /// action and a pane's. Two actions on one key conflict only then.
    pub fn overlaps(self, other: Scope) -> bool {
        self == other
            || (self == Scope::Global && !other.is_modal())
            || (other == Scope::Global && !self.is_modal())
    }

    pub fn name(self) -> &'static str {
        match self {
            Scope::Global => "global",
            Scope::Fleet => "fleet",
            Scope::Queue => "queue",
            Scope::Transcript => "transcript",
            Scope::Diff => "diff",
            Scope::Picker => "issue picker",
            Scope::Workloads => "workloads",
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn panes_are_disjoint_and_global_reaches_every_pane_but_not_overlays() {
        use Scope::*;
        let panes = [Fleet, Queue, Transcript, Diff];
        for a in panes {
            assert!(Global.overlaps(a) && a.overlaps(Global), "{a}");
            assert!(a.overlaps(a));
            for b in panes.into_iter().filter(|b| *b != a) {
                assert!(!a.overlaps(b), "{a} vs {b}");
            }
            assert!(!Picker.overlaps(a) && !a.overlaps(Picker));
        }
        assert!(!Global.overlaps(Picker) && Picker.overlaps(Picker));
        assert!(Global.overlaps(Global));
    }

    #[test]
    fn unlisted_actions_are_global() {
        assert_eq!(Scope::of("quit"), Scope::Global);
        assert_eq!(Scope::of("search_next"), Scope::Transcript);
        assert_eq!(Scope::of("new_from_issue"), Scope::Queue);
    }
}
