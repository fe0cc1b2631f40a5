//! The order found, written as an ordinary runbook in the shipped format, each step explained
//! from the analyzer's verdicts on the states it passes through.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

use super::model::{free_name, Fate, Problem, Slot, ViewKey};
use super::search::{start_slots, through, Found, Judge, Move, MoveKind, Proof};
use super::SynthError;
use crate::quorum::{Ensemble, Verdict};
use crate::text::escape;
use crate::zk::config::PeerRole;

/// Where the runbook came from, for its header.
pub struct Origin<'a> {
    pub state_path: &'a str,
    pub state_sha256: &'a str,
    pub target_path: &'a str,
    pub target_sha256: &'a str,
    pub version_from: &'a str,
    pub leader: Option<&'a str>,
    pub max_states: usize,
    pub output: Option<&'a str>,
}

/// A YAML scalar that reads back as exactly `text`: a JSON string is a YAML double-quoted one.
pub(super) fn q(text: &str) -> String {
    serde_json::Value::String(text.to_string()).to_string()
}

/// Text the operator typed (paths, names) on one line of a comment or a block scalar: a line
/// break in it would end the comment and start YAML of its own.
fn one_line(text: &str) -> String {
    escape::escape_in_document(text, false)
}

pub fn runbook(judge: &mut Judge, found: &Found, origin: &Origin) -> Result<String, SynthError> {
    let problem = judge.problem;
    let mut out = String::new();
    header(&mut out, problem, found, origin);

    let leaving: Vec<&str> = problem
        .hosts
        .iter()
        .filter(|h| h.fate == Fate::Leaves)
        .map(|h| h.name.as_str())
        .collect();
    let _ = writeln!(out, "name: synthesized");
    let _ = writeln!(out, "description: |");
    let _ = writeln!(
        out,
        "  Synthesized by `zkpilot synthesize` from the state {} to the target {}, on ZooKeeper {} rules.",
        one_line(origin.state_path),
        one_line(origin.target_path),
        problem.version
    );
    let _ = writeln!(
        out,
        "  {} steps, {} restarts; every state it passes through, each restarting server's down time",
        found.cost.steps, found.cost.restarts
    );
    let _ = writeln!(
        out,
        "  included, keeps a working quorum possible and two impossible, whoever leads, and lets every"
    );
    let _ = writeln!(
        out,
        "  running server follow whichever leader can be elected."
    );
    if !leaving.is_empty() {
        let _ = writeln!(
            out,
            "  Leaving the ensemble: {}.",
            one_line(&leaving.join(", "))
        );
    }
    let _ = writeln!(
        out,
        "source: {}",
        q(&format!(
            "zkpilot synthesize --state {} --target {}",
            origin.state_path, origin.target_path
        ))
    );

    let _ = writeln!(out, "hosts:");
    for host in &problem.hosts {
        let note = match host.fate {
            Fate::Stays => None,
            Fate::Leaves => Some("leaves the ensemble".to_string()),
            Fate::Replaces(old) => Some(format!(
                "takes over {}'s server id, empty",
                problem.hosts[old].name
            )),
            Fate::Joins => Some(format!("a new server with id {}", host.sid)),
        };
        let is_new = matches!(host.fate, Fate::Replaces(_) | Fate::Joins);
        let _ = write!(out, "  - {{name: {}", q(&host.name));
        if is_new {
            let _ = write!(out, ", role: spare");
        }
        if let Some(note) = note {
            let _ = write!(out, ", note: {}", q(&note));
        }
        let _ = writeln!(out, "}}");
    }

    // Every view a host runs with at some point, by name.
    let start = start_slots(problem);
    let mut used: BTreeMap<String, ViewKey> = BTreeMap::new();
    for slot in &start {
        if let Slot::Up(key) = slot {
            used.insert(problem.view_name(*key), *key);
        }
    }
    for m in &found.moves {
        if let Some(key) = m.view {
            used.insert(problem.view_name(key), key);
        }
    }
    let _ = writeln!(out, "views:");
    for (name, key) in &used {
        let members = view_members(problem, *key)?;
        let _ = writeln!(out, "  {}: [{}]", q(name), members.join(", "));
    }

    let _ = writeln!(out, "initial:");
    let up: Vec<String> = problem
        .hosts
        .iter()
        .zip(&start)
        .filter(|(_, s)| matches!(s, Slot::Up(_)))
        .map(|(h, _)| q(&h.name))
        .collect();
    let _ = writeln!(out, "  up: [{}]", up.join(", "));
    let _ = writeln!(out, "  views:");
    for (host, slot) in problem.hosts.iter().zip(&start) {
        if let Slot::Up(key) = slot {
            let _ = writeln!(
                out,
                "    {}: {}",
                q(&host.name),
                q(&problem.view_name(*key))
            );
        }
    }

    let _ = writeln!(out, "steps:");
    let mut slots = start;
    let mut ids: BTreeSet<String> = BTreeSet::new();
    for m in &found.moves {
        step(&mut out, judge, &slots, *m, &mut ids);
        if let Some(after) = through(problem, &slots, *m).pop() {
            slots = after;
        }
    }
    Ok(out)
}

