//! Adapter: `zkpilot run`. Polls the ensemble, binds the runbook to it, writes the audit log,
//! runs commands over SSH, and drives the step engine — from the console, or without a screen
//! for `--autopilot`.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use sha2::{Digest, Sha256};
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::mpsc;

use super::terminal::{self, RawTerminal};
use crate::approval::{self, ApprovalFile, Dropped, Inbox};
use crate::audit::record::{AuditEvent, OutputStream, RecordHash, Secrets, SessionInfo, Timestamp};
use crate::audit::writer::default_audit_dir;
use crate::audit::{location, AuditWriter, Durability};
use crate::console::heartbeat::{self, Heartbeat};
use crate::console::run::{update, RunAction, RunState};
use crate::console::watch::WatchState;
use crate::ensemble::{inventory_services, inventory_targets, EnsembleState};
use crate::inventory::Inventory;
use crate::lock::LockOwner;
use crate::poll;
use crate::remote::{Connections, Outcome, SshTarget, Stream};
use crate::runbook::engine::{
    Effect, Ended, Engine, Input, Prompt, Recorded, Status, CHECK_PENDING,
};
use crate::runbook_files;
use crate::session;
use crate::view::{self, Look};
use crate::zk::version::ZkVersion;

pub struct RunOptions {
    pub runbook: PathBuf,
    pub inventory_path: PathBuf,
    pub inventory: Inventory,
    pub bindings: BTreeMap<String, String>,
    pub variables: BTreeMap<String, String>,
    pub interval: Duration,
    pub look: Look,
    pub audit: Option<PathBuf>,
    pub resume: Option<PathBuf>,
    pub autopilot: bool,
    /// With `--autopilot`: answer "yes" to steps that ask for a plain confirmation.
    pub yes: bool,
    pub zookeeper: Option<ZkVersion>,
    /// Break a stale ensemble lock of another session, for this reason.
    pub break_lock: Option<String>,
}

/// How a run ended, for the exit status and the last words on the terminal.
pub struct RunEnd {
    pub finished: bool,
    pub reason: String,
    pub audit_path: PathBuf,
    pub records: u64,
    pub head: String,
}

/// How long `--autopilot` waits for a step's gates to turn green before it gives up.
const GATE_PATIENCE_MS: u64 = 120_000;

