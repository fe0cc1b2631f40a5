//! The analyzer applied to the live ensemble (pure): what the poller has seen, turned into the
//! analyzer's input, so the panels can say whether quorum holds and whether two can form.
//!
//! A server that runs but has not shown its view since it last started (restarting, or
//! LOOKING, which answers no `conf`: research notes, "A server without quorum") may run any
//! config. Dropping the verdict until it shows one left the operator without it exactly while a
//! server restarts; analysing with its last view as if it were current could call safe a state
//! where it came back on another config (the split brain reproduced on 3.8.0: R restarted on
//! the five-server view). So such a server is judged under every assumption in play — as
//! down, on its last known view, and on every view another server holds or was declared — and
//! the worst of those verdicts is the one shown, saying what it assumed ([`assumptions`]). A
//! server whose client port refuses connections runs no process there and is judged down.

use crate::ensemble::{EnsembleState, Health, NodeState};
use crate::quorum::{Advert, Ensemble, Node, Quorum, Stall, Strand, Verdict, Witness};
use crate::zk::config::{PeerAddr, View};
use crate::zk::fourlw::Mode;
use crate::zk::version::ZkVersion;

/// The most combinations of assumptions analysed for one verdict: each is a full analyzer run
/// (about 15 µs for five voters, 260 µs for nine: `docs/benchmarks.md`), so a few servers
/// restarting at once stay well within a poll interval.
pub const MAX_ASSUMPTIONS: usize = 64;

/// The live verdict, or in words why there is none yet. With servers whose view is not known
/// since they started, the worst verdict over every assumption about them (module docs).
pub fn verdict(state: &EnsembleState) -> Result<Verdict, String> {
    verdict_of(&Input::of(state)?)
}

/// The live verdict, worked out again only when what the analyzer reads of the ensemble
/// changed: a poll report that changes nothing but counters and ages (most of them) costs a
/// comparison, not up to `MAX_ASSUMPTIONS` analyzer runs.
#[derive(Debug, Clone, PartialEq)]
pub struct LiveVerdict {
    input: Result<Input, String>,
    pub verdict: Result<Verdict, String>,
}

impl LiveVerdict {
    pub fn of(state: &EnsembleState) -> LiveVerdict {
        let input = Input::of(state);
        let verdict = input.as_ref().map_err(Clone::clone).and_then(verdict_of);
        LiveVerdict { input, verdict }
    }

    /// Brings the verdict up to date with `state`; true when the analyzer had to run.
    pub fn refresh(&mut self, state: &EnsembleState) -> bool {
        let input = Input::of(state);
        if input == self.input {
            return false;
        }
        self.verdict = input.as_ref().map_err(Clone::clone).and_then(verdict_of);
        self.input = input;
        true
    }
}

fn verdict_of(input: &Input) -> Result<Verdict, String> {
    let mut verdicts = Vec::new();
    for ensemble in input.ensembles()? {
        verdicts.push(ensemble.verdict().map_err(|e| e.to_string())?);
    }
    let worst = Verdict::worst(verdicts).ok_or("nothing to analyze")?;
    Ok(remap(worst, &input.index))
}

/// The servers the verdict had to assume something about: up without a view seen since their
/// last start. Empty when every view is known.
pub fn assumptions(state: &EnsembleState) -> Vec<String> {
    state
        .nodes
        .iter()
        .filter(|node| uncertain(node))
        .map(|node| node.target.name.clone())
        .collect()
}

/// The verdict line's words for [`assumptions`], `None` when nothing was assumed.
pub fn assumed_words(state: &EnsembleState) -> Option<String> {
    let names = assumptions(state);
    (!names.is_empty()).then(|| {
        format!(
            "assumed: {} (view not seen since it started) down, on its last known view or on any view in play; the worst is shown",
            names.join(", ")
        )
    })
}

fn uncertain(node: &NodeState) -> bool {
    node.health.is_up() && node.current_view().is_none()
}

/// One server as the analyzer will see it: fixed, or one of several assumptions.
#[derive(Debug, Clone, PartialEq)]
struct Choices {
    name: String,
    sid: u64,
    aliases: Vec<PeerAddr>,
    /// Its real peer address when the inventory gives it.
    peer: Option<PeerAddr>,
    /// Its `quorumListenOnAllIPs` when its `zoo.cfg` was read.
    listen_all: Option<bool>,
    /// `(up, view)` for each assumption; one entry for a server whose state is known.
    options: Vec<(bool, View)>,
}

