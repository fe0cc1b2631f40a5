//! The runbook format: what an operator reads top to bottom and what zkpilot checks, predicts
//! and runs. Parsed strictly: an unknown key anywhere is an error with its position.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::inventory::HostRole;

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Runbook {
    pub name: String,
    pub description: String,
    /// The procedure it follows (a document, a talk, a guide).
    pub source: String,
    /// Set on examples that show what goes wrong: says where `plan` must block them.
    #[serde(default)]
    pub teaching: Option<String>,
    /// The hosts the procedure needs, by name; bound to inventory hosts of the same name or by
    /// `--bind NAME=HOST`.
    pub hosts: Vec<HostNeed>,
    /// Named config views: each a list of hosts (with their inventory sid and peer address unless
    /// overridden), turned into `server.N=` lines.
    #[serde(default)]
    pub views: BTreeMap<String, Vec<ViewMember>>,
    #[serde(default)]
    pub variables: BTreeMap<String, Variable>,
    /// The ensemble before the first step, for `plan`: which hosts run and with which view.
    /// Without it, the inventory's participants and observers run on the view of them all.
    #[serde(default)]
    pub initial: Option<Initial>,
    pub steps: Vec<StepSpec>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostNeed {
    pub name: String,
    #[serde(default)]
    pub role: Option<HostRole>,
    /// Bind by what the host is doing rather than by name: the current leader, or the next
    /// participant that is not the leader (in inventory order).
    #[serde(default)]
    pub pick: Option<Pick>,
    #[serde(default)]
    pub note: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Pick {
    Leader,
    Follower,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum ViewMember {
    Host(String),
    Detailed(ViewMemberSpec),
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ViewMemberSpec {
    /// One runbook host, or…
    #[serde(default)]
    pub host: Option<String>,
    /// …every server of a group of the inventory (`all`, `voters`, `observers`), bound as the
    /// runbook is, each with its inventory sid and role: a view for any ensemble size. With
    /// `service: true`, every server by its service.
    #[serde(default)]
    pub every: Option<Group>,
    #[serde(default)]
    pub observer: bool,
    /// Another sid than the inventory's: a replacement host taking over an old server's id.
    #[serde(default)]
    pub sid: Option<u64>,
    /// The sid of another runbook host, whichever inventory host it is bound to: a replacement
    /// taking over the id of the server it replaces.
    #[serde(default)]
    pub sid_of: Option<String>,
    /// Another peer address than the host's real one: a stable service address, or a stale
    /// entry the procedure must live with for a while.
    #[serde(default)]
    pub peer: Option<String>,
    /// List the host's server at the service in front of it (the inventory's `services`) rather
    /// than at the host's own address.
    #[serde(default)]
    pub service: bool,
}

impl ViewMember {
    /// The runbook host it names; None for an `every:` member.
    pub fn host(&self) -> Option<&str> {
        match self {
            ViewMember::Host(name) => Some(name),
            ViewMember::Detailed(spec) => spec.host.as_deref(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Variable {
    #[serde(default)]
    pub default: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    /// Never written to the audit log or shown in full.
    #[serde(default)]
    pub secret: bool,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Initial {
    pub up: Vec<String>,
    /// Each host's view by name; hosts not listed run on `default_view`.
    #[serde(default)]
    pub views: BTreeMap<String, String>,
    #[serde(default)]
    pub default_view: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepSpec {
    /// `include: FRAGMENT` stands for the fragment's steps; nothing else may be set then.
    #[serde(default)]
    pub include: Option<String>,
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub explain: Option<String>,
    #[serde(default)]
    pub run: Vec<CommandSpec>,
    /// Run the commands on all their hosts at once (a group restarted together) instead of one
    /// host after another. The plan then judges the moment every stop is done before any start
    /// and the moment every start is done before any stop, as the commands may end in any
    /// order.
    #[serde(default)]
    pub parallel: bool,
    #[serde(default)]
    pub effect: Vec<EffectSpec>,
    #[serde(default)]
    pub gates: Vec<GateSpec>,
    #[serde(default)]
    pub wait: Option<WaitSpec>,
    #[serde(default)]
    pub confirm: Confirm,
    #[serde(default)]
    pub approval: Option<Approval>,
    #[serde(default)]
    pub accepts: Vec<Acceptance>,
    #[serde(default)]
    pub rollback: Vec<CommandSpec>,
    /// A timeout for each command.
    #[serde(default)]
    pub timeout: Option<String>,
    /// Repeat the step once per server of a group of the ensemble, each repetition a step of
    /// its own (`ID@HOST`); `each` names the repetition's server wherever a host is named, and
    /// `${each}` is its inventory name in text.
    #[serde(default, rename = "for-each")]
    pub for_each: Option<ForEach>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ForEach {
    pub pick: Group,
    #[serde(default)]
    pub order: Order,
    /// Pair each server with a spare of its own, named `spare` in the step: the k-th server of
    /// the inventory (participant or observer, in inventory order) with its k-th spare. By the
    /// inventory and not by the live state, so a plan and a run, or a run and its resume, pair
    /// the same hosts whichever server leads.
    #[serde(default)]
    pub spare: bool,
}

/// Which servers a `for-each` step repeats over, by what they are when the runbook is bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Group {
    /// Participants that do not lead.
    Followers,
    Observers,
    /// Every participant, the leader included.
    Voters,
    /// Observers and participants.
    All,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Order {
    /// Ascending server id.
    #[default]
    BySid,
    /// Observers, then followers (each by server id), the leader last: one election instead
    /// of one per restarted voter, and no voter restarted while an observer could still be.
    LeaderLast,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommandSpec {
    pub host: String,
    /// An inventory verb (`restart`, `set-servers`…), or…
    #[serde(default)]
    pub verb: Option<String>,
    /// …literal shell, with `${variables}` interpolated and shell-quoted.
    #[serde(default)]
    pub shell: Option<String>,
    /// Arguments after the verb, interpolated and each quoted as one word; `${view:NAME}`
    /// expands to the view's server lines, one word each.
    #[serde(default)]
    pub args: Vec<String>,
    /// Text sent to the command's standard input (`set-config`).
    #[serde(default)]
    pub stdin: Option<String>,
}

/// What a step does to the ensemble, for the prediction. Written as a one-key map
/// (`restart: {host: zk1}`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(try_from = "EffectMap")]
pub enum EffectSpec {
    Start(HostView),
    Stop(HostOnly),
    Restart(HostView),
    /// The host's config is rewritten; it takes effect at its next start.
    SetView(HostViewRequired),
    /// Dynamic reconfiguration (3.5+): every running member switches to the view at once.
    Reconfig(ViewOnly),
    Partition(Vec<Vec<String>>),
    Heal(Empty),
    /// The service in front of a host's server now forwards to another host (or, without `to`,
    /// to none): a Kubernetes service's endpoint changed.
    Route(RouteSpec),
}

/// A spec written as a one-key map (`restart: {host: zk1}`): `$map` reads every key as
/// optional (serde's own messages for an unknown key or a bad value), then exactly one must be
/// given, which becomes that variant of `$spec`.
macro_rules! one_key_map {
    ($spec:ident from $map:ident, $what:literal: $($key:ident $name:literal => $variant:ident($ty:ty)),+ $(,)?) => {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields, rename_all = "kebab-case")]
        struct $map {
            $($key: Option<$ty>,)+
        }

        impl TryFrom<$map> for $spec {
            type Error = String;

            fn try_from(map: $map) -> Result<Self, Self::Error> {
                let mut found = Vec::new();
                $(found.extend(map.$key.map($spec::$variant));)+
                exactly_one(found, $what, &[$($name),+].join(", "))
            }
        }
    };
}

one_key_map! {
    EffectSpec from EffectMap, "an effect":
    start "start" => Start(HostView),
    stop "stop" => Stop(HostOnly),
    restart "restart" => Restart(HostView),
    set_view "set-view" => SetView(HostViewRequired),
    reconfig "reconfig" => Reconfig(ViewOnly),
    partition "partition" => Partition(Vec<Vec<String>>),
    heal "heal" => Heal(Empty),
    route "route" => Route(RouteSpec),
}

fn exactly_one<T>(mut found: Vec<T>, what: &str, keys: &str) -> Result<T, String> {
    match found.len() {
        1 => found.pop().ok_or_else(String::new),
        0 => Err(format!("{what} needs one of: {keys}")),
        _ => Err(format!(
            "{what} has exactly one of: {keys}; write each as its own list item"
        )),
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostOnly {
    pub host: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostView {
    pub host: String,
    #[serde(default)]
    pub view: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostViewRequired {
    pub host: String,
    pub view: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ViewOnly {
    pub view: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Empty {}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteSpec {
    /// The runbook host whose service it is.
    pub service: String,
    /// The runbook host it forwards to from now on.
    #[serde(default)]
    pub to: Option<String>,
}

/// A condition on the live ensemble, checked before a step or waited for after it. Written as
/// a one-key map (`not-leader: {host: zk1}`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(try_from = "GateMap")]
pub enum GateSpec {
    /// The leader's synced voting followers are all the other voters, nothing pending; voters
    /// the runbook keeps stopped at this point, and voters the live leader can leave out in the
    /// state the runbook expects (`quorum::Strand`), are not waited for; one that state names
    /// CANNOT SERVE (analyzer rule 18) is waited for, with the reason the wait cannot end.
    Synced(Empty),
    /// Every serving node is within this many transactions of the leader, on its epoch.
    LagBelow(u32),
    Leader(HostOnly),
    NotLeader(HostOnly),
    /// The host's server is in one of these modes.
    Mode(ModeGate),
    /// A four-letter word's answer contains a text.
    Fourlw(FourlwGate),
    /// A read-only check command on a host must exit 0.
    Check(CheckGate),
    /// The host answers nothing on its client port (its server is stopped).
    Down(HostOnly),
}

one_key_map! {
    GateSpec from GateMap, "a gate":
    synced "synced" => Synced(Empty),
    lag_below "lag-below" => LagBelow(u32),
    leader "leader" => Leader(HostOnly),
    not_leader "not-leader" => NotLeader(HostOnly),
    mode "mode" => Mode(ModeGate),
    fourlw "fourlw" => Fourlw(FourlwGate),
    check "check" => Check(CheckGate),
    down "down" => Down(HostOnly),
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModeGate {
    pub host: String,
    pub is: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FourlwGate {
    pub host: String,
    pub command: String,
    pub contains: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckGate {
    pub host: String,
    /// An inventory verb (a read-only one, such as `data-empty`), or…
    #[serde(default)]
    pub verb: Option<String>,
    /// …literal shell, as in `run`.
    #[serde(default)]
    pub shell: Option<String>,
    #[serde(default)]
    pub args: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WaitSpec {
    pub timeout: String,
    pub until: Vec<GateSpec>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Confirm {
    None,
    #[default]
    Yes,
    /// Type the host's name: for destructive steps.
    TypeHost,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Approval {
    /// A second operator, logged in as another Unix user, approves from `zkpilot follow`.
    TwoPerson,
    /// As `two-person`, but a second session of the operator's own Unix user counts too: for
    /// teams that share one service account, and for rehearsals by one person.
    TwoPersonSameUser,
}

impl Approval {
    pub fn allows_same_user(self) -> bool {
        self == Approval::TwoPersonSameUser
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Acceptance {
    pub hazard: Hazard,
    pub reason: String,
    #[serde(default)]
    pub irreversible: bool,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize, serde::Serialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum Hazard {
    /// No quorum can form: the ensemble stops serving writes.
    QuorumLoss,
    /// Two disjoint quorums can form: two leaders, diverging data.
    SplitBrain,
    /// Two running servers have one server id: every peer may count either, so each can be
    /// part of its own majority (`QuorumCnxManager` keeps one election connection per sid).
    DuplicateSid,
    /// A server the step starts cannot bind its own line (an address it does not have, with
    /// `quorumListenOnAllIPs` off or unknown) and exits at start with code 14
    /// (`QuorumCnxManager.Listener`, from 3.5.6).
    ExitsAtStart,
    /// The step needs what this ZooKeeper version lacks (dynamic reconfig before 3.5). Never
    /// accepted: the step cannot do what it says.
    Unsupported,
}

impl std::fmt::Display for Hazard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Hazard::QuorumLoss => "quorum loss",
            Hazard::SplitBrain => "split brain",
            Hazard::DuplicateSid => "duplicate server id",
            Hazard::ExitsAtStart => "exits at start",
            Hazard::Unsupported => "unsupported",
        })
    }
}

/// A fragment file: steps only.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fragment {
    #[serde(default)]
    pub description: Option<String>,
    pub steps: Vec<StepSpec>,
}