pub async fn run(options: RunOptions) -> Result<RunEnd, String> {
    let targets = inventory_targets(&options.inventory);
    let (mut reports, pollers, demand) = poll::spawn_with_demand(&targets, options.interval);
    let mut ensemble = EnsembleState::new(targets);
    ensemble.services = inventory_services(&options.inventory);
    first_poll(&mut ensemble, &mut reports).await;
    let leader = ensemble
        .leader()
        .map(|i| ensemble.nodes[i].target.name.clone());
    // A resumed session runs on the hosts its log recorded: binding `pick: leader` again now
    // could name another host than the one the session already restarted.
    let resumed_log = match &options.resume {
        Some(path) => Some(session::read_resumed(path)?),
        None => None,
    };
    let bindings = match &resumed_log {
        Some(log) => {
            let recorded = log
                .records
                .iter()
                .find_map(|r| match &r.event {
                    AuditEvent::SessionStart(info) => Some(info.hosts.clone()),
                    _ => None,
                })
                .unwrap_or_default();
            resumed_bindings(&recorded, &options.bindings)?
        }
        None => options.bindings.clone(),
    };
    let loaded = runbook_files::load(
        &options.runbook,
        &options.inventory,
        &bindings,
        &options.variables,
        leader.as_deref(),
    )?;
    let procedure = loaded.procedure;
    let runbook_sha256 = session::hex(&Sha256::digest(loaded.text.as_bytes()));
    if let (Some(path), Some(log)) = (&options.resume, &resumed_log) {
        session::check_resume(
            path,
            log,
            &options.runbook,
            &runbook_sha256,
            &options.inventory_path,
            &procedure,
        )?;
    }
    let version = options
        .zookeeper
        .or_else(|| ensemble.version())
        .or_else(|| {
            options
                .inventory
                .zookeeper
                .as_deref()
                .and_then(ZkVersion::parse)
        })
        .unwrap_or(ZkVersion::NEWEST);
    let node_of = procedure
        .hosts
        .iter()
        .map(|h| {
            options
                .inventory
                .hosts
                .iter()
                .position(|i| i.name == h.inventory.name)
        })
        .collect();
    let connections = Arc::new(Connections::new(
        Duration::from_secs(10),
        std::env::temp_dir(),
    ));
    session::preflight(
        &options.inventory,
        &procedure,
        &connections,
        options.autopilot,
    )
    .await?;
    let operator = approval::current_person();
    let mut engine = Engine::new(procedure.clone(), version, node_of, operator.clone());

    let secrets = Secrets::new(procedure.secrets.clone());
    let shown_secrets = secrets.clone();
    let (mut writer, audit_path) = match &options.resume {
        Some(path) => {
            let (writer, resumed) =
                AuditWriter::open_append(path, secrets, now()).map_err(|e| e.to_string())?;
            engine.resume(&Recorded::of(resumed.records.iter().map(|r| &r.event)));
            (writer, path.clone())
        }
        None => {
            let path = match &options.audit {
                Some(path) => path.clone(),
                None => default_audit_dir().map_err(|e| e.to_string())?.join(
                    location::session_file_name(now(), &options.runbook.display().to_string()),
                ),
            };
            let session = SessionInfo {
                tool_version: env!("CARGO_PKG_VERSION").to_string(),
                runbook_path: options.runbook.display().to_string(),
                runbook_sha256: runbook_sha256.clone(),
                inventory_path: options.inventory_path.display().to_string(),
                operator: operator.name.clone(),
                host: hostname(),
                tty: tty(),
                hosts: procedure
                    .hosts
                    .iter()
                    .filter(|h| h.from_runbook)
                    .map(|h| (h.name.clone(), h.inventory.name.clone()))
                    .collect(),
                inventory_sha256: Some(session::file_sha256(&options.inventory_path)?),
            };
            let writer =
                AuditWriter::create(&path, session, secrets, now()).map_err(|e| e.to_string())?;
            (writer, path)
        }
    };

    let lock_owner = LockOwner {
        session: writer.session_id().to_string(),
        operator: operator.label(),
        console: hostname(),
        pid: std::process::id(),
        started: now().to_string(),
        log: std::fs::canonicalize(&audit_path)
            .unwrap_or_else(|_| audit_path.clone())
            .display()
            .to_string(),
    };
    let taken = session::take_lock(
        &options.inventory,
        &lock_owner,
        options.break_lock.as_deref(),
        &mut writer,
        &connections,
        now,
    )
    .await;
    let mut lock = match taken {
        Ok(lock) => lock,
        Err(e) => {
            let _ = writer.stop_session(&format!("refused before the first step: {e}"), now());
            connections.close_all().await;
            return Err(e);
        }
    };

    let ssh_targets: Vec<SshTarget> = procedure
        .hosts
        .iter()
        .map(|h| SshTarget::from_inventory(&options.inventory, &h.inventory))
        .collect();
    // Only a console can wait for a follower; `--autopilot` stops at such a step instead.
    let needs_inbox = !options.autopilot && procedure.steps.iter().any(|s| s.approval.is_some());
    let inbox = match needs_inbox.then(|| Inbox::create(&audit_path)) {
        Some(Err(e)) => {
            // The log was opened for this session: it is stopped saying why nothing ran.
            lock.release().await;
            let _ = writer.stop_session(&e, now());
            return Err(e);
        }
        Some(Ok(inbox)) => Some(inbox),
        None => None,
    };
    let (events_tx, events) = mpsc::channel(256);
    // Every inventory host's `config` and `status` verbs: a node that shows no current view of
    // its own has its config read over SSH, a LOOKING one its process id, as `watch` does.
    let config_reads = options
        .inventory
        .hosts
        .iter()
        .map(|host| HostReads {
            target: SshTarget::from_inventory(&options.inventory, host),
            config: host.command("config").map(str::to_string),
            status: host.command("status").map(str::to_string),
        })
        .collect();
    let mut performer = Performer {
        config_reads,
        writer,
        inbox,
        since_request: None,
        connections: connections.clone(),
        events: events_tx,
        targets: ssh_targets,
        autopilot: options.autopilot,
        last_snapshot: None,
        failed: None,
        secrets: shown_secrets,
        ignored: approval::Ignored::default(),
        demand,
    };
    let watch = WatchState::new(procedure.name.clone(), ensemble, poll::unix_millis());
    let mut state = RunState::new(watch, engine, audit_path.display().to_string());
    performer.snapshot(&state.watch.ensemble);

    let outcome = if options.autopilot {
        autopilot(
            &mut state,
            &mut performer,
            &mut reports,
            events,
            options.yes,
        )
        .await
    } else {
        console(
            &mut state,
            &mut performer,
            &mut reports,
            events,
            &options.look,
        )
        .await
    };
    for poller in pollers {
        poller.abort();
    }
    lock.release().await;
    connections.close_all().await;
    let (finished, reason) = outcome.map_err(|e| e.to_string())?;
    let reason = performer
        .secrets
        .scrub(performer.failed.clone().unwrap_or(reason));
    performer.note_ignored();
    if let Some(inbox) = performer.inbox.take() {
        inbox.close();
    }
    // Only a session with every step done is closed for good; any other stop can be resumed.
    let head = if finished {
        performer.writer.end_session(&reason, now())
    } else {
        performer.writer.stop_session(&reason, now())
    }
    .map_err(|e| e.to_string())?;
    Ok(RunEnd {
        finished,
        reason,
        audit_path,
        records: head.records,
        head: head.hash.to_string(),
    })
}

