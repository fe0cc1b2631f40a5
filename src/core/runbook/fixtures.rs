//! Builders shared by the engine's tests and the adapters' tests: a small inventory, an engine
//! over it, and a live ensemble polled from real captured answers.

use std::collections::BTreeMap;
use std::path::Path;

use super::engine::{Effect, Ended, Engine, Person};
use super::procedure::{bind, BindInput, BindSource, Procedure};
use crate::ensemble::{answered, EnsembleState, NodeTarget, PollFailure, PollReport};
use crate::inventory::Inventory;
use crate::text::yaml::YamlError;
use crate::zk::fourlw::Command;
use crate::zk::version::ZkVersion;

pub const RESTART_ZK1: &str = "  - id: restart-zk1\n    title: Restart zk1\n    gates: [{synced: {}}, {not-leader: {host: zk1}}]\n    run: [{host: zk1, verb: restart}]\n    effect: [{restart: {host: zk1}}]\n    wait: {timeout: 30s, until: [{mode: {host: zk1, is: [follower]}}]}\n";

pub const LEADER_SRVR: &str = include_str!("../../../tests/fixtures/zk4lw/leader.srvr.txt");

pub const LEADER_MNTR: &str = include_str!("../../../tests/fixtures/zk4lw/leader.mntr.txt");

pub const FOLLOWER_SRVR: &str = include_str!("../../../tests/fixtures/zk4lw/follower.srvr.txt");

pub fn inventory(hosts: u64) -> Inventory {
    let mut text = String::from("name: lab\nhosts:\n");
    for sid in 1..=hosts {
        text.push_str(&format!(
            "  - {{name: zk{sid}, sid: {sid}, role: participant, client: '10.0.0.{sid}:2181', peer: '10.0.0.{sid}:2888:3888', ssh: 'zk@10.0.0.{sid}', ssh_port: 22, commands: {{restart: 'zkctl restart', stop: 'zkctl stop', data-empty: 'test -d /data'}}}}\n"
        ));
    }
    Inventory::parse(&text, Path::new("inv.yaml")).unwrap()
}

/// Binds the runbook `text` (as `rb.yaml`) on `inventory` alone: no live leader, no `--bind`,
/// no `--var`; `read_fragment` answers its `include:`s.
pub fn bind_alone(
    text: &str,
    inventory: &Inventory,
    read_fragment: &dyn Fn(&Path) -> Result<String, String>,
) -> Result<Procedure, YamlError> {
    let none = BTreeMap::new();
    let input = BindInput {
        inventory,
        leader: None,
        bindings: &none,
        variables: &none,
        read_fragment,
    };
    bind(text, Path::new("rb.yaml"), &input)
}

/// An engine over zk1..zk3 bound as `run` binds while `leader` leads, its runbook's `hosts:`
/// being `hosts` (with `pick:`s), and able to bind it again (a re-bind).
pub fn picked_engine(hosts: &str, steps: &str, leader: &str) -> Engine {
    let source = BindSource {
        text: format!("name: t\ndescription: d\nsource: s\nhosts: {hosts}\nsteps:\n{steps}"),
        path: "rb.yaml".into(),
        inventory: inventory(3),
        variables: BTreeMap::new(),
        fragments: BTreeMap::new(),
    };
    let procedure = source.bind(&BTreeMap::new(), Some(leader)).unwrap();
    let mut engine = engine_on(procedure, &source.inventory);
    engine.source = Some(source);
    engine
}

/// An engine of alice's over `procedure`, each host's node its inventory host's place, as
/// `run` polls the inventory's hosts in order.
pub fn engine_on(procedure: Procedure, inventory: &Inventory) -> Engine {
    let node_of = procedure
        .hosts
        .iter()
        .map(|h| {
            inventory
                .hosts
                .iter()
                .position(|i| i.name == h.inventory.name)
        })
        .collect();
    Engine::new(
        procedure,
        ZkVersion::NEWEST,
        node_of,
        Person {
            name: "alice".into(),
            uid: 1000,
        },
    )
}

pub fn engine(steps: &str) -> Engine {
    engine_of(3, "", steps)
}

