"""The report stage: reads what prepare, train and evaluate wrote, renders every figure of the
study, the long curves table for `dvc plots`, and reports/index.html."""

from __future__ import annotations

import csv
import html
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ganlab import claims, health
from ganlab.atomic import write_text
from ganlab.claims import BASELINE, STABILISERS
from ganlab.config import Config
from ganlab.data import Dataset, load_prepared
from ganlab.report import figures, forest, many_seeds, prose, side_by_side
from ganlab.report.page import Section, html_results_table, provenance_block, render_page, write_page
from ganlab.metric_table import METRICS
from ganlab.stats import mean_interval
from ganlab.trained_run import run_name
# The final-metrics figure's panels: every headline metric that every variant has.
FINAL_METRICS = {m.key: m.label + (" (lower is better)" if m.lower_is_better else "")
                 for m in METRICS if m.key != "class_accuracy"}


@dataclass
class Report:
    page: Path
    files: list[Path]                     # every figure, animation and the curves table
    frames: list[Path]                    # the side-by-side row's copies of every run's grids
    animations: dict[str, list[Path]]     # variant -> its progress GIF (and MP4)
    run_ids: dict[str, str]               # run name -> MLflow run id of the runs it compares
    headline: dict[str, float]            # metric.variant -> mean over seeds


def read_history(path: Path) -> dict[str, list[float]]:
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: run the training stages first (dvc repro)")
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    if not rows:
        raise ValueError(f"{path} holds no epochs")
    return {key: [float(r[key]) if r[key] != "" else np.nan for r in rows] for key in rows[0]}


# The columns of the long curves table (dvc plots), in order: every run's per-epoch curves.
CURVES = ("images_seen", "train_seconds", "g_loss", "d_loss", "d_acc_real", "d_acc_fake", "g_grad_norm",
          "d_saturation", "fid", "recognisable", "class_entropy", "class_accuracy")


def write_curves(histories: figures.Histories, seeds: list[int], path: Path) -> Path:
    """One row per run and epoch, every curve a column (empty where a family has none)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["variant", "seed", "run", "epoch", *CURVES])
        for variant, runs in histories.items():
            for seed, run in zip(seeds, runs):
                for i, epoch in enumerate(run["epoch"]):
                    values = [run[k][i] if k in run else np.nan for k in CURVES]
                    writer.writerow([variant, seed, run_name(variant, seed), int(epoch),
                                     *["" if np.isnan(v) else f"{v:.6g}" for v in values]])
    return path


def fid_at(run: dict[str, list[float]], images: float) -> float:
    """A run's in-training FID at `images` images seen, linear between its scored epochs."""
    xs, ys = np.asarray(run["images_seen"]), np.asarray(run["fid"])
    scored = ~np.isnan(ys)
    return float(np.interp(images, xs[scored], ys[scored]))


def equal_compute(histories: figures.Histories) -> tuple[float, dict[str, list[float]]]:
    """(images seen, per-seed FIDs at it): every variant's in-training FID at the most images
    that every variant has seen, the variants' ranking at equal compute."""
    reach = min(min(run["images_seen"][-1] for run in runs) for runs in histories.values())
    return reach, {v: [fid_at(run, reach) for run in runs] for v, runs in histories.items()}


def equal_compute_text(histories: figures.Histories) -> str:
    if not all("images_seen" in runs[0] and "fid" in runs[0] for runs in histories.values()):
        return ""
    reach, fids = equal_compute(histories)
    ranked = sorted(fids, key=lambda v: np.mean(fids[v]))
    cells = []
    for v in ranked:
        mean, half = mean_interval(fids[v])
        cells.append(f"{html.escape(v)} {mean:.1f}" + (f" &plusmn; {half:.1f}" if half is not None else ""))
    return " " + prose.text("equal_compute", reach=f"{reach:,.0f}", cells=", ".join(cells))


def cas_text(evaluation: dict) -> str:
    """How the conditional variants' CAS reads against the real reference ("" without one)."""
    conditional = {v: m["cas"] for v, m in evaluation["variants"].items() if "cas" in m}
    reference = evaluation["references"]["real_test"].get("cas")
    if not conditional or reference is None:
        return ""
    values = ", ".join(f"{html.escape(v)} {c:.3f}" for v, c in conditional.items())
    return " " + prose.text("cas", values=values, reference=f"{reference:.3f}")


