//! Hostile `--model` folders and adapters: a config with a zero, a huge or an inconsistent
//! size, weights that hold more or fewer layers than the config says, NaN weights, and
//! adapters with NaN, infinite or absurdly scaled values. Each is refused on load naming the
//! file (and the field), the CLI exits 2, and no memory is ever written from scores that are
//! not numbers.

// Test helpers panic on purpose: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

mod common;
use common::{s, tiny_model};

use std::path::Path;

use candle_core::{DType, Device, Tensor};
use taskmem::policy::adapter::{Adapter, AdapterMeta};
use taskmem::policy::builtin::Config;
use taskmem::policy::ingest::Memorizer;
use taskmem::policy::lang::Vocab;
use taskmem::policy::train::Trainable;
use taskmem::policy::{BuiltinPolicy, ClipInput, MemorizationPolicy, PolicyError, Written};

/// Sets `field` of `model`'s config.json to `value` (any JSON).
fn set_config(model: &Path, field: &str, value: serde_json::Value) {
    let path = model.join("config.json");
    let mut cfg: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    cfg[field] = value;
    std::fs::write(&path, serde_json::to_vec(&cfg).unwrap()).unwrap();
}

/// Replaces each named tensor of `model`'s weights with `fill` (same shape).
fn set_weights(model: &Path, fills: &[(&str, f32)]) {
    let path = model.join("model.safetensors");
    let mut saved = candle_core::safetensors::load(&path, &Device::Cpu).unwrap();
    for (name, fill) in fills {
        let shape = saved[*name].shape().clone();
        saved.insert(
            (*name).to_owned(),
            Tensor::full(*fill, shape, &Device::Cpu).unwrap(),
        );
    }
    candle_core::safetensors::save(&saved, &path).unwrap();
}

fn load_error(model: &Path) -> String {
    Trainable::load(model).err().unwrap().to_string()
}

/// `taskmem ingest` of the test stream into `project` with `model` (and an adapter).
fn ingest(project: &Path, model: &Path, adapter: Option<&Path>) -> std::process::Output {
    let video = common::world_video();
    let mut args = vec![
        "ingest",
        s(&video),
        "--project",
        s(project),
        "--model",
        s(model),
    ];
    if let Some(adapter) = adapter {
        args.extend(["--adapter", s(adapter)]);
    }
    common::taskmem(&args)
}

/// Every memory entry line the project holds, in any lane.
fn memory_lines(project: &Path) -> usize {
    std::fs::read_dir(project.join("memory")).map_or(0, |dir| {
        dir.flatten()
            .map(|e| std::fs::read_to_string(e.path()).unwrap_or_default())
            .map(|text| text.lines().filter(|l| !l.trim().is_empty()).count())
            .sum()
    })
}

#[test]
fn a_config_with_a_zero_a_huge_or_an_inconsistent_size_is_refused_naming_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&str, serde_json::Value); 12] = [
        ("n_heads", 0.into()),
        ("patch", 1_000_000_000u64.into()),
        ("patch", 0.into()),
        ("d_model", 1_000_000_000u64.into()),
        ("vocab_size", 1_000_000_000u64.into()),
        ("d_ff", 1_000_000_000u64.into()),
        ("frame_width", 1_000_000_000u64.into()),
        ("frames_per_clip", 1_000_000_000u64.into()),
        ("max_output_tokens", 1_000_000_000u64.into()),
        ("enc_layers", 1_000_000_000u64.into()),
        ("dec_layers", 1_000_000_000u64.into()),
        // 32 is not a multiple of 3 heads.
        ("n_heads", 3.into()),
    ];
    for (k, (field, value)) in cases.into_iter().enumerate() {
        let model = tiny_model(dir.path(), &format!("m{k}"));
        set_config(&model, field, value.clone());
        let err = load_error(&model);
        assert!(
            err.contains("config.json") && err.contains(field),
            "{field} = {value}: {err}"
        );
    }
    // Through the CLI: exit 2 (not a panic, an abort or a run at gigabytes), naming the file
    // and the field, and no project memory written.
    for (field, value) in [
        ("n_heads", 0u64),
        ("patch", 1_000_000_000),
        ("d_model", 1_000_000_000),
    ] {
        let model = tiny_model(dir.path(), &format!("cli-{field}"));
        set_config(&model, field, value.into());
        let project = dir.path().join(format!("p-{field}"));
        let out = ingest(&project, &model, None);
        let stderr = common::stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{field}: {stderr}");
        assert!(
            stderr.contains("config.json") && stderr.contains(field),
            "{stderr}"
        );
        assert!(!stderr.contains("panicked"), "{stderr}");
        assert_eq!(memory_lines(&project), 0);
    }
}

