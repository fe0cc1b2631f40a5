//! Binding and planning runbooks against an inventory, without touching a file.

use std::collections::BTreeMap;
use std::path::Path;

use super::plan::{plan, render_table, StepVerdict};
use super::procedure::{bind, BindInput, Procedure};
use crate::inventory::Inventory;
use crate::text::yaml::YamlError;
use crate::zk::version::ZkVersion;

pub(super) fn inventory(voters: u64, spares: u64) -> Inventory {
    let mut text = String::from("name: lab\nhosts:\n");
    for sid in 1..=voters + spares {
        let role = if sid <= voters {
            "participant"
        } else {
            "spare"
        };
        text.push_str(&format!(
            "  - {{name: zk{sid}, sid: {sid}, role: {role}, client: '10.0.0.{sid}:2181', peer: '10.0.0.{sid}:2888:3888', ssh: 'zk@10.0.0.{sid}', ssh_port: 22, commands: {{restart: 'zkctl restart', stop: 'zkctl stop', start: 'zkctl start', set-servers: 'zkctl set-servers'}}}}\n"
        ));
    }
    Inventory::parse(&text, Path::new("inv.yaml")).unwrap()
}

fn bound(text: &str, inventory: &Inventory, leader: Option<&str>) -> Result<Procedure, YamlError> {
    let none = BTreeMap::new();
    let read = |path: &Path| -> Result<String, String> {
        match path.file_name().and_then(|n| n.to_str()) {
            Some("restart-zk1.yaml") => Ok("steps:\n  - {id: frag, title: From a fragment, run: [{host: zk1, verb: restart}], effect: [{restart: {host: zk1}}]}\n".into()),
            _ => Err("no such file".into()),
        }
    };
    let input = BindInput {
        inventory,
        leader,
        bindings: &none,
        variables: &none,
        read_fragment: &read,
    };
    bind(text, Path::new("rb.yaml"), &input)
}

const HEADER: &str = "name: t\ndescription: d\nsource: s\nhosts: [{name: zk1}, {name: zk2}, {name: zk3}, {name: zk4}, {name: zk5}]\n";

#[test]
fn the_shipped_rolling_restart_binds_followers_first_and_the_live_leader_last() {
    let text = include_str!("../../../runbooks/rolling-restart.yaml");
    let inventory = inventory(3, 0);
    let procedure = bound(text, &inventory, Some("zk1")).unwrap();
    let steps: Vec<&str> = procedure.steps.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(steps, ["restart@zk2", "restart@zk3", "restart@zk1"]);
    let restarted: Vec<&str> = procedure
        .steps
        .iter()
        .map(|s| procedure.hosts[s.commands[0].host].inventory.name.as_str())
        .collect();
    assert_eq!(restarted, ["zk2", "zk3", "zk1"]);
    assert_eq!(procedure.steps[0].title, "Restart zk2");
    let plan = plan(&procedure, ZkVersion::NEWEST);
    assert!(
        plan.steps.iter().all(|s| s.verdict == StepVerdict::Ok),
        "{plan:?}"
    );
    assert!(procedure.steps[2].commands[0]
        .text
        .ends_with("zkctl restart"));
}

#[test]
fn the_decks_naive_order_is_blocked_where_two_majorities_become_possible() {
    let text = format!(
        "{HEADER}views:\n  old: [zk1, zk2, zk3]\n  five: [zk1, zk2, zk3, zk4, zk5]\n\
         initial: {{up: [zk1, zk2, zk3], default_view: old}}\n\
         steps:\n\
         \x20 - {{id: start-s-t, title: Start S and T on five, confirm: none, effect: [{{start: {{host: zk4, view: five}}}}, {{start: {{host: zk5, view: five}}}}]}}\n\
         \x20 - {{id: restart-r, title: Restart R on five, effect: [{{restart: {{host: zk3, view: five}}}}]}}\n"
    );
    let inventory = inventory(3, 2);
    let plan = plan(
        &bound(&text, &inventory, None).unwrap(),
        ZkVersion::new(3, 4, 6),
    );
    assert_eq!(plan.steps[0].verdict, StepVerdict::Ok);
    assert_eq!(plan.steps[1].verdict, StepVerdict::Blocked);
    let witness = plan.steps[1].witness.as_ref().unwrap();
    assert_eq!(witness[0].members, ["zk1", "zk2"]);
    assert_eq!(witness[1].members, ["zk3", "zk4", "zk5"]);
}

