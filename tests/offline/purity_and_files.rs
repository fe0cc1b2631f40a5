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
        if !in_tui && !in_view {
            assert!(
                !code.contains("ratatui"),
                "{rel} uses ratatui: only tui/ and view/ may"
            );
        }
        if in_view {
            for word in ["tokio", "select!", "crate::tui", "crate::cli"] {
                assert!(
                    !code.contains(word),
                    "{rel} uses {word}: it draws or decides, the loop is tui/'s"
                );
            }
        }
    }
}

/// The pure core is the `zkpilot-core` crate under `src/core/`: the compiler keeps it from
/// naming anything of the adapters, and its dependency tree as cargo resolves it for this
/// machine (so a crate pulled in by another counts too) holds nothing that does I/O or drives a
/// terminal.
#[test]
fn the_core_crate_depends_on_nothing_that_does_io() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = std::process::Command::new(cargo)
        .current_dir(ROOT)
        .args([
            "tree",
            "-p",
            "zkpilot-core",
            "-e",
            "normal",
            "--prefix",
            "none",
            "--offline",
        ])
        .output()
        .unwrap();
    crate::common::assert_succeeded(&out);
    let tree = String::from_utf8_lossy(&out.stdout);
    let crates: std::collections::BTreeSet<&str> =
        tree.lines().filter_map(|l| l.split(' ').next()).collect();
    assert!(
        crates.contains("serde_yaml"),
        "the core's tree was read: {crates:?}"
    );
    for io in [
        "tokio",
        "mio",
        "ratatui",
        "crossterm",
        "openssh",
        "libc",
        "socket2",
        "nix",
    ] {
        assert!(
            !crates.contains(io),
            "the pure core depends on {io}: {crates:?}"
        );
    }
}

/// What `std` still allows the core crate: no file, socket, process, environment or clock.
#[test]
fn the_core_crate_touches_no_file_socket_process_or_clock() {
    let mut core = Vec::new();
    sources(&Path::new(ROOT).join("src/core"), &mut core);
    assert!(core.len() > 60, "the core's sources were found");
    let forbidden = [
        "std::net",
        "std::fs",
        "std::process",
        "std::env",
        "std::io::stdin",
        "SystemTime::now",
        "Instant::now",
        "thread::sleep",
    ];
    for file in &core {
        let text = std::fs::read_to_string(file).unwrap();
        for word in forbidden {
            assert!(
                !text.contains(word),
                "{} uses {word}: the pure core does no I/O",
                file.display()
            );
        }
    }
}

#[test]
fn every_shipped_theme_loads_and_is_named_after_its_file() {
    let themes = files("themes", "yaml");
    assert!(themes.len() >= 4);
    for path in themes {
        let text = std::fs::read_to_string(&path).unwrap();
        let theme =
            zkpilot::view::theme::Theme::parse(&text, &path).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            Some(theme.name.as_str()),
            path.file_stem().and_then(|s| s.to_str())
        );
        assert!(
            zkpilot::view::theme::Theme::builtin(&theme.name).is_some(),
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