#[test]
fn weights_with_more_or_fewer_layers_than_the_config_are_refused_naming_the_tensor() {
    let dir = tempfile::tempdir().unwrap();
    // The weights hold one decoder layer; the config says none: the layer would go unused.
    let fewer = tiny_model(dir.path(), "fewer");
    set_config(&fewer, "dec_layers", 0.into());
    let err = load_error(&fewer);
    assert!(
        err.contains("model.safetensors")
            && err.contains("decoder.0.")
            && err.contains("dec_layers"),
        "{err}"
    );
    // The config says two encoder layers; the weights hold one.
    let more = tiny_model(dir.path(), "more");
    set_config(&more, "enc_layers", 2.into());
    let err = load_error(&more);
    assert!(
        err.contains("model.safetensors")
            && err.contains("encoder.1.")
            && err.contains("missing")
            && err.contains("enc_layers"),
        "{err}"
    );
    // Another width: the shapes do not fit.
    let wide = tiny_model(dir.path(), "wide");
    set_config(&wide, "d_model", 64.into());
    let err = load_error(&wide);
    assert!(
        err.contains("model.safetensors") && err.contains("has shape"),
        "{err}"
    );
    // An extra tensor nobody reads.
    let extra = tiny_model(dir.path(), "extra");
    let path = extra.join("model.safetensors");
    let mut saved = candle_core::safetensors::load(&path, &Device::Cpu).unwrap();
    saved.insert(
        "encoder.7.ln1.weight".to_owned(),
        Tensor::ones(32, DType::F32, &Device::Cpu).unwrap(),
    );
    candle_core::safetensors::save(&saved, &path).unwrap();
    let err = load_error(&extra);
    assert!(err.contains("encoder.7.ln1.weight"), "{err}");
    // The untouched model still loads.
    Trainable::load(&tiny_model(dir.path(), "fine")).unwrap();
    // A header that claims more bytes than the file has.
    let lying = tiny_model(dir.path(), "lying");
    let path = lying.join("model.safetensors");
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[..8].copy_from_slice(&u64::MAX.to_le_bytes());
    std::fs::write(&path, bytes).unwrap();
    let err = load_error(&lying);
    assert!(err.contains("model.safetensors"), "{err}");
}

#[test]
fn nan_weights_are_refused_on_load_and_ingest_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let model = tiny_model(dir.path(), "nan");
    set_weights(&model, &[("lm_head.weight", f32::NAN)]);
    let err = load_error(&model);
    assert!(
        err.contains("model.safetensors") && err.contains("lm_head.weight") && err.contains("NaN"),
        "{err}"
    );
    let project = dir.path().join("p");
    let out = ingest(&project, &model, None);
    assert_eq!(out.status.code(), Some(2), "{}", common::stderr(&out));
    assert!(common::stderr(&out).contains("model.safetensors"));
    assert_eq!(memory_lines(&project), 0, "no '%%%%' memory");
}

/// An adapter named `name` of `values` saved at `path`.
fn save_adapter(path: &Path, name: &str, meta: AdapterMeta, values: Vec<f32>) {
    Adapter::from_values(name, meta, values)
        .unwrap()
        .save(path)
        .unwrap();
}

fn meta(scale: f64) -> AdapterMeta {
    AdapterMeta {
        layer: 0,
        scale,
        task_type: None,
        task_ids: Vec::new(),
        metrics: serde_json::Value::Null,
    }
}

