//! Pure: what `--autopilot` does next. It starts a step once its gates hold and nothing is
//! hazardous, confirms with `--yes`, and stops — naming why — wherever a person is needed:
//! a hazard, a block, a second operator, a typed host, a failure or an unknown outcome, or
//! gates that stay unmet for `GATE_PATIENCE_MS`, or a host bound by `pick:` that no longer
//! has the picked role. A step a resumed log left failed is retried
//! once its gates hold again (`--resume --autopilot` after the operator put the world right);
//! wherever it stops on a failure it names the decision and the console's key for each choice.

use std::collections::HashMap;

use super::keys::{RunKey, RUN_KEYS};
use super::run::RunState;
use crate::ensemble::Millis;
use crate::runbook::engine::{Input, Prompt, Status, CHECK_PENDING};

/// How long `--autopilot` waits for a step's gates to turn green before it gives up.
pub const GATE_PATIENCE_MS: Millis = 120_000;

/// The autopilot's decision.
#[derive(Debug, Clone, PartialEq)]
pub enum Next {
    /// Give the engine this input now.
    Input(Input),
    /// Nothing to decide: wait for the next action.
    Wait,
    /// Stop the run: `finished` only when every step is done.
    Stop { finished: bool, reason: String },
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Autopilot {
    /// With `--yes`: answer "yes" to steps that ask for a plain confirmation.
    pub yes: bool,
    /// Per step index, since when its gates have been waited for.
    waiting_for_gates: HashMap<usize, Millis>,
}

impl Autopilot {
    pub fn new(yes: bool) -> Autopilot {
        Autopilot {
            yes,
            waiting_for_gates: HashMap::new(),
        }
    }

    /// What to do now; `message` is the engine's message, taken by the caller to print, which
    /// stops the run when it explains why a pending step did not start.
    pub fn next(&mut self, state: &RunState, message: Option<&str>) -> Next {
        if let Some(failure) = &state.failed {
            return stop(failure.clone());
        }
        let engine = &state.engine;
        let Some(index) = engine.current() else {
            return Next::Stop {
                finished: true,
                reason: "every step done".into(),
            };
        };
        let step_id = &engine.procedure.steps[index].id;
        let idle = matches!(engine.status[index], Status::Pending)
            && engine.prompt.is_none()
            && !engine.checks_running();
        if let (Some(message), true) = (message, idle) {
            return stop(message.to_string());
        }
        let misfits = engine.pick_misfits(&state.watch.ensemble);
        match (&engine.status[index], &engine.prompt) {
            (Status::Pending, None) if idle && !misfits.is_empty() => stop(format!(
                "stopped before `{step_id}`: {}; the autopilot does not guess which server the \
                 runbook meant: a person must decide in the console (`zkpilot run` with \
                 --resume, without --autopilot): {}{} runs the step on the server as bound, or \
                 {} leaves the run stopped here",
                misfits.join("; "),
                rebind_offer(&engine.rebind_choices(&state.watch.ensemble)),
                key(RunKey::Run),
                key(RunKey::Quit)
            )),
            (Status::Pending, None) if idle => self.start_when_ready(state, index),
            (Status::Pending, Some(Prompt::Confirm)) if self.yes => Next::Input(Input::Confirm),
            (_, Some(Prompt::Confirm)) => stop(format!(
                "`{step_id}` asks for confirmation: run with --yes, or in the console"
            )),
            (_, Some(Prompt::TypeHost(host))) => {
                stop(format!("`{step_id}` needs a person to type {host}"))
            }
            (_, Some(Prompt::ConfirmRollback { .. })) => stop(format!(
                "`{step_id}`'s rollback asks for confirmation: decide in the console"
            )),
            (_, Some(Prompt::Approval { .. })) => stop(format!(
                "`{step_id}` needs a second operator's approval: run it in the console, where a \
                 follower can approve it"
            )),
            (_, Some(Prompt::Override { reasons })) => {
                stop(format!("`{step_id}` is blocked: {}", reasons.join("; ")))
            }
            (Status::OutcomeUnknown(why), Some(Prompt::Recover)) => stop(format!(
                "`{step_id}`: outcome unknown, check the host: {why}; then decide in the \
                 console (`zkpilot run` with --resume, without --autopilot): {} marks it done \
                 (typing how you checked), {} runs it again, {} skips it (with a reason)",
                key(RunKey::MarkDone),
                key(RunKey::Retry),
                key(RunKey::Skip)
            )),
            (Status::Failed(why), Some(Prompt::Recover))
                if engine.failed_before_resume.as_deref() == Some(step_id.as_str()) =>
            {
                self.retry_when_ready(state, index, why)
            }
            (Status::Failed(why), Some(Prompt::Recover)) => {
                stop(format!("`{step_id}` failed: {why}; {}", recovery()))
            }
            _ => Next::Wait,
        }
    }

