//! The remote client against hostile loopback servers (127.0.0.1 only, each started by its
//! test): a stall, a body cut off after its headers, a body slower than the timeout, garbage, a
//! 50 MB body and a server echoing the key. Nothing hangs past the timeout, each failure says
//! which it was, cut-off and late bodies are retried like dropped connections, and the key
//! appears in no error, no stored reply, no output and no file of the project.

// Test helpers panic on purpose: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

mod common;

use std::io::{BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use taskmem::remote::client::ChatClient;
use taskmem::remote::{
    MAX_REPLY_BYTES, MAX_STORED_REPLY_BYTES, MAX_TEXT_BYTES, RemoteError, RemoteSettings,
};

/// The key every test sends; it must come back nowhere.
const KEY: &str = "sk-hostile-5e3cr3t-key";

/// One request as the server read it.
struct Request {
    authorization: String,
    body: Vec<u8>,
}

struct Hostile {
    url: String,
    /// Requests read so far.
    requests: Arc<AtomicUsize>,
    /// The Authorization header of each request.
    authorizations: Arc<Mutex<Vec<String>>>,
}

/// A server that reads each request (one per connection) and lets `act(n, request, stream)`
/// do what it likes with the connection, which is closed when `act` returns.
fn hostile(act: impl Fn(usize, &Request, &mut TcpStream) + Send + Sync + 'static) -> Hostile {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/v1", listener.local_addr().unwrap());
    let requests = Arc::new(AtomicUsize::new(0));
    let authorizations = Arc::new(Mutex::new(Vec::new()));
    let (count, seen) = (Arc::clone(&requests), Arc::clone(&authorizations));
    let act = Arc::new(act);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let (count, seen, act) = (Arc::clone(&count), Arc::clone(&seen), Arc::clone(&act));
            std::thread::spawn(move || {
                let Some(request) = read_request(&stream) else {
                    return;
                };
                seen.lock().unwrap().push(request.authorization.clone());
                let n = count.fetch_add(1, Ordering::SeqCst);
                act(n, &request, &mut stream);
            });
        }
    });
    Hostile {
        url,
        requests,
        authorizations,
    }
}

fn read_request(stream: &TcpStream) -> Option<Request> {
    let mut reader = BufReader::new(stream.try_clone().ok()?);
    let (length, authorization) = common::read_request_head(&mut reader)?;
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    Some(Request {
        authorization,
        body,
    })
}