/// The analyzer's input before the assumptions are picked; `index[k]` is the node of `state`
/// the analyzer's node `k` stands for.
#[derive(Debug, Clone, PartialEq)]
struct Input {
    version: ZkVersion,
    nodes: Vec<Choices>,
    index: Vec<usize>,
}

impl Input {
    fn of(state: &EnsembleState) -> Result<Input, String> {
        if state.nodes.iter().any(|n| n.health == Health::Unknown) {
            return Err("waiting for the first poll of every node".into());
        }
        if state
            .nodes
            .iter()
            .any(|n| n.health == Health::Serving(Mode::Standalone))
        {
            return Err("a standalone server is a quorum of one: nothing to analyze".into());
        }
        let in_play = views_in_play(state);
        let version = state.version().unwrap_or(ZkVersion::NEWEST);
        let mut nodes = Vec::with_capacity(state.nodes.len());
        let mut index = Vec::with_capacity(state.nodes.len());
        for (i, node) in state.nodes.iter().enumerate() {
            let name = node.target.name.clone();
            let up = node.health.is_up();
            let Some(sid) = node.sid() else {
                if up {
                    return Err(format!("{name}: its server id is unknown"));
                }
                continue;
            };
            let options = if uncertain(node) {
                let mut options = vec![(false, View::default())];
                let last = node.view.iter().map(|v| &v.view);
                for view in last.chain(in_play.iter()) {
                    if !options.iter().any(|(up, v)| *up && v.same_membership(view)) {
                        options.push((true, view.clone()));
                    }
                }
                options
            } else {
                let view = node.current_view().map(|v| v.view.clone());
                vec![(up, view.unwrap_or_default())]
            };
            let peer = node.target.peer.clone();
            // Without its real address from the inventory, the address a view gives its sid.
            let addressed = peer.is_some()
                || options
                    .iter()
                    .any(|(_, view)| own_address(Some(view), sid).is_some());
            if !addressed {
                if up {
                    return Err(unknown_view(node));
                }
                continue;
            }
            nodes.push(Choices {
                name,
                sid,
                aliases: state.aliases_of(i),
                peer,
                // A server that serves has bound its election port; from 3.5.6 one that could
                // not would have exited (`QuorumCnxManager.Listener`, code 14), so unless its
                // zoo.cfg says otherwise it listens wherever it needs to: on all addresses.
                listen_all: node.listen_all.or_else(|| {
                    (matches!(node.health, Health::Serving(_))
                        && version.exits_when_it_cannot_bind())
                    .then_some(true)
                }),
                options,
            });
            index.push(i);
        }
        Ok(Input {
            version,
            nodes,
            index,
        })
    }

    /// Every combination of the servers' assumptions, as analyzer input.
    fn ensembles(&self) -> Result<Vec<Ensemble>, String> {
        let count = self
            .nodes
            .iter()
            .try_fold(1usize, |n, c| n.checked_mul(c.options.len()))
            .filter(|n| *n <= MAX_ASSUMPTIONS)
            .ok_or_else(|| {
                let restarting: Vec<&str> = self
                    .nodes
                    .iter()
                    .filter(|c| c.options.len() > 1)
                    .map(|c| c.name.as_str())
                    .collect();
                format!(
                    "{} have not shown their views since they started: too many combinations to judge",
                    restarting.join(", ")
                )
            })?;
        let mut ensembles = Vec::with_capacity(count);
        for mut pick in 0..count {
            let mut nodes = Vec::with_capacity(self.nodes.len());
            for choices in &self.nodes {
                let (up, view) = &choices.options[pick % choices.options.len()];
                pick /= choices.options.len();
                let Some(addr) = choices.peer.clone().or_else(|| {
                    own_address(Some(view), choices.sid).or_else(|| {
                        choices
                            .options
                            .iter()
                            .find_map(|(_, v)| own_address(Some(v), choices.sid))
                    })
                }) else {
                    return Err(format!("{}: its peer address is unknown", choices.name));
                };
                nodes.push(Node {
                    name: choices.name.clone(),
                    sid: choices.sid,
                    addr,
                    aliases: choices.aliases.clone(),
                    up: *up,
                    view: view.clone(),
                    listen_all: choices.listen_all,
                });
            }
            ensembles.push(Ensemble {
                version: self.version,
                nodes,
                partitions: None,
            });
        }
        Ok(ensembles)
    }
}

