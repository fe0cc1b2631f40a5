//! A runbook bound to an inventory and validated whole before anything runs (pure): hosts
//! resolved, views turned into server lines, variables interpolated and shell-quoted, gates and
//! effects checked. Every error names the file, line and column of the offending value.
//!
//! `bind` runs the parts in order, each in its own file: `hosts` (runbook hosts to inventory
//! hosts, the unnamed servers, spares, services and the initial state), `include` (fragments),
//! `views` (server lines), `variables` (values and `${…}`), then per step `steps` (names and the
//! step itself), `for_each` (groups and repetitions), `commands`, `gates` (and waits) and
//! `effects`.

mod commands;
mod effects;
mod for_each;
mod gates;
mod hosts;
mod include;
mod steps;
mod variables;
mod views;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::model::{Acceptance, Approval, Confirm, Runbook};
use crate::inventory::{Host, Inventory};
use crate::text::yaml::{self, YamlError};
use crate::zk::config::{PeerAddr, View};
use crate::zk::fourlw::{Command as Word, Mode};

pub use for_each::leader_last;
pub use hosts::{inventory_view, INVENTORY_VIEW};

/// What the caller provides besides the runbook text: the inventory, explicit bindings of
/// runbook hosts to inventory hosts, variable values, and a reader for included fragments.
pub struct BindInput<'a> {
    pub inventory: &'a Inventory,
    /// The inventory name of the live leader, when known, for hosts bound with `pick`.
    pub leader: Option<&'a str>,
    pub bindings: &'a BTreeMap<String, String>,
    pub variables: &'a BTreeMap<String, String>,
    pub read_fragment: &'a dyn Fn(&Path) -> Result<String, String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Procedure {
    pub name: String,
    pub description: String,
    pub source: String,
    pub teaching: Option<String>,
    pub path: PathBuf,
    pub hosts: Vec<BoundHost>,
    /// The inventory's services in front of the runbook's hosts.
    pub services: Vec<BoundService>,
    pub views: BTreeMap<String, View>,
    pub initial: InitialState,
    pub steps: Vec<Step>,
    /// Values never to be written to the audit log or shown.
    pub secrets: Vec<String>,
}

