//! A model folder (`config.json` + `model.safetensors`) checked before anything is allocated
//! from it. Every size in the config is within a sane maximum and consistent with the others
//! (`d_model` a multiple of `n_heads`, a patch no larger than a frame), the weights file holds
//! exactly the tensors the config builds, each of the shape it wants, and every weight is a
//! finite number. A hostile or damaged folder is then an error naming the file and the field,
//! never a division by zero, an allocation of hundreds of gigabytes, a model that quietly
//! ignores layers its weights hold, or memory written from NaN.

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use candle_core::{DType, Device, Shape, Tensor};
use candle_nn::VarBuilder;

use super::builtin::{AUX_HEAD, Config, MemorizerModel};

/// The most vision tokens a clip may have (`frames_per_clip x patches per frame`): attention
/// across all frames costs their square, per head.
pub const MAX_VISION_TOKENS: usize = 4_096;

/// The most input values a clip may have (`frames_per_clip x frame_width x frame_height x 3`):
/// 128 MB of `f32`.
pub const MAX_CLIP_VALUES: usize = 1 << 25;

/// The largest `safetensors` header read: a model's few hundred tensor names are a few kB.
const MAX_HEADER_BYTES: u64 = 16 << 20;

#[derive(Debug, thiserror::Error)]
pub enum ModelCheckError {
    #[error("{}: cannot read: {detail}", path.display())]
    Read { path: PathBuf, detail: String },
    #[error("{}: not a model config: {detail}", path.display())]
    NotAConfig { path: PathBuf, detail: String },
    /// A field of the config out of range or inconsistent with another.
    #[error("{}: {field}: {detail}", path.display())]
    Field {
        path: PathBuf,
        field: &'static str,
        detail: String,
    },
    /// The weights do not fit the config, or are not numbers.
    #[error("{}: {detail}", path.display())]
    Weights { path: PathBuf, detail: String },
}

/// What is wrong with a config: the field and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigProblem {
    pub field: &'static str,
    pub detail: String,
}

/// The problem with `field`, `why` it is one, where `broken`; the detail is only written then.
fn refuse(
    broken: bool,
    field: &'static str,
    why: impl FnOnce() -> String,
) -> Result<(), ConfigProblem> {
    if broken {
        Err(ConfigProblem {
            field,
            detail: why(),
        })
    } else {
        Ok(())
    }
}

