"""The project on disk: where each stage writes (params.yaml's `paths:`, which dvc.yaml
interpolates) and every file under those folders, resolved against the project root. Config
(the schema, ganlab.config) mixes ProjectLayout in, so `cfg.evaluation_file` and the like are
spelled out here and nowhere else; a trained run's own files are ganlab.trained_run's."""

from __future__ import annotations

from pathlib import Path

from ganlab.strict import Strict
from ganlab.trained_run import TrainedRun

# File names inside the judge's folder.
JUDGE_MODEL = "judge.keras"
JUDGE_FACTS = "judge.json"


class PathsConfig(Strict):
    """Where each stage writes, relative to the project root."""

    prepared: str
    models: str
    training: str
    figures: str
    checkpoints: str
    judge: str
    source: str  # the check stage's digest of the data source (prepare's dependency)
    scores: str  # one score stage's scores per run, and the references'
    evaluation: str
    results_table: str
    evaluation_by_seed: str
    report: str
    curves: str
    claims: str  # the study's claims answered (make repro puts it in README.md)
    bench: str  # `make bench`'s figures (not a pipeline output)


class ProjectLayout:
    """The paths of a Config (which holds `paths` and `_root`)."""

    def path(self, relative: str) -> Path:
        return (self._root / relative).resolve()

    @property
    def root(self) -> Path:
        return self._root

    @property
    def prepared_dataset(self) -> Path:
        return self.path(self.paths.prepared) / "dataset.npz"

    @property
    def prepared_facts(self) -> Path:
        return self.path(self.paths.prepared) / "dataset.json"

    def trained_run(self, variant: str, seed: int) -> TrainedRun:
        """Every file of one (variant, seed) run, and its generator."""
        return TrainedRun.under(variant, seed, self.path(self.paths.models), self.path(self.paths.training),
                                self.path(self.paths.checkpoints), self.path(self.paths.scores))

    @property
    def judge_dir(self) -> Path:
        return self.path(self.paths.judge)

    @property
    def judge_model_file(self) -> Path:
        return self.judge_dir / JUDGE_MODEL

    @property
    def judge_facts_file(self) -> Path:
        """The judge's test accuracy, feature layer, class names and file hash."""
        return self.judge_dir / JUDGE_FACTS

    @property
    def source_facts(self) -> Path:
        """What the check stage saw of the data source: its digest (what prepare depends on)."""
        return self.path(self.paths.source)

    @property
    def references_file(self) -> Path:
        """The references' scores (real test images, noise) and the judge they used."""
        return self.path(self.paths.scores) / "references.json"

    @property
    def claims_file(self) -> Path:
        """The study's claims answered, as Markdown (the report stage's; spliced into the README)."""
        return self.path(self.paths.claims)

    @property
    def results_table_file(self) -> Path:
        """The results as a Markdown table (spliced into the README by `make repro`)."""
        return self.path(self.paths.results_table)

    @property
    def evaluation_file(self) -> Path:
        """Every variant's sample-quality metrics and the references (a DVC metrics file)."""
        return self.path(self.paths.evaluation)

    @property
    def evaluation_by_seed_file(self) -> Path:
        return self.path(self.paths.evaluation_by_seed)

    @property
    def figures_dir(self) -> Path:
        return self.path(self.paths.figures)

    @property
    def report_page(self) -> Path:
        return self.path(self.paths.report)

    @property
    def bench_file(self) -> Path:
        return self.path(self.paths.bench)

    @property
    def curves_file(self) -> Path:
        """Every run's per-epoch curves in one long table: what `dvc plots` draws across variants."""
        return self.path(self.paths.curves)
