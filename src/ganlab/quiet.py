"""A quiet terminal: TensorFlow's C++ and absl log lines off unless GANLAB_VERBOSE asks for them.

TensorFlow logs at start-up and while tracing: a oneDNN banner, `I0000`/`W0000` lines, and on
CPU, where Grappler's remapper is on (training turns it off: ganlab.training.seed_everything), an
`E0000 ... meta_optimizer.cc ... remapper failed: INVALID_ARGUMENT` line per traced train step.
None of them is a failure, and a newcomer reads "E ... INVALID_ARGUMENT" as one.

TF_CPP_MIN_LOG_LEVEL no longer reaches all of them: TensorFlow 2.20 writes through absl before
absl is initialised, straight to the process's stderr, whatever the level. So a stage or the
`ganlab` command runs itself once more as a child whose stderr passes through `relay`, which
drops exactly those lines and forwards everything else at once (progress bars, warnings,
tracebacks, a C++ crash's last words: the parent outlives the child), and MLflow logs
warnings only. GANLAB_VERBOSE=1 runs without the relay.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys

VERBOSE_VARIABLE = "GANLAB_VERBOSE"
RELAYED_VARIABLE = "GANLAB_RELAYED"  # set in the child: it must not relay again
PR_SET_PDEATHSIG = 1  # Linux prctl(2)
# absl's line format (`E0000 00:00:1764801234.567890   1234 meta_optimizer.cc:967] ...`) and its
# note that it is not initialised; TensorFlow's own older format (`2026-12-03 17:00:00.000000: I
# tensorflow/...cc:153] ...`); and the second line of cpu_feature_guard's message, which has no
# prefix of its own (shown on CPUs whose instructions the binary was not built for)
TENSORFLOW_LOG_LINE = re.compile(
    rb"(?:[IWE]\d{4} \d\d:\d\d:\d+\.\d+ +\d+ [\w./+-]+:\d+\] "
    rb"|WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR"
    rb"|To enable the following instructions: .*rebuild TensorFlow with the appropriate compiler flags\."
    rb"|\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+: [IWE] [\w./+-]+:\d+\] )")
# How such a line starts: any other line is passed on before its end arrives
LOG_LINE_START = re.compile(rb"[IWE]\d|WARNING: All|To enable t|\d{4}-")
PIECES = re.compile(rb"[^\n]*\n|[^\n]+")  # lines with their newline, and a last unfinished one


def verbose() -> bool:
    return os.environ.get(VERBOSE_VARIABLE, "").strip().lower() not in ("", "0", "false", "no")


def should_relay() -> bool:
    return not verbose() and os.environ.get(RELAYED_VARIABLE) != "1"


def may_be_log_line(start: bytes) -> bool:
    """Whether a line that starts so may still turn out to be one of TensorFlow's."""
    if len(start) < 12:  # too short to tell: a line that starts with a level letter or a digit waits
        return start[:1] in b"IWET0123456789"
    return bool(LOG_LINE_START.match(start))


class LineFilter:
    """Bytes in, the bytes to show out: TensorFlow's log lines are dropped whole; any other text
    is passed on as soon as it cannot be one (a progress bar's `\\r` updates included)."""

    def __init__(self):
        self.held = b""  # the start of a line that may still turn out to be a log line
        self.passing = False  # the current line is known not to be one: its rest passes as it comes

    def feed(self, data: bytes) -> bytes:
        shown = []
        for piece in PIECES.findall(data):
            ends = piece.endswith(b"\n")
            if self.passing:
                shown.append(piece)
            else:
                self.held += piece
                if ends:
                    if not TENSORFLOW_LOG_LINE.match(self.held):
                        shown.append(self.held)
                    self.held = b""
                elif not may_be_log_line(self.held):
                    shown.append(self.held)
                    self.held, self.passing = b"", True
            if ends:
                self.passing = False
        return b"".join(shown)

    def flush(self) -> bytes:
        held, self.held, self.passing = self.held, b"", False
        return held


def die_with_parent() -> None:
    """In the child, before it runs: SIGKILL it when its parent dies (Linux; elsewhere nothing)."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        pass


def relay(argv: list[str]) -> int:
    """Run argv (this very command, again) with its stderr filtered; its exit status.

    The child runs in a session of its own, so a Ctrl-C reaches it once, forwarded from here
    (SIGINT and SIGTERM alike), and it unwinds as it would alone (checkpoint kept, MLflow run
    ended as KILLED). A `kill -9` of this process kills the child too, as it did the stage."""
    # MLflow's INFO lines ("Creating initial MLflow database tables...") are chatter too; its
    # warnings stay. MLFLOW_LOGGING_LEVEL set by the user wins.
    env = {"MLFLOW_LOGGING_LEVEL": "WARNING", **os.environ, RELAYED_VARIABLE: "1"}
    # The handlers go in before the child starts: exec turns a handled signal back to its
    # default in the child, while an ignored one (a job started in the background by a shell
    # ignores SIGINT) would stay ignored there and the forwarded Ctrl-C be lost.
    children: list[subprocess.Popen] = []

    def forward(number, frame):
        for running in children:
            running.send_signal(number)

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, forward)
    child = subprocess.Popen(argv, stderr=subprocess.PIPE, env=env,
                             start_new_session=True, preexec_fn=die_with_parent)
    children.append(child)
    lines, out = LineFilter(), sys.stderr.buffer
    while chunk := os.read(child.stderr.fileno(), 65536):
        out.write(lines.feed(chunk))
        out.flush()
    out.write(lines.flush())
    out.flush()
    status = child.wait()
    return 128 - status if status < 0 else status  # killed by signal N: the shell's 128 + N
