//! Pretraining the perception encoder on scenes made on the fly: every sample is a new random
//! world state ([`random_scene`]), drawn by the world's renderer and roughened like a decoded
//! H.264 frame, with the renderer's own labels as targets. Never a suite stream, never a
//! validation or test seed. Adam's moments travel in the checkpoint, and each step's scenes
//! come from the seed and the step alone, so a killed run resumes where it stopped and goes
//! on exactly as if it had never stopped.

use std::collections::HashMap;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::time::Instant;

use candle_core::{DType, Device, Tensor, Var};
use candle_nn::{VarBuilder, VarMap};
use serde::{Deserialize, Serialize};

use super::PerceptionError;
use super::labels::{Attribute, FrameLabels, random_scene};
use super::model::{Config, PerceptionModel, input_tensor, rgb_input};
use super::report::{PerceptionReport, evaluate};
use crate::world::render::{Canvas, Renderer};
use crate::world::rng::Rng;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    pub config: Config,
    pub batch: usize,
    pub learning_rate: f64,
    pub warmup_steps: usize,
    /// The schedule's length in steps; the run ends there or at `minutes`, whichever is first
    /// (the learning rate decays over whichever is nearer).
    pub steps: usize,
    pub minutes: Option<f64>,
    pub seed: u64,
    pub checkpoint_every_s: u64,
    /// Fresh held-out scenes the report is measured on.
    pub heldout_frames: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            config: Config::small(),
            batch: 32,
            learning_rate: 1e-3,
            warmup_steps: 200,
            steps: 8_000,
            minutes: None,
            seed: 1,
            checkpoint_every_s: 180,
            heldout_frames: 1_000,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    Step {
        step: usize,
        /// How far through the schedule, 0 to 1.
        progress: f64,
        loss: f32,
        frames_per_s: f64,
        gflop_per_s: f64,
    },
    Checkpoint {
        step: usize,
        path: PathBuf,
    },
    Evaluating,
}

/// A finished (or stopped) run.
#[derive(Clone, Debug)]
pub struct Outcome {
    pub steps: usize,
    pub resumed_from: Option<usize>,
    /// The loss at every step of this run (a resumed run's earlier steps are in `history`).
    pub losses: Vec<f32>,
    /// The mean loss per 50 steps since the run began, resumed parts included.
    pub history: Vec<(usize, f32)>,
    /// The held-out report; `None` when the run was stopped.
    pub report: Option<PerceptionReport>,
}

/// What `checkpoint.json` holds beside `checkpoint.safetensors`.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct CheckpointState {
    step: usize,
    elapsed_s: f64,
    settings: Settings,
    history: Vec<(usize, f32)>,
}

/// Adam without weight decay, whose moments can be saved and restored.
struct Adam {
    vars: Vec<(String, Var)>,
    m: Vec<Tensor>,
    v: Vec<Tensor>,
}

const BETA1: f64 = 0.9;
const BETA2: f64 = 0.99;

impl Adam {
    fn new(varmap: &VarMap) -> candle_core::Result<Self> {
        let data = varmap
            .data()
            .lock()
            .map_err(|_| candle_core::Error::Msg("the weights' lock is poisoned".to_owned()))?;
        let mut vars: Vec<(String, Var)> =
            data.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        drop(data);
        vars.sort_by(|a, b| a.0.cmp(&b.0));
        let zeros = vars
            .iter()
            .map(|(_, v)| v.as_tensor().zeros_like())
            .collect::<candle_core::Result<Vec<_>>>()?;
        Ok(Self {
            m: zeros.clone(),
            v: zeros,
            vars,
        })
    }