/// A whole reply, the connection closing after it.
fn reply(stream: &mut TcpStream, status: u16, body: &str) {
    let _ = write!(
        stream,
        "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
}

fn completion(text: &str) -> String {
    json!({
        "choices": [{"message": {"role": "assistant", "content": text}}],
        "usage": {"prompt_tokens": 10, "completion_tokens": 2}
    })
    .to_string()
}

fn client(url: &str, timeout_s: u64, retries: u32) -> ChatClient {
    let mut settings = RemoteSettings::from_env("m");
    url.clone_into(&mut settings.base_url);
    settings.timeout_s = timeout_s;
    settings.retries = retries;
    settings.backoff_ms = 1;
    "TASKMEM_TEST_UNSET_KEY_VARIABLE".clone_into(&mut settings.api_key_env);
    ChatClient::new(settings).with_key(Some(KEY.to_owned()))
}

fn ask(client: &ChatClient) -> Result<String, RemoteError> {
    client.chat(&[json!({"role": "user", "content": "hi"})], 16)
}

/// The error, after checking that neither its message nor its debug form holds the key.
fn keyless(result: Result<String, RemoteError>) -> RemoteError {
    let error = result.unwrap_err();
    let (shown, debug) = (error.to_string(), format!("{error:?}"));
    assert!(!shown.contains(KEY) && !debug.contains(KEY), "{debug}");
    error
}

#[test]
fn a_stalled_server_fails_at_the_timeout_and_is_retried() {
    // Reads the request, then says nothing until the client hangs up.
    let server = hostile(|_, _, stream| {
        let _ = stream.read_to_end(&mut Vec::new());
    });
    let error = keyless(ask(&client(&server.url, 1, 1)));
    match &error {
        RemoteError::Unreachable { detail, .. } => {
            assert!(
                detail.contains("no reply within the 1 s timeout"),
                "{error}"
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(server.requests.load(Ordering::SeqCst), 2, "retried once");
}

/// 200 headers promising 1000 bytes, then 6 of them and the connection closed.
fn cut_off(stream: &mut TcpStream) {
    let _ = stream.write_all(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"choi",
    );
}

#[test]
fn a_reply_cut_off_after_its_headers_is_retried_and_says_how_much_came() {
    let server = hostile(|_, _, stream| cut_off(stream));
    let error = keyless(ask(&client(&server.url, 5, 2)));
    match &error {
        RemoteError::Incomplete { detail, .. } => assert_eq!(
            detail, "the reply was cut off after 6 bytes of 1000",
            "{error}"
        ),
        other => panic!("{other:?}"),
    }
    assert!(!error.to_string().contains("EOF while parsing"), "{error}");
    assert_eq!(server.requests.load(Ordering::SeqCst), 3, "retried twice");

    // Cut off once, then whole: the retry gets the reply.
    let server = hostile(|n, _, stream| {
        if n == 0 {
            cut_off(stream);
        } else {
            reply(stream, 200, &completion("fine"));
        }
    });
    assert_eq!(ask(&client(&server.url, 5, 2)).unwrap(), "fine");
    assert_eq!(server.requests.load(Ordering::SeqCst), 2);
}

#[test]
fn a_body_slower_than_the_timeout_is_retried_and_says_so() {
    // 200 headers, then one byte of the body every 100 ms (100 bytes would take 10 s).
    let server = hostile(|_, _, stream| {
        let _ = stream.write_all(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n",
        );
        for _ in 0..100 {
            if stream.write_all(b" ").is_err() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    });
    let error = keyless(ask(&client(&server.url, 1, 1)));
    match &error {
        RemoteError::Incomplete { detail, .. } => assert!(
            detail.starts_with("the body did not arrive within the timeout (1 s;"),
            "{error}"
        ),
        other => panic!("{other:?}"),
    }
    assert_eq!(server.requests.load(Ordering::SeqCst), 2, "retried once");
}

#[test]
fn garbage_is_not_json_shows_its_start_and_is_not_retried() {
    let server = hostile(|_, request, stream| {
        // An HTML error page, with the request's header pasted in for good measure.
        let page = format!(
            "<html>\n<h1>Bad Gateway</h1> Authorization: {} {KEY}</html>",
            request.authorization
        );
        reply(stream, 200, &page);
    });
    let error = keyless(ask(&client(&server.url, 5, 3)));
    match &error {
        RemoteError::Malformed { detail, .. } => assert!(
            detail.starts_with("the reply is not JSON: \"<html>\\n<h1>Bad Gateway</h1>"),
            "{error}"
        ),
        other => panic!("{other:?}"),
    }
    assert!(!error.to_string().contains("EOF while parsing"), "{error}");
    assert_eq!(server.requests.load(Ordering::SeqCst), 1);
}

/// A 50 MB reply body, with or without a Content-Length: written until the client stops
/// reading; sends how much was written when done.
fn fifty_mb(with_length: bool) -> (Hostile, std::sync::mpsc::Receiver<usize>) {
    let (tx, rx) = std::sync::mpsc::channel();
    let tx = Mutex::new(tx);
    let total = 50 << 20;
    let server = hostile(move |_, _, stream| {
        let length = if with_length {
            format!("Content-Length: {total}\r\n")
        } else {
            "Connection: close\r\n".to_owned()
        };
        let _ = write!(
            stream,
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n{length}\r\n{{\"choices\": [{{\"message\": {{\"content\": \""
        );
        let chunk = vec![b'a'; 64 << 10];
        let mut written = 0;
        while written < total {
            if stream.write_all(&chunk).is_err() {
                break;
            }
            written += chunk.len();
        }
        let _ = tx.lock().unwrap().send(written);
    });
    (server, rx)
}

#[test]
fn a_50_mb_body_fails_cleanly_without_being_read_whole_and_is_not_retried() {
    for with_length in [true, false] {
        let (server, written) = fifty_mb(with_length);
        let error = keyless(ask(&client(&server.url, 30, 3)));
        assert!(
            matches!(error, RemoteError::TooLarge { limit_bytes, .. } if limit_bytes == MAX_REPLY_BYTES),
            "{error:?}"
        );
        assert!(
            error.to_string().contains("larger than 4194304 bytes"),
            "{error}"
        );
        assert_eq!(server.requests.load(Ordering::SeqCst), 1);
        // The client hung up long before the end: the server could not write it all.
        let written = written.recv_timeout(Duration::from_secs(120)).unwrap();
        assert!(written < 50 << 20, "{with_length}: {written}");
    }
}

#[test]
fn a_server_echoing_the_key_gets_it_into_no_error_and_no_reply() {
    // 401 and 500 bodies and a completion that all paste the request's header and the key.
    let server = hostile(|n, request, stream| {
        let echo = format!(
            "you sent Authorization: {} (the key {KEY})",
            request.authorization
        );
        match n {
            0 => reply(stream, 401, &json!({"error": echo}).to_string()),
            1 | 2 => reply(stream, 500, &json!({"error": echo}).to_string()),
            _ => reply(
                stream,
                200,
                &completion(&format!("{{\"description\": \"{echo}\"}}")),
            ),
        }
    });
    let error = keyless(ask(&client(&server.url, 5, 0)));
    assert!(
        matches!(error, RemoteError::Status { status: 401, .. }),
        "{error:?}"
    );
    assert!(error.to_string().contains("Bearer [redacted]"), "{error}");
    let error = keyless(ask(&client(&server.url, 5, 1)));
    assert!(
        matches!(error, RemoteError::Status { status: 500, .. }),
        "{error:?}"
    );
    let content = ask(&client(&server.url, 5, 0)).unwrap();
    assert!(!content.contains(KEY), "{content}");
    assert!(content.contains("Bearer [redacted]"), "{content}");
    // The key did go out each time: the test would prove nothing otherwise.
    let sent = server.authorizations.lock().unwrap().clone();
    assert_eq!(sent.len(), 4);
    assert!(
        sent.iter().all(|a| *a == format!("Bearer {KEY}")),
        "{sent:?}"
    );
}

#[test]
fn the_remote_policy_and_answerer_store_huge_echoing_replies_capped_and_keyless() {
    use taskmem::eval::answer::{Answerer, Question};
    use taskmem::policy::{ClipInput, MemorizationPolicy};
    use taskmem::remote::answerer::RemoteAnswerer;
    use taskmem::remote::policy::RemotePolicy;
    // A 3 MB description (under the read cap) with the key at its end.
    let server = hostile(|_, _, stream| {
        let description = format!("{} Bearer {KEY}", "I walk. ".repeat(3 << 17));
        reply(
            stream,
            200,
            &completion(&json!({"description": description}).to_string()),
        );
    });
    let mut policy = RemotePolicy {
        client: client(&server.url, 30, 0),
        frames: 1,
        max_side: 64,
    };
    let written = policy
        .memorize(&ClipInput {
            frames: &[],
            start_ms: 0,
            end_ms: 10_000,
            previous: None,
            adapter: None,
        })
        .unwrap();
    assert!(
        written.text.len() <= MAX_TEXT_BYTES + 3,
        "{}",
        written.text.len()
    );
    assert!(written.text.starts_with("I walk. I walk."));
    assert!(
        written.raw.len() <= MAX_STORED_REPLY_BYTES + 64,
        "{}",
        written.raw.len()
    );
    assert!(
        written.raw.ends_with("bytes in all]"),
        "{}",
        &written.raw[written.raw.len() - 40..]
    );
    assert!(!written.text.contains(KEY) && !written.raw.contains(KEY));

    let answerer = RemoteAnswerer {
        client: client(&server.url, 30, 0),
    };
    let question = Question {
        id: "q".into(),
        text: "Where do I walk?".into(),
        options: Vec::new(),
        ask_ms: 10_000,
    };
    let answer = answerer.answer(&question, &[]).unwrap();
    assert!(answer.answer.len() <= MAX_TEXT_BYTES + 3);
    let raw = answer.raw.unwrap();
    assert!(raw.len() <= MAX_STORED_REPLY_BYTES + 64, "{}", raw.len());
    assert!(!raw.contains(KEY) && !answer.answer.contains(KEY));
}

fn ingest(url: &str, project: &Path) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_taskmem"))
        .args([
            "ingest",
            common::s(&common::world_video()),
            "--project",
            project.to_str().unwrap(),
            "--policy",
            "remote",
            "--model",
            "m",
            "--base-url",
            url,
            "--api-key-env",
            "TASKMEM_HOSTILE_TEST_KEY",
            "--fps",
            "0.5",
            "--retries",
            "1",
            "--timeout",
            "30",
        ])
        .env("TASKMEM_HOSTILE_TEST_KEY", KEY)
        .env_remove("OPENAI_BASE_URL")
        .output()
        .unwrap()
}

#[test]
fn ingest_against_an_echoing_server_caps_what_it_stores_and_sends_and_writes_the_key_nowhere() {
    // The first clip's description is 3 MB; every later one echoes the header and the key.
    let contexts = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&contexts);
    let server = hostile(move |n, request, stream| {
        let body: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
        let text = body["messages"][0]["content"][0]["text"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        seen.lock().unwrap().push(text);
        let description = if n == 0 {
            "I walk. ".repeat(3 << 17)
        } else {
            format!("Clip {n}: Authorization: {} {KEY}", request.authorization)
        };
        reply(
            stream,
            200,
            &completion(&json!({"description": description}).to_string()),
        );
    });
    let tmp = tempfile::tempdir().unwrap();
    let project = tmp.path().join("p");
    let run = ingest(&server.url, &project);
    let printed = format!("{}{}", common::stdout(&run), common::stderr(&run));
    assert!(run.status.success(), "{printed}");
    assert!(!printed.contains(KEY), "{printed}");
    // The second request's context is the first description, capped.
    let contexts = contexts.lock().unwrap().clone();
    assert_eq!(contexts.len(), common::world_clips());
    assert!(contexts[1].contains("I walk. I walk."));
    assert!(
        contexts[1].len() < MAX_TEXT_BYTES + 1024,
        "{}",
        contexts[1].len()
    );
    for path in common::files_under(&project) {
        let bytes = std::fs::read(&path).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        assert!(!text.contains(KEY), "{}", path.display());
        // 12 entries, each at most a capped text and a capped raw reply, with room for JSON.
        assert!(bytes.len() < 12 * (MAX_TEXT_BYTES + MAX_STORED_REPLY_BYTES) + (64 << 10));
    }
    let stored = common::files_under(&project)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect::<String>();
    assert!(
        stored.contains("Bearer [redacted]"),
        "the echo was stored, scrubbed"
    );
}

#[test]
fn ingest_against_a_server_echoing_the_key_in_a_401_prints_no_key() {
    let server = hostile(|_, request, stream| {
        let echo = format!("bad key: {} ({KEY})", request.authorization);
        reply(stream, 401, &json!({"error": echo}).to_string());
    });
    let tmp = tempfile::tempdir().unwrap();
    let project = tmp.path().join("p");
    let run = ingest(&server.url, &project);
    assert!(!run.status.success());
    let printed = format!("{}{}", common::stdout(&run), common::stderr(&run));
    assert!(printed.contains("HTTP 401"), "{printed}");
    assert!(printed.contains("Bearer [redacted]"), "{printed}");
    assert!(!printed.contains(KEY), "{printed}");
    if project.exists() {
        for path in common::files_under(&project) {
            let text = String::from_utf8_lossy(&std::fs::read(&path).unwrap()).into_owned();
            assert!(!text.contains(KEY), "{}", path.display());
        }
    }
}
