//! Verdict time for ensembles of 3 to 20 nodes (docs/benchmarks.md). The states are hard on
//! purpose: every node up, views mixed (a grown view, the old one, one with a stale address)
//! so nothing short-cuts the search over every subset of the voters.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
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

fn verdict(c: &mut Criterion) {
    let mut group = c.benchmark_group("verdict");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    for n in [3, 5, 7, 9, 15, 20] {
        let ensemble = mid_migration(n);
        group.bench_with_input(BenchmarkId::from_parameter(n), &ensemble, |b, e| {
            b.iter(|| black_box(e).verdict())
        });
    }
    group.finish();
}

criterion_group!(benches, verdict);
criterion_main!(benches);
