//! One gradient of a [2, 16, 16, 1] network on 256 two-moons points, per scalar on the tape
//! and in closed form with ann_core: the same numbers, and how long each takes.
//! `cargo run --release -p ann_autograd --example per_scalar`

use ann_autograd::{Graph, Var};
use ann_core::{Activation, Init, Network, Task, two_moons};
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let data = two_moons(256, 0.2, 1)?;
    let y = data.targets(Task::Binary);
    let net = Network::new(&[2, 16, 16, 1], Activation::Tanh, Task::Binary, Init::Xavier, 2)?;
    let runs = 20;
    let start = Instant::now();
    let mut tape_grad = 0.0;
    let mut nodes = 0;
    for _ in 0..runs {
        let mut g = Graph::new();
        let params: Vec<(Vec<Vec<Var>>, Vec<Var>)> = net
            .layers()
            .iter()
            .map(|l| {
                let w = l.w.rows().into_iter().map(|r| r.iter().map(|&v| g.leaf(v)).collect()).collect();
                (w, l.b.column(0).iter().map(|&v| g.leaf(v)).collect())
            })
            .collect();
        let one = g.leaf(1.0);
        let mut total = g.leaf(0.0);
        for j in 0..data.x.ncols() {
            let mut a: Vec<Var> = data.x.column(j).iter().map(|&v| g.leaf(v)).collect();
            for (l, (w, b)) in params.iter().enumerate() {
                let mut next = Vec::with_capacity(w.len());
                for (row, &bias) in w.iter().zip(b) {
                    let mut z = bias;
                    for (&wi, &ai) in row.iter().zip(&a) {
                        let p = g.mul(wi, ai)?;
                        z = g.add(z, p)?;
                    }
                    next.push(if l + 1 < params.len() { g.tanh(z)? } else { g.sigmoid(z)? });
                }
                a = next;
            }
            let yj = g.leaf(y[[0, j]]);
            let (ln_a, om) = (g.ln(a[0])?, g.sub(one, a[0])?);
            let (ln_1a, omy) = (g.ln(om)?, g.sub(one, yj)?);
            let (t1, t2) = (g.mul(yj, ln_a)?, g.mul(omy, ln_1a)?);
            let s = g.add(t1, t2)?;
            total = g.sub(total, s)?;
        }
        let m = g.leaf(data.x.ncols() as f64);
        let loss = g.div(total, m)?;
        g.backward(loss)?;
        tape_grad = g.grad(params[0].0[0][0])?;
        nodes = g.len();
    }
    let tape = start.elapsed().as_secs_f64() / runs as f64;
    let start = Instant::now();
    let mut closed = 0.0;
    let reps = 2000;
    for _ in 0..reps {
        let cache = net.forward(data.x.view())?;
        closed = net.backward(&cache, y.view(), 0.0)?.dw(1).ok_or("dW[1]")?[[0, 0]];
    }
    let form = start.elapsed().as_secs_f64() / reps as f64;
    println!(
        "dW[1][0,0]: tape {tape_grad:.15}, closed form {closed:.15}, difference {:.1e}",
        (tape_grad - closed).abs()
    );
    println!(
        "one gradient: tape {:.2} ms ({nodes} nodes), closed form {:.3} ms: {:.0}× slower per scalar",
        tape * 1e3,
        form * 1e3,
        tape / form
    );
    Ok(())
}
