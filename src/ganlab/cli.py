"""The shared shell of every pipeline stage: load the config, run, and turn a bad input into
one clear line on stderr and a non-zero exit instead of a traceback."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable

from ganlab.config import PARAMS_FILE, Config, ConfigError, load_config
from ganlab.data import DataError

EXIT_BAD_INPUT = 2


def run_stage(main: Callable[[Config, list[str]], None], argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    try:
        cfg = load_config(os.environ.get("GANLAB_PARAMS", PARAMS_FILE))
        main(cfg, argv)
    except (ConfigError, DataError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(EXIT_BAD_INPUT)
