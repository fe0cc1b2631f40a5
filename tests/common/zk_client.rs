//! An independent ZooKeeper client for rehearsals: the jute wire protocol over a plain
//! `std::net::TcpStream`, so the proof that no acknowledged write is lost depends neither on
//! zkpilot's own code nor on a client library's retry logic hiding a lost reply.
//!
//! `Writer` creates sequence-numbered znodes one at a time on its own thread and records what
//! the servers acknowledged; `Report::verify` reads every acknowledged znode back.
//!
//! Formats follow ZooKeeper's `zookeeper.jute` (checked against the 3.8 `zookeeper-jute.jar`):
//! every message is a frame of a big-endian `int` length and that many bytes; `int` and `long`
//! are big-endian, `bool` one byte, `buffer` and `ustring` an `int` length (-1 for null) and the
//! bytes, `vector` an `int` count and the elements.

use std::fmt;
use std::io::{self, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The parent of the writer's znodes.
pub const ROOT: &str = "/zkpilot-rehearsal";

/// `KeeperException.Code`s the callers tell apart.
pub const NONODE: i32 = -101;
pub const NODEEXISTS: i32 = -110;
/// What a ConnectResponse with a timeout of 0 means: the session was refused as expired.
const SESSIONEXPIRED: i32 = -112;

// `ZooDefs.OpCode`.
const OP_CREATE: i32 = 1;
const OP_GET_DATA: i32 = 4;
const OP_GET_CHILDREN: i32 = 8;
const OP_SYNC: i32 = 9;
const OP_PING: i32 = 11;
const OP_CLOSE_SESSION: i32 = -11;

/// The ping's reserved xid. We set no watches, so no notification (xid -1) ever interleaves:
/// every frame after a request is its reply.
const XID_PING: i32 = -2;

/// `ZooDefs.Perms.ALL` for `world:anyone`, i.e. `Ids.OPEN_ACL_UNSAFE`.
const PERMS_ALL: i32 = 31;

/// The largest frame accepted. The server's own `jute.maxbuffer` defaults to 1 MiB; 4 MiB
/// leaves room for a long child list and still bounds what a bad length can make us allocate.
const MAX_FRAME: usize = 4 << 20;

/// A `Stat` record: 6 longs and 5 ints.
const STAT_LEN: usize = 6 * 8 + 5 * 4;

/// Loopback servers answer a TCP connect at once; a second means the address is dead.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);

/// A new session is committed through the leader like a write, so its answer may take a
/// moment; the Java client allows the session timeout divided by the number of hosts.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(2);

/// The session timeout the writer and the verifier ask for. The sandbox's tickTime of 500 ms
/// allows 1–10 s; 6 s outlives an election, and a request without a reply for two thirds of
/// it (what the Java client waits) is given up as lost.
pub const SESSION_TIMEOUT: Duration = Duration::from_secs(6);

/// The writer's pause after each acknowledged write. With a create's round trip (a quorum's fsync) it makes
/// one write every 35–45 ms on the sandbox: no moment of a rehearsal unobserved, and little load
/// on two shared cores.
const PACE: Duration = Duration::from_millis(25);

/// The pause after a failed connect, so a fully stopped ensemble is not spun on.
const RETRY_PAUSE: Duration = Duration::from_millis(50);

#[derive(Debug)]
pub enum Error {
    /// The connection failed, closed or timed out: a request in flight may or may not have
    /// been applied.
    Connection(io::Error),
    /// The server answered with this `KeeperException.Code`: the request was not applied.
    Server(i32),
    /// The server sent bytes that are not the protocol; the connection is unusable.
    Protocol(String),
}

impl From<io::Error> for Error {
    fn from(e: io::Error) -> Error {
        Error::Connection(e)
    }
}

/// One session on one server. Requests are synchronous: one in flight at a time, so a reply
/// always belongs to the last request sent.
pub struct Client {
    stream: TcpStream,
    xid: i32,
    /// The highest zxid any reply carried: passed as `lastZxidSeen` on the next connect, so a
    /// server that has not yet seen our writes refuses the session, as it does for real clients.
    last_zxid: i64,
}

impl Client {
    /// Opens a new session on `addr` (`host:port`). A server that is not serving, or that is
    /// behind `last_zxid_seen`, closes the connection: that is an `Error::Connection`.
    pub fn connect(addr: &str, last_zxid_seen: i64, timeout: Duration) -> Result<Client, Error> {
        let socket = addr.to_socket_addrs()?.next().ok_or_else(|| {
            Error::Connection(io::Error::new(io::ErrorKind::InvalidInput, "no address"))
        })?;
        let stream = TcpStream::connect_timeout(&socket, CONNECT_TIMEOUT)?;
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(HANDSHAKE_TIMEOUT))?;
        stream.set_write_timeout(Some(HANDSHAKE_TIMEOUT))?;
        let mut client = Client {
            stream,
            xid: 0,
            last_zxid: last_zxid_seen,
        };

        // ConnectRequest {protocolVersion, lastZxidSeen, timeOut, sessionId, passwd}, then the
        // readOnly flag the 3.4+ client appends: false, so a read-only server refuses us.
        let mut request = Frame::new();
        request.int(0);
        request.long(last_zxid_seen);
        request.int(i32::try_from(timeout.as_millis()).unwrap_or(i32::MAX));
        request.long(0); // a new session
        request.buffer(&[0; 16]); // the Java client's password for a new session
        request.boolean(false);
        // ConnectResponse {protocolVersion, timeOut, sessionId, passwd}, then readOnly (ignored:
        // a read-write request is only ever granted read-write).
        let frame = client.round_trip(request)?;
        let mut reply = Reader::new(&frame);
        let _protocol_version = reply.int()?;
        let negotiated = reply.int()?;
        let _session_id = reply.long()?;
        let _password = reply.buffer()?;
        let negotiated = u64::try_from(negotiated)
            .ok()
            .filter(|&ms| ms > 0)
            .ok_or(Error::Server(SESSIONEXPIRED))?;
        let patience = Duration::from_millis(negotiated * 2 / 3);
        client.stream.set_read_timeout(Some(patience))?;
        client.stream.set_write_timeout(Some(patience))?;
        Ok(client)
    }

    /// Creates a persistent znode readable and writable by anyone.
    pub fn create(&mut self, path: &str, data: &[u8]) -> Result<(), Error> {
        // CreateRequest {path, data, acl: vector<ACL {perms, Id {scheme, id}}>, flags}.
        let reply = self.call(OP_CREATE, |r| {
            r.string(path);
            r.buffer(data);
            r.int(1);
            r.int(PERMS_ALL);
            r.string("world");
            r.string("anyone");
            r.int(0); // CreateMode.PERSISTENT
        })?;
        // CreateResponse {path}: the server names what it created.
        let created = Reader::new(&reply).string()?;
        if created != path {
            return Err(Error::Protocol(format!(
                "created {created:?}, asked {path:?}"
            )));
        }
        Ok(())
    }

    /// The data of a znode.
    pub fn get_data(&mut self, path: &str) -> Result<Vec<u8>, Error> {
        // GetDataRequest {path, watch}; GetDataResponse {data, stat}.
        let reply = self.read(OP_GET_DATA, path)?;
        let mut reader = Reader::new(&reply);
        let data = reader.buffer()?;
        reader.take(STAT_LEN)?;
        Ok(data)
    }

    /// The names of a znode's children.
    pub fn get_children(&mut self, path: &str) -> Result<Vec<String>, Error> {
        // GetChildrenRequest {path, watch}; GetChildrenResponse {vector<ustring> children}.
        let reply = self.read(OP_GET_CHILDREN, path)?;
        let mut reader = Reader::new(&reply);
        let count = reader.int()?;
        // Each child costs at least its 4-byte length, so a lying count ends at the frame's end.
        let mut children = Vec::new();
        for _ in 0..count.max(0) {
            children.push(reader.string()?);
        }
        Ok(children)
    }

    /// Makes this server catch up with the leader before it answers, so reads after it see
    /// every write the leader committed before the sync.
    pub fn sync(&mut self, path: &str) -> Result<(), Error> {
        // SyncRequest {path}; SyncResponse {path}.
        self.call(OP_SYNC, |r| r.string(path)).map(drop)
    }

    /// A heartbeat: keeps an idle session alive and proves the server still answers.
    pub fn ping(&mut self) -> Result<(), Error> {
        self.exchange(XID_PING, OP_PING, |_| {}).map(drop)
    }

    /// Ends the session at once instead of letting it expire on the server.
    pub fn close(mut self) -> Result<(), Error> {
        let xid = self.next_xid();
        self.exchange(xid, OP_CLOSE_SESSION, |_| {}).map(drop)
    }

    /// A read of `path` that sets no watch (`{path, watch}` requests).
    fn read(&mut self, op: i32, path: &str) -> Result<Vec<u8>, Error> {
        self.call(op, |r| {
            r.string(path);
            r.boolean(false);
        })
    }

    fn call(&mut self, op: i32, body: impl FnOnce(&mut Frame)) -> Result<Vec<u8>, Error> {
        let xid = self.next_xid();
        self.exchange(xid, op, body)
    }

    fn next_xid(&mut self) -> i32 {
        // Positive xids only: the negative ones are reserved.
        self.xid = if self.xid == i32::MAX {
            1
        } else {
            self.xid + 1
        };
        self.xid
    }

    /// Sends RequestHeader {xid, type} and the body; returns the reply's body after
    /// ReplyHeader {xid, zxid, err} when err is 0.
    fn exchange(
        &mut self,
        xid: i32,
        op: i32,
        body: impl FnOnce(&mut Frame),
    ) -> Result<Vec<u8>, Error> {
        let mut request = Frame::new();
        request.int(xid);
        request.int(op);
        body(&mut request);
        let frame = self.round_trip(request)?;
        let mut reply = Reader::new(&frame);
        let reply_xid = reply.int()?;
        let zxid = reply.long()?;
        let err = reply.int()?;
        if reply_xid != xid {
            return Err(Error::Protocol(format!(
                "reply xid {reply_xid}, sent {xid}"
            )));
        }
        self.last_zxid = self.last_zxid.max(zxid);
        if err != 0 {
            return Err(Error::Server(err));
        }
        Ok(reply.rest().to_vec())
    }

    /// Sends one request and reads the one frame that answers it.
    fn round_trip(&mut self, request: Frame) -> Result<Vec<u8>, Error> {
        self.send(request)?;
        self.read_frame()
    }

    fn send(&mut self, frame: Frame) -> Result<(), Error> {
        self.stream.write_all(&frame.finish())?;
        Ok(())
    }

    fn read_frame(&mut self) -> Result<Vec<u8>, Error> {
        let mut len = [0; 4];
        self.stream.read_exact(&mut len)?;
        let len = i32::from_be_bytes(len);
        let len = usize::try_from(len)
            .ok()
            .filter(|&l| l <= MAX_FRAME)
            .ok_or_else(|| Error::Protocol(format!("frame length {len}")))?;
        let mut body = vec![0; len];
        self.stream.read_exact(&mut body)?;
        Ok(body)
    }
}

