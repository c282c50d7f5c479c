"""The machine's facts (ganlab.machine): which CPUs compute bfloat16 natively, and how."""

from __future__ import annotations

import pytest

from ganlab.machine import cpu_facts

# Two processors of /proc/cpuinfo, cut to the lines that matter (the machines this project ran on).
XEON = ("processor\t: 0\nmodel name\t: Intel(R) Xeon(R) Platinum 8488C\n"
        "flags\t\t: fpu avx2 avx512f avx512_bf16 amx_bf16 amx_tile amx_int8\n\n"
        "processor\t: 1\nmodel name\t: Intel(R) Xeon(R) Platinum 8488C\nflags\t\t: fpu avx2 avx512f\n")
COOPER_LAKE = "model name\t: Intel(R) Xeon(R) Platinum 8353H\nflags\t\t: avx2 avx512f avx512_bf16\n"
EPYC = "model name\t: AMD EPYC\nflags\t\t: fpu sse4_2 avx avx2 fma f16c vaes\n"


@pytest.mark.parametrize("cpuinfo, name, bfloat16", [
    (XEON, "Intel(R) Xeon(R) Platinum 8488C", "amx"),  # AMX (and AVX512-BF16); the first processor counts
    (COOPER_LAKE, "Intel(R) Xeon(R) Platinum 8353H", "avx512_bf16"),  # AVX512-BF16 without AMX
    (EPYC, "AMD EPYC", "none"),  # AVX2 only: oneDNN emulates bfloat16
    ("processor\t: 0\n", "unknown", "unknown"),  # no flags line (another kernel, a container): no guess
])
def test_which_cpus_compute_bfloat16_natively(cpuinfo, name, bfloat16):
    assert cpu_facts(cpuinfo) == {"cpu": name, "cpu_bfloat16": bfloat16}
