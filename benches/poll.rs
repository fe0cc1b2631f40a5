//! What one poll cycle costs (docs/benchmarks.md): a single `srvr` round trip against a cycle
//! over 5 real sandbox nodes, asked concurrently as the poller does (and one after another, to
//! show what the concurrency saves), then a cycle over 100 loopback endpoints that answer a real
//! captured `srvr`. Needs root for the sandbox; it is taken down when the benchmarks end or
//! panic. After a Ctrl-C, run `zkpilot sandbox down --dir` on the directory printed at start.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::runtime::Runtime;
use zkpilot::ensemble::{PollReport, Routes, Support};
use zkpilot::net::wire;
use zkpilot::poll::{self, Schedule};
use zkpilot::rehearse::sandbox::{self, UpOptions};
use zkpilot::zk::fourlw::Command;

const SANDBOX_NODES: u8 = 5;
const LOOPBACK_ENDPOINTS: u8 = 100;
const LOOPBACK_PORT: u16 = 2181;
/// Answers from these endpoints wait first, as across availability zones: on loopback the round
/// trip is nearly all CPU, which two cores cannot overlap, while waiting is what the
/// concurrency of a cycle hides.
const SLOW_PORT: u16 = 2182;
const SLOW_ANSWER: Duration = Duration::from_millis(2);
const LEADER_SRVR: &[u8] = include_bytes!("../tests/fixtures/zk4lw/leader.srvr.txt");
/// What `watch --interval 1s` gives each question.
const TIMEOUT: Duration = Duration::from_secs(1);

/// Takes the sandbox down when dropped, so a panicking benchmark leaves no ZooKeeper running.
struct SandboxGuard {
    dir: PathBuf,
}

impl Drop for SandboxGuard {
    fn drop(&mut self) {
        match sandbox::down(&self.dir) {
            Ok(report) if report.left_running.is_empty() => {
                let _ = std::fs::remove_dir_all(&self.dir);
            }
            Ok(report) => eprintln!(
                "sandbox {}: processes still running: {:?}",
                self.dir.display(),
                report.left_running
            ),
            Err(e) => eprintln!("sandbox {}: down failed: {e}", self.dir.display()),
        }
    }
}

/// Listeners answering like ZooKeeper: read the four-letter word, write the answer (after
/// `delay`), close.
/// They live on a runtime of their own so the poller's two workers are not also serving.
struct LoopbackEndpoints {
    runtime: Option<Runtime>,
    clients: Vec<String>,
}

impl LoopbackEndpoints {
    fn start(port: u16, delay: Duration) -> LoopbackEndpoints {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("a runtime for the loopback endpoints");
        let clients: Vec<String> = (1..=LOOPBACK_ENDPOINTS)
            .map(|n| format!("127.78.0.{n}:{port}"))
            .collect();
        for client in &clients {
            let listener = runtime
                .block_on(TcpListener::bind(client))
                .unwrap_or_else(|e| panic!("cannot listen on {client}: {e}"));
            runtime.spawn(async move {
                while let Ok((mut socket, _)) = listener.accept().await {
                    tokio::spawn(async move {
                        // Closing with the word unread would reset the connection instead of
                        // ending it, which ZooKeeper never does.
                        let mut word = [0u8; 4];
                        if socket.read_exact(&mut word).await.is_ok() {
                            if !delay.is_zero() {
                                tokio::time::sleep(delay).await;
                            }
                            let _ = socket.write_all(LEADER_SRVR).await;
                        }
                    });
                }
            });
        }
        LoopbackEndpoints {
            runtime: Some(runtime),
            clients,
        }
    }
}

impl Drop for LoopbackEndpoints {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_timeout(Duration::from_secs(1));
        }
    }
}

/// A node's schedule between the rare cycles, without a session: mntr and conf allowed, view
/// known, role stable. `mntr` asks for `mntr` after `srvr` in the same cycle.
fn steady_schedule(mntr: bool) -> Schedule {
    Schedule {
        cycle: 1,
        routes: Routes {
            srvr: Support::Allowed,
            mntr: Support::Allowed,
            conf: Support::Allowed,
            ..Routes::default()
        },
        last_role: Some("follower@1".into()),
        mntr_due: mntr,
        has_view: true,
        ..Schedule::default()
    }
}

/// A failed exchange is much cheaper than an answered one, so every answer is checked.
fn check(report: &PollReport, clients: &[String]) {
    for (command, result) in &report.answers {
        if let Err(failure) = result {
            panic!(
                "{} did not answer {command:?}: {failure:?}",
                clients[report.node]
            );
        }
    }
}

/// One cycle as `poll::spawn` runs it: a task per node, all at once.
async fn concurrent_cycle(clients: &[String], schedule: &Schedule) {
    let tasks: Vec<_> = clients
        .iter()
        .enumerate()
        .map(|(node, client)| {
            let client = client.clone();
            let mut schedule = schedule.clone();
            tokio::spawn(async move {
                poll::poll_once(node, &client, "127.0.0.1:9", &mut schedule, TIMEOUT).await
            })
        })
        .collect();
    for task in tasks {
        check(&task.await.expect("a poll task panicked"), clients);
    }
}

