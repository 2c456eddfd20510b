//! Phase Two's adapter as a file: one steering vector of the decoder's width (safetensors,
//! tensor `steer`) with a JSON sidecar beside it (same name, `.json`): the layer it is added
//! after, its scale, the task type and task ids it was tuned on, and metrics. The policy takes
//! it as an optional input; tuning one is Phase Two's work.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use candle_core::{Device, Tensor};
use serde::{Deserialize, Serialize};

use super::builtin::{Config, Steering};

#[derive(Debug, thiserror::Error)]
pub enum AdapterError {
    #[error("{}: cannot read: {detail}", path.display())]
    Read { path: PathBuf, detail: String },
    #[error("{}: not an adapter: {detail}", path.display())]
    Format { path: PathBuf, detail: String },
    #[error("{}: cannot write: {detail}", path.display())]
    Write { path: PathBuf, detail: String },
    #[error("{}: {detail}", path.display())]
    Mismatch { path: PathBuf, detail: String },
}

/// The sidecar.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AdapterMeta {
    /// The steering vector is added after this decoder layer (0-based).
    pub layer: usize,
    pub scale: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_type: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub task_ids: Vec<String>,
    #[serde(default, skip_serializing_if = "serde_json::Value::is_null")]
    pub metrics: serde_json::Value,
}

/// A loaded adapter.
#[derive(Clone, Debug)]
pub struct Adapter {
    /// The file's stem: what memory entries name as their adapter.
    pub name: String,
    pub path: PathBuf,
    pub meta: AdapterMeta,
    pub steering: Steering,
}

/// The adapters in a folder (a project's `adapters/`), by name: each `.safetensors` file with
/// its sidecar read, or why it could not be. A missing folder has none; a file (or sidecar)
/// that is a link out of the folder is refused unread.
#[must_use]
pub fn adapters_in(dir: &Path) -> Vec<Result<Adapter, AdapterError>> {
    let Ok(read) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut paths: Vec<PathBuf> = read
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "safetensors"))
        .collect();
    paths.sort();
    paths
        .iter()
        .map(|p| {
            within(dir, p, "its folder")
                .and_then(|()| within(dir, &sidecar(p), "its folder"))
                .map_err(|why| AdapterError::Mismatch {
                    path: p.clone(),
                    detail: format!("{why}; refused"),
                })?;
            Adapter::load(p)
        })
        .collect()
}

/// The largest steering scale an adapter may have: Phase Two tunes at 1.5; beyond this the
/// vector drowns the hidden states it is added to.
pub const MAX_SCALE: f64 = 1_000.0;

/// The largest steering value (times the scale) an adapter may add to a hidden state.
pub const MAX_STEER: f64 = 1.0e6;

/// Where the adapter of a project's lane is: the file the lane records in `project.json`
/// (relative to the project), else `adapters/<name>.safetensors` for the name its memory
/// entries carry; `None` when neither says. Both come from project files, which anyone may
/// have written: the file and its sidecar must resolve inside the project (links followed),
/// and a name must be a plain file name.
///
/// # Errors
/// [`AdapterError::Mismatch`], naming the project, the lane and where the path came from,
/// when it leads outside the project.
#[must_use]
pub fn project_adapter_path(
    project: &Path,
    lane: &str,
    recorded: Option<&str>,
    named: Option<&str>,
) -> Option<Result<PathBuf, AdapterError>> {
    // Named by the project folder: the file was never opened.
    let outside = |detail: String| AdapterError::Mismatch {
        path: project.to_path_buf(),
        detail,
    };
    let (path, source) = if let Some(recorded) = recorded {
        (
            project.join(recorded),
            format!("project.json: lane '{lane}': adapter '{recorded}'"),
        )
    } else {
        let named = named?;
        let source = format!("memory of lane '{lane}': an entry's adapter '{named}'");
        let plain = Path::new(named)
            .file_name()
            .is_some_and(|f| f == std::ffi::OsStr::new(named));
        if !plain || named == "." || named == ".." {
            return Some(Err(outside(format!(
                "{source} is not a plain adapter name; refused"
            ))));
        }
        (
            project
                .join("adapters")
                .join(format!("{named}.safetensors")),
            source,
        )
    };
    Some(
        within(project, &path, "the project")
            .and_then(|()| within(project, &sidecar(&path), "the project"))
            .map(|()| path)
            .map_err(|why| outside(format!("{source} {why}; refused"))),
    )
}

