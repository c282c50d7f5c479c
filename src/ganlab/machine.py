"""What the machine is: the CPU's model and how it computes bfloat16. Every training run records
it (devices.Execution.facts), and the benches print it."""

from __future__ import annotations

from pathlib import Path

# How a CPU computes bfloat16, by its Linux /proc/cpuinfo flags, the strongest first: AMX's tile
# units (Sapphire Rapids on), or AVX512-BF16's dot products (Cooper Lake, Zen 4 on). oneDNN runs
# each kind through other kernels, so the bfloat16 quality check is made per kind
# (ganlab.devices.BFLOAT16_ON_CPU). Without either oneDNN emulates bfloat16, slower than float32.
BFLOAT16_KINDS = (("amx_bf16", "amx"), ("avx512_bf16", "avx512_bf16"))


def cpu_facts(cpuinfo: str | None = None) -> dict[str, str]:
    """The CPU's model name and how it computes bfloat16 (`amx`, `avx512_bf16`, or `none`:
    emulated), from /proc/cpuinfo (or the given text); "unknown" where it cannot be read."""
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text()
        except OSError:
            return {"cpu": "unknown", "cpu_bfloat16": "unknown"}
    fields = {}
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        fields.setdefault(key.strip(), value.strip())
    flags = set(fields.get("flags", "").split())
    kinds = [kind for flag, kind in BFLOAT16_KINDS if flag in flags]
    return {"cpu": fields.get("model name", "unknown"),
            "cpu_bfloat16": kinds[0] if kinds else ("none" if flags else "unknown")}
