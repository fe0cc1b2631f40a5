//! Adapter: a ZooKeeper client session on one server that only pings (`zk::jute` holds the
//! protocol). The server closes it the moment it stops serving in its role, which
//! [`Link::closed`] reports without a question asked; a ping reads the server's zxid over the
//! connection already open, where a four-letter word costs a new connection every time.
//!
//! Opening one is a transaction (`createSession`, committed by the quorum), so the ensemble's
//! zxid moves by one for each. [`Link::close`] ends it the same way; a link merely dropped
//! closes only the TCP connection, and the session expires on the server after its negotiated
//! timeout, with nothing attached to it.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;

use crate::net::wire::{self, io_error, WireError};
use crate::zk::jute::{self, SessionError};
use crate::zk::zxid::Zxid;

#[derive(Debug)]
pub struct Link {
    stream: TcpStream,
    addr: String,
    pub session_id: i64,
    /// The negotiated session timeout.
    pub timeout: Duration,
}

impl Link {
    /// Opens a session on `addr`, asking for `wanted` as its timeout; `deadline` covers
    /// connecting and the handshake.
    pub async fn open(addr: &str, wanted: Duration, deadline: Duration) -> Result<Link, WireError> {
        let opening = async {
            let mut stream = wire::connect(addr).await?;
            // Pings are a dozen bytes each: waiting to fill a segment would only delay them.
            stream.set_nodelay(true).map_err(|e| io_error(addr, &e))?;
            let wanted_ms = i32::try_from(wanted.as_millis()).unwrap_or(i32::MAX);
            send(&mut stream, addr, &jute::connect_request(wanted_ms)).await?;
            let body = read_frame(&mut stream, addr).await?;
            let granted = jute::parse_connect_response(&body).map_err(|e| bad(addr, e))?;
            Ok(Link {
                stream,
                addr: addr.to_string(),
                session_id: granted.session_id,
                timeout: Duration::from_millis(u64::from(granted.timeout_ms)),
            })
        };
        within(addr, deadline, opening).await
    }

    /// Pings and returns the zxid the server last applied. An error leaves the link unusable:
    /// a reply may still be on its way, so the caller drops it.
    pub async fn ping(&mut self, deadline: Duration) -> Result<Zxid, WireError> {
        let addr = self.addr.clone();
        let exchange = async {
            send(&mut self.stream, &addr, &jute::ping_request()).await?;
            let body = read_frame(&mut self.stream, &addr).await?;
            let reply = jute::parse_reply(&body).map_err(|e| bad(&addr, e))?;
            jute::ping_zxid(reply).map_err(|e| bad(&addr, e))
        };
        within(&self.addr, deadline, exchange).await
    }

    /// Ends the session: the close is sent and its answer awaited (past a ping's reply still on
    /// its way), or the server's closing of the connection, which it does right after
    /// answering. Within `deadline`: a close is committed by the quorum, so an ensemble without
    /// one never answers it, and the session then expires as a dropped one would.
    pub async fn close(mut self, deadline: Duration) -> Result<(), WireError> {
        let addr = self.addr.clone();
        let exchange = async {
            send(&mut self.stream, &addr, &jute::close_request()).await?;
            loop {
                // The server closes the connection once the close is committed and answered.
                let Some(body) = read_frame_or_end(&mut self.stream, &addr).await? else {
                    return Ok(());
                };
                let reply = jute::parse_reply(&body).map_err(|e| bad(&addr, e))?;
                if let Some(outcome) = jute::close_outcome(reply) {
                    outcome.map_err(|e| bad(&addr, e))?;
                    // Ended once the server let the connection go too: nothing of it is left.
                    while read_frame_or_end(&mut self.stream, &addr).await?.is_some() {}
                    return Ok(());
                }
            }
        };
        within(&self.addr, deadline, exchange).await
    }

    /// Resolves when the server closes the connection or sends what nobody asked for; safe to
    /// cancel (it only waits for the socket to be readable), so it sits in a `select!` between
    /// pings.
    pub async fn closed(&mut self) -> WireError {
        let mut byte = [0u8; 1];
        loop {
            if let Err(e) = self.stream.readable().await {
                return io_error(&self.addr, &e);
            }
            match self.stream.try_read(&mut byte) {
                Ok(0) => {
                    return WireError::Io {
                        addr: self.addr.clone(),
                        message: "the server closed the session's connection".into(),
                    }
                }
                Ok(_) => {
                    return WireError::Io {
                        addr: self.addr.clone(),
                        message: "the server sent what no ping asked for".into(),
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
                Err(e) => return io_error(&self.addr, &e),
            }
        }
    }
}

async fn send(stream: &mut TcpStream, addr: &str, packet: &[u8]) -> Result<(), WireError> {
    stream
        .write_all(packet)
        .await
        .map_err(|e| io_error(addr, &e))
}

async fn read_frame(stream: &mut TcpStream, addr: &str) -> Result<Vec<u8>, WireError> {
    read_frame_or_end(stream, addr)
        .await?
        .ok_or_else(|| WireError::Io {
            addr: addr.to_string(),
            message: "the server closed the session's connection".into(),
        })
}

/// The next packet, or `None` when the server closed the connection before one began.
async fn read_frame_or_end(
    stream: &mut TcpStream,
    addr: &str,
) -> Result<Option<Vec<u8>>, WireError> {
    let mut prefix = [0u8; 4];
    match stream.read_exact(&mut prefix).await {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(io_error(addr, &e)),
    }
    let length = jute::frame_length(prefix).map_err(|e| bad(addr, e))?;
    let mut body = vec![0u8; length];
    stream
        .read_exact(&mut body)
        .await
        .map_err(|e| io_error(addr, &e))?;
    Ok(Some(body))
}

async fn within<T>(
    addr: &str,
    deadline: Duration,
    work: impl std::future::Future<Output = Result<T, WireError>>,
) -> Result<T, WireError> {
    timeout(deadline, work).await.unwrap_or_else(|_| {
        Err(WireError::Timeout {
            addr: addr.to_string(),
            millis: deadline.as_millis(),
        })
    })
}

fn bad(addr: &str, error: SessionError) -> WireError {
    WireError::Io {
        addr: addr.to_string(),
        message: error.to_string(),
    }
}
