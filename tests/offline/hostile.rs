//! Hostile and careless input through the real binary: the corpus in tests/fixtures/hostile/
//! (runbooks, an inventory and a state file written to do harm), files that are not files,
//! and the sudo route of `follow`. Each case is refused with its position, fast, without
//! running anything and without quoting what it should not.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::common::{scratch, text, BIN};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
const LAB: &str = "tests/fixtures/inventories/lab.yaml";

fn zkpilot(args: &[&str]) -> Output {
    zkpilot_env(args, &[])
}

/// Runs the binary from the crate root, with nothing on its standard input.
fn zkpilot_env(args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(BIN)
        .current_dir(ROOT)
        .args(args)
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

/// Nothing any case does may reach the host: these are the files its commands would create.
fn assert_nothing_ran() {
    for path in [
        "/tmp/zkpilot-hostile-pwned",
        "/tmp/zkpilot-hostile-z",
        "/tmp/zkpilot-hostile-ssh",
    ] {
        assert!(!Path::new(path).exists(), "{path} was created");
    }
}

#[test]
fn every_hostile_runbook_is_refused_at_its_position() {
    let cases: [(&str, &str, &[&str]); 14] = [
        (
            "shell-in-arithmetic.yaml",
            ":11:28:",
            &["inside an arithmetic expression"],
        ),
        (
            "shell-in-heredoc.yaml",
            ":12:16:",
            &["inside a here-document"],
        ),
        (
            "shell-in-double-quotes.yaml",
            ":11:28:",
            &["`${v}`", "inside double quotes"],
        ),
        (
            "shell-in-single-quotes.yaml",
            ":11:28:",
            &["inside single quotes"],
        ),
        (
            "shell-glued.yaml",
            ":11:28:",
            &["glued to the text before it"],
        ),
        ("check-shell.yaml", ":11:35:", &["not `shell`"]),
        (
            "check-writes.yaml",
            ":11:34:",
            &["`wipe-data`", "not read-only"],
        ),
        ("include-self.yaml", ":8:14:", &["cannot include itself"]),
        (
            "include-dev-zero.yaml",
            ":8:14:",
            &["/dev/zero: not a regular file"],
        ),
        (
            "include-passwd.yaml",
            "passwd:1:1:",
            &["invalid type: string,"],
        ),
        ("empty-id.yaml", ":8:10:", &["step id cannot be empty"]),
        ("timeout-zero.yaml", ":8:45:", &["timeout of 0"]),
        ("not-utf8.yaml", ":8:22:", &["not UTF-8"]),
        ("nul.yaml", ":8:22:", &["NUL"]),
    ];
    for (file, position, messages) in cases {
        let path = format!("tests/fixtures/hostile/{file}");
        let started = Instant::now();
        let out = zkpilot(&["plan", &path, "--inventory", LAB]);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{file}: {stderr}");
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{file} took {:?}",
            started.elapsed()
        );
        assert!(stderr.contains(position), "{file}: {stderr}");
        for message in messages {
            assert!(stderr.contains(message), "{file}: {stderr}");
        }
        assert!(
            !stderr.contains("root:x:0"),
            "{file} quotes /etc/passwd: {stderr}"
        );
        assert!(out.stdout.is_empty(), "{file}");
    }
    assert_nothing_ran();
}