fn header(out: &mut String, problem: &Problem, found: &Found, origin: &Origin) {
    let _ = writeln!(
        out,
        "# Synthesized by `zkpilot synthesize`: edit by synthesizing again."
    );
    let _ = writeln!(
        out,
        "# State:  {} (sha256 {})",
        one_line(origin.state_path),
        origin.state_sha256
    );
    let _ = writeln!(
        out,
        "# Target: {} (sha256 {})",
        one_line(origin.target_path),
        origin.target_sha256
    );
    let _ = writeln!(
        out,
        "# Rules:  ZooKeeper {} ({})",
        problem.version, origin.version_from
    );
    let _ = writeln!(
        out,
        "# Objective, in order: fewest states where an election can stall (a server too few can follow wins, a hollow leader, or one a running server cannot follow); the live leader ({}) restarted last; fewest restarts; fewest steps; fewest states on a bare majority (no voter to spare).",
        one_line(origin.leader.unwrap_or("not given"))
    );
    let proof = match found.proof {
        Proof::Minimal => "no order of the model's moves costs less (proven)".to_string(),
        Proof::MinimalBeforeTies { bare_at_least } => format!(
            "the exact search hit its bound with the objective proven: no order has fewer stall states, fewer of today's servers disrupted after the leader, fewer restarts or fewer steps; of the bare-majority tie-break, {}",
            super::tie_break(bare_at_least, found.cost.thin)
        ),
        Proof::BestFound {
            lower_bound,
            restarts_at_least,
            restarts_exact,
        } => format!(
            "the exact search hit its bound; this is the best order the searches past it found (ids taken over in batches; before 3.5 also the order searched on 3.5 rules, replayed step by step on these). Proven: no order with fewer than {} exists{}; in the objective's order no order ranks above {} stall states, {} of today's servers disrupted after the leader, {} restarts",
            super::restarts(restarts_at_least),
            if restarts_exact { " (one with that many does)" } else { "" },
            lower_bound.stalls,
            lower_bound.after_leader,
            lower_bound.restarts
        ),
    };
    let _ = writeln!(
        out,
        "# Search: A* over per-server states (down, gone, up on a view), bound {} states, {} expanded; {proof}.",
        origin.max_states, found.expanded
    );
    let _ = writeln!(
        out,
        "# Result: {} steps, {} restarts, {} states where an election can stall, {} of today's servers disrupted after the leader, {} states on a bare majority.",
        found.cost.steps, found.cost.restarts, found.cost.stalls, found.cost.after_leader, found.cost.thin
    );
    let mut again = format!(
        "zkpilot synthesize --state {} --target {}",
        origin.state_path, origin.target_path
    );
    if let Some(leader) = origin.leader {
        let _ = write!(again, " --leader {leader}");
    }
    if let Some(output) = origin.output {
        let _ = write!(again, " -o {output}");
    }
    let _ = writeln!(out, "# Reproduce: {}", one_line(&again));
}

