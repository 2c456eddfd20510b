//! A local OpenAI-compatible server for benches (127.0.0.1 only): every request is answered
//! with the same chat completion after a fixed delay, on its own thread, and the number of
//! requests being answered at each moment is counted.

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
                        .name("mock-request".to_owned())
                        .spawn(move || {
                            gauge.fetch_add(1, Ordering::SeqCst);
                            let _ = answer(stream, &body, delay);
                            gauge.fetch_sub(1, Ordering::SeqCst);
                            count.fetch_add(1, Ordering::SeqCst);
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

fn answer(stream: std::net::TcpStream, body: &str, delay: Duration) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
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
    let mut stream = stream;
    write!(
        stream,
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}
