//! Snapshot tests of the watch screen, fed with real ZooKeeper 3.8.0 answers (the captured
//! fixtures), drawn on ratatui's `TestBackend` and compared as text.

use super::draw_watch;
use crate::console::keys::WatchKey as KeyAction;
use crate::console::watch::{update, Action, WatchState};
use crate::ensemble::{answered, EnsembleState, NodeTarget, PollFailure, PollReport};
use crate::zk::config::PeerAddr;
use crate::zk::fourlw::Command;
use zkpilot_core::testing::assert_contains;

const NOW: u64 = 1_790_000_000_000;
const LEADER_SRVR: &str = include_str!("../../tests/fixtures/zk4lw/leader.srvr.txt");
const LEADER_MNTR: &str = include_str!("../../tests/fixtures/zk4lw/leader.mntr.txt");
const FOLLOWER_SRVR: &str = include_str!("../../tests/fixtures/zk4lw/follower.srvr.txt");
const FOLLOWER_MNTR: &str = include_str!("../../tests/fixtures/zk4lw/follower.mntr.txt");
const OBSERVER_SRVR: &str = include_str!("../../tests/fixtures/zk4lw/observer.srvr.txt");
const LOOKING_SRVR: &str = include_str!("../../tests/fixtures/zk4lw/looking.srvr.txt");
const CONF: &str = include_str!("../../tests/fixtures/zk4lw/follower.conf.txt");
const WHITELIST_SRVR: &str =
    include_str!("../../tests/fixtures/zk4lw/standalone-whitelist-srvr.srvr.txt");
const WHITELIST_MNTR: &str =
    include_str!("../../tests/fixtures/zk4lw/standalone-whitelist-srvr.mntr.txt");
const WHITELIST_CONF: &str =
    include_str!("../../tests/fixtures/zk4lw/standalone-whitelist-srvr.conf.txt");

/// A real `conf` answer with its server id and membership replaced.
fn conf(sid: u64, members: &[(u64, &str)]) -> String {
    let head: Vec<&str> = CONF
        .lines()
        .take_while(|l| !l.starts_with("membership:"))
        .map(|l| {
            if l.starts_with("serverId=") {
                "serverId=SID"
            } else {
                l
            }
        })
        .collect();
    let mut text = head
        .join("\n")
        .replace("serverId=SID", &format!("serverId={sid}"));
    text.push_str("\nmembership: \n");
    for (member, role) in members {
        text.push_str(&format!(
            "server.{member}=127.0.0.{}:2888:3888:{role}\n",
            member + 1
        ));
    }
    text.push_str("version=0");
    text
}

fn voters(count: u64) -> Vec<(u64, &'static str)> {
    (1..=count).map(|sid| (sid, "participant")).collect()
}

fn targets(count: u64) -> Vec<NodeTarget> {
    (1..=count)
        .map(|sid| NodeTarget {
            admin: String::new(),
            name: format!("zk{sid}"),
            sid: Some(sid),
            client: format!("127.0.0.{}:2181", sid + 1),
            peer: None,
            declared_view: None,
        })
        .collect()
}

fn answer(node: usize, answers: Vec<(Command, Result<String, PollFailure>)>) -> Action {
    Action::Poll(PollReport {
        admin: Vec::new(),
        node,
        at: NOW,
        round_trip_ms: Some(0.4 + node as f64 * 0.1),
        answers: answers.into_iter().map(|(c, r)| answered(c, r)).collect(),
        ..PollReport::default()
    })
}

fn serving(node: usize, srvr: &str, mntr: &str, conf: String) -> Action {
    answer(
        node,
        vec![
            (Command::Srvr, Ok(srvr.to_string())),
            (Command::Mntr, Ok(mntr.to_string())),
            (Command::Conf, Ok(conf)),
        ],
    )
}

fn state(count: u64, actions: Vec<Action>) -> WatchState {
    let mut state = WatchState::new("lab".into(), EnsembleState::new(targets(count)), NOW);
    for action in actions {
        update(&mut state, action);
    }
    update(&mut state, Action::Tick(NOW + 1_500));
    state
}

fn healthy(count: u64) -> Vec<Action> {
    let leader = count as usize - 1;
    (0..count as usize)
        .map(|i| {
            let sid = i as u64 + 1;
            if i == leader {
                serving(i, LEADER_SRVR, LEADER_MNTR, conf(sid, &voters(count)))
            } else {
                serving(i, FOLLOWER_SRVR, FOLLOWER_MNTR, conf(sid, &voters(count)))
            }
        })
        .collect()
}

