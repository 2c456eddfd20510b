//! The real `taskmem` binary against a hostile local server (issue 30's floor): a server that
//! stalls, cuts its body off after the headers, sends garbage, streams a 50 MB body (with and
//! without a Content-Length), or echoes the key back (in a 401, a 500 and in completions).
//! Each of `ingest --policy remote`, `eval --answerer remote` and `train phase2 --judge remote`
//! ends on its own (a watchdog kills it only far past `--timeout` x attempts, and then the test
//! fails), peaks under 200 MB (the child's own peak resident set, from `wait4`), says which
//! failure it was, and the key appears in no output and no file it may have written.

// Test helpers panic on purpose: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

mod common;

use std::io::{BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::json;

/// The key the binary is given; it must come back nowhere.
const KEY: &str = "sk-hostile-server-9f8e7d6c5b4a-key";
const KEY_ENV: &str = "TASKMEM_HOSTILE_SERVER_KEY";

/// `--timeout` for every run, and `--retries`.
const TIMEOUT_S: u64 = 2;
const RETRIES: u64 = 1;

/// The floor: the child's peak resident set.
const RSS_FLOOR_BYTES: u64 = 200 << 20;

#[derive(Clone, Copy, Debug)]
enum Mode {
    /// Reads the request and never answers.
    Stall,
    /// 200 headers promising 1000 bytes, 6 of them, then the connection closed.
    Truncated,
    /// An HTML page with status 200.
    Garbage,
    /// 50 MB of body, written as long as the client reads.
    Huge { with_length: bool },
    /// A 401 whose body pastes the request's Authorization header and the key.
    EchoUnauthorized,
    /// A 500 echoing the key, then completions whose text echoes it.
    EchoCompletions,
}

impl Mode {
    /// What the failure says on stderr (for the runs that fail).
    fn says(self) -> Option<&'static str> {
        match self {
            Mode::Stall => Some("no reply within the 2 s timeout"),
            Mode::Truncated => Some("the reply was cut off after 6 bytes of 1000"),
            Mode::Garbage => Some("the reply is not JSON"),
            Mode::Huge { .. } => Some("larger than 4194304 bytes"),
            Mode::EchoUnauthorized => Some("Bearer [redacted]"),
            Mode::EchoCompletions => None,
        }
    }
}

struct Server {
    url: String,
    /// The Authorization header of each request read.
    authorizations: Arc<Mutex<Vec<String>>>,
}

/// A loopback server in `mode`, one thread per connection.
fn serve(mode: Mode) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/v1", listener.local_addr().unwrap());
    let authorizations = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&authorizations);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let seen = Arc::clone(&seen);
            std::thread::spawn(move || {
                // A kept-alive connection carries request after request.
                while let Some(authorization) = read_request(&stream) {
                    let n = {
                        let mut seen = seen.lock().unwrap();
                        seen.push(authorization.clone());
                        seen.len() - 1
                    };
                    if !act(mode, n, &authorization, &mut stream) {
                        return;
                    }
                }
            });
        }
    });
    Server {
        url,
        authorizations,
    }
}

/// The request's Authorization header, its body read and dropped; `None` at the end.
fn read_request(stream: &TcpStream) -> Option<String> {
    let mut reader = BufReader::new(stream.try_clone().ok()?);
    let (length, authorization) = common::read_request_head(&mut reader)?;
    std::io::copy(
        &mut reader.take(u64::try_from(length).ok()?),
        &mut std::io::sink(),
    )
    .ok()?;
    Some(authorization)
}

