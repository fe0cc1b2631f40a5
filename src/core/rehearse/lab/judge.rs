//! Pure: what a trial's samples show (who led, which two led at once for long enough) and
//! whether the analyzer's verdict on the same state allows it.
//!
//! "Possible" in the analyzer means "could happen under some timing", so the lab only holds it
//! to what real ZooKeeper did: a leader it said could not lead, or a split brain it said could
//! not form, is a disagreement; a possibility that did not happen in one run is not.

use crate::quorum::Verdict;

/// How long two leaders must be seen serving at once to count as a split brain:
/// syncLimit × tickTime of the sandbox (5 × 500 ms). A leader cut off from its followers keeps
/// answering `Mode: leader` until it misses syncLimit ticks of acks (`Leader.lead`, ~1.6 s
/// measured, `shared/research/README.md`), so a shorter overlap may be an old leader that has
/// not stepped down yet.
pub const SUSTAIN_MS: u64 = 2_500;

/// What one server answered in one sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Serving as leader at this zxid epoch, with this many synced voting followers
    /// (`mntr`'s `zk_synced_followers`; `None` when `mntr` did not answer).
    Leader {
        epoch: u32,
        synced_followers: Option<u64>,
    },
    Follower {
        epoch: u32,
    },
    Observer,
    /// A server alone in its view; the lab never draws one, but it would serve writes alone.
    Standalone,
    /// Running, not serving: LOOKING, or a learner without a leader.
    NotServing,
    /// Not started, or its port refused the connection.
    Down,
    /// No usable answer in time (a timeout, a half answer): tells nothing either way.
    NoAnswer,
}

impl Role {
    pub fn leads(self) -> bool {
        matches!(self, Role::Leader { .. } | Role::Standalone)
    }

    /// Whether `srvr` answered with a mode: a server says one only once it serves.
    pub fn serves(self) -> bool {
        matches!(
            self,
            Role::Leader { .. } | Role::Follower { .. } | Role::Observer | Role::Standalone
        )
    }
}

/// Every server's role at one moment, `at_ms` after the first start; indexed like the trial's
/// hosts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sample {
    pub at_ms: u64,
    pub roles: Vec<Role>,
}

/// Two different servers seen leading at once, both with a synced follower, without a break
/// for `span_ms`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Split {
    pub a: usize,
    pub b: usize,
    pub span_ms: u64,
}

/// What the samples of a trial show.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// Hosts seen leading at least once, ascending.
    pub leaders: Vec<usize>,
    /// Pairs (a < b) seen leading together for more than [`SUSTAIN_MS`].
    pub splits: Vec<Split>,
    /// The first sample with a serving leader (`srvr` says `Mode: leader` only once the
    /// leader's server runs, after a quorum acknowledged it: `Leader.lead`), in ms after the
    /// first start; `None` when none was seen.
    pub first_leader_ms: Option<u64>,
    /// Hosts whose server exited on its own during the trial (the runner reads their logs),
    /// ascending.
    pub exited: Vec<usize>,
    /// No sample of the settle window (from when every started server had answered to the
    /// end) showed a serving leader: the runner knows the window ([`leaderless_since`]).
    pub no_leader_settled: bool,
    /// Hosts seen serving at least once (leading, following or observing), ascending.
    pub served: Vec<usize>,
}

