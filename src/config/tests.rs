use std::collections::HashMap;

use crossterm::event::{KeyCode, KeyModifiers};

use super::*;

/// A fake environment; `FOREMAN_CONFIG` points at `file` (or an empty file).
fn load(file: Option<&Path>, vars: &[(&str, &str)]) -> (Config, Vec<ConfigWarning>) {
    let mut env: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    // Hermetic: never read the real ~/.config/foreman/config.toml of the machine.
    let empty = tempfile::tempdir().unwrap();
    let f = file.map_or_else(|| empty.path().join("empty.toml"), Path::to_path_buf);
    if file.is_none() {
        std::fs::write(&f, "").unwrap();
    }
    env.insert("FOREMAN_CONFIG".into(), f.display().to_string());
    Config::load_with(&|k| env.get(k).cloned())
}

fn user_file(text: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("config.toml");
    std::fs::write(&p, text).unwrap();
    (dir, p)
}

fn defaults() -> Config {
    let mut w = Vec::new();
    let c = Config::defaults(&mut w);
    assert!(
        w.is_empty(),
        "{:?}",
        w.iter().map(|w| w.to_string()).collect::<Vec<_>>()
    );
    c
}

#[test]
fn embedded_defaults_are_complete_and_conflict_free() {
    let c = defaults();
    assert_eq!(c.github.api_base, "https://api.github.com");
    assert_eq!(c.inference.base_url, "http://127.0.0.1:8080/v1");
    assert_eq!(c.executor.max_concurrent, 1);
    assert!(!c.executor.auto_push);
    assert_eq!(c.ui.theme, "dark");
    assert_eq!(c.ui.bell, Bell::Approval);
    assert_eq!(c.keymap.get("approve_push").unwrap().to_string(), "a");
    assert_eq!(c.keymap.get("open_pr").unwrap().to_string(), "P");
    assert_eq!(c.keymap.get("cancel_task").unwrap().to_string(), "ctrl-k");
    assert!(
        c.keymap.conflicts().is_empty(),
        "{:?}",
        c.keymap.conflicts()
    );
    assert_eq!(c.workspace_dir(), c.workspace.state_dir.join("workspaces"));
    // Differs from the last-resort values in at least the keymap, proving the file applied.
    assert!(c.keymap.iter().count() >= 20);
}

#[test]
fn layers_apply_in_order_defaults_file_env_flags() {
    let (_d, p) = user_file(
        "[ui]\ntheme = \"light\"\nbell = \"both\"\n\n[executor]\nmax_concurrent = 3\n\
         auto_push = true\n\n[github]\napi_base = \"https://ghe.example.com/api/v3\"\n\n\
         [keymap]\nopen_pr = \"O\"\n",
    );
    let (mut c, w) = load(
        Some(&p),
        &[
            ("FOREMAN_THEME", "high-contrast"),
            ("FOREMAN_MAX_CONCURRENT", "4"),
        ],
    );
    assert!(
        w.is_empty(),
        "{:?}",
        w.iter().map(|w| w.to_string()).collect::<Vec<_>>()
    );
    assert_eq!(c.user_file.as_deref(), Some(p.as_path()));
    assert_eq!(c.ui.theme, "high-contrast"); // env beats file
    assert_eq!(c.ui.bell, Bell::Both); // file beats defaults
    assert!(c.executor.auto_push);
    assert_eq!(c.executor.max_concurrent, 4);
    assert_eq!(c.github.api_base, "https://ghe.example.com/api/v3");
    assert_eq!(c.keymap.get("open_pr").unwrap().to_string(), "O");
    assert_eq!(c.keymap.get("approve_push").unwrap().to_string(), "a"); // untouched default
    assert!(!c.ui.mouse);

    c.merge_overrides(&ConfigLayer {
        max_concurrent: Some(2),
        mouse: Some(true),
        ..Default::default()
    });
    assert_eq!(c.executor.max_concurrent, 2); // flags beat env
    assert!(c.ui.mouse);
    assert_eq!(c.ui.theme, "high-contrast"); // flags that are unset change nothing
}