    fn step(
        &mut self,
        grads: &candle_core::backprop::GradStore,
        t: usize,
        lr: f64,
    ) -> candle_core::Result<()> {
        let t = i32::try_from(t.max(1)).unwrap_or(i32::MAX);
        let (bc1, bc2) = (1.0 - BETA1.powi(t), 1.0 - BETA2.powi(t));
        for (i, (_, var)) in self.vars.iter().enumerate() {
            let Some(g) = grads.get(var.as_tensor()) else {
                continue;
            };
            let m = ((&self.m[i] * BETA1)? + (g * (1.0 - BETA1))?)?;
            let v = ((&self.v[i] * BETA2)? + (g.sqr()? * (1.0 - BETA2))?)?;
            let update = ((&m / bc1)? / ((&v / bc2)?.sqrt()? + 1e-8)?)?;
            var.set(&(var.as_tensor() - (update * lr)?)?)?;
            self.m[i] = m;
            self.v[i] = v;
        }
        Ok(())
    }

    fn tensors(&self) -> HashMap<String, Tensor> {
        let mut out = HashMap::new();
        for (i, (name, var)) in self.vars.iter().enumerate() {
            out.insert(format!("w/{name}"), var.as_tensor().clone());
            out.insert(format!("m/{name}"), self.m[i].clone());
            out.insert(format!("v/{name}"), self.v[i].clone());
        }
        out
    }

    fn restore(
        &mut self,
        saved: &HashMap<String, Tensor>,
        path: &Path,
    ) -> Result<(), PerceptionError> {
        let bad = |problem: String| PerceptionError::Checkpoint {
            path: path.to_path_buf(),
            problem,
        };
        for (i, (name, var)) in self.vars.iter().enumerate() {
            let get = |prefix: &str| {
                saved
                    .get(&format!("{prefix}/{name}"))
                    .filter(|t| t.shape() == var.shape())
                    .ok_or_else(|| bad(format!("{name} is missing or has another shape")))
            };
            var.set(get("w")?)?;
            self.m[i] = get("m")?.clone();
            self.v[i] = get("v")?.clone();
        }
        Ok(())
    }
}

/// Rough edges like a decoded H.264 frame's: color at half resolution (4:2:0), a little
/// noise. Most samples get them, so the encoder reads clean and decoded frames alike.
pub fn roughen(rgb: &mut [u8], width: usize, rng: &mut Rng) {
    if !rng.chance(0.75) {
        return;
    }
    let height = rgb.len() / 3 / width;
    let luma =
        |p: &[u8]| 0.299 * f32::from(p[0]) + 0.587 * f32::from(p[1]) + 0.114 * f32::from(p[2]);
    for by in (0..height - height % 2).step_by(2) {
        for bx in (0..width - width % 2).step_by(2) {
            let at = |dy: usize, dx: usize| ((by + dy) * width + bx + dx) * 3;
            let mut cb = 0.0;
            let mut cr = 0.0;
            for (dy, dx) in [(0, 0), (0, 1), (1, 0), (1, 1)] {
                let p = &rgb[at(dy, dx)..at(dy, dx) + 3];
                let y = luma(p);
                cb += (f32::from(p[2]) - y) / 4.0;
                cr += (f32::from(p[0]) - y) / 4.0;
            }
            for (dy, dx) in [(0, 0), (0, 1), (1, 0), (1, 1)] {
                let pixel = at(dy, dx);
                let luma_here = luma(&rgb[pixel..pixel + 3]);
                let (red, blue) = (luma_here + cr, luma_here + cb);
                let green = (luma_here - 0.299 * red - 0.114 * blue) / 0.587;
                for (channel, value) in [red, green, blue].into_iter().enumerate() {
                    rgb[pixel + channel] = value.round().clamp(0.0, 255.0) as u8;
                }
            }
        }
    }
    let sigma = 2.0 + 4.0 * rng.unit();
    for v in rgb.iter_mut() {
        // A cheap bell: the sum of two uniforms.
        let noise = (rng.unit() + rng.unit() - 1.0) * sigma * 1.7;
        *v = (f64::from(*v) + noise).round().clamp(0.0, 255.0) as u8;
    }
}