/// Waits a few seconds for every node's first answer, so the runbook binds to the live leader.
async fn first_poll(
    ensemble: &mut EnsembleState,
    reports: &mut mpsc::Receiver<crate::ensemble::PollReport>,
) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while ensemble
        .nodes
        .iter()
        .any(|n| n.health == crate::ensemble::Health::Unknown)
    {
        match tokio::time::timeout_at(deadline, reports.recv()).await {
            Ok(Some(report)) => {
                ensemble.apply(&report);
            }
            _ => return,
        }
    }
}

struct Performer {
    writer: AuditWriter,
    /// Where followers drop approvals, when a step of the runbook needs one.
    inbox: Option<Inbox>,
    /// While a step waits for approval, the hashes of the records written since it asked: an
    /// approval must name one of them, which shows its follower saw that request in this log.
    since_request: Option<HashSet<RecordHash>>,
    connections: Arc<Connections>,
    events: mpsc::Sender<RunAction>,
    targets: Vec<SshTarget>,
    /// Per live node: where and how to read its config and process id over SSH.
    config_reads: Vec<HostReads>,
    autopilot: bool,
    last_snapshot: Option<serde_json::Value>,
    /// Set when the audit log cannot be written: nothing else may run after that.
    failed: Option<String>,
    /// What autopilot prints is masked like the log.
    secrets: Secrets,
    /// Inbox files of the current burst that were no approval, for its one note.
    ignored: approval::Ignored,
    /// Tells the poller what the current step's gates and waits need (issue 13).
    demand: poll::Demand,
}

