//! Synthesis time (docs/benchmarks.md): every host of an ensemble replaced by a new host taking
//! over its id, on 3.8 rules — 5 → 5 (target: under 1 s) and 9 → 9 (target: under 10 s); and
//! the same behind services (seed 000, every server into a pod).

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use std::hint::black_box;
use std::path::Path;
use std::time::Duration;
use zkpilot::synth::fixtures::{ensemble_state, into_pods, replace_all};
use zkpilot::synth::{search::Bound, synthesize, Request};

fn replacement(c: &mut Criterion) {
    group(c, "synthesize_replace_every_host", replace_all);
    group(c, "synthesize_into_pods_behind_services", into_pods);
}

fn group(c: &mut Criterion, name: &str, target_of: fn(u64) -> String) {
    let mut group = c.benchmark_group(name);
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(20));
    for n in [3u64, 5, 9] {
        let (state, target) = (ensemble_state(n, "3.8.0"), target_of(n));
        let leader = format!("zk{n}");
        group.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, _| {
            b.iter(|| {
                let synthesis = synthesize(&Request {
                    state_text: &state,
                    state_path: Path::new("state.yaml"),
                    target_text: &target,
                    target_path: Path::new("target.yaml"),
                    leader: Some(&leader),
                    bound: Bound::default(),
                    output: None,
                });
                black_box(synthesis.map(|s| s.found.cost).ok())
            })
        });
    }
    group.finish();
}

criterion_group!(benches, replacement);
criterion_main!(benches);