def memorisation_text(scores: dict[str, list[dict]], reference: dict) -> str:
    """Whether each variant's samples sit closer to the training set than real test images do,
    by the median distance to the nearest training image (mean over seeds)."""
    test = reference["nearest_train"]["median"]
    medians = {v: float(np.mean([run["nearest_train"]["median"] for run in runs])) for v, runs in scores.items()}

    def listed(names: list[str]) -> str:
        return ", ".join(f"{html.escape(v)} {medians[v]:.2f}" for v in names) or "none"

    closer = [v for v in medians if medians[v] < test]
    return prose.text("memorisation_verdict", test=f"{test:.2f}", closer=listed(closer),
                      farther=listed([v for v in medians if v not in closer]))


def further_dcgans(cfg: Config) -> dict[str, str]:
    """Every DCGAN after the first (the baseline) -> the settings it changes, in words: the
    stabilisers beyond the study (ema, diffaugment, spectral_norm, r1, TTUR) as options."""
    dcgans = [v for v in cfg.variants if cfg.variant(v).family == BASELINE]
    if not dcgans:
        return {}
    base = cfg.variant(dcgans[0]).model_dump()
    changes = {}
    for name in dcgans[1:]:
        options = cfg.variant(name).model_dump()
        changes[name] = ", ".join(f"{k}={v}" for k, v in options.items() if base.get(k) != v) or "the same settings"
    return changes


def _model_cards(cfg: Config, seed: int) -> dict[str, dict]:
    return {v: cfg.trained_run(v, seed).card() for v in cfg.variants}


@dataclass
class Inputs:
    """What the report reads: the prepared data, every run's curves, the metrics, the grids."""

    data: Dataset
    seeds: list[int]
    histories: dict[str, list[list[dict]]]
    evaluation: dict
    scores: dict[str, list[dict]]  # per variant: every seed's evaluate results
    grids: dict[str, list[Path]]  # of the first seed, per variant
    all_grids: dict[str, dict[int, list[Path]]]  # per variant and seed
    column_titles: dict[str, list[str]]  # conditional variants: their grids' columns


def read_inputs(cfg: Config) -> Inputs:
    seeds, first = list(cfg.seeds), cfg.seeds[0]
    evaluation = json.loads(cfg.evaluation_file.read_text())
    missing = sorted(set(cfg.variants) - set(evaluation["variants"]))
    if missing or evaluation.get("seeds", [0]) != seeds:
        raise ValueError(f"{cfg.evaluation_file} does not cover variants {missing} / seeds {seeds}: "
                         "run `dvc repro results` first")
    cards = _model_cards(cfg, first)
    by_seed = json.loads(cfg.evaluation_by_seed_file.read_text())["runs"]
    all_grids = {v: {s: cfg.trained_run(v, s).grids() for s in seeds} for v in cfg.variants}
    return Inputs(
        data=load_prepared(cfg.prepared_dataset), seeds=seeds,
        histories={v: [read_history(cfg.trained_run(v, s).history_file) for s in seeds] for v in cfg.variants},
        evaluation=evaluation,
        scores={v: [by_seed[v][str(s)] for s in seeds] for v in cfg.variants},
        grids={v: by_seed[first] for v, by_seed in all_grids.items()},
        all_grids=all_grids,
        column_titles={v: card["class_names"] for v, card in cards.items() if card.get("conditional")},
    )


