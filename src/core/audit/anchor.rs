//! Pure: the log's anchors. A hash chain cannot show that its tail was cut off or that the
//! whole chain was recomputed after an edit, so the writer publishes the head outside the log
//! at every step end and at the session's end, and `verify` checks that the last published
//! head is still in the chain at its place.
//!
//! Where they go (the adapters): `LOG.heads` beside the log, one line per anchor, created with
//! the log's owner and mode 0600 and only ever appended to; and a line in the system journal
//! through `logger` when the machine has one. A log written by this zkpilot always has a heads
//! file, so one that is missing is itself a finding.

use std::fmt;

use super::record::{RecordHash, Timestamp};

/// The suffix of the heads file: `LOG.heads` beside `LOG`.
pub const HEADS_SUFFIX: &str = ".heads";

/// One published head: record `seq` of the log had this hash, published at `at`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Anchor {
    pub seq: u64,
    pub head: RecordHash,
    pub at: Timestamp,
}

impl fmt::Display for Anchor {
    /// The heads file's line, without `\n`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "seq={} head={} at={}", self.seq, self.head, self.at)
    }
}

impl Anchor {
    pub fn parse(line: &str) -> Option<Anchor> {
        let mut fields = line.split(' ');
        let seq = fields.next()?.strip_prefix("seq=")?.parse().ok()?;
        let head = fields.next()?.strip_prefix("head=")?.parse().ok()?;
        let at = Timestamp::parse_rfc3339(fields.next()?.strip_prefix("at=")?)?;
        fields.next().is_none().then_some(Anchor { seq, head, at })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AnchorProblem {
    #[error("no heads file {path}: every log this zkpilot writes has one, so either it was deleted (with the log's tail, perhaps) or the log comes from elsewhere; `--unanchored` checks the chain alone")]
    Missing { path: String },
    #[error(
        "heads file {path}, line {line}: not an anchor (`seq=N head=HASH at=TIME`): it was edited"
    )]
    BadLine { path: String, line: usize },
    #[error("heads file {path} holds no anchor: it was emptied")]
    Empty { path: String },
    #[error("the head published for record {seq} at {at} ({head}) is not in the chain: records were cut off the end or the log was rewritten")]
    NotInChain {
        seq: u64,
        head: RecordHash,
        at: Timestamp,
    },
}

/// The anchors of a heads file, in file order; an empty or edited file is a problem.
pub fn parse_heads(text: &str, path: &str) -> Result<Vec<Anchor>, AnchorProblem> {
    let anchors = text
        .lines()
        .enumerate()
        .map(|(i, line)| {
            Anchor::parse(line).ok_or(AnchorProblem::BadLine {
                path: path.to_string(),
                line: i + 1,
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    if anchors.is_empty() {
        return Err(AnchorProblem::Empty {
            path: path.to_string(),
        });
    }
    Ok(anchors)
}

/// The anchor a verification must find: the latest, since it chains back to every other.
pub fn latest(anchors: &[Anchor]) -> Option<Anchor> {
    anchors.iter().copied().max_by_key(|a| a.seq)
}

/// Judges the latest anchor against the chain: `found_at` is the seq of the record whose hash
/// is the anchor's head, if the chain has one.
pub fn judge(anchor: Anchor, found_at: Option<u64>) -> Result<(), AnchorProblem> {
    if found_at == Some(anchor.seq) {
        Ok(())
    } else {
        Err(AnchorProblem::NotInChain {
            seq: anchor.seq,
            head: anchor.head,
            at: anchor.at,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn anchor(seq: u64) -> Anchor {
        Anchor {
            seq,
            head: RecordHash::of_line(seq.to_string().as_bytes()),
            at: Timestamp::from_unix_millis(1_795_425_423_120),
        }
    }

    #[test]
    fn an_anchor_line_round_trips() {
        let a = anchor(7);
        let line = a.to_string();
        assert!(line.starts_with("seq=7 head="), "{line}");
        assert!(line.ends_with(" at=2026-11-23T09:17:03.120Z"), "{line}");
        assert_eq!(Anchor::parse(&line), Some(a));
        assert_eq!(Anchor::parse(&format!("{line} extra")), None);
        assert_eq!(Anchor::parse("seq=7"), None);
    }

    #[test]
    fn the_latest_anchor_must_sit_at_its_seq() {
        let text = format!("{}\n{}\n", anchor(1), anchor(9));
        let anchors = parse_heads(&text, "l.heads").unwrap();
        let last = latest(&anchors).unwrap();
        assert_eq!(last.seq, 9);
        assert_eq!(judge(last, Some(9)), Ok(()));
        let cut = judge(last, None).unwrap_err();
        assert!(
            cut.to_string().contains("records were cut off the end"),
            "{cut}"
        );
        assert!(judge(last, Some(4)).is_err());
    }

    #[test]
    fn an_edited_or_emptied_heads_file_is_named() {
        let edited = format!("{}\nseq=x\n", anchor(1));
        assert_eq!(
            parse_heads(&edited, "l.heads"),
            Err(AnchorProblem::BadLine {
                path: "l.heads".into(),
                line: 2
            })
        );
        assert!(matches!(
            parse_heads("", "l.heads"),
            Err(AnchorProblem::Empty { .. })
        ));
    }
}