/// Whether `cfg` is a shape a model can be built in without dividing by zero or allocating
/// beyond what a model of this kind ever needs.
///
/// # Errors
/// The first field out of range or inconsistent with another.
pub fn check_config(cfg: &Config) -> Result<(), ConfigProblem> {
    // (field, value, least, most): the most is far above any model this program trains.
    let ranges: [(&'static str, usize, usize, usize); 15] = [
        ("vocab_size", cfg.vocab_size, 4, 65_536),
        ("d_model", cfg.d_model, 1, 4_096),
        ("n_heads", cfg.n_heads, 1, 64),
        ("enc_layers", cfg.enc_layers, 0, 48),
        ("dec_layers", cfg.dec_layers, 0, 48),
        ("d_ff", cfg.d_ff, 1, 16_384),
        ("frame_width", cfg.frame_width, 1, 2_048),
        ("frame_height", cfg.frame_height, 1, 2_048),
        ("patch", cfg.patch, 1, 2_048),
        ("sub_patch", cfg.sub_patch, 0, 2_048),
        ("stem_channels", cfg.stem_channels, 0, 4_096),
        ("frame_local_layers", cfg.frame_local_layers, 0, 48),
        ("frames_per_clip", cfg.frames_per_clip, 1, 256),
        ("max_context_tokens", cfg.max_context_tokens, 0, 4_096),
        ("max_output_tokens", cfg.max_output_tokens, 0, 4_096),
    ];
    for (field, value, least, most) in ranges {
        refuse(value < least || value > most, field, || {
            format!("{value} is outside {least}..={most}")
        })?;
    }
    refuse(!cfg.d_model.is_multiple_of(cfg.n_heads), "n_heads", || {
        format!(
            "d_model {} is not a multiple of {} heads",
            cfg.d_model, cfg.n_heads
        )
    })?;
    refuse(
        cfg.patch > cfg.frame_width.min(cfg.frame_height),
        "patch",
        || {
            format!(
                "a patch of {} px does not fit a {}x{} frame",
                cfg.patch, cfg.frame_width, cfg.frame_height
            )
        },
    )?;
    refuse(cfg.sub_patch > cfg.patch, "sub_patch", || {
        format!(
            "a sub-patch of {} px is larger than the {}-px patch",
            cfg.sub_patch, cfg.patch
        )
    })?;
    refuse(
        cfg.frame_local_layers > cfg.enc_layers,
        "frame_local_layers",
        || {
            format!(
                "{} is more than the {} encoder layers",
                cfg.frame_local_layers, cfg.enc_layers
            )
        },
    )?;
    // Each factor is bounded above, so these products cannot overflow.
    let tokens = cfg.frames_per_clip * cfg.patches_per_frame();
    refuse(tokens > MAX_VISION_TOKENS, "frames_per_clip", || {
        format!(
            "{} frames of {} patches each make {tokens} vision tokens, more than {MAX_VISION_TOKENS}",
            cfg.frames_per_clip,
            cfg.patches_per_frame()
        )
    })?;
    let values = tokens * cfg.patch_dim();
    refuse(values > MAX_CLIP_VALUES, "frame_width", || {
        format!(
            "{} frames of {}x{} px make {values} input values per clip, more than {MAX_CLIP_VALUES}",
            cfg.frames_per_clip, cfg.frame_width, cfg.frame_height
        )
    })?;
    Ok(())
}

/// Records the name and shape of each tensor a model asks for, handing back one zero
/// broadcast to that shape: building a model this way allocates nothing of its size.
#[derive(Clone, Default)]
struct ShapeRecorder(Arc<Mutex<Vec<NamedShape>>>);

/// A tensor's name and the shape the model asks for.
type NamedShape = (String, Vec<usize>);

impl candle_nn::var_builder::SimpleBackend for ShapeRecorder {
    fn get(
        &self,
        shape: Shape,
        name: &str,
        _: candle_nn::Init,
        dtype: DType,
        dev: &Device,
    ) -> candle_core::Result<Tensor> {
        self.0
            .lock()
            .map_err(|_| candle_core::Error::Msg("the shape recorder is poisoned".to_owned()))?
            .push((name.to_owned(), shape.dims().to_vec()));
        Tensor::zeros((), dtype, dev)?.broadcast_as(shape)
    }

    fn get_unchecked(&self, name: &str, _: DType, _: &Device) -> candle_core::Result<Tensor> {
        Err(candle_core::Error::Msg(format!(
            "{name}: asked for without a shape"
        )))
    }

    fn contains_tensor(&self, _: &str) -> bool {
        true
    }
}

/// The tensors a model of `cfg` is built from, by name, with their shapes. `cfg` must have
/// passed [`check_config`].
///
/// # Errors
/// On a tensor error.
pub fn expected_tensors(cfg: &Config) -> candle_core::Result<HashMap<String, Vec<usize>>> {
    let recorder = ShapeRecorder::default();
    let vb = VarBuilder::from_backend(Box::new(recorder.clone()), DType::F32, Device::Cpu);
    MemorizerModel::new(cfg, vb)?;
    let names = recorder
        .0
        .lock()
        .map_err(|_| candle_core::Error::Msg("the shape recorder is poisoned".to_owned()))?
        .clone();
    Ok(names.into_iter().collect())
}

/// The names and shapes in a `safetensors` file's header, read without reading its data.
///
/// # Errors
/// When the file cannot be read or its header is not a `safetensors` one.
pub fn header_shapes(path: &Path) -> Result<HashMap<String, Vec<usize>>, ModelCheckError> {
    let read = |detail: String| ModelCheckError::Read {
        path: path.to_path_buf(),
        detail,
    };
    let bad = |detail: String| ModelCheckError::Weights {
        path: path.to_path_buf(),
        detail: format!("not a safetensors file: {detail}"),
    };
    let mut file = std::fs::File::open(path).map_err(|e| read(e.to_string()))?;
    let file_bytes = file.metadata().map_err(|e| read(e.to_string()))?.len();
    let mut length = [0u8; 8];
    file.read_exact(&mut length)
        .map_err(|_| bad(format!("{file_bytes} bytes, too short for a header")))?;
    let header_bytes = u64::from_le_bytes(length);
    if header_bytes > file_bytes.saturating_sub(8) || header_bytes > MAX_HEADER_BYTES {
        return Err(bad(format!(
            "a header of {header_bytes} bytes in a file of {file_bytes}"
        )));
    }
    let mut header = Vec::new();
    file.take(header_bytes)
        .read_to_end(&mut header)
        .map_err(|e| read(e.to_string()))?;
    let header: HashMap<String, serde_json::Value> =
        serde_json::from_slice(&header).map_err(|e| bad(e.to_string()))?;
    let mut shapes = HashMap::new();
    for (name, info) in header {
        if name == "__metadata__" {
            continue;
        }
        let shape = info
            .get("shape")
            .and_then(serde_json::Value::as_array)
            .and_then(|dims| {
                dims.iter()
                    .map(|d| d.as_u64().and_then(|d| usize::try_from(d).ok()))
                    .collect::<Option<Vec<usize>>>()
            })
            .ok_or_else(|| bad(format!("{name} has no shape")))?;
        shapes.insert(name, shape);
    }
    Ok(shapes)
}

/// The config field that decides how many tensors of `name`'s family there are.
fn field_of(name: &str) -> &'static str {
    if name.starts_with("encoder.") {
        "enc_layers"
    } else if name.starts_with("decoder.") {
        "dec_layers"
    } else if name.starts_with("patch_stem.") {
        "sub_patch"
    } else {
        "the model's shape"
    }
}