#[test]
fn an_accepted_hazard_is_a_warning_with_its_reason() {
    let text = format!(
        "{HEADER}steps:\n\
         \x20 - id: split\n    title: Cut the groups apart\n    effect: [{{partition: [[zk1, zk2], [zk3, zk4, zk5]]}}, {{stop: {{host: zk4}}}}]\n\
         \x20   accepts: [{{hazard: quorum-loss, reason: the destination restarts right after}}]\n"
    );
    let inventory = inventory(5, 0);
    let plan = plan(&bound(&text, &inventory, None).unwrap(), ZkVersion::NEWEST);
    assert_eq!(plan.steps[0].verdict, StepVerdict::Warn, "{plan:?}");
    assert_eq!(
        plan.steps[0].hazards[0].reason.as_deref(),
        Some("the destination restarts right after")
    );
}

#[test]
fn fragments_are_spliced_in() {
    let text = format!("{HEADER}steps:\n  - include: restart-zk1.yaml\n");
    let procedure = bound(&text, &inventory(5, 0), None).unwrap();
    assert_eq!(procedure.steps[0].id, "frag");
}

#[test]
fn values_are_quoted_so_they_cannot_inject_shell() {
    let text = format!(
        "{HEADER}variables: {{label: {{default: \"x; reboot\"}}}}\nsteps:\n\
         \x20 - {{id: a, title: A, run: [{{host: zk1, shell: \"echo ${{label}} ${{host:zk2.client}}\"}}, {{host: zk2, verb: restart, args: [\"$(id)\"]}}]}}\n"
    );
    let procedure = bound(&text, &inventory(5, 0), None).unwrap();
    assert_eq!(
        procedure.steps[0].commands[0].text,
        "echo 'x; reboot' 10.0.0.2:2181"
    );
    assert_eq!(procedure.steps[0].commands[1].text, "zkctl restart '$(id)'");
}

/// Host names are often fully qualified: `${host:NAME.FIELD}` takes the field after the last
/// dot (it took the first, so `zk2.example.com.sid` was "not defined" and a synthesized
/// takeover of such a host did not bind).
#[test]
fn a_dotted_host_name_keeps_its_fields() {
    let inventory = Inventory::parse(
        "name: lab\nhosts:\n  - {name: zk1.example.com, sid: 1, role: participant, client: 'zk1.example.com:2181', peer: 'zk1.example.com:2888:3888', ssh: 'zk@zk1.example.com', ssh_port: 22, commands: {}}\n  - {name: zk2.example.com, sid: 2, role: participant, client: 'zk2.example.com:2181', peer: 'zk2.example.com:2888:3888', ssh: 'zk@zk2.example.com', ssh_port: 22, commands: {}}\n",
        Path::new("inv.yaml"),
    )
    .unwrap();
    let text = "name: t\ndescription: d\nsource: s\nhosts: [{name: zk1.example.com}, {name: zk2.example.com}]\nsteps:\n  - {id: a, title: A, run: [{host: zk1.example.com, shell: \"echo ${host:zk2.example.com.sid} ${host:zk2.example.com.address}\"}]}\n";
    let procedure = bound(text, &inventory, None).unwrap();
    assert_eq!(
        procedure.steps[0].commands[0].text,
        "echo 2 zk2.example.com"
    );
}

