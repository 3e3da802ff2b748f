//! One HTTP/1.1 request over any stream (plain TCP or TLS), for the
//! operator's endpoints.

use std::net::SocketAddr;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

/// The status code and body of `GET path`.
pub async fn get_over(
    mut stream: impl AsyncRead + AsyncWrite + Unpin,
    path: &str,
) -> (u16, String) {
    let request = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    tokio::time::timeout(super::LINE_TIMEOUT, stream.read_to_end(&mut response))
        .await
        .expect("a whole response within the timeout")
        .unwrap();
    let response = String::from_utf8(response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").expect("headers end");
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("a status line: {head}"));
    (status, body.to_owned())
}

/// `GET path` over plain TCP.
pub async fn get(addr: SocketAddr, path: &str) -> (u16, String) {
    get_over(TcpStream::connect(addr).await.unwrap(), path).await
}

/// The value of one sample (`name{labels}`) in a Prometheus text page, 0 when absent.
pub fn sample(page: &str, series: &str) -> f64 {
    page.lines()
        .find_map(|line| {
            let (name, value) = line.rsplit_once(' ')?;
            (name == series).then(|| value.parse().unwrap())
        })
        .unwrap_or(0.0)
}
