//! Interchangeable ids: two sids that move to new hosts, listed alike in every membership, with
//! old hosts that start alike and neither the live leader, are the same problem with their
//! names swapped. On 3.5+ rules the analyzer never compares sids for order (a pair has an
//! election link when either side lists the other where it listens, `Ensemble::cut`; votes
//! are tallied by set, `election::Decisions`), so a state and the state with two such ids
//! swapped — their hosts' slots, and every view's bits for them — cost the same to finish. The
//! exact search keeps one of each such family of states (every host of nine replaced: 8! orders
//! of the same eight ids). Before 3.5 the larger sid dials the smaller from its own view
//! (ZOOKEEPER-2938): order matters, and nothing is merged.

use super::model::{Problem, Slot, ViewKey};
use super::search::{Move, MoveKind};

/// A renaming of takeovers: takeover `t` becomes `to[t]` (its hosts, its bit in every view).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Renaming {
    to: Vec<usize>,
}

impl Renaming {
    pub fn identity(takeovers: usize) -> Renaming {
        Renaming {
            to: (0..takeovers).collect(),
        }
    }

    /// `self` after `first`.
    pub fn after(&self, first: &Renaming) -> Renaming {
        Renaming {
            to: first.to.iter().map(|&t| self.to[t]).collect(),
        }
    }

    pub fn inverse(&self) -> Renaming {
        let mut to = vec![0; self.to.len()];
        for (t, &u) in self.to.iter().enumerate() {
            to[u] = t;
        }
        Renaming { to }
    }

    fn host(&self, problem: &Problem, h: usize) -> usize {
        problem
            .takeovers
            .iter()
            .enumerate()
            .find_map(|(t, takeover)| {
                let image = &problem.takeovers[self.to[t]];
                if takeover.old == h {
                    Some(image.old)
                } else if takeover.new == h {
                    Some(image.new)
                } else {
                    None
                }
            })
            .unwrap_or(h)
    }

    /// Service `s` renamed: the service in front of the id its id's takeover becomes (a
    /// service in front of an id that stays keeps its place; `alike` pairs takeovers that both
    /// have a service or neither).
    fn service(&self, problem: &Problem, s: usize) -> usize {
        problem
            .takeover_of_service(s)
            .and_then(|t| problem.service_of_takeover(self.to[t]))
            .unwrap_or(s)
    }

    fn view(&self, problem: &Problem, key: ViewKey) -> ViewKey {
        let moved = self
            .to
            .iter()
            .enumerate()
            .filter(|(t, _)| key.moved & 1 << t != 0)
            .fold(0, |bits, (_, &u)| bits | 1 << u);
        let via = (0..problem.services.len())
            .filter(|s| key.via & 1 << s != 0)
            .fold(0, |bits, s| bits | 1 << self.service(problem, s));
        ViewKey { moved, via, ..key }
    }

    fn slot(&self, problem: &Problem, slot: Slot) -> Slot {
        match slot {
            Slot::Up(key) => Slot::Up(self.view(problem, key)),
            Slot::To(h) => Slot::To(self.host(problem, h)),
            other => other,
        }
    }

    pub fn slots(&self, problem: &Problem, slots: &[Slot]) -> Vec<Slot> {
        let mut out = slots.to_vec();
        for (h, slot) in slots.iter().enumerate().take(problem.hosts.len()) {
            out[self.host(problem, h)] = self.slot(problem, *slot);
        }
        for s in 0..problem.services.len() {
            let slot = slots[problem.service_slot(s)];
            out[problem.service_slot(self.service(problem, s))] = self.slot(problem, slot);
        }
        out
    }

    pub fn apply(&self, problem: &Problem, m: Move) -> Move {
        let kind = match m.kind {
            MoveKind::Point { service } => MoveKind::Point {
                service: self.service(problem, service),
            },
            kind => kind,
        };
        Move {
            kind,
            host: self.host(problem, m.host),
            view: m.view.map(|v| self.view(problem, v)),
        }
    }
}

/// The classes of interchangeable takeovers, each of two or more, each sorted.
#[derive(Debug, Clone, Default)]
pub struct Symmetry {
    classes: Vec<Vec<usize>>,
}