impl Performer {
    fn perform(&mut self, effects: Vec<Effect>) {
        for effect in effects {
            if self.failed.is_some() {
                return;
            }
            match effect {
                Effect::Record { event, sync } => {
                    if self.autopilot {
                        narrate(&event, &self.secrets);
                    }
                    let durability = if sync {
                        Durability::Sync
                    } else {
                        Durability::Buffered
                    };
                    let wait = match &event {
                        AuditEvent::ApprovalRequest { .. } => Some(true),
                        // The step's next decision or state change ends its wait.
                        AuditEvent::Decision { .. } | AuditEvent::Step { .. } => Some(false),
                        _ => None,
                    };
                    match self.writer.append(event, now(), durability) {
                        Ok(_) => {
                            match wait {
                                Some(true) => self.since_request = Some(HashSet::new()),
                                Some(false) => self.since_request = None,
                                None => {}
                            }
                            if let Some(hashes) = &mut self.since_request {
                                hashes.insert(self.writer.head().hash);
                            }
                        }
                        Err(e) => {
                            self.failed = Some(format!(
                                "the audit log cannot be written, so nothing more runs: {e}"
                            ))
                        }
                    }
                }
                Effect::Execute {
                    intent,
                    host,
                    command,
                    timeout,
                } => {
                    let Some(target) = self.targets.get(host).cloned() else {
                        continue;
                    };
                    let connections = self.connections.clone();
                    let events = self.events.clone();
                    tokio::spawn(async move {
                        let (lines_tx, mut lines) = mpsc::unbounded_channel();
                        let forward_events = events.clone();
                        let forward = tokio::spawn(async move {
                            while let Some(line) = lines.recv().await {
                                if forward_events
                                    .send(RunAction::Output { intent, line })
                                    .await
                                    .is_err()
                                {
                                    return;
                                }
                            }
                        });
                        let outcome = connections
                            .run(
                                &target,
                                &command.text,
                                command.stdin.as_deref(),
                                timeout,
                                lines_tx,
                            )
                            .await;
                        let _ = forward.await;
                        let ended = match outcome {
                            Outcome::Exited { code, duration } => Ended::Exited {
                                code,
                                duration_ms: millis(duration),
                            },
                            Outcome::NotRun(e) => Ended::NotRun(e.to_string()),
                            Outcome::Unknown { reason, duration } => Ended::Unknown {
                                reason,
                                duration_ms: millis(duration),
                            },
                        };
                        tracing::info!(intent, ?ended, "command ended");
                        let _ = events.send(RunAction::Ended { intent, ended }).await;
                    });
                }
            }
        }
    }

    fn output(&mut self, intent: u64, stream: Stream, text: &str) {
        let stream = match stream {
            Stream::Stdout => OutputStream::Stdout,
            Stream::Stderr => OutputStream::Stderr,
        };
        let event = AuditEvent::Output {
            intent,
            stream,
            text: text.to_string(),
        };
        if let Err(e) = self.writer.append(event, now(), Durability::Buffered) {
            self.failed = Some(format!(
                "the audit log cannot be written, so nothing more runs: {e}"
            ));
        }
    }

    /// Records the ensemble when its roles, epochs or views changed, not on every poll.
    fn snapshot(&mut self, ensemble: &EnsembleState) {
        let state = ensemble.snapshot();
        if self.last_snapshot.as_ref() != Some(&state) {
            self.last_snapshot = Some(state.clone());
            if let Err(e) =
                self.writer
                    .append(AuditEvent::Snapshot { state }, now(), Durability::Buffered)
            {
                self.failed = Some(format!(
                    "the audit log cannot be written, so nothing more runs: {e}"
                ));
            }
        }
    }