/// A whole reply; the connection stays open for the next request.
fn reply(stream: &mut TcpStream, status: u16, body: &str) -> bool {
    write!(
        stream,
        "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .is_ok()
}

fn completion(text: &str) -> String {
    json!({
        "choices": [{"message": {"role": "assistant", "content": text}}],
        "usage": {"prompt_tokens": 10, "completion_tokens": 2}
    })
    .to_string()
}

/// Answers request `n` as `mode` does; false when the connection is to close.
fn act(mode: Mode, n: usize, authorization: &str, stream: &mut TcpStream) -> bool {
    let echo = format!("you sent Authorization: {authorization} (the key {KEY})");
    match mode {
        Mode::Stall => {
            // Holds the connection until the client hangs up.
            let _ = stream.read_to_end(&mut Vec::new());
            false
        }
        Mode::Truncated => {
            let _ = stream.write_all(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"choi",
            );
            false
        }
        Mode::Garbage => reply(
            stream,
            200,
            &format!("<html>\n<h1>Bad Gateway</h1> {echo}</html>"),
        ),
        Mode::Huge { with_length } => {
            let total: usize = 50 << 20;
            let length = if with_length {
                format!("Content-Length: {total}\r\n")
            } else {
                "Connection: close\r\n".to_owned()
            };
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n{length}\r\n{{\"choices\": [{{\"message\": {{\"content\": \""
            );
            if stream.write_all(head.as_bytes()).is_err() {
                return false;
            }
            // The key inside the huge body too: whatever of it is read must not leak.
            let mut chunk = echo.repeat((64 << 10) / echo.len()).into_bytes();
            chunk.resize(64 << 10, b'a');
            let mut written = head.len();
            while written < total {
                if stream.write_all(&chunk).is_err() {
                    break;
                }
                written += chunk.len();
            }
            false
        }
        Mode::EchoUnauthorized => reply(stream, 401, &json!({ "error": echo }).to_string()),
        Mode::EchoCompletions => {
            if n == 0 {
                // Retried: the next attempt gets a completion.
                reply(stream, 500, &json!({ "error": echo }).to_string())
            } else {
                let text = json!({ "description": echo, "answer": echo }).to_string();
                reply(stream, 200, &completion(&text))
            }
        }
    }
}

/// How a watched child ended.
struct Finished {
    /// The exit code, `None` when a signal ended it.
    code: Option<i32>,
    /// Whether the watchdog had to kill it.
    hung: bool,
    /// The child's peak resident set.
    peak_rss_bytes: u64,
    stdout: String,
    stderr: String,
}

/// Waits for `pid` without blocking: `Some((status, peak_rss_bytes))` once it has ended.
// The one unsafe call of the test: `wait4` is the only way to read an exited child's own peak
// resident set (getrusage(RUSAGE_CHILDREN) would mix in every child the test runner reaped).
#[allow(unsafe_code)]
fn try_wait4(pid: libc::pid_t) -> Option<(libc::c_int, u64)> {
    let mut status: libc::c_int = 0;
    // SAFETY: `rusage` is plain old data that wait4 fills in; all zeroes is a valid value.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: both pointers are to live locals of the right types.
    let reaped = unsafe { libc::wait4(pid, &raw mut status, libc::WNOHANG, &raw mut usage) };
    assert!(reaped >= 0, "wait4: {}", std::io::Error::last_os_error());
    // ru_maxrss is in kilobytes on Linux.
    (reaped == pid).then(|| (status, u64::try_from(usage.ru_maxrss).unwrap_or(0) * 1024))
}

/// Runs `command` to its end, killing it at `limit` (then `hung` is set).
// The child is reaped by `wait4` (see `try_wait4`), which clippy does not see.
#[allow(clippy::zombie_processes)]
fn watched(mut command: Command, limit: Duration) -> Finished {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = libc::pid_t::try_from(child.id()).unwrap();
    let drain = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = pipe.read_to_end(&mut bytes);
            String::from_utf8_lossy(&bytes).into_owned()
        })
    };
    let stdout = drain(Box::new(child.stdout.take().unwrap()));
    let stderr = drain(Box::new(child.stderr.take().unwrap()));
    let deadline = Instant::now() + limit;
    let mut hung = false;
    let (status, peak_rss_bytes) = loop {
        if let Some(ended) = try_wait4(pid) {
            break ended;
        }
        if !hung && Instant::now() > deadline {
            // Not reaped yet, so the pid is still this child's.
            hung = true;
            let _ = child.kill();
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    Finished {
        code: libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status)),
        hung,
        peak_rss_bytes,
        stdout: stdout.join().unwrap(),
        stderr: stderr.join().unwrap(),
    }
}

/// Far past the longest a run may take: every clip's or question's attempts each waiting the
/// whole timeout, with backoff, on a slow debug build.
fn watchdog() -> Duration {
    Duration::from_secs(TIMEOUT_S * (RETRIES + 1) + 3 + 90)
}

fn remote_args(command: &mut Command, url: &str) {
    command
        .args(["--base-url", url, "--api-key-env", KEY_ENV])
        .args(["--timeout", &TIMEOUT_S.to_string()])
        .args(["--retries", &RETRIES.to_string()])
        .env(KEY_ENV, KEY)
        .env_remove("OPENAI_BASE_URL")
        .env("RUST_LOG", "warn");
}

fn ingest(url: &str, project: &Path) -> Command {
    let video = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("datasets/world-tempo/test/world-tempo-test-00/video.mp4");
    let mut command = Command::new(env!("CARGO_BIN_EXE_taskmem"));
    command
        .arg("ingest")
        .arg(video)
        .arg("--project")
        .arg(project)
        .args(["--policy", "remote", "--model", "m", "--fps", "0.5"]);
    remote_args(&mut command, url);
    command
}

/// `taskmem train phase2` on a few training clips, each pair judged by the server.
fn judge(url: &str, out: &Path) -> Command {
    // A small world-mme suite (the shipped one generates hours of training video on demand).
    let suite = common::suites::mme_small();
    let mut command = Command::new(env!("CARGO_BIN_EXE_taskmem"));
    command
        .args(["train", "phase2", "--suite"])
        .arg(suite)
        .args(["--type", "Action Recognition", "--max-clips", "8"])
        .args(["--samples", "6", "--steps", "5"])
        .args(["--judge", "remote", "--judge-model", "m", "--out"])
        .arg(out);
    remote_args(&mut command, url);
    command
}