/// An outgoing frame: the length is filled in by `finish`.
struct Frame(Vec<u8>);

impl Frame {
    fn new() -> Frame {
        Frame(vec![0; 4])
    }

    fn int(&mut self, v: i32) {
        self.0.extend_from_slice(&v.to_be_bytes());
    }

    fn long(&mut self, v: i64) {
        self.0.extend_from_slice(&v.to_be_bytes());
    }

    fn boolean(&mut self, v: bool) {
        self.0.push(u8::from(v));
    }

    fn buffer(&mut self, v: &[u8]) {
        // Our own paths and data: far below 2 GiB.
        self.int(v.len() as i32);
        self.0.extend_from_slice(v);
    }

    fn string(&mut self, s: &str) {
        self.buffer(s.as_bytes());
    }

    fn finish(mut self) -> Vec<u8> {
        let len = (self.0.len() - 4) as i32;
        self.0[..4].copy_from_slice(&len.to_be_bytes());
        self.0
    }
}

/// Reads a received frame; every read past its end is an error, never a panic.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn new(bytes: &'a [u8]) -> Reader<'a> {
        Reader(bytes)
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], Error> {
        if n > self.0.len() {
            return Err(Error::Protocol(format!(
                "needed {n} bytes, {} left",
                self.0.len()
            )));
        }
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        Ok(head)
    }

    fn int(&mut self) -> Result<i32, Error> {
        let b = self.take(4)?;
        Ok(i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn long(&mut self) -> Result<i64, Error> {
        let b = self.take(8)?;
        Ok(i64::from_be_bytes([
            b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7],
        ]))
    }

    /// A buffer; null (-1) reads as empty.
    fn buffer(&mut self) -> Result<Vec<u8>, Error> {
        let len = self.int()?;
        Ok(self.take(usize::try_from(len).unwrap_or(0))?.to_vec())
    }

    fn string(&mut self) -> Result<String, Error> {
        String::from_utf8(self.buffer()?).map_err(|e| Error::Protocol(e.to_string()))
    }

    fn rest(&self) -> &'a [u8] {
        self.0
    }
}

