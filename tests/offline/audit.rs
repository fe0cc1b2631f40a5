//! The audit log against real files: tampering, torn writes, locking, resuming, kill -9, and
//! `zkpilot audit verify/export` through the real binary.

use std::fs::{self, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime};

use crate::common::{text, zkpilot};
use zkpilot::audit::{
    self, AuditError, AuditEvent, AuditTail, AuditWriter, ChainHead, CommandOutcome, Durability,
    OutputStream, ProblemKind, RecordHash, Secrets, StepState, Timestamp,
};
use zkpilot::replay::fixtures::session_info;

const CHILD_ENV: &str = "ZKPILOT_AUDIT_CRASH_CHILD_LOG";

struct TempDir(PathBuf);

impl TempDir {
    fn new() -> TempDir {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "zkpilot-audit-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn now() -> Timestamp {
    Timestamp::from_system_time(SystemTime::now())
}

fn note(i: usize) -> AuditEvent {
    AuditEvent::Note {
        text: format!("note number {i}"),
    }
}

/// A log of the header, `session_start` and `notes` notes; the writer stays open.
fn writer_with_notes(path: &Path, notes: usize) -> AuditWriter {
    let mut writer = AuditWriter::create(path, session_info(), Secrets::default(), now()).unwrap();
    for i in 0..notes {
        writer.append(note(i), now(), Durability::Buffered).unwrap();
    }
    writer.sync().unwrap();
    writer
}

/// Other tests spawn processes: between fork and exec a child briefly shares every open
/// descriptor, and with it a writer's lock, so the lock can outlive a dropped writer by that long.
fn open_append_once_free(path: &Path) -> (AuditWriter, audit::ResumedLog) {
    open_append_when_unlocked(path)
        .unwrap_or_else(|e| panic!("cannot resume {}: {e}", path.display()))
}

/// `open_append` once no forked child shares the lock any more (see above); any other answer,
/// an error included, is returned.
fn open_append_when_unlocked(path: &Path) -> Result<(AuditWriter, audit::ResumedLog), AuditError> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match AuditWriter::open_append(path, Secrets::default(), now()) {
            Err(AuditError::Locked { .. }) if Instant::now() < deadline => std::thread::yield_now(),
            other => return other,
        }
    }
}

/// The time of the latest head published in `LOG.heads`.
fn last_anchor_time(path: &Path) -> String {
    let heads = fs::read_to_string(audit::writer::heads_path(path)).unwrap();
    let last = heads.lines().last().unwrap();
    last.split(" at=").nth(1).unwrap().to_string()
}

fn owner_label(path: &Path) -> String {
    use std::os::unix::fs::MetadataExt;
    zkpilot::session::approval::person_of(fs::metadata(path).unwrap().uid()).label()
}

fn lines(path: &Path) -> Vec<Vec<u8>> {
    fs::read(path)
        .unwrap()
        .split_inclusive(|&b| b == b'\n')
        .map(<[u8]>::to_vec)
        .collect()
}

fn chain_problem(path: &Path) -> audit::ChainProblem {
    match audit::verify_file(path, None) {
        Err(AuditError::ChainBroken { problem, .. }) => problem,
        other => panic!("expected a broken chain, got {other:?}"),
    }
}

#[test]
fn an_edited_byte_in_a_middle_record_is_named_by_line_and_seq() {
    let (_dir, path) = tampered("edited.jsonl", |all| {
        let line5 = text(&all[4]);
        assert!(line5.contains("note number 2"), "{line5}");
        all[4] = line5.replace("number 2", "number 7").into_bytes();
    });

    let problem = chain_problem(&path);
    assert_eq!((problem.line, problem.seq), (6, Some(5)));
    assert_eq!(
        problem.kind,
        ProblemKind::BrokenLink {
            prev_line: 5,
            prev_seq: 4
        }
    );
    let out = assert_verify_says(
        &path,
        1,
        "line 6 (seq 5): prev does not match the SHA-256 of line 5 (seq 4)",
    );
    let stderr = text(&out.stderr);
    assert!(stderr.contains(path.to_str().unwrap()), "{stderr}");
    assert!(out.stdout.is_empty());
}

#[test]
fn a_byte_that_breaks_the_json_names_that_line() {
    let (_dir, path) = fresh("broken-json.jsonl");
    drop(writer_with_notes(&path, 8));
    let mut bytes = fs::read(&path).unwrap();
    let line5_start = lines(&path)[..4].iter().map(Vec::len).sum::<usize>();
    bytes[line5_start] = b'X';
    fs::write(&path, bytes).unwrap();

    let problem = chain_problem(&path);
    assert_eq!(problem.line, 5);
    assert!(matches!(
        problem.kind,
        ProblemKind::UnexplainedBadLine { .. }
    ));
    assert_verify_says(&path, 1, "line 5: not a valid audit record");
}