fn eval(url: &str, project: &Path, out: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_taskmem"));
    command
        .arg("eval")
        .arg("--project")
        .arg(project)
        .args(["--answerer", "remote", "--answerer-model", "m"])
        .arg("--out")
        .arg(out);
    remote_args(&mut command, url);
    command
}

/// Every file under `dir`.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(items) = std::fs::read_dir(dir) else {
        return out;
    };
    for item in items {
        let path = item.unwrap().path();
        if path.is_dir() {
            out.extend(files(&path));
        } else {
            out.push(path);
        }
    }
    out
}

/// A project with tasks and memory to answer them from.
fn demo_project(dir: &Path) -> PathBuf {
    let project = dir.join("demo");
    let out = common::taskmem(&[
        "import",
        "demo",
        common::asset("taskmem_demo_memories.json")
            .to_str()
            .unwrap(),
        "--project",
        project.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", common::stderr(&out));
    project
}

/// Checks one finished run against the floor; `folders` are what it may have written.
/// `parses_echo`: whether the command reads an echoing completion as a valid reply (a judge
/// does not: it wants a verdict, and refuses the reply with exit 2).
fn check(what: &str, mode: Mode, run: &Finished, folders: &[&Path], parses_echo: bool) {
    let printed = format!("{}{}", run.stdout, run.stderr);
    assert!(
        !run.hung,
        "{what} {mode:?}: killed by the watchdog\n{printed}"
    );
    assert!(
        run.peak_rss_bytes < RSS_FLOOR_BYTES,
        "{what} {mode:?}: peak RSS {} MB",
        run.peak_rss_bytes >> 20
    );
    assert!(
        !printed.contains(KEY),
        "{what} {mode:?}: the key printed\n{printed}"
    );
    assert!(!printed.contains("panicked"), "{what} {mode:?}\n{printed}");
    match mode.says() {
        None if !parses_echo => assert_eq!(run.code, Some(2), "{what} {mode:?}: {printed}"),
        Some(says) => {
            assert!(
                run.code.is_some_and(|c| c != 0 && c != 101),
                "{what} {mode:?}: exit {:?}\n{printed}",
                run.code
            );
            if what == "eval" {
                // The endpoint the user named failed: bad input, exit 2.
                assert_eq!(run.code, Some(2), "{what} {mode:?}: {printed}");
            }
            assert!(run.stderr.contains(says), "{what} {mode:?}: {printed}");
        }
        None => assert_eq!(run.code, Some(0), "{what} {mode:?}: {printed}"),
    }
    for folder in folders {
        for path in files(folder) {
            let bytes = std::fs::read(&path).unwrap();
            assert!(
                !String::from_utf8_lossy(&bytes).contains(KEY),
                "{what} {mode:?}: the key in {}",
                path.display()
            );
        }
    }
    eprintln!(
        "{what} {mode:?}: exit {:?}, peak RSS {:.1} MB",
        run.code,
        run.peak_rss_bytes as f64 / f64::from(1 << 20)
    );
}

#[test]
fn the_binary_against_a_hostile_server_ends_stays_small_and_never_shows_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let demo = demo_project(dir.path());
    let modes = [
        Mode::Stall,
        Mode::Truncated,
        Mode::Garbage,
        Mode::Huge { with_length: false },
        Mode::Huge { with_length: true },
        Mode::EchoUnauthorized,
        Mode::EchoCompletions,
    ];
    for (k, mode) in modes.into_iter().enumerate() {
        let server = serve(mode);
        let project = dir.path().join(format!("ingest-{k}"));
        let run = watched(ingest(&server.url, &project), watchdog());
        check("ingest", mode, &run, &[&project], true);

        let results = dir.path().join(format!("eval-{k}"));
        let run = watched(eval(&server.url, &demo, &results), watchdog());
        check("eval", mode, &run, &[&demo, &results], true);

        // The judge of Phase Two, for the modes that fail differently (a stall, a huge body,
        // the key echoed in an error and in replies).
        if matches!(
            mode,
            Mode::Stall
                | Mode::Huge { with_length: false }
                | Mode::EchoUnauthorized
                | Mode::EchoCompletions
        ) {
            let adapter_dir = dir.path().join(format!("judge-{k}"));
            std::fs::create_dir_all(&adapter_dir).unwrap();
            let out = adapter_dir.join("adapter.safetensors");
            let run = watched(judge(&server.url, &out), watchdog());
            check("judge", mode, &run, &[&adapter_dir], false);
        }

        // The key did go out: otherwise the test would prove nothing.
        let sent = server.authorizations.lock().unwrap().clone();
        assert!(!sent.is_empty(), "{mode:?}");
        assert!(
            sent.iter().all(|a| *a == format!("Bearer {KEY}")),
            "{mode:?}: {sent:?}"
        );
    }
}