/// A view's members in the runbook's terms: hosts, with the sid a new host takes over, the
/// role, or the stale address a line still gives.
fn view_members(problem: &Problem, key: ViewKey) -> Result<Vec<String>, SynthError> {
    let view = problem.view(key);
    let mut members = Vec::new();
    for line in view.servers() {
        let observer = if line.role == PeerRole::Observer {
            ", observer: true"
        } else {
            ""
        };
        if let Some(s) = problem.service_named(key, line.sid) {
            // The id by the service made for the state node that runs it today: the runbook
            // resolves the address from the inventory's service serving that node.
            members.push(format!(
                "{{host: {}, service: true{observer}}}",
                q(problem.service_name(s))
            ));
            continue;
        }
        let at_home = problem
            .hosts
            .iter()
            .find(|h| h.sid == line.sid && line.has_addr(&h.addr));
        let member = match at_home {
            Some(host) => match host.fate {
                Fate::Replaces(old) => format!(
                    "{{host: {}, sid_of: {}{observer}}}",
                    q(&host.name),
                    q(&problem.hosts[old].name)
                ),
                Fate::Joins => format!("{{host: {}, sid: {}{observer}}}", q(&host.name), host.sid),
                Fate::Stays | Fate::Leaves => format!("{{host: {}{observer}}}", q(&host.name)),
            },
            None => {
                // A stale line kept from today's view: the server with that id, at the
                // address the line gives.
                let owner = problem
                    .hosts
                    .iter()
                    .find(|h| h.sid == line.sid && matches!(h.fate, Fate::Stays | Fate::Leaves))
                    .ok_or_else(|| {
                        SynthError::Unsupported(format!(
                            "view `{}` lists server.{} at {}, which no node of the state runs: add that server to the state as a node (up: false)",
                            problem.view_name(key),
                            line.sid,
                            line.primary_addr()
                        ))
                    })?;
                format!(
                    "{{host: {}, peer: {}{observer}}}",
                    q(&owner.name),
                    q(&line.primary_addr().to_string())
                )
            }
        };
        members.push(member);
    }
    Ok(members)
}