#[test]
fn env_overrides_and_bad_env_values_warn() {
    let (c, w) = load(
        None,
        &[
            ("FOREMAN_GIT_AUTHOR_EMAIL", "bot@host.local"),
            ("FOREMAN_WORKSPACE_DIR", "/srv/ws"),
            ("FOREMAN_AUTO_PUSH", "yes"),
            ("FOREMAN_MOUSE", "sometimes"),
            ("FOREMAN_BELL", "loud"),
        ],
    );
    assert_eq!(c.git.author_email.as_deref(), Some("bot@host.local"));
    assert_eq!(c.workspace_dir(), PathBuf::from("/srv/ws"));
    assert!(c.executor.auto_push);
    assert!(!c.ui.mouse);
    assert_eq!(c.ui.bell, Bell::Approval);
    let msgs: Vec<String> = w.iter().map(|w| w.to_string()).collect();
    assert_eq!(msgs.len(), 2, "{msgs:?}");
    assert!(msgs[0].contains("FOREMAN_MOUSE") && msgs[0].contains("true or false"));
    assert!(msgs[1].contains("FOREMAN_BELL") && msgs[1].contains("approval"));
}

/// Each key a file may set lands in its own layer field, and an empty file sets nothing.
#[test]
fn every_file_key_reaches_its_own_layer_field() {
    let (_d, p) = user_file(
        "[inference]\nbase_url = \"http://llm:8080/v1\"\n\
         [git]\nremote_url = \"http://git/acme.git\"\nauthor_name = \"Bot\"\n\
         author_email = \"bot@x\"\n\
         [workspace]\ndir = \"/srv/ws\"\nstate_dir = \"/srv/state\"\n\
         [executor]\nmax_concurrent = 64\nauto_push = false\nmax_tool_calls_per_turn = 7\n\
         [github]\napi_base = \"https://ghe/api/v3\"\n\
         [ui]\ntheme = \"light\"\nbell = \"finish\"\nmouse = true\ntranscript_budget_mb = 64\n\
         [sandbox]\nmode = \"off\"\nnetwork = \"loopback\"\nallow_paths = [\"/srv/cache\"]\n\
         [limits]\nmax_manifest_bytes = 2048\nmax_objects = 5\n\
         [keymap]\nopen_pr = \"O\"\n",
    );
    let want = ConfigLayer {
        inference_base_url: Some("http://llm:8080/v1".into()),
        git_remote_url: Some("http://git/acme.git".into()),
        git_author_name: Some("Bot".into()),
        git_author_email: Some("bot@x".into()),
        workspace_dir: Some(PathBuf::from("/srv/ws")),
        state_dir: Some(PathBuf::from("/srv/state")),
        max_concurrent: Some(64),
        auto_push: Some(false),
        max_tool_calls_per_turn: Some(7),
        github_api_base: Some("https://ghe/api/v3".into()),
        theme: Some("light".into()),
        bell: Some(Bell::Finish),
        mouse: Some(true),
        transcript_budget_mb: Some(64),
        keymap: [("open_pr".to_string(), "O".parse().unwrap())].into(),
        sandbox_mode: Some(crate::sandbox::Mode::Off),
        sandbox_network: Some(crate::sandbox::Network::Loopback),
        sandbox_allow_paths: Some(vec!["/srv/cache".into()]),
        max_manifest_bytes: Some(2048),
        max_objects: Some(5),
    };
    assert_eq!(Config::check_file(&p).unwrap(), want);
    let (_d, p) = user_file("");
    assert_eq!(Config::check_file(&p).unwrap(), ConfigLayer::default());
}