def draw_figures(cfg: Config, inputs: Inputs, spread: dict) -> dict[str, Path]:
    """Every figure of the study, by section."""
    out, histories, evaluation = cfg.figures_dir, inputs.histories, inputs.evaluation
    compared = {v: h for v, h in histories.items() if cfg.variant(v).family in (BASELINE, *STABILISERS)}
    bars = {v: {k: (values[k], values.get(f"{k}_ci95")) for k in FINAL_METRICS if k in values}
            for v, values in evaluation["variants"].items()}
    data = inputs.data
    return {
        "data": figures.class_samples(data.x_train, data.y_train, data.class_names, out / "class_samples.png"),
        "grids": figures.last_grids({v: g[-1] for v, g in inputs.grids.items()}, inputs.column_titles,
                                    out / "last_grids.png"),
        "accuracy": figures.curves(histories, {"d_acc_real": "on real", "d_acc_fake": "on fake"}, "accuracy",
                                   "Discriminator (critic) accuracy per epoch", out / "accuracy.png"),
        "losses": figures.curves(histories, {"g_loss": "generator", "d_loss": "discriminator (critic)"}, "loss",
                                 "Generator and discriminator loss per epoch", out / "losses.png"),
        "stabilisers": figures.stabilisers(compared or histories, spread, out / "stabilisers.png"),
        "fid": figures.quality_curves(histories, out / "fid.png"),
        "gradients": figures.epoch_panels(
            histories, {"g_grad_norm": ("norm of G's gradient (log scale)", True),
                        "d_saturation": ("share of fakes D gives p(real) <= 0.01", False)},
            "Vanishing gradients: G's gradient and D's saturation per epoch", out / "gradients.png"),
        "coverage": figures.epoch_panels(
            histories, {"class_entropy": ("entropy of the class shares (1: every class alike)", False),
                        "class_accuracy": ("conditional: judge agrees with the class asked for", False)},
            "Mode coverage per epoch (judge's classes of the in-training samples)", out / "coverage.png"),
        "shares": figures.class_shares(
            {**{v: values["class_share"] for v, values in evaluation["variants"].items()},
             "real test images": evaluation["references"]["real_test"]["class_share"]}, out / "class_shares.png"),
        "memorisation": figures.memorisation(
            {v: [run["nearest_train"]["quantiles"] for run in runs] for v, runs in inputs.scores.items()},
            evaluation["references"]["real_test"]["nearest_train"]["quantiles"],
            {v: cfg.trained_run(v, inputs.seeds[0]).nearest_pairs_file for v in cfg.variants},
            out / "memorisation.png"),
        "metrics": figures.final_metrics(bars, evaluation["references"], FINAL_METRICS, out / "final_metrics.png"),
    }


def sections(cfg: Config, inputs: Inputs, written: dict[str, Path], animations: dict[str, list[Path]],
             answers: list[claims.Answer], frames: dict[str, dict[int, list[Path]]]) -> list[Section]:
    data, first = inputs.data, inputs.seeds[0]
    def listed(*topics: str) -> str:
        return "<ul>" + "".join(a.html() for a in answers if not topics or a.topic in topics) + "</ul>"

    rule = claims.markdown([], len(inputs.seeds)).strip()

    def section(key: str, figures_: list[Path] | tuple = (), extra: list[Path] | tuple = (), html_block: str = "",
                **values) -> Section:
        return Section(prose.title(key), prose.text(key, **values), list(figures_), list(extra), html_block=html_block)

    many = many_seeds.html_block(cfg.root, cfg.report_page.parent)
    return [
        section("claims", [written["claims"]] if written.get("claims") else [], html_block=listed(),
                rule=html.escape(rule)),
        *([section("many_seeds", html_block=many)] if many else []),
        section("data", [written["data"]], images=len(data.y_train), classes=len(data.class_names),
                names=html.escape(", ".join(data.class_names))),
        section("grids", [written["grids"]], first=first),
        section("side_by_side", html_block=side_by_side.html_block(frames, cfg.report_page.parent,
                                                                    flagged_runs(inputs.scores, inputs.seeds))),
        section("accuracy", [written["accuracy"]]),
        section("losses", [written["losses"]]),
        section("stabilisers", [written["stabilisers"]], html_block=listed(claims.STABILISED)),
        section("gradients", [written["gradients"]], html_block=listed(claims.GRADIENTS)),
        section("coverage", [written["coverage"], written["shares"]], html_block=listed(claims.CLASSES, claims.COVERAGE),
                cas=cas_text(inputs.evaluation)),
        section("memorisation", [written["memorisation"]],
                verdict=memorisation_text(inputs.scores, inputs.evaluation["references"]["real_test"])),
        *([section("beyond", html_block=listed(claims.BEYOND))] if any(a.topic == claims.BEYOND for a in answers) else []),
        section("progress", [a[0] for a in animations.values()], [p for a in animations.values() for p in a[1:]]),
        section("quality", [written["fid"], written["metrics"]], fid_samples=cfg.train.fid_samples,
                equal_compute=equal_compute_text(inputs.histories), samples=inputs.evaluation["samples"]),
    ]