    /// Turns the files followers dropped into approvals the engine judges; what cannot be
    /// one is recorded as a note, so the follower sees why nothing happened.
    fn approvals(&mut self, state: &mut RunState) {
        let Some(inbox) = &self.inbox else {
            return;
        };
        let taken = inbox.take();
        if taken.is_empty() {
            // The burst of files that were no approval is over: one note says what it was.
            self.note_ignored();
            return;
        }
        for Dropped { owner, content } in taken {
            let action = match content {
                Ok(ApprovalFile { step, head })
                    if self
                        .since_request
                        .as_ref()
                        .is_some_and(|hashes| hashes.contains(&head)) =>
                {
                    RunAction::Approval {
                        step,
                        approver: owner,
                    }
                }
                Ok(ApprovalFile { step, .. }) => {
                    self.ignored.add(
                        &owner,
                        format!(
                            "approval of `{step}` refused: no step waits for approval, or it names a log \
                             head this console has not written since it asked (another session, or \
                             an earlier request)"
                        ),
                    );
                    continue;
                }
                Err(why) => {
                    self.ignored.add(&owner, why);
                    continue;
                }
            };
            self.handle(state, action);
        }
    }

    fn note_ignored(&mut self) {
        if let Some(text) = self.ignored.note() {
            self.note(text);
        }
    }

    fn note(&mut self, text: String) {
        self.perform(vec![Effect::Record {
            event: AuditEvent::Note { text },
            sync: true,
        }]);
    }

    fn handle(&mut self, state: &mut RunState, action: RunAction) {
        if let RunAction::Output { intent, line } = &action {
            self.output(*intent, line.stream, &line.text);
        }
        let changes_live = matches!(
            action,
            RunAction::Poll(_) | RunAction::ZooCfg { .. } | RunAction::ProcessId { .. }
        );
        let effects = update(state, action);
        if changes_live {
            self.snapshot(&state.watch.ensemble);
            self.read_configs(state);
        }
        self.perform(effects);
        let needs = state.engine.needs(&state.watch.ensemble);
        for (node, need) in needs.into_iter().enumerate() {
            self.demand.set(node, need);
        }
    }

    /// Starts an SSH read of the config of every node that shows no current view of its own,
    /// and of the process id of every LOOKING node.
    fn read_configs(&self, state: &mut RunState) {
        let now = poll::unix_millis();
        for node in state.watch.ensemble.zoo_cfg_reads_due(now) {
            let Some(reads) = self.config_reads.get(node).cloned() else {
                continue;
            };
            let connections = self.connections.clone();
            let events = self.events.clone();
            tokio::spawn(async move {
                let result = connections
                    .read_config(&reads.target, reads.config.as_deref())
                    .await;
                let at = poll::unix_millis();
                let _ = events.send(RunAction::ZooCfg { node, result, at }).await;
            });
        }
        for node in state.watch.ensemble.pid_reads_due(now) {
            let Some(HostReads {
                target,
                status: Some(status),
                ..
            }) = self.config_reads.get(node).cloned()
            else {
                continue;
            };
            let connections = self.connections.clone();
            let events = self.events.clone();
            tokio::spawn(async move {
                let result = connections.read(&target, &status).await;
                let at = poll::unix_millis();
                let _ = events.send(RunAction::ProcessId { node, result, at }).await;
            });
        }
    }
}

/// How to read one host's config and process id over SSH (its `config` and `status` verbs).
#[derive(Clone)]
struct HostReads {
    target: SshTarget,
    config: Option<String>,
    status: Option<String>,
}

type Ending = Result<(bool, String), io::Error>;