impl Symmetry {
    pub fn of(problem: &Problem) -> Symmetry {
        if problem.version.dials_back_from_own_view() {
            return Symmetry::default();
        }
        let mut classes: Vec<Vec<usize>> = Vec::new();
        for t in 0..problem.takeovers.len() {
            if !movable(problem, t) {
                continue;
            }
            match classes.iter_mut().find(|class| alike(problem, class[0], t)) {
                Some(class) => class.push(t),
                None => classes.push(vec![t]),
            }
        }
        classes.retain(|class| class.len() > 1);
        Symmetry { classes }
    }

    pub fn is_trivial(&self) -> bool {
        self.classes.is_empty()
    }

    /// A representative of the states `slots` is interchangeable with, and the renaming that
    /// takes `slots` to it. Within each class the takeovers are ordered by what their hosts
    /// run and how many views list them moved; ties keep their order, so two equivalent
    /// states may still get two representatives (the search then keeps both: fewer merged,
    /// never a wrong merge).
    pub fn canonical(&self, problem: &Problem, slots: &[Slot]) -> (Vec<Slot>, Renaming) {
        let mut renaming = Renaming::identity(problem.takeovers.len());
        for class in &self.classes {
            let mut order: Vec<(Signature, usize)> = class
                .iter()
                .map(|&t| (signature(problem, slots, t), t))
                .collect();
            order.sort();
            for (&place, (_, t)) in class.iter().zip(order) {
                renaming.to[t] = place;
            }
        }
        (renaming.slots(problem, slots), renaming)
    }
}

/// What a takeover's hosts run, without naming the ids: the old host's and the new host's
/// slot (membership, how many ids its view moved and how many it names by service), how many
/// running views list it at its new host, and where its service forwards (none, the old host,
/// the new one).
type Signature = ([(u8, usize, u32, u32); 2], usize, u8);

fn signature(problem: &Problem, slots: &[Slot], t: usize) -> Signature {
    let takeover = &problem.takeovers[t];
    let slot = |h: usize| match slots[h] {
        Slot::Gone => (0, 0, 0, 0),
        Slot::Off => (1, 0, 0, 0),
        Slot::Up(key) => (
            2,
            key.membership,
            key.moved.count_ones(),
            key.via.count_ones(),
        ),
        Slot::To(h) => (3, h, 0, 0),
    };
    let listed = slots
        .iter()
        .filter(|s| matches!(s, Slot::Up(key) if key.moved & 1 << t != 0))
        .count();
    let service =
        problem
            .service_of_takeover(t)
            .map_or(0, |s| match slots[problem.service_slot(s)] {
                Slot::To(h) if h == takeover.old => 1,
                Slot::To(h) if h == takeover.new => 2,
                _ => 3,
            });
    ([slot(takeover.old), slot(takeover.new)], listed, service)
}

/// A takeover whose hosts nothing singles out: neither is the live leader, neither is to be
/// restarted in place.
fn movable(problem: &Problem, t: usize) -> bool {
    let takeover = &problem.takeovers[t];
    [takeover.old, takeover.new]
        .iter()
        .all(|&h| problem.leader != Some(h) && !problem.hosts[h].must_restart)
}

/// Two takeovers that every membership lists alike (both at their old host's address, with
/// one role, or neither), whose old hosts start alike and whose hosts have the same settings.
fn alike(problem: &Problem, a: usize, b: usize) -> bool {
    let (ta, tb) = (&problem.takeovers[a], &problem.takeovers[b]);
    let (hosts, start) = (&problem.hosts, &problem.start);
    let same_hosts = [(ta.old, tb.old), (ta.new, tb.new)].iter().all(|&(x, y)| {
        hosts[x].listen_all == hosts[y].listen_all && hosts[x].role == hosts[y].role
    });
    // Both behind a service that forwards alike today, or neither behind one.
    let served = |t: &super::model::Takeover, i: usize| {
        problem.service_of_takeover(i).map(|s| {
            let start = problem.services[s].start;
            (start.is_some(), start == Some(t.new))
        })
    };
    same_hosts
        && served(ta, a) == served(tb, b)
        && start[ta.old] == start[tb.old]
        && problem.memberships.iter().all(|m| {
            let line = |sid: u64, old: usize| {
                m.lines
                    .iter()
                    .find(|l| l.sid == sid)
                    .map(|l| (l.role, l.addrs == [hosts[old].addr.clone()]))
            };
            match (line(ta.sid, ta.old), line(tb.sid, tb.old)) {
                (None, None) => true,
                (Some((ra, true)), Some((rb, true))) => ra == rb,
                _ => false,
            }
        })
}
