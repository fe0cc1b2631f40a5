//! Adapter: running a step's commands on hosts over SSH (the `openssh` crate, driving the
//! system `ssh`). One multiplexed master connection per host, strict host key checking, connect
//! and command deadlines, output streamed as it arrives.

pub use crate::runbook::output::{OutputLine, Stream};
use std::collections::HashMap;
use std::num::NonZeroUsize;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use openssh::{ControlPersist, KnownHosts, Session, SessionBuilder, Stdio};
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncRead, AsyncWriteExt, BufReader};
use tokio::sync::{mpsc, Mutex, Semaphore};

use crate::inventory::{Host, Inventory};

/// sshd allows 10 sessions per connection by default; stay well below it.
const SESSIONS_PER_HOST: usize = 4;
/// A master left behind by a console that was killed exits on its own after this long idle.
const MASTER_IDLE_SECONDS: usize = 120;
/// Longer output lines are cut: the console shows lines, not megabytes.
const MAX_LINE_BYTES: usize = 8 * 1024;
/// What one output stream of one command may bring in, in bytes and in lines (each line is a
/// record of its own, however short); past either a line says the rest was dropped, and the
/// stream is read to its end so the command is not blocked on a full pipe.
const MAX_STREAM_BYTES: usize = 4 * 1024 * 1024;
const MAX_STREAM_LINES: usize = 65_536;

/// How to reach one host, taken from the inventory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SshTarget {
    pub host: String,
    /// `user@address`, as given to `ssh`.
    pub destination: String,
    pub port: u16,
    pub identity: Option<PathBuf>,
    pub known_hosts: Option<PathBuf>,
    pub config: Option<PathBuf>,
}