/// `count` fresh scenes from `rng`: each frame's model input and its labels.
///
/// # Errors
/// When the bundled font cannot be read.
pub fn scenes(
    renderer: &Renderer,
    cfg: &Config,
    rng: &mut Rng,
    count: usize,
) -> Vec<(Vec<f32>, FrameLabels)> {
    (0..count)
        .map(|_| {
            let scene = random_scene(rng);
            let t_ms = i64::try_from(rng.below(3_600_000)).unwrap_or(0);
            let mut canvas = Canvas::new(renderer.width, renderer.height);
            renderer.draw(&mut canvas, &scene, t_ms);
            roughen(&mut canvas.rgb, renderer.width, rng);
            (rgb_input(&canvas.rgb, cfg), FrameLabels::of(&scene))
        })
        .collect()
}

/// The held-out scenes' own seed stream: never one a training step draws from.
#[must_use]
pub fn heldout_rng(seed: u64) -> Rng {
    Rng::new(seed ^ 0x4e1d_0075_5eed_u64.rotate_left(17))
}

fn step_rng(seed: u64, step: usize) -> Rng {
    Rng::new(
        seed.wrapping_mul(0x9e37_79b9_7f4a_7c15)
            ^ (step as u64).wrapping_mul(0xbf58_476d_1ce4_e5b9),
    )
}

/// The mean cross-entropy over every attribute of a batch.
///
/// # Errors
/// On a tensor error.
pub fn loss(
    model: &PerceptionModel,
    batch: &[(Vec<f32>, FrameLabels)],
) -> candle_core::Result<Tensor> {
    let inputs: Vec<Vec<f32>> = batch.iter().map(|(x, _)| x.clone()).collect();
    let tokens = model.forward(&input_tensor(&inputs, model.config())?)?;
    let mut total: Option<Tensor> = None;
    for (a, logits) in model.logits(&tokens)?.into_iter().enumerate() {
        let classes = Attribute::ALL[a].classes();
        let targets: Vec<u32> = batch
            .iter()
            .flat_map(|(_, l)| l.targets[a].iter().copied())
            .collect();
        let n = targets.len();
        let targets = Tensor::from_vec(targets, n, &Device::Cpu)?;
        let ce = candle_nn::loss::cross_entropy(&logits.reshape((n, classes))?, &targets)?;
        total = Some(match total {
            Some(t) => (t + ce)?,
            None => ce,
        });
    }
    total
        .ok_or_else(|| candle_core::Error::Msg("no attributes".to_owned()))
        .and_then(|t| t / Attribute::ALL.len() as f64)
}

fn learning_rate(s: &Settings, step: usize, progress: f64) -> f64 {
    let warm = ((step + 1) as f64 / s.warmup_steps.max(1) as f64).min(1.0);
    let cosine = 0.5 * (1.0 + (std::f64::consts::PI * progress.clamp(0.0, 1.0)).cos());
    s.learning_rate * warm * (0.05 + 0.95 * cosine)
}

fn progress_of(s: &Settings, step: usize, elapsed_s: f64) -> f64 {
    let by_steps = step as f64 / s.steps.max(1) as f64;
    let by_time = s.minutes.map_or(0.0, |m| elapsed_s / (m * 60.0).max(1e-9));
    by_steps.max(by_time)
}

pub const CHECKPOINT: &str = "checkpoint.safetensors";
pub const CHECKPOINT_STATE: &str = "checkpoint.json";

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> PerceptionError + '_ {
    move |source| PerceptionError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn save_checkpoint(
    dir: &Path,
    adam: &Adam,
    state: &CheckpointState,
) -> Result<PathBuf, PerceptionError> {
    let path = dir.join(CHECKPOINT);
    let partial = dir.join(format!("{CHECKPOINT}.partial"));
    candle_core::safetensors::save(&adam.tensors(), &partial)?;
    std::fs::rename(&partial, &path).map_err(io(&path))?;
    let json = serde_json::to_vec_pretty(state).map_err(|e| PerceptionError::Checkpoint {
        path: dir.join(CHECKPOINT_STATE),
        problem: e.to_string(),
    })?;
    let state_path = dir.join(CHECKPOINT_STATE);
    crate::fsutil::write_atomic(&state_path, &json).map_err(io(&state_path))?;
    Ok(path)
}

