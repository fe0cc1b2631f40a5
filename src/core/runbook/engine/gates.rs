//! Gates: what must hold before a step runs, judged on the live ensemble (the sync gate by
//! the leader's `mntr`, or by zxid where `mntr` is refused), `check` commands' results, and the
//! readiness the console shows before the operator confirms.

use super::super::plan::{assess, describe_gate, witness_names, Found};
use super::super::procedure::{Gate, Procedure};
use super::super::simulate::SimState;
use super::{Engine, Status};
use crate::ensemble::{EnsembleState, ZXID_SYNC_POLLS};
use crate::zk::fourlw::Mode;
use crate::zk::zxid::ZxidLag;

/// A `check` gate's command in the current attempt: which gate, the intent running it, and
/// its result once it ended.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct CheckRun {
    pub(super) gate: usize,
    pub(super) intent: u64,
    pub(super) result: Option<Result<(), String>>,
}

/// Live voters not serving that the expected state accounts for.
#[derive(Debug, Default)]
struct Unserving {
    /// Those the live leader can leave out (`quorum::Strand`): they join it only in the round
    /// that elected it, and the runbook's next restarts bring them back. `synced` excuses them.
    left_out: Vec<usize>,
    /// Those no possible leader can count (analyzer rule 18): `synced` still waits for them, a
    /// wait that times out being the safer failure, but says why it cannot end.
    cannot_serve: Vec<usize>,
}

/// The live gate results and prediction for the current step.
#[derive(Debug, Clone, PartialEq)]
pub struct Readiness {
    pub gates: Vec<(String, Result<(), String>)>,
    /// The hazards of running the step from the live ensemble; none while it is under way.
    pub hazards: Vec<Found>,
    /// What holds after the step, run from the live ensemble. `None` while the step is under
    /// way: its commands already act on the servers, so simulating them again from the live
    /// state would count each restart twice (and call "quorum loss" where the summary rightly
    /// says a quorum can form). Then the one forecast is the live verdict, the summary's.
    pub predicted: Option<String>,
}

/// Why a check gate has no result yet: its command runs when the step starts.
pub const CHECK_PENDING: &str = "runs when the step starts";

impl Engine {
    /// Gates and the predicted state of the current step, on the live ensemble.
    pub fn readiness(&self, live: &EnsembleState) -> Option<Readiness> {
        let index = self.current()?;
        let step = self.step(index);
        let gates = step
            .gates
            .iter()
            .map(|g| {
                let mut name = describe_gate(&self.procedure, g);
                // The weaker signal says so wherever it decides.
                if *g == Gate::Synced && live.sync_by_zxid() {
                    name.push_str(" (by zxid)");
                }
                if *g == Gate::Synced {
                    if let Some(note) = self.left_out_note(live, &self.expected) {
                        name.push_str(&format!(" ({note})"));
                    }
                }
                (name, self.gate(g, live))
            })
            .collect();
        if matches!(self.status[index], Status::Running | Status::Waiting { .. }) {
            return Some(Readiness {
                gates,
                hazards: Vec::new(),
                predicted: None,
            });
        }
        let (procedure, start) = self.live_start(live);
        let (hazards, _, analysis) = assess(&procedure, step, &start, self.version);
        let predicted = Some(
            match (
                analysis.quorum_possible,
                witness_names(&procedure, &analysis),
            ) {
                (_, Some([a, b])) => format!(
                    "after it: SPLIT BRAIN POSSIBLE — {} leading {{{}}} and {} leading {{{}}}",
                    a.leader,
                    a.members.join(", "),
                    b.leader,
                    b.members.join(", ")
                ),
                (true, None) => "after it: one quorum can form, two cannot".to_string(),
                (false, None) => "after it: NO QUORUM can form".to_string(),
            },
        );
        Some(Readiness {
            gates,
            hazards,
            predicted,
        })
    }

    pub(super) fn live_start(&self, live: &EnsembleState) -> (Procedure, SimState) {
        SimState::from_live(&self.procedure, &self.expected, live, &self.node_of)
    }

    /// The current step's check commands have been started and not all have answered.
    pub fn checks_running(&self) -> bool {
        self.checks.iter().any(|check| check.result.is_none())
    }

    /// One gate on the live ensemble: Ok, or why not in words.
    pub fn gate(&self, gate: &Gate, live: &EnsembleState) -> Result<(), String> {
        self.gate_against(gate, live, &self.expected)
    }