fn render(state: &WatchState, width: u16, height: u16) -> String {
    super::rendered(width, height, |frame, look| draw_watch(frame, state, look))
}

/// Five nodes at 80×24 are drawn a row each; five minutes without an answer, every row
/// says how old its data is, as the cards do. The rows read exactly like live ones.
#[test]
fn a_row_says_when_its_answers_are_old() {
    let mut state = state(5, healthy(5));
    let fresh = render(&state, 80, 24);
    assert!(!fresh.contains(" old"), "{fresh}");
    update(&mut state, Action::Tick(NOW + 300_000));
    let stale = render(&state, 80, 24);
    assert_eq!(stale.matches("5m old").count(), 5, "{stale}");
}

/// The title (a runbook's `name`, taken as written) is escaped like every other name.
#[test]
fn the_title_is_shown_escaped() {
    let mut state = state(3, healthy(3));
    state.title = "spo\u{202e}of\u{e000}".into();
    let screen = render(&state, 120, 30);
    assert!(
        !screen.contains('\u{202e}') && !screen.contains('\u{e000}'),
        "{screen}"
    );
    assert!(screen.contains("spo\\u{202e}of"), "{screen}");
}

#[test]
fn healthy_three_nodes() {
    let state = state(3, healthy(3));
    insta::assert_snapshot!(render(&state, 120, 30));
}

#[test]
fn healthy_five_nodes() {
    let state = state(5, healthy(5));
    insta::assert_snapshot!(render(&state, 120, 34));
}

#[test]
fn a_node_down() {
    let mut actions = healthy(3);
    actions[0] = answer(0, vec![(Command::Srvr, Err(PollFailure::Refused))]);
    let state = state(3, actions);
    insta::assert_snapshot!(render(&state, 120, 30));
}

/// Two spares down since the start share one line under the three servers' cards; the one
/// that answers (started by a step) gets its card back.
#[test]
fn spares_not_started_share_one_line() {
    let mut actions = healthy(3);
    for spare in [3, 4] {
        actions.push(answer(
            spare,
            vec![(Command::Srvr, Err(PollFailure::Refused))],
        ));
    }
    let mut state = state(5, actions);
    state.spares = vec![false, false, false, true, true];
    let screen = render(&state, 120, 30);
    assert!(!screen.contains("sid 4"), "no card for zk4: {screen}");
    insta::assert_snapshot!(screen);
    let members = voters(3);
    update(
        &mut state,
        serving(3, FOLLOWER_SRVR, FOLLOWER_MNTR, conf(4, &members)),
    );
    let screen = render(&state, 120, 40);
    assert!(screen.contains("zk4 · sid 4"), "zk4's card: {screen}");
    assert_contains(&screen, "spares not started: zk5 DOWN (refused)");
}

#[test]
fn a_looking_node_keeps_its_last_view() {
    let mut actions = healthy(3);
    actions.push(answer(
        0,
        vec![
            (Command::Srvr, Ok(LOOKING_SRVR.to_string())),
            (Command::Conf, Ok(LOOKING_SRVR.to_string())),
        ],
    ));
    let state = state(3, actions);
    insta::assert_snapshot!(render(&state, 120, 30));
}

#[test]
fn views_that_disagree_are_marked_and_split_brain_is_called_out() {
    // The LINE deck's slide 5 after R's restart: P and Q on the 3-node view, R, S, T on five.
    let five = voters(5);
    let three = voters(3);
    let actions = vec![
        serving(0, FOLLOWER_SRVR, FOLLOWER_MNTR, conf(1, &three)),
        serving(1, FOLLOWER_SRVR, FOLLOWER_MNTR, conf(2, &three)),
        serving(2, LEADER_SRVR, LEADER_MNTR, conf(3, &five)),
        serving(3, FOLLOWER_SRVR, FOLLOWER_MNTR, conf(4, &five)),
        serving(4, FOLLOWER_SRVR, FOLLOWER_MNTR, conf(5, &five)),
    ];
    let state = state(5, actions);
    let screen = render(&state, 120, 34);
    assert_contains(&screen, "SPLIT BRAIN POSSIBLE");
    insta::assert_snapshot!(screen);
}