pub fn summarize(samples: &[Sample]) -> Summary {
    let hosts = samples.iter().map(|s| s.roles.len()).max().unwrap_or(0);
    let role = |s: &Sample, h: usize| s.roles.get(h).copied().unwrap_or(Role::Down);
    let leaders: Vec<usize> = (0..hosts)
        .filter(|&h| samples.iter().any(|s| role(s, h).leads()))
        .collect();
    let mut splits = Vec::new();
    for (k, &a) in leaders.iter().enumerate() {
        for &b in &leaders[k + 1..] {
            let span = longest_overlap(samples.iter().map(|s| (s.at_ms, role(s, a), role(s, b))));
            if span > SUSTAIN_MS {
                splits.push(Split {
                    a,
                    b,
                    span_ms: span,
                });
            }
        }
    }
    let served = (0..hosts)
        .filter(|&h| samples.iter().any(|s| role(s, h).serves()))
        .collect();
    let first_leader_ms = samples
        .iter()
        .find(|s| s.roles.iter().any(|r| r.leads()))
        .map(|s| s.at_ms);
    Summary {
        leaders,
        splits,
        first_leader_ms,
        exited: Vec::new(),
        no_leader_settled: false,
        served,
    }
}

/// Whether no sample from `from_ms` on shows a serving leader (and at least one was taken).
pub fn leaderless_since(samples: &[Sample], from_ms: u64) -> bool {
    let mut window = samples.iter().filter(|s| s.at_ms >= from_ms).peekable();
    window.peek().is_some() && window.all(|s| !s.roles.iter().any(|r| r.leads()))
}

/// The longest stretch from the first to the last sample in which both lead with a follower,
/// with no sample in between showing either one not leading. A sample without an answer from
/// one of them neither extends nor breaks the stretch.
fn longest_overlap(samples: impl Iterator<Item = (u64, Role, Role)>) -> u64 {
    let serving = |r: Role| match r {
        Role::Leader {
            synced_followers, ..
        } => synced_followers.map(|n| n > 0),
        Role::Standalone => Some(false),
        Role::NoAnswer => None,
        _ => Some(false),
    };
    let mut start: Option<u64> = None;
    let mut best = 0;
    for (at, a, b) in samples {
        match (serving(a), serving(b)) {
            (Some(true), Some(true)) => {
                let from = *start.get_or_insert(at);
                best = best.max(at - from);
            }
            (Some(false), _) | (_, Some(false)) => start = None,
            _ => {}
        }
    }
    best
}

/// Something real ZooKeeper did that the analyzer called impossible.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Disagreement {
    /// Two leaders at once, sustained, where the analyzer saw no possible split brain.
    SplitNotPredicted(Split),
    /// A leader where the analyzer said no quorum can form.
    LeaderWithoutQuorum { leader: usize },
    /// A leader the analyzer did not list among the possible leaders.
    LeaderNotPossible { leader: usize },
    /// A server exited at start that the analyzer expected to run.
    ExitNotPredicted { host: usize },
    /// A server ran that the analyzer said exits at start (its own line not its address).
    ExitPredictedNotSeen { host: usize },
    /// A server served that the analyzer said can neither lead nor follow
    /// (`Verdict::cannot_serve`).
    ServedThoughItCannot { host: usize },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Judgement {
    pub quorum_possible: bool,
    pub split_possible: bool,
    pub leader_seen: bool,
    pub split_seen: bool,
    /// The analyzer named an election that can stall (`Verdict::stalls`).
    pub stall_named: bool,
    /// A stall seen: the analyzer said a working quorum can form, and no serving leader was
    /// seen for the whole settle window. Not a disagreement ("possible" is not "will"), but
    /// `analyze` should have named it ([`Judgement::stall_not_named`]).
    pub stall_seen: bool,
    pub first_leader_ms: Option<u64>,
    /// Servers seen exiting at start.
    pub exits_seen: usize,
    /// Servers the analyzer said can neither lead nor follow (`Verdict::cannot_serve`), each
    /// held to whether it served.
    pub cannot_serve: Vec<usize>,
    pub disagreements: Vec<Disagreement>,
}

impl Judgement {
    pub fn agrees(&self) -> bool {
        self.disagreements.is_empty()
    }

    /// The analyzer allowed a split brain and this run did not produce one: not a
    /// disagreement, counted apart.
    pub fn split_possible_not_seen(&self) -> bool {
        self.split_possible && !self.split_seen
    }