/// Every distinct view a server of the ensemble holds, current or last known, or was declared
/// with: what a server that restarts during a migration comes back on.
fn views_in_play(state: &EnsembleState) -> Vec<View> {
    let mut views: Vec<View> = Vec::new();
    let seen = state
        .nodes
        .iter()
        .filter_map(|n| n.view.as_ref())
        .map(|v| &v.view);
    let declared = state
        .nodes
        .iter()
        .filter_map(|n| n.target.declared_view.as_ref());
    for view in seen.chain(declared) {
        if !views.iter().any(|v| v.same_membership(view)) {
            views.push(view.clone());
        }
    }
    views
}

/// The verdict's node numbers turned from the analyzer's input into the live ensemble's, so a
/// server left out of the analysis (down, with no address known) does not shift the names.
fn remap(verdict: Verdict, index: &[usize]) -> Verdict {
    let at = |k: usize| index.get(k).copied().unwrap_or(k);
    let quorum = |q: Quorum| Quorum {
        leader: at(q.leader),
        members: q.members.into_iter().map(at).collect(),
    };
    let all = |list: Vec<usize>| list.into_iter().map(at).collect::<Vec<usize>>();
    Verdict {
        quorum_possible: verdict.quorum_possible,
        split_brain: verdict.split_brain.map(|w| Witness {
            a: quorum(w.a),
            b: quorum(w.b),
        }),
        unreachable: verdict
            .unreachable
            .into_iter()
            .map(|(a, b)| (at(a), at(b)))
            .collect(),
        possible_leaders: all(verdict.possible_leaders),
        smallest_quorums: verdict.smallest_quorums.into_iter().map(quorum).collect(),
        hollow_leaders: all(verdict.hollow_leaders),
        ensembles: verdict.ensembles.into_iter().map(all).collect(),
        duplicate_sids: verdict.duplicate_sids.into_iter().map(all).collect(),
        exits_at_start: all(verdict.exits_at_start),
        exit_lines: verdict.exit_lines,
        brief_leaders: all(verdict.brief_leaders),
        listen_all_unknown: all(verdict.listen_all_unknown),
        misadvertised: verdict
            .misadvertised
            .into_iter()
            .map(|a| Advert {
                node: at(a.node),
                reaches: a.reaches.map(at),
                addrs: a.addrs,
            })
            .collect(),
        stalls: verdict
            .stalls
            .into_iter()
            .map(|s| Stall {
                leader: at(s.leader),
                cannot_follow: all(s.cannot_follow),
            })
            .collect(),
        strandable: verdict
            .strandable
            .into_iter()
            .map(|s| Strand {
                server: at(s.server),
                leader: at(s.leader),
            })
            .collect(),
        cannot_serve: all(verdict.cannot_serve),
    }
}

fn own_address(view: Option<&View>, sid: u64) -> Option<PeerAddr> {
    view?.server(sid).map(|line| line.primary_addr().clone())
}

