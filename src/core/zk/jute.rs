//! The ZooKeeper client protocol, as far as a session that only pings needs it: the connect
//! handshake, the ping, and the reply header. Jute encoding (`zookeeper.jute`): big-endian
//! integers, a buffer as its length then its bytes, every packet behind a 4-byte length.
//!
//! Why a session at all: ZooKeeper closes every client connection of a server the moment it
//! stops following, leading or observing (`Learner.shutdown` and `Leader.shutdown` call
//! `QuorumPeer.closeAllConnections`), so an open session tells at once what a poll would find
//! only at its next cycle, and a ping's reply header carries the server's last processed zxid
//! (`FinalRequestProcessor`, `case OpCode.ping`: `new ReplyHeader(PING_XID, lastZxid, 0)` with
//! `lastZxid = zkDb.getDataTreeLastProcessedZxid()`, the figure `srvr` prints) over a connection
//! that stays open. Measured on the 3.8 sandbox (`tests/live/ping_sessions.rs`): restarting the
//! leader closed the sessions on all five servers within 0.4 s; restarting a follower closed
//! only its own.

use super::zxid::Zxid;

/// `ClientCnxn.PING_XID`: the xid a ping is sent with and answered with.
pub const PING_XID: i32 = -2;
/// `ClientCnxn.NOTIFICATION_XID`: a watch event; this session sets no watches, so one is
/// never expected.
pub const NOTIFICATION_XID: i32 = -1;
/// `ZooDefs.OpCode.ping`.
const OP_PING: i32 = 11;
/// `ZooDefs.OpCode.closeSession`.
const OP_CLOSE_SESSION: i32 = -11;
/// The xid a close is sent with: any that is not one of the reserved negative ones.
pub const CLOSE_XID: i32 = 1;
/// The largest reply this session reads: a connect response is 36 bytes and a ping reply 16; a
/// peer announcing more is not a ZooKeeper server answering a ping.
pub const MAX_FRAME: usize = 4096;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SessionError {
    #[error("a packet of {0} bytes: not a ZooKeeper reply to a ping session")]
    BadLength(i64),
    #[error("a reply cut short: {0} bytes where at least {1} were due")]
    Short(usize, usize),
    #[error("the server refused the session (no timeout given: not serving, or it expired)")]
    Refused,
    #[error("the server answered xid {0} where a ping's reply ({PING_XID}) was due")]
    UnexpectedXid(i32),
    #[error("the server answered the ping with error code {0}")]
    Failed(i32),
}

/// The connect request for a new session (`ConnectRequest`): protocol version 0, no session
/// id, an empty password, `timeout_ms` asked for (the server clamps it to its
/// `minSessionTimeout`..`maxSessionTimeout`). `lastZxidSeen` is 0 so that a server that came
/// back with less data (a wiped disk) still takes the session: `processConnectRequest`
/// refuses a client that has seen a later zxid than its own. `readOnly` is false, so a
/// server in read-only mode refuses it too: only a serving server holds the session.
pub fn connect_request(timeout_ms: i32) -> Vec<u8> {
    let mut body = Vec::with_capacity(45);
    body.extend_from_slice(&0i32.to_be_bytes());
    body.extend_from_slice(&0i64.to_be_bytes());
    body.extend_from_slice(&timeout_ms.to_be_bytes());
    body.extend_from_slice(&0i64.to_be_bytes());
    body.extend_from_slice(&16i32.to_be_bytes());
    body.extend_from_slice(&[0u8; 16]);
    body.push(0);
    framed(&body)
}

/// A ping (`RequestHeader{xid: PING_XID, type: ping}`), framed.
pub fn ping_request() -> Vec<u8> {
    let mut body = Vec::with_capacity(8);
    body.extend_from_slice(&PING_XID.to_be_bytes());
    body.extend_from_slice(&OP_PING.to_be_bytes());
    framed(&body)
}

/// Ends the session (`RequestHeader{xid: CLOSE_XID, type: closeSession}`), framed. The server
/// commits the close like a write, answers it and then closes the connection
/// (`FinalRequestProcessor.processRequest`: `cnxn.sendCloseSession()` after the reply), where a
/// dropped connection would leave the session on every server until its timeout and have it
/// expired later by the leader, a transaction of its own at a moment nobody chose.
pub fn close_request() -> Vec<u8> {
    let mut body = Vec::with_capacity(8);
    body.extend_from_slice(&CLOSE_XID.to_be_bytes());
    body.extend_from_slice(&OP_CLOSE_SESSION.to_be_bytes());
    framed(&body)
}

