//! The report in operator words, and as one JSON object for scripts.

use super::Report;
use crate::quorum::findings::{findings, Finding};
use crate::quorum::{Cut, DialBack, Gap, Quorum};
use crate::zk::config::PeerAddr;
use serde_json::{json, Value};
use std::fmt::Write;

fn addrs(list: &[PeerAddr]) -> String {
    list.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("|")
}

impl Report {
    fn name(&self, i: usize) -> &str {
        &self.state.ensemble.nodes[i].name
    }

    /// The findings every surface shows (`quorum::findings`), in this state's names.
    pub fn findings(&self) -> Vec<Finding> {
        findings(&self.verdict, &|i| self.name(i).to_string())
    }

    /// Node names in sid order (index order among equal sids).
    fn names(&self, members: &[usize]) -> Vec<String> {
        let nodes = &self.state.ensemble.nodes;
        let mut sorted = members.to_vec();
        sorted.sort_by_key(|&i| (nodes[i].sid, i));
        sorted
            .into_iter()
            .map(|i| self.name(i).to_string())
            .collect()
    }

    fn view_label(&self, i: usize) -> String {
        match &self.state.view_names[i] {
            Some(name) => format!("view {name}"),
            None => "its own list".to_string(),
        }
    }

    fn rule(&self) -> String {
        let version = self.state.ensemble.version;
        let source = if self.state.version_from_file {
            "from the file"
        } else {
            "the newest known; say `zookeeper:` in the file to change it"
        };
        let dial = if version.dials_back_from_own_view() {
            "Before 3.5 the larger sid dials the smaller one back at the address ITS OWN view \
             lists (ZOOKEEPER-2938), so a stale or missing entry there cuts the pair."
        } else {
            "From 3.5 the larger sid dials the smaller one back at the address the smaller one \
             advertises, its own line (the line for its sid in its own view), so a pair can talk \
             when the larger's view reaches the smaller, or the smaller's view reaches the larger \
             and its own line reaches itself."
        };
        format!("ZooKeeper {version} ({source}). {dial}")
    }

    fn unreachable_names(&self) -> Vec<[String; 2]> {
        let mut pairs: Vec<[String; 2]> = self
            .verdict
            .unreachable
            .iter()
            .map(|&(a, b)| {
                let mut pair = [self.name(a).to_string(), self.name(b).to_string()];
                pair.sort();
                pair
            })
            .collect();
        pairs.sort();
        pairs
    }

    /// Why a pair cannot talk, in a sentence.
    fn cut_reason(&self, a: usize, b: usize) -> (&'static str, String) {
        let nodes = &self.state.ensemble.nodes;
        match self.state.ensemble.cut(a, b) {
            None => ("none", String::new()),
            Some(Cut::Partitioned) => (
                "partitioned",
                "no group in `partitions` holds both".to_string(),
            ),
            Some(Cut::SameSid) => (
                "same-sid",
                format!(
                    "both are sid {}: ZooKeeper keeps one election connection per sid and drops the other",
                    nodes[a].sid
                ),
            ),
            Some(Cut::NoElectionLink {
                own_view,
                dial_back,
            }) => {
                let (hi, lo) = (own_view.holder, own_view.peer);
                let mut detail = format!(
                    "{} (the larger sid) dials {} at the address in its own view, and its view {}",
                    self.name(hi),
                    self.name(lo),
                    self.gap(&own_view)
                );
                match dial_back {
                    None => detail.push_str("; before 3.5 its dial-back uses that view too"),
                    Some(DialBack::NoDial(gap)) => {
                        let _ = write!(
                            detail,
                            "; {}'s view {}, so it never dials {} to be dialed back",
                            self.name(lo),
                            self.gap(&gap),
                            self.name(hi)
                        );
                    }
                    Some(DialBack::Advertised(advert)) => {
                        let _ = write!(
                            detail,
                            "; when {lo_name} dials {hi_name}, {hi_name} drops the socket and dials \
                             back at the address {lo_name} advertises, its own line {}, {}",
                            addrs(&advert.addrs),
                            self.leads(advert.reaches, lo),
                            lo_name = self.name(lo),
                            hi_name = self.name(hi),
                        );
                    }
                }
                ("no-election-link", detail)
            }
        }
    }