/// An engine over hosts zk1..zkN; `head` goes between the host list and the steps.
pub fn engine_of(hosts: u64, head: &str, steps: &str) -> Engine {
    let names: Vec<String> = (1..=hosts)
        .map(|sid| format!("{{name: zk{sid}}}"))
        .collect();
    let text = format!(
        "name: t\ndescription: d\nsource: s\nhosts: [{}]\n{head}steps:\n{steps}",
        names.join(", ")
    );
    let inventory = inventory(hosts);
    let read = |_: &Path| -> Result<String, String> { Err("none".into()) };
    let procedure = bind_alone(&text, &inventory, &read).unwrap();
    Engine::new(
        procedure,
        ZkVersion::NEWEST,
        (0..hosts as usize).map(Some).collect(),
        Person {
            name: "alice".into(),
            uid: 1000,
        },
    )
}

pub fn conf(sid: u64, members: u64) -> String {
    let mut text = format!("serverId={sid}\nmembership: \n");
    for member in 1..=members {
        text.push_str(&format!(
            "server.{member}=10.0.0.{member}:2888:3888:participant\n"
        ));
    }
    text + "version=0"
}

/// zk3 leads, zk1 and zk2 follow; `down` lists nodes refusing connections.
pub fn live(down: &[usize]) -> EnsembleState {
    live_of(3, down)
}

/// zk3 leads the others, whose view lists every host; `down` lists nodes refusing connections.
pub fn live_of(hosts: u64, down: &[usize]) -> EnsembleState {
    polled(hosts, down, 20_000)
}

/// `live`, polled at `at`.
pub fn live_at(down: &[usize], at: u64) -> EnsembleState {
    polled(3, down, at)
}

pub fn polled(hosts: u64, down: &[usize], at: u64) -> EnsembleState {
    let targets = (1..=hosts)
        .map(|sid| NodeTarget {
            admin: String::new(),
            name: format!("zk{sid}"),
            sid: Some(sid),
            client: format!("10.0.0.{sid}:2181"),
            peer: None,
            declared_view: None,
        })
        .collect();
    let mut state = EnsembleState::new(targets);
    for node in 0..hosts as usize {
        let answers = if down.contains(&node) {
            vec![answered(Command::Srvr, Err(PollFailure::Refused))]
        } else if node == 2 {
            vec![
                answered(Command::Srvr, Ok(LEADER_SRVR.to_string())),
                answered(Command::Mntr, Ok(LEADER_MNTR.to_string())),
                answered(Command::Conf, Ok(conf(3, hosts))),
            ]
        } else {
            vec![
                answered(Command::Srvr, Ok(FOLLOWER_SRVR.to_string())),
                answered(Command::Conf, Ok(conf(node as u64 + 1, hosts))),
            ]
        };
        state.apply(&PollReport::fourlw(node, at, answers));
    }
    state
}

pub fn person(name: &str, uid: u32) -> Person {
    Person {
        name: name.into(),
        uid,
    }
}

pub fn two_person(approval: &str) -> Engine {
    engine(&RESTART_ZK1.replace("    run:", &format!("    approval: {approval}\n    run:")))
}

/// The intents of the commands among `effects`, in the order they run.
pub fn executes(effects: &[Effect]) -> Vec<u64> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Execute { intent, .. } => Some(*intent),
            _ => None,
        })
        .collect()
}

/// A command that exited with `code` after `duration_ms`.
pub fn exited_after(code: i32, duration_ms: u64) -> Ended {
    Ended::Exited {
        code: Some(code),
        duration_ms,
    }
}

/// `live_at`, with zk1 leading and zk3 following.
pub fn zk1_leads(at: u64) -> EnsembleState {
    let mut state = live_at(&[], at);
    state.apply(&PollReport::fourlw(
        0,
        at + 1,
        vec![answered(Command::Srvr, Ok(LEADER_SRVR.to_string()))],
    ));
    state.apply(&PollReport::fourlw(
        2,
        at + 1,
        vec![answered(Command::Srvr, Ok(FOLLOWER_SRVR.to_string()))],
    ));
    state
}