/// Whether `path` stays inside `root` (called `name` in the reason why not): by its
/// components, and once links are followed when it exists.
fn within(root: &Path, path: &Path, name: &str) -> Result<(), String> {
    use std::path::Component;
    // Both made absolute (not resolved): a relative root and an absolute path compare alike.
    let absolute = |p: &Path| std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
    let leads_out = match absolute(path).strip_prefix(absolute(root)) {
        Ok(rest) => rest
            .components()
            .any(|c| !matches!(c, Component::Normal(_) | Component::CurDir)),
        Err(_) => true,
    };
    if leads_out {
        return Err(format!("leads outside {name}"));
    }
    match (path.canonicalize(), root.canonicalize()) {
        (Ok(real), Ok(root)) if !real.starts_with(&root) => {
            Err(format!("is a link to {}, outside {name}", real.display()))
        }
        _ => Ok(()),
    }
}

fn sidecar(path: &Path) -> PathBuf {
    path.with_extension("json")
}

impl Adapter {
    /// A steering vector from plain values.
    ///
    /// # Errors
    /// On a tensor error.
    pub fn from_values(
        name: &str,
        meta: AdapterMeta,
        values: Vec<f32>,
    ) -> candle_core::Result<Self> {
        let width = values.len();
        Ok(Self {
            name: name.to_owned(),
            path: PathBuf::new(),
            steering: Steering {
                layer: meta.layer,
                scale: meta.scale,
                vector: Tensor::from_vec(values, width, &Device::Cpu)?,
            },
            meta,
        })
    }

    /// Reads `path` (safetensors) and its `.json` sidecar.
    ///
    /// # Errors
    /// When either file is missing, damaged, or not an adapter.
    pub fn load(path: &Path) -> Result<Self, AdapterError> {
        let meta_path = sidecar(path);
        let meta_bytes = std::fs::read(&meta_path).map_err(|e| AdapterError::Read {
            path: meta_path.clone(),
            detail: e.to_string(),
        })?;
        let meta: AdapterMeta =
            serde_json::from_slice(&meta_bytes).map_err(|e| AdapterError::Format {
                path: meta_path.clone(),
                detail: e.to_string(),
            })?;
        // A missing or unreadable file is not a malformed one: say which it is.
        std::fs::metadata(path).map_err(|e| AdapterError::Read {
            path: path.to_path_buf(),
            detail: e.to_string(),
        })?;
        let tensors = candle_core::safetensors::load(path, &Device::Cpu).map_err(|e| {
            AdapterError::Format {
                path: path.to_path_buf(),
                detail: e.to_string(),
            }
        })?;
        let vector = tensors
            .get("steer")
            .cloned()
            .ok_or_else(|| AdapterError::Format {
                path: path.to_path_buf(),
                detail: "no tensor named 'steer'".to_owned(),
            })?;
        let vector = vector
            .flatten_all()
            .and_then(|v| v.to_dtype(candle_core::DType::F32))
            .map_err(|e| AdapterError::Format {
                path: path.to_path_buf(),
                detail: e.to_string(),
            })?;
        if !meta.scale.is_finite() || meta.scale.abs() > MAX_SCALE {
            return Err(AdapterError::Format {
                path: meta_path,
                detail: format!("scale {} is not a number within ±{MAX_SCALE}", meta.scale),
            });
        }
        check_values(path, &vector, meta.scale)?;
        Ok(Self {
            name: path.file_stem().map_or_else(
                || "adapter".to_owned(),
                |s| s.to_string_lossy().into_owned(),
            ),
            path: path.to_path_buf(),
            steering: Steering {
                layer: meta.layer,
                scale: meta.scale,
                vector,
            },
            meta,
        })
    }

