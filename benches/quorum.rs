//! Verdict time (docs/benchmarks.md): ensembles of 3 to 20 voters mid-growth (every node up,
//! views mixed: a grown view, the old one, one with a stale address), 5 voters with 100
//! observers (read scaling, the observer migration), and two 9-voter ensembles joined
//! mid-migration (27 servers, three views); and `plan` of the shipped rolling restart on 5, 25
//! and 51 voters.

use criterion::measurement::WallTime;
use criterion::{criterion_group, criterion_main, BenchmarkGroup, BenchmarkId, Criterion};
use std::hint::black_box;
use std::time::Duration;
use zkpilot::quorum::{Ensemble, Node};
use zkpilot::zk::config::{PeerAddr, View};
use zkpilot::zk::version::ZkVersion;

fn addr(host: &str) -> PeerAddr {
    PeerAddr {
        host: host.to_string(),
        quorum_port: 2888,
        election_port: 3888,
    }
}

fn view(sids: impl Iterator<Item = u64>, host: impl Fn(u64) -> String) -> View {
    let lines: Vec<String> = sids
        .map(|sid| format!("server.{sid}={}:2888:3888", host(sid)))
        .collect();
    View::parse_lines(lines.iter().map(String::as_str)).expect("benchmark views are valid")
}

/// `n` nodes mid-growth: the newest third runs the full view; the old nodes are split between
/// the full view, the old view and the full view with a stale address for sid 1.
fn mid_migration(n: u64) -> Ensemble {
    let old = n - n / 3;
    let real = |sid: u64| format!("h{sid}");
    let full = view(1..=n, real);
    let before = view(1..=old, real);
    let stale = view(
        1..=n,
        |sid| if sid == 1 { "gone".into() } else { real(sid) },
    );
    let nodes = (1..=n)
        .map(|sid| Node {
            name: format!("n{sid}"),
            sid,
            addr: addr(&real(sid)),
            aliases: Vec::new(),
            up: true,
            // Listening on all addresses keeps a server whose own line is stale running, as the
            // analyzer judged every server before it read own lines.
            listen_all: Some(true),
            view: if sid > old {
                full.clone()
            } else {
                [&full, &before, &stale][(sid % 3) as usize].clone()
            },
        })
        .collect();
    Ensemble {
        version: ZkVersion::new(3, 8, 0),
        nodes,
        partitions: None,
    }
}

/// Five voters and `observers` observers, all on one view.
fn with_observers(observers: u64) -> Ensemble {
    let lines: Vec<String> = (1..=5 + observers)
        .map(|sid| {
            let role = if sid > 5 { ":observer" } else { "" };
            format!("server.{sid}=h{sid}:2888:3888{role}")
        })
        .collect();
    let shared = View::parse_lines(lines.iter().map(String::as_str)).expect("valid view");
    Ensemble {
        version: ZkVersion::new(3, 8, 0),
        nodes: (1..=5 + observers)
            .map(|sid| Node {
                name: format!("n{sid}"),
                sid,
                addr: addr(&format!("h{sid}")),
                aliases: Vec::new(),
                up: true,
                listen_all: Some(true),
                view: shared.clone(),
            })
            .collect(),
        partitions: None,
    }
}

/// Two 9-voter ensembles joined mid-migration: a source (sids 1-9) and a destination (sids
/// 10-18) that start on their own views, while nine servers already run the joint view of all
/// 18 plus the 9 destination servers again on new hosts: 27 servers, three views.
fn joined_nines() -> Ensemble {
    let source = view(1..=9, |sid| format!("h{sid}"));
    let destination = view(10..=18, |sid| format!("h{sid}"));
    let joint = view(1..=18, |sid| format!("h{sid}"));
    let node = |sid: u64, host: String, view: &View| Node {
        name: format!("n{sid}@{host}"),
        sid,
        addr: addr(&host),
        aliases: Vec::new(),
        up: true,
        view: view.clone(),
        listen_all: Some(true),
    };
    let mut nodes: Vec<Node> = (1..=9)
        .map(|sid| {
            node(
                sid,
                format!("h{sid}"),
                if sid % 2 == 0 { &joint } else { &source },
            )
        })
        .collect();
    nodes.extend((10..=18).map(|sid| {
        node(
            sid,
            format!("h{sid}"),
            if sid % 2 == 0 { &joint } else { &destination },
        )
    }));
    nodes.extend((10..=18).map(|sid| node(sid, format!("new{sid}"), &destination)));
    Ensemble {
        version: ZkVersion::new(3, 8, 0),
        nodes,
        partitions: None,
    }
}

/// Ten samples after 1 s of warm-up, over `measurement`.
fn group<'a>(
    c: &'a mut Criterion,
    name: &str,
    measurement: Duration,
) -> BenchmarkGroup<'a, WallTime> {
    let mut group = c.benchmark_group(name);
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(measurement);
    group
}

fn verdict(c: &mut Criterion) {
    let mut group = group(c, "verdict", Duration::from_secs(3));
    for n in [3, 5, 7, 9, 15, 20] {
        let ensemble = mid_migration(n);
        group.bench_with_input(BenchmarkId::from_parameter(n), &ensemble, |b, e| {
            b.iter(|| black_box(e).verdict())
        });
    }
    let observers = with_observers(100);
    group.bench_function("5+100 observers", |b| {
        b.iter(|| black_box(&observers).verdict())
    });
    let joined = joined_nines();
    group.bench_function("two 9-voter ensembles joined (27)", |b| {
        b.iter(|| black_box(&joined).verdict())
    });
    group.finish();
}

/// `plan` of the shipped rolling restart on `voters` voters: one verdict per state each
/// restart passes through (stopped, started), so 2 × voters analyzer runs.
fn rolling_restart(voters: u64) -> zkpilot::runbook::procedure::Procedure {
    use std::collections::BTreeMap;
    use std::path::Path;
    let mut text = String::from("name: lab\nhosts:\n");
    for sid in 1..=voters {
        let host = format!("10.1.{}.{}", sid / 250, sid % 250 + 1);
        text.push_str(&format!(
            "  - {{name: zk{sid}, sid: {sid}, role: participant, client: '{host}:2181', peer: '{host}:2888:3888', ssh: 'zk@{host}', ssh_port: 22, commands: {{restart: 'zkctl restart', stop: 'zkctl stop', start: 'zkctl start'}}}}\n"
        ));
    }
    let inventory = zkpilot_core::inventory::Inventory::parse(&text, Path::new("inv.yaml"))
        .expect("an inventory");
    let none = BTreeMap::new();
    let read = |_: &Path| -> Result<String, String> { Err("no fragments".into()) };
    let input = zkpilot::runbook::procedure::BindInput {
        inventory: &inventory,
        leader: Some("zk1"),
        bindings: &none,
        variables: &none,
        read_fragment: &read,
    };
    zkpilot::runbook::procedure::bind(
        include_str!("../runbooks/rolling-restart.yaml"),
        Path::new("runbooks/rolling-restart.yaml"),
        &input,
    )
    .expect("the rolling restart binds")
}

fn plan(c: &mut Criterion) {
    let mut group = group(c, "plan rolling restart", Duration::from_secs(5));
    for voters in [5, 25, 51] {
        let procedure = rolling_restart(voters);
        group.bench_with_input(BenchmarkId::from_parameter(voters), &procedure, |b, p| {
            b.iter(|| zkpilot::runbook::plan::plan(black_box(p), ZkVersion::new(3, 8, 0)))
        });
    }
    group.finish();
}

criterion_group!(benches, verdict, plan);
criterion_main!(benches);
