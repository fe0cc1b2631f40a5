//! Moving through a recorded session: play and pause, speed, record by record, and jumps
//! between markers. Time is virtual: the adapter says how much wall time passed, and gaps
//! between records longer than `IDLE_CAP_MS` are played as `IDLE_CAP_MS`, so a 90-second
//! wait does not hold the viewer for 90 seconds.

use crate::audit::record::{AuditEvent, AuditRecord, ChainHead, DecisionKind, StepState};
use crate::audit::{ChainProblem, Verified};

use super::model::ReplayState;

/// The longest pause replayed between two records, in virtual milliseconds.
pub const IDLE_CAP_MS: u64 = 2_000;
pub const MAX_SPEED: u32 = 64;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MarkerKind {
    /// A step starts running.
    Step,
    /// A verdict predicts split brain or no quorum.
    Warning,
    /// A hazard or gate overridden, or a step skipped, with a reason.
    Override,
    /// A step failed, or its outcome is unknown.
    Failure,
    Approval,
    Resume,
    End,
}

impl MarkerKind {
    pub fn label(self) -> &'static str {
        match self {
            MarkerKind::Step => "step",
            MarkerKind::Warning => "warning",
            MarkerKind::Override => "override",
            MarkerKind::Failure => "failure",
            MarkerKind::Approval => "approval",
            MarkerKind::Resume => "resume",
            MarkerKind::End => "end",
        }
    }
}

/// A record worth jumping to; `index` is its place among the records.
#[derive(Debug, Clone, PartialEq)]
pub struct Marker {
    pub index: usize,
    pub kind: MarkerKind,
    pub label: String,
}

/// What a record means on the timeline, if anything.
pub fn marker_of(index: usize, record: &AuditRecord) -> Option<Marker> {
    let (kind, label) = match &record.event {
        AuditEvent::Step {
            step,
            state: StepState::Running,
        } => (MarkerKind::Step, format!("step {step}")),
        AuditEvent::Step {
            step,
            state: state @ (StepState::Failed | StepState::OutcomeUnknown),
        } => (
            MarkerKind::Failure,
            format!(
                "{step} {}",
                if *state == StepState::Failed {
                    "failed"
                } else {
                    "outcome unknown"
                }
            ),
        ),
        AuditEvent::Verdict {
            step,
            quorum_possible,
            split_brain_possible,
            ..
        } if *split_brain_possible || !quorum_possible => (
            MarkerKind::Warning,
            format!(
                "{step}: {}",
                if *split_brain_possible {
                    "split brain possible"
                } else {
                    "no quorum"
                }
            ),
        ),
        AuditEvent::Decision { step, decision, .. } => match decision {
            DecisionKind::Override { reason } => {
                (MarkerKind::Override, format!("{step} overridden: {reason}"))
            }
            DecisionKind::Skip { reason } => {
                (MarkerKind::Override, format!("{step} skipped: {reason}"))
            }
            DecisionKind::Approve { by } => {
                (MarkerKind::Approval, format!("{step} approved by {by}"))
            }
            _ => return None,
        },
        AuditEvent::Resume { .. } => (MarkerKind::Resume, "session resumed".to_string()),
        AuditEvent::SessionEnd { reason, .. } => (MarkerKind::End, format!("end: {reason}")),
        _ => return None,
    };
    Some(Marker { index, kind, label })
}

/// How far the log's chain holds, as found when it was read.
#[derive(Debug, Clone, PartialEq)]
pub enum Verification {
    Intact(Verified),
    /// The records shown are those before the problem.
    Broken(ChainProblem),
    /// A log still being written (`follow`): verified up to `ChainHead`, the follower's anchor.
    Growing(ChainHead),
}

#[derive(Debug, Clone)]
pub struct Player {
    records: Vec<AuditRecord>,
    markers: Vec<Marker>,
    pub state: ReplayState,
    pub verification: Verification,
    pub playing: bool,
    pub speed: u32,
    /// The step shown on the right when the viewer chose one; else the session's current one.
    pub selected: Option<usize>,
    pub help: bool,
    /// `follow`: the step id being typed to approve it.
    pub typing: Option<String>,
    pub quit: bool,
    /// Virtual time played since the record at the current position.
    played_ms: u64,
}