    /// Writes `path` (safetensors) and its sidecar, each through a temporary file.
    ///
    /// # Errors
    /// When a file cannot be written.
    pub fn save(&self, path: &Path) -> Result<(), AdapterError> {
        let write = |p: &Path| {
            let p = p.to_path_buf();
            move |detail: String| AdapterError::Write { path: p, detail }
        };
        // Both files are written in full before either is renamed in, so a failure never
        // leaves a new vector beside an old sidecar's layer and scale.
        let partial = path.with_extension("safetensors.partial");
        let meta_path = sidecar(path);
        let meta_partial = meta_path.with_extension("json.partial");
        let json =
            serde_json::to_vec_pretty(&self.meta).map_err(|e| write(&meta_path)(e.to_string()))?;
        let tensors: HashMap<String, Tensor> =
            HashMap::from([("steer".to_owned(), self.steering.vector.clone())]);
        let result = candle_core::safetensors::save(&tensors, &partial)
            .map_err(|e| write(path)(e.to_string()))
            .and_then(|()| {
                crate::fsutil::create_fresh(&meta_partial)
                    .and_then(|mut file| {
                        std::io::Write::write_all(&mut file, &json)?;
                        file.sync_all()
                    })
                    .map_err(|e| write(&meta_path)(e.to_string()))
            })
            .and_then(|()| std::fs::rename(&partial, path).map_err(|e| write(path)(e.to_string())))
            .and_then(|()| {
                std::fs::rename(&meta_partial, &meta_path)
                    .map_err(|e| write(&meta_path)(e.to_string()))
            });
        if result.is_err() {
            // A full disk stops either write part way: neither partial file stays behind.
            let _ = std::fs::remove_file(&partial);
            let _ = std::fs::remove_file(&meta_partial);
        }
        result
    }

    /// Whether this adapter fits a model of `cfg`'s shape.
    ///
    /// # Errors
    /// A layer past the decoder's or a vector of another width, naming the file.
    pub fn check(&self, cfg: &Config) -> Result<(), AdapterError> {
        let width = self.steering.vector.elem_count();
        let detail = if self.meta.layer >= cfg.dec_layers {
            format!(
                "layer {} is past the model's {} decoder layers",
                self.meta.layer, cfg.dec_layers
            )
        } else if width != cfg.d_model {
            format!(
                "a steering vector of {width} values does not fit a model of width {}",
                cfg.d_model
            )
        } else {
            return Ok(());
        };
        Err(AdapterError::Mismatch {
            path: self.path.clone(),
            detail,
        })
    }
}

/// Whether every value of a steering `vector` is a finite number that stays within
/// [`MAX_STEER`] once scaled: a NaN or an infinity would turn every description into noise.
fn check_values(path: &Path, vector: &Tensor, scale: f64) -> Result<(), AdapterError> {
    let values = vector.to_vec1::<f32>().map_err(|e| AdapterError::Format {
        path: path.to_path_buf(),
        detail: e.to_string(),
    })?;
    let non_finite = values.iter().filter(|v| !v.is_finite()).count();
    let detail = if non_finite > 0 {
        format!(
            "{non_finite} of the steering vector's {} values are NaN or infinite",
            values.len()
        )
    } else if let Some(v) = values
        .iter()
        .find(|v| (f64::from(**v) * scale).abs() > MAX_STEER)
    {
        format!("a steering value of {v} times the scale {scale} is beyond ±{MAX_STEER}")
    } else {
        return Ok(());
    };
    Err(AdapterError::Format {
        path: path.to_path_buf(),
        detail,
    })
}