#[test]
fn every_mistake_is_named_with_its_position() {
    let inventory = inventory(5, 0);
    let cases = [
        (
            "steps:\n  - {id: a, title: A, effect: [{stop: {host: zk9}}]}\n",
            6,
            "no host `zk9`",
        ),
        (
            "steps:\n  - {id: a, title: A, run: [{host: zk1, verb: reboot}]}\n",
            6,
            "has no `reboot` command",
        ),
        (
            "steps:\n  - {id: a, title: A, wait: {timeout: soon, until: []}}\n",
            6,
            "bad duration `soon`",
        ),
        (
            "steps:\n  - {id: a, title: A, run: [{host: zk1, shell: \"echo ${nope}\"}]}\n",
            6,
            "`${nope}` is not defined",
        ),
        (
            "steps:\n  - {id: a, title: A, effect: [{restart: {host: zk1, view: nine}}]}\n",
            6,
            "no view named `nine`",
        ),
        (
            "steps:\n  - {id: a, title: A, colour: red}\n",
            6,
            "unknown field `colour`",
        ),
        (
            "steps:\n  - {id: a, title: A, gates: [{synced: {}, leader: {host: zk1}}]}\n",
            6,
            "exactly one of",
        ),
        (
            "steps:\n  - {id: a, title: A}\n  - {id: a, title: B}\n",
            7,
            "used twice",
        ),
    ];
    for (steps, line, message) in cases {
        let err = bound(&format!("{HEADER}{steps}"), &inventory, None).unwrap_err();
        assert!(err.to_string().starts_with("rb.yaml:"), "{err}");
        assert_eq!(err.line, line, "{steps}: {err}");
        assert!(err.message.contains(message), "{steps}: {err}");
    }
}

const RECONFIG_STEP: &str = "views: {three: [zk1, zk2, zk3], two: [zk1, zk2]}\ninitial: {up: [zk1, zk2, zk3], default_view: three}\nsteps:\n  - {id: drop-zk3, title: Drop zk3, run: [{host: zk1, shell: 'true'}], effect: [{reconfig: {view: two}}]";

#[test]
fn a_reconfig_is_unsupported_before_3_5_and_that_cannot_be_accepted() {
    let header =
        "name: t\ndescription: d\nsource: s\nhosts: [{name: zk1}, {name: zk2}, {name: zk3}]\n";
    let inventory = inventory(3, 0);
    let procedure = bound(&format!("{header}{RECONFIG_STEP}}}\n"), &inventory, None).unwrap();
    let old = plan(&procedure, ZkVersion::new(3, 4, 14));
    assert_eq!(old.steps[0].verdict, StepVerdict::Blocked);
    assert!(old.steps[0].hazards[0].detail.contains("3.5 or later"));
    assert_eq!(
        plan(&procedure, ZkVersion::new(3, 5, 9)).steps[0].verdict,
        StepVerdict::Ok
    );

    let accepting = format!(
        "{header}{RECONFIG_STEP}, accepts: [{{hazard: unsupported, reason: we insist}}]}}\n"
    );
    let error = bound(&accepting, &inventory, None).unwrap_err();
    assert!(error.message.contains("cannot be accepted"), "{error:?}");
}

#[test]
fn a_replacement_takes_over_the_sid_of_the_host_it_replaces() {
    let header = "name: t\ndescription: d\nsource: s\nhosts: [{name: old, role: participant}, {name: new, role: spare}, {name: zk2}, {name: zk3}]\n";
    let inventory = inventory(3, 1);
    let views = |member: &str| {
        format!("{header}views: {{after: [zk2, zk3, {member}]}}\nsteps:\n  - {{id: a, title: A}}\n")
    };
    let procedure = bound(&views("{host: new, sid_of: old}"), &inventory, None).unwrap();
    let old_sid = procedure.hosts[0].inventory.sid;
    assert_ne!(procedure.hosts[1].inventory.sid, old_sid);
    let after = &procedure.views["after"];
    assert!(after.is_participant(old_sid), "{after}");
    assert!(!after.is_participant(procedure.hosts[1].inventory.sid));

    let both = bound(&views("{host: new, sid: 9, sid_of: old}"), &inventory, None).unwrap_err();
    assert!(both.message.contains("not both"), "{both:?}");
}

/// The lab with a Kubernetes service ready in front of each of the first three hosts, and the
/// verbs the k8s runbook uses.
fn with_services(inventory: Inventory) -> Inventory {
    let mut inventory = inventory;
    for host in &mut inventory.hosts {
        for verb in [
            "point-service",
            "drop-service",
            "set-option",
            "set-myid",
            "data-empty",
        ] {
            host.commands
                .insert(verb.into(), format!("zkctl {verb}").into());
        }
    }
    for sid in 1..=3 {
        inventory.services.push(crate::inventory::Service {
            name: format!("zk{sid}-svc"),
            serves: format!("zk{sid}"),
            client: format!("10.96.0.{sid}:2181"),
            peer: format!("10.96.0.{sid}:2888:3888"),
            to: None,
        });
    }
    inventory
}

