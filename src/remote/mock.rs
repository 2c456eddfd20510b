//! A local OpenAI-compatible server for benches (127.0.0.1 only): every request is answered
//! with the same chat completion after a fixed delay, each connection kept alive on its own
//! thread as vLLM keeps them, and the number of requests being answered at each moment is
//! counted.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// A running mock endpoint.
pub struct MockServer {
    /// Up to `/v1`.
    pub url: String,
    /// Requests being answered now.
    pub in_flight: Arc<AtomicUsize>,
    /// Requests answered so far.
    pub answered: Arc<AtomicUsize>,
}

impl MockServer {
    /// Serves `content` after `delay` on a loopback port (the thread lives with the process).
    ///
    /// # Errors
    /// When no loopback port can be bound.
    pub fn start(content: &str, delay: Duration) -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let url = format!("http://{}/v1", listener.local_addr()?);
        let body = serde_json::json!({
            "choices": [{"message": {"role": "assistant", "content": content}}],
            "usage": {"prompt_tokens": 1000, "completion_tokens": 30}
        })
        .to_string();
        let in_flight = Arc::new(AtomicUsize::new(0));
        let answered = Arc::new(AtomicUsize::new(0));
        let (gauge, count) = (Arc::clone(&in_flight), Arc::clone(&answered));
        std::thread::Builder::new()
            .name("mock-server".to_owned())
            .spawn(move || {
                for stream in listener.incoming().flatten() {
                    let (body, gauge, count) =
                        (body.clone(), Arc::clone(&gauge), Arc::clone(&count));
                    let _ = std::thread::Builder::new()
                        .name("mock-connection".to_owned())
                        .spawn(move || {
                            let _ = serve(stream, &body, delay, &gauge, &count);
                        });
                }
            })?;
        Ok(Self {
            url,
            in_flight,
            answered,
        })
    }
}

/// Answers the requests of one kept-alive connection until the client closes it. A request
/// counts as in flight from its first byte until its reply is written.
fn serve(
    stream: std::net::TcpStream,
    body: &str,
    delay: Duration,
    gauge: &AtomicUsize,
    count: &AtomicUsize,
) -> std::io::Result<()> {
    stream.set_nodelay(true)?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut stream = stream;
    // One write for the whole reply: written in pieces, Nagle's algorithm would hold the
    // later pieces for the client's delayed acknowledgement.
    let reply = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        gauge.fetch_add(1, Ordering::SeqCst);
        let outcome = answer(&mut reader, &mut stream, reply.as_bytes(), delay);
        gauge.fetch_sub(1, Ordering::SeqCst);
        outcome?;
        count.fetch_add(1, Ordering::SeqCst);
    }
}

/// Reads one request's headers and body (its first line already read), then replies after
/// `delay`.
fn answer(
    reader: &mut BufReader<std::net::TcpStream>,
    stream: &mut std::net::TcpStream,
    reply: &[u8],
    delay: Duration,
) -> std::io::Result<()> {
    let mut length = 0usize;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 || line == "\r\n" {
            break;
        }
        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            length = v.trim().parse().unwrap_or(0);
        }
    }
    let mut request = vec![0; length];
    reader.read_exact(&mut request)?;
    std::thread::sleep(delay);
    stream.write_all(reply)
}
