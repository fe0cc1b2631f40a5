//! What the console showed after each record: session, steps with their gates, verdict,
//! decisions and commands, the node panel of the latest snapshot, notes, and the session end.

use std::collections::HashMap;

use crate::audit::record::{
    AuditEvent, AuditRecord, CommandResult, DecisionKind, OutputStream, SessionInfo, StepState,
    Timestamp,
};
use crate::ensemble::Health;
use crate::quorum::findings::Severity;
use crate::zk::zxid::Zxid;

/// Output lines kept for the screen; `--print` and the log itself keep every line.
const OUTPUT_LINES: usize = 400;

#[derive(Debug, Clone, PartialEq)]
pub struct GateShown {
    pub gate: String,
    pub passed: bool,
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct VerdictShown {
    pub quorum_possible: bool,
    pub split_brain_possible: bool,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DecisionShown {
    pub at: Timestamp,
    pub decision: DecisionKind,
    pub by: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CommandShown {
    pub started: Timestamp,
    pub host: String,
    pub command: String,
    /// `None` until its result is recorded: running, or cut off by a crash.
    pub result: Option<CommandResult>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct StepShown {
    pub id: String,
    /// `None` until a `step` record names its state (gates come first).
    pub state: Option<StepState>,
    pub gates: Vec<GateShown>,
    pub verdict: Option<VerdictShown>,
    pub decisions: Vec<DecisionShown>,
    pub commands: Vec<CommandShown>,
    /// While the step waits for a follower's approval: whether the operator's own user may
    /// give it. A decision or state change for the step ends the wait.
    pub awaiting_approval: Option<bool>,
}

impl StepShown {
    fn new(id: &str) -> StepShown {
        StepShown {
            id: id.to_string(),
            state: None,
            gates: Vec::new(),
            verdict: None,
            decisions: Vec::new(),
            commands: Vec::new(),
            awaiting_approval: None,
        }
    }
}

/// One node of the latest snapshot (`EnsembleState::snapshot`).
#[derive(Debug, Clone, PartialEq)]
pub struct NodeShown {
    pub name: String,
    pub sid: Option<u64>,
    pub client: Option<String>,
    pub health: Health,
    pub zxid: Option<Zxid>,
    pub view: Option<String>,
}

/// One finding of the live verdict a snapshot recorded (`EnsembleState::snapshot_with`).
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
pub struct FindingShown {
    pub severity: Severity,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct OutputShown {
    pub host: String,
    pub stream: OutputStream,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct ReplayState {
    pub session: Option<SessionInfo>,
    pub started: Option<Timestamp>,
    /// In order of first mention, which is the order the session reached them.
    pub steps: Vec<StepShown>,
    pub nodes: Vec<NodeShown>,
    /// When the nodes shown were recorded.
    pub snapshot_at: Option<Timestamp>,
    /// The live verdict's findings at that snapshot, as the summary line showed them; empty
    /// for a log written before snapshots carried them.
    pub findings: Vec<FindingShown>,
    pub output: Vec<OutputShown>,
    pub notes: Vec<(Timestamp, String)>,
    pub resumes: Vec<(Timestamp, Option<u64>)>,
    pub ended: Option<(Timestamp, String)>,
    /// The record applied last, and how many have been applied.
    pub last: Option<Timestamp>,
    pub applied: usize,
    /// The step a record touched last: the one the console had on screen.
    pub current: Option<usize>,
    /// Where each step id sits in `steps`: a long log names thousands of steps.
    step_at: HashMap<String, usize>,
    /// Intent numbers start again at 1 when a session resumes, so they are looked up only
    /// among the commands since the last `resume`.
    intents: HashMap<u64, (usize, usize)>,
}

impl ReplayState {
    pub fn new() -> ReplayState {
        ReplayState::default()
    }

    pub fn from_records<'a>(records: impl IntoIterator<Item = &'a AuditRecord>) -> ReplayState {
        let mut state = ReplayState::new();
        for record in records {
            state.apply(record);
        }
        state
    }

    pub fn step_index(&self, id: &str) -> Option<usize> {
        self.step_at.get(id).copied()
    }

    fn step_mut(&mut self, id: &str) -> &mut StepShown {
        let index = match self.step_index(id) {
            Some(index) => index,
            None => {
                self.steps.push(StepShown::new(id));
                self.step_at.insert(id.to_string(), self.steps.len() - 1);
                self.steps.len() - 1
            }
        };
        self.current = Some(index);
        &mut self.steps[index]
    }

    pub fn apply(&mut self, record: &AuditRecord) {
        self.applied += 1;
        self.last = Some(record.ts);
        let ts = record.ts;
        match &record.event {
            AuditEvent::Header { .. } => self.started = Some(ts),
            AuditEvent::SessionStart(info) => {
                self.started.get_or_insert(ts);
                self.session = Some(info.clone());
            }
            AuditEvent::Snapshot { state } => {
                self.nodes = nodes_of(state);
                self.findings = findings_of(state);
                self.snapshot_at = Some(ts);
            }
            AuditEvent::Gate {
                step,
                gate,
                passed,
                detail,
            } => {
                let shown = self.step_mut(step);
                let fresh = GateShown {
                    gate: gate.clone(),
                    passed: *passed,
                    detail: detail.clone(),
                };
                // A retried step checks its gates again: the latest result of a gate counts.
                match shown.gates.iter_mut().find(|g| g.gate == *gate) {
                    Some(old) => *old = fresh,
                    None => shown.gates.push(fresh),
                }
            }
            AuditEvent::Verdict {
                step,
                quorum_possible,
                split_brain_possible,
                text,
            } => {
                self.step_mut(step).verdict = Some(VerdictShown {
                    quorum_possible: *quorum_possible,
                    split_brain_possible: *split_brain_possible,
                    text: text.clone(),
                })
            }
            AuditEvent::Decision { step, decision, by } => {
                let shown = self.step_mut(step);
                shown.awaiting_approval = None;
                shown.decisions.push(DecisionShown {
                    at: ts,
                    decision: decision.clone(),
                    by: by.clone(),
                })
            }
            AuditEvent::ApprovalRequest { step, same_user } => {
                self.step_mut(step).awaiting_approval = Some(*same_user)
            }
            AuditEvent::Intent {
                intent,
                step,
                host,
                command,
            } => {
                let shown = self.step_mut(step);
                shown.commands.push(CommandShown {
                    started: ts,
                    host: host.clone(),
                    command: command.clone(),
                    result: None,
                });
                let at = shown.commands.len() - 1;
                if let Some(index) = self.current {
                    self.intents.insert(*intent, (index, at));
                }
            }
            AuditEvent::Output {
                intent,
                stream,
                text,
            } => {
                let host = self
                    .command(*intent)
                    .map_or_else(|| "?".to_string(), |c| c.host.clone());
                if self.output.len() == OUTPUT_LINES {
                    self.output.remove(0);
                }
                self.output.push(OutputShown {
                    host,
                    stream: *stream,
                    text: text.clone(),
                });
            }
            AuditEvent::Result { intent, .. } => {
                if let Some(&(step, at)) = self.intents.get(intent) {
                    self.current = Some(step);
                    self.steps[step].commands[at].result = CommandResult::of(&record.event);
                }
            }
            AuditEvent::Step { step, state } => {
                let shown = self.step_mut(step);
                shown.awaiting_approval = None;
                shown.state = Some(*state);
            }
            AuditEvent::Note { text } => self.notes.push((ts, text.clone())),
            // A stop, an end or a resume ends every wait for an approval: a resumed console
            // asks again, and one asked for before it would be refused.
            AuditEvent::Resume { torn_line } => {
                self.intents.clear();
                self.ended = None;
                self.resumes.push((ts, *torn_line));
                self.no_approval_awaited();
            }
            AuditEvent::SessionEnd { reason, .. } | AuditEvent::SessionStop { reason, .. } => {
                self.ended = Some((ts, reason.clone()));
                self.no_approval_awaited();
            }
        }
    }

    fn no_approval_awaited(&mut self) {
        for step in &mut self.steps {
            step.awaiting_approval = None;
        }
    }

    fn command(&self, intent: u64) -> Option<&CommandShown> {
        let &(step, at) = self.intents.get(&intent)?;
        self.steps.get(step)?.commands.get(at)
    }

    /// The step waiting for a follower's approval, if the session is at one.
    pub fn awaiting_approval(&self) -> Option<&StepShown> {
        if self.ended.is_some() {
            return None;
        }
        self.steps.iter().find(|s| s.awaiting_approval.is_some())
    }

    /// The latest leader of the snapshot: the highest epoch among nodes that say they lead.
    pub fn leader(&self) -> Option<usize> {
        self.nodes
            .iter()
            .enumerate()
            .filter(|(_, n)| n.health == Health::Serving(crate::zk::fourlw::Mode::Leader))
            .max_by_key(|(_, n)| n.zxid.map(Zxid::epoch))
            .map(|(i, _)| i)
    }

    /// Commands whose intent is recorded but not their result: after a crash these may or may
    /// not have run.
    pub fn open_commands(&self) -> Vec<(&StepShown, &CommandShown)> {
        self.steps
            .iter()
            .flat_map(|s| s.commands.iter().map(move |c| (s, c)))
            .filter(|(_, c)| c.result.is_none())
            .collect()
    }
}

/// The poller's snapshot (`EnsembleState::snapshot`):
/// `{"nodes": [{name, sid, client, health, zxid, view}]}`. A field that is missing or of
/// another shape shows as unknown rather than failing the replay: the log is evidence, and a
/// record its reader does not fully understand must still be shown.
pub(crate) fn nodes_of(state: &serde_json::Value) -> Vec<NodeShown> {
    let text = |v: &serde_json::Value| v.as_str().map(str::to_string);
    state["nodes"]
        .as_array()
        .map(|nodes| {
            nodes
                .iter()
                .map(|node| NodeShown {
                    name: text(&node["name"]).unwrap_or_else(|| "?".into()),
                    sid: node["sid"].as_u64(),
                    client: text(&node["client"]),
                    health: serde_json::from_value(node["health"].clone())
                        .unwrap_or(Health::Unknown),
                    zxid: node["zxid"].as_str().and_then(|z| Zxid::parse(z).ok()),
                    view: text(&node["view"]),
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The findings a snapshot recorded; one of another shape is left out, as a node field is.
pub(crate) fn findings_of(state: &serde_json::Value) -> Vec<FindingShown> {
    state["findings"]
        .as_array()
        .map(|findings| {
            findings
                .iter()
                .filter_map(|f| <FindingShown as serde::Deserialize>::deserialize(f).ok())
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::record::CommandOutcome;
    use crate::replay::fixtures::{at, recorded_session};

    #[test]
    fn a_session_is_rebuilt_record_by_record() {
        let log = recorded_session();
        let state = ReplayState::from_records(&log.records);
        let session = state.session.as_ref().unwrap();
        assert_eq!(
            (session.operator.as_str(), session.host.as_str()),
            ("alice", "jump1")
        );
        let ids: Vec<&str> = state.steps.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(ids, ["restart-first", "restart-second"]);
        let first = &state.steps[0];
        assert_eq!(first.state, Some(StepState::Done));
        assert_eq!(first.gates[0].gate, "synced");
        assert_eq!(first.decisions[0].decision, DecisionKind::Confirm);
        let result = first.commands[0].result.as_ref().unwrap();
        assert_eq!(
            (result.exit_status, &result.outcome),
            (Some(0), &CommandOutcome::Ok)
        );
        let second = &state.steps[1];
        assert_eq!(second.state, Some(StepState::Failed));
        assert!(!second.verdict.as_ref().unwrap().quorum_possible);
        let result = second.commands[0].result.as_ref().unwrap();
        assert_eq!(result.exit_status, Some(3));
        assert_eq!(state.output[0].host, "zk2");
        let health: Vec<&str> = state.nodes.iter().map(|n| n.health.label()).collect();
        assert_eq!(health, ["follower", "LEADER", "DOWN (refused)"]);
        assert_eq!(state.leader(), Some(1));
        assert_eq!(state.nodes[2].sid, Some(3));
        assert_eq!(state.nodes[1].zxid.map(|z| z.epoch()), Some(2));
        assert_eq!(state.ended.as_ref().unwrap().1, "the operator quit");
        assert!(state.open_commands().is_empty());
        assert_eq!(state.applied, log.records.len());
    }

    #[test]
    fn intents_after_a_resume_start_again_and_an_open_one_stays_open() {
        let log = recorded_session();
        let mut state = ReplayState::new();
        for record in &log.records[..8] {
            state.apply(record);
        }
        assert_eq!(state.open_commands().len(), 1, "intent 1 has no result yet");
        let resume = AuditRecord {
            seq: 99,
            ts: at(80),
            prev: crate::audit::RecordHash::GENESIS,
            event: AuditEvent::Resume { torn_line: Some(8) },
        };
        state.apply(&resume);
        let late_result = AuditRecord {
            event: AuditEvent::Result {
                intent: 1,
                exit_status: Some(0),
                duration_ms: 1,
                outcome: CommandOutcome::Ok,
            },
            ..resume.clone()
        };
        state.apply(&late_result);
        assert_eq!(
            state.open_commands().len(),
            1,
            "a result after a resume belongs to the new intent 1, not the crashed one"
        );
        assert_eq!(state.resumes, vec![(at(80), Some(8))]);
    }

    #[test]
    fn an_unexpected_snapshot_shape_shows_unknown_nodes() {
        let nodes = nodes_of(&serde_json::json!({"nodes": [{"health": 3}]}));
        assert_eq!(nodes[0].health, Health::Unknown);
        assert_eq!(nodes[0].zxid, None);
        assert_eq!(nodes[0].name, "?");
        assert!(nodes_of(&serde_json::json!("old")).is_empty());
    }

    /// A record of `event` (its place in the chain does not matter to the model).
    fn record(event: AuditEvent) -> AuditRecord {
        AuditRecord {
            seq: 0,
            ts: at(3),
            prev: crate::audit::RecordHash::GENESIS,
            event,
        }
    }

    /// The recorded session's first records, then an approval asked for `restart-first`.
    fn waiting_for_approval() -> ReplayState {
        let log = recorded_session();
        let mut state = ReplayState::from_records(&log.records[..3]);
        state.apply(&record(AuditEvent::ApprovalRequest {
            step: "restart-first".into(),
            same_user: true,
        }));
        state
    }

    #[test]
    fn a_wait_for_approval_ends_with_the_steps_next_decision() {
        let mut state = waiting_for_approval();
        assert_eq!(
            state.awaiting_approval().map(|s| s.id.as_str()),
            Some("restart-first")
        );
        assert_eq!(state.steps[0].awaiting_approval, Some(true));
        state.apply(&record(AuditEvent::Note {
            text: "approval refused".into(),
        }));
        assert!(
            state.awaiting_approval().is_some(),
            "a refusal does not end the wait"
        );
        state.apply(&record(AuditEvent::Decision {
            step: "restart-first".into(),
            decision: DecisionKind::Approve {
                by: "bob (uid 1001)".into(),
            },
            by: "alice".into(),
        }));
        assert!(state.awaiting_approval().is_none());
    }

    /// A session stopped while a step waited for approval, then resumed: nothing waits any
    /// more (the resumed console asks again), so `follow` offers no approval and `replay`
    /// shows no wait beside the stop. Both still did.
    #[test]
    fn a_stop_or_a_resume_ends_a_wait_for_approval() {
        let mut state = waiting_for_approval();
        state.apply(&record(AuditEvent::SessionStop {
            reason: "the operator quit".into(),
            records: 4,
        }));
        assert_eq!(state.steps[0].awaiting_approval, None);
        state.apply(&record(AuditEvent::Resume { torn_line: None }));
        assert!(state.awaiting_approval().is_none());
    }
}