/// Seed 000: the servers name each other by service address from the rolling restart on, so
/// the services must exist first. Without them the restarted servers reach nobody, and the
/// second restart leaves no quorum.
#[test]
fn the_k8s_runbook_needs_its_services_before_the_rolling_restart() {
    let text = include_str!("../../../runbooks/k8s-one-for-one.yaml");
    let inventory = with_services(inventory(3, 3));
    let procedure = bound(text, &inventory, Some("zk3")).unwrap();
    let planned = plan(&procedure, ZkVersion::NEWEST);
    assert!(
        planned.steps.iter().all(|s| s.verdict == StepVerdict::Ok),
        "{planned:?}"
    );
    let svc = &procedure.views["services"];
    assert_eq!(
        svc.to_string(),
        "server.1=10.96.0.1:2888:3888, server.2=10.96.0.2:2888:3888, server.3=10.96.0.3:2888:3888"
    );

    let ids: Vec<&str> = procedure.steps.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "create-service@zk1",
            "create-service@zk2",
            "create-service@zk3",
            "move-clients",
            "peers-to-services@zk1",
            "peers-to-services@zk2",
            "peers-to-services@zk3",
            "restart@zk1",
            "restart@zk2",
            "restart@zk3",
            "replace@zk1",
            "replace@zk2",
            "replace@zk3",
        ]
    );
    // Each server is replaced by the spare the inventory pairs with it, under its own id.
    let replace = &procedure.steps[10];
    assert_eq!(
        replace.title,
        "Replace zk1 by the pod zk4, with its id, behind its service"
    );
    let on: Vec<(&str, &str)> = replace
        .commands
        .iter()
        .map(|c| {
            (
                procedure.hosts[c.host].inventory.name.as_str(),
                c.text.as_str(),
            )
        })
        .collect();
    assert_eq!(on[0], ("zk1", "zkctl stop"));
    assert_eq!(on[1], ("zk4", "zkctl set-myid 1"));
    assert_eq!(on[4], ("zk4", "zkctl point-service 10.96.0.1 10.0.0.4"));

    let mut forgetful = procedure.clone();
    forgetful
        .steps
        .retain(|s| !s.id.starts_with("create-service@"));
    let planned = plan(&forgetful, ZkVersion::NEWEST);
    let verdicts: Vec<(&str, StepVerdict)> = planned
        .steps
        .iter()
        .map(|s| (s.step.as_str(), s.verdict))
        .collect();
    // After zk2 restarts on the service view, zk1 (services view) and zk3 (old view) still
    // count each other by sid and zk3 reaches zk1 at its real address, so {zk1, zk3} can elect
    // zk1; once zk3 restarts too, nobody reaches anybody.
    assert_eq!(
        verdicts[5],
        ("restart@zk2", StepVerdict::Ok),
        "{verdicts:?}"
    );
    assert_eq!(
        verdicts[6],
        ("restart@zk3", StepVerdict::Blocked),
        "{verdicts:?}"
    );
    // The row names why, as `analyze` and the live summary would: each server advertises a
    // service that forwards nowhere yet.
    let row = &planned.steps[6];
    assert!(
        row.findings.iter().any(|f| f
            == "zk3 advertises 10.96.0.3, which reaches nothing: a larger sid dials it back there"),
        "{:?}",
        row.findings
    );
    assert!(render_table(&planned).contains("zk3 advertises 10.96.0.3, which reaches nothing"));
}