    /// Where an address leads instead of to `meant`.
    fn leads(&self, reaches: Option<usize>, meant: usize) -> String {
        let ensemble = &self.state.ensemble;
        let listens = addrs(&ensemble.binds(meant));
        match reaches {
            Some(other) if ensemble.nodes[other].up => {
                format!(
                    "which reaches {}, not {}",
                    self.name(other),
                    self.name(meant)
                )
            }
            Some(other) => format!(
                "which reaches {} (down), not {}",
                self.name(other),
                self.name(meant)
            ),
            None if listens.is_empty() => "which reaches nothing".to_string(),
            None => format!(
                "which reaches nothing ({} listens at {listens})",
                self.name(meant)
            ),
        }
    }

    /// What a view says instead of an address that reaches the peer.
    fn gap(&self, gap: &Gap) -> String {
        let peer = &self.state.ensemble.nodes[gap.peer];
        if gap.listed.is_empty() {
            format!(
                "has no server.{} ({} is at {})",
                peer.sid, peer.name, peer.addr
            )
        } else {
            format!(
                "lists server.{} at {}, {}",
                peer.sid,
                addrs(&gap.listed),
                self.leads(gap.reaches, gap.peer)
            )
        }
    }

    fn quorum_json(&self, quorum: &Quorum) -> Value {
        json!({
            "leader": self.name(quorum.leader),
            "members": self.names(&quorum.members),
        })
    }

    /// One JSON object; keys sorted.
    pub fn json(&self) -> String {
        let ensemble = &self.state.ensemble;
        let verdict = &self.verdict;
        let witness = verdict
            .split_brain
            .as_ref()
            .map(|w| json!([self.quorum_json(&w.a), self.quorum_json(&w.b)]));
        let mut leaders = verdict.possible_leaders.clone();
        leaders.sort_by_key(|&i| (ensemble.nodes[i].sid, i));
        let cuts: Vec<Value> = verdict
            .unreachable
            .iter()
            .map(|&(a, b)| {
                let (reason, detail) = self.cut_reason(a, b);
                let mut pair = [self.name(a), self.name(b)];
                pair.sort();
                json!({"nodes": pair, "reason": reason, "detail": detail})
            })
            .collect();
        let nodes: Vec<Value> = ensemble
            .nodes
            .iter()
            .enumerate()
            .map(|(i, n)| {
                json!({
                    "name": n.name,
                    "sid": n.sid,
                    "addr": n.addr.to_string(),
                    "services": n.aliases.iter().map(ToString::to_string).collect::<Vec<_>>(),
                    "up": n.up,
                    "voter": ensemble.is_voter(i),
                    "view": self.state.view_names[i],
                    "view_voters": n.view.participant_count(),
                    "view_majority": n.view.majority(),
                    "listen_all": n.listen_all,
                })
            })
            .collect();
        let report = json!({
            "file": self.path.display().to_string(),
            "zookeeper": ensemble.version.to_string(),
            "version_from_file": self.state.version_from_file,
            "dial_back": if ensemble.version.dials_back_from_own_view() {
                "own-view"
            } else {
                "advertised-address"
            },
            "quorum_possible": verdict.quorum_possible,
            "split_brain_possible": verdict.split_brain.is_some(),
            "separate_ensembles": verdict
                .ensembles
                .iter()
                .map(|members| self.names(members))
                .collect::<Vec<_>>(),
            "witness": witness,
            "stop_one_to_prevent_split_brain": self.names(&self.stop_one_prevents),
            "duplicate_sids": verdict
                .duplicate_sids
                .iter()
                .map(|group| self.names(group))
                .collect::<Vec<_>>(),
            "hollow_leaders": self.names(&verdict.hollow_leaders),
            "brief_leaders": self.names(&verdict.brief_leaders),
            "possible_leaders": self.names(&leaders),
            "smallest_quorums": verdict
                .smallest_quorums
                .iter()
                .map(|q| self.quorum_json(q))
                .collect::<Vec<_>>(),
            "unreachable": self.unreachable_names(),
            "cuts": cuts,
            "findings": self.findings(),
            "exits_at_start": self.names(&verdict.exits_at_start),
            "listen_all_unknown": self.names(&verdict.listen_all_unknown),
            "misadvertised": verdict.misadvertised.iter().map(|a| json!({
                "node": self.name(a.node),
                "advertises": addrs(&a.addrs),
                "reaches": a.reaches.map(|r| self.name(r)),
            })).collect::<Vec<_>>(),
            "stalls": verdict.stalls.iter().map(|s| json!({
                "leader": self.name(s.leader),
                "cannot_follow": self.names(&s.cannot_follow),
            })).collect::<Vec<_>>(),
            "nodes": nodes,
        });
        format!("{report:#}\n")
    }