#[test]
fn unknown_key_names_file_line_and_key_and_falls_back() {
    let (_d, p) = user_file("[ui]\ntheme = \"light\"\ntheem = \"dark\"\n");
    let (c, w) = load(Some(&p), &[]);
    assert_eq!(w.len(), 1);
    let msg = w[0].to_string();
    assert!(
        matches!(&w[0].error, ConfigError::Parse { line: 3, .. }),
        "{:?}",
        w[0].error
    );
    assert!(msg.contains(&format!("{}:3:", p.display())), "{msg}");
    assert!(msg.contains("theem"), "{msg}");
    assert!(msg.contains("ignored this file"), "{msg}");
    // The whole bad file is ignored, including its valid `theme` line.
    assert_eq!(c.ui.theme, "dark");
    assert_eq!(c.user_file, None);

    let (_d, p) = user_file("[colors]\nfg = \"red\"\n");
    let (_, w) = load(Some(&p), &[]);
    assert!(w[0].to_string().contains("colors"), "{}", w[0]);
}

#[test]
fn malformed_toml_and_bad_values_are_located() {
    let (_d, p) = user_file("[ui]\nmouse = maybe\n");
    let (_, w) = load(Some(&p), &[]);
    assert!(
        matches!(&w[0].error, ConfigError::Parse { line: 2, .. }),
        "{:?}",
        w[0].error
    );

    let (_d, p) = user_file("[ui]\nbell = \"always\"\n");
    let (_, w) = load(Some(&p), &[]);
    let msg = w[0].to_string();
    assert!(msg.contains(":2:") && msg.contains("always"), "{msg}");

    let (_d, p) = user_file("[executor]\n\nmax_concurrent = 0\n");
    let e = Config::check_file(&p).unwrap_err();
    assert!(matches!(e, ConfigError::BadValue { line: 3, .. }), "{e:?}");
    assert!(e.to_string().contains("executor.max_concurrent"), "{e}");
}

#[test]
fn bad_key_string_and_unknown_action_are_errors() {
    let (_d, p) = user_file("[keymap]\napprove_push = \"y\"\nopen_pr = \"hyper-p\"\n");
    let e = Config::check_file(&p).unwrap_err();
    let msg = e.to_string();
    assert!(matches!(e, ConfigError::BadKey { line: 3, .. }), "{e:?}");
    assert!(msg.contains("open_pr") && msg.contains("hyper-p"), "{msg}");

    let (_d, p) = user_file("[keymap]\naprove_push = \"y\"\n");
    let e = Config::check_file(&p).unwrap_err();
    let msg = e.to_string();
    assert!(
        matches!(e, ConfigError::UnknownAction { line: 2, .. }),
        "{e:?}"
    );
    assert!(
        msg.contains("aprove_push") && msg.contains("approve_push"),
        "{msg}"
    );
}

#[test]
fn keymap_conflicts_warn_and_dispatch_works() {
    let (_d, p) = user_file("[keymap]\nopen_pr = \"a\"\n");
    let (c, w) = load(Some(&p), &[]);
    assert_eq!(w.len(), 1);
    let msg = w[0].to_string();
    assert!(
        msg.contains("approve_push") && msg.contains("open_pr"),
        "{msg}"
    );
    let (c2, _) = load(None, &[]);
    assert_eq!(
        c2.keymap
            .action_for(KeyCode::Char('P'), KeyModifiers::SHIFT),
        Some("open_pr")
    );
    assert_eq!(
        c2.keymap
            .action_for(KeyCode::Char('k'), KeyModifiers::CONTROL),
        Some("cancel_task")
    );
    assert_eq!(
        c2.keymap.action_for(KeyCode::Char('k'), KeyModifiers::NONE),
        Some("up")
    );
    assert_eq!(c.keymap.get("open_pr").unwrap().to_string(), "a");
}

#[test]
fn missing_explicit_file_warns_but_default_location_does_not() {
    let dir = tempfile::tempdir().unwrap();
    let (c, w) = load(Some(&dir.path().join("nope.toml")), &[]);
    assert_eq!(w.len(), 1);
    assert!(w[0].to_string().contains("nope.toml"), "{}", w[0]);
    assert_eq!(c.ui.theme, "dark");
}