#[test]
fn a_deleted_line_is_a_seq_gap() {
    let (_dir, path) = tampered("deleted.jsonl", |all| {
        all.remove(5);
    });

    let problem = chain_problem(&path);
    assert_eq!(
        (problem.line, problem.seq, problem.kind),
        (
            6,
            Some(6),
            ProblemKind::SeqGap {
                expected: 5,
                found: 6
            }
        )
    );
    assert_verify_says(
        &path,
        1,
        "line 6 (seq 6): expected seq 5: record 5 is missing",
    );
}

#[test]
fn swapped_lines_fail() {
    let (_dir, path) = tampered("swapped.jsonl", |all| {
        all.swap(4, 5);
    });

    let problem = chain_problem(&path);
    assert_eq!((problem.line, problem.seq), (5, Some(5)));
    assert_verify_says(&path, 1, "line 5 (seq 5)");
}

/// A fresh directory, and the path of a log named `name` in it.
fn fresh(name: &str) -> (TempDir, PathBuf) {
    let dir = TempDir::new();
    let path = dir.join(name);
    (dir, path)
}

/// What `zkpilot audit export PATH ARGS` prints, exiting 0.
fn exported(path: &Path, args: &[&str]) -> String {
    let mut all = vec!["audit", "export", path.to_str().unwrap()];
    all.extend_from_slice(args);
    let out = zkpilot(&all);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    text(&out.stdout)
}

/// How a session closes its log.
enum Close {
    /// `session_end`: every step done.
    End,
    /// `session_stop`: the operator quit, resumable.
    Stop,
}

/// A log of `notes` notes in a fresh directory, closed as `close` says: its head.
fn closed(name: &str, notes: usize, close: Close) -> (TempDir, PathBuf, ChainHead) {
    let (dir, path) = fresh(name);
    let writer = writer_with_notes(&path, notes);
    let head = match close {
        Close::End => writer.end_session("every step done", now()),
        Close::Stop => writer.stop_session("the operator quit", now()),
    };
    (dir, path, head.unwrap())
}

/// A log of eight notes in a fresh directory, its lines then changed by `edit`.
fn tampered(name: &str, edit: impl FnOnce(&mut Vec<Vec<u8>>)) -> (TempDir, PathBuf) {
    let (dir, path) = fresh(name);
    drop(writer_with_notes(&path, 8));
    let mut all = lines(&path);
    edit(&mut all);
    fs::write(&path, all.concat()).unwrap();
    (dir, path)
}

/// `zkpilot audit verify PATH` exits with `code` and says `said` on stderr: its output.
fn assert_verify_says(path: &Path, code: i32, said: &str) -> Output {
    assert_exits_saying(&["audit", "verify", path.to_str().unwrap()], code, said)
}

