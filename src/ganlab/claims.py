"""The study's claims, each answered on this run's numbers: holds, does not hold, or cannot tell.

A claim compares per-seed numbers (a variant against the baseline, or against a target) with a
95 % interval over the training seeds: on the paired differences seed by seed where both sides
ran the same seeds (each seed's variants share their data order and draws, so the pair's
difference is the variant's effect), else Welch's. It holds when the whole interval lies on the
claimed side, does not hold when it lies wholly on the other, and "cannot tell" when the
interval straddles the line, or when one seed gives no interval at all. A "cannot tell" says how
many seeds would tell it at the spread measured (seeds_to_tell). No TensorFlow here: the
report stage calls it on the histories and scores it has read.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, replace

import numpy as np
from scipy import stats

from ganlab.stats import mean_interval

HOLDS, FAILS, UNKNOWN = "holds", "does not hold", "cannot tell"

# Families by role: the study's baseline, its two stabilisers, its Wasserstein critics, AC-GAN.
BASELINE, STABILISERS, WASSERSTEIN, CONDITIONAL = "dcgan", ("smoothed", "noised"), ("wgan", "wgan_gp"), "acgan"
# AC-GAN makes "the class it is asked for" when the judge agrees for at least this share.
CLASS_ACCURACY_TARGET = 0.9
# A variant covers a class when the class gets at least this share of a uniform one (1 / K).
COVERAGE_FRACTION = 0.5


# The topics of the claims, the study's (a) to (d) and the stabilisers beyond it; the report
# shows each with its figure.
STABILISED, GRADIENTS, CLASSES, COVERAGE, BEYOND = "stabilisers", "gradients", "classes", "coverage", "beyond"


# Beyond this many seeds a claim is called "more than SEEDS_CAP seeds would tell": a default run
# of that size is days on the project's CPU, and the estimate of a spread from 3 seeds is too
# rough to promise more.
SEEDS_CAP = 100
POWER = 0.8  # the usual design power (Cohen 1988): 4 in 5 runs of that size would tell


def seeds_to_tell(values, line: float = 0.0, confidence: float = 0.95, power: float = POWER,
                  cap: int = SEEDS_CAP) -> int | None:
    """The fewest seeds whose t interval over per-seed `values` (paired differences, or values
    against a target `line`) would lie wholly on one side of `line` with probability `power`,
    were the values' true mean and standard deviation the measured ones (see seeds_for).
    Needs 2 values or more (one says nothing of the spread)."""
    x = np.asarray(values, dtype=np.float64)
    if len(x) < 2:
        raise ValueError("the seeds a claim needs come from the spread of 2 seeds or more")
    return seeds_for(abs(float(x.mean()) - line), float(x.std(ddof=1)), confidence, power, cap)


def seeds_for(effect: float, spread: float, confidence: float = 0.95, power: float = POWER,
              cap: int = SEEDS_CAP) -> int | None:
    """The sample size of the one-sample (paired) t test: the fewest n for which a two-sided
    t interval of the given confidence excludes 0 with probability `power`, when the values'
    mean is `effect` away from the line and their standard deviation is `spread`. Its power is
    read off the noncentral t distribution (noncentrality effect / spread * sqrt(n)), as
    statsmodels' TTestPower solves it. None when no n up to `cap` reaches it (a zero effect
    never does)."""
    if effect == 0:
        return None
    if spread == 0:
        return 2  # no spread at all: every interval is the mean itself
    for n in range(2, cap + 1):
        critical = stats.t.ppf(0.5 + confidence / 2, df=n - 1)
        shift = effect / spread * np.sqrt(n)
        if stats.nct.sf(critical, n - 1, shift) + stats.nct.cdf(-critical, n - 1, shift) >= power:
            return n
    return None


@dataclass(frozen=True)
class Answer:
    topic: str     # STABILISED, GRADIENTS, CLASSES, COVERAGE or BEYOND
    claim: str     # the study's claim, one sentence
    verdict: str   # HOLDS, FAILS or UNKNOWN
    evidence: str  # the numbers it rests on (plain text)
    would_tell: str = ""  # for a "cannot tell": how many seeds would tell it (would_tell())
    # What the verdict rests on, for the report's forest plot: the per-seed values it was
    # computed from (paired differences, or values against a target; none for Welch's), the
    # line the interval is read against, the interval (centre, half-width), and their axis.
    values: tuple[float, ...] = ()
    line: float = 0.0
    interval: tuple[float, float | None] | None = None
    axis: str = ""

    @property
    def label(self) -> str:
        return f"{self.verdict} ({self.would_tell})" if self.would_tell else self.verdict

    def markdown(self) -> str:
        return f"- **{self.label}**: {self.claim} ({self.evidence})"

    def html(self) -> str:
        return (f'<li data-verdict="{self.verdict}"><strong>{html.escape(self.label)}</strong>: '
                f"{html.escape(self.claim)} <span class=\"evidence\">({html.escape(self.evidence)})</span></li>")


def would_tell(seeds: int | None, spread_known: bool = True) -> str:
    """The words for the seeds a "cannot tell" needs: seeds_to_tell's number, or its cap."""
    if not spread_known:
        return "one seed: no spread to say how many would tell"
    return f"~{seeds} seeds would tell" if seeds is not None else f"more than {SEEDS_CAP} seeds would tell"


