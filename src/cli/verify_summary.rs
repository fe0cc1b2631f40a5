//! Pure: what `audit verify` says about a log it has read — the one-line summary when the log
//! holds, or each reason it does not.

use std::path::Path;

use crate::audit::anchored::Anchored;
use crate::audit::RecordHash;

/// The summary of an intact, anchored log (`Ok`), or every problem found (`Err`): an anchor
/// missing or not in the chain (unless `unanchored`), a file others could write, an expected
/// head no record has.
pub fn verify_summary(
    anchored: &Anchored,
    file: &Path,
    expect_head: Option<RecordHash>,
    unanchored: bool,
) -> Result<String, Vec<String>> {
    let verified = &anchored.verified;
    let mut summary = format!("ok: {} records, head {}", verified.records, verified.head);
    for line in &verified.resumed_tears {
        summary.push_str(&format!(
            "; line {line} was torn by a crash and the session resumed after it"
        ));
    }
    if let Some(line) = verified.torn_tail {
        summary.push_str(&format!(
            "; final line {line} is torn (a write cut short by a crash): every record before it is intact"
        ));
    }
    if verified.session_stopped {
        summary.push_str("; the session stopped unfinished (session_stop): --resume continues it");
    } else if !verified.session_ended {
        summary.push_str(
            "; no session_end: the session is running or stopped without closing the log",
        );
    }
    let mut failures = Vec::new();
    match &anchored.anchor {
        Ok(anchor) => summary.push_str(&format!(
            "; anchored: the head published for record {} at {} is in the chain",
            anchor.seq, anchor.at
        )),
        Err(problem) if unanchored => {
            summary.push_str(&format!("; NOT anchored (--unanchored): {problem}"))
        }
        Err(problem) => failures.push(format!("audit log {}: {problem}", file.display())),
    }
    if let Some(problem) = &anchored.file_problem {
        failures.push(problem.clone());
    }
    summary.push_str(&format!(
        "; owner {}, mode {:04o}",
        anchored.owner, anchored.mode
    ));
    if let Some(expected) = expect_head.filter(|e| *e != verified.head) {
        match verified.expected_head_seq {
            Some(seq) => summary.push_str(&format!(
                "; expected head {expected} is record {seq}; {} records were appended after it",
                verified.records.saturating_sub(seq + 1)
            )),
            None => failures.push(format!(
                "audit log {}: no record has the expected head {expected}: records were cut off \
                 the end or the log was rewritten",
                file.display()
            )),
        }
    }
    if failures.is_empty() {
        Ok(summary)
    } else {
        Err(failures)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::anchor::AnchorProblem;
    use crate::audit::verify::Verified;

    fn anchored(anchor: Result<crate::audit::anchor::Anchor, AnchorProblem>) -> Anchored {
        Anchored {
            verified: Verified {
                records: 7,
                head: RecordHash::of_line(b"last"),
                torn_tail: None,
                resumed_tears: vec![4],
                session_ended: false,
                session_stopped: true,
                session_id: None,
                expected_head_seq: None,
                anchor_seq: None,
            },
            anchor,
            owner: "op (uid 1000)".into(),
            mode: 0o600,
            file_problem: None,
        }
    }

    fn missing() -> Result<crate::audit::anchor::Anchor, AnchorProblem> {
        Err(AnchorProblem::Missing {
            path: "s.jsonl.heads".into(),
        })
    }

    #[test]
    fn an_unanchored_log_passes_only_when_asked_and_says_so() {
        let file = Path::new("s.jsonl");
        let failures = verify_summary(&anchored(missing()), file, None, false).err();
        assert!(
            failures.as_ref().is_some_and(
                |f| f.len() == 1 && f[0].starts_with("audit log s.jsonl: no heads file")
            ),
            "{failures:?}"
        );
        let summary = verify_summary(&anchored(missing()), file, None, true).unwrap_or_default();
        assert!(summary.starts_with("ok: 7 records, head "), "{summary}");
        assert!(
            summary.contains("; line 4 was torn by a crash"),
            "{summary}"
        );
        assert!(
            summary.contains("stopped unfinished (session_stop)"),
            "{summary}"
        );
        assert!(
            summary.contains("; NOT anchored (--unanchored): no heads file"),
            "{summary}"
        );
        assert!(
            summary.ends_with("; owner op (uid 1000), mode 0600"),
            "{summary}"
        );
    }

    #[test]
    fn an_expected_head_no_record_has_fails_and_one_inside_counts_what_came_after() {
        let file = Path::new("s.jsonl");
        let other = RecordHash::of_line(b"other");
        let failures = verify_summary(&anchored(missing()), file, Some(other), true).err();
        assert!(
            failures
                .as_ref()
                .is_some_and(|f| f[0].contains("no record has the expected head")),
            "{failures:?}"
        );
        let mut earlier = anchored(missing());
        earlier.verified.expected_head_seq = Some(4);
        let summary = verify_summary(&earlier, file, Some(other), true).unwrap_or_default();
        assert!(
            summary.contains("is record 4; 2 records were appended after it"),
            "{summary}"
        );
    }

    #[test]
    fn a_log_others_could_write_fails() {
        let mut open = anchored(missing());
        open.file_problem = Some("s.jsonl is writable by its group".into());
        assert_eq!(
            verify_summary(&open, Path::new("s.jsonl"), None, true),
            Err(vec!["s.jsonl is writable by its group".to_string()])
        );
    }
}