/// The path of the writer's znode for `seq`, zero-padded like a sequential znode's name.
pub fn znode(seq: u64) -> String {
    format!("{ROOT}/w-{seq:010}")
}

/// What the znode for `seq` holds.
fn payload(seq: u64) -> Vec<u8> {
    seq.to_string().into_bytes()
}

/// A writer running on its own thread until `stop`.
pub struct Writer {
    stop: Arc<AtomicBool>,
    acked: Arc<AtomicUsize>,
    thread: Option<JoinHandle<Report>>,
}

impl Writer {
    /// Starts writing through the first of `addresses` (`host:port`) that accepts a session,
    /// moving on to the next after any error. Numbering continues after the znodes already
    /// under `ROOT`, so a writer can follow another on the same ensemble.
    pub fn start(addresses: &[String]) -> Writer {
        assert!(!addresses.is_empty(), "the writer needs an address");
        let stop = Arc::new(AtomicBool::new(false));
        let acked = Arc::new(AtomicUsize::new(0));
        let run = Run {
            addresses: addresses.to_vec(),
            stop: Arc::clone(&stop),
            acked_count: Arc::clone(&acked),
            started: Instant::now(),
            last_ack: Instant::now(),
            next_seq: None,
            in_doubt: None,
            report: Report::default(),
        };
        let thread = std::thread::Builder::new()
            .name("zk-writer".into())
            .spawn(move || run.run())
            .expect("spawn the writer thread");
        Writer {
            stop,
            acked,
            thread: Some(thread),
        }
    }

