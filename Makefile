# ann-scratch: build, test and notebook toolchain. `make help` lists the targets.
# Everything installed here stays in the repository and is ignored by git:
#   .tools/cargo/  evcxr_jupyter      .venv/  JupyterLab + nbclient      .cache/  evcxr's crate cache

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
# Steps of `make test` must run one after the other, even under `make -j`.
.NOTPARALLEL:

ROOT := $(patsubst %/,%,$(dir $(abspath $(lastword $(MAKEFILE_LIST)))))
VENV_PY := $(ROOT)/.venv/bin/python
# The chapters, then the exercise solutions and the learner's exercises (the runner checks
# the graders' reports of those two by their folder).
NOTEBOOKS := $(sort $(wildcard notebooks/*.ipynb)) $(sort $(wildcard notebooks/exercises/solutions/*.ipynb)) \
	$(sort $(wildcard notebooks/exercises/*.ipynb))
# Flags for `cargo test`: --release shares one optimised dependency build with the figures
# example and the benchmark (tests train real networks, so they need optimisation anyway).
CARGO_TEST_FLAGS ?= --release
# Per-cell timeout (s) for headless notebook runs; the first `:dep` cell compiles crates.
NB_CELL_TIMEOUT ?= 600
# Figures hook: runs only once ann_plot/examples/figures.rs exists.
FIGURES_EXAMPLE := ann_plot/examples/figures.rs
FIGURES_OUT ?=

.PHONY: help setup lab test fmt-check clippy cargo-test doc links test-browser test-runner test-interop test-notebooks notebooks notebook-times test-figures figures exercises exercises-check

help:
	@echo "make setup           install what is missing: evcxr_jupyter (.tools/cargo), JupyterLab (.venv), the 'rust' kernel"
	@echo "make lab             setup, then start JupyterLab on notebooks/ (prints the URL)"
	@echo "make test            fmt-check, clippy, cargo-test, doc, links, test-figures, exercises-check, setup, test-interop, test-browser, test-runner, test-notebooks (what CI runs)"
	@echo "make fmt-check       cargo fmt --all --check"
	@echo "make clippy          cargo clippy --workspace --all-targets -- -D warnings"
	@echo "make cargo-test      cargo test --workspace \$$CARGO_TEST_FLAGS"
	@echo "make doc             cargo doc --workspace --no-deps: fails on any warning (a broken [\`Name\`] link)"
	@echo "make links           every relative link of README and notebooks resolves; the chapters link up in one chain"
	@echo "make test-figures    cargo run --release -p ann_plot --example figures -- --out DIR (if that example exists)"
	@echo "make test-runner     check that the notebook runner passes/fails tests/notebook_fixtures/* as it should"
	@echo "make test-interop    real runtimes read what ann_interop writes: onnxruntime runs the ONNX files, NumPy (and PyTorch if installed) the safetensors; files from Python import back"
	@echo "make test-browser    the playgrounds in headless Chromium + JupyterLab: move each slider, check the view changed"
	@echo "make test-notebooks  execute notebooks/*.ipynb headless into temp copies (repo files untouched)"
	@echo "make notebooks       execute notebooks/*.ipynb and write the outputs back into the files (to commit them)"
	@echo "make figures         regenerate every figure into visualizations/ (seeded: same bytes every run)"
	@echo "make notebook-times  time every notebook cold (empty work directory) and warm (a reused slot); prints a table"
	@echo "make exercises       regenerate notebooks/exercises/*.ipynb from notebooks/exercises/solutions/ (answers -> todo!)"
	@echo "make exercises-check fail if notebooks/exercises/ is out of date with its solutions"

setup:
	@scripts/setup.sh

lab: setup
	@scripts/lab.sh

# The notebooks' summary ("notebooks: N passed, N failed") is the last line on purpose.
test: fmt-check clippy cargo-test doc links test-figures exercises-check setup test-interop test-browser test-runner test-notebooks

fmt-check:
	cargo fmt --all --check

clippy:
	cargo clippy --workspace --all-targets -- -D warnings

cargo-test:
	cargo test --workspace $(CARGO_TEST_FLAGS)

doc:
	@scripts/check_docs.sh

test-figures:
	@if [ -f "$(FIGURES_EXAMPLE)" ]; then \
	    out="$(FIGURES_OUT)"; if [ -z "$$out" ]; then out="$$(mktemp -d)"; fi; mkdir -p "$$out"; \
	    echo "cargo run --release -p ann_plot --example figures -- --out $$out"; \
	    cargo run --release -p ann_plot --example figures -- --out "$$out"; \
	    scripts/check_figures.sh "$$out" visualizations; \
	else \
	    echo "test-figures: skipped ($(FIGURES_EXAMPLE) does not exist yet)"; \
	fi

# The playgrounds in headless Chromium against a JupyterLab of its own (installs Debian's
# chromium and Playwright when missing); screenshots in target/browser/.
test-browser: setup
	@scripts/browser_setup.sh
	@"$(VENV_PY)" scripts/test_browser.py

test-runner: setup
	@scripts/test_runner.sh

# Exported files checked by other programs than ours (ann_interop): onnxruntime and NumPy from
# the project's venv, PyTorch when it is installed there (opt-in, as for the benchmark).
test-interop: setup
	@"$(VENV_PY)" scripts/interop_safetensors.py
	@"$(VENV_PY)" scripts/interop_onnx.py

test-notebooks: setup
	@if [ -z "$(NOTEBOOKS)" ]; then echo "no notebooks yet"; else \
	    "$(VENV_PY)" scripts/run_notebooks.py --timeout $(NB_CELL_TIMEOUT) $(NOTEBOOKS); fi

notebooks: setup
	@if [ -z "$(NOTEBOOKS)" ]; then echo "no notebooks yet"; else \
	    "$(VENV_PY)" scripts/run_notebooks.py --inplace --timeout $(NB_CELL_TIMEOUT) $(NOTEBOOKS); fi

links:
	@python3 scripts/check_links.py

exercises:
	@python3 scripts/make_exercises.py

exercises-check:
	@python3 scripts/make_exercises.py --check

notebook-times: setup
	@if [ -z "$(NOTEBOOKS)" ]; then echo "no notebooks yet"; else \
	    "$(VENV_PY)" scripts/notebook_times.py $(NOTEBOOKS); fi

# Speed benchmark: ann_core (default, threading, blas builds) against NumPy (and PyTorch) references
# on the benchmark workloads (W1 small, W2 wide, W3 and W4 on Fashion-MNIST); prints the table of
# bench/RESULTS.md.
# BENCH_RUNS (default 5) and BENCH_WORKLOADS (default w1,w2,w3,w4) and BENCH_PRECISIONS (default f64,f32) tune it. Needs no make setup:
# it installs NumPy into .venv itself.
.PHONY: bench
bench:
	@bench/bench.sh

figures:
	cargo run --release -p ann_plot --example figures -- --out visualizations
	scripts/check_figures.sh visualizations
