//! Adapter: one four-letter-word exchange over TCP. ZooKeeper closes the connection after every
//! answer, so each question is a fresh connection: connect, send the word, read to EOF.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;

/// Answers larger than this are cut: a real `mntr` is about 20 KiB, `cons` on a busy server
/// can be larger, and a misbehaving peer must not make the console allocate without bound.
pub const MAX_ANSWER_BYTES: u64 = 4 * 1024 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    #[error("connection refused by {0}")]
    Refused(String),
    #[error("no answer from {addr} within {millis} ms")]
    Timeout { addr: String, millis: u128 },
    #[error("{addr}: {message}")]
    Io { addr: String, message: String },
}

/// Sends `word` (e.g. `srvr`) to `addr` (`host:port`) and returns the whole answer as text
/// (invalid UTF-8 replaced). The deadline covers connect, send and read together.
pub async fn ask(addr: &str, word: &str, deadline: Duration) -> Result<String, WireError> {
    let exchange = async {
        let mut stream = TcpStream::connect(addr).await.map_err(|e| {
            if e.kind() == std::io::ErrorKind::ConnectionRefused {
                WireError::Refused(addr.to_string())
            } else {
                io_error(addr, &e)
            }
        })?;
        stream
            .write_all(word.as_bytes())
            .await
            .map_err(|e| io_error(addr, &e))?;
        let mut bytes = Vec::new();
        stream
            .take(MAX_ANSWER_BYTES)
            .read_to_end(&mut bytes)
            .await
            .map_err(|e| io_error(addr, &e))?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    };
    timeout(deadline, exchange).await.unwrap_or_else(|_| {
        Err(WireError::Timeout {
            addr: addr.to_string(),
            millis: deadline.as_millis(),
        })
    })
}

fn io_error(addr: &str, error: &std::io::Error) -> WireError {
    WireError::Io {
        addr: addr.to_string(),
        message: error.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::net::TcpListener;

    #[tokio::test]
    async fn reads_the_whole_answer_until_the_server_closes() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let server = tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut word = [0u8; 4];
            socket.read_exact(&mut word).await.unwrap();
            assert_eq!(&word, b"srvr");
            socket.write_all(b"Mode: leader\n").await.unwrap();
        });
        let answer = ask(&addr, "srvr", Duration::from_secs(5)).await.unwrap();
        assert_eq!(answer, "Mode: leader\n");
        server.await.unwrap();
    }

    #[tokio::test]
    async fn a_refused_connection_is_named_as_such() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        drop(listener);
        let err = ask(&addr, "srvr", Duration::from_secs(5))
            .await
            .unwrap_err();
        assert_eq!(err, WireError::Refused(addr));
    }

    #[tokio::test(start_paused = true)]
    async fn a_silent_server_times_out() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let _held = tokio::spawn(async move {
            let (socket, _) = listener.accept().await.unwrap();
            std::future::pending::<()>().await;
            drop(socket);
        });
        let err = ask(&addr, "srv", Duration::from_millis(300))
            .await
            .unwrap_err();
        assert!(matches!(err, WireError::Timeout { millis: 300, .. }));
    }
}