impl SshTarget {
    pub fn from_inventory(inventory: &Inventory, host: &Host) -> SshTarget {
        let defaults = inventory.ssh.as_ref();
        SshTarget {
            host: host.name.clone(),
            destination: host.ssh.clone(),
            port: host.ssh_port,
            identity: defaults
                .and_then(|d| d.identity.as_ref())
                .map(PathBuf::from),
            known_hosts: defaults
                .and_then(|d| d.known_hosts.as_ref())
                .map(PathBuf::from),
            config: defaults.and_then(|d| d.config.as_ref()).map(PathBuf::from),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConnectError {
    #[error("{host}: the host key is not in known_hosts; verify it out of band and add it before running anything there")]
    UnknownHostKey { host: String },
    #[error("{host}: THE HOST KEY HAS CHANGED since it was recorded in known_hosts: stop and find out why (a rebuilt host, or someone in the middle)")]
    ChangedHostKey { host: String },
    #[error("{host}: cannot connect over SSH: {detail}")]
    Connect { host: String, detail: String },
}

/// How a remote command ended, as far as the operator can know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The remote command ran to its end with this exit status (None: killed by a signal).
    Exited {
        code: Option<i32>,
        duration: Duration,
    },
    /// Nothing ran: the connection could not be made.
    NotRun(ConnectError),
    /// It may have run, in whole or in part: the connection broke or the deadline passed after
    /// the command was sent. Never to be taken as "did not run".
    Unknown { reason: String, duration: Duration },
}

impl Outcome {
    pub fn succeeded(&self) -> bool {
        matches!(self, Outcome::Exited { code: Some(0), .. })
    }
}

struct HostLink {
    session: Arc<Session>,
    slots: Arc<Semaphore>,
}

/// Master connections, opened on first use and kept for the console's life.
pub struct Connections {
    links: Mutex<HashMap<String, Arc<HostLink>>>,
    connect_timeout: Duration,
    control_dir: PathBuf,
}

impl Connections {
    pub fn new(connect_timeout: Duration, control_dir: PathBuf) -> Connections {
        Connections {
            links: Mutex::new(HashMap::new()),
            connect_timeout,
            control_dir,
        }
    }

    async fn link(&self, target: &SshTarget) -> Result<Arc<HostLink>, ConnectError> {
        let mut links = self.links.lock().await;
        if let Some(link) = links.get(&target.host) {
            if link.session.check().await.is_ok() {
                return Ok(link.clone());
            }
        }
        let session = self.connect(target).await?;
        let link = Arc::new(HostLink {
            session: Arc::new(session),
            slots: Arc::new(Semaphore::new(SESSIONS_PER_HOST)),
        });
        links.insert(target.host.clone(), link.clone());
        Ok(link)
    }

    async fn connect(&self, target: &SshTarget) -> Result<Session, ConnectError> {
        let mut builder = SessionBuilder::default();
        builder
            .port(target.port)
            .known_hosts_check(KnownHosts::Strict)
            .connect_timeout(self.connect_timeout)
            .server_alive_interval(Duration::from_secs(5))
            .control_directory(&self.control_dir)
            .control_persist(ControlPersist::IdleFor(
                NonZeroUsize::new(MASTER_IDLE_SECONDS).unwrap_or(NonZeroUsize::MIN),
            ));
        if let Some(identity) = &target.identity {
            builder.keyfile(identity);
        }
        if let Some(known_hosts) = &target.known_hosts {
            builder.user_known_hosts_file(known_hosts);
        }
        if let Some(config) = &target.config {
            builder.config_file(config);
        }
        builder
            .connect(&target.destination)
            .await
            .map_err(|e| classify_connect_error(&target.host, &e))
    }

    /// Checks that a host can be reached without running anything on it.
    pub async fn probe(&self, target: &SshTarget) -> Result<(), ConnectError> {
        self.link(target).await.map(|_| ())
    }

    /// Runs `command` through the remote user's shell, sending `stdin` if given, streaming each
    /// output line to `lines`, and waiting at most `limit` for it to finish.
    pub async fn run(
        &self,
        target: &SshTarget,
        command: &str,
        stdin: Option<&str>,
        limit: Duration,
        lines: mpsc::UnboundedSender<OutputLine>,
    ) -> Outcome {
        let link = match self.link(target).await {
            Ok(link) => link,
            Err(e) => return Outcome::NotRun(e),
        };
        let Ok(_slot) = link.slots.clone().acquire_owned().await else {
            return Outcome::NotRun(ConnectError::Connect {
                host: target.host.clone(),
                detail: "connection closed".into(),
            });
        };
        let started = Instant::now();
        let mut remote = link.session.raw_command(command);
        remote
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = match remote.spawn().await {
            Ok(child) => child,
            Err(e) => {
                return Outcome::Unknown {
                    reason: format!("the command may have been sent, then: {e}"),
                    duration: started.elapsed(),
                }
            }
        };
        if let (Some(text), Some(mut pipe)) = (stdin, child.stdin().take()) {
            if let Err(e) = pipe.write_all(text.as_bytes()).await {
                tracing::warn!(host = %target.host, "writing stdin failed: {e}");
            }
            drop(pipe);
        }
        let readers = (
            child
                .stdout()
                .take()
                .map(|out| forward(out, &target.host, Stream::Stdout, &lines)),
            child
                .stderr()
                .take()
                .map(|err| forward(err, &target.host, Stream::Stderr, &lines)),
        );
        let waited = tokio::time::timeout(limit, child.wait()).await;
        for reader in [readers.0, readers.1].into_iter().flatten() {
            if waited.is_ok() {
                let _ = reader.await;
            } else {
                reader.abort();
            }
        }
        let duration = started.elapsed();
        match waited {
            Ok(Ok(status)) => Outcome::Exited {
                code: status.code(),
                duration,
            },
            Ok(Err(e)) => Outcome::Unknown {
                reason: format!("the connection broke while the command ran: {e}"),
                duration,
            },
            Err(_) => Outcome::Unknown {
                reason: format!("no exit status within {} s", limit.as_secs_f32()),
                duration,
            },
        }
    }

    /// `run` for a caller that reads the output once the command ended: how it ended, and
    /// every line it printed, in order.
    pub async fn run_collected(
        &self,
        target: &SshTarget,
        command: &str,
        stdin: Option<&str>,
        limit: Duration,
    ) -> (Outcome, Vec<OutputLine>) {
        let (lines_tx, mut lines) = mpsc::unbounded_channel();
        let outcome = self.run(target, command, stdin, limit, lines_tx).await;
        let mut printed = Vec::new();
        while let Ok(line) = lines.try_recv() {
            printed.push(line);
        }
        (outcome, printed)
    }

    /// Runs a read-only command and returns its standard output, or why it failed in words.
    pub async fn read(&self, target: &SshTarget, command: &str) -> Result<String, String> {
        self.read_fed(target, command, None).await
    }

    /// [`Connections::read`] with `stdin` fed to the command: a script for `sh -s` runs the same
    /// whatever the remote user's login shell.
    pub async fn read_fed(
        &self,
        target: &SshTarget,
        command: &str,
        stdin: Option<&str>,
    ) -> Result<String, String> {
        let (outcome, lines) = self
            .run_collected(target, command, stdin, Duration::from_secs(15))
            .await;
        let mut text = String::new();
        for line in lines {
            if line.stream == Stream::Stdout {
                text.push_str(&line.text);
                text.push('\n');
            }
        }
        match outcome {
            Outcome::Exited { code: Some(0), .. } => Ok(text),
            Outcome::Exited { code, .. } => Err(format!("`{command}` exited with {code:?}")),
            Outcome::NotRun(e) => Err(e.to_string()),
            Outcome::Unknown { reason, .. } => Err(reason),
        }
    }

    /// A host's config as its `config` verb prints it, followed by the dynamic config file that
    /// names the servers when the config is split (3.5+ `dynamicConfigFile`).
    pub async fn read_config(
        &self,
        target: &SshTarget,
        command: Option<&str>,
    ) -> Result<String, String> {
        let command =
            command.ok_or("the inventory gives no `config` command for this host".to_string())?;
        let text = self.read(target, command).await?;
        match crate::zk::config::dynamic_config_file(&text) {
            None => Ok(text),
            Some(path) => {
                let cat = format!("cat -- {}", crate::text::shell::quote(path));
                let dynamic = self
                    .read(target, &cat)
                    .await
                    .map_err(|e| format!("the dynamic config file {path}: {e}"))?;
                Ok(format!("{text}{dynamic}"))
            }
        }
    }

    /// Closes every master connection.
    pub async fn close_all(&self) {
        let links: Vec<Arc<HostLink>> = self.links.lock().await.drain().map(|(_, l)| l).collect();
        for link in links {
            if let Ok(link) = Arc::try_unwrap(link) {
                if let Ok(session) = Arc::try_unwrap(link.session) {
                    let _ = session.close().await;
                }
            }
        }
    }
}

/// Reads one of a command's output streams in a task of its own, line by line to `lines`.
fn forward(
    pipe: impl AsyncRead + Unpin + Send + 'static,
    host: &str,
    stream: Stream,
    lines: &mpsc::UnboundedSender<OutputLine>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(forward_lines(pipe, host.to_string(), stream, lines.clone()))
}

async fn forward_lines(
    pipe: impl AsyncRead + Unpin,
    host: String,
    stream: Stream,
    lines: mpsc::UnboundedSender<OutputLine>,
) {
    let mut reader = BufReader::new(pipe);
    let mut buffer = Vec::new();
    let (mut bytes, mut count) = (0, 0);
    let mut dropping = false;
    loop {
        buffer.clear();
        match read_capped_line(&mut reader, &mut buffer).await {
            Ok(0) | Err(_) => return,
            Ok(_) if dropping => {}
            Ok(_) => {
                bytes += buffer.len();
                count += 1;
                dropping = bytes > MAX_STREAM_BYTES || count > MAX_STREAM_LINES;
                let text = if dropping {
                    format!(
                        "[zkpilot: the rest of this output is dropped: more than \
                         {MAX_STREAM_BYTES} bytes or {MAX_STREAM_LINES} lines]"
                    )
                } else {
                    String::from_utf8_lossy(&buffer)
                        .trim_end_matches(['\n', '\r'])
                        .to_string()
                };
                let line = OutputLine {
                    host: host.clone(),
                    stream,
                    text,
                };
                if lines.send(line).is_err() {
                    return;
                }
            }
        }
    }
}

/// Reads one line into `buffer`, keeping its first `MAX_LINE_BYTES` and dropping the rest up
/// to its newline, so a host that prints megabytes without one costs no more than a line
/// (`read_until` holds the whole line first). The bytes read; 0 at the end of the stream.
async fn read_capped_line(
    reader: &mut (impl AsyncBufRead + Unpin),
    buffer: &mut Vec<u8>,
) -> std::io::Result<usize> {
    let mut read = 0;
    loop {
        let available = reader.fill_buf().await?;
        if available.is_empty() {
            return Ok(read);
        }
        let (used, ends) = match available.iter().position(|&b| b == b'\n') {
            Some(newline) => (newline + 1, true),
            None => (available.len(), false),
        };
        let room = MAX_LINE_BYTES.saturating_sub(buffer.len());
        buffer.extend_from_slice(&available[..used.min(room)]);
        reader.consume(used);
        read += used;
        if ends {
            return Ok(read);
        }
    }
}

/// ssh says why it failed only in its log text; the host key cases must stand out, because
/// the operator must stop rather than retry.
fn classify_connect_error(host: &str, error: &openssh::Error) -> ConnectError {
    let mut detail = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(inner) = source {
        detail.push_str(": ");
        detail.push_str(&inner.to_string());
        source = inner.source();
    }
    if detail.contains("REMOTE HOST IDENTIFICATION HAS CHANGED") {
        ConnectError::ChangedHostKey {
            host: host.to_string(),
        }
    } else if detail.contains("Host key verification failed")
        || detail.contains("host key is known")
    {
        ConnectError::UnknownHostKey {
            host: host.to_string(),
        }
    } else {
        ConnectError::Connect {
            host: host.to_string(),
            detail: detail.trim().to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;

    /// Forwards what `pipe` yields as stdout lines of host h.
    async fn forwarded(pipe: impl AsyncRead + Unpin) -> Vec<String> {
        let (tx, mut rx) = mpsc::unbounded_channel();
        forward_lines(pipe, "h".into(), Stream::Stdout, tx).await;
        let mut lines = Vec::new();
        while let Ok(line) = rx.try_recv() {
            lines.push(line.text);
        }
        lines
    }

    /// A host that prints 64 MiB with no newline: the line kept is cut at `MAX_LINE_BYTES`,
    /// and reading it never holds more than a buffer's worth (it held all 64 MiB).
    #[tokio::test]
    async fn a_line_without_end_is_cut_as_it_is_read() {
        let endless = tokio::io::repeat(b'x').take(64 << 20);
        let mut reader = BufReader::new(endless);
        let mut buffer = Vec::new();
        let read = read_capped_line(&mut reader, &mut buffer).await.unwrap();
        assert_eq!(read, 64 << 20);
        assert_eq!(buffer.len(), MAX_LINE_BYTES);
        assert!(
            buffer.capacity() <= 2 * MAX_LINE_BYTES,
            "{}",
            buffer.capacity()
        );
        let short = BufReader::new(&b"one\ntwo\r\n\nlast"[..]);
        assert_eq!(forwarded(short).await, ["one", "two", "", "last"]);
    }

    /// Past its budget (in lines, or in bytes) a stream's forwarding stops with a line saying
    /// so, and the stream is still read to its end.
    #[tokio::test]
    async fn a_stream_past_its_budget_ends_with_a_line_saying_so() {
        let lines = forwarded(tokio::io::repeat(b'\n').take(1 << 20)).await;
        assert_eq!(lines.len(), MAX_STREAM_LINES + 1);
        assert!(lines[MAX_STREAM_LINES].contains("the rest of this output is dropped"));
        let kilobyte_lines = [[b'x'; 1023].as_slice(), b"\n"].concat().repeat(5_000);
        let lines = forwarded(&kilobyte_lines[..]).await;
        assert_eq!(lines.len(), MAX_STREAM_BYTES / 1024 + 1);
        assert!(lines
            .last()
            .unwrap()
            .contains("the rest of this output is dropped"));
    }
}
