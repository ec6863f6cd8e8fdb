use ann_core::*;
use std::time::Instant;
fn main() -> Result<()> {
    let data = fashion_mnist(None, PixelScale::Unit)?;
    let m = 6000;
    let x = data.train.x.slice(ndarray::s![.., ..m]).to_owned();
    let y = data.train.targets(Task::MultiClass).slice(ndarray::s![.., ..m]).to_owned();
    for (f1, f2, k) in [(16, 32, 5), (16, 32, 3), (8, 16, 5)] {
        let p = k / 2;
        let specs = [
            Conv2dConfig::new(f1, k).padding(p).pool(2).into(),
            Conv2dConfig::new(f2, k).padding(p).pool(2).into(),
            LayerSpec::Dense(10),
        ];
        let mut net = Network::convolutional(
            Image::new(1, 28, 28),
            &specs,
            Activation::Relu,
            Task::MultiClass,
            Init::He,
            1,
        )?;
        let fwd = 2.0 * (28 * 28 * f1 * k * k + 14 * 14 * f2 * f1 * k * k + 7 * 7 * f2 * 10) as f64;
        let train_flop = fwd * 2.0 + 2.0 * (14 * 14 * f2 * f1 * k * k + 7 * 7 * f2 * 10) as f64;
        let config = TrainConfig { batch_size: 64, seed: 2, ..TrainConfig::default() };
        let mut opt = Optimizer::adam(0.001)?;
        let t = Instant::now();
        fit(&mut net, &mut opt, (&x, &y), &config, 1)?;
        let total = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let (_l, _a) = evaluate(&net, (&x, &y), 0.0)?;
        let eval = t.elapsed().as_secs_f64();
        let steps = total - eval; // fit evaluates the training set once per epoch (fast path)
        println!(
            "{f1}/{f2} k{k}: fit {total:.2} s (readable evaluate of 6000: {eval:.2} s); forward {:.1} MFLOP/img, train step {:.1} MFLOP/img, ~{:.1} GFLOP/s in fit",
            fwd / 1e6,
            train_flop / 1e6,
            (train_flop + fwd) * m as f64 / total / 1e9
        );
        let _ = steps;
    }
    Ok(())
}