def difference_interval(a, b, confidence: float = 0.95) -> tuple[float, float | None]:
    """mean(a) - mean(b) and the half-width of its Welch t interval (None unless both have
    two values or more: one seed says nothing about the spread)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    difference = float(a.mean() - b.mean())
    if len(a) < 2 or len(b) < 2:
        return difference, None
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    se = np.sqrt(va + vb)
    if se == 0:
        return difference, 0.0
    dof = (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1))
    return difference, float(stats.t.ppf(0.5 + confidence / 2, dof) * se)


def side(value: float, half: float | None, line: float = 0.0) -> str:
    """HOLDS when the interval value +- half lies wholly above the line, FAILS wholly below,
    UNKNOWN when it holds the line or there is no interval."""
    if half is None or value - half <= line <= value + half:
        return UNKNOWN
    return HOLDS if value - half > line else FAILS


def _fmt(mean: float, half: float | None) -> str:
    return f"{mean:.3g}" + (f" ± {half:.2g}" if half is not None else "")


def _per_seed(values: list[float]) -> str:
    return _fmt(*mean_interval(values))


def compare(topic: str, claim: str, name: str, treated: list[float], base_name: str, base: list[float],
            measure: str, higher_is_claimed: bool) -> Answer:
    """The claim that `treated` lies above (or below) `base`, on per-seed values of `measure`:
    paired seed by seed when both have the same seeds (lists in seed order), else Welch's."""
    paired = len(treated) == len(base)
    if paired:
        differences = np.subtract(treated, base)
        difference, half = mean_interval(differences)
    else:
        difference, half = difference_interval(treated, base)
    verdict = side(difference if higher_is_claimed else -difference, half)
    tell = ""
    if verdict == UNKNOWN:
        if half is None:
            tell = would_tell(None, spread_known=False)
        elif paired:
            tell = would_tell(seeds_to_tell(differences))
        else:  # the spread of a difference of independent seeds
            tell = would_tell(seeds_for(abs(difference), float(np.sqrt(np.var(treated, ddof=1) + np.var(base, ddof=1)))))
    what = "paired difference" if paired else "difference"
    return Answer(topic, claim, verdict, f"{measure}: {name} {_per_seed(treated)} vs {base_name} {_per_seed(base)}; "
                  f"{what} {_fmt(difference, half)} over {min(len(treated), len(base))} seed(s)", tell,
                  values=tuple(float(d) for d in differences) if paired else (), interval=(difference, half),
                  axis=f"{name} - {base_name}: {measure}")