#[test]
fn home_is_expanded_in_paths() {
    let (_d, p) =
        user_file("[workspace]\ndir = \"~/foreman-workspaces\"\nstate_dir = \"/var/foreman\"\n");
    let (c, w) = load(Some(&p), &[]);
    assert!(w.is_empty());
    let dir = c.workspace_dir();
    assert!(
        dir.ends_with("foreman-workspaces") && !dir.starts_with("~"),
        "{dir:?}"
    );
    assert_eq!(c.workspace.state_dir, PathBuf::from("/var/foreman"));
}

#[test]
fn sandbox_settings_layer_defaults_file_env_and_flags() {
    use crate::sandbox::{DEFAULT_ALLOW_PATHS, Mode, Network};
    let c = defaults();
    assert_eq!(c.sandbox.mode, Mode::On);
    assert_eq!(
        c.sandbox.network, None,
        "each Agent's own network unless overridden"
    );
    assert_eq!(c.sandbox.allow_paths, DEFAULT_ALLOW_PATHS.map(String::from));

    let (_d, p) = user_file("[sandbox]\nnetwork = \"loopback\"\nallow_paths = [\"~/.m2\"]\n");
    let (mut c, w) = load(Some(&p), &[("FOREMAN_SANDBOX", "off")]);
    assert!(
        w.is_empty(),
        "{:?}",
        w.iter().map(|w| w.to_string()).collect::<Vec<_>>()
    );
    assert_eq!(c.sandbox.network, Some(Network::Loopback));
    assert_eq!(c.sandbox.allow_paths, vec!["~/.m2".to_string()]);
    assert_eq!(c.sandbox.mode, Mode::Off, "env beats the defaults");
    c.merge_overrides(&ConfigLayer {
        sandbox_mode: Some(Mode::On),
        sandbox_network: Some(Network::Full),
        ..Default::default()
    });
    assert_eq!(
        (c.sandbox.mode, c.sandbox.network),
        (Mode::On, Some(Network::Full))
    );

    let (_d, p) = user_file("[sandbox]\nmode = \"sometimes\"\n");
    let (c, w) = load(Some(&p), &[("FOREMAN_SANDBOX_NETWORK", "internet")]);
    let w: Vec<String> = w.iter().map(|w| w.to_string()).collect();
    assert_eq!(w.len(), 2, "{w:?}");
    assert!(w[0].contains("config.toml:2"), "{w:?}");
    assert!(w[1].contains("FOREMAN_SANDBOX_NETWORK") && w[1].contains("none, loopback or full"));
    assert_eq!(
        c.sandbox.mode,
        Mode::On,
        "a broken file never turns the sandbox off"
    );
}

/// Environment without `FOREMAN_CONFIG`: the file comes from the locations.
fn load_from(vars: &[(&str, &str)], at: &paths::Locations) -> (Config, Vec<ConfigWarning>) {
    let env: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Config::load_at(&|k| env.get(k).cloned(), at)
}

fn two_homes() -> (tempfile::TempDir, paths::Locations) {
    let d = tempfile::tempdir().unwrap();
    let at = paths::Locations {
        home: Some(d.path().join("home/.config/foreman")),
        old: Some(d.path().join("home/Library/Application Support/foreman")),
    };
    for dir in [&at.home, &at.old] {
        std::fs::create_dir_all(dir.as_ref().unwrap()).unwrap();
    }
    (d, at)
}

#[test]
fn the_config_home_file_is_read_without_a_notice() {
    let (_d, at) = two_homes();
    let file = at.home.as_ref().unwrap().join("config.toml");
    std::fs::write(&file, "[ui]\ntheme = \"light\"\n").unwrap();
    // An old file too: the home's wins, silently.
    std::fs::write(
        at.old.as_ref().unwrap().join("config.toml"),
        "[ui]\ntheme = \"x\"\n",
    )
    .unwrap();
    let (c, w) = load_from(&[], &at);
    assert!(
        w.is_empty(),
        "{:?}",
        w.iter().map(|w| w.to_string()).collect::<Vec<_>>()
    );
    assert_eq!(c.ui.theme, "light");
    assert_eq!(c.user_file.as_deref(), Some(file.as_path()));
}