fn load_checkpoint(dir: &Path, adam: &mut Adam) -> Result<CheckpointState, PerceptionError> {
    let state_path = dir.join(CHECKPOINT_STATE);
    let bytes = std::fs::read(&state_path).map_err(io(&state_path))?;
    let state: CheckpointState =
        serde_json::from_slice(&bytes).map_err(|e| PerceptionError::Checkpoint {
            path: state_path.clone(),
            problem: e.to_string(),
        })?;
    let path = dir.join(CHECKPOINT);
    let saved = candle_core::safetensors::load(&path, &Device::Cpu).map_err(|e| {
        PerceptionError::Checkpoint {
            path: path.clone(),
            problem: e.to_string(),
        }
    })?;
    adam.restore(&saved, &path)?;
    Ok(state)
}

/// A fresh encoder with seeded weights.
///
/// # Errors
/// On a tensor error.
pub fn fresh(cfg: &Config, seed: u64) -> candle_core::Result<(VarMap, PerceptionModel)> {
    let varmap = VarMap::new();
    let vb = VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu);
    let model = PerceptionModel::new(cfg, vb)?;
    crate::policy::builtin::seed_weights(&varmap, seed)?;
    Ok((varmap, model))
}

/// Pretrains an encoder into `out` (checkpoints there as it goes), then measures it on fresh
/// held-out scenes and writes `model.safetensors`, `config.json` and `report.json`. With
/// `resume`, carries on from `out`'s checkpoint; without, refuses a folder that holds one.
/// `on_event` may stop the run (a checkpoint is written first).
///
/// # Errors
/// When `out` cannot be written, its checkpoint does not fit, or a tensor fails.
pub fn pretrain(
    out: &Path,
    settings: &Settings,
    resume: bool,
    on_event: &mut dyn FnMut(&Event) -> ControlFlow<()>,
) -> Result<Outcome, PerceptionError> {
    let has_checkpoint = out.join(CHECKPOINT_STATE).exists();
    if has_checkpoint && !resume {
        return Err(PerceptionError::HasCheckpoint(out.to_path_buf()));
    }
    std::fs::create_dir_all(out).map_err(io(out))?;
    let _kept = crate::alloc::keep_freed_memory();
    let renderer = Renderer::new().ok_or(PerceptionError::Font)?;
    let (varmap, model) = fresh(&settings.config, settings.seed)?;
    let mut adam = Adam::new(&varmap)?;
    let mut state = CheckpointState {
        step: 0,
        elapsed_s: 0.0,
        settings: settings.clone(),
        history: Vec::new(),
    };
    let mut resumed_from = None;
    if resume && has_checkpoint {
        let saved = load_checkpoint(out, &mut adam)?;
        if saved.settings.config != settings.config {
            return Err(PerceptionError::Checkpoint {
                path: out.join(CHECKPOINT_STATE),
                problem: "it was made for another model size".to_owned(),
            });
        }
        resumed_from = Some(saved.step);
        state.step = saved.step;
        state.elapsed_s = saved.elapsed_s;
        state.history = saved.history;
    }
    let cfg = &settings.config;
    let flop_per_frame = 6.0 * cfg.macs_per_frame() as f64;
    let mut losses = Vec::new();
    let mut window = Vec::new();
    let mut last_checkpoint = Instant::now();
    let mut stopped = false;
    while progress_of(settings, state.step, state.elapsed_s) < 1.0 {
        let started = Instant::now();
        let batch = scenes(
            &renderer,
            cfg,
            &mut step_rng(settings.seed, state.step),
            settings.batch,
        );
        let progress = progress_of(settings, state.step, state.elapsed_s);
        let lr = learning_rate(settings, state.step, progress);
        let loss = loss(&model, &batch)?;
        let grads = loss.backward()?;
        adam.step(&grads, state.step + 1, lr)?;
        let value = loss.to_scalar::<f32>()?;
        state.step += 1;
        let took = started.elapsed().as_secs_f64();
        state.elapsed_s += took;
        losses.push(value);
        window.push(value);
        if state.step.is_multiple_of(50) {
            state
                .history
                .push((state.step, window.iter().sum::<f32>() / window.len() as f32));
            window.clear();
        }
        let event = Event::Step {
            step: state.step,
            progress: progress_of(settings, state.step, state.elapsed_s),
            loss: value,
            frames_per_s: settings.batch as f64 / took.max(1e-9),
            gflop_per_s: flop_per_frame * settings.batch as f64 / took.max(1e-9) / 1e9,
        };
        stopped = on_event(&event).is_break();
        if stopped || last_checkpoint.elapsed().as_secs() >= settings.checkpoint_every_s {
            let path = save_checkpoint(out, &adam, &state)?;
            last_checkpoint = Instant::now();
            let _ = on_event(&Event::Checkpoint {
                step: state.step,
                path,
            });
        }
        if stopped {
            break;
        }
    }
    if !stopped {
        save_checkpoint(out, &adam, &state)?;
    }
    let report = if stopped {
        None
    } else {
        let _ = on_event(&Event::Evaluating);
        let heldout = scenes(
            &renderer,
            cfg,
            &mut heldout_rng(settings.seed),
            settings.heldout_frames,
        );
        let report = evaluate(&model, &heldout, "fresh held-out scenes")?;
        save_model(out, &varmap, cfg)?;
        report.save(&out.join("report.json")).map_err(io(out))?;
        Some(report)
    };
    Ok(Outcome {
        steps: state.step,
        resumed_from,
        losses,
        history: state.history,
        report,
    })
}