def at_least(topic: str, claim: str, values: list[float], target: float, measure: str) -> Answer:
    """The claim that per-seed `values` reach `target`."""
    mean, half = mean_interval(values)
    verdict = side(mean, half, target)
    tell = ""
    if verdict == UNKNOWN:
        tell = would_tell(seeds_to_tell(values, target) if half is not None else None, spread_known=half is not None)
    return Answer(topic, claim, verdict, f"{measure} {_fmt(mean, half)} over {len(values)} seed(s); target {target:g}",
                  tell, values=tuple(float(v) for v in values), line=target, interval=(mean, half), axis=measure)


def accuracy_band(run: dict[str, list[float]]) -> float:
    """The width of D's accuracy band: the standard deviation over epochs of d_acc_real - d_acc_fake."""
    return float(np.std(np.subtract(run["d_acc_real"], run["d_acc_fake"])))


def loss_unsteadiness(run: dict[str, list[float]]) -> float:
    """How much D's loss moves from epoch to epoch: the mean absolute change."""
    return float(np.mean(np.abs(np.diff(run["d_loss"])))) if len(run["d_loss"]) > 1 else 0.0


def gradient_retention(run: dict[str, list[float]]) -> float:
    """log10 of G's gradient norm in the last epoch over the first: below 0 when it shrinks
    as D learns (vanishing gradients), 0 when it holds."""
    norms = run["g_grad_norm"]
    return float(np.log10(max(norms[-1], 1e-30) / max(norms[0], 1e-30)))


def least_share(shares: dict[str, float]) -> float:
    """The smallest class's share of the samples, as a fraction of a uniform share."""
    return min(shares.values()) * len(shares)


def _first(families: dict[str, str], wanted) -> list[str]:
    wanted = (wanted,) if isinstance(wanted, str) else wanted
    return [name for name, family in families.items() if family in wanted]


def answer(families: dict[str, str], histories: dict[str, list[dict[str, list[float]]]],
           scores: dict[str, list[dict]], changes: dict[str, str] | None = None) -> list[Answer]:
    """Every claim this run's variants can speak to, in the study's order (a) to (d), then
    what each further DCGAN (the baseline's family with other options) buys against it.

    families: variant -> family; histories: variant -> per-seed curves; scores: variant ->
    per-seed evaluate results (class_share, class_accuracy, ...); changes: further DCGAN ->
    what it changes against the baseline, in words (`option=value, ...`)."""
    baselines = _first(families, BASELINE)
    base = baselines[0] if baselines else None
    answers = []
    if base:
        answers += stabiliser_answers(families, histories, base) + gradient_answers(families, histories, base)
    answers += conditional_answers(families, scores)
    if base:
        answers += beyond_answers(scores, changes or {}, base)
    return answers + coverage_answers(families, scores)


def stabiliser_answers(families: dict[str, str], histories: dict, base: str) -> list[Answer]:
    """Claim (a): label smoothing and instance noise narrow D's accuracy band and steady its loss."""
    answers = []
    for name in _first(families, STABILISERS):
        label = "label smoothing" if families[name] == "smoothed" else "instance noise"
        answers.append(compare(
            STABILISED, f"{label.capitalize()} ({name}) narrows the band of D's accuracy on real and on fake ({base}).",
            name, [accuracy_band(r) for r in histories[name]], base, [accuracy_band(r) for r in histories[base]],
            "std over epochs of d_acc_real - d_acc_fake", higher_is_claimed=False))
        answers.append(compare(
            STABILISED, f"{label.capitalize()} ({name}) steadies D's loss ({base}).",
            name, [loss_unsteadiness(r) for r in histories[name]], base,
            [loss_unsteadiness(r) for r in histories[base]],
            "mean |change| of d_loss from epoch to epoch", higher_is_claimed=False))
    return answers


