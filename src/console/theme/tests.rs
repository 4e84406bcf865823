use super::*;

/// Fields that are backgrounds, not text; checked against their own foregrounds instead.
const BACKGROUNDS: [&str; 3] = ["base.bg", "selection.bg", "base.search_match"];

fn text_colors(t: &Theme) -> Vec<(&'static str, Color)> {
    t.colors()
        .into_iter()
        .filter(|(n, c)| !BACKGROUNDS.contains(n) && *n != "selection.fg" && *c != Color::Reset)
        .collect()
}

fn assert_contrast(theme: &str, against: Color, min: f64) {
    let t = Theme::builtin(theme).unwrap();
    let mut bad = Vec::new();
    for (name, c) in text_colors(&t) {
        let r = contrast_ratio(c, against).unwrap();
        if r < min {
            bad.push(format!("{name} = {c:?}: {r:.2}:1"));
        }
    }
    let sel = contrast_ratio(t.selection.fg, t.selection.bg).unwrap();
    if sel < 4.5 {
        bad.push(format!("selection fg/bg: {sel:.2}:1"));
    }
    assert!(
        bad.is_empty(),
        "{theme} below {min}:1 against {against:?}: {bad:#?}"
    );
}

#[test]
fn every_builtin_parses_completely() {
    let syntax = syntax_theme_names();
    for (name, _) in BUILTIN_THEMES {
        let t = Theme::builtin(name).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(
            syntax.contains(&t.syntax_theme),
            "{name}: {}",
            t.syntax_theme
        );
        assert_eq!(t.colors().len(), 31, "{name}");
    }
    assert_eq!(
        Theme::builtin("light").unwrap().syntax_theme,
        "InspiredGitHub"
    );
    assert_eq!(Theme::default(), Theme::builtin("dark").unwrap());
    assert_ne!(
        Theme::builtin("dark").unwrap(),
        Theme::builtin("light").unwrap()
    );
}

#[test]
fn partial_override_keeps_unset_fields() {
    let src = "extends = \"light\"\n[status]\nerror = \"#ff0000\"\n[diff]\nadded = \"22\"\n";
    let t = Theme::from_toml(src, "mine.toml").unwrap();
    let mut expected = Theme::builtin("light").unwrap();
    expected.status.error = Color::Rgb(255, 0, 0);
    expected.diff.added = Color::Indexed(22);
    assert_eq!(t, expected);

    // Without `extends` a patch applies over the default (dark) theme.
    let t = Theme::from_toml("syntax_theme = \"Solarized (dark)\"\n", "mine.toml").unwrap();
    assert_eq!(t.phase, Theme::builtin("dark").unwrap().phase);
    assert_eq!(t.syntax_theme, "Solarized (dark)");
}

#[test]
fn bad_colour_names_field_file_and_line() {
    let src = "extends = \"light\"\n\n[phase]\nrunning = \"#8250df\"\nfailed = \"blurple\"\n";
    let e = Theme::from_toml(src, "my-theme.toml").unwrap_err();
    let msg = e.to_string();
    assert!(matches!(e, ThemeError::BadColor { line: 5, .. }), "{e:?}");
    assert!(msg.starts_with("my-theme.toml:5:"), "{msg}");
    assert!(
        msg.contains("phase.failed") && msg.contains("blurple"),
        "{msg}"
    );
    assert!(msg.contains("#rrggbb"), "{msg}");
}

#[test]
fn unknown_field_and_section_are_refused_with_line() {
    let e =
        Theme::from_toml("[diff]\nadded = \"green\"\nremovd = \"red\"\n", "t.toml").unwrap_err();
    let msg = e.to_string();
    assert!(matches!(e, ThemeError::Parse { line: 3, .. }), "{e:?}");
    assert!(msg.contains("removd"), "{msg}");
    let e = Theme::from_toml("[colours]\nx = \"red\"\n", "t.toml").unwrap_err();
    assert!(e.to_string().contains("colours"), "{e}");
}

#[test]
fn unknown_syntax_theme_and_base_are_explained() {
    let e = Theme::from_toml("\nsyntax_theme = \"monokai\"\n", "t.toml").unwrap_err();
    assert!(
        matches!(e, ThemeError::UnknownSyntaxTheme { line: 2, .. }),
        "{e:?}"
    );
    assert!(e.to_string().contains("InspiredGitHub"), "{e}");
    let e = Theme::from_toml("extends = \"solarized\"\n", "t.toml").unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.contains("t.toml:1") && msg.contains("high-contrast"),
        "{msg}"
    );
}

#[test]
fn load_resolves_names_paths_and_theme_dir() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("mine.toml"),
        "extends = \"high-contrast\"\n[base]\naccent = \"red\"\n",
    )
    .unwrap();
    assert_eq!(
        Theme::load("Light", None).unwrap(),
        Theme::builtin("light").unwrap()
    );
    let by_name = Theme::load("mine", Some(dir.path())).unwrap();
    assert_eq!(by_name.base.accent, Color::Red);
    assert_eq!(by_name.base.bg, Color::Black);
    let path = dir.path().join("mine.toml");
    assert_eq!(Theme::load(path.to_str().unwrap(), None).unwrap(), by_name);
    let e = Theme::load("nope", Some(dir.path())).unwrap_err();
    assert!(e.to_string().contains("dark, light, high-contrast"), "{e}");
    let e = Theme::load("/no/such/theme.toml", None).unwrap_err();
    assert!(matches!(e, ThemeError::Io { .. }), "{e:?}");
}

#[test]
fn light_theme_is_readable_on_white() {
    let white = Color::Rgb(255, 255, 255);
    assert_contrast("light", white, 4.5);
    let t = Theme::builtin("light").unwrap();
    for (name, c) in text_colors(&t) {
        assert!(
            !matches!(
                c,
                Color::Yellow | Color::LightYellow | Color::White | Color::Gray
            ),
            "{name} uses {c:?}, unreadable on white"
        );
    }
    let on_match = contrast_ratio(t.base.fg, t.base.search_match).unwrap();
    assert!(on_match >= 4.5, "text on search match: {on_match:.2}");
}

#[test]
fn dark_theme_is_readable_on_black() {
    assert_contrast("dark", Color::Black, 3.0);
}

#[test]
fn high_contrast_meets_aaa_on_its_background() {
    let t = Theme::builtin("high-contrast").unwrap();
    assert_contrast("high-contrast", t.base.bg, 7.0);
    let on_match = contrast_ratio(t.base.fg, t.base.search_match).unwrap();
    assert!(on_match >= 7.0, "text on search match: {on_match:.2}");
}

#[test]
fn styles_follow_the_theme() {
    let t = Theme::builtin("light").unwrap();
    assert_eq!(t.border(true).fg, Some(t.border.focused));
    assert_eq!(t.border(false).fg, Some(t.border.normal));
    assert_eq!(t.selection().bg, Some(t.selection.bg));
    assert!(
        Theme::plain()
            .selection()
            .add_modifier
            .contains(Modifier::REVERSED)
    );
}
