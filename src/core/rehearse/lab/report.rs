//! Pure: the lab's running counts, its table, and the progress bar.

use std::fmt::Write;

use super::draw::Kind;
use super::judge::Judgement;

/// Counts over a set of trials.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub trials: u32,
    pub leaders_seen: u32,
    pub splits_seen: u32,
    pub split_possible: u32,
    pub agreements: u32,
    pub disagreements: u32,
    /// The analyzer allowed a split brain; this run did not show one.
    pub split_possible_not_seen: u32,
    /// The analyzer allowed a leader; none was seen within the settle window.
    pub quorum_possible_no_leader: u32,
    /// The analyzer named an election that can stall.
    pub stall_named: u32,
    /// A working quorum was possible and no serving leader was seen for the settle window.
    pub stall_seen: u32,
    /// Both: named by `analyze` before the lab saw it.
    pub stall_named_and_seen: u32,
    /// Trials in which a server exited at start.
    pub exits_seen: u32,
    /// Trials in which the analyzer named a server that can neither lead nor follow.
    pub cannot_serve_named: u32,
    /// Time to a serving leader, over the trials that had one: sum and longest, in ms.
    pub leader_ms_total: u64,
    pub leader_ms_max: u64,
}

impl Counts {
    fn add(&mut self, j: &Judgement) {
        self.trials += 1;
        self.leaders_seen += u32::from(j.leader_seen);
        self.splits_seen += u32::from(j.split_seen);
        self.split_possible += u32::from(j.split_possible);
        if j.agrees() {
            self.agreements += 1;
        } else {
            self.disagreements += 1;
        }
        self.split_possible_not_seen += u32::from(j.split_possible_not_seen());
        self.quorum_possible_no_leader += u32::from(j.quorum_possible_no_leader());
        self.stall_named += u32::from(j.stall_named);
        self.stall_seen += u32::from(j.stall_seen);
        self.stall_named_and_seen += u32::from(j.stall_named && j.stall_seen);
        self.exits_seen += u32::from(j.exits_seen > 0);
        self.cannot_serve_named += u32::from(!j.cannot_serve.is_empty());
        if let Some(ms) = j.first_leader_ms {
            self.leader_ms_total += ms;
            self.leader_ms_max = self.leader_ms_max.max(ms);
        }
    }

    /// Mean and longest time to a serving leader, in seconds, as table cells.
    fn leader_times(&self) -> [String; 2] {
        if self.leaders_seen == 0 {
            return ["-".into(), "-".into()];
        }
        let mean = self.leader_ms_total as f64 / f64::from(self.leaders_seen) / 1000.0;
        [
            format!("{mean:.1}"),
            format!("{:.1}", self.leader_ms_max as f64 / 1000.0),
        ]
    }
}

/// The counts of a lab run: all trials, and per kind of drawn state (a trial counts under each
/// of its kinds). Trials that could not run are counted apart and judged not at all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tally {
    pub all: Counts,
    pub per_kind: Vec<(Kind, Counts)>,
    /// Only the base view and nothing else (the generator's fallback).
    pub unchanged: Counts,
    pub failed: u32,
}

impl Tally {
    pub fn new() -> Tally {
        Tally {
            per_kind: Kind::ALL.iter().map(|&k| (k, Counts::default())).collect(),
            ..Tally::default()
        }
    }

    pub fn add(&mut self, kinds: &[Kind], judgement: &Judgement) {
        self.all.add(judgement);
        if kinds.is_empty() {
            self.unchanged.add(judgement);
        }
        for (kind, counts) in &mut self.per_kind {
            if kinds.contains(kind) {
                counts.add(judgement);
            }
        }
    }

    pub fn add_failed(&mut self) {
        self.failed += 1;
    }