#[test]
fn a_byte_order_mark_is_accepted() {
    let out = zkpilot(&[
        "plan",
        "tests/fixtures/hostile/bom.yaml",
        "--inventory",
        LAB,
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

#[test]
fn an_ssh_destination_that_reads_as_an_option_is_refused() {
    let out = zkpilot(&[
        "plan",
        "tests/fixtures/hostile/bom.yaml",
        "--inventory",
        "tests/fixtures/hostile/ssh-dash-inventory.yaml",
    ]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("ssh-dash-inventory.yaml:3:"), "{stderr}");
    assert!(
        stderr.contains("ssh must not be empty or start with `-`"),
        "{stderr}"
    );
    assert_nothing_ran();
}

#[test]
fn the_spoofing_runbook_shows_its_blocked_row_in_plan() {
    let out = zkpilot(&[
        "plan",
        "tests/fixtures/hostile/spoof.yaml",
        "--inventory",
        LAB,
    ]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    let row = stdout
        .lines()
        .find(|l| l.starts_with("| stop-two"))
        .unwrap_or_else(|| panic!("{stdout}"));
    assert!(row.ends_with("| NO | no | - | - | **BLOCKED** |"), "{row}");
    assert!(
        row.contains("^[[2K^M") && row.contains("^[[8m\\u{202e}"),
        "{row}"
    );
    for hidden in ['\x1b', '\r', '\u{202e}'] {
        assert!(
            !stdout.contains(hidden),
            "{hidden:?} reached the terminal: {stdout:?}"
        );
    }
    let json = zkpilot(&[
        "plan",
        "tests/fixtures/hostile/spoof.yaml",
        "--inventory",
        LAB,
        "--json",
    ]);
    let json = text(&json.stdout);
    assert!(json.is_ascii() && !json.contains('\x1b'), "{json}");
    assert!(
        json.contains("\\u001b[2K") && json.contains("\\u202e"),
        "{json}"
    );
}

#[test]
fn analyze_shows_hostile_names_escaped() {
    let out = zkpilot(&["analyze", "tests/fixtures/hostile/spoof-state.yaml"]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(stdout.contains("NO QUORUM CAN FORM"), "{stdout}");
    assert!(
        stdout.contains("P^[[8m") && stdout.contains("Q\\u{202e}"),
        "{stdout}"
    );
    assert!(
        !stdout.contains('\x1b') && !stdout.contains('\u{202e}'),
        "{stdout:?}"
    );
}

#[test]
fn analyze_refuses_a_name_that_would_forge_a_line() {
    let out = zkpilot(&["analyze", "tests/fixtures/hostile/newline-state.yaml"]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("newline-state.yaml:4:12: a node name is one line"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn a_secret_is_masked_in_plan_whatever_its_form() {
    let out = zkpilot(&[
        "plan",
        "tests/fixtures/hostile/secret.yaml",
        "--inventory",
        LAB,
        "--var",
        "token=s3'cr3t-first\nsecond-half-x",
    ]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        stdout.contains("`zkctl status ***^J***` on zk1"),
        "{stdout}"
    );
    for leak in ["cr3t", "second-half"] {
        assert!(!stdout.contains(leak), "{stdout}");
    }
}

#[test]
fn a_deeply_nested_runbook_is_refused_fast() {
    let dir = scratch("hostile-deep");
    let path = dir.join("deep.yaml");
    let depth = 100_000;
    std::fs::write(
        &path,
        format!(
            "name: t\ndescription: d\nsource: s\nhosts: {}{}\nsteps: []\n",
            "[".repeat(depth),
            "]".repeat(depth)
        ),
    )
    .unwrap();
    let started = Instant::now();
    let out = zkpilot(&["plan", path.to_str().unwrap(), "--inventory", LAB]);
    let stderr = text(&out.stderr);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("deep.yaml:4:72: collections nest deeper than 64"),
        "{stderr}"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_file_larger_than_any_runbook_is_refused_unread() {
    let dir = scratch("hostile-large");
    let path = dir.join("large.yaml");
    let mut runbook =
        String::from("name: t\ndescription: d\nsource: s\nhosts: [{name: zk1}]\nsteps: []\n");
    runbook.push_str(&"# padding\n".repeat(500_000));
    std::fs::write(&path, runbook).unwrap();
    let out = zkpilot(&["plan", path.to_str().unwrap(), "--inventory", LAB]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("larger than 4 MiB"), "{stderr}");
    std::fs::remove_dir_all(dir).unwrap();
}

fn mkfifo(path: &Path) {
    let status = Command::new("mkfifo").arg(path).status().unwrap();
    assert!(status.success());
}

#[test]
fn fifos_and_devices_are_refused_without_blocking() {
    let dir = scratch("fifo");
    let fifo = dir.join("fragment.yaml");
    mkfifo(&fifo);
    let runbook = dir.join("rb.yaml");
    std::fs::write(
        &runbook,
        "name: t\ndescription: d\nsource: s\nhosts: [{name: zk1}]\nsteps:\n  - include: fragment.yaml\n",
    )
    .unwrap();
    let log_fifo = dir.join("session.jsonl");
    mkfifo(&log_fifo);
    let runbook = runbook.to_str().unwrap();
    let log_fifo = log_fifo.to_str().unwrap();
    let cases: [&[&str]; 7] = [
        &["plan", runbook, "--inventory", LAB],
        &[
            "run",
            "tests/fixtures/runbooks/status-only.yaml",
            "--inventory",
            LAB,
            "--resume",
            log_fifo,
            "--autopilot",
        ],
        &["plan", runbook, "--inventory", "/dev/zero"],
        &["analyze", "/dev/zero"],
        &["replay", "--print", "/dev/zero"],
        &["audit", "verify", log_fifo],
        &["follow", log_fifo],
    ];
    for args in cases {
        let started = Instant::now();
        let out = zkpilot(args);
        let stderr = text(&out.stderr);
        assert!(started.elapsed() < Duration::from_secs(5), "{args:?}");
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains("not a regular file"), "{args:?}: {stderr}");
    }
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_log_line_without_end_stops_the_reader() {
    let dir = scratch("long-line");
    let log = dir.join("session.jsonl");
    std::fs::write(&log, vec![b'x'; 5 * 1024 * 1024]).unwrap();
    let out = zkpilot(&["audit", "verify", log.to_str().unwrap()]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("line 1") && stderr.contains("longer than 4 MiB"),
        "{stderr}"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

/// Root's audit directory, where docs/pairing.md's sudo rule lets a partner follow logs.
fn root_audit_dir() -> PathBuf {
    PathBuf::from("/root/.local/state/zkpilot/audit")
}

fn is_root() -> bool {
    // SAFETY: geteuid(2) cannot fail.
    unsafe { libc::geteuid() == 0 }
}

#[test]
fn a_follower_through_sudo_reads_only_the_log_it_was_granted() {
    if !is_root() {
        eprintln!("skipped: the sudo route needs root");
        return;
    }
    let nobody = [
        ("SUDO_UID", "65534"),
        ("SUDO_GID", "65534"),
        ("SUDO_USER", "nobody"),
    ];
    let dir = scratch("sudo");
    let outside = dir.join("other.jsonl");
    std::fs::write(&outside, "").unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let audit = root_audit_dir();
    std::fs::create_dir_all(&audit).unwrap();
    let granted = audit.join(format!("hostile-{}.jsonl", std::process::id()));
    std::fs::write(&granted, "").unwrap();
    let key = dir.join("private.key");
    std::fs::write(
        &key,
        "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAA\n",
    )
    .unwrap();
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();

    let escape = format!("{}/../../../../..{}", audit.display(), outside.display());
    for log in [outside.to_str().unwrap(), escape.as_str()] {
        let out = zkpilot_env(&["follow", log], &nobody);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{log}: {stderr}");
        assert!(stderr.contains("through sudo, follow reads only session logs under /root/.local/state/zkpilot/audit"), "{stderr}");
    }
    for theme in [key.to_str().unwrap(), "/etc/shadow"] {
        let out = zkpilot_env(
            &["follow", granted.to_str().unwrap(), "--theme", theme],
            &nobody,
        );
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{theme}: {stderr}");
        assert!(stderr.contains("Permission denied"), "{theme}: {stderr}");
        assert!(
            !stderr.contains("BEGIN") && !stderr.contains("b3Bl") && !stderr.contains("root:"),
            "{stderr}"
        );
    }
    std::fs::remove_file(&granted).unwrap();
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_log_in_a_shared_pairing_directory_is_group_readable() {
    use zkpilot::audit::{AuditWriter, Secrets, SessionInfo, Timestamp};
    let session = || SessionInfo {
        tool_version: "t".into(),
        runbook_path: "rb.yaml".into(),
        runbook_sha256: "ab".repeat(32),
        inventory_path: "inv.yaml".into(),
        inventory_sha256: None,
        operator: "alice".into(),
        host: "jump".into(),
        tty: None,
        hosts: Default::default(),
    };
    let now = Timestamp::from_system_time(std::time::SystemTime::now());
    let private = scratch("private-dir");
    let shared = scratch("shared-dir");
    std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o3770)).unwrap();
    for (dir, mode) in [(&private, 0o600), (&shared, 0o640)] {
        let log = dir.join("session.jsonl");
        let writer = AuditWriter::create(&log, session(), Secrets::default(), now).unwrap();
        drop(writer);
        let actual = std::fs::metadata(&log).unwrap().permissions().mode() & 0o7777;
        assert_eq!(actual, mode, "{}", dir.display());
    }
    std::fs::remove_dir_all(private).unwrap();
    std::fs::remove_dir_all(shared).unwrap();
}