    /// Live nodes the runbook expects to be stopped in `expected`: a spare that joins the view
    /// before it starts must not keep `synced` from ever holding.
    pub(super) fn planned_down(&self, expected: &SimState) -> Vec<usize> {
        self.node_of
            .iter()
            .enumerate()
            .filter(|(host, _)| !expected.up.get(*host).copied().unwrap_or(true))
            .filter_map(|(_, node)| *node)
            .collect()
    }

    /// Live nodes not serving that the expected state lets the live leader leave out: what
    /// the sync gate does not wait for beyond the planned stops, and what the console and the
    /// log say it did not wait for.
    pub(super) fn left_out(&self, live: &EnsembleState, expected: &SimState) -> Vec<usize> {
        self.unserving(live, expected, &self.planned_down(expected))
            .left_out
    }

    /// The live voters not serving, but those `planned_down` names, that the expected state
    /// accounts for. The gate is judged on every poll: the expected state's verdict is asked
    /// only when some server it would otherwise wait for is not serving.
    fn unserving(
        &self,
        live: &EnsembleState,
        expected: &SimState,
        planned_down: &[usize],
    ) -> Unserving {
        let missing: Vec<usize> = (0..live.nodes.len())
            .filter(|i| live.nodes[*i].health.mode().is_none() && !planned_down.contains(i))
            .collect();
        let Some(leader_host) = self.leader_host(live).filter(|_| !missing.is_empty()) else {
            return Unserving::default();
        };
        let Ok(verdict) = expected.ensemble(&self.procedure, self.version).verdict() else {
            return Unserving::default();
        };
        let live_missing = |host: usize| {
            self.node_of
                .get(host)
                .copied()
                .flatten()
                .filter(|n| missing.contains(n))
        };
        Unserving {
            left_out: verdict
                .strandable
                .iter()
                .filter(|s| s.leader == leader_host)
                .filter_map(|s| live_missing(s.server))
                .collect(),
            cannot_serve: verdict
                .cannot_serve
                .iter()
                .filter_map(|&host| live_missing(host))
                .collect(),
        }
    }

    /// What a passing sync gate leaves out, in words: `None` when it waited for everyone.
    pub(super) fn left_out_note(
        &self,
        live: &EnsembleState,
        expected: &SimState,
    ) -> Option<String> {
        let left = self.left_out(live, expected);
        let names: Vec<&str> = left
            .iter()
            .map(|&n| live.nodes[n].target.name.as_str())
            .collect();
        let one = names.len() == 1;
        let leader = self.leader_host(live).filter(|_| !names.is_empty())?;
        Some(format!(
            "{} not waited for: {} leads and can leave {} out until {} restarts",
            names.join(", "),
            self.host_name(leader),
            if one { "it" } else { "them" },
            if one { "it" } else { "each" },
        ))
    }

    pub(super) fn gate_against(
        &self,
        gate: &Gate,
        live: &EnsembleState,
        expected: &SimState,
    ) -> Result<(), String> {
        let node = |host: &usize| {
            self.node_of
                .get(*host)
                .copied()
                .flatten()
                .and_then(|n| live.nodes.get(n))
        };
        let name = |host: &usize| self.host_name(*host);
        match gate {
            Gate::Synced => {
                let planned_down = self.planned_down(expected);
                let unserving = self.unserving(live, expected, &planned_down);
                let excused = [planned_down, unserving.left_out].concat();
                synced(live, &excused, &unserving.cannot_serve)
            }
            Gate::LagBelow(bound) => {
                for (i, n) in live.nodes.iter().enumerate() {
                    if n.health.mode().is_none() {
                        continue;
                    }
                    match live.lag(i) {
                        Some(ZxidLag::Transactions(t)) if t >= *bound => {
                            return Err(format!("{} is {t} transactions behind", n.target.name))
                        }
                        Some(ZxidLag::OlderEpoch { .. }) => {
                            return Err(format!("{} is on an older epoch", n.target.name))
                        }
                        _ => {}
                    }
                }
                Ok(())
            }
            Gate::Leader(h) => match node(h) {
                Some(n) if n.health.mode() == Some(Mode::Leader) => Ok(()),
                _ => Err(format!("{} is not the leader", name(h))),
            },
            Gate::NotLeader(h) => match node(h) {
                Some(n) if n.health.mode() == Some(Mode::Leader) => {
                    Err(format!("{} leads", name(h)))
                }
                _ => Ok(()),
            },
            Gate::Down(h) => match node(h) {
                Some(n) if !n.health.is_up() && n.health != crate::ensemble::Health::Unknown => {
                    Ok(())
                }
                _ => Err(format!("{} still runs", name(h))),
            },
            Gate::Mode { host, modes } => match node(host).and_then(|n| n.health.mode()) {
                Some(mode) if modes.contains(&mode) => Ok(()),
                Some(mode) => Err(format!("{} is {mode}", name(host))),
                None => Err(format!("{} is not serving", name(host))),
            },
            Gate::Fourlw {
                host,
                word,
                contains,
            } => match node(host).and_then(|n| n.raw_answer(*word)) {
                Some(answer) if answer.contains(contains.as_str()) => Ok(()),
                Some(answer) => Err(format!(
                    "`{word}` on {} does not say `{contains}` (first line: {})",
                    name(host),
                    crate::zk::fourlw::excerpt(answer.lines().next().unwrap_or(""))
                )),
                None => Err(format!("no `{word}` answer from {} yet", name(host))),
            },
            Gate::Check { .. } => {
                let gates = self.current().map(|c| &self.procedure.steps[c].gates);
                self.checks
                    .iter()
                    .find(|check| gates.and_then(|gates| gates.get(check.gate)) == Some(gate))
                    .and_then(|check| check.result.clone())
                    .unwrap_or_else(|| Err(CHECK_PENDING.into()))
            }
        }
    }
}

