//! The built-in memorization policy's model, in candle: a vision encoder over patches of
//! frames sampled from a clip (or over the perception encoder's tokens, policy v2), and a
//! small transformer decoder that reads the preceding clip's description (as context) and
//! writes this clip's description in the world's language, attending to the frames through
//! cross-attention. Split the way candle splits its models: `config` (the shape),
//! `preprocess` (frames to patch rows), `model` (`Config` + `new(cfg, vb)` + `forward`) and
//! `generation` (greedy or seeded sampling within a budget). The perception encoder sits
//! beside it in `policy::perception`.

mod config;
mod generation;
mod model;
mod preprocess;

pub use config::{Config, PerceptionInput};
pub use generation::{DecodeOptions, Generated, Sampling};
pub use model::{AUX_HEAD, AUX_LABELS, MemorizerModel, Steering, seed_weights};
pub(crate) use model::{Attention, Mlp, Norm};
pub(crate) use preprocess::box_downscale;
pub use preprocess::clip_patches;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::lang::{BOS, EOS, PAD};
    use crate::video::Frame;
    use candle_core::{DType, Device, IndexOp, Tensor};
    use candle_nn::{AdamW, Optimizer, ParamsAdamW, VarBuilder, VarMap};

    fn model(cfg: &Config) -> (VarMap, MemorizerModel) {
        let varmap = VarMap::new();
        let vb = VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu);
        let model = MemorizerModel::new(cfg, vb).unwrap();
        seed_weights(&varmap, 42).unwrap();
        (varmap, model)
    }

    fn patches(cfg: &Config, value: f32) -> Tensor {
        let n = cfg.frames_per_clip * cfg.patches_per_frame();
        Tensor::full(value, (1, n, cfg.patch_dim()), &Device::Cpu).unwrap()
    }

    #[test]
    fn shapes_and_greedy_decoding_within_the_budget() {
        let cfg = Config::tiny(40);
        let (_, m) = model(&cfg);
        let (tokens, segments) = m.sequence(&[5, 6, 7], &[8, 9]);
        assert_eq!(tokens, vec![5, 6, 7, BOS, 8, 9]);
        assert_eq!(segments, vec![0, 0, 0, 1, 1, 1]);
        let t = tokens.len();
        let logits = m
            .forward(
                &patches(&cfg, 0.1),
                &Tensor::from_vec(tokens, (1, t), &Device::Cpu).unwrap(),
                &Tensor::from_vec(segments, (1, t), &Device::Cpu).unwrap(),
            )
            .unwrap();
        assert_eq!(logits.dims(), &[1, t, 40]);
        let a = m
            .generate(&patches(&cfg, 0.1), &[5], Sampling::Greedy)
            .unwrap();
        let b = m
            .generate(&patches(&cfg, 0.1), &[5], Sampling::Greedy)
            .unwrap();
        assert_eq!(a, b, "greedy decoding is deterministic");
        let (_, again) = model(&cfg);
        assert_eq!(
            again
                .generate(&patches(&cfg, 0.1), &[5], Sampling::Greedy)
                .unwrap(),
            a,
            "the same seed makes the same model"
        );
        assert!(a.tokens.len() <= cfg.max_output_tokens);
        assert!(a.tokens.iter().all(|&t| t != PAD && t != BOS && t != EOS));
        let s1 = Sampling::Temperature {
            temperature: 1.0,
            seed: 7,
        };
        assert_eq!(
            m.generate(&patches(&cfg, 0.1), &[5], s1).unwrap(),
            m.generate(&patches(&cfg, 0.1), &[5], s1).unwrap(),
            "a seed fixes the sample"
        );
    }

    #[test]
    fn the_warm_up_loss_falls_and_the_model_learns_to_read_its_frames() {
        let cfg = Config::tiny(30);
        let (varmap, m) = model(&cfg);
        // Two clips that differ only in their pixels must get different descriptions.
        let dark = patches(&cfg, -0.8);
        let bright = patches(&cfg, 0.8);
        let batch = Tensor::cat(&[&dark, &bright], 0).unwrap();
        let contexts = vec![vec![4, 5], vec![4, 5]];
        let targets = vec![vec![10, 11, 12], vec![20, 21]];
        let mut opt = AdamW::new(
            varmap.all_vars(),
            ParamsAdamW {
                lr: 1e-2,
                ..ParamsAdamW::default()
            },
        )
        .unwrap();
        let first = m
            .nll(&batch, &contexts, &targets)
            .unwrap()
            .to_scalar::<f32>()
            .unwrap();
        let mut last = first;
        for _ in 0..60 {
            let loss = m.nll(&batch, &contexts, &targets).unwrap();
            opt.backward_step(&loss).unwrap();
            last = loss.to_scalar::<f32>().unwrap();
        }
        assert!(last < first * 0.2, "loss {first} -> {last}");
        assert_eq!(
            m.generate(&dark, &contexts[0], Sampling::Greedy)
                .unwrap()
                .tokens,
            targets[0]
        );
        assert_eq!(
            m.generate(&bright, &contexts[1], Sampling::Greedy)
                .unwrap()
                .tokens,
            targets[1]
        );
    }

    #[test]
    fn cached_decoding_scores_each_token_as_the_full_forward_pass_does() {
        let cfg = Config::tiny(40);
        let (_, m) = model(&cfg);
        let clip = patches(&cfg, 0.3);
        let context = vec![5, 6, 7];
        let sample = Sampling::Temperature {
            temperature: 1.5,
            seed: 3,
        };
        let written = m.generate(&clip, &context, sample).unwrap();
        assert!(!written.tokens.is_empty());
        let plain = m.generate_without_cache(&clip, &context, sample).unwrap();
        assert_eq!(written.tokens, plain.tokens, "the cache changes no token");
        let (logp, weights) = m
            .token_logprobs(&clip, &[context], std::slice::from_ref(&written.tokens))
            .unwrap();
        let logp = logp.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        let weights = weights.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        let scored: Vec<f32> = logp
            .iter()
            .zip(&weights)
            .filter(|&(_, w)| *w > 0.0)
            .map(|(l, _)| *l)
            .collect();
        // The full pass also scores EOS after the budget; the generator stops without it.
        assert!(scored.len() >= written.logprobs.len());
        for (cached, full) in written.logprobs.iter().zip(&scored) {
            assert!((cached - full).abs() < 1e-4, "{cached} vs {full}");
        }
    }

    #[test]
    fn frames_become_patches_in_range() {
        let cfg = Config::tiny(10);
        let frame = Frame {
            index: 0,
            pts_ns: 0,
            width: 32,
            height: 16,
            rgba: vec![255u8; 32 * 16 * 4].into(),
        };
        let p = clip_patches(&[frame], &cfg);
        assert_eq!(
            p.len(),
            cfg.frames_per_clip * cfg.patches_per_frame() * cfg.patch_dim()
        );
        assert!(p.iter().all(|&v| (v - 1.0).abs() < 1e-6));
    }

    #[test]
    #[allow(clippy::many_single_char_names, clippy::similar_names)]
    fn a_patch_is_laid_out_block_by_block_so_the_stem_reads_each_sub_patch_whole() {
        // One frame at the model's size, white but for one black pixel.
        let cfg = Config::tiny(10);
        let (w, h) = (cfg.frame_width, cfg.frame_height);
        let (x, y) = (7, 2);
        let mut rgba = vec![255u8; w * h * 4];
        rgba[(y * w + x) * 4..(y * w + x) * 4 + 3].fill(0);
        let frame = Frame {
            index: 0,
            pts_ns: 0,
            width: w as u32,
            height: h as u32,
            rgba: rgba.into(),
        };
        let p = clip_patches(&[frame], &cfg);
        // The one frame fills every frame slot; the first slot is enough.
        let first_frame = cfg.patches_per_frame() * cfg.patch_dim();
        let black: Vec<usize> = (0..first_frame).filter(|&i| p[i] < 0.0).collect();
        // Patch (1, 0) of a 4-px grid; within it block (1, 1) of 2-px blocks; row 0, column 1.
        let (patch, block, s) = (cfg.patch, cfg.block(), cfg.block());
        let patch_index = (y / patch) * (w / patch) + x / patch;
        let block_index = ((y % patch) / s) * (patch / s) + (x % patch) / s;
        let within = (y % s) * s + x % s;
        let at = patch_index * cfg.patch_dim() + block_index * block * block * 3 + within * 3;
        assert_eq!(black, vec![at, at + 1, at + 2]);
    }

    #[test]
    fn frame_local_layers_keep_each_frame_to_itself_and_global_ones_mix_them() {
        let mut cfg = Config::tiny(10);
        cfg.frame_local_layers = cfg.enc_layers;
        let per_frame = cfg.patches_per_frame();
        let changed_second_frame = |cfg: &Config| {
            let (_, m) = model(cfg);
            let a = patches(cfg, 0.2);
            let mut values = a.flatten_all().unwrap().to_vec1::<f32>().unwrap();
            let second = per_frame * cfg.patch_dim();
            values[second..].iter_mut().for_each(|v| *v = -0.7);
            let b = Tensor::from_vec(values, a.shape(), &Device::Cpu).unwrap();
            let first_frame = |x: &Tensor| {
                m.encode(x)
                    .unwrap()
                    .i((0, 0..per_frame))
                    .unwrap()
                    .flatten_all()
                    .unwrap()
                    .to_vec1::<f32>()
                    .unwrap()
            };
            first_frame(&a)
                .iter()
                .zip(first_frame(&b))
                .map(|(x, y)| (x - y).abs())
                .fold(0.0f32, f32::max)
        };
        assert!(changed_second_frame(&cfg) < 1e-6);
        cfg.frame_local_layers = 0;
        assert!(changed_second_frame(&cfg) > 1e-4);
    }

    #[test]
    fn a_config_written_before_the_stem_reads_as_a_plain_patch_embedding() {
        let mut old = serde_json::to_value(Config::tiny(10)).unwrap();
        for field in ["sub_patch", "stem_channels", "frame_local_layers"] {
            old.as_object_mut().unwrap().remove(field);
        }
        let cfg: Config = serde_json::from_value(old).unwrap();
        assert_eq!((cfg.block(), cfg.frame_local_layers), (cfg.patch, 0));
        let (varmap, m) = model(&cfg);
        assert!(
            !varmap
                .data()
                .lock()
                .unwrap()
                .contains_key("patch_stem.weight")
        );
        let vision = m.encode(&patches(&cfg, 0.1)).unwrap();
        assert_eq!(
            vision.dims3().unwrap(),
            (
                1,
                cfg.frames_per_clip * cfg.patches_per_frame(),
                cfg.d_model
            )
        );
    }
}