async fn console(
    state: &mut RunState,
    performer: &mut Performer,
    reports: &mut mpsc::Receiver<crate::ensemble::PollReport>,
    mut events: mpsc::Receiver<RunAction>,
    look: &Look,
) -> Ending {
    let stop_keys = Arc::new(AtomicBool::new(false));
    let mut keys = terminal::spawn_key_reader(stop_keys.clone());
    let mut terminate = signal(SignalKind::terminate())?;
    let mut hangup = signal(SignalKind::hangup())?;
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut terminal = RawTerminal::enter()?;
    let result = loop {
        if let Err(e) = terminal
            .screen
            .draw(|frame| view::run::draw_run(frame, state, look))
        {
            break Err(e);
        }
        let action = tokio::select! {
            biased;
            Some(key) = keys.recv() => RunAction::Key(key),
            Some(event) = events.recv() => event,
            Some(report) = reports.recv() => RunAction::Poll(report),
            _ = tick.tick() => RunAction::Tick(poll::unix_millis()),
            _ = terminate.recv() => break Ok((state.engine.finished(), "terminated by a signal".into())),
            _ = hangup.recv() => break Ok((state.engine.finished(), "the terminal hung up".into())),
        };
        let tick = matches!(action, RunAction::Tick(_));
        performer.handle(state, action);
        if tick {
            performer.approvals(state);
        }
        if let Some(failure) = &performer.failed {
            state.engine.message = Some(failure.clone());
        }
        if state.quit {
            let reason = if state.engine.finished() {
                "every step done"
            } else {
                "the operator quit"
            };
            break Ok((state.engine.finished(), reason.into()));
        }
    };
    stop_keys.store(true, Ordering::Relaxed);
    drop(terminal);
    result
}

async fn autopilot(
    state: &mut RunState,
    performer: &mut Performer,
    reports: &mut mpsc::Receiver<crate::ensemble::PollReport>,
    mut events: mpsc::Receiver<RunAction>,
    yes: bool,
) -> Ending {
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    let mut waiting_for_gates: HashMap<usize, u64> = HashMap::new();
    let mut heartbeat = Heartbeat::default();
    loop {
        if let Some(failure) = &performer.failed {
            return Ok((false, failure.clone()));
        }
        let Some(index) = state.engine.current() else {
            return Ok((true, "every step done".into()));
        };
        let step_id = state.engine.procedure.steps[index].id.clone();
        match (&state.engine.status[index], state.engine.prompt.clone()) {
            (Status::Pending, None) if !state.engine.checks_running() => {
                let readiness = state.engine.readiness(&state.watch.ensemble);
                let hazards: Vec<String> = readiness
                    .iter()
                    .flat_map(|r| r.hazards.iter())
                    .filter(|h| !h.accepted)
                    .map(|h| format!("{}: {}", h.hazard, h.detail))
                    .collect();
                if !hazards.is_empty() {
                    return Ok((
                        false,
                        format!("stopped before `{step_id}`: {}", hazards.join("; ")),
                    ));
                }
                let unmet: Vec<String> = readiness
                    .iter()
                    .flat_map(|r| r.gates.iter())
                    .filter_map(|(gate, result)| match result {
                        Err(why) if why != CHECK_PENDING => Some(format!("{gate}: {why}")),
                        _ => None,
                    })
                    .collect();
                let since = *waiting_for_gates.entry(index).or_insert(state.watch.now);
                if unmet.is_empty() {
                    let effects = state.engine.input(Input::Start, &state.watch.ensemble);
                    performer.perform(effects);
                } else if state.watch.now.saturating_sub(since) > GATE_PATIENCE_MS {
                    return Ok((
                        false,
                        format!(
                            "stopped before `{step_id}`: gates not met: {}",
                            unmet.join("; ")
                        ),
                    ));
                }
            }
            (Status::Pending, Some(Prompt::Confirm)) if yes => {
                let effects = state.engine.input(Input::Confirm, &state.watch.ensemble);
                performer.perform(effects);
            }
            (_, Some(Prompt::Confirm)) => {
                return Ok((
                    false,
                    format!("`{step_id}` asks for confirmation: run with --yes, or in the console"),
                ))
            }
            (_, Some(Prompt::TypeHost(host))) => {
                return Ok((false, format!("`{step_id}` needs a person to type {host}")))
            }
            (_, Some(Prompt::Approval { .. })) => {
                return Ok((
                    false,
                    format!("`{step_id}` needs a second operator's approval: run it in the console, where a follower can approve it"),
                ))
            }
            (_, Some(Prompt::Override { reasons })) => {
                return Ok((
                    false,
                    format!("`{step_id}` is blocked: {}", reasons.join("; ")),
                ))
            }
            (Status::OutcomeUnknown(why), Some(Prompt::Recover)) => {
                return Ok((
                    false,
                    format!("`{step_id}`: outcome unknown, check the host: {why}"),
                ))
            }
            (Status::Failed(why), Some(Prompt::Recover)) => {
                return Ok((false, format!("`{step_id}` failed: {why}")))
            }
            _ => {}
        }
        if let Some(message) = state.engine.message.take() {
            println!("{}", shown(&message, &performer.secrets));
            if matches!(state.engine.status[index], Status::Pending)
                && state.engine.prompt.is_none()
                && !state.engine.checks_running()
            {
                return Ok((false, message));
            }
        }
        let action = tokio::select! {
            Some(event) = events.recv() => event,
            Some(report) = reports.recv() => RunAction::Poll(report),
            _ = tick.tick() => RunAction::Tick(poll::unix_millis()),
            _ = interrupt.recv() => return Ok((false, "interrupted".into())),
            _ = terminate.recv() => return Ok((false, "terminated by a signal".into())),
        };
        performer.handle(state, action);
        if let Some(line) = heartbeat.beat(state.watch.now, heartbeat::waiting_for(state)) {
            println!("{line}");
        }
    }
}