/// Writes the weights alone (`model.safetensors`) and `config.json`.
fn save_model(dir: &Path, varmap: &VarMap, cfg: &Config) -> Result<(), PerceptionError> {
    let weights = dir.join("model.safetensors");
    let partial = dir.join("model.safetensors.partial");
    varmap.save(&partial)?;
    std::fs::rename(&partial, &weights).map_err(io(&weights))?;
    let config = dir.join("config.json");
    let json = serde_json::to_vec_pretty(cfg).map_err(|e| PerceptionError::Checkpoint {
        path: config.clone(),
        problem: e.to_string(),
    })?;
    crate::fsutil::write_atomic(&config, &json).map_err(io(&config))
}

/// Loads an encoder that [`pretrain`] wrote.
///
/// # Errors
/// When the files are missing or do not fit each other.
pub fn load(dir: &Path) -> Result<PerceptionModel, PerceptionError> {
    let config = dir.join("config.json");
    let bytes = std::fs::read(&config).map_err(io(&config))?;
    let cfg: Config = serde_json::from_slice(&bytes).map_err(|e| PerceptionError::Checkpoint {
        path: config.clone(),
        problem: e.to_string(),
    })?;
    let weights = dir.join("model.safetensors");
    let saved = candle_core::safetensors::load(&weights, &Device::Cpu).map_err(|e| {
        PerceptionError::Checkpoint {
            path: weights.clone(),
            problem: e.to_string(),
        }
    })?;
    let (varmap, model) = fresh(&cfg, 0)?;
    let data = varmap
        .data()
        .lock()
        .map_err(|_| candle_core::Error::Msg("the weights' lock is poisoned".to_owned()))?;
    for (name, var) in data.iter() {
        match saved.get(name) {
            Some(t) if t.shape() == var.shape() => var.set(t)?,
            _ => {
                return Err(PerceptionError::Checkpoint {
                    path: weights,
                    problem: format!("{name} is missing or has another shape"),
                });
            }
        }
    }
    drop(data);
    Ok(model)
}