#[test]
fn a_file_only_in_the_old_location_is_read_with_a_notice() {
    let (_d, at) = two_homes();
    let old = at.old.as_ref().unwrap().join("config.toml");
    std::fs::write(&old, "[ui]\ntheme = \"light\"\n").unwrap();
    let (c, w) = load_from(&[], &at);
    assert_eq!(c.ui.theme, "light");
    assert_eq!(c.user_file.as_deref(), Some(old.as_path()));
    assert_eq!(w.len(), 1);
    assert!(matches!(&w[0].error, ConfigError::OldLocation { .. }));
    let notice = w[0].to_string();
    let home = at.home.as_ref().unwrap().join("config.toml");
    assert!(notice.contains(&old.display().to_string()), "{notice}");
    assert!(
        notice.contains(&format!("move it to {}", home.display())),
        "{notice}"
    );
    // $FOREMAN_CONFIG still names the file outright.
    let (_e, explicit) = user_file("[ui]\ntheme = \"high-contrast\"\n");
    let (c, w) = load_from(&[("FOREMAN_CONFIG", explicit.to_str().unwrap())], &at);
    assert!(w.is_empty());
    assert_eq!(c.ui.theme, "high-contrast");
}

#[test]
fn xdg_config_home_moves_the_home() {
    let xdg = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(xdg.path().join("foreman")).unwrap();
    let file = xdg.path().join("foreman/config.toml");
    std::fs::write(&file, "[ui]\nbell = \"both\"\n").unwrap();
    let env = [("XDG_CONFIG_HOME", xdg.path().to_str().unwrap())];
    let at = paths::Locations::from_env(&|k| {
        env.iter()
            .find(|(n, _)| *n == k)
            .map(|(_, v)| v.to_string())
    });
    assert_eq!(
        at.home.as_deref(),
        Some(xdg.path().join("foreman").as_path())
    );
    let (c, _) = load_from(&env, &at);
    assert_eq!(c.ui.bell, Bell::Both);
    assert_eq!(c.user_file.as_deref(), Some(file.as_path()));
    // Without it: ~/.config/foreman on every platform (not ~/Library/Application Support).
    let at = paths::Locations::from_env(&|_| None);
    let home = directories::BaseDirs::new()
        .unwrap()
        .home_dir()
        .to_path_buf();
    assert_eq!(at.home, Some(home.join(".config/foreman")));
}

#[test]
fn limits_reach_the_loader_and_out_of_range_is_named() {
    let mut c = Config::defaults(&mut Vec::new());
    assert_eq!(c.limits.manifest(), crate::api::Limits::default());
    c.merge_overrides(&ConfigLayer {
        max_manifest_bytes: Some(4096),
        max_objects: Some(3),
        ..Default::default()
    });
    let l = c.limits.manifest();
    assert_eq!((l.max_bytes, l.max_objects), (4096, 3));
    assert_eq!(l.max_depth, crate::api::Limits::default().max_depth);
    let (_d, p) = user_file("[limits]\nmax_objects = 0\n");
    let err = Config::check_file(&p).unwrap_err().to_string();
    assert!(
        err.contains(":2: `limits.max_objects`: 0 is out of range; use 1 to 100000"),
        "{err}"
    );
}

