//! The learning-rate schedule figure: drawn from real runs, right size and format, and an
//! error (never a panic) on empty or non-finite input.

use ann_core::{
    Activation, DataView, History, Init, LrSchedule, Network, Optimizer, Task, TrainConfig, fit, two_moons,
};
use ann_plot as plot;

fn run(schedule: LrSchedule) -> History {
    let data = two_moons(120, 0.2, 1).unwrap();
    let y = data.targets(Task::Binary);
    let mut net = Network::new(&[2, 8, 1], Activation::Relu, Task::Binary, Init::He, 1).unwrap();
    let mut adam = Optimizer::adam(0.05).unwrap();
    let config = TrainConfig { batch_size: 32, schedule, seed: 2, ..TrainConfig::default() };
    fit(&mut net, &mut adam, DataView::new(data.x.view(), y.view()), &config, 6).unwrap()
}

#[test]
fn schedules_figure_draws_the_rates_fit_used() {
    let constant = run(LrSchedule::Constant);
    let step = run(LrSchedule::Step { every: 2, factor: 0.5 });
    let exp = run(LrSchedule::Exponential { rate: 0.3 });
    // What the figure draws is what fit recorded: α₀ · factor^⌊e / every⌋.
    assert_eq!(step.learning_rates, vec![0.05, 0.05, 0.025, 0.025, 0.0125, 0.0125]);
    let title = "three schedules";
    let fig = plot::learning_rate_schedules(
        &[("constant", &constant), ("step", &step), ("exponential", &exp)],
        title,
    )
    .unwrap();
    assert_eq!((fig.width(), fig.height()), (1000, 480));
    assert!(fig.png_bytes().starts_with(b"\x89PNG\r\n\x1a\n"));
    let svg = fig.svg();
    assert!(svg.starts_with("<svg"));
    for text in [title, "constant", "step", "exponential", "Learning rate α per epoch"] {
        assert!(svg.contains(&format!(">\n{text}\n</text>")), "SVG shows {text:?}");
    }
    // Deterministic rendering.
    let again = plot::learning_rate_schedules(
        &[("constant", &constant), ("step", &step), ("exponential", &exp)],
        title,
    )
    .unwrap();
    assert!(fig == again);
    // Default title.
    assert_eq!(
        plot::learning_rate_schedules(&[("c", &constant)], "").unwrap().title(),
        "Learning-rate schedules"
    );
}

#[test]
fn schedules_figure_rejects_bad_input() {
    assert!(plot::learning_rate_schedules(&[], "").is_err());
    let empty = History::default();
    let err = plot::learning_rate_schedules(&[("nothing", &empty)], "").unwrap_err();
    assert!(err.to_string().contains("nothing"), "{err}");
    let mut bad = run(LrSchedule::Constant);
    bad.learning_rates[1] = f64::NAN;
    assert!(plot::learning_rate_schedules(&[("nan", &bad)], "").is_err());
    let mut bad = run(LrSchedule::Constant);
    bad.train_loss[0] = f64::INFINITY;
    assert!(plot::learning_rate_schedules(&[("inf", &bad)], "").is_err());
}