fn framed(body: &[u8]) -> Vec<u8> {
    let mut packet = Vec::with_capacity(body.len() + 4);
    // Every request here is a few dozen bytes.
    packet.extend_from_slice(&(body.len() as i32).to_be_bytes());
    packet.extend_from_slice(body);
    packet
}

/// The length of the packet that follows a 4-byte length prefix.
pub fn frame_length(prefix: [u8; 4]) -> Result<usize, SessionError> {
    let length = i32::from_be_bytes(prefix);
    usize::try_from(length)
        .ok()
        .filter(|l| *l <= MAX_FRAME)
        .ok_or(SessionError::BadLength(i64::from(length)))
}

/// What the server granted (`ConnectResponse`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Granted {
    pub session_id: i64,
    /// The negotiated session timeout: pings must come more often than this or the session
    /// expires.
    pub timeout_ms: u32,
}

/// Reads a `ConnectResponse` body. A timeout of 0 is how a server says no
/// (`ZooKeeperServer.finishSessionInit` for an invalid or expired session).
pub fn parse_connect_response(body: &[u8]) -> Result<Granted, SessionError> {
    let mut reader = Reader::new(body);
    let _protocol = reader.int()?;
    let timeout = reader.int()?;
    let session_id = reader.long()?;
    let timeout_ms = u32::try_from(timeout)
        .ok()
        .filter(|t| *t > 0)
        .ok_or(SessionError::Refused)?;
    Ok(Granted {
        session_id,
        timeout_ms,
    })
}

/// A reply header (`ReplyHeader`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reply {
    pub xid: i32,
    pub zxid: Zxid,
    pub err: i32,
}

pub fn parse_reply(body: &[u8]) -> Result<Reply, SessionError> {
    let mut reader = Reader::new(body);
    let xid = reader.int()?;
    let zxid = reader.long()?;
    let err = reader.int()?;
    Ok(Reply {
        xid,
        // Zxids are printed and compared unsigned; the bits are the same.
        zxid: Zxid(zxid as u64),
        err,
    })
}

/// The zxid a ping's reply carries, or why the reply is not one.
pub fn ping_zxid(reply: Reply) -> Result<Zxid, SessionError> {
    if reply.xid != PING_XID {
        return Err(SessionError::UnexpectedXid(reply.xid));
    }
    if reply.err != 0 {
        return Err(SessionError::Failed(reply.err));
    }
    Ok(reply.zxid)
}