#[test]
fn one_key_may_serve_actions_of_disjoint_scopes_but_not_of_overlapping_ones() {
    // The defaults bind `n` twice (transcript: next match; queue: new from issue) and `o`
    // twice (global: open PR URL; issue picker: repository): disjoint, so no conflict.
    let c = defaults();
    let n = |scope| {
        c.keymap
            .action_in(KeyCode::Char('n'), KeyModifiers::NONE, scope)
    };
    assert_eq!(n(Scope::Transcript), Some("search_next"));
    assert_eq!(n(Scope::Queue), Some("new_from_issue"));
    assert_eq!(n(Scope::Diff), None);
    let o = |scope| {
        c.keymap
            .action_in(KeyCode::Char('o'), KeyModifiers::NONE, scope)
    };
    assert_eq!(o(Scope::Queue), Some("open_pr_url"));
    assert_eq!(o(Scope::Picker), Some("picker_repo"));
    // A modal overlay takes only its own keys: `q` (global quit) does nothing in the picker.
    assert_eq!(
        c.keymap
            .action_in(KeyCode::Char('q'), KeyModifiers::NONE, Scope::Picker),
        None
    );
    // Two actions of one scope on a key, or a scoped and a global one: still a conflict.
    let (_d, p) = user_file("[keymap]\nsearch_prev = \"n\"\nnew_from_issue = \"q\"\n");
    let (_, w) = load(Some(&p), &[]);
    let msgs: Vec<String> = w.iter().map(|w| w.to_string()).collect();
    assert_eq!(msgs.len(), 2, "{msgs:?}");
    assert!(
        msgs.iter()
            .any(|m| m.contains("search_next") && m.contains("search_prev")),
        "{msgs:?}"
    );
    assert!(
        msgs.iter()
            .any(|m| m.contains("new_from_issue") && m.contains("quit")),
        "{msgs:?}"
    );
    // The queue's `n` does not count against the transcript's pair.
    assert!(
        msgs.iter().all(|m| !m.contains("new_from_issue, search")),
        "{msgs:?}"
    );
}

/// `max_tool_calls_per_turn`: default 32, file, then env; out of range is named and the
/// default kept; the Agent's own field wins over all of them when applied.
#[test]
fn max_tool_calls_per_turn_layers_and_the_agent_wins() {
    let (c, _) = load(None, &[]);
    assert_eq!(c.executor.max_tool_calls_per_turn, 32);
    let (_d, p) = user_file("[executor]\nmax_tool_calls_per_turn = 5\n");
    let (c, w) = load(Some(&p), &[]);
    assert!(w.is_empty());
    assert_eq!(c.executor.max_tool_calls_per_turn, 5);
    let (c, w) = load(Some(&p), &[("FOREMAN_MAX_TOOL_CALLS_PER_TURN", "9")]);
    assert!(w.is_empty());
    assert_eq!(c.executor.max_tool_calls_per_turn, 9);
    let (c, w) = load(Some(&p), &[("FOREMAN_MAX_TOOL_CALLS_PER_TURN", "0")]);
    assert_eq!(
        c.executor.max_tool_calls_per_turn, 5,
        "a bad env value keeps the file's"
    );
    let msgs: Vec<String> = w.iter().map(|w| w.to_string()).collect();
    assert!(
        msgs.iter()
            .any(|m| m.contains("FOREMAN_MAX_TOOL_CALLS_PER_TURN") && m.contains("1 to 1024")),
        "{msgs:?}"
    );
    let (_d2, bad) = user_file("[executor]\nmax_tool_calls_per_turn = 5000\n");
    let e = Config::check_file(&bad).unwrap_err().to_string();
    assert!(
        e.contains("executor.max_tool_calls_per_turn") && e.contains("1 to 1024"),
        "{e}"
    );

    let agent = |n: Option<i32>| {
        let mut a: crate::api::Agent = serde_json::from_value(serde_json::json!({
            "apiVersion": "foreman.llmkube.dev/v1alpha1", "kind": "Agent",
            "metadata": {"name": "a"}, "spec": {"role": "coder", "tools": ["bash"]}
        }))
        .unwrap();
        a.spec.max_tool_calls_per_turn = n;
        a
    };
    let d = c.executor.agent_defaults();
    let mut unset = agent(None);
    d.apply_to(&mut unset);
    assert_eq!(unset.spec.max_tool_calls_per_turn(), 5);
    let mut own = agent(Some(3));
    d.apply_to(&mut own);
    assert_eq!(
        own.spec.max_tool_calls_per_turn(),
        3,
        "the Agent's field wins"
    );
    let mut zero = agent(Some(0));
    d.apply_to(&mut zero);
    assert_eq!(
        zero.spec.max_tool_calls_per_turn(),
        5,
        "0 means unset, as upstream reads it"
    );
}