/// What `zkpilot audit verify PATH` prints for a log that verifies.
fn verified_ok(path: &Path) -> String {
    let out = zkpilot(&["audit", "verify", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    text(&out.stdout)
}

/// `zkpilot args` exits with `code` and says `said` on stderr.
fn assert_exits_saying(args: &[&str], code: i32, said: &str) -> Output {
    let out = zkpilot(args);
    assert_eq!(out.status.code(), Some(code), "{out:?}");
    assert!(text(&out.stderr).contains(said), "{out:?}");
    out
}

/// `audit export LOG -o LOG` (or a link to it) would replace the record with its report:
/// refused, the log untouched and still verifying. It used to be overwritten.
#[test]
fn a_report_is_never_written_over_its_log() {
    let (dir, path, _) = closed("kept.jsonl", 3, Close::End);
    let link = dir.join("link.jsonl");
    std::os::unix::fs::symlink(&path, &link).unwrap();
    let before = fs::read(&path).unwrap();
    for out in [&path, &link] {
        assert_exits_saying(
            &[
                "audit",
                "export",
                path.to_str().unwrap(),
                "-o",
                out.to_str().unwrap(),
            ],
            2,
            "is the audit log itself",
        );
    }
    assert_eq!(fs::read(&path).unwrap(), before);
    verified_ok(&path);
}

/// Writes the first half of a real next record, without its newline, as a crash would leave it.
fn tear(path: &Path, writer: &AuditWriter) -> u64 {
    let mut chain = audit::AuditChain::resume(writer.head(), Secrets::default());
    let sealed = chain.seal(note(999), now()).unwrap();
    let mut file = OpenOptions::new().append(true).open(path).unwrap();
    file.write_all(&sealed.line[..sealed.line.len() / 2])
        .unwrap();
    lines(path).len() as u64
}

#[test]
fn a_torn_final_line_verifies_with_a_notice() {
    let (_dir, path) = fresh("torn.jsonl");
    let writer = writer_with_notes(&path, 3);
    let head = writer.head();
    let torn_line = tear(&path, &writer);
    drop(writer);

    let verified = audit::verify_file(&path, None).unwrap();
    assert_eq!(verified.torn_tail, Some(torn_line));
    assert_eq!((verified.records, verified.head), (head.records, head.hash));
    assert_eq!(
        verified_ok(&path),
        format!(
            "ok: 5 records, head {}; final line 6 is torn (a write cut short by a crash): every \
             record before it is intact; no session_end: the session is running or stopped \
             without closing the log; anchored: the head published for record 1 at {} is in \
             the chain; owner {}, mode 0600\n",
            head.hash,
            last_anchor_time(&path),
            owner_label(&path)
        )
    );
}

#[test]
fn a_second_writer_is_refused_while_the_first_holds_the_log() {
    let (_dir, path) = fresh("locked.jsonl");
    let first = writer_with_notes(&path, 1);

    let err = AuditWriter::open_append(&path, Secrets::default(), now()).unwrap_err();
    assert!(matches!(err, AuditError::Locked { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        format!(
            "audit log {} is being written by another zkpilot console (it holds the lock): a \
             session's log has exactly one writer",
            path.display()
        )
    );
    let err = AuditWriter::create(&path, session_info(), Secrets::default(), now()).unwrap_err();
    assert!(matches!(err, AuditError::Exists { .. }), "{err:?}");

    first.stop_session("the operator quit", now()).unwrap();
    drop(open_append_once_free(&path));
}

#[test]
fn a_new_log_is_private_to_its_owner() {
    let (_dir, path) = fresh("mode.jsonl");
    drop(writer_with_notes(&path, 1));
    let mode = fs::metadata(&path).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "{mode:o}");
}

#[test]
fn resuming_after_a_torn_tail_keeps_the_torn_bytes_and_continues_the_chain() {
    let (_dir, path) = fresh("resume.jsonl");
    let writer = writer_with_notes(&path, 3);
    let torn_line = tear(&path, &writer);
    drop(writer);
    let before = fs::read(&path).unwrap();

    let (mut writer, resumed) = open_append_once_free(&path);
    assert_eq!(resumed.verified.torn_tail, Some(torn_line));
    assert_eq!(resumed.records.len(), 5);
    writer.append(note(4), now(), Durability::Sync).unwrap();
    let head = writer.end_session("operator quit", now()).unwrap();

    let after = fs::read(&path).unwrap();
    assert!(after.starts_with(&before), "the torn bytes were rewritten");
    assert_eq!(after[before.len()], b'\n');
    let verified = audit::verify_file(&path, None).unwrap();
    assert_eq!(verified.resumed_tears, vec![torn_line]);
    assert_eq!(verified.torn_tail, None);
    assert!(verified.session_ended);
    assert_eq!((verified.records, verified.head), (head.records, head.hash));
    assert_eq!(verified.records, 8);

    assert_eq!(
        verified_ok(&path),
        format!(
            "ok: 8 records, head {}; line {torn_line} was torn by a crash and the session \
             resumed after it; anchored: the head published for record 7 at {} is in the \
             chain; owner {}, mode 0600\n",
            head.hash,
            last_anchor_time(&path),
            owner_label(&path)
        )
    );
}

#[test]
fn the_log_only_ever_grows() {
    let (_dir, path) = fresh("grows.jsonl");
    let mut seen: Vec<u8> = Vec::new();
    let mut check = |path: &Path| {
        let now = fs::read(path).unwrap();
        assert!(
            now.len() >= seen.len() && now.starts_with(&seen),
            "the log shrank or changed"
        );
        seen = now;
    };
    let mut writer = writer_with_notes(&path, 0);
    check(&path);
    for i in 0..5 {
        writer.append(note(i), now(), Durability::Buffered).unwrap();
        check(&path);
    }
    let torn = tear(&path, &writer);
    check(&path);
    drop(writer);
    let (writer, resumed) = open_append_once_free(&path);
    assert_eq!(resumed.verified.torn_tail, Some(torn));
    check(&path);
    writer.stop_session("stopped", now()).unwrap();
    check(&path);
    let (writer, _) = open_append_once_free(&path);
    check(&path);
    writer.end_session("done", now()).unwrap();
    check(&path);
    assert!(audit::verify_file(&path, None).unwrap().session_ended);
}

#[test]
fn secrets_in_commands_and_output_never_reach_the_file() {
    let (_dir, path) = fresh("secrets.jsonl");
    let secrets = Secrets::new(["pa55-w0rd"]);
    let mut writer = AuditWriter::create(&path, session_info(), secrets, now()).unwrap();
    writer
        .append(
            AuditEvent::Intent {
                intent: 1,
                step: "auth".into(),
                host: "zk1".into(),
                command: "zkCli.sh addauth digest super:pa55-w0rd".into(),
            },
            now(),
            Durability::Sync,
        )
        .unwrap();
    writer
        .append(
            AuditEvent::Output {
                intent: 1,
                stream: OutputStream::Stderr,
                text: "auth failed for pa55-w0rd\n".into(),
            },
            now(),
            Durability::Buffered,
        )
        .unwrap();
    writer.end_session("done", now()).unwrap();
    let bytes = text(&fs::read(&path).unwrap());
    assert!(!bytes.contains("pa55-w0rd"), "{bytes}");
    assert!(bytes.contains("digest super:***"), "{bytes}");
}

#[test]
fn expect_head_accepts_the_noted_head_and_refuses_any_other() {
    let (_dir, path, noted) = closed("anchor.jsonl", 2, Close::Stop);
    let file = path.to_str().unwrap();
    let noted_hex = noted.hash.to_string();

    let out = zkpilot(&["audit", "verify", file, "--expect-head", &noted_hex]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");

    let (writer, _) = open_append_once_free(&path);
    writer.end_session("resumed and ended", now()).unwrap();
    let out = zkpilot(&[
        "audit",
        "verify",
        file,
        "--expect-head",
        &noted_hex.to_uppercase(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(
        text(&out.stdout).contains(&format!(
            "expected head {noted_hex} is record 4; 2 records were appended after it"
        )),
        "{out:?}"
    );

    let other = RecordHash::of_line(b"not in this log").to_string();
    assert_exits_saying(
        &["audit", "verify", file, "--expect-head", &other],
        1,
        "records were cut off the end or the log was rewritten",
    );

    assert_exits_saying(
        &["audit", "verify", file, "--expect-head", "abc"],
        2,
        "expected 64 hex digits",
    );
}

#[test]
fn an_unreadable_file_exits_2() {
    let dir = TempDir::new();
    let missing = dir.join("missing.jsonl");
    let out = zkpilot(&["audit", "verify", missing.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(
        text(&out.stderr).starts_with(&format!(
            "zkpilot: cannot open audit log {}: ",
            missing.display()
        )),
        "{out:?}"
    );
}

#[test]
fn export_writes_a_markdown_report() {
    let (dir, path) = fresh("export.jsonl");
    let mut writer = writer_with_notes(&path, 0);
    let events = [
        AuditEvent::Step {
            step: "restart-zk1".into(),
            state: StepState::Running,
        },
        AuditEvent::Intent {
            intent: 1,
            step: "restart-zk1".into(),
            host: "zk1".into(),
            command: "zkctl restart".into(),
        },
        AuditEvent::Output {
            intent: 1,
            stream: OutputStream::Stdout,
            text: "restarted\n".into(),
        },
        AuditEvent::Result {
            intent: 1,
            exit_status: Some(0),
            duration_ms: 2100,
            outcome: CommandOutcome::Ok,
        },
        AuditEvent::Step {
            step: "restart-zk1".into(),
            state: StepState::Done,
        },
    ];
    for event in events {
        writer.append(event, now(), Durability::Sync).unwrap();
    }
    writer.end_session("runbook finished", now()).unwrap();

    let out_file = dir.join("report.md");
    exported(
        &path,
        &["--format", "markdown", "-o", out_file.to_str().unwrap()],
    );
    let report = fs::read_to_string(&out_file).unwrap();
    assert!(report.starts_with("# zkpilot session report\n"), "{report}");
    assert!(report.contains("### Step `restart-zk1`: done"), "{report}");
    assert!(report.contains("chain verified, 8 records"), "{report}");

    assert_eq!(exported(&path, &[]), report);

    let cast = exported(&path, &["--format", "asciicast"]);
    let header: serde_json::Value = serde_json::from_str(cast.lines().next().unwrap()).unwrap();
    assert_eq!(header["version"], 2, "{cast}");
    assert_eq!(
        cast.lines().count(),
        1 + 9,
        "the header, the empty screen, one frame per record"
    );

    assert_exits_saying(
        &["audit", "export", path.to_str().unwrap(), "--format", "pdf"],
        2,
        "[possible values: markdown, asciicast]",
    );
}

#[test]
fn replay_print_shows_only_the_records_before_a_break_and_names_a_torn_tail() {
    let (dir, path) = tampered("replayed.jsonl", |all| {
        all.remove(5);
    });
    let out = zkpilot(&["replay", "--print", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let printed = text(&out.stdout);
    assert!(
        printed.starts_with("LOG DOES NOT VERIFY: line 6 (seq 6): expected seq 5"),
        "{printed}"
    );
    assert!(printed.contains("note: note number 2"), "{printed}");
    assert!(
        !printed.contains("note number 3") && !printed.contains("note number 4"),
        "nothing from the break on: {printed}"
    );

    let torn = dir.join("torn-replay.jsonl");
    let writer = writer_with_notes(&torn, 2);
    let line = tear(&torn, &writer);
    drop(writer);
    let out = zkpilot(&["replay", "--print", torn.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(
        text(&out.stdout).contains(&format!(
            "final line {line} is torn by a crash (every record before it is intact)"
        )),
        "{out:?}"
    );
}

#[test]
fn a_tail_waits_for_lines_in_progress_and_continues_from_a_checkpoint() {
    let (_dir, path) = fresh("tail.jsonl");
    let (mut chain, header) = audit::AuditChain::start(Secrets::default(), now()).unwrap();
    let mut file = OpenOptions::new()
        .create_new(true)
        .append(true)
        .open(&path)
        .unwrap();
    file.write_all(&header.line).unwrap();
    let first = chain.seal(note(1), now()).unwrap();
    file.write_all(&first.line).unwrap();

    let mut tail = AuditTail::open(&path).unwrap();
    assert_eq!(tail.next_record().unwrap().unwrap().record.seq, 0);
    assert_eq!(tail.next_record().unwrap().unwrap().record.seq, 1);
    assert!(tail.next_record().unwrap().is_none());

    let second = chain.seal(note(2), now()).unwrap();
    let (head, rest) = second.line.split_at(10);
    file.write_all(head).unwrap();
    assert!(
        tail.next_record().unwrap().is_none(),
        "a line in progress is not a record"
    );
    let checkpoint = tail.checkpoint();
    file.write_all(rest).unwrap();
    assert_eq!(tail.next_record().unwrap().unwrap().record.seq, 2);

    let third = chain.seal(note(3), now()).unwrap();
    file.write_all(&third.line).unwrap();
    let mut later = AuditTail::open_at(&path, &checkpoint).unwrap();
    let seqs: Vec<u64> = later.by_ref().map(|r| r.unwrap().record.seq).collect();
    assert_eq!(seqs, vec![2, 3]);
    assert_eq!(later.finish().unwrap().head, third.hash);
}

/// A followed log cut shorter than what the tail already read is a broken chain, also when
/// reopened at a checkpoint past its new end. The follower went on at its old offset and
/// vouched for records no longer in the file (`audit verify` on it failed).
#[test]
fn a_tail_whose_file_shrinks_reports_a_broken_chain() {
    let (_dir, path) = fresh("shrunk.jsonl");
    drop(writer_with_notes(&path, 6));
    let mut tail = AuditTail::open(&path).unwrap();
    while tail.next_record().unwrap().is_some() {}
    let checkpoint = tail.checkpoint();
    let file = OpenOptions::new().write(true).open(&path).unwrap();
    file.set_len(file.metadata().unwrap().len() / 2).unwrap();
    let shrunk = |result: Result<Option<audit::VerifiedRecord>, AuditError>| match result {
        Err(AuditError::ChainBroken { problem, .. }) => problem.kind == audit::ProblemKind::Shrunk,
        _ => false,
    };
    assert!(shrunk(tail.next_record()));
    let mut reopened = AuditTail::open_at(&path, &checkpoint).unwrap();
    assert!(shrunk(reopened.next_record()));
}

/// The child half of the crash test: appends to the log named by `CHILD_ENV` until killed,
/// printing `acked SEQ` after every record that `append` reported as durable.
#[test]
#[ignore = "run by kill_9_at_any_moment_leaves_a_log_that_verifies_and_resumes"]
fn crash_child_writer_loop() {
    let Some(path) = std::env::var_os(CHILD_ENV) else {
        return;
    };
    let (mut writer, resumed) =
        AuditWriter::open_append(Path::new(&path), Secrets::default(), now()).unwrap();
    let first_intent = resumed.records.len() as u64 * 10;
    for intent in first_intent.. {
        let seq = writer
            .append(
                AuditEvent::Intent {
                    intent,
                    step: "loop".into(),
                    host: "zk1".into(),
                    command: format!("echo {intent}"),
                },
                now(),
                Durability::Sync,
            )
            .unwrap();
        println!("acked {seq}");
        // Every third output is 2 MiB, the most one record keeps: its write takes long enough
        // that a kill can cut it, which the parent aims for by killing while the file size is
        // mid-way through one.
        let size = if intent % 3 == 2 {
            2 << 20
        } else {
            (intent * 7919 % 20_000) as usize
        };
        writer
            .append(
                AuditEvent::Output {
                    intent,
                    stream: OutputStream::Stdout,
                    text: "x".repeat(size),
                },
                now(),
                Durability::Buffered,
            )
            .unwrap();
        let seq = writer
            .append(
                AuditEvent::Result {
                    intent,
                    exit_status: Some(0),
                    duration_ms: 1,
                    outcome: CommandOutcome::Ok,
                },
                now(),
                Durability::Sync,
            )
            .unwrap();
        println!("acked {seq}");
    }
}

#[test]
fn kill_9_at_any_moment_leaves_a_log_that_verifies_and_resumes() {
    let (_dir, path) = fresh("crash.jsonl");
    drop(writer_with_notes(&path, 0));
    // A bound on a hung child, not a speed target: five children each fsync megabytes, which a
    // loaded machine may stretch past two minutes (the test failed once at a load average over
    // 10, its message not kept; this bound is the one part of it that depends on speed).
    let deadline = Instant::now() + Duration::from_secs(600);
    // (acknowledged records to wait for, then bytes more to wait for) before each kill.
    let moments = [
        (1, 0),
        (9, 1_000_001),
        (2, 1),
        (13, 2_500_003),
        (5, 6_123_457),
    ];
    let mut before = fs::read(&path).unwrap();
    for (acks, extra_bytes) in moments {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                // This test binary again, running only the writer loop (named by its module).
                "audit::crash_child_writer_loop",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_ENV, &path)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let (sender, acked) = mpsc::channel();
        let stdout = child.stdout.take().unwrap();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(seq) = line.strip_prefix("acked ") {
                    if sender.send(seq.parse::<u64>().unwrap()).is_err() {
                        break;
                    }
                }
            }
        });
        let mut highest_acked = 0;
        for _ in 0..acks {
            let left = deadline.saturating_duration_since(Instant::now());
            highest_acked = acked
                .recv_timeout(left)
                .expect("the child writer acknowledged nothing");
        }
        let target = fs::metadata(&path).unwrap().len() + extra_bytes;
        while fs::metadata(&path).unwrap().len() < target {
            assert!(
                Instant::now() < deadline,
                "the child writer stopped writing"
            );
            std::thread::yield_now();
        }
        child.kill().unwrap();
        child.wait().unwrap();
        reader.join().unwrap();
        highest_acked = acked.try_iter().fold(highest_acked, u64::max);

        let after = fs::read(&path).unwrap();
        assert!(
            after.starts_with(&before),
            "a crash changed bytes already written"
        );
        let verified = audit::verify_file(&path, None).unwrap();
        assert!(
            verified.records > highest_acked,
            "record {highest_acked} was acknowledged but the log holds {} records",
            verified.records
        );
        before = after;
    }
    // A kill lands between writes more often than inside one: a last record cut in half, as
    // a kill inside its write leaves it, makes sure resuming after a torn line is exercised.
    let whole = fs::read(&path).unwrap();
    if whole.ends_with(b"\n") {
        let last = whole[..whole.len() - 1]
            .iter()
            .rposition(|b| *b == b'\n')
            .map_or(0, |i| i + 1);
        let mut torn = whole.clone();
        torn.extend_from_slice(&whole[last..last + (whole.len() - last) / 2]);
        fs::write(&path, &torn).unwrap();
    }
    let (writer, resumed) = open_append_once_free(&path);
    let tears_before =
        resumed.verified.resumed_tears.len() + usize::from(resumed.verified.torn_tail.is_some());
    writer.end_session("crash test done", now()).unwrap();
    let verified = audit::verify_file(&path, None).unwrap();
    assert!(verified.session_ended);
    assert_eq!(verified.torn_tail, None);
    assert_eq!(verified.resumed_tears.len(), tears_before);
    assert!(tears_before > 0, "the torn last line was seen");
}

#[test]
fn a_truncated_log_fails_verify_without_expect_head() {
    let (_dir, path) = fresh("truncated.jsonl");
    let mut writer = writer_with_notes(&path, 3);
    for state in [StepState::Running, StepState::Done] {
        let step = AuditEvent::Step {
            step: "restart-first".into(),
            state,
        };
        writer.append(step, now(), Durability::Sync).unwrap();
    }
    writer.append(note(9), now(), Durability::Sync).unwrap();
    writer.end_session("every step done", now()).unwrap();
    let file = path.to_str().unwrap();
    let out = zkpilot(&["audit", "verify", file]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(text(&out.stdout).contains("; anchored: "), "{out:?}");

    // The last two records cut off: the chain alone still holds.
    let all = lines(&path);
    fs::write(&path, all[..all.len() - 2].concat()).unwrap();
    assert!(audit::verify_file(&path, None).is_ok());
    let out = zkpilot(&["audit", "verify", file]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let stderr = text(&out.stderr);
    assert!(
        stderr
            .contains("is not in the chain: records were cut off the end or the log was rewritten"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty(), "{out:?}");

    // Without its heads file the log is not taken as whole, unless asked.
    fs::remove_file(audit::writer::heads_path(&path)).unwrap();
    assert_exits_saying(&["audit", "verify", file], 1, "no heads file");
    let out = zkpilot(&["audit", "verify", file, "--unanchored"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(text(&out.stdout).contains("NOT anchored"), "{out:?}");
}

#[test]
fn a_rewritten_chain_fails_verify_against_its_published_head() {
    let (_dir, path) = fresh("rewritten.jsonl");
    let writer = writer_with_notes(&path, 2);
    writer.end_session("every step done", now()).unwrap();
    // Rewrite the session_end's reason and recompute the chain from there, as a forger would.
    let all = lines(&path);
    let keep = all.len() - 1;
    let mut records: Vec<audit::AuditRecord> = all
        .iter()
        .map(|l| serde_json::from_slice(l.strip_suffix(b"\n").unwrap()).unwrap())
        .collect();
    let mut chain = audit::AuditChain::resume(
        audit::ChainHead {
            records: keep as u64,
            hash: RecordHash::of_line(all[keep - 1].strip_suffix(b"\n").unwrap()),
        },
        Secrets::default(),
    );
    let last = records.pop().unwrap();
    let forged = chain
        .seal(
            AuditEvent::SessionEnd {
                records: keep as u64 + 1,
                reason: "aborted before any step".into(),
            },
            last.ts,
        )
        .unwrap();
    let mut bytes = all[..keep].concat();
    bytes.extend_from_slice(&forged.line);
    fs::write(&path, bytes).unwrap();
    assert!(audit::verify_file(&path, None).is_ok());
    assert_verify_says(&path, 1, "is not in the chain");
}

#[test]
fn a_closed_session_is_never_written_again_and_verify_rejects_what_follows_it() {
    let (_dir, path, head) = closed("closed.jsonl", 1, Close::End);
    let err = open_append_when_unlocked(&path).unwrap_err();
    assert!(matches!(err, AuditError::SessionClosed { .. }), "{err:?}");
    assert!(err.to_string().contains("every step done"), "{err}");

    let mut chain = audit::AuditChain::resume(head, Secrets::default());
    let late = chain.seal(note(7), now()).unwrap();
    OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap()
        .write_all(&late.line)
        .unwrap();
    assert_verify_says(&path, 1, "a record after the session_end of line 4");
}

#[test]
fn a_log_others_can_write_fails_and_an_open_directory_is_refused() {
    let (dir, path, _) = closed("mode.jsonl", 1, Close::End);
    fs::set_permissions(&path, fs::Permissions::from_mode(0o620)).unwrap();
    assert_verify_says(&path, 1, "has mode 0620: group or others can write it");

    let open = dir.join("open");
    fs::create_dir(&open).unwrap();
    fs::set_permissions(&open, fs::Permissions::from_mode(0o777)).unwrap();
    let err = AuditWriter::create(
        &open.join("s.jsonl"),
        session_info(),
        Secrets::default(),
        now(),
    )
    .unwrap_err();
    assert!(
        matches!(err, AuditError::UnsafeDirectory { mode: 0o777, .. }),
        "{err:?}"
    );
    assert!(!open.join("s.jsonl").exists());
    fs::set_permissions(&open, fs::Permissions::from_mode(0o1777)).unwrap();
    AuditWriter::create(
        &open.join("s.jsonl"),
        session_info(),
        Secrets::default(),
        now(),
    )
    .unwrap();
}

/// `--resume` takes a log only when `audit verify` would: a stopped log whose heads file was
/// deleted, or whose last published record was cut off (`truncate -s -40`), is refused, and
/// nothing is appended to it (before, both were resumed and then verified "ok").
#[test]
fn resume_refuses_what_verify_refuses_and_appends_nothing() {
    let dir = TempDir::new();
    let no_heads = dir.join("no-heads.jsonl");
    writer_with_notes(&no_heads, 2)
        .stop_session("the operator quit", now())
        .unwrap();
    fs::remove_file(audit::writer::heads_path(&no_heads)).unwrap();
    let cut = dir.join("cut.jsonl");
    writer_with_notes(&cut, 2)
        .stop_session("the operator quit", now())
        .unwrap();
    let file = OpenOptions::new().write(true).open(&cut).unwrap();
    let len = file.metadata().unwrap().len();
    file.set_len(len - 40).unwrap();
    drop(file);
    for (path, problem) in [(&no_heads, "no heads file"), (&cut, "is not in the chain")] {
        let before = fs::read(path).unwrap();
        let err = match open_append_when_unlocked(path) {
            Err(err) => err,
            Ok(_) => panic!("{} was resumed", path.display()),
        };
        assert!(err.to_string().contains("does not verify"), "{err}");
        assert!(err.to_string().contains(problem), "{err}");
        assert_eq!(fs::read(path).unwrap(), before, "{}", path.display());
        let out = zkpilot(&["audit", "verify", path.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(1), "{out:?}");
    }
}

/// `LOG.heads` is never opened through a symlink (a member of a shared pairing directory could
/// point it at a file only the operator may write), nor taken when group or others can write
/// it; `audit verify` reads it the same way.
#[test]
fn the_heads_file_is_never_followed_nor_taken_when_others_can_write_it() {
    let dir = TempDir::new();
    let victim = dir.join("victim");
    fs::write(&victim, "untouched\n").unwrap();
    fs::set_permissions(&victim, fs::Permissions::from_mode(0o600)).unwrap();
    let linked = dir.join("linked.jsonl");
    std::os::unix::fs::symlink(&victim, audit::writer::heads_path(&linked)).unwrap();
    let err = AuditWriter::create(&linked, session_info(), Secrets::default(), now()).unwrap_err();
    assert!(err.to_string().contains("symbolic link"), "{err}");
    assert_eq!(fs::read_to_string(&victim).unwrap(), "untouched\n");
    let out = zkpilot(&["audit", "verify", linked.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert_eq!(fs::read_to_string(&victim).unwrap(), "untouched\n");

    let open = dir.join("open.jsonl");
    let heads = audit::writer::heads_path(&open);
    fs::write(&heads, "").unwrap();
    fs::set_permissions(&heads, fs::Permissions::from_mode(0o666)).unwrap();
    let err = AuditWriter::create(&open, session_info(), Secrets::default(), now()).unwrap_err();
    assert!(err.to_string().contains("mode 0666"), "{err}");
    assert_eq!(fs::read(&heads).unwrap(), b"");
}

/// A stopped log whose heads file others may write, or which lies in a directory others may
/// write without the sticky bit, fails `audit verify`, and `--resume` refuses it before it
/// appends anything. Both verified "ok", and the resume appended its record, then failed to
/// publish the heads (each retry adding another).
#[test]
fn a_log_others_could_replace_fails_verify_and_is_never_resumed() {
    let (dir, path, _) = closed("heads-open.jsonl", 2, Close::Stop);
    let heads = audit::writer::heads_path(&path);
    fs::set_permissions(&heads, fs::Permissions::from_mode(0o666)).unwrap();
    assert_verify_says(&path, 1, "has mode 0666: group or others can write it");
    let before = fs::read(&path).unwrap();
    let err = match open_append_when_unlocked(&path) {
        Err(err) => err,
        Ok(_) => panic!("resumed"),
    };
    assert!(err.to_string().contains("mode 0666"), "{err}");
    assert_eq!(fs::read(&path).unwrap(), before);
    fs::set_permissions(&heads, fs::Permissions::from_mode(0o600)).unwrap();
    verified_ok(&path);

    let open = dir.join("open");
    fs::create_dir(&open).unwrap();
    let moved = open.join("heads-open.jsonl");
    fs::rename(&path, &moved).unwrap();
    fs::rename(&heads, audit::writer::heads_path(&moved)).unwrap();
    fs::set_permissions(&open, fs::Permissions::from_mode(0o777)).unwrap();
    assert_verify_says(&moved, 1, "0777");
    fs::set_permissions(&open, fs::Permissions::from_mode(0o1777)).unwrap();
    verified_ok(&moved);
}

/// A heads file of another owner than the log's is never taken, even when nobody else can
/// write it: whoever owns it could rewrite the published heads. Needs root, to give the file
/// away (CI runs as root; elsewhere the test says so and checks nothing).
#[test]
fn a_heads_file_of_another_owner_is_never_taken() {
    // SAFETY: geteuid reads the process's effective uid and cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("not root: cannot give a heads file to another owner, nothing checked");
        return;
    }
    let dir = TempDir::new();
    let log = dir.join("given-away.jsonl");
    let heads = audit::writer::heads_path(&log);
    fs::write(&heads, "").unwrap();
    fs::set_permissions(&heads, fs::Permissions::from_mode(0o600)).unwrap();
    std::os::unix::fs::chown(&heads, Some(65_534), Some(65_534)).unwrap();
    let err = AuditWriter::create(&log, session_info(), Secrets::default(), now()).unwrap_err();
    assert!(err.to_string().contains("it belongs to nobody"), "{err}");
    assert_eq!(fs::read(&heads).unwrap(), b"");
}

/// A heads line is read up to a cap, not whole: a sparse 4 GiB heads file of one line fails
/// verify at once within 1 GiB of address space (before, verify read it all into memory).
#[test]
fn a_heads_line_is_read_only_up_to_its_cap() {
    let (_dir, path, _) = closed("huge-heads.jsonl", 1, Close::Stop);
    let heads = OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(audit::writer::heads_path(&path))
        .unwrap();
    heads.set_len(4 << 30).unwrap();
    drop(heads);
    let out = Command::new("sh")
        .args(["-c", "ulimit -v 1048576 && exec \"$0\" audit verify \"$1\""])
        .arg(crate::common::BIN)
        .arg(&path)
        .output()
        .unwrap();
    let said = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{said}{}", text(&out.stdout));
    assert!(said.contains("line 1: not an anchor"), "{said}");
}
