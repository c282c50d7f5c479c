"""The quiet terminal (ganlab.quiet): TensorFlow's log lines dropped whole, everything else shown
at once, and a relayed command's exit status and Ctrl-C kept."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from ganlab.quiet import LineFilter

# As TensorFlow 2.20 writes them on a CPU (the E0000 one once per traced train step)
ABSL_NOTE = b"WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n"
ONEDNN = (b"I0000 00:00:1796321472.402362    6751 port.cc:153] oneDNN custom operations are on. You may see "
          b"slightly different numerical results.\n")
REMAPPER = (b"E0000 00:00:1796320939.087211    4598 meta_optimizer.cc:967] remapper failed: INVALID_ARGUMENT: "
            b"Mutation::Apply error: fanout 'gradient_tape/discriminator_3/leaky_re_lu_1/LeakyReluGrad_1'\n")
# On a CPU whose instructions the binary was not built for: two lines, the second without a prefix
CPU_FEATURES = (b"I0000 00:00:1796321472.402519    6751 cpu_feature_guard.cc:210] This TensorFlow binary is optimized "
                b"to use available CPU instructions in performance-critical operations.\n"
                b"To enable the following instructions: AVX2 AVX512F AVX512_VNNI FMA, in other operations, rebuild "
                b"TensorFlow with the appropriate compiler flags.\n")
OLD_FORMAT = b"2026-12-03 17:00:00.123456: W tensorflow/core/framework/op_kernel.cc:1830] some warning\n"
KEPT = [b"dcgan-seed0 epoch   2/20  g_loss 0.99\n", b"To enable the GPU, install CUDA\n", b"error: train.epochs must be >= 1\n",
        b"Traceback (most recent call last):\n", b"F0000 00:00:1.0  1 check.cc:1] Check failed: a fatal error stays\n",
        b"Incompatible shapes: [64] vs [32]\n", b"2026/12/03 17:47:42 INFO mlflow.store.db.utils: Creating tables\n"]


def filtered(data: bytes, chunk: int) -> bytes:
    lines = LineFilter()
    out = b"".join(lines.feed(data[i:i + chunk]) for i in range(0, len(data), chunk))
    return out + lines.flush()


def test_tensorflows_lines_are_dropped_whole_and_the_rest_kept_in_any_chunking():
    data = ABSL_NOTE + ONEDNN + CPU_FEATURES + KEPT[0] + REMAPPER + KEPT[1] + OLD_FORMAT + b"".join(KEPT[2:])
    for chunk in (1, 7, 64, len(data)):
        assert filtered(data, chunk) == b"".join(KEPT)


def test_a_progress_bar_is_shown_before_its_line_ends():
    lines = LineFilter()
    assert lines.feed(b"  40%|####      | 8/20 [00:04<00:06]\r") == b"  40%|####      | 8/20 [00:04<00:06]\r"
    assert lines.feed(b"  45%|") == b"  45%|"  # the rest of a line known to be shown passes as it comes
    # a line that may be a log line waits for its end, then goes
    assert lines.feed(b"\nE0000 00:00:1.5   12 x.cc:1] ") == b"\n"
    assert lines.feed(b"dropped\nErrors: 3\n") == b"Errors: 3\n"


def relayed(code: str, caller_sigint=signal.SIG_DFL) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k not in ("GANLAB_VERBOSE", "GANLAB_RELAYED")}
    parent = f"import sys; from ganlab.quiet import relay; sys.exit(relay([sys.executable, '-c', {code!r}]))"
    return subprocess.Popen([sys.executable, "-c", parent], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, caller_sigint))


def test_relay_keeps_the_commands_output_and_exit_status():
    code = ("import sys, os; os.write(2, {!r}); print('result 42'); "
            "sys.stderr.write('warning: real\\n'); sys.exit(3)").format(ABSL_NOTE + REMAPPER)
    out, err = relayed(code).communicate(timeout=60)
    assert (out, err) == (b"result 42\n", b"warning: real\n")
    assert relayed("import sys; sys.exit(3)").wait(timeout=60) == 3
    assert relayed("raise SystemExit('error: bad input')").communicate(timeout=60)[1] == b"error: bad input\n"


@pytest.mark.parametrize("caller_sigint", [signal.SIG_DFL, signal.SIG_IGN])
def test_ctrl_c_reaches_the_command_once_and_it_unwinds(caller_sigint):
    # SIG_IGN: a caller that ignores SIGINT (a shell's background job; some test runners) passed
    # that to the command, which then slept through the forwarded Ctrl-C
    code = ("import sys, time\n"
            "print('ready', flush=True)\n"
            "try:\n    time.sleep(60)\n"
            "except KeyboardInterrupt:\n    sys.stderr.write('unwound\\n'); sys.exit(130)\n")
    process = relayed(code, caller_sigint)
    assert process.stdout.readline() == b"ready\n"
    time.sleep(0.2)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    assert (process.returncode, err) == (130, b"unwound\n")


def test_a_killed_relay_takes_the_command_with_it():
    process = relayed("import os, time; print(os.getpid(), flush=True); time.sleep(60)")
    child = int(process.stdout.readline())
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=60)
    for _ in range(100):
        try:
            os.kill(child, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    os.kill(child, signal.SIGKILL)
    raise AssertionError("the command outlived its killed relay")
