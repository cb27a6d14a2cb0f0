"""Numeric kernels compiled by numba, shared by the modules that have one (rag.postag's
Viterbi, rag.trees' walk down the trees, rag.answer.wording's matches of a question's wording).

numba is imported on first use (a few tenths of a second). The machine code is cached beside
the kernel's module (`__pycache__`) or, where that cannot be written, in the user's cache
directory (or `NUMBA_CACHE_DIR`); with no writable place at all, numba refuses `cache=True`
and the kernel is compiled in every process instead, with a warning that says how to give it
one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any


def compiled(kernel: Callable[..., Any], what: str, log: logging.Logger) -> Any:
    """`kernel` compiled by numba, its code cached where it can be; else compiled without a
    cache and `log` warns (`what`: whose code, as the warning names it)."""
    import numba

    try:
        return numba.njit(cache=True)(kernel)
    except RuntimeError:  # numba: "cannot cache function …: no locator available"
        log.warning("numba cannot cache %s compiled code; set NUMBA_CACHE_DIR to a writable directory", what)
        return numba.njit(kernel)
