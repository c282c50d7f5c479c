"""The shared shell of every pipeline stage: load the config, run, and turn a bad input into
one clear line on stderr and a non-zero exit instead of a traceback."""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path

from ganlab.config import PARAMS_FILE, Config, ConfigError, load_config
from ganlab.data import DataError
from ganlab.quiet import relay, should_relay

EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130


def _interrupt(signum, frame):
    # `kill`, `dvc queue kill` and CI timeouts send SIGTERM: unwind like Ctrl-C, so the MLflow
    # run is marked KILLED and nothing is left half-written (checkpoints are replaced atomically).
    raise KeyboardInterrupt(signal.Signals(signum).name)


STAGE_TIMES = Path(".ganlab") / "stage_times.jsonl"


def _process_age() -> float:
    """Seconds since this process started (interpreter and imports included), from /proc."""
    try:
        ticks = int(Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()[19])
        uptime = float(Path("/proc/uptime").read_text().split()[0])
        return uptime - ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return float("nan")


def record_stage_time(root: Path, name: str) -> None:
    """One line per finished stage in .ganlab/stage_times.jsonl (what `make bench` reads to split
    a `dvc repro` into train steps and everything else)."""
    entry = {"stage": os.environ.get("DVC_STAGE") or name, "seconds": round(_process_age(), 2),
             "finished": time.time()}
    try:
        path = Path(os.environ.get("DVC_ROOT") or root) / STAGE_TIMES
        path.parent.mkdir(exist_ok=True)
        with open(path, "a") as fh:
            fh.write(json.dumps(entry) + "\n")
    except OSError:
        pass  # a timing record is never worth failing a stage for


def stage_arguments(argv: list[str]) -> list[str]:
    """A per-run stage's VARIANT and SEED: its arguments, or under DVC (no arguments) its stage's
    name, `train@<variant>-<seed>`. dvc.yaml never puts params values on the stage's shell line:
    a value such as `1;touch x` would run as a command there, before any check could refuse it."""
    stage = os.environ.get("DVC_STAGE", "")
    if argv or "@" not in stage:
        return argv
    key = stage.rsplit(":", 1)[-1].split("@", 1)[1]  # dvc.yaml:train@dcgan-0 -> dcgan-0
    return key.rsplit("-", 1) if "-" in key else [key]


def variant_and_seed(cfg: Config, argv: list[str], script: str) -> tuple[str, int]:
    """A per-run stage's arguments, VARIANT [SEED] (or its DVC stage's name), checked against
    params.yaml."""
    argv = stage_arguments(argv)
    if len(argv) not in (1, 2) or (len(argv) == 2 and not argv[1].isdigit()):
        raise ConfigError(f"usage: python pipeline/{script} VARIANT [SEED] (variants: {', '.join(cfg.variants)}; "
                          f"seeds: {cfg.seeds}; SEED defaults to the first)")
    variant, seed = argv[0], int(argv[1]) if len(argv) == 2 else cfg.seeds[0]
    cfg.variant(variant)  # an unknown name or seed fails here, before TensorFlow is imported
    cfg.check_seed(seed)
    return variant, seed


INTERRUPTED = "interrupted: nothing half-written is left (outputs are replaced whole); run `dvc repro` again"
INTERRUPTED_TRAINING = ("interrupted: the last finished epoch's checkpoint is kept; run `dvc repro` again to "
                        "resume")


def run_stage(main: Callable[[Config, list[str]], None], argv: list[str] | None = None,
              interrupted: str = INTERRUPTED) -> None:
    """Run a stage's main: bad input becomes one `error:` line (exit 2), Ctrl-C or SIGTERM the
    `interrupted` line (exit 130)."""
    from ganlab.preflight import preflight

    if argv is None and should_relay():  # run as a script: once more, with TensorFlow's log lines dropped
        sys.exit(relay([sys.executable, *sys.argv]))
    argv = sys.argv[1:] if argv is None else argv
    signal.signal(signal.SIGTERM, _interrupt)
    # A shell starts background jobs with SIGINT ignored, and Python then keeps it ignored: a
    # stage under `make ... &` or CI would not stop on Ctrl-C / kill -INT. Ctrl-C always interrupts.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        cfg = load_config(os.environ.get("GANLAB_PARAMS", PARAMS_FILE))
        preflight(cfg)
        main(cfg, argv)
        record_stage_time(cfg.root, " ".join([Path(sys.argv[0]).stem, *argv]))
    except (ConfigError, DataError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(EXIT_BAD_INPUT)
    except KeyboardInterrupt:
        print(interrupted, file=sys.stderr)
        sys.exit(EXIT_INTERRUPTED)
