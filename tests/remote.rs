//! The OpenAI-compatible backend against a local scripted server (127.0.0.1 only): the remote
//! policy's requests and format-failure path, retries on 429/5xx, a dead endpoint as one
//! error, the remote answerer's letters, and the key never written anywhere.

// Test helpers panic on purpose: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

/// One request the server saw.
#[derive(Clone, Debug)]
struct Seen {
    authorization: Option<String>,
    body: Value,
}

/// A scripted OpenAI-compatible server: `reply(n, body)` gives request n's status and text.
struct Server {
    url: String,
    seen: Arc<Mutex<Vec<Seen>>>,
    max_in_flight: Arc<(AtomicUsize, AtomicUsize)>,
}

fn completion(text: &str) -> String {
    json!({
        "choices": [{"message": {"role": "assistant", "content": text}}],
        "usage": {"prompt_tokens": 100, "completion_tokens": 20}
    })
    .to_string()
}

fn serve(reply: impl Fn(usize, &Value) -> (u16, String) + Send + Sync + 'static) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/v1", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    let reply = Arc::new(reply);
    // (requests being answered now, the most at once)
    let in_flight = Arc::new((AtomicUsize::new(0), AtomicUsize::new(0)));
    let max = Arc::clone(&in_flight);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let (log, reply, in_flight) =
                (Arc::clone(&log), Arc::clone(&reply), Arc::clone(&in_flight));
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut length = 0;
                let mut authorization = None;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                    let lower = line.to_lowercase();
                    if let Some(v) = lower.strip_prefix("content-length:") {
                        length = v.trim().parse().unwrap_or(0);
                    }
                    if lower.starts_with("authorization:") {
                        authorization = Some(line["authorization:".len()..].trim().to_owned());
                    }
                }
                let mut body = vec![0; length];
                reader.read_exact(&mut body).unwrap();
                let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                let n = {
                    let mut seen = log.lock().unwrap();
                    seen.push(Seen {
                        authorization,
                        body: body.clone(),
                    });
                    seen.len() - 1
                };
                let now = in_flight.0.fetch_add(1, Ordering::SeqCst) + 1;
                in_flight.1.fetch_max(now, Ordering::SeqCst);
                let (status, text) = reply(n, &body);
                in_flight.0.fetch_sub(1, Ordering::SeqCst);
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
                    text.len()
                );
            });
        }
    });
    Server {
        url,
        seen,
        max_in_flight: max,
    }
}

fn stream_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("datasets/world-tempo/test/world-tempo-test-00")
}