fn step(out: &mut String, judge: &mut Judge, before: &[Slot], m: Move, ids: &mut BTreeSet<String>) {
    let problem = judge.problem;
    let host = &problem.hosts[m.host];
    let name = q(&host.name);
    let view_name = m.view.map(|v| problem.view_name(v)).unwrap_or_default();
    let verb = match m.kind {
        MoveKind::Start => "start",
        MoveKind::Restart => "restart",
        MoveKind::Stop => "stop",
        MoveKind::Point { .. } => "point",
    };
    let base = match m.kind {
        MoveKind::Point { service } => format!(
            "point-{}-service-at-{}",
            slug(problem.service_name(service)),
            slug(&host.name)
        ),
        _ => format!("{verb}-{}", slug(&host.name)),
    };
    // Unique among every id so far, not only this host's: `restart-s-2` is S's second restart
    // and also the first of a host named `s-2`.
    let id = free_name(&base, |id| ids.contains(id));
    ids.insert(id.clone());
    let title = match (m.kind, host.fate) {
        (MoveKind::Point { service }, _) => format!(
            "Point {}'s service at {}",
            problem.service_name(service),
            host.name
        ),
        (MoveKind::Stop, _) => match handed_on(problem, m.host) {
            Some((_, to)) => format!(
                "Stop {}, which leaves the ensemble, and point its service at {}",
                host.name, problem.hosts[to].name
            ),
            None => format!("Stop {}, which leaves the ensemble", host.name),
        },
        (MoveKind::Start, Fate::Replaces(old)) => format!(
            "Start {} with {}'s id {} on `{view_name}`",
            host.name, problem.hosts[old].name, host.sid
        ),
        (MoveKind::Start, _) => format!("Start {} on `{view_name}`", host.name),
        (MoveKind::Restart, _) => format!("Restart {} on `{view_name}`", host.name),
    };
    let _ = writeln!(out, "  - id: {}", q(&id));
    let _ = writeln!(out, "    title: {}", q(&title));
    let _ = writeln!(out, "    explain: |");
    // Names and addresses go into the block as text: a line break YAML knows and `lines` does
    // not (U+2028, U+0085) would end the block and start keys of its own.
    for line in explain(judge, before, m).lines() {
        let _ = writeln!(out, "      {}", one_line(line));
    }
    let _ = writeln!(out, "    gates:");
    let _ = writeln!(out, "      - synced: {{}}");
    if m.kind == MoveKind::Start {
        if let Fate::Replaces(old) = host.fate {
            let _ = writeln!(
                out,
                "      - down: {{host: {}}}",
                q(&problem.hosts[old].name)
            );
        }
        let _ = writeln!(out, "      - down: {{host: {name}}}");
        if matches!(host.fate, Fate::Replaces(_)) {
            let _ = writeln!(out, "      - check: {{host: {name}, verb: data-empty}}");
        }
    }
    let _ = writeln!(out, "    run:");
    match (m.kind, host.fate) {
        (MoveKind::Point { service }, _) => {
            let serves = problem.services[service].serves;
            point_service(out, problem, serves, m.host);
            let _ = writeln!(out, "    effect:");
            let _ = writeln!(
                out,
                "      - route: {{service: {}, to: {name}}}",
                q(&problem.hosts[serves].name)
            );
            return;
        }
        (MoveKind::Stop, _) => {
            let _ = writeln!(out, "      - {{host: {name}, verb: stop}}");
            if let Some((_, to)) = handed_on(problem, m.host) {
                point_service(out, problem, m.host, to);
            }
        }
        (kind, fate) => {
            if kind == MoveKind::Start {
                match fate {
                    Fate::Replaces(old) => {
                        let _ = writeln!(
                            out,
                            "      - {{host: {name}, verb: set-myid, args: [{}]}}",
                            q(&format!("${{host:{}.sid}}", problem.hosts[old].name))
                        );
                    }
                    Fate::Joins => {
                        let _ = writeln!(
                            out,
                            "      - {{host: {name}, verb: set-myid, args: [\"{}\"]}}",
                            host.sid
                        );
                    }
                    Fate::Stays | Fate::Leaves => {}
                }
            }
            let _ = writeln!(
                out,
                "      - {{host: {name}, verb: set-servers, args: [{}]}}",
                q(&format!("${{view:{view_name}}}"))
            );
            // Its own line names its service, an address no interface of its own holds: it
            // must listen on all of them (`QuorumCnxManager.Listener` binds its own line's
            // address otherwise, fails, and the server exits).
            if m.view
                .is_some_and(|v| problem.service_named(v, host.sid).is_some())
            {
                let _ = writeln!(
                    out,
                    "      - {{host: {name}, verb: set-option, args: [\"quorumListenOnAllIPs=true\"]}}"
                );
            }
            let _ = writeln!(out, "      - {{host: {name}, verb: {verb}}}");
        }
    }
    let _ = writeln!(out, "    effect:");
    match m.kind {
        MoveKind::Stop => {
            let _ = writeln!(out, "      - stop: {{host: {name}}}");
            if let Some((_, to)) = handed_on(problem, m.host) {
                let _ = writeln!(
                    out,
                    "      - route: {{service: {name}, to: {}}}",
                    q(&problem.hosts[to].name)
                );
            }
        }
        _ => {
            let _ = writeln!(
                out,
                "      - {verb}: {{host: {name}, view: {}}}",
                q(&view_name)
            );
        }
    }
    let _ = writeln!(out, "    wait:");
    match m.kind {
        MoveKind::Stop => {
            let _ = writeln!(out, "      timeout: 60s");
            let _ = writeln!(out, "      until:");
            let _ = writeln!(out, "        - down: {{host: {name}}}");
        }
        _ => {
            let observer = m
                .view
                .map(|v| problem.view(v))
                .and_then(|v| v.server(host.sid).map(|l| l.role == PeerRole::Observer))
                .unwrap_or(false);
            let _ = writeln!(out, "      timeout: 90s");
            let _ = writeln!(out, "      until:");
            let modes = if observer {
                "[observer]"
            } else {
                "[follower, leader]"
            };
            let _ = writeln!(out, "        - mode: {{host: {name}, is: {modes}}}");
        }
    }
    let _ = writeln!(out, "        - synced: {{}}");
}

/// The service made for `host` that its stop hands on, and the host that takes its id over.
fn handed_on(problem: &Problem, host: usize) -> Option<(usize, usize)> {
    problem
        .services
        .iter()
        .position(|s| s.serves == host && s.end != host)
        .map(|s| (s, problem.services[s].end))
}

