//! The help of `zkpilot analyze`: the state file format lives with the code that reads it.

pub const ABOUT: &str = "Check a what-if ensemble state for quorum, split brain and cut links";

pub const LONG_ABOUT: &str = "\
Judge a what-if state of a ZooKeeper ensemble: can a quorum form, can two form at
once (split brain), and which nodes cannot talk to which. Use it to check an order
of restarts before doing it.

Each node counts votes, by server id, only from the participants of its own view
(its server.N lines), and a leader counts its learners the same way, so while
views disagree two disjoint majorities can exist. The address a view gives a peer
decides only who can open the election connection and where a follower finds its
leader. The analyzer follows ZooKeeper's election rules for the version given
(docs/analyzer.md cites each) and answers exactly, up to 512 nodes.

STATE FILE (YAML):
  zookeeper: \"3.4.6\"          optional; the rules follow it; default: the newest
  views:                      optional; named views: a name and its server lines
    old: [server.1=p:2888:3888, server.2=q:2888:3888, server.3=r:2888:3888]
  nodes:                      at most 512
    - name: P                 unique
      sid: 1                  its myid; a replacement host may share one
      addr: \"p:2888:3888\"     where it really listens: host:quorumPort:electionPort
      up: true                optional, default true
      view: old               a view name, or a list of server lines
      services: [\"s1:2888:3888\"]  optional; stable addresses that forward to it
                              (Kubernetes services): a view naming one reaches it
  partitions: [[P, Q], [R]]   optional; nodes talk only within a group; groups may
                              overlap; a node in no group talks to nobody

  Server lines: server.N=host:quorumPort:electionPort[:participant|:observer][;client]

EXIT STATUS:
  0 whatever the verdict; 2 for bad input (each error names FILE:LINE:COLUMN).";

pub const EXAMPLE: &str = "\
EXAMPLE:
  $ cat restart-r.yaml
  zookeeper: \"3.4.6\"
  views:
    old:  [server.1=p:2888:3888, server.2=q:2888:3888, server.3=r:2888:3888]
    five: [server.1=p:2888:3888, server.2=q:2888:3888, server.3=r:2888:3888,
           server.4=s:2888:3888, server.5=t:2888:3888]
  nodes:
    - {name: P, sid: 1, addr: \"p:2888:3888\", view: old}
    - {name: Q, sid: 2, addr: \"q:2888:3888\", view: old}
    - {name: R, sid: 3, addr: \"r:2888:3888\", view: five}
    - {name: S, sid: 4, addr: \"s:2888:3888\", view: five}
    - {name: T, sid: 5, addr: \"t:2888:3888\", view: five}
  $ zkpilot analyze restart-r.yaml --json | jq -c .witness
  [{\"leader\":\"Q\",\"members\":[\"P\",\"Q\"]},{\"leader\":\"T\",\"members\":[\"R\",\"S\",\"T\"]}]

  Keep T down until P and Q run the five-node view, and no second majority exists.";