#[test]
fn adapters_with_nan_infinite_or_absurdly_scaled_values_are_refused_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let model = tiny_model(dir.path(), "model");
    let width = Config::tiny(Vocab::world().len()).d_model;
    let cases: [(&str, f64, f32, &str); 4] = [
        ("nan", 1.0, f32::NAN, "nan.safetensors"),
        ("inf", 1.0, f32::INFINITY, "inf.safetensors"),
        ("huge", 1e308, 1.0, "huge.json"),
        ("large", 100.0, 1e30, "large.safetensors"),
    ];
    for (name, scale, value, named) in cases {
        let path = dir.path().join(format!("{name}.safetensors"));
        save_adapter(&path, name, meta(scale), vec![value; width]);
        let err = Adapter::load(&path).err().unwrap().to_string();
        assert!(err.contains(named), "{name}: {err}");
        let project = dir.path().join(format!("p-{name}"));
        let out = ingest(&project, &model, Some(&path));
        assert_eq!(
            out.status.code(),
            Some(2),
            "{name}: {}",
            common::stderr(&out)
        );
        assert!(
            common::stderr(&out).contains(named),
            "{}",
            common::stderr(&out)
        );
        assert_eq!(memory_lines(&project), 0, "{name}: no '%%%%' memory");
    }
    // A sane adapter still loads.
    let path = dir.path().join("fine.safetensors");
    save_adapter(&path, "fine", meta(1.5), vec![0.5; width]);
    Adapter::load(&path).unwrap();
}

fn empty_clip(adapter: Option<&Adapter>) -> ClipInput<'_> {
    ClipInput {
        frames: &[],
        start_ms: 0,
        end_ms: 10_000,
        previous: None,
        adapter,
    }
}

/// A policy whose scores are NaN.
struct Noise;
impl MemorizationPolicy for Noise {
    fn name(&self) -> String {
        "noise".to_owned()
    }
    fn frames_per_clip(&self) -> usize {
        1
    }
    fn memorize(&mut self, _: &ClipInput<'_>) -> Result<Written, PolicyError> {
        Ok(Written {
            text: "%%%%".to_owned(),
            raw: "% % % %".to_owned(),
            token_logprobs: vec![f32::NAN; 4],
        })
    }
}

#[test]
fn memory_is_never_written_from_scores_that_are_not_numbers() {
    let dir = tempfile::tempdir().unwrap();
    // Finite weights whose logits overflow: every token's score is infinite.
    let model = tiny_model(dir.path(), "overflow");
    set_weights(
        &model,
        &[
            ("dec_norm.weight", 0.0),
            ("dec_norm.bias", 1.0),
            ("lm_head.weight", 3.0e38),
        ],
    );
    let mut policy = BuiltinPolicy::load(Some(&model)).unwrap();
    let err = policy.memorize(&empty_clip(None)).err().unwrap();
    assert!(matches!(err, PolicyError::NonFinite(_)), "{err}");

    // An adapter made in memory (never loaded from a file) with an absurd scale.
    let mut policy = BuiltinPolicy::load(Some(&tiny_model(dir.path(), "plain"))).unwrap();
    let width = policy.model().config().d_model;
    let absurd = Adapter::from_values("absurd", meta(1e308), vec![1.0; width]).unwrap();
    let err = policy.memorize(&empty_clip(Some(&absurd))).err().unwrap();
    assert!(matches!(err, PolicyError::NonFinite(_)), "{err}");

    // Whatever the policy, the memorizer makes no entry from such scores.
    let mut memorizer = Memorizer::new(Box::new(Noise), "s", "lane");
    let err = memorizer.memorize(&[], 0, 10_000).err().unwrap();
    assert!(err.to_string().contains("not numbers"), "{err}");
}

/// An adapter tuned on one task, `secret-task`, saved at `path`.
fn tuned_adapter(path: &Path) {
    let width = Config::tiny(Vocab::world().len()).d_model;
    let mut tuned = meta(1.5);
    tuned.task_ids = vec!["secret-task".to_owned()];
    save_adapter(path, "x", tuned, vec![0.1; width]);
}