#[test]
fn an_observer() {
    let mut members = voters(3);
    members.push((4, "observer"));
    let mut actions: Vec<Action> = healthy(3)
        .into_iter()
        .enumerate()
        .map(|(i, _)| {
            let (srvr, mntr) = if i == 2 {
                (LEADER_SRVR, LEADER_MNTR)
            } else {
                (FOLLOWER_SRVR, FOLLOWER_MNTR)
            };
            serving(i, srvr, mntr, conf(i as u64 + 1, &members))
        })
        .collect();
    actions.push(serving(3, OBSERVER_SRVR, FOLLOWER_MNTR, conf(4, &members)));
    let state = state(4, actions);
    insta::assert_snapshot!(render(&state, 160, 30));
}

#[test]
fn a_whitelist_refusal_degrades_to_srvr() {
    let actions = vec![answer(
        0,
        vec![
            (Command::Srvr, Ok(WHITELIST_SRVR.to_string())),
            (Command::Mntr, Ok(WHITELIST_MNTR.to_string())),
            (Command::Conf, Ok(WHITELIST_CONF.to_string())),
        ],
    )];
    let mut state = state(1, actions);
    update(&mut state, Action::Key(KeyAction::Open));
    insta::assert_snapshot!(render(&state, 100, 24));
}

/// A `mntr` key longer than the old fixed 40-column key field (3.6+ has many) keeps a space
/// before its value.
#[test]
fn the_mntr_popup_keeps_long_keys_apart_from_their_values() {
    let long = "zk_learner_handler_qp_size_sum_per_learner_with_a_long_name";
    let mntr = format!("{long}\t42\n{FOLLOWER_MNTR}");
    let actions = vec![answer(
        0,
        vec![
            (Command::Srvr, Ok(FOLLOWER_SRVR.to_string())),
            (Command::Mntr, Ok(mntr)),
        ],
    )];
    let mut state = state(1, actions);
    update(&mut state, Action::Key(KeyAction::Open));
    let screen = render(&state, 160, 30);
    assert!(screen.contains(&format!("{long} 42")), "{screen}");
}

#[test]
fn help_lists_every_key() {
    let mut state = state(3, healthy(3));
    update(&mut state, Action::Key(KeyAction::Help));
    insta::assert_snapshot!(render(&state, 100, 30));
}

#[test]
fn keys_move_the_selection_by_cards_and_rows() {
    let mut state = state(5, healthy(5));
    update(
        &mut state,
        Action::Resize {
            width: 120,
            height: 34,
        },
    );
    assert!(state.layout().as_cards);
    update(&mut state, Action::Key(KeyAction::Down));
    assert_eq!(state.selected, 3, "down a row of three cards");
    update(&mut state, Action::Key(KeyAction::Right));
    update(&mut state, Action::Key(KeyAction::Right));
    assert_eq!(state.selected, 0, "wraps around");
    update(&mut state, Action::Key(KeyAction::Left));
    assert_eq!(state.selected, 4);
    update(&mut state, Action::Key(KeyAction::Quit));
    assert!(state.quit);
}

/// At 80x24 five nodes show one line each: the arrows move one line, as drawn.
#[test]
fn keys_move_by_one_line_when_the_nodes_show_as_lines() {
    let mut state = state(5, healthy(5));
    update(
        &mut state,
        Action::Resize {
            width: 80,
            height: 24,
        },
    );
    assert!(!state.layout().as_cards);
    update(&mut state, Action::Key(KeyAction::Down));
    assert_eq!(state.selected, 1);
    update(&mut state, Action::Key(KeyAction::Up));
    assert_eq!(state.selected, 0);
}

