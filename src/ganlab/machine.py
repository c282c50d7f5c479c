"""What the machine is: the CPU's model and whether it computes bfloat16 natively. Every training
run records it (devices.Execution.facts), and the benches print it."""

from __future__ import annotations

from pathlib import Path

# CPU flags (Linux /proc/cpuinfo) of native bfloat16 arithmetic: AVX512-BF16 (Cooper Lake, Zen 4
# on) and AMX (Sapphire Rapids on). Without them oneDNN emulates bfloat16, which is slower.
BFLOAT16_CPU_FLAGS = frozenset({"avx512_bf16", "amx_bf16"})


def cpu_facts(cpuinfo: str | None = None) -> dict[str, str]:
    """The CPU's model name and whether it computes bfloat16 natively, from /proc/cpuinfo (or
    the given text); "unknown" where it cannot be read (not Linux)."""
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
    return {"cpu": fields.get("model name", "unknown"),
            "cpu_bfloat16": "native" if flags & BFLOAT16_CPU_FLAGS else ("none" if flags else "unknown")}