def gradient_answers(families: dict[str, str], histories: dict, base: str) -> list[Answer]:
    """Claim (b): the Wasserstein loss keeps G's gradient from vanishing."""
    answers = []
    for name in _first(families, WASSERSTEIN):
        if "g_grad_norm" not in histories[name][0] or "g_grad_norm" not in histories[base][0]:
            continue
        saturation = [r["d_saturation"][-1] for r in histories[base] if "d_saturation" in r]
        answer_ = compare(
            GRADIENTS, f"The Wasserstein loss ({name}) keeps G's gradient from vanishing where the non-saturating "
            f"GAN loss ({base}) does not.",
            name, [gradient_retention(r) for r in histories[name]], base,
            [gradient_retention(r) for r in histories[base]],
            "log10(G's gradient norm, last epoch / first)", higher_is_claimed=True)
        if saturation:
            answer_ = replace(answer_, evidence=answer_.evidence
                          + f"; {base}'s D saturated on {_per_seed(saturation)} of fakes in the last epoch")
        answers.append(answer_)
    return answers


def conditional_answers(families: dict[str, str], scores: dict[str, list[dict]]) -> list[Answer]:
    """Claim (c): AC-GAN makes the class it is asked for and covers every class."""
    answers = []
    for name in _first(families, CONDITIONAL):
        runs = scores[name]
        answers.append(at_least(CLASSES, f"AC-GAN ({name}) makes the class it is asked for.",
                                [r["class_accuracy"] for r in runs], CLASS_ACCURACY_TARGET,
                                "judge agrees with the requested class for"))
        answers.append(at_least(CLASSES, f"AC-GAN ({name}) covers every class.",
                                [least_share(r["class_share"]) for r in runs], COVERAGE_FRACTION,
                                "smallest class share / uniform share"))
    return answers


def beyond_answers(scores: dict[str, list[dict]], changes: dict[str, str], base: str) -> list[Answer]:
    """What each further DCGAN buys against the study's: a lower FID, more recognisable samples."""
    answers = []
    for name, change in changes.items():
        treated, baseline = scores[name], scores[base]
        answers.append(compare(
            BEYOND, f"{name} ({change}) lowers the FID of the study's DCGAN ({base}).", name,
            [r["fid"] for r in treated], base, [r["fid"] for r in baseline], "FID", higher_is_claimed=False))
        answers.append(compare(
            BEYOND, f"{name} ({change}) makes more recognisable samples than {base}.", name,
            [r["recognisable"] for r in treated], base, [r["recognisable"] for r in baseline],
            "recognisable", higher_is_claimed=True))
    return answers


def coverage_answers(families: dict[str, str], scores: dict[str, list[dict]]) -> list[Answer]:
    """Claim (d): which unconditional variants cover every class (no mode collapse)."""
    answers = []
    for name, runs in scores.items():
        if families[name] == CONDITIONAL:
            continue
        entropy = _per_seed([r["class_entropy"] for r in runs]) if "class_entropy" in runs[0] else "-"
        found = at_least(COVERAGE, f"{name} covers every class (no mode collapse).",
                         [least_share(r["class_share"]) for r in runs], COVERAGE_FRACTION,
                         "smallest class share / uniform share")
        answers.append(replace(found, evidence=found.evidence + f"; class entropy {entropy}"))
    return answers


def markdown(answers: list[Answer], seeds: int) -> str:
    """The claims as a Markdown list (for the README), with how the verdicts were reached."""
    rule = (f"95 % intervals over {seeds} training seeds (on the paired differences seed by seed where a "
            "claim compares two variants); a claim holds (or does not) when the whole interval lies on one side, "
            "and \"cannot tell\" when it straddles the line"
            + (" or, as here, one seed gives no interval." if seeds < 2 else
               f". \"~N seeds would tell\": the seeds an interval needs to decide it 4 times in 5 at the spread "
               f"measured (the power of the paired t test; docs/evaluation.md), capped at {SEEDS_CAP}."))
    return "\n".join([a.markdown() for a in answers] + ["", rule.capitalize()])