impl Procedure {
    /// Each host the runbook names, with the inventory host bound to it: what a plan shows and
    /// a session's log records.
    pub fn bindings<B: FromIterator<(String, String)>>(&self) -> B {
        self.hosts
            .iter()
            .filter(|h| h.from_runbook)
            .map(|h| (h.name.clone(), h.inventory.name.clone()))
            .collect()
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct BoundHost {
    /// The runbook's name for it.
    pub name: String,
    pub inventory: Host,
    pub peer: PeerAddr,
    /// False for a server of the inventory that the runbook never names: it is still part of
    /// the ensemble every prediction and gate models (named after its inventory host).
    pub from_runbook: bool,
    /// The `pick:` it was bound by (not by `--bind`, role or name): the role it had then,
    /// which the run checks again before each of its steps.
    pub picked: Option<super::model::Pick>,
    /// The runbook's `pick:` for it, however it was bound: a resumed run (bound by the log)
    /// and a re-bind check it again (`picked`).
    pub pick: Option<super::model::Pick>,
}

/// What binding a runbook takes, kept so a run can bind it again with other hosts (a re-bind
/// of a `pick:` host that no longer fits): the text, the inventory and variables it was bound
/// with, and the fragments it included, as read then.
#[derive(Debug, Clone, PartialEq)]
pub struct BindSource {
    pub text: String,
    pub path: PathBuf,
    pub inventory: Inventory,
    pub variables: BTreeMap<String, String>,
    pub fragments: BTreeMap<PathBuf, String>,
}

impl BindSource {
    /// The runbook bound again with `bindings`, `leader` leading.
    pub fn bind(
        &self,
        bindings: &BTreeMap<String, String>,
        leader: Option<&str>,
    ) -> Result<Procedure, String> {
        let read = |path: &Path| {
            self.fragments
                .get(path)
                .cloned()
                .ok_or_else(|| format!("{} was not included when the run began", path.display()))
        };
        let input = BindInput {
            inventory: &self.inventory,
            leader,
            bindings,
            variables: &self.variables,
            read_fragment: &read,
        };
        bind(&self.text, &self.path, &input).map_err(|e| e.to_string())
    }
}

/// A service (a stable address in front of one server) made for a runbook host.
#[derive(Debug, Clone, PartialEq)]
pub struct BoundService {
    pub name: String,
    /// Index into `Procedure::hosts`: the host the service was made for.
    pub serves: usize,
    pub peer: PeerAddr,
    pub client: String,
    /// The runbook host it forwards to before the first step, if any.
    pub initially_to: Option<usize>,
}

/// The ensemble before the first step: per host, whether it runs and on which view.
#[derive(Debug, Clone, PartialEq)]
pub struct InitialState {
    pub up: Vec<bool>,
    pub views: Vec<Option<String>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub id: String,
    pub title: String,
    pub explain: String,
    pub commands: Vec<StepCommand>,
    pub parallel: bool,
    pub effects: Vec<Effect>,
    pub gates: Vec<Gate>,
    pub wait: Option<Wait>,
    pub confirm: Confirm,
    pub approval: Option<Approval>,
    pub accepts: Vec<Acceptance>,
    pub rollback: Vec<StepCommand>,
    pub timeout: Duration,
    /// A repetition of a `for-each … order: leader-last` step: the engine keeps whichever of
    /// its group leads at the time last (`Engine::follow_live_leader`).
    pub leader_last: Option<LeaderLast>,
    /// A repetition of any `for-each` step: the server it repeats for, chosen by the
    /// `for-each`'s own group (not by that host's `pick:`, which is not checked for it).
    pub each: Option<usize>,
}

/// Which `for-each` step a repetition belongs to, and the server it repeats for.
#[derive(Debug, Clone, PartialEq)]
pub struct LeaderLast {
    /// The `for-each` step's own id (each repetition's is `ID@HOST`).
    pub group: String,
    /// The repetition's server: index into `Procedure::hosts`.
    pub each: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub struct StepCommand {
    /// Index into `Procedure::hosts`.
    pub host: usize,
    /// The exact text run by the remote shell.
    pub text: String,
    pub stdin: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    Start {
        host: usize,
        view: Option<String>,
    },
    Stop {
        host: usize,
    },
    Restart {
        host: usize,
        view: Option<String>,
    },
    SetView {
        host: usize,
        view: String,
    },
    Reconfig {
        view: String,
    },
    Partition(Vec<Vec<usize>>),
    Heal,
    /// Service `service` (an index into `Procedure::services`) forwards to `to` from now on.
    Route {
        service: usize,
        to: Option<usize>,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub enum Gate {
    Synced,
    LagBelow(u32),
    Leader(usize),
    NotLeader(usize),
    Mode {
        host: usize,
        modes: Vec<Mode>,
    },
    Fourlw {
        host: usize,
        word: Word,
        contains: String,
    },
    Check {
        host: usize,
        command: String,
    },
    Down(usize),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Wait {
    pub timeout: Duration,
    pub until: Vec<Gate>,
}

/// Parses the runbook text alone: syntax and unknown keys.
pub fn parse(text: &str, path: &Path) -> Result<Runbook, YamlError> {
    yaml::from_str(text, path)
}

/// Where a step came from, for error positions: the runbook or an included fragment.
#[derive(Clone, Copy)]
struct Source<'a> {
    text: &'a str,
    path: &'a Path,
    /// The key path of the step list in that file (`steps`).
    index: usize,
    /// An included fragment may be a file the operator cannot read (the runbook names any
    /// path): its errors name the position and the key path of the schema, never its values.
    included: bool,
}

impl Source<'_> {
    fn error(&self, keys: &[&str], message: impl Into<String>) -> YamlError {
        let index = self.index.to_string();
        let mut full = vec!["steps", index.as_str()];
        full.extend_from_slice(keys);
        let message = if self.included {
            format!(
                "{} of the included file is refused (its values are not shown: an included file may be one you cannot read)",
                schema_path(&full)
            )
        } else {
            message.into()
        };
        yaml::error_at(self.text, self.path, &full, message)
    }

    /// Each item of the step's list `key` bound at its own place.
    fn each<T, U>(
        &self,
        key: &str,
        items: &[T],
        bind: impl Fn(&T, &At) -> Result<U, YamlError>,
    ) -> Result<Vec<U>, YamlError> {
        self.at(&[key]).each(items, bind)
    }

    /// The place `keys` below the step.
    fn at(&self, keys: &[&str]) -> At<'_> {
        At {
            source: self,
            keys: keys.iter().map(|k| k.to_string()).collect(),
        }
    }
}

/// A place in a step: its source and the key path below it, which every error there names.
/// A name, a command or a gate is bound at one place; what it holds, below it.
struct At<'a> {
    source: &'a Source<'a>,
    keys: Vec<String>,
}

impl At<'_> {
    fn error(&self, message: impl Into<String>) -> YamlError {
        let keys: Vec<&str> = self.keys.iter().map(String::as_str).collect();
        self.source.error(&keys, message)
    }

    /// The place of `key` below this one.
    fn below(&self, key: &str) -> At<'_> {
        let mut keys = self.keys.clone();
        keys.push(key.to_string());
        At {
            source: self.source,
            keys,
        }
    }