    /// The verdict in words an operator can act on.
    pub fn text(&self) -> String {
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = self.write_text(&mut out);
        out
    }

    fn write_text(&self, out: &mut String) -> std::fmt::Result {
        let ensemble = &self.state.ensemble;
        let verdict = &self.verdict;
        writeln!(out, "State: {}", self.path.display())?;
        writeln!(out, "Rules: {}", self.rule())?;
        writeln!(out)?;
        writeln!(out, "Nodes:")?;
        let width = ensemble
            .nodes
            .iter()
            .map(|n| n.name.len())
            .max()
            .unwrap_or(0);
        for (i, n) in ensemble.nodes.iter().enumerate() {
            let state = if n.up { "up" } else { "down" };
            let votes = if !n.up {
                String::new()
            } else if ensemble.is_voter(i) {
                format!(
                    ": majority {} of {} voters",
                    n.view.majority(),
                    n.view.participant_count()
                )
            } else {
                ": never votes (not a participant in it)".to_string()
            };
            writeln!(
                out,
                "  {:width$}  sid {:<3} {:<22} {state:<5} {}{votes}",
                n.name,
                n.sid,
                n.addr.to_string(),
                self.view_label(i),
            )?;
            if !n.aliases.is_empty() {
                let services: Vec<String> = n.aliases.iter().map(ToString::to_string).collect();
                writeln!(
                    out,
                    "  {:width$}  behind service {}",
                    "",
                    services.join(", ")
                )?;
            }
        }
        writeln!(out)?;

        writeln!(out, "Findings:")?;
        for finding in self.findings() {
            writeln!(out, "  {} {}", finding.severity.mark(), finding.text)?;
        }
        writeln!(out)?;

        if !verdict.ensembles.is_empty() {
            let groups: Vec<String> = verdict
                .ensembles
                .iter()
                .map(|members| format!("{{{}}}", self.names(members).join(", ")))
                .collect();
            writeln!(
                out,
                "Separate ensembles (no view in one names a server of another): {}",
                groups.join(" and ")
            )?;
        }
        match &verdict.split_brain {
            Some(w) => {
                writeln!(
                    out,
                    "SPLIT BRAIN POSSIBLE: two leaders can be elected at the same time."
                )?;
                for quorum in [&w.a, &w.b] {
                    self.write_quorum(out, quorum)?;
                }
                if !self.stop_one_prevents.is_empty() {
                    writeln!(
                        out,
                        "  Stopping any one of {} (and keeping it down until every view agrees) \
                         removes this risk.",
                        self.names(&self.stop_one_prevents).join(", ")
                    )?;
                }
            }
            None if verdict.quorum_possible && !verdict.ensembles.is_empty() => writeln!(
                out,
                "No split brain: each ensemble can form its quorum, and within each every two \
                 quorums share a node."
            )?,
            None if verdict.quorum_possible => writeln!(
                out,
                "No split brain: every two quorums that can form share a node, so at most one \
                 leader is elected."
            )?,
            None => {
                writeln!(
                    out,
                    "NO QUORUM CAN FORM: no voter can be elected by a majority of its voters' views \
                     and then count, by server id, a majority of its own view among voters that \
                     can follow it. The ensemble cannot serve writes."
                )?;
                self.write_reach(out)?;
            }
        }

        for group in &verdict.duplicate_sids {
            writeln!(
                out,
                "DUPLICATE SERVER ID: {} run with sid {}: every peer keeps one election \
                 connection per sid and may count either, so each can be part of its own majority.",
                self.names(group).join(" and "),
                ensemble.nodes[group[0]].sid
            )?;
        }
        if !verdict.hollow_leaders.is_empty() {
            writeln!(
                out,
                "HOLLOW LEADER POSSIBLE: {} can be elected only by counting a server that runs as \
                 an observer (its sid is a voter in the leader's view); it would answer as leader \
                 and never commit a write.",
                self.names(&verdict.hollow_leaders).join(", ")
            )?;
        }

        if !verdict.smallest_quorums.is_empty() {
            writeln!(out)?;
            writeln!(
                out,
                "Possible leaders, each with the smallest quorum it can lead:"
            )?;
            let mut quorums: Vec<&Quorum> = verdict.smallest_quorums.iter().collect();
            quorums.sort_by_key(|q| (ensemble.nodes[q.leader].sid, q.leader));
            for q in quorums {
                let brief = if verdict.brief_leaders.contains(&q.leader) {
                    " (only until the servers that exit at start have exited)"
                } else {
                    ""
                };
                writeln!(
                    out,
                    "  {} (sid {}): {}{brief}",
                    self.name(q.leader),
                    ensemble.nodes[q.leader].sid,
                    self.names(&q.members).join(", ")
                )?;
            }
        }

        writeln!(out)?;
        if verdict.unreachable.is_empty() {
            writeln!(out, "Every pair of up nodes can talk.")?;
        } else {
            writeln!(out, "Pairs that cannot talk:")?;
            let mut lines: Vec<(String, String)> = verdict
                .unreachable
                .iter()
                .map(|&(a, b)| {
                    let mut pair = [self.name(a), self.name(b)];
                    pair.sort();
                    (
                        format!("{} - {}", pair[0], pair[1]),
                        self.cut_reason(a, b).1,
                    )
                })
                .collect();
            lines.sort();
            for (pair, why) in lines {
                writeln!(out, "  {pair}: {why}")?;
            }
        }
        Ok(())
    }

