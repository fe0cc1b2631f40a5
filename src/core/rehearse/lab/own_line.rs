//! Pure: the states whose own lines do not name their hosts — what Kubernetes and moved hosts
//! produce (issue 26). A server advertises its own view's line for its own sid and, without
//! `quorumListenOnAllIPs`, binds it (`QuorumPeer.setAddrs`, `QuorumCnxManager.Listener`); on
//! loopback every 127.x address is local, so these states only mean something with each host
//! in a network namespace of its own (`zkpilot lab elections --netns`).
//!
//! - **Service-fronted**: every sid has a service; one server's pod (a new host) took the sid
//!   over from its stopped host, and the service forwards to the pod (repointed) or still to
//!   the old host (the pod started first). The pod's own line is the service, or its real
//!   address on a newer template; other views list the sid at the service, at the pod, or at
//!   the old host (a view left behind).
//! - **Stale own line**: a replacement took over a stopped server's sid on the old template,
//!   whose line for that sid names the stopped host; other views name either.
//!
//! Either may leave a server, without listen-all, whose own line is not its address: it exits
//! at start, and the state is also of kind [`Kind::OwnLineNotOwn`].

use super::draw::{At, HostState, Kind, Line, Rng, ServiceRoute, Start, Trial, MAX_START_DELAY_MS};

/// Draws a service-fronted or stale-own-line state of `n` hosts (4 or more), or `None` when
/// the draw left fewer than two servers running.
pub fn draw(rng: &mut Rng, seed: u64, index: u32, n: usize) -> Option<Trial> {
    let fronted = rng.chance(50);
    // Sids 1..=m on hosts 0..m; host m is the pod or replacement that takes sid `sid` over
    // from host `sid - 1`, which is stopped.
    let m = n.checked_sub(1).filter(|&m| m >= 3)?;
    let sid = 1 + rng.below(m) as u64;
    let (old, new) = (sid as usize - 1, m);
    let base: Vec<Line> = (1..=m as u64)
        .map(|k| Line {
            sid: k,
            at: if fronted {
                At::Service(k)
            } else {
                At::Host(k as usize - 1)
            },
            observer: false,
        })
        .collect();
    let set = |view: &mut Vec<Line>, at: At| {
        for line in view.iter_mut().filter(|l| l.sid == sid) {
            line.at = at;
        }
    };

    let mut hosts = Vec::with_capacity(n);
    for host in 0..m {
        let mut view = base.clone();
        // Other views list the sid where the migration left them.
        let at = if fronted {
            [
                At::Service(sid),
                At::Service(sid),
                At::Host(old),
                At::Host(new),
            ][rng.below(4)]
        } else {
            [At::Host(old), At::Host(new)][rng.below(2)]
        };
        set(&mut view, at);
        hosts.push(HostState {
            sid: host as u64 + 1,
            running: host != old,
            view,
            // Behind services every server must listen on all addresses; a few forgot.
            listen_all: if fronted {
                rng.chance(85)
            } else {
                rng.chance(20)
            },
        });
    }
    let mut own = base.clone();
    if fronted && rng.chance(30) {
        // A newer template: the pod's own line names its real address.
        set(&mut own, At::Host(new));
    } else if !fronted {
        set(&mut own, At::Host(old));
    }
    hosts.push(HostState {
        sid,
        running: true,
        view: own,
        listen_all: rng.chance(if fronted { 70 } else { 50 }),
    });

    let mut kinds = vec![if fronted {
        Kind::ServiceFronted
    } else {
        Kind::StaleOwnLine
    }];
    if rng.chance(25) {
        let others: Vec<usize> = (0..m).filter(|&h| hosts[h].running).collect();
        hosts[others[rng.below(others.len())]].running = false;
        kinds.push(Kind::Down);
    }
    if hosts.iter().filter(|h| h.running).count() < 2 {
        return None;
    }
    let exits = hosts
        .iter()
        .enumerate()
        .any(|(i, h)| h.running && !h.listen_all && h.own_line_elsewhere(i));
    if exits {
        kinds.push(Kind::OwnLineNotOwn);
    }
    kinds.sort();

    let services = if fronted {
        let repointed = rng.chance(50);
        (1..=m as u64)
            .map(|k| ServiceRoute {
                sid: k,
                to: if k == sid && repointed {
                    new
                } else {
                    k as usize - 1
                },
            })
            .collect()
    } else {
        Vec::new()
    };

    // One shuffled sequence; the pod before or after the others is part of the draw.
    let mut order: Vec<usize> = (0..n).filter(|&h| hosts[h].running).collect();
    rng.shuffle(&mut order);
    let starts = order
        .iter()
        .enumerate()
        .map(|(k, &host)| Start {
            host,
            delay_ms: if k == 0 {
                0
            } else {
                (rng.below(MAX_START_DELAY_MS as usize / 100 + 1) * 100) as u32
            },
        })
        .collect();
    Some(Trial {
        seed,
        index,
        kinds,
        hosts,
        starts,
        services,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rehearse::lab::draw::tests::many_netns as many;

    #[test]
    fn both_kinds_are_drawn_with_and_without_listen_all_and_every_service_route() {
        let trials = many(2, 600);
        let of = |kind| trials.iter().filter(move |t| t.kinds.contains(&kind));
        assert!(of(Kind::ServiceFronted).count() > 100);
        assert!(of(Kind::StaleOwnLine).count() > 100);
        assert!(of(Kind::OwnLineNotOwn).count() > 30);
        // The loopback kinds are still drawn beside them.
        assert!(of(Kind::Moved).count() > 50);
        let pod = |t: &Trial| t.hosts.len() - 1;
        // A pod started before its service was repointed, and after.
        assert!(of(Kind::ServiceFronted).any(|t| t.services.iter().any(|s| s.to == pod(t))));
        assert!(of(Kind::ServiceFronted).all(|t| t.services.len() == t.hosts.len() - 1));
        for t in of(Kind::StaleOwnLine) {
            let p = pod(t);
            assert!(t.hosts[p].own_line_elsewhere(p), "{t:?}");
            assert!(t.services.is_empty());
        }
        for listen_all in [true, false] {
            assert!(of(Kind::StaleOwnLine).any(|t| t.hosts[pod(t)].listen_all == listen_all));
        }
    }

    #[test]
    fn every_state_has_two_servers_running_and_each_lists_its_own_sid() {
        for t in many(5, 1000) {
            let running: Vec<usize> = (0..t.hosts.len()).filter(|&h| t.hosts[h].running).collect();
            assert!(running.len() >= 2, "{t:?}");
            let mut started: Vec<usize> = t.starts.iter().map(|s| s.host).collect();
            started.sort();
            assert_eq!(started, running);
            for &h in &running {
                let host = &t.hosts[h];
                assert!(host.view.iter().any(|l| l.sid == host.sid), "{t:?}");
                assert!(host.view.iter().filter(|l| !l.observer).count() >= 2);
            }
            let exits = running
                .iter()
                .any(|&h| !t.hosts[h].listen_all && t.hosts[h].own_line_elsewhere(h));
            assert_eq!(exits, t.kinds.contains(&Kind::OwnLineNotOwn), "{t:?}");
        }
    }
}
