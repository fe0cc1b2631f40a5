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
    let bytes = exchange(addr, word.as_bytes(), deadline).await?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// Connects, sends `request`, reads to EOF; the deadline covers it all.
async fn exchange(addr: &str, request: &[u8], deadline: Duration) -> Result<Vec<u8>, WireError> {
    let exchange = async {
        let mut stream = connect(addr).await?;
        stream
            .write_all(request)
            .await
            .map_err(|e| io_error(addr, &e))?;
        let mut bytes = Vec::new();
        stream
            .take(MAX_ANSWER_BYTES)
            .read_to_end(&mut bytes)
            .await
            .map_err(|e| io_error(addr, &e))?;
        Ok(bytes)
    };
    timeout(deadline, exchange).await.unwrap_or_else(|_| {
        Err(WireError::Timeout {
            addr: addr.to_string(),
            millis: deadline.as_millis(),
        })
    })
}

/// A TCP connection to `addr`, a refusal told apart from other failures.
pub async fn connect(addr: &str) -> Result<TcpStream, WireError> {
    TcpStream::connect(addr).await.map_err(|e| {
        if e.kind() == std::io::ErrorKind::ConnectionRefused {
            WireError::Refused(addr.to_string())
        } else {
            io_error(addr, &e)
        }
    })
}

/// An HTTP answer: its status and body (invalid UTF-8 replaced).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpAnswer {
    pub status: u16,
    pub body: String,
}

/// `GET path` on `addr` over plain HTTP/1.1 with `Connection: close`, reading to EOF within the
/// deadline and at most [`MAX_ANSWER_BYTES`]: all the AdminServer (Jetty) needs, without an HTTP
/// crate. A `Content-Length` body is cut there, a chunked one is decoded.
pub async fn http_get(addr: &str, path: &str, deadline: Duration) -> Result<HttpAnswer, WireError> {
    let host = addr.rsplit_once(':').map_or(addr, |(host, _)| host);
    let request =
        format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nAccept: application/json\r\nConnection: close\r\n\r\n");
    let bytes = exchange(addr, request.as_bytes(), deadline).await?;
    parse_http(&bytes).ok_or_else(|| WireError::Io {
        addr: addr.to_string(),
        message: "not an HTTP answer".into(),
    })
}

/// Splits an HTTP/1.1 response into status and body; `None` if it is not one.
fn parse_http(bytes: &[u8]) -> Option<HttpAnswer> {
    let end = bytes.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(bytes.get(..end)?).ok()?;
    let mut lines = head.split("\r\n");
    let status: u16 = lines
        .next()?
        .strip_prefix("HTTP/1.")?
        .split(' ')
        .nth(1)?
        .parse()
        .ok()?;
    let mut length = None;
    let mut chunked = false;
    for line in lines {
        let (name, value) = line.split_once(':')?;
        let (name, value) = (name.trim().to_ascii_lowercase(), value.trim());
        if name == "content-length" {
            length = value.parse::<usize>().ok();
        } else if name == "transfer-encoding" {
            chunked = value.eq_ignore_ascii_case("chunked");
        }
    }
    let raw = bytes.get(end + 4..)?;
    let body = if chunked {
        dechunk(raw)?
    } else {
        match length {
            Some(length) => raw.get(..length.min(raw.len()))?.to_vec(),
            None => raw.to_vec(),
        }
    };
    Some(HttpAnswer {
        status,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

fn dechunk(mut raw: &[u8]) -> Option<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let line_end = raw.windows(2).position(|w| w == b"\r\n")?;
        let size_text = std::str::from_utf8(raw.get(..line_end)?).ok()?;
        let size_text = size_text.split(';').next()?.trim();
        let size = usize::from_str_radix(size_text, 16).ok()?;
        raw = raw.get(line_end + 2..)?;
        if size == 0 {
            return Some(body);
        }
        body.extend_from_slice(raw.get(..size)?);
        raw = raw.get(size..)?.strip_prefix(b"\r\n")?;
    }
}

pub fn io_error(addr: &str, error: &std::io::Error) -> WireError {
    WireError::Io {
        addr: addr.to_string(),
        message: error.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::future::Future;
    use tokio::net::{TcpListener, TcpStream};
    use tokio::task::JoinHandle;

    /// A loopback listener's address, its first connection served by `serve` in a task.
    async fn serve_once<T, Fut>(
        serve: impl FnOnce(TcpStream) -> Fut + Send + 'static,
    ) -> (String, JoinHandle<T>)
    where
        T: Send + 'static,
        Fut: Future<Output = T> + Send,
    {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let server = tokio::spawn(async move {
            let (socket, _) = listener.accept().await.unwrap();
            serve(socket).await
        });
        (addr, server)
    }

    #[tokio::test]
    async fn reads_the_whole_answer_until_the_server_closes() {
        let (addr, server) = serve_once(|mut socket| async move {
            let mut word = [0u8; 4];
            socket.read_exact(&mut word).await.unwrap();
            assert_eq!(&word, b"srvr");
            socket.write_all(b"Mode: leader\n").await.unwrap();
        })
        .await;
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

    #[test]
    fn http_answers_are_split_into_status_and_body() {
        let plain = b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\nServer: Jetty\r\n\r\n{}\n\nrest";
        assert_eq!(
            parse_http(plain),
            Some(HttpAnswer {
                status: 200,
                body: "{}\n\n".into()
            })
        );
        let chunked = b"HTTP/1.1 500 Server Error\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n";
        assert_eq!(
            parse_http(chunked),
            Some(HttpAnswer {
                status: 500,
                body: "abcde".into()
            })
        );
        assert_eq!(parse_http(b"imok"), None);
        assert_eq!(
            parse_http(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"),
            None
        );
    }

    #[tokio::test]
    async fn http_get_sends_one_request_and_reads_the_answer() {
        let (addr, server) = serve_once(|mut socket| async move {
            let mut request = vec![0u8; 512];
            let n = socket.read(&mut request).await.unwrap();
            let request = String::from_utf8_lossy(&request[..n]).into_owned();
            socket
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")
                .await
                .unwrap();
            request
        })
        .await;
        let answer = http_get(&addr, "/commands/srvr", Duration::from_secs(5))
            .await
            .unwrap();
        assert_eq!(answer.status, 200);
        assert_eq!(answer.body, "{}");
        let request = server.await.unwrap();
        assert!(
            request.starts_with("GET /commands/srvr HTTP/1.1\r\n"),
            "{request}"
        );
        assert!(request.contains("Connection: close"), "{request}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_silent_server_times_out() {
        let (addr, _held) = serve_once(|socket| async move {
            std::future::pending::<()>().await;
            drop(socket);
        })
        .await;
        let err = ask(&addr, "srv", Duration::from_millis(300))
            .await
            .unwrap_err();
        assert!(matches!(err, WireError::Timeout { millis: 300, .. }));
    }
}