    /// How many writes were acknowledged so far: lets a test wait for progress.
    pub fn acked(&self) -> usize {
        self.acked.load(Ordering::SeqCst)
    }

    /// Ends the loop after the write in flight and returns what happened.
    pub fn stop(mut self) -> Report {
        self.stop.store(true, Ordering::SeqCst);
        let thread = self.thread.take().expect("a running writer has its thread");
        thread
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    }
}

impl Drop for Writer {
    /// A test that fails before `stop` still ends the thread before its sandbox goes down.
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// What a writer saw. Every sequence number is in exactly one of the three lists.
#[derive(Debug, Default)]
pub struct Report {
    /// Acknowledged with err 0, or found existing when a write whose reply was lost was
    /// retried: these must all be readable at the end.
    pub acked: Vec<u64>,
    /// Refused by a server with an error: not written.
    pub failed: Vec<u64>,
    /// The reply was lost and no retry settled it before `stop`: may or may not exist.
    pub unknown: Vec<u64>,
    /// Writes whose first reply was lost and that were retried on another session.
    pub in_doubt: usize,
    /// Sessions opened after the first.
    pub reconnections: usize,
    /// The longest time without an acknowledgement, from the start to the stop.
    pub longest_gap: Duration,
    pub elapsed: Duration,
    /// The highest zxid seen: the verifier only reads from servers that have seen it.
    pub last_zxid: i64,
}

/// An acknowledged write that did not read back: `found` is `None` when the znode is missing.
#[derive(Debug, PartialEq)]
pub struct Lost {
    pub seq: u64,
    pub found: Option<String>,
}

impl Report {
    pub fn writes_per_second(&self) -> f64 {
        self.acked.len() as f64 / self.elapsed.as_secs_f64().max(f64::EPSILON)
    }

    /// Reads every acknowledged znode back through the first of `addresses` that serves,
    /// moving on (and keeping what was read) after an error, and returns those missing or
    /// holding other data.
    ///
    /// The session asks `lastZxidSeen = last_zxid`, so a server that has not yet applied the
    /// writer's last acknowledged write refuses it, and then `sync`s, so the server catches up
    /// with the leader before answering. Either alone makes any serving server's answer as
    /// good as the leader's: verifying needs neither knowing who leads nor waiting for the
    /// ensemble to settle, and costs one round trip more than the reads.
    pub fn verify(&self, addresses: &[String]) -> Result<Vec<Lost>, Error> {
        let mut lost = Vec::new();
        let mut next = 0;
        let mut last_error = Error::Connection(io::Error::new(
            io::ErrorKind::InvalidInput,
            "no address to verify with",
        ));
        // Three rounds ride out a server restarting or an election in progress.
        for round in 0..3 {
            if round > 0 {
                std::thread::sleep(Duration::from_secs(1));
            }
            for addr in addresses {
                match self.read_back(addr, &mut next, &mut lost) {
                    Ok(()) => return Ok(lost),
                    Err(e) => last_error = e,
                }
            }
        }
        Err(last_error)
    }