    fn start_when_ready(&mut self, state: &RunState, index: usize) -> Next {
        let engine = &state.engine;
        let step_id = &engine.procedure.steps[index].id;
        let (hazards, mut unmet) = blockers(state);
        let stopped = engine.stopped_during_run(&state.watch.ensemble);
        if !hazards.is_empty() && stopped.is_empty() {
            return stop(format!(
                "stopped before `{step_id}`: {}",
                hazards.join("; ")
            ));
        }
        // A hazard that comes of a server stopped outside the runbook during the run (restarted
        // by hand, say) may pass once it runs again: it is waited for like a gate, within the
        // same patience. One already down when the run began stops the autopilot at once.
        let while_stopped = format!(
            " (while {} is stopped outside the runbook)",
            stopped
                .iter()
                .map(|h| engine.who(*h))
                .collect::<Vec<_>>()
                .join(", ")
        );
        unmet.extend(hazards.into_iter().map(|h| h + &while_stopped));
        let waited = self.gates_waited(index, state.watch.now);
        if unmet.is_empty() {
            Next::Input(Input::Start)
        } else if waited > GATE_PATIENCE_MS {
            stop(format!(
                "stopped before `{step_id}`: gates not met: {}",
                unmet.join("; ")
            ))
        } else {
            Next::Wait
        }
    }
}

impl Autopilot {
    /// How long the autopilot has waited on step `index`'s gates. The clock is the wall
    /// clock: one stepped back starts the count again, where it held the count at 0 for as
    /// long as it had been stepped back.
    fn gates_waited(&mut self, index: usize, now: Millis) -> Millis {
        let since = self.waiting_for_gates.entry(index).or_insert(now);
        if now < *since {
            *since = now;
        }
        now - *since
    }

    /// A step the resumed log left failed: retried once its gates hold and nothing is
    /// hazardous (the retry checks them again before anything runs), waited for within the
    /// gates' patience, else the decision is left to a person.
    fn retry_when_ready(&mut self, state: &RunState, index: usize, why: &str) -> Next {
        let step_id = &state.engine.procedure.steps[index].id;
        let (blocks, unmet) = blockers(state);
        let patience_over = self.gates_waited(index, state.watch.now) > GATE_PATIENCE_MS;
        match (blocks.is_empty(), unmet.is_empty()) {
            (true, true) => Next::Input(Input::Retry),
            (true, false) if !patience_over => Next::Wait,
            _ => stop(format!(
                "`{step_id}` failed before the resume ({why}) and cannot be retried now: {}; {}",
                blocks
                    .into_iter()
                    .chain(unmet.into_iter().map(|u| format!("gate not met: {u}")))
                    .collect::<Vec<_>>()
                    .join("; "),
                recovery()
            )),
        }
    }
}

/// The current step's hazards the runbook does not accept, and its gates not met (a check
/// gate, whose command runs when the step starts, not counted), in words.
fn blockers(state: &RunState) -> (Vec<String>, Vec<String>) {
    let readiness = state.engine.readiness(&state.watch.ensemble);
    let hazards = readiness
        .iter()
        .flat_map(|r| r.hazards.iter())
        .filter(|h| !h.accepted)
        .map(|h| format!("{}: {}", h.hazard, h.detail))
        .collect();
    let unmet = readiness
        .iter()
        .flat_map(|r| r.gates.iter())
        .filter_map(|(gate, result)| match result {
            Err(why) if why != CHECK_PENDING => Some(format!("{gate}: {why}")),
            _ => None,
        })
        .collect();
    (hazards, unmet)
}

/// The decision a failed step leaves to a person, with the console's key for each choice.
fn recovery() -> String {
    format!(
        "a person must decide in the console (`zkpilot run` with --resume, without \
         --autopilot): {} runs the step again, {} runs its rollback, {} skips it (with a reason)",
        key(RunKey::Retry),
        key(RunKey::Rollback),
        key(RunKey::Skip)
    )
}

/// The re-bind a person can choose in the console, with its key, when a server fits now.
fn rebind_offer(choices: &[crate::runbook::engine::Choice]) -> String {
    if choices.is_empty() {
        return String::new();
    }
    let to: Vec<&str> = choices.iter().map(|c| c.to.as_str()).collect();
    format!(
        "{} re-binds it to a server that fits now ({}, chosen with {}), ",
        key(RunKey::Rebind),
        to.join(", "),
        key(RunKey::Confirm)
    )
}

/// How the console's help writes the key of `action` (the key table is the one source).
fn key(action: RunKey) -> &'static str {
    RUN_KEYS
        .iter()
        .find(|binding| binding.action == action)
        .map_or("?", |binding| binding.label)
}

fn stop(reason: String) -> Next {
    Next::Stop {
        finished: false,
        reason,
    }
}