#[test]
fn remote_ingest_sends_frames_and_context_retries_and_keeps_the_key_out_of_every_file() {
    let server = serve(|n, _| match n {
        // A malformed reply is asked once more; a 503 and a 429 are retried.
        1 => (200, completion("I cannot describe this.")),
        4 => (503, "{\"error\": \"busy\"}".to_owned()),
        6 => (429, "{\"error\": \"slow down\"}".to_owned()),
        _ => (
            200,
            completion(&format!(
                "<think>look</think>{{\"description\": \"In the kitchen, clip {n} happens.\"}}"
            )),
        ),
    });
    let tmp = tempfile::tempdir().unwrap();
    let project = tmp.path().join("p");
    let run = std::process::Command::new(env!("CARGO_BIN_EXE_taskmem"))
        .args([
            "ingest",
            stream_dir().join("video.mp4").to_str().unwrap(),
            "--project",
            project.to_str().unwrap(),
            "--policy",
            "remote",
            "--model",
            "qwen3-vl-general",
            "--base-url",
            &server.url,
            "--api-key-env",
            "TASKMEM_TEST_KEY",
            "--fps",
            "0.5",
        ])
        .env("TASKMEM_TEST_KEY", "sk-secret-123")
        .env_remove("OPENAI_BASE_URL")
        .output()
        .unwrap();
    assert!(run.status.success(), "{}", common::stderr(&run));
    let printed = format!("{}{}", common::stdout(&run), common::stderr(&run));
    assert!(
        printed.contains("into lane 'qwen3-vl-general'"),
        "{printed}"
    );

    let seen = server.seen.lock().unwrap().clone();
    // Every clip, one format retry, one 503 retry, one 429 retry.
    assert_eq!(seen.len(), common::world_clips() + 3);
    for s in &seen {
        assert_eq!(s.authorization.as_deref(), Some("Bearer sk-secret-123"));
        assert_eq!(s.body["model"], "qwen3-vl-general");
        let content = s.body["messages"][0]["content"].as_array().unwrap();
        let images = content.iter().filter(|p| p["type"] == "image_url").count();
        assert_eq!(images, 5, "0.5 frames per second of a 10 s clip");
        let url = content[1]["image_url"]["url"].as_str().unwrap();
        assert!(url.starts_with("data:image/jpeg;base64,"));
    }
    let text_of = |i: usize| {
        seen[i].body["messages"][0]["content"][0]["text"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert!(!text_of(0).contains("preceding clip"));
    assert!(
        text_of(2).contains("\"In the kitchen, clip 0 happens.\""),
        "{}",
        text_of(2)
    );

    // The memory: one entry per clip, the retried clip's description from the second reply.
    let lane = std::fs::read_dir(project.join("memory"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().contains("qwen3"))
        .unwrap();
    let entries: Vec<taskmem::memory::MemoryEntry> = std::fs::read_to_string(&lane)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l.split_once(' ').unwrap().1).unwrap())
        .collect();
    assert_eq!(entries.len(), common::world_clips());
    assert_eq!(entries[1].text, "In the kitchen, clip 2 happens.");
    assert!(
        entries[1]
            .raw_response
            .as_deref()
            .unwrap()
            .starts_with("<think>")
    );
    assert_eq!(
        entries[0].policy.as_deref(),
        Some("remote:qwen3-vl-general")
    );

    // The key is nowhere on disk or in the output.
    assert!(!printed.contains("sk-secret-123"));
    for e in walk(&project) {
        let bytes = std::fs::read(&e).unwrap();
        assert!(
            !String::from_utf8_lossy(&bytes).contains("sk-secret-123"),
            "{}",
            e.display()
        );
    }
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[test]
fn a_dead_endpoint_is_one_clear_error_not_one_per_clip() {
    // A port that was free a moment ago: nothing listens there.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let tmp = tempfile::tempdir().unwrap();
    let run = std::process::Command::new(env!("CARGO_BIN_EXE_taskmem"))
        .args([
            "ingest",
            stream_dir().join("video.mp4").to_str().unwrap(),
            "--project",
            tmp.path().join("p").to_str().unwrap(),
            "--policy",
            "remote",
            "--model",
            "m",
            "--base-url",
            &format!("http://127.0.0.1:{port}/v1"),
            "--retries",
            "1",
        ])
        .output()
        .unwrap();
    assert!(!run.status.success());
    let err = common::stderr(&run);
    assert_eq!(err.matches("cannot reach the endpoint").count(), 1, "{err}");
    assert!(err.contains(&format!("127.0.0.1:{port}")), "{err}");
}

#[test]
fn the_remote_answerer_reads_letters_by_lmms_evals_rule_and_retries_unparsable_replies() {
    use taskmem::eval::answer::{Answerer, Question};
    use taskmem::remote::RemoteSettings;
    use taskmem::remote::answerer::RemoteAnswerer;
    use taskmem::remote::client::ChatClient;
    let server = serve(|n, _| {
        let text = match n {
            0 => "The best answer is C.",
            1 | 2 => "I would rather not say anything about it at all, honestly.",
            3 => "E",
            _ => "A red hat.",
        };
        (200, completion(text))
    });
    let mut settings = RemoteSettings::from_env("judge");
    settings.base_url.clone_from(&server.url);
    settings.api_key_env = "TASKMEM_TEST_NO_KEY".to_owned();
    settings.backoff_ms = 10;
    let answerer = RemoteAnswerer {
        client: ChatClient::new(settings),
    };
    let entry = taskmem::memory::MemoryEntry {
        budget_tokens: None,
        id: 1,
        stream: "s".into(),
        lane: "l".into(),
        start_ms: 10_000,
        end_ms: 20_000,
        text: "There are 3 apples on the kitchen table.".into(),
        available_ms: 20_000,
        policy: None,
        adapter: None,
        raw_response: None,
        score: None,
        highlights: Vec::new(),
    };
    let q = Question {
        id: "q".into(),
        text: "How many apples were on the kitchen table at 00:00:20?".into(),
        options: vec!["2".into(), "8".into(), "3".into(), "1".into()],
        ask_ms: 30_000,
    };
    let first = answerer.answer(&q, &[&entry]).unwrap();
    assert_eq!((first.answer.as_str(), first.abstained), ("C", false));
    // Unparsable twice: asked once more, then an answer that counts wrong (not E).
    let second = answerer.answer(&q, &[&entry]).unwrap();
    assert_eq!((second.answer.as_str(), second.abstained), ("", false));
    assert!(second.raw.unwrap().contains("rather not"));
    let third = answerer.answer(&q, &[&entry]).unwrap();
    assert_eq!((third.answer.as_str(), third.abstained), ("E", true));
    let open = Question {
        options: Vec::new(),
        ..q.clone()
    };
    assert_eq!(
        answerer.answer(&open, &[&entry]).unwrap().answer,
        "A red hat."
    );

    let seen = server.seen.lock().unwrap().clone();
    let prompt = seen[0].body["messages"][0]["content"].as_str().unwrap();
    assert!(prompt.contains("00:00:10-00:00:20\nThere are 3 apples on the kitchen table."));
    assert!(prompt.contains("C. 3\n") && prompt.contains("E. Insufficient information"));
    assert!(
        seen[0].authorization.is_none(),
        "no key variable, no header"
    );
    let (requests, failures, prompt_tokens, completion_tokens) =
        answerer.client.counters.snapshot();
    assert_eq!((requests, failures), (5, 0));
    assert_eq!((prompt_tokens, completion_tokens), (500, 100));
}

#[test]
fn the_remote_judge_is_asked_in_both_orders_and_a_position_bias_drops_the_pair() {
    use taskmem::eval::answer::Question;
    use taskmem::remote::RemoteSettings;
    use taskmem::remote::client::ChatClient;
    use taskmem::remote::judge::RemoteJudge;
    use taskmem::train::reward::{PairOutcome, judge_both_orders};
    // Always prefers the note it reads first: a position bias.
    let server = serve(|n, _| {
        let text = match n {
            4 => "not json",
            5 => "{\"correct\": true, \"score\": 4}",
            _ => "<think>hm</think>{\"better\": 1, \"score_1\": 7, \"score_2\": 3}",
        };
        (200, completion(text))
    });
    let mut settings = RemoteSettings::from_env("judge");
    settings.base_url.clone_from(&server.url);
    let judge = RemoteJudge {
        client: ChatClient::new(settings),
        concurrency: 1,
    };
    let tasks = vec![Question {
        id: "q".into(),
        text: "How many apples were on the kitchen table at 00:00:20?".into(),
        options: Vec::new(),
        ask_ms: 0,
    }];
    let outcome = judge_both_orders(&judge, "There are 3 apples.", "I walk.", &tasks)
        .unwrap()
        .outcome();
    assert_eq!(outcome, PairOutcome::Flipped);
    let seen = server.seen.lock().unwrap().clone();
    let first = seen[0].body["messages"][0]["content"]
        .as_str()
        .unwrap()
        .to_owned();
    let second = seen[1].body["messages"][0]["content"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(first.contains("Note 1: There are 3 apples.") && second.contains("Note 1: I walk."));
    assert!(first.contains("- How many apples"));
    drop(seen);
    // Open answers: a reply that is not JSON is asked once more.
    let outcome = judge_both_orders(&judge, "a", "b", &tasks)
        .unwrap()
        .outcome();
    assert_eq!(outcome, PairOutcome::Flipped);
    assert_eq!(
        judge
            .judge_open_answer("What did I pick up?", "The red cup.", "A red cup")
            .unwrap(),
        (true, 4)
    );
}

#[test]
fn a_batch_keeps_the_configured_number_of_requests_in_flight_and_counts_their_cost() {
    let server = serve(|_, _| {
        std::thread::sleep(std::time::Duration::from_millis(100));
        (200, completion("{\"description\": \"I walk.\"}"))
    });
    let tmp = tempfile::tempdir().unwrap();
    let dirs = [
        "world-tempo-test-00",
        "world-tempo-test-01",
        "world-tempo-test-02",
    ];
    let mut args: Vec<String> = vec!["ingest".into()];
    for d in dirs {
        args.push(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("datasets/world-tempo/test")
                .join(d)
                .join("video.mp4")
                .display()
                .to_string(),
        );
    }
    for a in [
        "--project",
        tmp.path().join("p").to_str().unwrap(),
        "--policy",
        "remote",
        "--model",
        "m",
        "--base-url",
        &server.url,
        "--fps",
        "0.2",
        "--concurrency",
        "2",
        "--price-input",
        "2.5",
        "--price-output",
        "10",
    ] {
        args.push(a.to_owned());
    }
    let run = common::taskmem(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(run.status.success(), "{}", common::stderr(&run));
    assert!(
        common::stdout(&run).contains(&format!("{} clips of 3 streams", 3 * common::world_clips())),
        "{}",
        common::stdout(&run)
    );
    assert_eq!(server.seen.lock().unwrap().len(), 3 * common::world_clips());
    // Three streams are prepared at once, but never more than --concurrency on the wire.
    assert_eq!(server.max_in_flight.1.load(Ordering::SeqCst), 2);
    // 36 requests of 100 prompt and 20 completion tokens at $2.5 and $10 per million.
    assert!(
        common::stdout(&run).contains(&{
            // 100 prompt and 20 completion tokens a request, at the test's prices.
            let n = 3 * common::world_clips();
            format!(
                "remote m: {n} requests (0 failed or retried), {} prompt and {} completion tokens, ${:.4}",
                n * 100,
                n * 20,
                n as f64 * 0.000_45
            )
        }),
        "{}",
        common::stdout(&run)
    );
    let project = taskmem::project::Project::open(&tmp.path().join("p")).unwrap();
    for d in dirs {
        let lane = project.memory.lane(d, "m");
        assert_eq!(lane.len(), common::world_clips(), "{d}");
        // A stream's clips in order, each after the one before.
        assert!(lane.windows(2).all(|w| w[0].end_ms == w[1].start_ms));
    }
}

#[test]
fn a_cancel_stops_a_request_to_a_stalled_server_at_once_and_sends_nothing_more() {
    // A server that takes a minute to answer anything.
    let server = serve(|_, _| {
        std::thread::sleep(std::time::Duration::from_secs(60));
        (200, completion("late"))
    });
    let mut settings = taskmem::remote::RemoteSettings::from_env("m");
    settings.base_url.clone_from(&server.url);
    "TASKMEM_TEST_NO_SUCH_KEY".clone_into(&mut settings.api_key_env);
    let client = taskmem::remote::client::ChatClient::new(settings);
    let cancel = client.cancel_flag();
    let asked = std::time::Instant::now();
    let (result, waited) = std::thread::scope(|s| {
        let call = s.spawn(|| client.chat(&[json!({"role": "user", "content": "hi"})], 8));
        while server.seen.lock().unwrap().is_empty() {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        cancel.store(true, Ordering::Relaxed);
        let stopped = std::time::Instant::now();
        (call.join().unwrap(), stopped.elapsed())
    });
    assert!(
        matches!(result, Err(taskmem::remote::RemoteError::Cancelled)),
        "{result:?}"
    );
    // Well under the server's minute (and the client's two-minute timeout).
    assert!(waited.as_secs() < 5, "{waited:?}");
    assert!(asked.elapsed().as_secs() < 30);
    // Nothing more goes out once cancelled.
    assert!(matches!(
        client.chat(&[json!({"role": "user", "content": "again"})], 8),
        Err(taskmem::remote::RemoteError::Cancelled)
    ));
    assert_eq!(server.seen.lock().unwrap().len(), 1);
}

#[test]
fn a_cancel_during_the_backoff_after_a_503_stops_at_once() {
    let server = serve(|_, _| (503, "{\"error\": \"busy\"}".to_owned()));
    let mut settings = taskmem::remote::RemoteSettings::from_env("m");
    settings.base_url.clone_from(&server.url);
    settings.backoff_ms = 60_000;
    "TASKMEM_TEST_NO_SUCH_KEY".clone_into(&mut settings.api_key_env);
    let client = taskmem::remote::client::ChatClient::new(settings);
    let cancel = client.cancel_flag();
    let result = std::thread::scope(|s| {
        let call = s.spawn(|| client.chat(&[json!({"role": "user", "content": "hi"})], 8));
        while server.seen.lock().unwrap().is_empty() {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
        cancel.store(true, Ordering::Relaxed);
        call.join().unwrap()
    });
    assert!(
        matches!(result, Err(taskmem::remote::RemoteError::Cancelled)),
        "{result:?}"
    );
    assert_eq!(
        server.seen.lock().unwrap().len(),
        1,
        "no retry after the cancel"
    );
}

/// What a judge that prefers the note with more words says to the remote judge's prompt,
/// whichever note it reads first (so its verdicts never flip); equal lengths tie.
fn longer_note_verdict(body: &Value) -> String {
    let prompt = body["messages"][0]["content"].as_str().unwrap_or_default();
    let note = |label: &str| {
        prompt
            .lines()
            .find_map(|l| l.strip_prefix(label))
            .map_or(0, |n| n.split_whitespace().count())
    };
    let (first, second) = (note("Note 1: "), note("Note 2: "));
    let better = match first.cmp(&second) {
        std::cmp::Ordering::Greater => 1,
        std::cmp::Ordering::Less => 2,
        std::cmp::Ordering::Equal => 0,
    };
    json!({"better": better, "score_1": first, "score_2": second}).to_string()
}

/// `taskmem train phase2` on a few world-mme training clips, judged remotely.
fn phase2_judged_by(url: &str, out: &Path) -> std::process::Output {
    // A small world-mme suite (the shipped one generates hours of training video on demand).
    let suite = common::suites::mme_small();
    common::taskmem(&[
        "train",
        "phase2",
        "--suite",
        suite.to_str().unwrap(),
        "--type",
        "Action Recognition",
        "--max-clips",
        "8",
        "--samples",
        "6",
        "--steps",
        "5",
        "--judge",
        "remote",
        "--judge-model",
        "judge-llm",
        "--base-url",
        url,
        "--api-key-env",
        "TASKMEM_TEST_NO_SUCH_KEY",
        "--out",
        out.to_str().unwrap(),
    ])
}

#[test]
fn phase_two_can_be_judged_by_an_llm_endpoint_side_by_side_and_the_adapter_names_it() {
    let server = serve(|_, body| {
        // Slow enough that a clip's samples judged side by side overlap on the wire.
        std::thread::sleep(std::time::Duration::from_millis(30));
        (200, completion(&longer_note_verdict(body)))
    });
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("remote-judged.safetensors");
    let run = phase2_judged_by(&server.url, &out);
    assert!(run.status.success(), "{}", common::stderr(&run));
    let sidecar: Value =
        serde_json::from_str(&std::fs::read_to_string(out.with_extension("json")).unwrap())
            .unwrap();
    let metrics = &sidecar["metrics"];
    assert_eq!(metrics["judge"], "remote:judge-llm");
    let judged = metrics["judged"].as_u64().unwrap();
    assert!(metrics["pairs"].as_u64().unwrap() >= 1, "{metrics}");
    assert_eq!(metrics["flips"], 0, "this judge has no position bias");
    // Every sample was asked about in both orders, with the sampled tasks of the type.
    let seen = server.seen.lock().unwrap().clone();
    assert_eq!(seen.len() as u64, 2 * judged);
    for s in &seen {
        let prompt = s.body["messages"][0]["content"].as_str().unwrap();
        assert!(
            prompt.contains("Note 1: ") && prompt.contains("- What did <face_"),
            "{prompt}"
        );
        assert!(s.authorization.is_none(), "no key variable, no header");
    }
    assert!(
        server.max_in_flight.1.load(Ordering::SeqCst) >= 2,
        "a clip's samples are judged side by side"
    );
    assert!(common::stdout(&run).contains("judged by remote:judge-llm"));
    assert!(
        common::stderr(&run).contains(&format!("judge: {} requests", 2 * judged)),
        "{}",
        common::stderr(&run)
    );
}

#[test]
fn a_phase_two_judge_whose_replies_do_not_parse_is_exit_2_naming_the_endpoint_and_writes_nothing() {
    let server = serve(|_, _| (200, completion("Note 1 reads better to me.")));
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("never.safetensors");
    let run = phase2_judged_by(&server.url, &out);
    assert_eq!(run.status.code(), Some(2));
    let err = common::stderr(&run);
    assert!(
        err.contains("judge remote:judge-llm")
            && err.contains(&server.url)
            && err.contains("Note 1 reads better to me."),
        "{err}"
    );
    assert!(!out.exists() && !out.with_extension("json").exists());
}
