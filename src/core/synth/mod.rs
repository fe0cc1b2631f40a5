//! `zkpilot synthesize` (pure): from an ensemble as it is (a state file) and as it should be
//! (a target), a search for the order of starts, restarts and stops that gets there with every
//! state on the way judged safe by the analyzer, written out as an ordinary runbook.
//!
//! - `target`: the target file.
//! - `model`: hosts, their fate, the memberships views are built from, the analyzer's input.
//! - `search`: A* over per-server states with safe-state pruning, and why it fails when it does.
//! - `emit`: the runbook text, every step explained from the analyzer's verdicts.
//! - `live`: the state file of a polled ensemble, for `synthesize --inventory`.
//!
//! `docs/synthesize.md` describes the model, the objective and the limits. Pure: the caller
//! reads the files and prints.

pub mod emit;
mod fast_hash;
#[cfg(any(test, feature = "testing"))]
pub mod fixtures;
pub mod live;
pub mod model;
pub mod search;
pub mod symmetry;
pub mod target;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::Path;

use sha2::{Digest, Sha256};

use crate::inventory::{HostRole, Inventory, VerbCommand};
use crate::runbook::plan::Plan;
use crate::runbook::procedure::{Effect, Procedure};
use crate::text::yaml::{self, YamlError};
use model::{Fate, Problem, Slot};
use search::{Bound, Found, Judge, Move, MoveKind, Proof, Refusal, Rule, Stuck};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SynthError {
    /// A file that does not load, with its line and column.
    #[error("{0}")]
    Input(#[from] YamlError),
    /// A target entry (of `servers` or `services`) that contradicts the state (converted to
    /// `Input` with its position).
    #[error("target {list} {index}: {message}")]
    Target {
        list: &'static str,
        index: usize,
        message: String,
    },
    /// What a whole list of the target lacks (converted to `Input` at the list, or at the top
    /// when the target has no such list).
    #[error("target {list}: {message}")]
    TargetList { list: &'static str, message: String },
    /// A node of the state the synthesizer cannot write into a runbook (converted to `Input`
    /// at the node's field in the state file).
    #[error("state node {index} {field}: {message}")]
    StateNode {
        index: usize,
        field: &'static str,
        message: String,
    },
    /// Something the synthesizer does not model yet.
    #[error("{0}")]
    Unsupported(String),
    /// The rules cannot reach the target: the reason names the blocking state.
    #[error("{0}")]
    Unreachable(String),
    /// The search stopped at its bound before it found any order: the target may still be
    /// reachable.
    #[error("{0}")]
    GaveUp(String),
}

const HIDDEN_IN_NAME: &str = "a name the runbook is to carry is visible characters only: no \
                              control, bidi or zero-width character";

/// What `synthesize` is asked.
pub struct Request<'a> {
    pub state_text: &'a str,
    pub state_path: &'a Path,
    pub target_text: &'a str,
    pub target_path: &'a Path,
    /// The live leader, when known: restarted last.
    pub leader: Option<&'a str>,
    pub bound: Bound,
    /// Where the runbook is written, for the header's line that reproduces it.
    pub output: Option<&'a str>,
}

#[derive(Debug, Clone)]
pub struct Synthesis {
    pub problem: Problem,
    pub found: Found,
    /// The runbook's text, header comment first.
    pub runbook: String,
    /// States the analyzer judged.
    pub judged: usize,
}

pub fn synthesize(request: &Request) -> Result<Synthesis, SynthError> {
    let state = crate::analyze::load(request.state_text, request.state_path)?;
    let at_node = |index: usize, field: &str, message: String| {
        SynthError::Input(yaml::error_at(
            request.state_text,
            request.state_path,
            &["nodes", &index.to_string(), field],
            message,
        ))
    };
    // `analyze` shows any name, escaped; a runbook must bind each one to an inventory host,
    // whose names are plain, and its file would carry hidden characters to whoever reads it.
    if let Some(index) = state
        .ensemble
        .nodes
        .iter()
        .position(|n| !crate::text::escape::is_plain_name(&n.name))
    {
        return Err(at_node(index, "name", HIDDEN_IN_NAME.into()));
    }
    if let Some((index, name)) = state.view_names.iter().enumerate().find_map(|(i, v)| {
        v.as_deref()
            .filter(|name| !crate::text::escape::is_plain_name(name))
            .map(|name| (i, name))
    }) {
        return Err(SynthError::Input(yaml::error_at(
            request.state_text,
            request.state_path,
            &["views", name],
            format!("view of node {index}: {HIDDEN_IN_NAME}"),
        )));
    }
    let target = target::load(request.target_text, request.target_path)?;
    let problem = Problem::new(&state, &target, request.leader).map_err(|e| match e {
        SynthError::Target {
            list,
            index,
            message,
        } => SynthError::Input(yaml::error_at(
            request.target_text,
            request.target_path,
            &[list, &index.to_string()],
            message,
        )),
        SynthError::TargetList { list, message } => SynthError::Input(yaml::error_at(
            request.target_text,
            request.target_path,
            &[list],
            message,
        )),
        SynthError::StateNode {
            index,
            field,
            message,
        } => at_node(index, field, message),
        other => other,
    })?;
    let mut judge = Judge::new(&problem);
    let start = search::start_slots(&problem);
    let first = judge.judge(&start);
    if !first.safe {
        return Err(SynthError::Unreachable(format!(
            "the state itself is not safe: {}",
            hazard(&mut judge, &start)
        )));
    }
    let found = search::search(&mut judge, request.bound).map_err(|stuck| {
        let reason = unreachable(&mut judge, &stuck, request.bound);
        match stuck.gave_up {
            true => SynthError::GaveUp(reason),
            false => SynthError::Unreachable(reason),
        }
    })?;
    let state_path = request.state_path.display().to_string();
    let target_path = request.target_path.display().to_string();
    let origin = emit::Origin {
        state_path: &state_path,
        state_sha256: &sha256(request.state_text),
        target_path: &target_path,
        target_sha256: &sha256(request.target_text),
        version_from: if target.version.is_some() {
            "from the target"
        } else if state.version_from_file {
            "from the state"
        } else {
            "the newest known: neither file names a version"
        },
        leader: request.leader,
        max_states: request.bound.max_states,
        output: request.output,
    };
    let runbook = emit::runbook(&mut judge, &found, &origin)?;
    Ok(Synthesis {
        judged: judge.judged(),
        problem,
        found,
        runbook,
    })
}

fn sha256(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .fold(String::new(), |mut hex, byte| {
            let _ = write!(hex, "{byte:02x}");
            hex
        })
}

/// The reason a target cannot be reached, naming the state that blocks it and the rule.
fn unreachable(judge: &mut Judge, stuck: &Stuck, bound: Bound) -> String {
    let problem = judge.problem;
    let mut text = if stuck.gave_up {
        format!(
            "no order found within {} states (raise --max-states); the closest state reached",
            bound.max_states
        )
    } else {
        format!(
            "no order of starts, restarts and stops reaches the target on ZooKeeper {} rules ({} states searched); the closest state reached",
            problem.version, stuck.expanded
        )
    };
    let _ = write!(text, " is {}", describe_slots(problem, &stuck.slots));
    if stuck.refused.is_empty() {
        text.push_str(match stuck.gave_up {
            true => ", where the search stopped",
            false => ", and no move toward the target is left from it",
        });
    } else {
        text.push_str(", and each move toward the target from it is refused:");
        for (m, refusal) in &stuck.refused {
            let _ = write!(text, "\n- {}", refused(judge, *m, refusal));
        }
    }
    // The closest state is often refused for quorum alone, because the rule that closed the
    // other routes refused them earlier: name that rule where it did.
    let shown: Vec<Rule> = stuck.refused.iter().map(|(_, r)| r.rule).collect();
    let others: Vec<_> = stuck
        .blockers
        .iter()
        .filter(|(_, _, refusal)| !shown.contains(&refusal.rule))
        .collect();
    if !others.is_empty() {
        text.push_str("\nThe other routes are closed by these rules (the closest state where each refused a move toward the target):");
        for (from, m, refusal) in others {
            let _ = write!(
                text,
                "\n- from {}, {}",
                describe_slots(problem, from),
                refused(judge, *m, refusal)
            );
        }
    }
    let stalled = stuck
        .refused
        .iter()
        .map(|(_, r)| r)
        .chain(stuck.blockers.iter().map(|(_, _, r)| r))
        .any(|r| r.rule == Rule::Stall);
    // Advice only where it helps: some server of today stays and could lead instead.
    let stays = problem.hosts.iter().any(|h| h.fate == Fate::Stays);
    if let Some(l) = problem
        .leader
        .filter(|&l| stalled && stays && problem.hosts[l].fate == Fate::Leaves)
    {
        let _ = write!(
            text,
            "\nThe live leader {} leaves, and no step chooses who leads after it: the election picks the highest (epoch, zxid, sid) among the voters (`FastLeaderElection.totalOrderPredicate`). Once a server that stays leads, synthesize again with it as the leader.",
            problem.hosts[l].name
        );
    }
    text
}

/// One refused move in words: the move, the state that refuses it, and the rule.
fn refused(judge: &mut Judge, m: Move, refusal: &Refusal) -> String {
    let problem = judge.problem;
    let host = &problem.hosts[m.host].name;
    let what = match m.kind {
        MoveKind::Point { service } => format!(
            "pointing {}'s service at {host}",
            problem.service_name(service)
        ),
        MoveKind::Stop => format!("stopping {host}"),
        MoveKind::Start => format!("starting {host} on the target view"),
        MoveKind::Restart => format!("restarting {host} on the target view"),
    };
    let state = describe_slots(problem, &refusal.state);
    let leader = problem.leader.map(|l| problem.hosts[l].name.as_str());
    let why = match (refusal.rule, leader) {
        (Rule::Unsafe, _) => hazard(judge, &refusal.state),
        (Rule::LeaderUnfollowed, Some(leader)) => format!(
            "the live leader {leader} keeps leading (it has not been restarted or stopped, and a follower's restart starts no election), and {}",
            unfollowed(judge, &refusal.state, problem.leader)
        ),
        (Rule::CannotJoin, _) => format!(
            "{host} would hear from fewer than a majority of its own view's voters following the leader (only a server it has an election connection with is heard) and stay LOOKING (`FastLeaderElection.receivedFollowingNotification`)"
        ),
        (Rule::CannotServe, leader) => format!(
            "{}, and {} can follow no server that can be elected and cannot lead a quorum itself: whoever wins, it stays LOOKING (analyzer rule 18)",
            leader_gone(leader),
            idle(judge, &refusal.state)
        ),
        (_, leader) => format!(
            "{}, so any server that can be elected may lead: {}",
            leader_gone(leader),
            unfollowed(judge, &refusal.state, None)
        ),
    };
    format!("{what}: in the state {state}, {why}")
}

/// Why whoever wins may lead: the live leader was touched, or is not known.
fn leader_gone(leader: Option<&str>) -> String {
    match leader {
        Some(leader) => format!("the live leader {leader} has been restarted or stopped"),
        None => "the live leader is not known (--leader)".to_string(),
    }
}

fn describe_slots(problem: &Problem, slots: &[Slot]) -> String {
    let mut groups: Vec<(String, Vec<&str>)> = Vec::new();
    for (host, slot) in problem.hosts.iter().zip(slots) {
        if let Slot::Up(key) = slot {
            let name = problem.view_name(*key);
            match groups.iter_mut().find(|(v, _)| *v == name) {
                Some((_, hosts)) => hosts.push(&host.name),
                None => groups.push((name, vec![&host.name])),
            }
        }
    }
    let up: Vec<String> = groups
        .iter()
        .map(|(view, hosts)| format!("{} on `{view}`", hosts.join(", ")))
        .collect();
    let routes: Vec<String> = (0..problem.services.len())
        .map(|s| {
            let to = match slots.get(problem.service_slot(s)) {
                Some(Slot::To(h)) => problem.hosts[*h].name.as_str(),
                _ => "nothing yet",
            };
            format!("{}'s service to {to}", problem.service_name(s))
        })
        .collect();
    if routes.is_empty() {
        format!("(up: {})", up.join("; "))
    } else {
        format!("(up: {}; {})", up.join("; "), routes.join(", "))
    }
}

/// What the analyzer objects to in a state that is not safe, in words.
fn hazard(judge: &mut Judge, slots: &[Slot]) -> String {
    let ensemble = judge.ensemble(slots);
    let verdict = match ensemble.verdict() {
        Ok(v) => v,
        Err(e) => return e.to_string(),
    };
    let name = |i: usize| ensemble.nodes[i].name.clone();
    if let Some(group) = verdict.duplicate_sids.first() {
        let names: Vec<String> = group.iter().map(|&i| name(i)).collect();
        return format!("{} run with one server id", names.join(" and "));
    }
    if let Some(w) = &verdict.split_brain {
        let side = |q: &crate::quorum::Quorum| {
            let members: Vec<String> = q.members.iter().map(|&i| name(i)).collect();
            format!("{} leading {{{}}}", name(q.leader), members.join(", "))
        };
        return format!("two quorums can form: {} and {}", side(&w.a), side(&w.b));
    }
    if !verdict.quorum_possible {
        return "no working quorum can form".into();
    }
    unfollowed(judge, slots, None)
}

/// The running servers that can serve under no leader (`Verdict::cannot_serve`), by name.
fn idle(judge: &mut Judge, slots: &[Slot]) -> String {
    let ensemble = judge.ensemble(slots);
    match ensemble.verdict() {
        Ok(v) => v
            .cannot_serve
            .iter()
            .map(|&i| ensemble.nodes[i].name.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        Err(e) => e.to_string(),
    }
}

/// A leader some running server cannot follow, in words: `leader` (a host of the problem) when
/// given, else the first server that can be elected and that some running server cannot
/// follow, or that is hollow.
fn unfollowed(judge: &mut Judge, slots: &[Slot], leader: Option<usize>) -> String {
    let ensemble = judge.ensemble(slots);
    let verdict = match ensemble.verdict() {
        Ok(v) => v,
        Err(e) => return e.to_string(),
    };
    let name = |i: usize| ensemble.nodes[i].name.clone();
    // The problem's hosts are the ensemble's nodes, in order.
    let candidates: Vec<usize> = match leader {
        Some(l) => vec![l],
        None => verdict.possible_leaders.clone(),
    };
    for &l in &candidates {
        if let Some(i) =
            (0..ensemble.nodes.len()).find(|&i| ensemble.nodes[i].up && !ensemble.reaches(i, l))
        {
            let who = match leader {
                Some(_) => String::new(),
                None => format!("{} can be elected, and ", name(l)),
            };
            return format!(
                "{who}{} cannot follow it: its view does not give {}'s id at {}'s address (`Learner.findLeader`)",
                name(i),
                name(l),
                name(l)
            );
        }
        if verdict.hollow_leaders.contains(&l) {
            return format!(
                "{} can be elected only by counting an observer as a voter, and then commits nothing",
                name(l)
            );
        }
    }
    match leader {
        Some(l) if !verdict.possible_leaders.contains(&l) => {
            format!(
                "{} can no longer be elected by a majority of its view",
                name(l)
            )
        }
        _ => "the analyzer finds nothing wrong".into(),
    }
}

/// An inventory holding every host of the problem at the address the search used: what the
/// emitted runbook (and a hand-written one) is bound to for `plan`. Its commands are never run.
pub fn model_inventory(problem: &Problem) -> Inventory {
    let commands: BTreeMap<String, VerbCommand> = [
        "start",
        "stop",
        "kill",
        "restart",
        "set-servers",
        "set-myid",
        "data-empty",
        "status",
        "config",
        "point-service",
        "drop-service",
        "set-option",
    ]
    .iter()
    .map(|verb| {
        (
            verb.to_string(),
            VerbCommand::Text(format!("zkpilot-model {verb}")),
        )
    })
    .collect();
    let hosts = problem
        .hosts
        .iter()
        .enumerate()
        .map(|(h, host)| {
            let today = problem
                .start
                .get(h)
                .copied()
                .flatten()
                .map(|key| problem.view(key).server(host.sid).map(|l| l.role));
            let role = match (host.fate, today) {
                (Fate::Replaces(_) | Fate::Joins, _) => HostRole::Spare,
                (_, Some(Some(crate::zk::config::PeerRole::Observer))) => HostRole::Observer,
                _ => HostRole::Participant,
            };
            crate::inventory::Host {
                name: host.name.clone(),
                sid: host.sid,
                role,
                client: format!("{}:2181", host.addr.host),
                peer: host.addr.to_string(),
                admin: None,
                ssh: format!("zk@{}", host.addr.host),
                ssh_port: 22,
                commands: commands.clone(),
                lock: None,
            }
        })
        .collect();
    Inventory {
        name: "synthesize-model".into(),
        zookeeper: Some(problem.version.to_string()),
        ssh: None,
        hosts,
        services: problem
            .services
            .iter()
            .enumerate()
            .map(|(s, service)| crate::inventory::Service {
                name: format!("{}-svc", problem.service_name(s)),
                serves: problem.service_name(s).to_string(),
                client: format!("{}:2181", service.addr.host),
                peer: service.addr.to_string(),
                to: service.start.map(|h| problem.hosts[h].name.clone()),
            })
            .collect(),
    }
}

/// Whether the target's services are the inventory's: the runbook names each by the server it
/// was made for (`${service:NAME.address}`), and the inventory it runs against must hold that
/// service at the address the search judged.
pub fn services_match(problem: &Problem, inventory: &Inventory) -> Result<(), String> {
    for (s, service) in problem.services.iter().enumerate() {
        let serves = problem.service_name(s);
        let theirs = inventory.service_for(serves).ok_or_else(|| {
            format!(
                "the inventory `{}` has no service serving `{serves}`",
                inventory.name
            )
        })?;
        if theirs.peer_addr().ok().as_ref() != Some(&service.addr) {
            return Err(format!(
                "the service serving `{serves}` is at {}, not {}, in the inventory `{}`",
                theirs.peer, service.addr, inventory.name
            ));
        }
    }
    Ok(())
}

/// A runbook's figures for the summary and `--compare`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Figures {
    pub steps: usize,
    pub restarts: usize,
    pub blocked: bool,
}

impl Figures {
    pub fn of(procedure: &Procedure, plan: &Plan) -> Figures {
        Figures {
            steps: procedure.steps.len(),
            restarts: procedure
                .steps
                .iter()
                .flat_map(|s| &s.effects)
                .filter(|e| matches!(e, Effect::Restart { .. }))
                .count(),
            blocked: plan.blocked(),
        }
    }
}

/// "1 restart", "2 restarts".
pub fn restarts(n: u32) -> String {
    match n {
        1 => "1 restart".to_string(),
        n => format!("{n} restarts"),
    }
}

/// What is known of the bare-majority tie-break of an order proven in the rest of the
/// objective: a bound when the search proved one, else only that it is the best found.
pub fn tie_break(bare_at_least: u32, thin: u32) -> String {
    match bare_at_least {
        0 => format!("{thin} states on a bare majority, the fewest found among orders as good"),
        n => format!(
            "no order as good passes fewer than {n} states on a bare majority, this one {thin}"
        ),
    }
}

/// The one-line summary `synthesize` prints after the plan table.
pub fn summary(synthesis: &Synthesis, figures: Figures) -> String {
    let proof = match synthesis.found.proof {
        Proof::Minimal => "minimal (proven within the model)".to_string(),
        Proof::MinimalBeforeTies { bare_at_least } => format!(
            "minimal (proven within the model) but for the last tie-break: {}",
            tie_break(bare_at_least, synthesis.found.cost.thin)
        ),
        // A bound of no restarts proves nothing: the search stopped before it learned one.
        Proof::BestFound {
            restarts_at_least: 0,
            restarts_exact: false,
            ..
        } => "best found, not proven minimal; a larger --max-states searches further".to_string(),
        Proof::BestFound {
            restarts_at_least,
            restarts_exact,
            ..
        } => {
            // The restarts-first search's order is kept when nothing ranks above it: then it
            // is the order found, not another one ranked lower.
            let which = match restarts_exact {
                false => String::new(),
                true if synthesis.found.cost.restarts == restarts_at_least => {
                    " (this order has that many)".to_string()
                }
                true => format!(" (one with {restarts_at_least} does, ranked lower)"),
            };
            format!(
                "best found, not proven minimal; no order with fewer than {} exists{which}; a larger --max-states searches further",
                restarts(restarts_at_least)
            )
        }
    };
    format!(
        "Synthesized: {} steps, {} restarts, {}; plan {}; {} states expanded, {} judged.",
        figures.steps,
        figures.restarts,
        proof,
        if figures.blocked { "BLOCKED" } else { "ok" },
        synthesis.found.expanded,
        synthesis.judged
    )
}
