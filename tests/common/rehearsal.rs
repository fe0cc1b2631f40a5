//! A runbook rehearsed as an operator would: `--autopilot` on a sandbox while an independent
//! client keeps writing numbered znodes and a monitor samples every node's mode.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::zk_client::{Report, Writer};
use super::{autopilot, mode, Sandbox};

/// When, and every node's mode then.
pub type Samples = Vec<(Instant, Vec<String>)>;

/// Samples every node's mode every 100 ms from another thread, with plain sockets.
pub struct Monitor {
    stop: Arc<AtomicBool>,
    samples: Arc<Mutex<Samples>>,
    thread: Option<JoinHandle<()>>,
}

impl Monitor {
    pub fn start(clients: Vec<String>) -> Monitor {
        let stop = Arc::new(AtomicBool::new(false));
        let samples = Arc::new(Mutex::new(Vec::new()));
        let (s, out) = (stop.clone(), samples.clone());
        let thread = std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                let modes: Vec<String> = clients.iter().map(|c| mode(c)).collect();
                out.lock().unwrap().push((Instant::now(), modes));
                std::thread::sleep(Duration::from_millis(100));
            }
        });
        Monitor {
            stop,
            samples,
            thread: Some(thread),
        }
    }

    pub fn finish(mut self) -> Samples {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            thread.join().unwrap();
        }
        self.samples.lock().unwrap().clone()
    }
}

/// The most leaders the monitor ever saw at once among `members` (indices into the hosts the
/// rehearsal watched).
pub fn most_leaders(samples: &Samples, members: &[usize]) -> usize {
    samples
        .iter()
        .map(|(_, modes)| members.iter().filter(|&&i| modes[i] == "leader").count())
        .max()
        .unwrap_or(0)
}

pub struct Rehearsal {
    pub out: Output,
    pub audit: PathBuf,
    pub samples: Samples,
    pub writes: Report,
    /// The client addresses the writer used, for reading its writes back.
    pub written_to: Vec<String>,
}

impl Rehearsal {
    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.out.stdout).into_owned()
    }

    /// The run ended with every step done.
    pub fn assert_succeeded(&self) {
        assert!(
            self.out.status.success(),
            "{}{}",
            self.stdout(),
            String::from_utf8_lossy(&self.out.stderr)
        );
    }

    /// Every write the ensemble acknowledged can be read back, and writes kept flowing.
    pub fn assert_no_acknowledged_write_lost(&self) {
        assert!(
            self.writes.acked.len() >= 20,
            "the writer made progress: {}",
            self.writes
        );
        let lost = self
            .writes
            .verify(&self.written_to)
            .expect("the written ensemble answers reads");
        assert!(lost.is_empty(), "acknowledged writes lost: {lost:?}");
    }
}

/// Runs `runbook` with `--autopilot` on `sandbox`, writing through `write_to` and sampling the
/// modes of `watch` (host names) meanwhile. When some of `write_to` serve already, the run
/// starts once writes flow; otherwise the writer keeps trying until the runbook starts them
/// (a client that moved to servers not yet running).
pub fn rehearse(
    sandbox: &Sandbox,
    runbook: &Path,
    extra: &[&str],
    write_to: &[&str],
    watch: &[&str],
) -> Rehearsal {
    let written_to: Vec<String> = write_to.iter().map(|h| sandbox.client(h)).collect();
    rehearse_writing_to(sandbox, runbook, extra, written_to, watch)
}

/// As [`rehearse`], with the writer's client addresses given as they are (service addresses,
/// say) rather than as hosts.
pub fn rehearse_writing_to(
    sandbox: &Sandbox,
    runbook: &Path,
    extra: &[&str],
    written_to: Vec<String>,
    watch: &[&str],
) -> Rehearsal {
    let writer = Writer::start(&written_to);
    let deadline = Instant::now() + Duration::from_secs(20);
    let serving =
        |client: &String| ["leader", "follower", "observer"].contains(&mode(client).as_str());
    while written_to.iter().any(serving) && writer.acked() < 10 {
        assert!(Instant::now() < deadline, "the writer never got going");
        std::thread::sleep(Duration::from_millis(50));
    }
    let monitor = Monitor::start(watch.iter().map(|h| sandbox.client(h)).collect());
    let (out, audit) = autopilot(sandbox, runbook, extra);
    let samples = monitor.finish();
    let writes = writer.stop();
    eprintln!("rehearsal writer: {writes}");
    Rehearsal {
        out,
        audit,
        samples,
        writes,
        written_to,
    }
}
