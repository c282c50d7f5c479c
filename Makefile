# The two commands: `make repro` rebuilds every result, `make test` runs the test suite.
# Both first run `setup`, which is idempotent: it installs only what is missing.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# Stage commands call `python`: put the venv's first on PATH for everything make runs.
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: setup data browser postgres repro quick exp study beyond claims test lint check-repro bench bench-quality bench-precision sweep ui

setup: $(STAMP) data

$(STAMP): requirements.txt pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	@touch $@

# The default data set: Debian's dataset-fashion-mnist when apt can install it; otherwise the
# prepare stage finds Keras's cache or downloads (see README, "Data").
data:
	@./scripts/ensure-data.sh

# The report's browser test needs Chromium (Debian's package); without it that test is skipped.
browser:
	@./scripts/ensure-browser.sh

# The tracking-server test needs PostgreSQL (Debian's package); without it that test is skipped.
postgres:
	@./scripts/ensure-postgres.sh

repro: setup
	$(BIN)/dvc repro
	$(BIN)/python pipeline/readme_results.py
	@echo
	@echo "Report:         $(CURDIR)/reports/index.html (figures in reports/figures/)"
	@echo "Metrics:        $(CURDIR)/reports/metrics.json (dvc metrics show), table in README.md"
	@echo "MLflow store:   $$(echo "$${MLFLOW_TRACKING_URI:-sqlite:///$(CURDIR)/mlflow.db}" | sed -E 's#(://[^:/@]+):[^@/]*@#\1:***@#') (artifacts in $(CURDIR)/mlartifacts)"
	@echo "Open the UI:    make ui, then $$($(BIN)/ganlab ui --print-url)"
	@echo "Use a model:    $(BIN)/ganlab sample acgan -n 40 -o acgan.png   (ganlab --help)"

# A DVC experiment on the workspace: make exp S="train.epochs=2 data.per_class=64" (each KEY=VALUE is
# one `-S`). A refused one puts params.yaml back (scripts/exp.sh). `dvc exp show` lists them.
exp: setup
	./scripts/exp.sh $(S)

# The study at its report's scale, as a DVC experiment in the workspace: every image of the five
# classes (6000 each), 30 epochs (the WGAN's critic 60), three training seeds. Hours on a 2-core
# CPU, minutes on a GPU (README, "Budget and scaling up"); a killed one resumes where it stopped.
STUDY = data.per_class=null train.epochs=30 seeds=[0,1,2] variants.dcgan.epochs=30 variants.smoothed.epochs=30 \
	variants.noised.epochs=30 variants.acgan.epochs=30 variants.wgan.epochs=60 variants.wgan_gp.epochs=30
study: setup
	./scripts/exp.sh $(STUDY)
	$(BIN)/python pipeline/readme_results.py

# The stabilisers beyond the study against the study's DCGAN at the default budget, three seeds
# (profiles/beyond.yaml): its own project under .ganlab/profiles/beyond, results kept in
# results/beyond/ and shown in the README. ~35 minutes on a 2-core CPU; resumes when killed.
beyond: setup
	$(BIN)/python scripts/run_profile.py profiles/beyond.yaml
	$(BIN)/python pipeline/readme_results.py

# The study's claims (a) and (d) decided on 8 training seeds (issue 27): the DCGAN family in two
# regimes, Adam beta_1 0.9 (the study's code) and 0.5 (the default), 10 epochs a run
# (profiles/claims/): results/claims/<regime>/, summarised in the README. ~40 minutes a regime on
# a 2-core CPU; resumes when killed. One regime: make claims CLAIMS=beta09
CLAIMS ?= beta09 beta05
claims: setup
	for regime in $(CLAIMS); do $(BIN)/python scripts/run_profile.py profiles/claims/$$regime.yaml || exit 1; done
	$(BIN)/python pipeline/readme_results.py

# A first look in about 10 minutes on a 2-core CPU: every stage on one seed, half the images,
# a few epochs a variant (profiles/quick.yaml), as a project of its own under
# .ganlab/profiles/quick/ (the default's outputs stay as they are); its page says it is a preview.
quick: setup
	$(BIN)/python scripts/run_profile.py profiles/quick.yaml --no-results

test: setup browser postgres
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Unused imports and variables, undefined names, likely bugs (ruff; rules in pyproject.toml). CI runs it.
lint: setup
	$(BIN)/ruff check .

# The reproducibility gate: the pipeline on profiles/ci.yaml twice from clean copies; fails on
# any differing number or a dvc status that is not clean (scripts/check_repro.py).
check-repro: setup
	$(BIN)/python scripts/check_repro.py $(CHECK_REPRO_ARGS)

# Speed against the TensorFlow tutorial's loop, FLOP/s against the CPU's peak, the pipeline's
# time outside train steps, a no-op repro: reports/bench.json (tools/bench/).
# Run it on an idle machine; `make bench BENCH_ARGS=dcgan` for one variant. It trains on the
# prepared data and scores with the judge: `dvc repro judge` makes both first (in a fresh clone;
# nothing to do in a reproduced workspace).
bench: setup
	$(BIN)/dvc repro judge
	$(BIN)/python -m tools.bench $(BENCH_ARGS)

# Time to quality (tools/bench/quality.py): minutes until each default run's in-training FID first
# reaches its family's target, and the DCGAN's default settings against the study code's, both
# trained here now as sweep points (8 minutes on a 2-core Xeon with AMX, 2026-12-06; longer on a
# CPU without bfloat16): reports/bench_quality.json.
bench-quality: setup
	$(BIN)/dvc repro judge
	$(BIN)/python -m tools.bench.quality $(BENCH_ARGS)

# bfloat16's quality check (tools/bench/precision.py): each family's default variant trained in
# mixed_bfloat16 at the default's seeds, against the default run's float32 histories at equal
# epochs (~35 minutes on a 2-core CPU, after `make repro`): reports/bench_precision.json.
bench-precision: setup
	$(BIN)/python -m tools.bench.precision $(BENCH_ARGS)

# The budget sweep behind the default budget (docs/budget.md, tools/sweep): make sweep P="dcgan_b32 acgan_b64"
# trains those points (hours for all of them), `make sweep` prints the table of the points run so far.
sweep: setup
	$(BIN)/dvc repro judge
	$(BIN)/python -m tools.sweep $(P) --table

# The MLflow UI on the project's store, with the address that opens the training runs table.
ui: setup
	$(BIN)/ganlab ui