/// The sync gate: the leader's synced voting followers are every other voter of its view and
/// nothing is pending (the research notes: `zk_synced_followers` counts non-voting followers,
/// so they are subtracted).
fn synced(live: &EnsembleState, excused: &[usize], cannot_serve: &[usize]) -> Result<(), String> {
    let leader = live.leader().ok_or("no leader")?;
    let node = &live.nodes[leader];
    let Some(mntr) = node.mntr.as_ref() else {
        if live.sync_by_zxid() {
            return synced_by_zxid(live, leader, excused, cannot_serve);
        }
        return Err("the leader's mntr is not known yet (asking its AdminServer)".into());
    };
    let voters = node
        .current_view()
        .map(|v| v.view.participant_count())
        .ok_or("the leader's view is not known")?;
    // mntr is polled less often than srvr: every voter must also say, fresh from srvr, that it
    // serves, which a follower does only once it has synced.
    let mut absent_excused = 0;
    if let Some(view) = node.current_view() {
        for (i, other) in live.nodes.iter().enumerate() {
            let votes = other.sid().is_some_and(|sid| view.view.is_participant(sid));
            if votes && other.health.mode().is_none() {
                if excused.contains(&i) {
                    absent_excused += 1;
                } else {
                    return Err(not_serving(live, i, cannot_serve));
                }
            }
        }
    }
    let synced = mntr
        .synced_voting_followers()
        .ok_or("the leader reports no synced followers")?;
    let pending = mntr.pending_syncs().unwrap_or(0);
    if pending > 0 {
        return Err(format!("{pending} syncs pending"));
    }
    if (synced as usize) + 1 + absent_excused < voters {
        return Err(format!(
            "{synced} of {} other running voters synced",
            voters - 1 - absent_excused
        ));
    }
    Ok(())
}

/// Why the sync gate still waits for running voter `i`, which does not serve.
fn not_serving(live: &EnsembleState, i: usize, cannot_serve: &[usize]) -> String {
    let name = &live.nodes[i].target.name;
    if cannot_serve.contains(&i) {
        format!(
            "{name} is not serving, and in the state the runbook expects it cannot: it can \
             follow no server that can lead and cannot lead a quorum itself (analyzer rule 18), \
             so this wait ends only if its view or theirs changes"
        )
    } else {
        format!("{name} is not serving yet")
    }
}

/// The sync gate when the leader's `mntr` is reachable by no route: every running voter of
/// the leader's view serves and has shown itself caught up by zxid over consecutive polls
/// (`EnsembleState::caught_up_by_zxid` holds the rule and its measurements).
fn synced_by_zxid(
    live: &EnsembleState,
    leader: usize,
    excused: &[usize],
    cannot_serve: &[usize],
) -> Result<(), String> {
    let view = live.nodes[leader]
        .current_view()
        .ok_or("the leader's view is not known (no conf, AdminServer or config over SSH)")?;
    for (i, other) in live.nodes.iter().enumerate() {
        if !other.sid().is_some_and(|sid| view.view.is_participant(sid)) {
            continue;
        }
        if other.health.mode().is_none() {
            if excused.contains(&i) {
                continue;
            }
            return Err(not_serving(live, i, cannot_serve));
        }
        if !live.synced_by_zxid(i) {
            return Err(format!(
                "{} has not yet shown the leader's zxid over {ZXID_SYNC_POLLS} polls (by zxid: mntr is refused)",
                other.target.name
            ));
        }
    }
    Ok(())
}