async fn sequential_cycle(clients: &[String], schedule: &Schedule) {
    for (node, client) in clients.iter().enumerate() {
        let mut schedule = schedule.clone();
        check(
            &poll::poll_once(node, client, "127.0.0.1:9", &mut schedule, TIMEOUT).await,
            clients,
        );
    }
}

async fn ask(client: &str, word: &str, expected: &str) {
    let answer = wire::ask(client, word, TIMEOUT)
        .await
        .unwrap_or_else(|e| panic!("{word} to {client}: {e}"));
    assert!(answer.contains(expected), "{client} answered {answer:?}");
}

fn sandbox_5(c: &mut Criterion, runtime: &Runtime, clients: &[String]) {
    let srvr_only = steady_schedule(false);
    let with_mntr = steady_schedule(true);
    assert_eq!(poll::due(&srvr_only), [Command::Srvr]);
    assert_eq!(poll::due(&with_mntr), [Command::Srvr, Command::Mntr]);

    let mut group = group(c, "sandbox_5");
    bench(&mut group, "srvr_one_node", runtime, || {
        ask(&clients[0], "srvr", "Mode: ")
    });
    bench(&mut group, "mntr_one_node", runtime, || {
        ask(&clients[0], "mntr", "zk_server_state")
    });
    bench(&mut group, "cycle_concurrent", runtime, || {
        concurrent_cycle(clients, &srvr_only)
    });
    bench(&mut group, "cycle_concurrent_with_mntr", runtime, || {
        concurrent_cycle(clients, &with_mntr)
    });
    bench(&mut group, "cycle_sequential", runtime, || {
        sequential_cycle(clients, &srvr_only)
    });
    group.finish();
}

fn loopback_100(c: &mut Criterion, runtime: &Runtime, clients: &[String], slow: &[String]) {
    let srvr_only = steady_schedule(false);
    let mut group = group(c, "loopback_100");
    bench(&mut group, "srvr_one_endpoint", runtime, || {
        ask(&clients[0], "srvr", "Mode: ")
    });
    bench(&mut group, "cycle_concurrent", runtime, || {
        concurrent_cycle(clients, &srvr_only)
    });
    bench(&mut group, "srvr_one_slow_endpoint", runtime, || {
        ask(&slow[0], "srvr", "Mode: ")
    });
    bench(&mut group, "cycle_concurrent_slow", runtime, || {
        concurrent_cycle(slow, &srvr_only)
    });
    group.finish();
}

/// Every group of exchanges is measured alike: 20 samples of 3 s after 1 s of warm-up.
fn group<'a>(c: &'a mut Criterion, name: &str) -> BenchmarkGroup<'a, WallTime> {
    let mut group = c.benchmark_group(name);
    group
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    group
}

/// One exchange benchmarked as `name`, timed inside the runtime.
fn bench<F, Fut>(
    group: &mut BenchmarkGroup<WallTime>,
    name: &str,
    runtime: &Runtime,
    mut exchange: F,
) where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    group.bench_function(name, |b| {
        b.iter_custom(|iters| timed(runtime, iters, &mut exchange))
    });
}

/// Runs `iters` exchanges inside one `block_on`, so entering the runtime is not measured.
fn timed<F, Fut>(runtime: &Runtime, iters: u64, mut exchange: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    runtime.block_on(async {
        let started = Instant::now();
        for _ in 0..iters {
            exchange().await;
        }
        started.elapsed()
    })
}

fn main() {
    let mut criterion = Criterion::default().configure_from_args();
    // The same runtime shape as the `zkpilot` binary.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime");

    let guard = SandboxGuard {
        dir: std::env::temp_dir().join(format!("zkpilot-bench-poll-{}", std::process::id())),
    };
    eprintln!(
        "starting a {SANDBOX_NODES}-node sandbox in {}",
        guard.dir.display()
    );
    let hosts = runtime
        .block_on(sandbox::up(
            &guard.dir,
            UpOptions {
                voters: SANDBOX_NODES,
                ..UpOptions::default()
            },
        ))
        .unwrap_or_else(|e| panic!("sandbox up: {e}"));
    for host in &hosts {
        eprintln!("  {} {} {}", host.name, host.client, host.mode);
    }
    let clients: Vec<String> = hosts.iter().map(|host| host.client.clone()).collect();
    sandbox_5(&mut criterion, &runtime, &clients);
    drop(guard);

    let endpoints = LoopbackEndpoints::start(LOOPBACK_PORT, Duration::ZERO);
    let slow = LoopbackEndpoints::start(SLOW_PORT, SLOW_ANSWER);
    loopback_100(&mut criterion, &runtime, &endpoints.clients, &slow.clients);
    drop((endpoints, slow));

    criterion.final_summary();
}
