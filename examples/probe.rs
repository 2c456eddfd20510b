// Throwaway: does a model know who wears what? For each test clip's seen target, rank the true
// sequence against each variant with one outfit's color (or face) swapped.
use candle_core::{Device, Tensor};
use taskmem::policy::lang::Vocab;
use taskmem::policy::phase1::{examples_of, read_suite};
use taskmem::policy::train::Trainable;
use taskmem::world::model::Color;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let model = Trainable::load(std::path::Path::new(&args[1]))?;
    let suite = std::path::Path::new("datasets/world-mme");
    let vocab = Vocab::world();
    let manifest = read_suite(suite)?;
    let cfg = model.model.config().clone();
    if args.len() > 2 {
        let fresh = Trainable::fresh(&cfg, 1)?;
        let a = model.varmap.data().lock().unwrap();
        let b = fresh.varmap.data().lock().unwrap();
        let mut names: Vec<&String> = a.keys().collect();
        names.sort();
        for name in names {
            let (x, y) = (a[name].as_tensor(), b[name].as_tensor());
            let d = (x - y)?.sqr()?.sum_all()?.sqrt()?.to_scalar::<f32>()?;
            let n = y.sqr()?.sum_all()?.sqrt()?.to_scalar::<f32>()?;
            let nx = x.sqr()?.sum_all()?.sqrt()?.to_scalar::<f32>()?;
            println!("{name:40} |W0| {n:8.3} |W| {nx:8.3} |W-W0| {d:8.3}");
        }
        return Ok(());
    }
    let test = examples_of(suite, &manifest, "test", &cfg, &vocab)?;
    let per = cfg.patch_dim();
    for e in test.iter().step_by(9) {
        // mean of the first patch (top-left: wall)
        let first = &e.patches[..per];
        let mut m = [0f32; 3];
        for (i, v) in first.iter().enumerate() { m[i % 3] += (v + 1.0) * 127.5 / (per / 3) as f32; }
        println!("test {} clip {} room {:?}: top-left mean rgb {:?}", e.stream, e.clip, e.truth.rooms[0], m);
    }
    let sim = taskmem::policy::data::simulated_examples(&manifest.spec, 990_001, 120_000, &cfg, &vocab).unwrap();
    for e in sim.iter().step_by(3) {
        let first = &e.patches[..per];
        let mut m = [0f32; 3];
        for (i, v) in first.iter().enumerate() { m[i % 3] += (v + 1.0) * 127.5 / (per / 3) as f32; }
        println!("sim {} clip {} room {:?}: top-left mean rgb {:?}", e.stream, e.clip, e.truth.rooms[0], m);
    }
    let n = cfg.frames_per_clip * cfg.patches_per_frame();
    {
        let (mut room_ok, mut face_ok, mut face_n, mut col_ok, mut col_n) = (0, 0, 0, 0, 0);
        for e in &test {
            let patches = Tensor::from_vec(e.patches.clone(), (1, n, cfg.patch_dim()), &Device::Cpu)?;
            let v = model.model.encode(&patches)?;
            let l: Vec<f32> = model.model.aux_logits(&v)?.flatten_all()?.to_vec1()?;
            let argmax = |xs: &[f32]| xs.iter().enumerate().fold((0, f32::MIN), |b, (i, x)| if *x > b.1 { (i, *x) } else { b }).0;
            let r = argmax(&l[0..4]);
            room_ok += usize::from(taskmem::world::model::Room::ALL[r] == e.truth.rooms[0]);
            for f in 0..4usize {
                let seen = e.truth.people.iter().any(|p| usize::from(p.face) == f + 1);
                face_n += 1; face_ok += usize::from((l[4 + f] > 0.0) == seen);
            }
            for p in &e.truth.people {
                let f = usize::from(p.face) - 1;
                let c = argmax(&l[8 + f * 10..18 + f * 10]);
                col_n += 1; col_ok += usize::from(Color::ALL[c] == p.outfit);
            }
        }
        println!("aux head on test: room {room_ok}/{}, face seen {face_ok}/{face_n}, outfit color {col_ok}/{col_n}", test.len());
    }
    let (mut color_ok, mut color_n, mut face_ok, mut face_n) = (0, 0, 0, 0);
    for e in &test {
        let text = vocab.decode(&e.seen_target);
        let score = |t: &str| -> anyhow::Result<f32> {
            let patches = Tensor::from_vec(e.patches.clone(), (1, n, cfg.patch_dim()), &Device::Cpu)?;
            let (lp, w) = model.model.token_logprobs(&patches, &[e.context.clone()], &[vocab.encode(t)])?;
            Ok((lp * w)?.sum_all()?.to_scalar::<f32>()?)
        };
        let base = score(&text)?;
        for p in &e.truth.people {
            let fact = format!("<face_{}> wears a {} outfit.", p.face, p.outfit.name());
            let mut best = true;
            for c in Color::ALL.iter().filter(|c| **c != p.outfit) {
                let alt = text.replace(&fact, &format!("<face_{}> wears a {} outfit.", p.face, c.name()));
                if score(&alt)? > base { best = false; }
            }
            color_n += 1; color_ok += usize::from(best);
            let mut best = true;
            for f in (1..=4u8).filter(|f| *f != p.face && !e.truth.people.iter().any(|q| q.face == *f)) {
                let alt = text.replace(&fact, &format!("<face_{f}> wears a {} outfit.", p.outfit.name()));
                if score(&alt)? > base { best = false; }
            }
            face_n += 1; face_ok += usize::from(best);
        }
    }
    let mut room_ok = 0;
    for e in &test {
        let patches = Tensor::from_vec(e.patches.clone(), (1, n, cfg.patch_dim()), &Device::Cpu)?;
        let mut best = (f32::MIN, String::new());
        for r in taskmem::world::model::Room::ALL {
            let t = format!("I am in the {}.", r.name());
            let (lp, w) = model.model.token_logprobs(&patches, &[vec![]], &[vocab.encode(&t)])?;
            let s = (lp * w)?.sum_all()?.to_scalar::<f32>()?;
            if s > best.0 { best = (s, r.name().to_owned()); }
        }
        room_ok += usize::from(e.truth.rooms[0].name() == best.1);
    }
    println!("room from frames alone {room_ok}/{}", test.len());
    println!("color right {color_ok}/{color_n}, face right {face_ok}/{face_n}");
    Ok(())
}