/// A view of every server by its service, and each server paired with a spare, for
/// any ensemble size; what cannot be paired or listed is an error at its position.
#[test]
fn every_server_by_its_service_and_each_with_its_own_spare() {
    let text = "name: t\ndescription: d\nsource: s\nhosts: []\n\
        views:\n  svc: [{every: all, service: true}]\n  hosts: [{every: voters}]\n\
        steps:\n\
        \x20 - {id: r, title: 'Replace ${each} by ${spare}', for-each: {pick: voters, order: leader-last, spare: true}, run: [{host: each, verb: stop}, {host: spare, verb: set-servers, args: ['${view:svc}']}], effect: [{stop: {host: each}}, {route: {service: each, to: spare}}, {start: {host: spare, view: svc}}]}\n";
    let procedure = bound(text, &with_services(inventory(3, 3)), Some("zk1")).unwrap();
    assert_eq!(
        procedure.views["svc"].to_string(),
        "server.1=10.96.0.1:2888:3888, server.2=10.96.0.2:2888:3888, server.3=10.96.0.3:2888:3888"
    );
    assert_eq!(
        procedure.views["hosts"].to_string(),
        "server.1=10.0.0.1:2888:3888, server.2=10.0.0.2:2888:3888, server.3=10.0.0.3:2888:3888"
    );
    let titles: Vec<&str> = procedure.steps.iter().map(|s| s.title.as_str()).collect();
    assert_eq!(
        titles,
        [
            "Replace zk2 by zk5",
            "Replace zk3 by zk6",
            "Replace zk1 by zk4"
        ]
    );
    // The paired spares are modelled from the first step on, down until their step starts
    // them (without services routed first, the analyzer rightly blocks the second step).
    let planned = plan(&procedure, ZkVersion::NEWEST);
    assert_eq!(
        planned.also_modelled,
        ["zk1", "zk2", "zk3", "zk4", "zk5", "zk6"]
    );
    assert_eq!(planned.steps[0].hosts_up, ["zk1", "zk3", "zk5"]);

    // Two spares for three servers: the third has none.
    let err = bound(text, &with_services(inventory(3, 2)), Some("zk1")).unwrap_err();
    assert!(
        err.message.contains("`zk3` has no spare")
            && err.message.contains("2 spares for 3 servers"),
        "{err}"
    );
    assert_eq!((err.line, err.column), (9, 103), "{err}");

    // (runbook, spares in the inventory, what the error says, its line when it matters)
    let refused = [
        ("hosts: []\nsteps:\n  - {id: s, title: t, for-each: {pick: all}, run: [{host: spare, verb: start}]}\n", 3, "spare: true", None),
        ("hosts: [{name: zk1}]\nviews:\n  v: [{every: all, host: zk1}]\nsteps:\n  - {id: s, title: t}\n", 0, "not both", Some(6)),
        ("hosts: []\nviews:\n  v: [{every: all, sid: 7}]\nsteps:\n  - {id: s, title: t}\n", 0, "only `service: true`", None),
        ("hosts: []\nsteps:\n  - {id: s, title: t, for-each: {pick: all, spares: true}}\n", 3, "spares", Some(6)),
    ];
    for (rest, spares, says, line) in refused {
        let text = format!("name: t\ndescription: d\nsource: s\n{rest}");
        let err = bound(&text, &inventory(3, spares), None).unwrap_err();
        assert!(err.message.contains(says), "{err}");
        if let Some(line) = line {
            assert_eq!(err.line, line, "{err}");
        }
    }
    let no_services = bound(text, &inventory(3, 3), Some("zk1")).unwrap_err();
    assert!(
        no_services.message.contains("no service serving `zk1`"),
        "{no_services}"
    );
}

#[test]
fn a_service_must_exist_for_the_host_a_view_or_effect_names() {
    let text = format!(
        "{HEADER}views:\n  svc: [{{host: zk1, service: true}}, zk2, zk3]\n\
         steps:\n\
         \x20 - {{id: s, title: S, effect: [{{restart: {{host: zk1, view: svc}}}}]}}\n"
    );
    let err = bound(&text, &inventory(3, 2), None).unwrap_err();
    assert!(err.message.contains("no service serving `zk1`"), "{err}");

    let text = format!(
        "{HEADER}steps:\n\
         \x20 - {{id: s, title: S, effect: [{{route: {{service: zk4, to: zk1}}}}]}}\n"
    );
    let err = bound(&text, &with_services(inventory(3, 2)), None).unwrap_err();
    assert!(err.message.contains("no service serves `zk4`"), "{err}");
    assert_eq!(err.line, 6, "{err}");
}

