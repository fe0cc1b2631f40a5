//! `zkpilot plan` (pure): every step's effect simulated from the starting state, every state it
//! passes through analyzed, and a verdict per step — ok, warn (a hazard the runbook accepts,
//! with its reason) or blocked (a hazard it does not).

use std::fmt::Write;

use serde::Serialize;

use super::model::Hazard;
use super::procedure::{Gate, Procedure, Step};
use super::simulate::SimState;
use crate::quorum::Verdict as Analysis;
use crate::zk::version::ZkVersion;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StepVerdict {
    Ok,
    Warn,
    Blocked,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Found {
    pub hazard: Hazard,
    pub accepted: bool,
    /// Why the runbook accepts it, when it does.
    pub reason: Option<String>,
    /// In words: which state of the step shows it, and the witness.
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WitnessNames {
    pub leader: String,
    pub members: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlanRow {
    pub step: String,
    pub title: String,
    pub hosts_up: Vec<String>,
    /// Each running host with the view it runs on.
    pub views: Vec<(String, String)>,
    pub quorum_possible: bool,
    pub split_brain_possible: bool,
    pub witness: Option<[WitnessNames; 2]>,
    pub unreachable: Vec<[String; 2]>,
    pub gates: Vec<String>,
    pub hazards: Vec<Found>,
    /// The analyzer's findings on the state after the step, as every surface words them
    /// (`quorum::findings`), the all-clear ones left out.
    pub findings: Vec<String>,
    pub verdict: StepVerdict,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Plan {
    pub runbook: String,
    /// For teaching examples: where the plan is meant to block.
    pub teaching: Option<String>,
    pub zookeeper: String,
    /// Each runbook host and the inventory host it is bound to.
    pub bindings: Vec<(String, String)>,
    /// Inventory servers the runbook does not name (and spares paired with them), modelled all
    /// the same.
    pub also_modelled: Vec<String>,
    pub steps: Vec<PlanRow>,
}

impl Plan {
    pub fn blocked(&self) -> bool {
        self.steps.iter().any(|s| s.verdict == StepVerdict::Blocked)
    }
}

/// Checks one step from `before`: the hazards of every state it passes through.
pub fn assess(
    procedure: &Procedure,
    step: &Step,
    before: &SimState,
    version: ZkVersion,
) -> (Vec<Found>, SimState, Analysis) {
    let phases = before.through(step);
    let mut found: Vec<Found> = Vec::new();
    if !version.has_dynamic_reconfig()
        && step
            .effects
            .iter()
            .any(|e| matches!(e, super::procedure::Effect::Reconfig { .. }))
    {
        found.push(hazard(
            step,
            Hazard::Unsupported,
            format!("dynamic reconfig needs ZooKeeper 3.5 or later; these rules are {version}'s"),
        ));
    }
    let mut last = None;
    for (index, phase) in phases.iter().enumerate() {
        let Ok(analysis) = phase.ensemble(procedure, version).verdict() else {
            continue;
        };
        let moment = if index + 1 == phases.len() {
            "after the step".to_string()
        } else {
            format!("while the step runs ({})", describe_up(procedure, phase))
        };
        if !analysis.quorum_possible && !found.iter().any(|f| f.hazard == Hazard::QuorumLoss) {
            let what = if analysis.ensembles.is_empty() {
                format!("no quorum can form {moment}")
            } else {
                let groups: Vec<String> = analysis
                    .ensembles
                    .iter()
                    .map(|members| {
                        let names: Vec<&str> = members
                            .iter()
                            .map(|&i| procedure.hosts[i].name.as_str())
                            .collect();
                        format!("{{{}}}", names.join(", "))
                    })
                    .collect();
                format!(
                    "of the separate ensembles {}, one cannot form its quorum {moment}",
                    groups.join(" and ")
                )
            };
            found.push(hazard(step, Hazard::QuorumLoss, what));
        }
        if analysis.split_brain.is_some() && !found.iter().any(|f| f.hazard == Hazard::SplitBrain) {
            let names = witness_names(procedure, &analysis).unwrap_or_else(|| [empty(), empty()]);
            found.push(hazard(
                step,
                Hazard::SplitBrain,
                format!(
                    "two quorums can form {moment}: {} leading {{{}}} and {} leading {{{}}}",
                    names[0].leader,
                    names[0].members.join(", "),
                    names[1].leader,
                    names[1].members.join(", ")
                ),
            ));
        }
        if let Some(&exits) = analysis.exits_at_start.first() {
            if !found.iter().any(|f| f.hazard == Hazard::ExitsAtStart) {
                let (may, why) = if analysis.listen_all_unknown.contains(&exits) {
                    ("may exit", " (its quorumListenOnAllIPs is unknown)")
                } else {
                    ("exits", "")
                };
                found.push(hazard(
                    step,
                    Hazard::ExitsAtStart,
                    format!(
                        "{} {may} at start {moment}{why}: its own line is not one of its \
                         addresses, so it cannot bind its election port (exit code 14)",
                        procedure.hosts.get(exits).map_or("?", |h| h.name.as_str())
                    ),
                ));
            }
        }
        if let Some(group) = analysis.duplicate_sids.first() {
            if !found.iter().any(|f| f.hazard == Hazard::DuplicateSid) {
                let names: Vec<&str> = group
                    .iter()
                    .map(|&i| procedure.hosts[i].name.as_str())
                    .collect();
                found.push(hazard(
                    step,
                    Hazard::DuplicateSid,
                    format!(
                        "{} run with one server id {moment}: every peer may count either",
                        names.join(" and ")
                    ),
                ));
            }
        }
        last = Some((phase.clone(), analysis));
    }
    let (after, analysis) = last.unwrap_or_else(|| {
        let state = before.clone();
        let analysis = state
            .ensemble(procedure, version)
            .verdict()
            .unwrap_or_default();
        (state, analysis)
    });
    (found, after, analysis)
}

fn empty() -> WitnessNames {
    WitnessNames {
        leader: String::new(),
        members: Vec::new(),
    }
}

fn hazard(step: &Step, hazard: Hazard, detail: String) -> Found {
    let acceptance = step.accepts.iter().find(|a| a.hazard == hazard);
    Found {
        hazard,
        accepted: acceptance.is_some(),
        reason: acceptance.map(|a| a.reason.clone()),
        detail,
    }
}

fn describe_up(procedure: &Procedure, state: &SimState) -> String {
    let up: Vec<&str> = procedure
        .hosts
        .iter()
        .zip(&state.up)
        .filter(|(_, up)| **up)
        .map(|(h, _)| h.name.as_str())
        .collect();
    format!("up: {}", up.join(", "))
}

pub fn witness_names(procedure: &Procedure, analysis: &Analysis) -> Option<[WitnessNames; 2]> {
    let w = analysis.split_brain.as_ref()?;
    let name = |i: usize| {
        procedure
            .hosts
            .get(i)
            .map_or_else(|| "?".to_string(), |h| h.name.clone())
    };
    let side = |q: &crate::quorum::Quorum| WitnessNames {
        leader: name(q.leader),
        members: q.members.iter().map(|m| name(*m)).collect(),
    };
    Some([side(&w.a), side(&w.b)])
}

pub fn plan(procedure: &Procedure, version: ZkVersion) -> Plan {
    plan_from(procedure, version, SimState::initial(procedure))
}

/// The plan from another starting state (`--live`: the ensemble as polled).
pub fn plan_from(procedure: &Procedure, version: ZkVersion, start: SimState) -> Plan {
    let mut state = start;
    let mut steps = Vec::new();
    for step in &procedure.steps {
        let (hazards, after, analysis) = assess(procedure, step, &state, version);
        let verdict = if hazards.iter().any(|h| !h.accepted) {
            StepVerdict::Blocked
        } else if hazards.is_empty() {
            StepVerdict::Ok
        } else {
            StepVerdict::Warn
        };
        let name = |i: usize| procedure.hosts[i].name.clone();
        steps.push(PlanRow {
            step: step.id.clone(),
            title: step.title.clone(),
            hosts_up: (0..procedure.hosts.len())
                .filter(|h| after.up[*h])
                .map(name)
                .collect(),
            views: (0..procedure.hosts.len())
                .filter(|h| after.up[*h])
                .map(|h| {
                    (
                        name(h),
                        after.running[h].clone().unwrap_or_else(|| "?".into()),
                    )
                })
                .collect(),
            quorum_possible: analysis.quorum_possible,
            split_brain_possible: hazards.iter().any(|h| h.hazard == Hazard::SplitBrain),
            witness: witness_names(procedure, &analysis),
            unreachable: analysis
                .unreachable
                .iter()
                .map(|(a, b)| [name(*a), name(*b)])
                .collect(),
            gates: step
                .gates
                .iter()
                .map(|g| describe_gate(procedure, g))
                .collect(),
            hazards,
            findings: crate::quorum::findings::hazards(&analysis, &|i| name(i))
                .into_iter()
                .map(|f| f.text)
                .collect(),
            verdict,
        });
        state = after;
    }
    Plan {
        runbook: procedure.name.clone(),
        teaching: procedure.teaching.clone(),
        zookeeper: version.to_string(),
        bindings: procedure.bindings(),
        also_modelled: procedure
            .hosts
            .iter()
            .filter(|h| !h.from_runbook)
            .map(|h| h.name.clone())
            .collect(),
        steps,
    }
}

/// The plan of the same runbook under another binding of its `pick:` hosts.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OtherBinding {
    pub plan: Plan,
    /// True when there were more bindings than `plan` checks (the plan is then empty).
    pub too_many: bool,
}

impl OtherBinding {
    pub fn of(plan: Plan) -> OtherBinding {
        OtherBinding {
            plan,
            too_many: false,
        }
    }

    pub fn too_many() -> OtherBinding {
        OtherBinding {
            plan: Plan {
                runbook: String::new(),
                teaching: None,
                zookeeper: String::new(),
                bindings: Vec::new(),
                also_modelled: Vec::new(),
                steps: Vec::new(),
            },
            too_many: true,
        }
    }
}

/// After the table: how many other bindings of `pick:` hosts were planned, and each one under
/// which a step blocks, with its first blocked step and hazard.
pub fn render_other_bindings(others: &[OtherBinding]) -> String {
    if others.is_empty() {
        return String::new();
    }
    if others.iter().any(|o| o.too_many) {
        return format!(
            "\nThe `pick:` hosts can be bound more than {} ways: only the binding above was planned; bind them with --bind to plan another.\n",
            super::picks::MAX_BINDINGS
        );
    }
    let blocked: Vec<&OtherBinding> = others.iter().filter(|o| o.plan.blocked()).collect();
    let mut out = format!(
        "\nEvery other binding of the `pick:` hosts planned too ({}): ",
        others.len()
    );
    if blocked.is_empty() {
        out.push_str("each keeps one quorum possible and two impossible, or accepts why not.\n");
        return out;
    }
    let _ = writeln!(out, "{} BLOCK:", blocked.len());
    for other in blocked {
        let bound: Vec<String> = other
            .plan
            .bindings
            .iter()
            .map(|(name, host)| format!("{name}={host}"))
            .collect();
        if let Some((row, found)) = other
            .plan
            .steps
            .iter()
            .find_map(|row| row.hazards.iter().find(|h| !h.accepted).map(|h| (row, h)))
        {
            let _ = writeln!(
                out,
                "- {}: **BLOCKED** at `{}`: {}",
                crate::text::escape::sanitize(&bound.join(", ")),
                crate::text::escape::sanitize(&row.step),
                crate::text::escape::sanitize(&found.detail)
            );
        }
    }
    out
}

pub fn describe_gate(procedure: &Procedure, gate: &Gate) -> String {
    let name = |i: &usize| procedure.hosts.get(*i).map_or("?", |h| h.name.as_str());
    match gate {
        Gate::Synced => "every voter synced with the leader".into(),
        Gate::LagBelow(n) => format!("every node within {n} transactions of the leader"),
        Gate::Leader(h) => format!("{} is the leader", name(h)),
        Gate::NotLeader(h) => format!("{} is not the leader", name(h)),
        Gate::Down(h) => format!("{} is down", name(h)),
        Gate::Mode { host, modes } => {
            let modes: Vec<&str> = modes.iter().map(|m| m.as_str()).collect();
            format!("{} is {}", name(host), modes.join(" or "))
        }
        Gate::Fourlw {
            host,
            word,
            contains,
        } => format!("`{word}` on {} says `{contains}`", name(host)),
        Gate::Check { host, command } => format!("`{command}` on {} exits 0", name(host)),
    }
}

/// The plan as a table an operator reads in a terminal or a review.
pub fn render_table(plan: &Plan) -> String {
    // Every name and text here comes from the runbook or the inventory: each cell is escaped
    // on its own, so nothing in one can hide, forge or reorder a row.
    use crate::text::escape::sanitize as cell;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Plan for runbook `{}` (ZooKeeper {} rules)",
        cell(&plan.runbook),
        plan.zookeeper
    );
    let bound: Vec<String> = plan
        .bindings
        .iter()
        .map(|(name, host)| format!("{name}={host}"))
        .collect();
    if bound.is_empty() {
        let _ = writeln!(out, "Hosts: none named by the runbook");
    } else {
        let _ = writeln!(out, "Hosts: {}", cell(&bound.join(", ")));
    }
    if !plan.also_modelled.is_empty() {
        let _ = writeln!(
            out,
            "Also in the ensemble (inventory hosts the runbook does not name): {}",
            cell(&plan.also_modelled.join(", "))
        );
    }
    if let Some(teaching) = &plan.teaching {
        let _ = writeln!(out, "TEACHING EXAMPLE: {}", cell(teaching));
    }
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "| step | hosts up | views | quorum | split brain | unreachable | gates | verdict |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|---|---|---|");
    for row in &plan.steps {
        let views = summarize_views(&row.views);
        let split = match &row.witness {
            Some([a, b]) if row.split_brain_possible => {
                format!(
                    "YES: {} {{{}}} / {} {{{}}}",
                    a.leader,
                    a.members.join(","),
                    b.leader,
                    b.members.join(",")
                )
            }
            _ if row.split_brain_possible => "YES (while it runs)".into(),
            _ => "no".into(),
        };
        let unreachable: Vec<String> = row
            .unreachable
            .iter()
            .map(|[a, b]| format!("{a}-{b}"))
            .collect();
        let verdict = match row.verdict {
            StepVerdict::Ok => "ok".to_string(),
            StepVerdict::Warn => "warn (accepted)".to_string(),
            StepVerdict::Blocked => "**BLOCKED**".to_string(),
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} |",
            cell(&row.step),
            cell(&row.hosts_up.join(",")),
            cell(&views),
            if row.quorum_possible { "yes" } else { "NO" },
            cell(&split),
            if unreachable.is_empty() {
                "-".into()
            } else {
                cell(&unreachable.join(" "))
            },
            if row.gates.is_empty() {
                "-".into()
            } else {
                cell(&row.gates.join("; "))
            },
            verdict
        );
    }
    if plan.steps.iter().any(|r| !r.findings.is_empty()) {
        let _ = writeln!(out, "\nFindings after each step:");
        for row in plan.steps.iter().filter(|r| !r.findings.is_empty()) {
            for finding in &row.findings {
                let _ = writeln!(out, "- `{}` {}", cell(&row.step), cell(finding));
            }
        }
    }
    let hazards: Vec<(&PlanRow, &Found)> = plan
        .steps
        .iter()
        .flat_map(|r| r.hazards.iter().map(move |h| (r, h)))
        .collect();
    if !hazards.is_empty() {
        let _ = writeln!(out, "\nHazards:");
        for (row, found) in hazards {
            let status = match &found.reason {
                Some(reason) => format!("accepted: {reason}"),
                None => "NOT accepted by the runbook".into(),
            };
            let _ = writeln!(
                out,
                "- `{}` {}: {} ({})",
                cell(&row.step),
                found.hazard,
                cell(&found.detail),
                cell(&status)
            );
        }
    }
    let _ = writeln!(
        out,
        "\n{}",
        if plan.blocked() {
            "Verdict: BLOCKED — a step has a hazard the runbook does not accept."
        } else {
            "Verdict: every step keeps one quorum possible and two impossible, or the runbook accepts why not."
        }
    );
    out
}

/// `zk1,zk2:old zk3:five` — hosts grouped by the view they run.
fn summarize_views(views: &[(String, String)]) -> String {
    let mut groups: Vec<(String, Vec<String>)> = Vec::new();
    for (host, view) in views {
        match groups.iter_mut().find(|(v, _)| v == view) {
            Some((_, hosts)) => hosts.push(host.clone()),
            None => groups.push((view.clone(), vec![host.clone()])),
        }
    }
    groups
        .iter()
        .map(|(view, hosts)| format!("{}:{view}", hosts.join(",")))
        .collect::<Vec<_>>()
        .join(" ")
}
