//! The perception encoder: one frame in, one token per readout query out (the room, each
//! person slot, my hands, each object cell, each place's apples, each sign cell), with a
//! classification head per attribute for pretraining and the held-out report. Written as
//! candle's models are: `Config` + `new(cfg, vb)` + `forward`.
//!
//! The stem reads the frame in the renderer's own grid: 4x4-pixel blocks (a shared linear
//! layer and a `ReLU`: a GELU over every block cost a tenth of a training step), then each
//! 20x20 cell from its 25 blocks, so one token is one cell of the layout. Attention over the cells lets a token see what straddles cells (a badge, a sign
//! character); the queries then gather what their part of the picture shows, which keeps
//! "who wears what" bound together instead of pooled away.

use candle_core::{DType, Device, Result, Tensor};
use candle_nn::{Init, Linear, Module, VarBuilder, linear};
use serde::{Deserialize, Serialize};

use super::labels::{Attribute, QUERIES, query_regions};
use crate::policy::builtin::{Attention, Mlp, Norm, box_downscale};
use crate::video::Frame;

/// The encoder's shape. Saved as JSON beside the weights.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Config {
    pub d_model: usize,
    pub n_heads: usize,
    /// Self-attention layers over the cells.
    pub layers: usize,
    /// Layers in which the queries attend to each other and to the cells.
    pub readout_layers: usize,
    pub d_ff: usize,
    /// The frame size the encoder reads: the world's drawing size.
    pub width: usize,
    pub height: usize,
    /// A token's cell and the stem's first block, in pixels.
    pub cell: usize,
    pub block: usize,
    pub stem_channels: usize,
}

impl Config {
    /// The shipped size: the world's 320x180 frames, its 20-px grid.
    #[must_use]
    pub fn small() -> Self {
        Self {
            d_model: 128,
            n_heads: 4,
            layers: 4,
            readout_layers: 2,
            d_ff: 256,
            width: crate::world::render::WIDTH,
            height: crate::world::render::HEIGHT,
            cell: 20,
            block: 4,
            stem_channels: 32,
        }
    }

    /// A very small one, for tests (it still reads 320x180 frames).
    #[must_use]
    pub fn tiny() -> Self {
        Self {
            d_model: 16,
            n_heads: 2,
            layers: 1,
            readout_layers: 1,
            d_ff: 32,
            stem_channels: 4,
            ..Self::small()
        }
    }

    #[must_use]
    pub fn cells(&self) -> usize {
        (self.width / self.cell) * (self.height / self.cell)
    }

    /// Values per frame in the model's input.
    #[must_use]
    pub fn input_len(&self) -> usize {
        self.width * self.height * 3
    }

    /// Multiply-adds of one frame's forward pass (the heads left out), for throughput figures.
    #[must_use]
    pub fn macs_per_frame(&self) -> usize {
        let (d, cells, q) = (self.d_model, self.cells(), QUERIES);
        let blocks = self.width * self.height / (self.block * self.block);
        let stem = blocks * self.block * self.block * 3 * self.stem_channels
            + cells * (self.cell / self.block).pow(2) * self.stem_channels * d;
        let layer = cells * (4 * d * d + 2 * d * self.d_ff) + 2 * cells * cells * d;
        let readout = q * (4 * d * d + 2 * d * self.d_ff + 2 * d * d)
            + 2 * cells * d * d
            + 2 * q * (q + cells) * d;
        stem + self.layers * layer + self.readout_layers * readout
    }
}

/// Arranges `w x h` RGB values (row-major, in [-1, 1]) the way the stem reads them: cell by
/// cell, block by block within a cell, pixel rows within a block.
#[must_use]
pub fn blocked(rgb: &[f32], cfg: &Config) -> Vec<f32> {
    let (w, cell, block) = (cfg.width, cfg.cell, cfg.block);
    let mut out = Vec::with_capacity(cfg.input_len());
    for cy in 0..cfg.height / cell {
        for cx in 0..w / cell {
            for by in 0..cell / block {
                for bx in 0..cell / block {
                    for y in 0..block {
                        let row = cy * cell + by * block + y;
                        let at = (row * w + cx * cell + bx * block) * 3;
                        out.extend_from_slice(&rgb[at..at + block * 3]);
                    }
                }
            }
        }
    }
    out
}