def flagged_runs(scores: dict[str, list[dict]], seeds: list[int]) -> dict[str, dict[int, str]]:
    """variant -> training seed -> health status of each unhealthy run (ganlab.health)."""
    return {variant: {seed: run["health"] for seed, run in zip(seeds, runs)
                      if run.get("health", health.HEALTHY) != health.HEALTHY} for variant, runs in scores.items()}


def kept_runs(histories: dict[str, list], scores: dict[str, list[dict]]) -> tuple[dict, dict]:
    """The runs the claims rest on: each variant's kept ones (ganlab.health.kept), histories and
    scores alike, in seed order."""
    out_histories, out_scores = {}, {}
    for variant, runs in scores.items():
        keep = [int(i) for i in health.kept({str(i): run.get("health", health.HEALTHY) != health.HEALTHY
                                             for i, run in enumerate(runs)})]
        out_histories[variant] = [histories[variant][i] for i in keep]
        out_scores[variant] = [runs[i] for i in keep]
    return out_histories, out_scores


PREVIEW_NOTE = prose.text("preview") + " "


def headed(title: str, intro: str, preview: bool) -> tuple[str, str]:
    """The page's title and opening paragraph; a preview says so in both."""
    return (f"{title} (preview)", PREVIEW_NOTE + intro) if preview else (title, intro)


def build_report(cfg: Config) -> Report:
    inputs = read_inputs(cfg)
    seeds, first, evaluation = inputs.seeds, inputs.seeds[0], inputs.evaluation
    spread = figures.accuracy_gap_spread(inputs.histories)
    written = draw_figures(cfg, inputs, spread)
    families = {v: cfg.variant(v).family for v in cfg.variants}
    answers = claims.answer(families, *kept_runs(inputs.histories, inputs.scores), further_dcgans(cfg))
    write_text(cfg.claims_file, claims.markdown(answers, len(seeds)) + "\n")
    forest_plot = forest.draw(answers, cfg.figures_dir / "claims.png")
    if forest_plot is not None:  # None: no claim has per-seed values to draw (one seed)
        written["claims"] = forest_plot
    animations = {v: figures.progress_animation(g, cfg.figures_dir / f"progress_{v}") for v, g in inputs.grids.items()}
    frames = side_by_side.copy_frames(inputs.all_grids, cfg.figures_dir)
    curves = write_curves(inputs.histories, seeds, cfg.curves_file)

    seeds_text = prose.text("seeds_many", seeds=seeds) if len(seeds) > 1 else prose.text("seeds_one", first=first)
    intro = prose.text("intro", variants=len(cfg.variants), seeds_text=seeds_text,
                       judge_accuracy=f"{evaluation['judge']['test_accuracy']:.3f}")
    title, intro = headed("GAN lab report", intro, cfg.report.preview)
    page = write_page(cfg.report_page, render_page(title, intro, html_results_table(evaluation) + provenance_block(evaluation),
                                                   sections(cfg, inputs, written, animations, answers, frames),
                                                   cfg.report_page.parent))
    by_seed = json.loads(cfg.evaluation_by_seed_file.read_text())["runs"]
    run_ids = {run_name(v, int(s)): r["mlflow_run_id"] for v, runs in by_seed.items() for s, r in runs.items()
               if r.get("mlflow_run_id")}
    headline = {f"{k}.{v}": values[k] for v, values in evaluation["variants"].items() for k in ("fid", "kid")}
    copied = [p for by_seed in frames.values() for grids in by_seed.values() for p in grids]
    return Report(page, [curves, cfg.claims_file, *written.values(), *(p for a in animations.values() for p in a)],
                  copied,
                  {run_name(v, first): a for v, a in animations.items()}, run_ids, headline)
