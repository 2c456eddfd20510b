// Throwaway: can the encoder learn, from pixels, the room, who is seen and who wears what?
// Trains the encoder and the auxiliary head only, and reports held-out accuracy as it goes.
use candle_core::{Device, Tensor};
use candle_nn::{AdamW, Optimizer, ParamsAdamW};
use taskmem::policy::builtin::{AUX_LABELS, Config};
use taskmem::policy::data::{aux_labels, simulated_examples};
use taskmem::policy::lang::Vocab;
use taskmem::policy::phase1::{examples_of, read_suite};
use taskmem::policy::train::Trainable;
use taskmem::world::model::Color;
use taskmem::world::rng::Rng;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let steps: usize = args.get(1).map_or(600, |s| s.parse().unwrap());
    let streams: u64 = args.get(2).map_or(64, |s| s.parse().unwrap());
    let suite = std::path::Path::new("datasets/world-mme");
    let vocab = Vocab::world();
    let manifest = read_suite(suite)?;
    let cfg = Config::small(vocab.len());
    let test = examples_of(suite, &manifest, "test", &cfg, &vocab)?;
    let mut train = examples_of(suite, &manifest, "train", &cfg, &vocab)?;
    let seeds: Vec<u64> = (0..streams).map(|i| 1_000_000 + 10_000 + i).collect();
    let parts: Vec<_> = std::thread::scope(|s| {
        let hs: Vec<_> = seeds.chunks(seeds.len().div_ceil(2)).map(|ch| {
            let (spec, cfg, vocab) = (&manifest.spec, &cfg, &vocab);
            s.spawn(move || ch.iter().flat_map(|&seed| simulated_examples(spec, seed, 180_000, cfg, vocab).unwrap()).collect::<Vec<_>>())
        }).collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for p in parts { train.extend(p); }
    eprintln!("{} train clips", train.len());
    let t = Trainable::fresh(&cfg, 1)?;
    let lr: f64 = std::env::var("LR").ok().and_then(|v| v.parse().ok()).unwrap_or(2e-3);
    let mut opt = AdamW::new(t.varmap.all_vars(), ParamsAdamW { lr, weight_decay: 0.0, ..Default::default() })?;
    let n = cfg.frames_per_clip * cfg.patches_per_frame();
    let per = n * cfg.patch_dim();
    let mut rng = Rng::new(1);
    let batch = 16;
    for step in 0..=steps {
        if step % 100 == 0 {
            let (mut room, mut face, mut face_n, mut col, mut col_n, mut any, mut any_n) = (0, 0, 0, 0, 0, 0, 0);
            for e in &test {
                let patches = Tensor::from_vec(e.patches.clone(), (1, n, cfg.patch_dim()), &Device::Cpu)?;
                let l: Vec<f32> = t.model.aux_logits(&t.model.encode(&patches)?)?.flatten_all()?.to_vec1()?;
                let argmax = |xs: &[f32]| xs.iter().enumerate().fold((0, f32::MIN), |b, (i, x)| if *x > b.1 { (i, *x) } else { b }).0;
                room += usize::from(taskmem::world::model::Room::ALL[argmax(&l[0..4])] == e.truth.rooms[0]);
                for f in 0..4usize {
                    let seen = e.truth.people.iter().any(|p| usize::from(p.face) == f + 1);
                    face_n += 1; face += usize::from((l[4 + f] > 0.0) == seen);
                }
                for p in &e.truth.people {
                    let f = usize::from(p.face) - 1;
                    col_n += 1; col += usize::from(Color::ALL[argmax(&l[8 + f * 10..18 + f * 10])] == p.outfit);
                }
                for c in 0..10 {
                    let seen = e.truth.people.iter().any(|p| p.outfit == Color::ALL[c]);
                    any_n += 1; any += usize::from((l[48 + c] > 0.0) == seen);
                }
            }
            println!("step {step}: test room {room}/{} faces {face}/{face_n} face-color {col}/{col_n} colors-any {any}/{any_n}", test.len());
        }
        if step == steps { break; }
        let picked: Vec<_> = (0..batch).map(|_| &train[rng.below(train.len())]).collect();
        let mut p = Vec::with_capacity(batch * per);
        for e in &picked { p.extend_from_slice(&e.patches); }
        let patches = Tensor::from_vec(p, (batch, n, cfg.patch_dim()), &Device::Cpu)?;
        let y: Vec<f32> = picked.iter().flat_map(|e| aux_labels(&e.truth)).collect();
        let y = Tensor::from_vec(y, (batch, AUX_LABELS), &Device::Cpu)?;
        let x = t.model.aux_logits(&t.model.encode(&patches)?)?;
        let bce = ((x.relu()? - (&x * &y)?)? + (x.abs()?.neg()?.exp()? + 1.0)?.log()?)?.mean_all()?;
        opt.backward_step(&bce)?;
        if step % 50 == 0 { eprintln!("step {step} bce {:.4}", bce.to_scalar::<f32>()?); }
    }
    Ok(())
}