/// A decoded frame as the encoder's input: box-filtered to the encoder's size, then blocked.
#[must_use]
pub fn frame_input(frame: &Frame, cfg: &Config) -> Vec<f32> {
    blocked(&box_downscale(frame, cfg.width, cfg.height), cfg)
}

/// A rendered RGB image of the encoder's size as its input.
#[must_use]
pub fn rgb_input(rgb: &[u8], cfg: &Config) -> Vec<f32> {
    let values: Vec<f32> = rgb.iter().map(|&v| f32::from(v) / 127.5 - 1.0).collect();
    blocked(&values, cfg)
}

struct Layer {
    ln1: Norm,
    attn: Attention,
    ln2: Norm,
    mlp: Mlp,
}

impl Layer {
    fn new(cfg: &Config, vb: &VarBuilder) -> Result<Self> {
        let d = cfg.d_model;
        Ok(Self {
            ln1: Norm::new(d, vb.pp("ln1"))?,
            attn: Attention::new(d, cfg.n_heads, &vb.pp("attn"))?,
            ln2: Norm::new(d, vb.pp("ln2"))?,
            mlp: Mlp::new(d, cfg.d_ff, &vb.pp("mlp"))?,
        })
    }

    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let h = self.ln1.forward(x)?;
        let x = (x + self.attn.forward(&h, &h, None)?)?;
        let h = self.ln2.forward(&x)?;
        x + self.mlp.forward(&h)
    }
}

/// Queries attend to each other, then to the cells.
struct Readout {
    ln1: Norm,
    self_attn: Attention,
    ln2: Norm,
    cross: Attention,
    ln3: Norm,
    mlp: Mlp,
}

impl Readout {
    fn new(cfg: &Config, vb: &VarBuilder) -> Result<Self> {
        let d = cfg.d_model;
        Ok(Self {
            ln1: Norm::new(d, vb.pp("ln1"))?,
            self_attn: Attention::new(d, cfg.n_heads, &vb.pp("self_attn"))?,
            ln2: Norm::new(d, vb.pp("ln2"))?,
            cross: Attention::new(d, cfg.n_heads, &vb.pp("cross"))?,
            ln3: Norm::new(d, vb.pp("ln3"))?,
            mlp: Mlp::new(d, cfg.d_ff, &vb.pp("mlp"))?,
        })
    }

    fn forward(&self, q: &Tensor, cells: &Tensor, regions: &Tensor) -> Result<Tensor> {
        let h = self.ln1.forward(q)?;
        let q = (q + self.self_attn.forward(&h, &h, None)?)?;
        let h = self.ln2.forward(&q)?;
        let q = (&q + self.cross.forward(&h, cells, Some(regions))?)?;
        let h = self.ln3.forward(&q)?;
        q + self.mlp.forward(&h)
    }
}

pub struct PerceptionModel {
    cfg: Config,
    stem_block: Linear,
    stem_cell: Linear,
    positions: Tensor,
    layers: Vec<Layer>,
    norm: Norm,
    queries: Tensor,
    /// `[QUERIES, cells]`: 0 where a query may read a cell, a large negative number elsewhere.
    regions: Tensor,
    readout: Vec<Readout>,
    out_norm: Norm,
    heads: Vec<Linear>,
}