impl Player {
    pub fn new(records: Vec<AuditRecord>, verification: Verification) -> Player {
        let markers = records
            .iter()
            .enumerate()
            .filter_map(|(i, r)| marker_of(i, r))
            .collect();
        Player {
            records,
            markers,
            state: ReplayState::new(),
            verification,
            playing: false,
            speed: 1,
            selected: None,
            help: false,
            typing: None,
            quit: false,
            played_ms: 0,
        }
    }

    pub fn records(&self) -> &[AuditRecord] {
        &self.records
    }

    pub fn markers(&self) -> &[Marker] {
        &self.markers
    }

    /// How many records are applied: the screen shows the session just after the last one.
    pub fn position(&self) -> usize {
        self.state.applied
    }

    pub fn at_end(&self) -> bool {
        self.position() == self.records.len()
    }

    /// A record appended to a growing log. Shown at once when the viewer is at the live edge.
    pub fn push(&mut self, record: AuditRecord) {
        let at_edge = self.at_end();
        if let Some(marker) = marker_of(self.records.len(), &record) {
            self.markers.push(marker);
        }
        self.records.push(record);
        if at_edge {
            self.seek(self.records.len());
        }
    }

    pub fn seek(&mut self, position: usize) {
        let position = position.min(self.records.len());
        if position < self.position() {
            self.state = ReplayState::new();
        }
        while self.position() < position {
            self.state.apply(&self.records[self.position()]);
        }
        self.played_ms = 0;
    }

    pub fn step_forward(&mut self) {
        self.seek(self.position() + 1);
    }

    pub fn step_back(&mut self) {
        self.seek(self.position().saturating_sub(1));
    }

    pub fn toggle_play(&mut self) {
        if self.at_end() && !self.playing {
            self.seek(0);
        }
        self.playing = !self.playing;
    }

    pub fn faster(&mut self) {
        self.speed = (self.speed * 2).min(MAX_SPEED);
    }

    pub fn slower(&mut self) {
        self.speed = (self.speed / 2).max(1);
    }

    /// The virtual pause before the record at `index`, idle time capped.
    fn gap_before(&self, index: usize) -> u64 {
        match (index.checked_sub(1), self.records.get(index)) {
            (Some(prev), Some(next)) => {
                let gap = next.ts.unix_millis() - self.records[prev].ts.unix_millis();
                u64::try_from(gap).unwrap_or(0).min(IDLE_CAP_MS)
            }
            _ => 0,
        }
    }

    /// `wall_ms` of real time passed: play the records that fall due at the current speed.
    pub fn tick(&mut self, wall_ms: u64) {
        if !self.playing {
            return;
        }
        self.played_ms = self
            .played_ms
            .saturating_add(wall_ms.saturating_mul(u64::from(self.speed)));
        while !self.at_end() {
            let gap = self.gap_before(self.position());
            if self.played_ms < gap {
                return;
            }
            let left = self.played_ms - gap;
            self.state.apply(&self.records[self.position()]);
            self.played_ms = left;
        }
        self.playing = false;
        self.played_ms = 0;
    }

    /// Jumps just past the next marker (of `kind`, or any), so the screen shows that record
    /// applied. Returns whether there was one.
    pub fn next_marker(&mut self, kind: Option<MarkerKind>) -> bool {
        let position = self.position();
        let found = self
            .markers
            .iter()
            .find(|m| m.index >= position && kind.is_none_or(|k| m.kind == k))
            .map(|m| m.index + 1);
        found.map(|to| self.seek(to)).is_some()
    }

    pub fn previous_marker(&mut self, kind: Option<MarkerKind>) -> bool {
        let position = self.position();
        let found = self
            .markers
            .iter()
            .rev()
            .find(|m| m.index + 1 < position && kind.is_none_or(|k| m.kind == k))
            .map(|m| m.index + 1);
        found.map(|to| self.seek(to)).is_some()
    }

    /// The step on the right: the viewer's choice, else the one the session was at.
    pub fn shown_step(&self) -> Option<usize> {
        self.selected
            .filter(|i| *i < self.state.steps.len())
            .or(self.state.current)
    }

    pub fn select_next(&mut self) {
        let last = self.state.steps.len().saturating_sub(1);
        self.selected = Some(self.shown_step().map_or(0, |i| (i + 1).min(last)));
    }

