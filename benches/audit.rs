//! The audit log's costs on this machine's disk: one durable append (what every command pays
//! twice, before and after it runs), one buffered append, opening a 100 000-record log whole,
//! as `audit verify`, `export` and a resumed session do, and opening it in `zkpilot replay`.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use criterion::{criterion_group, criterion_main, Criterion};

use zkpilot::audit::{
    self, AuditEvent, AuditWriter, CommandOutcome, Durability, OutputStream, Secrets, StepState,
    Timestamp,
};
use zkpilot::replay::fixtures::session_info;
use zkpilot::tui::replay as replay_loop;

const LARGE_LOG_RECORDS: u64 = 100_000;

fn now() -> Timestamp {
    Timestamp::from_system_time(SystemTime::now())
}

fn bench_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("zkpilot-audit-bench-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).expect("cannot create the benchmark directory");
    dir
}

/// The records of one command, in the proportions a real step writes them.
fn command_events(intent: u64) -> [AuditEvent; 5] {
    [
        AuditEvent::Step {
            step: format!("step-{}", intent / 10),
            state: StepState::Running,
        },
        AuditEvent::Intent {
            intent,
            step: format!("step-{}", intent / 10),
            host: "zk3.dc2.example.com".into(),
            command: "sudo systemctl restart zookeeper && /opt/zk/bin/zkServer.sh status".into(),
        },
        AuditEvent::Output {
            intent,
            stream: OutputStream::Stdout,
            text: "ZooKeeper JMX enabled by default\nUsing config: /etc/zookeeper/zoo.cfg\nMode: follower\n".into(),
        },
        AuditEvent::Result {
            intent,
            exit_status: Some(0),
            duration_ms: 1840,
            outcome: CommandOutcome::Ok,
        },
        AuditEvent::Gate {
            step: format!("step-{}", intent / 10),
            gate: "synced".into(),
            passed: true,
            detail: "leader zk1: 4 of 4 voting followers synced, 0 pending syncs".into(),
        },
    ]
}

fn write_large_log(path: &Path) {
    let mut writer = AuditWriter::create(path, session_info(), Secrets::default(), now())
        .expect("cannot create the benchmark log");
    let mut intent = 0;
    while writer.head().records < LARGE_LOG_RECORDS - 1 {
        for event in command_events(intent) {
            if writer.head().records == LARGE_LOG_RECORDS - 1 {
                break;
            }
            writer
                .append(event, now(), Durability::Buffered)
                .expect("cannot write the benchmark log");
        }
        intent += 1;
    }
    writer
        .end_session("benchmark", now())
        .expect("cannot end the benchmark log");
}

fn appends(c: &mut Criterion) {
    let dir = bench_dir();
    let mut writer = AuditWriter::create(
        &dir.join("append.jsonl"),
        session_info(),
        Secrets::default(),
        now(),
    )
    .expect("cannot create the benchmark log");
    let [_, intent, _, _, _] = command_events(1);
    c.bench_function("audit append Sync (write + fdatasync)", |b| {
        b.iter(|| {
            writer
                .append(intent.clone(), now(), Durability::Sync)
                .expect("append")
        })
    });
    c.bench_function("audit append Buffered (write only)", |b| {
        b.iter(|| {
            writer
                .append(intent.clone(), now(), Durability::Buffered)
                .expect("append")
        })
    });
    drop(writer);
    let _ = fs::remove_dir_all(&dir);
}

fn large_log(c: &mut Criterion) {
    let dir = bench_dir();
    let path = dir.join("large.jsonl");
    write_large_log(&path);
    let mut group = c.benchmark_group("audit 100k-record log");
    group.sample_size(10);
    group.bench_function("verify", |b| {
        b.iter(|| {
            let verified = audit::verify_file(&path, None).expect("verify");
            assert_eq!(verified.records, LARGE_LOG_RECORDS);
        })
    });
    group.bench_function("open (read and verify every record)", |b| {
        b.iter(|| {
            let log = audit::read_log(&path).expect("read");
            assert_eq!(log.records.len() as u64, LARGE_LOG_RECORDS);
        })
    });
    group.bench_function(
        "replay open (read, verify, index markers, rebuild the end state)",
        |b| {
            b.iter(|| {
                let mut player = replay_loop::load(&path).expect("load");
                player.seek(usize::MAX);
                assert_eq!(player.position() as u64, LARGE_LOG_RECORDS);
            })
        },
    );
    group.finish();
    let _ = fs::remove_dir_all(&dir);
}

criterion_group!(benches, appends, large_log);
criterion_main!(benches);