impl PerceptionModel {
    /// # Errors
    /// When the weights in `vb` do not have the shapes `cfg` asks for.
    // candle's convention: a model takes its VarBuilder by value.
    #[allow(clippy::needless_pass_by_value)]
    pub fn new(cfg: &Config, vb: VarBuilder) -> Result<Self> {
        let d = cfg.d_model;
        let per_cell = (cfg.cell / cfg.block).pow(2);
        let init = Init::Randn {
            mean: 0.0,
            stdev: 0.02,
        };
        Ok(Self {
            cfg: cfg.clone(),
            stem_block: linear(
                cfg.block * cfg.block * 3,
                cfg.stem_channels,
                vb.pp("stem_block"),
            )?,
            stem_cell: linear(per_cell * cfg.stem_channels, d, vb.pp("stem_cell"))?,
            positions: vb.get_with_hints((cfg.cells(), d), "positions", init)?,
            layers: (0..cfg.layers)
                .map(|i| Layer::new(cfg, &vb.pp(format!("layers.{i}"))))
                .collect::<Result<_>>()?,
            norm: Norm::new(d, vb.pp("norm"))?,
            queries: vb.get_with_hints((QUERIES, d), "queries", init)?,
            regions: regions_mask(cfg)?,
            readout: (0..cfg.readout_layers)
                .map(|i| Readout::new(cfg, &vb.pp(format!("readout.{i}"))))
                .collect::<Result<_>>()?,
            out_norm: Norm::new(d, vb.pp("out_norm"))?,
            heads: Attribute::ALL
                .iter()
                .map(|a| linear(d, a.classes(), vb.pp(format!("heads.{}", a.key()))))
                .collect::<Result<_>>()?,
        })
    }

    #[must_use]
    pub fn config(&self) -> &Config {
        &self.cfg
    }

    /// The perception tokens of a batch of frames: input `[B, input_len]` (see [`blocked`]),
    /// output `[B, QUERIES, d_model]`.
    ///
    /// # Errors
    /// On a tensor error (a wrong input size included).
    pub fn forward(&self, input: &Tensor) -> Result<Tensor> {
        let cfg = &self.cfg;
        let batch = input.dim(0)?;
        let b2 = cfg.block * cfg.block * 3;
        let blocks = input.reshape((batch * cfg.input_len() / b2, b2))?;
        let features = self.stem_block.forward(&blocks)?.relu()?;
        let per_cell = (cfg.cell / cfg.block).pow(2) * cfg.stem_channels;
        let cells = features.reshape((batch, cfg.cells(), per_cell))?;
        let mut x = self
            .stem_cell
            .forward(&cells)?
            .broadcast_add(&self.positions)?;
        for layer in &self.layers {
            x = layer.forward(&x)?;
        }
        let x = self.norm.forward(&x)?;
        let mut q = self
            .queries
            .unsqueeze(0)?
            .broadcast_as((batch, QUERIES, cfg.d_model))?
            .contiguous()?;
        for block in &self.readout {
            q = block.forward(&q, &x, &self.regions)?;
        }
        self.out_norm.forward(&q)
    }

    /// Each attribute's logits `[B, its queries, classes]`, in `Attribute::ALL` order.
    ///
    /// # Errors
    /// On a tensor error.
    pub fn logits(&self, tokens: &Tensor) -> Result<Vec<Tensor>> {
        Attribute::ALL
            .iter()
            .zip(&self.heads)
            .map(|(a, head)| {
                let r = a.queries();
                head.forward(&tokens.narrow(1, r.start, r.len())?)
            })
            .collect()
    }
}

/// [`query_regions`] as an additive attention mask.
fn regions_mask(cfg: &Config) -> Result<Tensor> {
    let (columns, rows) = (cfg.width / cfg.cell, cfg.height / cfg.cell);
    let values: Vec<f32> = query_regions(columns, rows, cfg.cell)
        .into_iter()
        .flat_map(|row| row.into_iter().map(|ok| if ok { 0.0 } else { -1e9 }))
        .collect();
    Tensor::from_vec(values, (QUERIES, columns * rows), &Device::Cpu)
}

/// The input tensor of a batch of blocked frames.
///
/// # Errors
/// When the values do not make whole frames.
pub fn input_tensor(frames: &[Vec<f32>], cfg: &Config) -> Result<Tensor> {
    let flat: Vec<f32> = frames.iter().flatten().copied().collect();
    Tensor::from_vec(flat, (frames.len(), cfg.input_len()), &Device::Cpu)?.to_dtype(DType::F32)
}