/// The command that points the service made for `serves` at `to`: the verb runs on `to`, as
/// the Kubernetes runbook's does.
fn point_service(out: &mut String, problem: &Problem, serves: usize, to: usize) {
    let _ = writeln!(
        out,
        "      - {{host: {}, verb: point-service, args: [{}, {}]}}",
        q(&problem.hosts[to].name),
        q(&format!(
            "${{service:{}.address}}",
            problem.hosts[serves].name
        )),
        q(&format!("${{host:{}.address}}", problem.hosts[to].name))
    );
}

/// Why two quorums cannot form, per pair of views the running servers use, in counts an
/// operator can check: a leader on a view counts only servers whose ids that view lists as
/// voters, so two disjoint quorums of views A and B need A's majority plus B's from the running
/// servers either counts. Where the counts alone do not settle it, the analyzer's verdict does
/// (no two possible leaders hold disjoint majorities), and the sentence says so.
fn two_cannot(
    problem: &Problem,
    ensemble: &Ensemble,
    groups: &[(ViewKey, Vec<&str>)],
) -> Vec<String> {
    let running: Vec<(u64, &str)> = ensemble
        .nodes
        .iter()
        .filter(|n| n.up)
        .map(|n| (n.sid, n.name.as_str()))
        .collect();
    let views: Vec<(String, crate::zk::config::View)> = groups
        .iter()
        .map(|(key, _)| (problem.view_name(*key), problem.view(*key)))
        .collect();
    if let [(name, view)] = views.as_slice() {
        return vec![format!(
            "Two cannot: every running server is on `{name}`, and any two majorities of its {} voters share a server.",
            view.participant_count()
        )];
    }
    let mut out = Vec::new();
    for (i, (a, va)) in views.iter().enumerate() {
        for (b, vb) in &views[i + 1..] {
            let counted: Vec<&str> = running
                .iter()
                .filter(|(sid, _)| va.is_participant(*sid) || vb.is_participant(*sid))
                .map(|(_, name)| *name)
                .collect();
            let (ma, mb) = (va.majority(), vb.majority());
            out.push(if counted.len() < ma + mb {
                format!(
                    "Two cannot: a majority of `{a}` ({ma} of {}) and one of `{b}` ({mb} of {}) would need {} different servers, and only {} of the servers either counts run ({}).",
                    va.participant_count(),
                    vb.participant_count(),
                    ma + mb,
                    counted.len(),
                    counted.join(", ")
                )
            } else {
                format!(
                    "Two cannot: `{a}` and `{b}` could each count a majority from the {} running servers they count ({}), but no two of the possible leaders above can each hold one from servers the other does not hold.",
                    counted.len(),
                    counted.join(", ")
                )
            });
        }
    }
    out
}

/// A step id from a host name: letters, digits and dashes.
fn slug(name: &str) -> String {
    name.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect()
}

/// What the operator can check about a step: the states it passes through, in the analyzer's
/// terms.
fn explain(judge: &mut Judge, before: &[Slot], m: Move) -> String {
    let problem = judge.problem;
    let host = &problem.hosts[m.host];
    let mut text = String::new();
    match (m.kind, host.fate) {
        (MoveKind::Point { service: s }, _) => {
            let service = &problem.services[s];
            let _ = writeln!(
                text,
                "{}'s service ({}) forwards to {} from now on: every view that names server.{} by the service reaches {}.",
                problem.service_name(s), service.addr.host, host.name, service.sid, host.name
            );
        }
        (MoveKind::Stop, _) => {
            let _ = writeln!(
                text,
                "{} leaves the ensemble and does not come back.",
                host.name
            );
            if let Some((service, to)) = handed_on(problem, m.host) {
                let _ = writeln!(
                    text,
                    "Its service ({}) forwards to {} from now on, ready for it to take id {} over; repointed while {} ran, it would have taken its address from under it.",
                    problem.services[service].addr.host, problem.hosts[to].name, host.sid, host.name
                );
            }
        }
        (MoveKind::Start, Fate::Replaces(old)) => {
            let _ = writeln!(
                text,
                "{} has stopped, so its id {} is free: {} takes it over, starting with an empty data directory, and syncs from the leader.",
                problem.hosts[old].name, host.sid, host.name
            );
        }
        (MoveKind::Start, _) => {
            let _ = writeln!(text, "{} starts and syncs from the leader.", host.name);
        }
        (MoveKind::Restart, _) => {}
    }
    let phases = through(problem, before, m);
    for (i, phase) in phases.iter().enumerate() {
        let moment = if i + 1 == phases.len() {
            "After the step".to_string()
        } else {
            format!("While {} is down", host.name)
        };
        let ensemble = judge.ensemble(phase);
        match ensemble.verdict() {
            Ok(verdict) => describe(&mut text, problem, &ensemble, &verdict, phase, &moment),
            Err(e) => {
                let _ = writeln!(text, "{moment}: the analyzer refused the state: {e}.");
            }
        }
    }
    text
}

