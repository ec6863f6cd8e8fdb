use ann_core::*;
use std::time::Instant;
fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let f1: usize = args.get(1).map_or(16, |v| v.parse().unwrap());
    let f2: usize = args.get(2).map_or(32, |v| v.parse().unwrap());
    let k: usize = args.get(3).map_or(5, |v| v.parse().unwrap());
    let m: usize = args.get(4).map_or(60000, |v| v.parse().unwrap());
    let batch: usize = args.get(5).map_or(64, |v| v.parse().unwrap());
    let epochs: usize = args.get(6).map_or(1, |v| v.parse().unwrap());
    let data = fashion_mnist(None, PixelScale::Unit)?;
    let train = data.train;
    let x = train.x.slice(ndarray::s![.., ..m]);
    let y = train.targets(Task::MultiClass);
    let y = y.slice(ndarray::s![.., ..m]);
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
    let config = TrainConfig { batch_size: batch, seed: 2, ..TrainConfig::default() };
    let mut opt = Optimizer::adam(0.001)?;
    let t = Instant::now();
    let h = Trainer::new(&config, epochs)
        .validation((&data.test.x, &data.test.targets(Task::MultiClass)))
        .progress(Progress::EachEpoch, |l| println!("{l}"))
        .fit(&mut net, &mut opt, (x, y))?;
    println!(
        "{} params; {:.2} s for {epochs} epochs of {m}; final val acc {:?}",
        net.num_params(),
        t.elapsed().as_secs_f64(),
        h.val_accuracy.last()
    );
    Ok(())
}