    pub fn table(&self) -> String {
        let header = [
            "kind",
            "trials",
            "leaders seen",
            "splits seen",
            "analyzer: split possible",
            "agree",
            "disagree",
            "split possible, not seen",
            "quorum possible, no leader",
            "stall named",
            "stall seen",
            "named and seen",
            "exits seen",
            "cannot serve named",
            "s to leader (mean)",
            "(max)",
        ];
        let mut rows: Vec<(String, Counts)> = vec![("all".to_string(), self.all)];
        for (kind, counts) in &self.per_kind {
            rows.push((kind.to_string(), *counts));
        }
        if self.unchanged.trials > 0 {
            rows.push(("one view".into(), self.unchanged));
        }
        let cells: Vec<Vec<String>> = rows
            .iter()
            .map(|(name, c)| {
                vec![
                    name.clone(),
                    c.trials.to_string(),
                    c.leaders_seen.to_string(),
                    c.splits_seen.to_string(),
                    c.split_possible.to_string(),
                    c.agreements.to_string(),
                    c.disagreements.to_string(),
                    c.split_possible_not_seen.to_string(),
                    c.quorum_possible_no_leader.to_string(),
                    c.stall_named.to_string(),
                    c.stall_seen.to_string(),
                    c.stall_named_and_seen.to_string(),
                    c.exits_seen.to_string(),
                    c.cannot_serve_named.to_string(),
                ]
                .into_iter()
                .chain(c.leader_times())
                .collect()
            })
            .collect();
        let widths: Vec<usize> = (0..header.len())
            .map(|i| {
                cells
                    .iter()
                    .map(|row| row[i].len())
                    .chain([header[i].len()])
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let line = |row: &[&str]| -> String {
            let mut text = String::new();
            for (i, cell) in row.iter().enumerate() {
                if i == 0 {
                    let _ = write!(text, "{cell:<w$}", w = widths[i]);
                } else {
                    let _ = write!(text, "  {cell:>w$}", w = widths[i]);
                }
            }
            text.trim_end().to_string() + "\n"
        };
        let mut text = line(&header);
        let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
        text.push_str(&line(&rule.iter().map(String::as_str).collect::<Vec<_>>()));
        for row in &cells {
            text.push_str(&line(&row.iter().map(String::as_str).collect::<Vec<_>>()));
        }
        if self.failed > 0 {
            let _ = writeln!(
                text,
                "{} trial(s) could not run and were not judged (see above)",
                self.failed
            );
        }
        text
    }
}

/// A trial's stall in words for its line of the report: whether `analyze` named one and
/// whether the lab saw one (a working quorum possible, no serving leader for the settle window).
pub fn stall_words(j: &Judgement) -> String {
    let yes = |b: bool| if b { "yes" } else { "no" };
    format!(
        "stall named {}, seen {}",
        yes(j.stall_named),
        yes(j.stall_seen)
    )
}

/// `[#######.............] 7/20`: plain text, so it reads the same in a log file.
pub fn progress_bar(done: u32, total: u32, width: usize) -> String {
    let filled = if total == 0 {
        width
    } else {
        (done as usize * width) / total as usize
    };
    format!(
        "[{}{}] {done}/{total}",
        "#".repeat(filled.min(width)),
        ".".repeat(width.saturating_sub(filled))
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rehearse::lab::judge::{Disagreement, Split};

    fn judgement(leader: bool, split: bool, possible: bool, disagree: bool) -> Judgement {
        Judgement {
            quorum_possible: true,
            split_possible: possible,
            leader_seen: leader,
            split_seen: split,
            stall_named: !leader,
            stall_seen: !leader,
            first_leader_ms: leader.then_some(1500),
            exits_seen: 0,
            cannot_serve: Vec::new(),
            disagreements: if disagree {
                vec![Disagreement::SplitNotPredicted(Split {
                    a: 0,
                    b: 1,
                    span_ms: 3000,
                })]
            } else {
                Vec::new()
            },
        }
    }

    #[test]
    fn the_table_counts_every_trial_and_each_kind() {
        let mut tally = Tally::new();
        tally.add(&[Kind::Moved], &judgement(true, false, true, false));
        tally.add(
            &[Kind::Expanded, Kind::Moved],
            &judgement(true, true, false, true),
        );
        tally.add(&[Kind::Down], &judgement(false, false, false, false));
        tally.add_failed();
        assert_eq!(
            tally.all,
            Counts {
                trials: 3,
                leaders_seen: 2,
                splits_seen: 1,
                split_possible: 1,
                agreements: 2,
                disagreements: 1,
                split_possible_not_seen: 1,
                quorum_possible_no_leader: 1,
                stall_named: 1,
                stall_seen: 1,
                stall_named_and_seen: 1,
                exits_seen: 0,
                cannot_serve_named: 0,
                leader_ms_total: 3000,
                leader_ms_max: 1500,
            }
        );
        let table = tally.table();
        let moved = table.lines().find(|l| l.starts_with("moved")).unwrap();
        let cells: Vec<&str> = moved.split_whitespace().collect();
        assert_eq!(
            cells,
            [
                "moved", "2", "2", "1", "1", "1", "1", "1", "0", "0", "0", "0", "0", "0", "1.5",
                "1.5"
            ]
        );
        let down = table.lines().find(|l| l.starts_with("down")).unwrap();
        let cells: Vec<&str> = down.split_whitespace().collect();
        assert_eq!(
            cells[8..],
            ["1", "1", "1", "1", "0", "0", "-", "-"],
            "{table}"
        );
        assert!(table.starts_with("kind "), "{table}");
        assert!(
            table.contains("  trials  leaders seen  splits seen"),
            "{table}"
        );
        assert!(table.contains("1 trial(s) could not run"));
    }

    #[test]
    fn the_progress_bar_fills_in_proportion() {
        assert_eq!(progress_bar(0, 4, 8), "[........] 0/4");
        assert_eq!(progress_bar(1, 4, 8), "[##......] 1/4");
        assert_eq!(progress_bar(4, 4, 8), "[########] 4/4");
        assert_eq!(progress_bar(0, 0, 4), "[####] 0/0");
    }
}