fn entry(lane: &str, adapter: &str) -> taskmem::memory::MemoryEntry {
    taskmem::memory::MemoryEntry {
        budget_tokens: None,
        id: 0,
        stream: "world-tempo-test-00".to_owned(),
        lane: lane.to_owned(),
        start_ms: 0,
        end_ms: 10_000,
        text: "a person walks in".to_owned(),
        available_ms: 10_000,
        policy: Some("builtin".to_owned()),
        adapter: Some(adapter.to_owned()),
        raw_response: None,
        score: None,
        highlights: Vec::new(),
    }
}

#[test]
fn adapter_paths_from_project_files_never_lead_eval_outside_the_project() {
    let tmp = tempfile::tempdir().unwrap();
    let project_dir = tmp.path().join("p");
    common::import_world(&project_dir);
    // An adapter outside the project, whose sidecar eval must not read.
    std::fs::create_dir_all(tmp.path().join("outside")).unwrap();
    let outside = tmp.path().join("outside/x.safetensors");
    tuned_adapter(&outside);
    // One inside, under adapters/, which it reads.
    let adapters = project_dir.join("adapters");
    std::fs::create_dir_all(&adapters).unwrap();
    tuned_adapter(&adapters.join("good.safetensors"));
    // A link inside that leads out.
    std::os::unix::fs::symlink(&outside, adapters.join("linked.safetensors")).unwrap();
    std::os::unix::fs::symlink(
        tmp.path().join("outside/x.json"),
        adapters.join("linked.json"),
    )
    .unwrap();

    let mut project = taskmem::project::Project::open(&project_dir).unwrap();
    project
        .append(&[
            entry("escape", "../../outside/x"),
            entry("absolute", outside.with_extension("").to_str().unwrap()),
            entry("linked", "linked"),
            entry("good", "good"),
        ])
        .unwrap();
    project.manifest.lanes.push(taskmem::memory::Lane {
        hidden: false,
        id: "recorded".to_owned(),
        title: "recorded".to_owned(),
        general: false,
        task_hint: None,
        adapter: Some(outside.display().to_string()),
    });
    project.save_manifest().unwrap();
    project.append(&[entry("recorded", "x")]).unwrap();

    let project = taskmem::project::Project::open(&project_dir).unwrap();
    let run =
        taskmem::eval::replay::run_project(&project, None, &taskmem::eval::answer::BuiltinAnswerer)
            .unwrap();
    let lane = |id: &str| run.summary.lanes.iter().find(|l| l.lane == id).unwrap();
    for (id, said) in [
        ("escape", "an entry's adapter '../../outside/x'"),
        ("absolute", "an entry's adapter '/"),
        ("linked", "outside the project"),
        ("recorded", "project.json: lane 'recorded'"),
    ] {
        let l = lane(id);
        assert_eq!(l.tasks_seen, None, "{id}: the outside sidecar was read");
        let why = l.unverified_adapter.clone().unwrap_or_default();
        assert!(
            why.contains("refused") && why.contains(said) && why.contains(&format!("'{id}'")),
            "{id}: {why}"
        );
    }
    // The project's adapters as the Phase Two window lists them: the link out is refused.
    let listed = taskmem::policy::adapter::adapters_in(&adapters);
    assert_eq!(listed.len(), 2);
    let refused = listed.iter().find_map(|r| r.as_ref().err()).unwrap();
    assert!(
        refused.to_string().contains("linked.safetensors")
            && refused.to_string().contains("outside its folder"),
        "{refused}"
    );
    assert!(
        listed
            .iter()
            .any(|r| r.as_ref().is_ok_and(|a| a.name == "good"))
    );
    let good = lane("good");
    assert_eq!(good.tasks_seen, Some(1), "{:?}", good.unverified_adapter);
    assert!(good.unverified_adapter.is_none());

    // Through the CLI: the run goes on, and says why each lane's adapter was not read.
    let out = tmp.path().join("results");
    let run = common::taskmem(&["eval", "--project", s(&project_dir), "--out", s(&out)]);
    assert!(run.status.success(), "{}", common::stderr(&run));
    let said = format!("{}{}", common::stdout(&run), common::stderr(&run));
    assert!(said.contains("refused"), "{said}");
}