/// A line autopilot prints: secrets masked, then escaped, since step ids, commands and
/// reasons come from the runbook and the hosts.
fn shown(line: &str, secrets: &Secrets) -> String {
    crate::escape::sanitize(&secrets.scrub(line.to_string()))
}

/// What `--autopilot` prints: one line per step state, decision, intent and result.
fn narrate(event: &AuditEvent, secrets: &Secrets) {
    let line = match event {
        AuditEvent::Step { step, state } => format!("step {step}: {state:?}"),
        AuditEvent::Intent { host, command, .. } => format!("  {host} $ {command}"),
        AuditEvent::Result {
            exit_status,
            duration_ms,
            outcome,
            ..
        } => {
            format!("  -> {outcome:?} (exit {exit_status:?}, {duration_ms} ms)")
        }
        AuditEvent::Decision { step, decision, .. } => format!("  {step}: {decision:?}"),
        _ => return,
    };
    println!("{}", shown(&line, secrets));
}

/// The bindings of a resumed session: the hosts its log recorded, which `--bind` may repeat
/// but not change, since the steps already run ran on the recorded hosts.
fn resumed_bindings(
    recorded: &BTreeMap<String, String>,
    given: &BTreeMap<String, String>,
) -> Result<BTreeMap<String, String>, String> {
    let mut bindings = given.clone();
    for (name, host) in recorded {
        match given.get(name) {
            Some(other) if other != host => {
                return Err(format!(
                    "--bind {name}={other}: the session being resumed bound `{name}` to {host}"
                ))
            }
            _ => {
                bindings.insert(name.clone(), host.clone());
            }
        }
    }
    Ok(bindings)
}

fn now() -> Timestamp {
    Timestamp::from_system_time(SystemTime::now())
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "unknown".into())
}

fn tty() -> Option<String> {
    std::fs::read_link("/proc/self/fd/0")
        .ok()
        .map(|p| p.display().to_string())
        .filter(|p| p.starts_with("/dev/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn a_resumed_session_keeps_the_hosts_it_recorded_and_refuses_a_contrary_bind() {
        let recorded = map(&[("leader", "zk3"), ("first", "zk1")]);
        assert_eq!(
            resumed_bindings(&recorded, &map(&[("leader", "zk3"), ("spare", "zk5")])),
            Ok(map(&[
                ("first", "zk1"),
                ("leader", "zk3"),
                ("spare", "zk5")
            ]))
        );
        let refused = resumed_bindings(&recorded, &map(&[("leader", "zk2")])).unwrap_err();
        assert!(refused.contains("bound `leader` to zk3"), "{refused}");
    }
}
