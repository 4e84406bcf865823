//! The `:` line's tab completion: the first word completes to a command name, the word after
//! `:task` to a task name. Repeated tabs cycle through the candidates (shown beside the prompt);
//! any other key ends the cycle. Pure: the line and the names in, the new line out.

/// The `:` commands, as completion offers them (`:s` and `:q` still work as short forms).
pub const COMMANDS: &[&str] = &["submit", "task", "quit"];

/// A tab cycle in progress: the line as typed before the first tab, its candidates and the
/// one shown now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Completion {
    typed: String,
    pub candidates: Vec<String>,
    pub index: usize,
}

impl Completion {
    /// The first tab on `line`: `None` when nothing completes it.
    pub fn start<'a>(line: &str, tasks: impl Iterator<Item = &'a str>) -> Option<Completion> {
        let candidates: Vec<String> = match line.split_once(' ') {
            None => COMMANDS
                .iter()
                .filter(|c| c.starts_with(line))
                .map(|c| c.to_string())
                .collect(),
            Some(("task" | "t", word)) => {
                let word = word.trim_start();
                let mut names: Vec<String> = tasks
                    .filter(|n| n.starts_with(word))
                    .map(str::to_string)
                    .collect();
                names.sort();
                names.dedup();
                names
            }
            Some(_) => Vec::new(),
        };
        (!candidates.is_empty()).then(|| Completion {
            typed: line.to_string(),
            candidates,
            index: 0,
        })
    }

    /// The next tab: the following candidate.
    pub fn next(&mut self) {
        self.index = (self.index + 1) % self.candidates.len();
    }

    /// The line with the current candidate in place of the word being completed; a command
    /// name gets its trailing space, so the argument can follow.
    pub fn line(&self) -> String {
        let c = &self.candidates[self.index];
        match self.typed.split_once(' ') {
            None if self.candidates.len() == 1 => format!("{c} "),
            None => c.clone(),
            Some((verb, _)) => format!("{verb} {c}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TASKS: [&str; 3] = ["fix-greeting", "fix-typo-readme", "bump-deps"];

    #[test]
    fn the_first_word_completes_to_commands_and_tasks_after_task() {
        let c = Completion::start("su", TASKS.into_iter()).unwrap();
        assert_eq!(c.line(), "submit ");
        let mut c = Completion::start("", TASKS.into_iter()).unwrap();
        assert_eq!(c.candidates, ["submit", "task", "quit"]);
        c.next();
        assert_eq!(c.line(), "task");
        let mut c = Completion::start("task fix", TASKS.into_iter()).unwrap();
        assert_eq!(c.candidates, ["fix-greeting", "fix-typo-readme"]);
        assert_eq!(c.line(), "task fix-greeting");
        c.next();
        assert_eq!(c.line(), "task fix-typo-readme");
        c.next();
        assert_eq!(c.line(), "task fix-greeting", "the cycle wraps");
        assert_eq!(
            Completion::start("t b", TASKS.into_iter()).unwrap().line(),
            "t bump-deps"
        );
        assert!(Completion::start("zz", TASKS.into_iter()).is_none());
        assert!(Completion::start("task zz", TASKS.into_iter()).is_none());
        assert!(Completion::start("submit x", TASKS.into_iter()).is_none());
    }
}