    pub fn select_previous(&mut self) {
        self.selected = Some(self.shown_step().map_or(0, |i| i.saturating_sub(1)));
    }

    /// The marker at or before the current position, for the timeline caption.
    pub fn last_marker(&self) -> Option<&Marker> {
        self.markers
            .iter()
            .rev()
            .find(|m| m.index < self.position())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::replay::fixtures::recorded_session;

    fn player() -> Player {
        let log = recorded_session();
        let verified = log.verification.clone().unwrap();
        Player::new(log.records, Verification::Intact(verified))
    }

    #[test]
    fn markers_name_steps_warnings_overrides_and_failures() {
        let player = player();
        let kinds: Vec<(MarkerKind, &str)> = player
            .markers()
            .iter()
            .map(|m| (m.kind, m.label.as_str()))
            .collect();
        assert_eq!(
            kinds,
            [
                (MarkerKind::Step, "step restart-first"),
                (MarkerKind::Warning, "restart-second: no quorum"),
                (MarkerKind::Override, "restart-second overridden: drill"),
                (MarkerKind::Step, "step restart-second"),
                (MarkerKind::Failure, "restart-second failed"),
                (MarkerKind::End, "end: the operator quit"),
            ]
        );
    }

    #[test]
    fn jumps_land_just_after_the_marker_and_back_again() {
        let mut player = player();
        assert!(player.next_marker(Some(MarkerKind::Failure)));
        let failed = player.state.steps[1].state;
        assert_eq!(failed, Some(StepState::Failed));
        assert!(player.previous_marker(Some(MarkerKind::Override)));
        assert_eq!(player.state.steps[1].decisions.len(), 1);
        assert_eq!(player.state.steps[1].state, None, "not started yet");
        assert!(player.previous_marker(None), "the warning before it");
        assert!(player.state.steps[1].decisions.is_empty());
        assert!(!player.previous_marker(Some(MarkerKind::Failure)));
        assert!(player.next_marker(None));
        assert!(!player.next_marker(Some(MarkerKind::Approval)));
    }

    #[test]
    fn stepping_back_rebuilds_the_same_state_as_playing_forward() {
        let mut player = player();
        player.seek(12);
        let forward = player.state.clone();
        player.seek(player.records().len());
        for _ in 12..player.records().len() {
            player.step_back();
        }
        assert_eq!(player.state, forward);
    }

    #[test]
    fn playing_compresses_idle_gaps_and_speed_doubles_up_to_64() {
        let mut player = player();
        player.toggle_play();
        player.tick(0);
        assert_eq!(
            player.position(),
            2,
            "header and session start share a second"
        );
        player.tick(999);
        assert_eq!(player.position(), 2);
        player.tick(1);
        assert_eq!(player.position(), 3, "the snapshot a second later");
        player.seek(13);
        player.playing = true;
        // 60 s passed between records 12 and 13 in the session: played as IDLE_CAP_MS.
        player.tick(IDLE_CAP_MS - 1);
        assert_eq!(player.position(), 13);
        player.tick(1);
        assert_eq!(player.position(), 14);
        for _ in 0..10 {
            player.faster();
        }
        assert_eq!(player.speed, MAX_SPEED);
        player.tick(1_000);
        assert!(player.at_end());
        assert!(!player.playing, "playing stops at the end");
        player.slower();
        assert_eq!(player.speed, 32);
        player.toggle_play();
        assert_eq!(player.position(), 0, "play at the end starts over");
    }

    #[test]
    fn a_growing_log_shows_new_records_only_at_the_live_edge() {
        let log = recorded_session();
        let mut records = log.records.into_iter();
        let mut player = Player::new(
            Vec::new(),
            Verification::Growing(ChainHead {
                records: 0,
                hash: crate::audit::RecordHash::GENESIS,
            }),
        );
        for record in records.by_ref().take(5) {
            player.push(record);
        }
        assert_eq!(player.position(), 5);
        player.step_back();
        for record in records {
            player.push(record);
        }
        assert_eq!(player.position(), 4, "a viewer looking back is not moved");
        player.seek(usize::MAX);
        assert!(player.state.ended.is_some());
        assert_eq!(player.markers().len(), 6);
    }
}