    /// Reads from `self.acked[*next..]` on one server, advancing `next` as it goes.
    fn read_back(&self, addr: &str, next: &mut usize, lost: &mut Vec<Lost>) -> Result<(), Error> {
        let mut client = Client::connect(addr, self.last_zxid, SESSION_TIMEOUT)?;
        client.sync(ROOT)?;
        while let Some(&seq) = self.acked.get(*next) {
            match client.get_data(&znode(seq)) {
                Ok(data) if data == payload(seq) => {}
                Ok(data) => lost.push(Lost {
                    seq,
                    found: Some(String::from_utf8_lossy(&data).into_owned()),
                }),
                Err(Error::Server(NONODE)) => lost.push(Lost { seq, found: None }),
                Err(e) => return Err(e),
            }
            *next += 1;
        }
        // The reads are done; a failed close leaves a session to expire, nothing more.
        let _ = client.close();
        Ok(())
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} acked ({:.1}/s), {} failed, {} unknown, {} retried after a lost reply, \
             {} reconnections, longest gap without an ack {:.2?}, over {:.1?}",
            self.acked.len(),
            self.writes_per_second(),
            self.failed.len(),
            self.unknown.len(),
            self.in_doubt,
            self.reconnections,
            self.longest_gap,
            self.elapsed
        )
    }
}

/// The writer thread's state.
struct Run {
    addresses: Vec<String>,
    stop: Arc<AtomicBool>,
    acked_count: Arc<AtomicUsize>,
    started: Instant,
    last_ack: Instant,
    /// The next new sequence number; `None` until `ROOT` exists and has been listed.
    next_seq: Option<u64>,
    /// A write whose reply was lost: retried before any new one, since only a retry's
    /// NODEEXISTS can tell that it was applied.
    in_doubt: Option<u64>,
    report: Report,
}

impl Run {
    fn run(mut self) -> Report {
        let mut connected_before = false;
        let addresses = std::mem::take(&mut self.addresses);
        for addr in addresses.iter().cycle() {
            if self.stopping() {
                break;
            }
            let mut client = match Client::connect(addr, self.report.last_zxid, SESSION_TIMEOUT) {
                Ok(client) => client,
                Err(_) => {
                    std::thread::sleep(RETRY_PAUSE);
                    continue;
                }
            };
            if connected_before {
                self.report.reconnections += 1;
            }
            connected_before = true;
            let alive = self.write_through(&mut client);
            self.report.last_zxid = self.report.last_zxid.max(client.last_zxid);
            if alive {
                // Stopped with the session healthy: end it rather than leave it to expire.
                let _ = client.close();
            }
        }
        if let Some(seq) = self.in_doubt {
            self.report.unknown.push(seq);
        }
        let now = Instant::now();
        self.report.longest_gap = self.report.longest_gap.max(now - self.last_ack);
        self.report.elapsed = now - self.started;
        self.report
    }

    fn stopping(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    /// Writes on one session until `stop` (returns true) or an error (returns false).
    fn write_through(&mut self, client: &mut Client) -> bool {
        let mut next_seq = match self.next_seq {
            Some(seq) => seq,
            None => match first_seq(client) {
                Ok(seq) => seq,
                Err(_) => return false,
            },
        };
        self.next_seq = Some(next_seq);
        while !self.stopping() {
            let seq = self.in_doubt.unwrap_or(next_seq);
            match client.create(&znode(seq), &payload(seq)) {
                Ok(()) => self.ack(seq),
                // Only our lost attempt can have created it: it was applied.
                Err(Error::Server(NODEEXISTS)) if self.in_doubt == Some(seq) => self.ack(seq),
                // A refused retry says nothing about the lost attempt: it stays in doubt.
                Err(Error::Server(_)) if self.in_doubt.is_some() => return false,
                Err(Error::Server(_)) => {
                    self.report.failed.push(seq);
                    self.next_seq = Some(seq + 1);
                    return false;
                }
                Err(Error::Connection(_) | Error::Protocol(_)) => {
                    if self.in_doubt.is_none() {
                        self.report.in_doubt += 1;
                        self.in_doubt = Some(seq);
                    }
                    return false;
                }
            }
            next_seq = seq + 1;
            self.next_seq = Some(next_seq);
            std::thread::sleep(PACE);
        }
        true
    }

    fn ack(&mut self, seq: u64) {
        let now = Instant::now();
        self.report.longest_gap = self.report.longest_gap.max(now - self.last_ack);
        self.last_ack = now;
        self.report.acked.push(seq);
        self.in_doubt = None;
        self.acked_count.fetch_add(1, Ordering::SeqCst);
    }
}

/// Creates `ROOT` if needed and returns the sequence number after the highest znode under it.
fn first_seq(client: &mut Client) -> Result<u64, Error> {
    match client.create(ROOT, b"") {
        Ok(()) | Err(Error::Server(NODEEXISTS)) => {}
        Err(e) => return Err(e),
    }
    let highest = client
        .get_children(ROOT)?
        .iter()
        .filter_map(|name| name.strip_prefix("w-")?.parse::<u64>().ok())
        .max()
        .unwrap_or(0);
    Ok(highest.saturating_add(1))
}