    /// Each item of a list bound at its own index below this place.
    fn each<T, U>(
        &self,
        items: &[T],
        bind: impl Fn(&T, &At) -> Result<U, YamlError>,
    ) -> Result<Vec<U>, YamlError> {
        items
            .iter()
            .enumerate()
            .map(|(i, item)| bind(item, &self.below(&i.to_string())))
            .collect()
    }
}

/// `steps[2].run[0].shell` for `["steps", "2", "run", "0", "shell"]`: every key a `Source`
/// names is a field of the format or an index, never a value of the file.
fn schema_path(keys: &[&str]) -> String {
    let mut out = String::new();
    for key in keys {
        if key.bytes().all(|b| b.is_ascii_digit()) {
            out.push_str(&format!("[{key}]"));
        } else {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(key);
        }
    }
    out
}

pub fn bind(text: &str, path: &Path, input: &BindInput) -> Result<Procedure, YamlError> {
    let runbook = parse(text, path)?;
    let at = |keys: &[&str], message: String| yaml::error_at(text, path, keys, message);

    let leader = input
        .leader
        .map(str::to_string)
        .or_else(|| hosts::assumed_leader(input.inventory));
    let mut hosts = hosts::bind_runbook_hosts(&runbook, input, leader.as_deref(), &at)?;
    let mut initial = hosts::initial_state(&runbook, &hosts, text, path)?;
    // From here on the whole ensemble is bound: a `for-each` step repeats over servers the
    // runbook does not list, an `every:` view lists them, and every prediction models them.
    // The runbook's own names still resolve only to the hosts it lists (`Context::named`).
    let named = hosts.len();
    hosts::add_unnamed_servers(&mut hosts, input.inventory);
    for _ in named..hosts.len() {
        initial.up.push(true);
        initial.views.push(Some(INVENTORY_VIEW.to_string()));
    }
    let group_leader = leader
        .as_deref()
        .and_then(|name| hosts.iter().position(|h| h.inventory.name == name));

    // Fragments are read before any step is built: a step of theirs may pair spares, and
    // every spare paired anywhere must be bound (and modelled) from the first step on.
    let included = include::read_fragments(&runbook, text, path, input)?;
    let pairing: BTreeSet<usize> = runbook
        .steps
        .iter()
        .chain(included.iter().flatten().flat_map(|f| &f.fragment.steps))
        .filter_map(|spec| spec.for_each.filter(|f| f.spare))
        .flat_map(|for_each| for_each::group_of(&hosts, for_each, group_leader))
        .collect();
    let servers = hosts.len();
    let spares = hosts::bind_paired_spares(&mut hosts, input.inventory, &pairing)
        .map_err(|message| at(&["steps"], message))?;
    for _ in servers..hosts.len() {
        initial.up.push(false);
        initial.views.push(None);
    }
    let services =
        hosts::bind_services(&hosts, input.inventory).map_err(|message| at(&["hosts"], message))?;
    let views = views::bind_views(
        &runbook,
        &hosts,
        &services,
        input.inventory,
        group_leader,
        &at,
    )?;
    let (values, secrets) = variables::bind_variables(&runbook, input, &at)?;

    let context = Context {
        hosts: &hosts,
        services: &services,
        views: &views,
        values: &values,
        spares: &spares,
        inventory: input.inventory,
        each: None,
        spare: None,
    };
    let steps = context.bind_steps(&runbook, &included, text, path, group_leader)?;
    Ok(Procedure {
        name: runbook.name,
        description: runbook.description,
        source: runbook.source,
        teaching: runbook.teaching,
        path: path.to_path_buf(),
        hosts,
        services,
        views,
        initial,
        steps,
        secrets,
    })
}

/// What every step is bound against: the bound hosts, services and views, the variables'
/// values, and inside a `for-each` repetition its server and spare.
struct Context<'a> {
    hosts: &'a [BoundHost],
    services: &'a [BoundService],
    views: &'a BTreeMap<String, View>,
    values: &'a BTreeMap<String, String>,
    /// The spare paired with each server that a `for-each … spare: true` step repeats over.
    spares: &'a BTreeMap<usize, usize>,
    inventory: &'a Inventory,
    /// The server of a `for-each` repetition.
    each: Option<usize>,
    /// The spare paired with it, in a step with `spare: true`.
    spare: Option<usize>,
}
