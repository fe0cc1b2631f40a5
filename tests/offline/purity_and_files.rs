//! Project-wide checks: the pure core stays pure, every shipped theme loads, and every bad
//! theme is refused through the real binary with its file and line.

use std::path::{Path, PathBuf};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn files(dir: &str, extension: &str) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(Path::new(ROOT).join(dir))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == extension))
        .collect();
    found.sort();
    found
}

/// Every `.rs` file under `src/`, recursively.
fn sources(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, found);
        } else if path.extension().is_some_and(|e| e == "rs") {
            found.push(path);
        }
    }
}

/// The layers of `docs/architecture.md`: only `tui/` talks to the terminal (crossterm) and
/// runs event loops; only `tui/`, `view/` and the theme's styles know ratatui; `view/` never
/// reaches into the adapters' runtime.
#[test]
fn the_terminal_and_the_loop_live_in_tui_only() {
    let mut all = Vec::new();
    sources(&Path::new(ROOT).join("src"), &mut all);
    let src = Path::new(ROOT).join("src");
    for file in &all {
        let rel = file
            .strip_prefix(&src)
            .unwrap()
            .to_string_lossy()
            .to_string();
        let text = std::fs::read_to_string(file).unwrap();
        let code: String = text
            .lines()
            .filter(|line| {
                !line.trim_start().starts_with("//")
                    && !line.contains("\"ratatui\"")
                    && !line.contains("\"crossterm\"")
            })
            .collect::<Vec<_>>()
            .join("\n");
        let in_tui = rel.starts_with("tui/");
        let in_view = rel.starts_with("view/");
        if !in_tui {
            assert!(
                !code.contains("crossterm"),
                "{rel} uses crossterm: only tui/ may"
            );
        }
        if !in_tui && !in_view && rel != "theme.rs" {
            assert!(
                !code.contains("ratatui"),
                "{rel} uses ratatui: only tui/, view/ and theme.rs may"
            );
        }
        if in_view || rel.starts_with("console/") {
            for word in ["tokio", "select!", "crate::tui", "crate::cli"] {
                assert!(
                    !code.contains(word),
                    "{rel} uses {word}: it draws or decides, the loop is tui/'s"
                );
            }
        }
    }
}

/// The pure core (parsers, models, analyzer, runbook engine, audit record format) must not
/// touch a socket, a file, a process, the terminal or the clock.
#[test]
fn the_pure_core_does_no_io() {
    let mut pure: Vec<PathBuf> = Vec::new();
    for dir in [
        "src/zk",
        "src/quorum",
        "src/runbook",
        "src/analyze",
        "src/replay",
        "src/console",
    ] {
        pure.extend(files(dir, "rs"));
    }
    for file in [
        "src/audit/record.rs",
        "src/audit/verify.rs",
        "src/audit/report.rs",
        "src/audit/location.rs",
        "src/xdg.rs",
        "src/audit/anchor.rs",
        "src/resume.rs",
        "src/discover.rs",
        "src/ensemble.rs",
        "src/live.rs",
        "src/yaml.rs",
        "src/shell.rs",
        "src/escape.rs",
        "src/duration.rs",
        "src/inventory.rs",
        "src/sandbox/layout.rs",
        "src/sandbox/render.rs",
        "src/lab/draw.rs",
        "src/lab/judge.rs",
        "src/lab/fixture.rs",
        "src/lab/report.rs",
        "src/cli/failure.rs",
        "src/cli/plan_live.rs",
        "src/cli/verify_summary.rs",
    ] {
        pure.push(Path::new(ROOT).join(file));
    }
    let forbidden = [
        "tokio",
        "ratatui",
        "crossterm",
        "openssh",
        "std::net",
        "std::fs",
        "std::process",
        "std::env",
        "SystemTime::now",
        "Instant::now",
        "thread::sleep",
    ];
    for file in &pure {
        let text = std::fs::read_to_string(file).unwrap();
        for word in forbidden {
            assert!(
                !text.contains(word),
                "{} uses {word}: the pure core does no I/O",
                file.display()
            );
        }
    }
    assert!(pure.len() > 20);
}

#[test]
fn every_shipped_theme_loads_and_is_named_after_its_file() {
    let themes = files("themes", "yaml");
    assert!(themes.len() >= 4);
    for path in themes {
        let text = std::fs::read_to_string(&path).unwrap();
        let theme = zkpilot::theme::Theme::parse(&text, &path).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            Some(theme.name.as_str()),
            path.file_stem().and_then(|s| s.to_str())
        );
        assert!(
            zkpilot::theme::Theme::builtin(&theme.name).is_some(),
            "{} is not built in",
            theme.name
        );
    }
}

#[test]
fn every_bad_theme_is_refused_with_its_file_and_line() {
    let bad = files("tests/fixtures/themes/invalid", "yaml");
    assert!(bad.len() >= 4);
    for path in bad {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_zkpilot"))
            .args(["watch", "127.0.0.1:9", "--theme", path.to_str().unwrap()])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{}: {stderr}", path.display());
        assert!(stderr.contains(&format!("{}:", path.display())), "{stderr}");
        assert_eq!(stderr.lines().count(), 1, "one clear line: {stderr}");
    }
}
