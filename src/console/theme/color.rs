//! Colour strings → `ratatui::style::Color`, and an approximate contrast ratio so the shipped
//! themes can be checked for readability in tests (named/indexed colours use xterm's default
//! palette; a user's terminal palette may differ, which is why the light theme uses hex).

use ratatui::style::Color;

const NAMES: [(&str, Color); 17] = [
    ("reset", Color::Reset),
    ("black", Color::Black),
    ("red", Color::Red),
    ("green", Color::Green),
    ("yellow", Color::Yellow),
    ("blue", Color::Blue),
    ("magenta", Color::Magenta),
    ("cyan", Color::Cyan),
    ("gray", Color::Gray),
    ("darkgray", Color::DarkGray),
    ("lightred", Color::LightRed),
    ("lightgreen", Color::LightGreen),
    ("lightyellow", Color::LightYellow),
    ("lightblue", Color::LightBlue),
    ("lightmagenta", Color::LightMagenta),
    ("lightcyan", Color::LightCyan),
    ("white", Color::White),
];

/// Why a colour string was refused (the caller adds the field name and file).
pub const COLOR_HELP: &str = "expected an ANSI name (reset, black, red, green, yellow, blue, \
    magenta, cyan, gray, darkgray, light<colour>, white), \"#rrggbb\", or a 256-colour index 0-255";

/// Parses `"red"`, `"light-blue"`, `"dark_grey"`, `"#1f6feb"`, `"#fff"`, `"208"`.
pub fn parse_color(s: &str) -> Result<Color, String> {
    let t = s.trim();
    if let Some(hex) = t.strip_prefix('#') {
        return parse_hex(hex).ok_or_else(|| format!("{s:?} is not a valid #rrggbb colour"));
    }
    if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) {
        return t
            .parse::<u8>()
            .map(Color::Indexed)
            .map_err(|_| format!("colour index {s:?} is out of range; {COLOR_HELP}"));
    }
    let norm = t
        .to_ascii_lowercase()
        .replace([' ', '-', '_'], "")
        .replace("grey", "gray")
        .replace("bright", "light");
    NAMES
        .iter()
        .find(|(n, _)| *n == norm)
        .map(|(_, c)| *c)
        .ok_or_else(|| format!("unknown colour {s:?}; {COLOR_HELP}"))
}

fn parse_hex(hex: &str) -> Option<Color> {
    let digits: Vec<u8> = hex
        .chars()
        .map(|c| c.to_digit(16).map(|d| d as u8))
        .collect::<Option<_>>()?;
    match digits.as_slice() {
        [r, g, b] => Some(Color::Rgb(r * 17, g * 17, b * 17)),
        [r1, r2, g1, g2, b1, b2] => Some(Color::Rgb(r1 * 16 + r2, g1 * 16 + g2, b1 * 16 + b2)),
        _ => None,
    }
}

/// xterm's default RGB for a colour; `None` for `Reset` (the terminal's own default).
pub fn approx_rgb(c: Color) -> Option<(u8, u8, u8)> {
    const ANSI: [(u8, u8, u8); 16] = [
        (0, 0, 0),
        (205, 0, 0),
        (0, 205, 0),
        (205, 205, 0),
        (0, 0, 238),
        (205, 0, 205),
        (0, 205, 205),
        (229, 229, 229),
        (127, 127, 127),
        (255, 0, 0),
        (0, 255, 0),
        (255, 255, 0),
        (92, 92, 255),
        (255, 0, 255),
        (0, 255, 255),
        (255, 255, 255),
    ];
    let idx = match c {
        Color::Reset => return None,
        Color::Rgb(r, g, b) => return Some((r, g, b)),
        Color::Black => 0,
        Color::Red => 1,
        Color::Green => 2,
        Color::Yellow => 3,
        Color::Blue => 4,
        Color::Magenta => 5,
        Color::Cyan => 6,
        Color::Gray => 7,
        Color::DarkGray => 8,
        Color::LightRed => 9,
        Color::LightGreen => 10,
        Color::LightYellow => 11,
        Color::LightBlue => 12,
        Color::LightMagenta => 13,
        Color::LightCyan => 14,
        Color::White => 15,
        Color::Indexed(i) => i,
    };
    Some(match idx {
        0..=15 => ANSI[idx as usize],
        16..=231 => {
            let i = idx - 16;
            let level = |v: u8| if v == 0 { 0 } else { 55 + v * 40 };
            (level(i / 36), level((i / 6) % 6), level(i % 6))
        }
        _ => {
            let v = 8 + (idx - 232) * 10;
            (v, v, v)
        }
    })
}

/// WCAG 2 contrast ratio (1.0 ..= 21.0) between two colours, or `None` if either is `Reset`.
pub fn contrast_ratio(a: Color, b: Color) -> Option<f64> {
    let la = luminance(approx_rgb(a)?);
    let lb = luminance(approx_rgb(b)?);
    let (hi, lo) = if la > lb { (la, lb) } else { (lb, la) };
    Some((hi + 0.05) / (lo + 0.05))
}

fn luminance((r, g, b): (u8, u8, u8)) -> f64 {
    let lin = |c: u8| {
        let c = f64::from(c) / 255.0;
        if c <= 0.03928 {
            c / 12.92
        } else {
            ((c + 0.055) / 1.055).powf(2.4)
        }
    };
    0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_all_forms() {
        assert_eq!(parse_color("red"), Ok(Color::Red));
        assert_eq!(parse_color("Light-Blue"), Ok(Color::LightBlue));
        assert_eq!(parse_color("dark_grey"), Ok(Color::DarkGray));
        assert_eq!(parse_color("bright green"), Ok(Color::LightGreen));
        assert_eq!(parse_color("reset"), Ok(Color::Reset));
        assert_eq!(parse_color("#1f6FEB"), Ok(Color::Rgb(0x1f, 0x6f, 0xeb)));
        assert_eq!(parse_color("#fff"), Ok(Color::Rgb(255, 255, 255)));
        assert_eq!(parse_color("208"), Ok(Color::Indexed(208)));
        for bad in ["", "#12345", "#gggggg", "256", "purple", "-1"] {
            assert!(parse_color(bad).is_err(), "{bad:?} accepted");
        }
        assert!(parse_color("purple").unwrap_err().contains("#rrggbb"));
    }

    #[test]
    fn contrast_matches_wcag_reference_points() {
        let black = Color::Rgb(0, 0, 0);
        let white = Color::Rgb(255, 255, 255);
        let r = contrast_ratio(black, white).unwrap();
        assert!((r - 21.0).abs() < 0.01, "{r}");
        // #767676 on white is the classic 4.54:1 AA boundary.
        let g = contrast_ratio(Color::Rgb(0x76, 0x76, 0x76), white).unwrap();
        assert!((g - 4.54).abs() < 0.02, "{g}");
        assert_eq!(approx_rgb(Color::Indexed(196)), Some((255, 0, 0)));
        assert_eq!(approx_rgb(Color::Indexed(244)), Some((128, 128, 128)));
        assert_eq!(contrast_ratio(Color::Reset, white), None);
    }
}