fn unknown_view(node: &NodeState) -> String {
    format!(
        "{}: its config view was never seen (it has been LOOKING or refuses `conf`) and no view \
         lists its address; give it in the inventory or runbook",
        node.target.name
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ensemble::{answered, default_admin, Millis, NodeTarget, PollFailure, PollReport};
    use crate::zk::fourlw::Command;

    const FOLLOWER: &str = include_str!("../../../tests/fixtures/zk4lw/follower.srvr.txt");
    const LEADER: &str = include_str!("../../../tests/fixtures/zk4lw/leader.srvr.txt");

    fn target(sid: u64, peer: bool) -> NodeTarget {
        let client = format!("127.0.0.{}:2181", sid + 1);
        NodeTarget {
            name: format!("zk{sid}"),
            sid: Some(sid),
            admin: default_admin(&client),
            client,
            peer: peer
                .then(|| PeerAddr::parse(&format!("10.0.0.{sid}:2888:3888")).ok())
                .flatten(),
            declared_view: None,
        }
    }

    /// A `conf` answer of server `sid` whose view has the participants `members`.
    fn conf(sid: u64, members: &[u64]) -> String {
        let mut text = format!("serverId={sid}\nmembership: \n");
        for m in members {
            text.push_str(&format!("server.{m}=10.0.0.{m}:2888:3888:participant\n"));
        }
        text + "version=0"
    }

    fn poll(
        state: &mut EnsembleState,
        node: usize,
        at: Millis,
        answers: Vec<(Command, Result<crate::ensemble::Said, PollFailure>)>,
    ) {
        state.apply(&PollReport::fourlw(node, at, answers));
    }

    /// Servers 1..=views.len() serving, each on the view given for it; the last one leads.
    fn ensemble(views: &[&[u64]]) -> EnsembleState {
        let count = views.len() as u64;
        let mut state = EnsembleState::new((1..=count).map(|sid| target(sid, true)).collect());
        for (node, members) in views.iter().enumerate() {
            let srvr = if node + 1 == views.len() {
                LEADER
            } else {
                FOLLOWER
            };
            serving(&mut state, node, srvr, conf(node as u64 + 1, members));
        }
        state
    }

    /// Node `node` answers `srvr` and its configuration `conf` at the first second.
    fn serving(state: &mut EnsembleState, node: usize, srvr: &str, conf: String) {
        poll(
            state,
            node,
            1_000,
            vec![
                answered(Command::Srvr, Ok(srvr.into())),
                answered(Command::Conf, Ok(conf)),
            ],
        );
    }

    /// Node `node` stops answering, then serves again: restarted, its view not seen since.
    fn restart(state: &mut EnsembleState, node: usize) {
        poll(
            state,
            node,
            2_000,
            vec![answered(Command::Srvr, Err(PollFailure::Refused))],
        );
        poll(
            state,
            node,
            3_000,
            vec![answered(Command::Srvr, Ok(FOLLOWER.into()))],
        );
        assert!(state.nodes[node].current_view().is_none());
    }

    #[test]
    fn a_restarting_server_keeps_the_verdict_and_the_line_says_what_was_assumed() {
        let mut state = ensemble(&[&[1, 2, 3], &[1, 2, 3], &[1, 2, 3]]);
        let before = verdict(&state).expect("a verdict");
        assert!(before.quorum_possible && before.split_brain.is_none());
        assert!(assumptions(&state).is_empty());
        assert_eq!(assumed_words(&state), None);

        restart(&mut state, 0);
        let during = verdict(&state).expect("still a verdict while zk1 restarts");
        assert!(
            during.quorum_possible,
            "zk2 and zk3 are a majority either way"
        );
        assert!(during.split_brain.is_none());
        assert_eq!(assumptions(&state), ["zk1"]);
        assert!(assumed_words(&state).is_some_and(|w| w.contains("zk1")));

        poll(
            &mut state,
            0,
            3_500,
            vec![answered(Command::Conf, Ok(conf(1, &[1, 2, 3])))],
        );
        assert_eq!(verdict(&state), Ok(before));
        assert!(assumptions(&state).is_empty());
    }

    /// The split brain reproduced on 3.8.0 (research notes): P and Q on the three-server view,
    /// S and T on the five-server one, R restarted on the five-server view. Before R shows its
    /// new view, judging it on its last known one would call the state safe; the worst over
    /// the views in play must not.
    #[test]
    fn a_restarted_server_is_never_called_safe_on_its_old_view_alone() {
        let old: &[u64] = &[1, 2, 3];
        let new: &[u64] = &[1, 2, 3, 4, 5];
        let mut state = ensemble(&[old, old, old, new, new]);
        assert!(
            verdict(&state).unwrap().split_brain.is_none(),
            "R on the old view: no split"
        );
        restart(&mut state, 2);
        let assumed = verdict(&state).expect("a verdict");
        let witness = assumed.split_brain.expect("R may run the five-server view");
        let names = |q: &Quorum| -> Vec<u64> { q.members.iter().map(|&m| m as u64 + 1).collect() };
        let mut sides = [names(&witness.a), names(&witness.b)];
        sides.sort();
        assert_eq!(sides, [vec![1, 2], vec![3, 4, 5]]);

        poll(
            &mut state,
            2,
            3_500,
            vec![answered(Command::Conf, Ok(conf(3, new)))],
        );
        assert!(
            verdict(&state).unwrap().split_brain.is_some(),
            "and it does"
        );
    }

    /// A server that is LOOKING answers no `conf`: the worst includes it being down, so a
    /// quorum that needs it is not promised.
    #[test]
    fn a_looking_server_is_not_counted_on_for_the_quorum() {
        let mut state = ensemble(&[&[1, 2, 3], &[1, 2, 3], &[1, 2, 3]]);
        poll(
            &mut state,
            1,
            2_000,
            vec![answered(Command::Srvr, Err(PollFailure::Refused))],
        );
        let looking = "This ZooKeeper instance is not currently serving requests\n";
        poll(
            &mut state,
            0,
            2_000,
            vec![answered(Command::Srvr, Err(PollFailure::Refused))],
        );
        poll(
            &mut state,
            0,
            3_000,
            vec![answered(Command::Srvr, Ok(looking.into()))],
        );
        assert_eq!(state.nodes[0].health, Health::NotServing);
        let verdict = verdict(&state).expect("a verdict");
        assert!(
            !verdict.quorum_possible,
            "zk2 is down and zk1 may not come back"
        );
        assert_eq!(assumptions(&state), ["zk1"]);
    }

    /// Names in the verdict are the live ensemble's: a down server the analyzer leaves out
    /// (no address known) does not shift them.
    #[test]
    fn a_server_left_out_of_the_analysis_does_not_shift_the_names() {
        let mut targets = vec![target(9, false)];
        targets.extend((1..=3).map(|sid| target(sid, true)));
        let mut state = EnsembleState::new(targets);
        poll(
            &mut state,
            0,
            1_000,
            vec![answered(Command::Srvr, Err(PollFailure::Refused))],
        );
        for node in 1..=3 {
            let srvr = if node == 3 { LEADER } else { FOLLOWER };
            serving(&mut state, node, srvr, conf(node as u64, &[1, 2, 3]));
        }
        let verdict = verdict(&state).expect("a verdict");
        assert_eq!(verdict.possible_leaders, [1, 2, 3]);
        assert!(verdict
            .smallest_quorums
            .iter()
            .all(|q| !q.members.contains(&0)));
    }

    #[test]
    fn the_worst_verdict_takes_each_figure_at_its_worst() {
        let quorum = |leader: usize, members: &[usize]| Quorum {
            leader,
            members: members.to_vec(),
        };
        let safe = Verdict {
            quorum_possible: true,
            possible_leaders: vec![2],
            smallest_quorums: vec![quorum(2, &[1, 2])],
            ..Verdict::default()
        };
        let split = Verdict {
            quorum_possible: true,
            split_brain: Some(Witness {
                a: quorum(0, &[0, 1]),
                b: quorum(2, &[2, 3]),
            }),
            possible_leaders: vec![0, 2],
            smallest_quorums: vec![quorum(0, &[0, 1]), quorum(2, &[2, 3])],
            unreachable: vec![(0, 3)],
            ..Verdict::default()
        };
        let stuck = Verdict {
            quorum_possible: false,
            ..Verdict::default()
        };
        let worst = Verdict::worst(vec![safe, split.clone(), stuck]).unwrap();
        assert!(!worst.quorum_possible);
        assert_eq!(worst.split_brain, split.split_brain);
        assert_eq!(worst.possible_leaders, [0, 2]);
        assert_eq!(
            worst.smallest_quorums,
            [quorum(0, &[0, 1]), quorum(2, &[1, 2])]
        );
        assert_eq!(worst.unreachable, [(0, 3)]);
        assert_eq!(Verdict::worst(Vec::new()), None);
    }

    /// `quorumListenOnAllIPs` is told only by the zoo.cfg read over SSH (`conf` and the
    /// AdminServer do not report it); a serving 3.5.6+ server without one has bound its port.
    #[test]
    fn listen_all_comes_from_the_zoo_cfg_or_from_serving() {
        let mut state = ensemble(&[&[1, 2, 3], &[1, 2, 3], &[1, 2, 3]]);
        assert_eq!(state.nodes[0].listen_all, None);
        let served = Input::of(&state).expect("an input");
        assert_eq!(served.nodes[0].listen_all, Some(true));
        state.nodes[0].apply_zoo_cfg(
            Ok("quorumListenOnAllIPs=false\nserver.1=10.0.0.1:2888:3888\n".into()),
            2_000,
        );
        assert_eq!(state.nodes[0].listen_all, Some(false));
        let read = Input::of(&state).expect("an input");
        assert_eq!(read.nodes[0].listen_all, Some(false));
    }

    #[test]
    fn the_analyzer_runs_again_only_when_what_it_reads_changed() {
        let mut state = ensemble(&[&[1, 2, 3], &[1, 2, 3], &[1, 2, 3]]);
        let mut live = LiveVerdict::of(&state);
        assert!(live.verdict.as_ref().is_ok_and(|v| v.quorum_possible));
        poll(
            &mut state,
            0,
            1_500,
            vec![answered(Command::Srvr, Ok(FOLLOWER.into()))],
        );
        assert!(
            !live.refresh(&state),
            "the same answer again: nothing to analyze"
        );
        poll(
            &mut state,
            1,
            2_000,
            vec![answered(Command::Srvr, Err(PollFailure::Refused))],
        );
        assert!(live.refresh(&state), "a server went down");
        assert_eq!(live.verdict, verdict(&state));
        assert!(!live.refresh(&state));
    }
}