    /// The analyzer allowed a leader and none was seen within the settle window.
    pub fn quorum_possible_no_leader(&self) -> bool {
        self.quorum_possible && !self.leader_seen
    }

    /// A stall seen that `analyze` did not name beforehand.
    pub fn stall_not_named(&self) -> bool {
        self.stall_seen && !self.stall_named
    }
}

/// Holds the verdict on a state to what its servers did; hosts are the verdict's node indices.
pub fn judge(verdict: &Verdict, seen: &Summary) -> Judgement {
    let mut disagreements = Vec::new();
    for &split in &seen.splits {
        if verdict.split_brain.is_none() {
            disagreements.push(Disagreement::SplitNotPredicted(split));
        }
    }
    // A leader the analyzer lists is allowed even when `quorum_possible` is false: it may be a
    // "hollow" leader held up by an observer (`Verdict::hollow_leaders`: it answers as leader
    // and commits nothing, which `srvr` cannot tell apart), or lead one of several separate
    // ensembles while another cannot form a quorum.
    for &leader in &seen.leaders {
        if verdict.possible_leaders.contains(&leader) {
            continue;
        }
        if verdict.quorum_possible {
            disagreements.push(Disagreement::LeaderNotPossible { leader });
        } else {
            disagreements.push(Disagreement::LeaderWithoutQuorum { leader });
        }
    }
    // A server whose own line is not its address and that binds only that line exits after
    // its bind retries (`QuorumCnxManager.Listener.run` → `socketBindErrorHandler`, exit 14).
    for &host in &seen.exited {
        if !verdict.exits_at_start.contains(&host) {
            disagreements.push(Disagreement::ExitNotPredicted { host });
        }
    }
    for &host in &verdict.exits_at_start {
        if !seen.exited.contains(&host) {
            disagreements.push(Disagreement::ExitPredictedNotSeen { host });
        }
    }
    for &host in &seen.served {
        if verdict.cannot_serve.contains(&host) {
            disagreements.push(Disagreement::ServedThoughItCannot { host });
        }
    }
    Judgement {
        quorum_possible: verdict.quorum_possible,
        split_possible: verdict.split_brain.is_some(),
        leader_seen: !seen.leaders.is_empty(),
        split_seen: !seen.splits.is_empty(),
        stall_named: !verdict.stalls.is_empty(),
        stall_seen: verdict.quorum_possible && seen.no_leader_settled,
        first_leader_ms: seen.first_leader_ms,
        exits_seen: seen.exited.len(),
        cannot_serve: verdict.cannot_serve.clone(),
        disagreements,
    }
}

/// A stretch of samples in which one server kept one role: for the printed timeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segment {
    pub role: Role,
    pub from_ms: u64,
    pub to_ms: u64,
}