fn describe(
    text: &mut String,
    problem: &Problem,
    ensemble: &Ensemble,
    verdict: &Verdict,
    slots: &[Slot],
    moment: &str,
) {
    let name = |i: usize| ensemble.nodes[i].name.as_str();
    let mut groups: Vec<(ViewKey, Vec<&str>)> = Vec::new();
    for (h, slot) in slots.iter().enumerate() {
        if let Slot::Up(key) = slot {
            match groups.iter_mut().find(|(k, _)| k == key) {
                Some((_, hosts)) => hosts.push(name(h)),
                None => groups.push((*key, vec![name(h)])),
            }
        }
    }
    let runs: Vec<String> = groups
        .iter()
        .map(|(key, hosts)| {
            let view = problem.view(*key);
            format!(
                "{} on `{}` ({} voters, a quorum is {})",
                hosts.join(", "),
                problem.view_name(*key),
                view.participant_count(),
                view.majority()
            )
        })
        .collect();
    let _ = writeln!(text, "{moment}, running: {}.", runs.join("; "));
    let leaders: Vec<String> = verdict
        .possible_leaders
        .iter()
        .zip(&verdict.smallest_quorums)
        .map(|(&l, quorum)| {
            let members: Vec<&str> = quorum.members.iter().map(|&i| name(i)).collect();
            format!("{} with {{{}}}", name(l), members.join(", "))
        })
        .collect();
    let _ = writeln!(
        text,
        "  A working quorum can form: possible leaders {}.",
        leaders.join("; ")
    );
    for reason in two_cannot(problem, ensemble, &groups) {
        let _ = writeln!(text, "  {reason}");
    }
    let cut: Vec<String> = verdict
        .unreachable
        .iter()
        .map(|&(a, b)| format!("{}-{}", name(a), name(b)))
        .collect();
    if !cut.is_empty() {
        let _ = writeln!(
            text,
            "  Pairs without an election connection ({}): {}.",
            if problem.version.dials_back_from_own_view() {
                "before 3.5 the larger id dials back at the address its own view gives"
            } else {
                "neither view gives the other's real address"
            },
            cut.join(", ")
        );
    }
    if !verdict.hollow_leaders.is_empty() {
        let hollow: Vec<&str> = verdict.hollow_leaders.iter().map(|&i| name(i)).collect();
        let _ = writeln!(
            text,
            "  An election may stall: {} can lead only by counting an observer and would commit nothing.",
            hollow.join(", ")
        );
    }
    for stall in &verdict.stalls {
        let cannot: Vec<&str> = stall.cannot_follow.iter().map(|&i| name(i)).collect();
        let why = if cannot.is_empty() {
            String::new()
        } else {
            format!(
                " ({} would vote for it, but their views do not give its id at its address)",
                cannot.join(", ")
            )
        };
        let _ = writeln!(
            text,
            "  An election may stall: {} can win one, and too few voters can follow it to make a quorum{why}; a round it wins leaves no serving leader until its initLimit passes.",
            name(stall.leader),
        );
    }
    for strand in &verdict.strandable {
        let _ = writeln!(
            text,
            "  {server} may be left out while {leader} leads: it joins {leader} only in the round that elects it, as too few of its view can follow {leader} for it to join later; the sync gate does not wait for it then, and it joins once it restarts or the servers it counts can follow {leader}.",
            server = name(strand.server),
            leader = name(strand.leader),
        );
    }
}