fn is_aux(name: &str) -> bool {
    name.strip_prefix(AUX_HEAD)
        .is_some_and(|rest| rest.starts_with('.'))
}

/// Whether the tensors a weights file holds (`held`) are exactly those a model of `cfg`
/// wants (`wanted`), each of its shape. The auxiliary head serves training only: it may be
/// missing or of another shape.
///
/// # Errors
/// A tensor missing, of another shape, or held but unused, naming it and the field.
fn compare_tensors(
    cfg: &Config,
    wanted: &HashMap<String, Vec<usize>>,
    held: &HashMap<String, Vec<usize>>,
) -> Result<(), String> {
    let value = |field: &str| {
        serde_json::to_value(cfg)
            .ok()
            .and_then(|v| v.get(field).cloned())
            .map_or_else(String::new, |v| format!(": config.json's {field} is {v}"))
    };
    let mut names: Vec<&String> = wanted.keys().collect();
    names.sort();
    for name in names {
        if is_aux(name) {
            continue;
        }
        match held.get(name) {
            None => {
                return Err(format!("{name} is missing{}", value(field_of(name))));
            }
            Some(shape) if shape != &wanted[name] => {
                return Err(format!(
                    "{name} has shape {shape:?}, the config wants {:?}",
                    wanted[name]
                ));
            }
            Some(_) => {}
        }
    }
    let mut unused: Vec<&String> = held
        .keys()
        .filter(|n| !wanted.contains_key(*n) && !is_aux(n))
        .collect();
    unused.sort();
    if let Some(name) = unused.first() {
        return Err(format!(
            "holds {name}, which a model of config.json's shape does not use ({} unused tensors){}",
            unused.len(),
            value(field_of(name))
        ));
    }
    Ok(())
}

/// The first tensor of `tensors` with a value that is not a finite number, and how many.
fn first_non_finite(
    tensors: &HashMap<String, Tensor>,
) -> candle_core::Result<Option<(String, usize)>> {
    let mut names: Vec<&String> = tensors.keys().collect();
    names.sort();
    for name in names {
        let values = tensors[name]
            .flatten_all()?
            .to_dtype(DType::F32)?
            .to_vec1::<f32>()?;
        let bad = values.iter().filter(|v| !v.is_finite()).count();
        if bad > 0 {
            return Ok(Some((name.clone(), bad)));
        }
    }
    Ok(None)
}

/// Reads `dir/config.json` and checks it, then checks `dir/model.safetensors`'s header
/// against it before reading the weights, and their values after.
///
/// # Errors
/// A file that cannot be read, a config out of range, weights that do not fit it, or a
/// weight that is NaN or infinite, naming the file.
pub fn read_model(dir: &Path) -> Result<(Config, HashMap<String, Tensor>), ModelCheckError> {
    let config_path = dir.join("config.json");
    let bytes = std::fs::read(&config_path).map_err(|e| ModelCheckError::Read {
        path: config_path.clone(),
        detail: e.to_string(),
    })?;
    let cfg: Config = serde_json::from_slice(&bytes).map_err(|e| ModelCheckError::NotAConfig {
        path: config_path.clone(),
        detail: e.to_string(),
    })?;
    check_config(&cfg).map_err(|p| ModelCheckError::Field {
        path: config_path.clone(),
        field: p.field,
        detail: p.detail,
    })?;
    let weights = dir.join("model.safetensors");
    let mismatch = |detail: String| ModelCheckError::Weights {
        path: weights.clone(),
        detail,
    };
    let wanted = expected_tensors(&cfg).map_err(|e| ModelCheckError::Field {
        path: config_path.clone(),
        field: "the model's shape",
        detail: e.to_string(),
    })?;
    let held = header_shapes(&weights)?;
    compare_tensors(&cfg, &wanted, &held).map_err(mismatch)?;
    let saved = candle_core::safetensors::load(&weights, &Device::Cpu)
        .map_err(|e| mismatch(e.to_string()))?;
    if let Some((name, count)) = first_non_finite(&saved).map_err(|e| mismatch(e.to_string()))? {
        return Err(mismatch(format!(
            "{name} holds {count} values that are NaN or infinite"
        )));
    }
    Ok((cfg, saved))
}