/// Seed 000: servers whose views name Kubernetes service addresses. The panel's verdict must
/// follow the services to the servers behind them, not call every peer unreachable.
#[test]
fn views_naming_services_reach_the_servers_behind_them() {
    let conf_of = |sid: u64| {
        conf(sid, &voters(3))
            .replace("server.1=127.0.0.2", "server.1=10.96.0.1")
            .replace("server.2=127.0.0.3", "server.2=10.96.0.2")
            .replace("server.3=127.0.0.4", "server.3=10.96.0.3")
    };
    let with = |services: Vec<(PeerAddr, Option<usize>)>| {
        let mut targets = targets(3);
        for (i, target) in targets.iter_mut().enumerate() {
            target.peer = PeerAddr::parse(&format!("127.0.0.{}:2888:3888", i + 2)).ok();
        }
        let mut ensemble = EnsembleState::new(targets);
        ensemble.services = services;
        let mut state = WatchState::new("lab".into(), ensemble, NOW);
        for i in 0..3 {
            let srvr = if i == 2 { LEADER_SRVR } else { FOLLOWER_SRVR };
            let mntr = if i == 2 { LEADER_MNTR } else { FOLLOWER_MNTR };
            update(&mut state, serving(i, srvr, mntr, conf_of(i as u64 + 1)));
        }
        state.verdict().clone().expect("a verdict")
    };
    let service = |sid: u64| PeerAddr::parse(&format!("10.96.0.{sid}:2888:3888")).unwrap();

    let unknown = with(Vec::new());
    assert!(!unknown.quorum_possible);

    let routed = with(
        (1..=3)
            .map(|sid| (service(sid), Some(sid as usize - 1)))
            .collect(),
    );
    assert!(routed.quorum_possible);
    assert!(routed.unreachable.is_empty());
}

/// A follower restarts and shows the same view as before its restart: once that view is seen
/// again the verdict must say so, although nothing the audit log records has changed.
#[test]
fn the_verdict_follows_a_restarted_node_showing_its_view_again() {
    let mut state = state(3, healthy(3));
    assert!(state.verdict().is_ok());
    let later = |at: u64, answers: Vec<(Command, Result<String, PollFailure>)>| {
        Action::Poll(PollReport::fourlw(
            0,
            NOW + at,
            answers.into_iter().map(|(c, r)| answered(c, r)).collect(),
        ))
    };
    update(
        &mut state,
        later(2_000, vec![(Command::Srvr, Err(PollFailure::Refused))]),
    );
    update(
        &mut state,
        later(3_000, vec![(Command::Srvr, Ok(FOLLOWER_SRVR.to_string()))]),
    );
    // The verdict stays, judged under assumptions about zk1 and saying so.
    assert!(state.verdict().as_ref().is_ok_and(|v| v.quorum_possible));
    assert_eq!(crate::ensemble::live::assumptions(&state.ensemble), ["zk1"]);
    update(
        &mut state,
        later(3_500, vec![(Command::Conf, Ok(conf(1, &voters(3))))]),
    );
    assert!(state.verdict().as_ref().is_ok_and(|v| v.quorum_possible));
    assert!(crate::ensemble::live::assumptions(&state.ensemble).is_empty());
}

#[test]
fn five_nodes_at_80x24_get_a_row_each() {
    let mut state = state(5, healthy(5));
    update(&mut state, Action::Key(KeyAction::Right));
    let screen = render(&state, 80, 24);
    for (sid, role) in [
        (1, "follower"),
        (2, "follower"),
        (4, "follower"),
        (5, "LEADER"),
    ] {
        let row = screen
            .lines()
            .find(|l| l.contains(&format!(" zk{sid} ")) && l.contains("zxid"))
            .unwrap_or_else(|| panic!("zk{sid} has a row\n{screen}"));
        assert!(row.contains(role), "{row}");
    }
    insta::assert_snapshot!(screen);
}