/// Whether `reply` answers the close: `None` for a ping's reply still on its way (read past it),
/// or the close's outcome.
pub fn close_outcome(reply: Reply) -> Option<Result<(), SessionError>> {
    match (reply.xid, reply.err) {
        (PING_XID, _) => None,
        (CLOSE_XID, 0) => Some(Ok(())),
        (CLOSE_XID, err) => Some(Err(SessionError::Failed(err))),
        (xid, _) => Some(Err(SessionError::UnexpectedXid(xid))),
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn new(bytes: &'a [u8]) -> Reader<'a> {
        Reader { bytes, at: 0 }
    }

    fn take<const N: usize>(&mut self) -> Result<[u8; N], SessionError> {
        let end = self.at + N;
        let slice = self
            .bytes
            .get(self.at..end)
            .ok_or(SessionError::Short(self.bytes.len(), end))?;
        self.at = end;
        let mut out = [0u8; N];
        out.copy_from_slice(slice);
        Ok(out)
    }

    fn int(&mut self) -> Result<i32, SessionError> {
        self.take::<4>().map(i32::from_be_bytes)
    }

    fn long(&mut self) -> Result<i64, SessionError> {
        self.take::<8>().map(i64::from_be_bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_connect_request_is_the_jute_record_behind_its_length() {
        let packet = connect_request(30_000);
        assert_eq!(packet.len(), 4 + 45);
        assert_eq!(&packet[..4], &45i32.to_be_bytes());
        // protocolVersion 0, lastZxidSeen 0, timeOut, sessionId 0, passwd of 16 zero bytes.
        assert_eq!(&packet[4..8], &[0; 4]);
        assert_eq!(&packet[8..16], &[0; 8]);
        assert_eq!(&packet[16..20], &30_000i32.to_be_bytes());
        assert_eq!(&packet[20..28], &[0; 8]);
        assert_eq!(&packet[28..32], &16i32.to_be_bytes());
        assert_eq!(packet[48], 0, "not read-only");
    }

    #[test]
    fn a_ping_is_its_xid_and_opcode() {
        assert_eq!(
            ping_request(),
            [0, 0, 0, 8, 0xff, 0xff, 0xff, 0xfe, 0, 0, 0, 11]
        );
    }

    #[test]
    fn a_close_is_its_xid_and_opcode() {
        assert_eq!(
            close_request(),
            [0, 0, 0, 8, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xf5]
        );
    }

    #[test]
    fn a_close_waits_past_a_late_ping_reply_and_takes_only_its_own() {
        let reply = |xid, err| Reply {
            xid,
            zxid: Zxid(7),
            err,
        };
        assert_eq!(close_outcome(reply(PING_XID, 0)), None);
        assert_eq!(close_outcome(reply(CLOSE_XID, 0)), Some(Ok(())));
        assert_eq!(
            close_outcome(reply(CLOSE_XID, -112)),
            Some(Err(SessionError::Failed(-112)))
        );
        assert_eq!(
            close_outcome(reply(NOTIFICATION_XID, 0)),
            Some(Err(SessionError::UnexpectedXid(NOTIFICATION_XID)))
        );
    }

    /// Bytes as a 3.8 server sent them on the sandbox (`tests/live/ping_sessions.rs` asks the same).
    #[test]
    fn reads_a_granted_session_and_a_ping_reply() {
        let mut response = Vec::new();
        response.extend_from_slice(&0i32.to_be_bytes());
        response.extend_from_slice(&10_000i32.to_be_bytes());
        response.extend_from_slice(&0x0100_0005_2e60_0002_i64.to_be_bytes());
        response.extend_from_slice(&16i32.to_be_bytes());
        response.extend_from_slice(&[7u8; 16]);
        response.push(0);
        assert_eq!(
            parse_connect_response(&response),
            Ok(Granted {
                session_id: 0x0100_0005_2e60_0002,
                timeout_ms: 10_000
            })
        );
        let mut reply = Vec::new();
        reply.extend_from_slice(&PING_XID.to_be_bytes());
        reply.extend_from_slice(&0x1_0000_0015i64.to_be_bytes());
        reply.extend_from_slice(&0i32.to_be_bytes());
        let reply = parse_reply(&reply).expect("a reply header");
        assert_eq!(ping_zxid(reply), Ok(Zxid::new(1, 0x15)));
    }

    #[test]
    fn a_zero_timeout_is_a_refusal() {
        let mut response = vec![0u8; 4];
        response.extend_from_slice(&0i32.to_be_bytes());
        response.extend_from_slice(&[0u8; 8]);
        assert_eq!(
            parse_connect_response(&response),
            Err(SessionError::Refused)
        );
    }

    #[test]
    fn hostile_frames_are_errors_not_panics() {
        assert_eq!(
            frame_length((-1i32).to_be_bytes()),
            Err(SessionError::BadLength(-1))
        );
        assert_eq!(
            frame_length(1_000_000i32.to_be_bytes()),
            Err(SessionError::BadLength(1_000_000))
        );
        assert_eq!(frame_length(16i32.to_be_bytes()), Ok(16));
        assert_eq!(parse_reply(&[1, 2, 3]), Err(SessionError::Short(3, 4)));
        assert_eq!(parse_connect_response(&[]), Err(SessionError::Short(0, 4)));
        let notification = Reply {
            xid: NOTIFICATION_XID,
            zxid: Zxid(0),
            err: 0,
        };
        assert_eq!(
            ping_zxid(notification),
            Err(SessionError::UnexpectedXid(-1))
        );
        let failed = Reply {
            xid: PING_XID,
            zxid: Zxid(0),
            err: -112,
        };
        assert_eq!(ping_zxid(failed), Err(SessionError::Failed(-112)));
    }
}