/// The plan models every server the inventory knows, not only the runbook's hosts —
/// restarting one follower of three leaves the two servers the runbook never names running.
#[test]
fn a_runbook_naming_one_follower_plans_the_whole_ensemble() {
    let text = include_str!("../../../tests/fixtures/runbooks/restart-one-follower.yaml");
    let inventory = inventory(3, 2);
    let procedure = bound(text, &inventory, Some("zk3")).unwrap();
    let names: Vec<(&str, bool)> = procedure
        .hosts
        .iter()
        .map(|h| (h.name.as_str(), h.from_runbook))
        .collect();
    assert_eq!(names, [("f", true), ("zk2", false), ("zk3", false)]);
    let planned = plan(&procedure, ZkVersion::NEWEST);
    assert!(
        planned.steps.iter().all(|s| s.verdict == StepVerdict::Ok),
        "{planned:?}"
    );
    assert_eq!(planned.steps[0].hosts_up, ["f", "zk2", "zk3"]);
    assert_eq!(planned.bindings, [("f".to_string(), "zk1".to_string())]);
    assert_eq!(planned.also_modelled, ["zk2", "zk3"]);
}

/// A runbook cannot reach a server it does not list by its inventory name.
#[test]
fn unnamed_servers_cannot_be_named_by_the_runbook() {
    let text = "name: t\ndescription: d\nsource: s\nhosts: [{name: zk1}]\nsteps:\n  - {id: s, title: t, run: [{host: zk2, verb: restart}]}\n";
    let err = bound(text, &inventory(3, 0), None).unwrap_err();
    assert!(err.to_string().contains("zk2"), "{err}");
}

/// `each` names the repetition's server and nothing else: outside a `for-each` step it is an
/// error at its position, and an empty group is one too.
#[test]
fn for_each_binds_each_only_inside_its_step() {
    let outside = "name: t\ndescription: d\nsource: s\nhosts: []\nsteps:\n  - {id: s, title: t, run: [{host: each, verb: restart}]}\n";
    let err = bound(outside, &inventory(3, 0), None).unwrap_err();
    assert!(
        err.to_string().contains("only in a step with `for-each`"),
        "{err}"
    );
    let empty = "name: t\ndescription: d\nsource: s\nhosts: []\nsteps:\n  - {id: s, title: t, for-each: {pick: observers}, run: [{host: each, verb: restart}]}\n";
    let err = bound(empty, &inventory(3, 0), None).unwrap_err();
    assert!(
        err.to_string().contains("no server of the inventory"),
        "{err}"
    );
    let followers = "name: t\ndescription: d\nsource: s\nhosts: []\nsteps:\n  - {id: s, title: t, for-each: {pick: followers, order: by-sid}, run: [{host: each, verb: stop}]}\n";
    let procedure = bound(followers, &inventory(3, 0), Some("zk2")).unwrap();
    let ids: Vec<&str> = procedure.steps.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(ids, ["s@zk1", "s@zk3"]);
}

/// A server started on a view whose line for its own sid names another host's address binds
/// that address and, without `quorumListenOnAllIPs`, exits at start with code 14
/// (`QuorumCnxManager.Listener`, 3.5.6+): `plan` blocks the step that starts it, by name.
#[test]
fn a_step_starting_a_server_whose_own_line_is_not_its_address_is_blocked() {
    let text = format!(
        "{HEADER}views:\n  old: [zk1, zk2, zk3]\n  stale: [zk1, zk2, zk3, {{host: zk1, sid_of: zk4}}]\n\
         initial: {{up: [zk1, zk2, zk3], default_view: old}}\n\
         steps:\n\
         \x20 - {{id: start-zk4, title: Start zk4 on a stale copy, effect: [{{start: {{host: zk4, view: stale}}}}]}}\n"
    );
    let inventory = inventory(3, 2);
    let procedure = bound(&text, &inventory, None).unwrap();
    let planned = plan(&procedure, ZkVersion::new(3, 8, 0));
    let row = &planned.steps[0];
    assert_eq!(row.verdict, StepVerdict::Blocked, "{row:?}");
    assert!(
        row.hazards
            .iter()
            .any(|h| h.hazard == super::model::Hazard::ExitsAtStart
                && h.detail.starts_with("zk4 may exit at start after the step")),
        "{row:?}"
    );
    assert!(row
        .findings
        .iter()
        .any(|f| f.starts_with("zk4 MAY EXIT AT START")));
    // Before 3.5.6 it runs on, deaf: no exit to warn of.
    let old = plan(&procedure, ZkVersion::new(3, 5, 5));
    assert!(old.steps[0]
        .hazards
        .iter()
        .all(|h| h.hazard != super::model::Hazard::ExitsAtStart));
}