/// Each host's roles over the trial, consecutive equal roles merged (missing answers included,
/// so a gap shows).
pub fn timeline(samples: &[Sample], hosts: usize) -> Vec<Vec<Segment>> {
    (0..hosts)
        .map(|h| {
            let mut segments: Vec<Segment> = Vec::new();
            for sample in samples {
                let role = sample.roles.get(h).copied().unwrap_or(Role::Down);
                match segments.last_mut() {
                    Some(last) if last.role == role => last.to_ms = sample.at_ms,
                    _ => segments.push(Segment {
                        role,
                        from_ms: sample.at_ms,
                        to_ms: sample.at_ms,
                    }),
                }
            }
            segments
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quorum::{Quorum, Witness};

    const L: Role = Role::Leader {
        epoch: 1,
        synced_followers: Some(1),
    };
    const F: Role = Role::Follower { epoch: 1 };

    /// Samples every 200 ms from the rows given, one row per sample.
    fn samples(rows: &[&[Role]]) -> Vec<Sample> {
        rows.iter()
            .enumerate()
            .map(|(i, roles)| Sample {
                at_ms: i as u64 * 200,
                roles: roles.to_vec(),
            })
            .collect()
    }

    fn repeat(row: &[Role], times: usize) -> Vec<&[Role]> {
        std::iter::repeat_n(row, times).collect()
    }

    fn verdict(quorum: bool, split: bool, leaders: Vec<usize>) -> Verdict {
        let q = |leader| Quorum {
            leader,
            members: vec![leader],
        };
        Verdict {
            quorum_possible: quorum,
            split_brain: split.then(|| Witness { a: q(0), b: q(1) }),
            unreachable: Vec::new(),
            possible_leaders: leaders,
            smallest_quorums: Vec::new(),
            hollow_leaders: Vec::new(),
            ..Verdict::default()
        }
    }

    #[test]
    fn two_leaders_for_longer_than_sync_limit_are_a_split() {
        // 15 samples: 0 to 2800 ms.
        let rows = repeat(&[L, F, L, F], 15);
        let seen = summarize(&samples(&rows));
        assert_eq!(seen.leaders, [0, 2]);
        assert_eq!(
            seen.splits,
            [Split {
                a: 0,
                b: 2,
                span_ms: 2800
            }]
        );
    }

    #[test]
    fn an_old_leader_not_stepped_down_yet_is_no_split() {
        // Overlap of 2.4 s (13 samples), then the old leader looks again: not sustained.
        let mut rows = repeat(&[L, F, L], 13);
        rows.extend(repeat(&[Role::NotServing, F, L], 20));
        let seen = summarize(&samples(&rows));
        assert_eq!(seen.leaders, [0, 2]);
        assert!(seen.splits.is_empty());
    }

    #[test]
    fn a_leader_without_followers_or_a_break_interrupts_the_overlap() {
        let lonely = Role::Leader {
            epoch: 1,
            synced_followers: Some(0),
        };
        let cut = [lonely, L];
        let mut rows = repeat(&[L, L], 10);
        rows.push(&cut);
        rows.extend(repeat(&[L, L], 10));
        assert!(summarize(&samples(&rows)).splits.is_empty());

        // A missing answer neither breaks nor extends: one overlap from 0 to 4400 ms.
        let unknown = Role::Leader {
            epoch: 1,
            synced_followers: None,
        };
        let (silent, unsure) = ([Role::NoAnswer, L], [unknown, L]);
        let mut rows = repeat(&[L, L], 11);
        rows.push(&silent);
        rows.push(&unsure);
        rows.extend(repeat(&[L, L], 10));
        let seen = summarize(&samples(&rows));
        assert_eq!(seen.splits.len(), 1);
        assert_eq!(seen.splits[0].span_ms, 4400);
    }

    #[test]
    fn the_verdict_is_held_to_what_happened() {
        let split = summarize(&samples(&repeat(&[L, F, L], 20)));
        let one = summarize(&samples(&repeat(&[L, F, F], 20)));
        let none = summarize(&samples(&repeat(&[Role::NotServing, Role::Down], 20)));

        // A split the analyzer called possible: agreement.
        assert!(judge(&verdict(true, true, vec![0, 2]), &split).agrees());
        // A split it did not: disagreement.
        let j = judge(&verdict(true, false, vec![0, 2]), &split);
        assert_eq!(
            j.disagreements,
            [Disagreement::SplitNotPredicted(Split {
                a: 0,
                b: 2,
                span_ms: 3800
            })]
        );
        // A leader it did not list.
        let j = judge(&verdict(true, false, vec![1]), &one);
        assert_eq!(
            j.disagreements,
            [Disagreement::LeaderNotPossible { leader: 0 }]
        );
        // A leader where no quorum was possible.
        let j = judge(&verdict(false, false, vec![]), &one);
        assert_eq!(
            j.disagreements,
            [Disagreement::LeaderWithoutQuorum { leader: 0 }]
        );
        // No quorum and no leader: agreement.
        assert!(judge(&verdict(false, false, vec![]), &none).agrees());
        // No working quorum, but the leader seen is one the analyzer lists (a hollow leader).
        assert!(judge(&verdict(false, false, vec![0]), &one).agrees());
    }

    /// A server seen serving that the analyzer said can neither lead nor follow disagrees; one
    /// that only looked for a leader agrees.
    #[test]
    fn a_server_that_served_though_it_cannot_disagrees() {
        let lead = Role::Leader {
            epoch: 1,
            synced_followers: Some(1),
        };
        let follow = Role::Follower { epoch: 1 };
        let row = [lead, follow, Role::NotServing];
        let seen = summarize(&samples(&repeat(&row, 5)));
        assert_eq!(seen.served, [0, 1]);
        let mut v = verdict(true, false, vec![0]);
        v.cannot_serve = vec![2];
        let j = judge(&v, &seen);
        assert!(j.agrees() && j.cannot_serve == [2], "{j:?}");
        v.cannot_serve = vec![1];
        assert_eq!(
            judge(&v, &seen).disagreements,
            [Disagreement::ServedThoughItCannot { host: 1 }]
        );
    }

    #[test]
    fn possible_but_not_seen_is_no_disagreement() {
        let one = summarize(&samples(&repeat(&[L, F, F], 20)));
        let j = judge(&verdict(true, true, vec![0, 1]), &one);
        assert!(j.agrees());
        assert!(j.split_possible_not_seen());
        assert!(!j.quorum_possible_no_leader());
        let none = summarize(&samples(&repeat(&[Role::NotServing], 20)));
        let j = judge(&verdict(true, false, vec![0]), &none);
        assert!(j.agrees() && j.quorum_possible_no_leader());
    }

    #[test]
    fn a_stall_is_no_serving_leader_for_the_settle_window_where_a_quorum_was_possible() {
        let lonely = Role::Leader {
            epoch: 1,
            synced_followers: Some(0),
        };
        // A leader early, then none from 600 ms on (the window starts at 600 ms).
        let mut rows = repeat(&[L, F], 3);
        rows.extend(repeat(&[Role::NotServing, Role::NotServing], 10));
        let run = samples(&rows);
        assert!(leaderless_since(&run, 600));
        assert!(!leaderless_since(&run, 400));
        assert!(!leaderless_since(&run, 10_000), "no sample in the window");
        // A leader that answers `Mode: leader` serves, with or without followers.
        assert!(!leaderless_since(&samples(&[&[lonely]]), 0));

        let mut seen = summarize(&run);
        seen.no_leader_settled = true;
        let named = Verdict {
            stalls: vec![crate::quorum::Stall {
                leader: 0,
                cannot_follow: vec![1],
            }],
            ..verdict(true, false, vec![0, 1])
        };
        let j = judge(&named, &seen);
        assert!(j.agrees() && j.stall_named && j.stall_seen && !j.stall_not_named());
        let j = judge(&verdict(true, false, vec![0, 1]), &seen);
        assert!(j.stall_seen && j.stall_not_named());
        // No quorum possible: no leader is no stall.
        assert!(!judge(&verdict(false, false, vec![0]), &seen).stall_seen);
    }

    #[test]
    fn the_timeline_merges_equal_roles() {
        let rows: Vec<&[Role]> = vec![
            &[Role::NotServing],
            &[Role::NotServing],
            &[L],
            &[L],
            &[Role::NoAnswer],
            &[L],
        ];
        let t = timeline(&samples(&rows), 1);
        let spans: Vec<(Role, u64, u64)> =
            t[0].iter().map(|s| (s.role, s.from_ms, s.to_ms)).collect();
        assert_eq!(
            spans,
            [
                (Role::NotServing, 0, 200),
                (L, 400, 600),
                (Role::NoAnswer, 800, 800),
                (L, 1000, 1000)
            ]
        );
    }
}