    /// For each voter, the most it could count: the up voters it reaches and counts.
    fn write_reach(&self, out: &mut String) -> std::fmt::Result {
        let ensemble = &self.state.ensemble;
        let voters: Vec<usize> = (0..ensemble.nodes.len())
            .filter(|&i| ensemble.is_voter(i))
            .collect();
        for &i in &voters {
            let reach: Vec<usize> = voters
                .iter()
                .copied()
                .filter(|&j| ensemble.counts(i, j) && ensemble.cut(i, j).is_none())
                .collect();
            let view = &ensemble.nodes[i].view;
            writeln!(
                out,
                "  {} reaches and counts {}: {} of the {} voters of {} (majority {})",
                self.name(i),
                self.names(&reach).join(", "),
                reach.len(),
                view.participant_count(),
                self.view_label(i),
                view.majority()
            )?;
        }
        Ok(())
    }

    fn write_quorum(&self, out: &mut String, quorum: &Quorum) -> std::fmt::Result {
        let ensemble = &self.state.ensemble;
        let leader = quorum.leader;
        let view = &ensemble.nodes[leader].view;
        let mut counted: Vec<u64> = quorum
            .members
            .iter()
            .map(|&i| ensemble.nodes[i].sid)
            .filter(|&sid| view.is_participant(sid))
            .collect();
        counted.sort_unstable();
        counted.dedup();
        writeln!(
            out,
            "  {} (sid {}) can lead {}: it counts {} of the {} voters of {} (majority {})",
            self.name(leader),
            ensemble.nodes[leader].sid,
            self.names(&quorum.members).join(", "),
            counted.len(),
            view.participant_count(),
            self.view_label(leader),
            view.majority()
        )?;
        let followers: Vec<usize> = quorum
            .members
            .iter()
            .copied()
            .filter(|&i| i != leader)
            .collect();
        if !followers.is_empty() {
            writeln!(
                out,
                "    {} can each vote it in (their views list it as a voter and a majority of \
                 their voters can propose it) and reach it at the address their own view gives",
                self.names(&followers).join(", ")
            )?;
        }
        Ok(())
    }
}