/// The live summary, `analyze` and `plan` render one list of findings (`quorum::findings`):
/// the LINE deck's slide 5 as the watch screen polls it, as a state file describes it, and as
/// the state after a planned step (zk4 and zk5 started and zk3 restarted on the five-server view
/// while zk1 and zk2 stay on the three) give the same findings, and every one of them is on the
/// summary line and on the plan's row.
#[test]
fn the_watch_summary_plan_and_analyze_show_the_same_findings_for_the_same_state() {
    use crate::quorum::findings::findings;
    let five = voters(5);
    let three = voters(3);
    let state = state(
        5,
        vec![
            serving(0, FOLLOWER_SRVR, FOLLOWER_MNTR, conf(1, &three)),
            serving(1, FOLLOWER_SRVR, FOLLOWER_MNTR, conf(2, &three)),
            serving(2, LEADER_SRVR, LEADER_MNTR, conf(3, &five)),
            serving(3, FOLLOWER_SRVR, FOLLOWER_MNTR, conf(4, &five)),
            serving(4, FOLLOWER_SRVR, FOLLOWER_MNTR, conf(5, &five)),
        ],
    );
    let live = state.verdict().clone().expect("a verdict");
    let file = include_str!("../../tests/fixtures/states/valid/slide5_r_restarted.yaml")
        .replace("zookeeper: \"3.4.6\"", "zookeeper: \"3.8.0\"");
    let report = crate::analyze::analyze(&file, std::path::Path::new("slide5.yaml"))
        .expect("the fixture analyzes");
    let numbered = |i: usize| format!("n{i}");
    assert_eq!(
        findings(&live, &numbered),
        findings(&report.verdict, &numbered)
    );
    let screen = render(&state, 400, 34);
    let name = |i: usize| state.ensemble.nodes[i].target.name.clone();
    for finding in findings(&live, &name) {
        assert!(screen.contains(&finding.text), "{}\n{screen}", finding.text);
    }

    let runbook = "name: t\ndescription: d\nsource: s\n\
        hosts: [{name: zk1}, {name: zk2}, {name: zk3}, {name: zk4}, {name: zk5}]\n\
        views: {three: [zk1, zk2, zk3], five: [zk1, zk2, zk3, zk4, zk5]}\n\
        initial: {up: [zk1, zk2, zk3], default_view: three}\n\
        steps:\n  - {id: grow, title: Grow, effect: [{start: {host: zk4, view: five}}, \
        {start: {host: zk5, view: five}}, {restart: {host: zk3, view: five}}]}\n";
    let inventory = crate::runbook::fixtures::inventory(5);
    let procedure =
        crate::runbook::fixtures::bind_alone(runbook, &inventory, &|_| Err("none".into()))
            .expect("the runbook binds");
    let planned =
        crate::runbook::plan::plan(&procedure, crate::zk::version::ZkVersion::new(3, 8, 0));
    let hazards: Vec<String> = findings(&live, &name)
        .into_iter()
        .filter(|f| f.severity != crate::quorum::findings::Severity::Ok)
        .map(|f| f.text)
        .collect();
    assert!(!hazards.is_empty(), "slide 5 has a split brain to name");
    assert_eq!(planned.steps[0].findings, hazards);
    let table = crate::runbook::plan::render_table(&planned);
    for finding in &hazards {
        assert!(table.contains(finding.as_str()), "{finding}\n{table}");
    }
}

/// At 80×24 every key of the help shows whole: its label and every word of what it does.
#[test]
fn the_help_fits_a_jump_host() {
    let mut state = state(3, healthy(3));
    update(&mut state, Action::Key(KeyAction::Help));
    let screen = render(&state, 80, 24);
    let text = screen
        .replace('│', " ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    for (label, help) in crate::console::keys::help_rows(crate::console::keys::WATCH_KEYS, |_| true)
    {
        let row = format!(
            "{label} {}",
            help.split_whitespace().collect::<Vec<_>>().join(" ")
        );
        assert!(text.contains(&row), "{row}:\n{screen}");
    }
    insta::assert_snapshot!(screen);
}

/// A hand-built ensemble's names and addresses at 160 columns (four cards a row): each card's
/// title and polled line fit, the address given way first, the routes shortened; the view
/// strip keeps each name apart from its mark.
#[test]
fn long_names_and_routes_fit_the_cards_at_160_columns() {
    let mut state = state(4, healthy(4));
    for (i, node) in state.ensemble.nodes.iter_mut().enumerate() {
        node.target.name = format!("zookeeper-east-{}", i + 1);
        node.target.client = format!("127.77.200.{}:2181", i + 1);
        node.linked = true;
        node.srvr_source = Some(crate::ensemble::Source::Admin);
        node.mntr_source = Some(crate::ensemble::Source::Admin);
        if let Some(view) = node.view.as_mut() {
            view.source = if i % 2 == 0 {
                crate::ensemble::ViewSource::AdminVoters
            } else {
                crate::ensemble::ViewSource::ZooCfg
            };
        }
    }
    let screen = render(&state, 160, 30);
    for i in 1..=4 {
        let title = format!(" zookeeper-east-{i} · sid {i} ");
        assert!(screen.contains(&title), "{title}:\n{screen}");
    }
    assert!(screen.contains("session open via admin "), "{screen}");
    assert!(screen.contains("session open via a/a/s"), "{screen}");
    for i in 1..=4 {
        let view = format!("zookeeper-east-{i} ✓ agrees");
        assert!(screen.contains(&view), "{view}:\n{screen}");
    }
    insta::assert_snapshot!(screen);
}
