"""What the cyclic garbage collector of a serving process need not scan.

A loaded index, the model's tokenizer and the language identifier are millions of
long-lived objects. Python's collector scans every one of them in each full collection, which
under load runs about once a second: 50-67 ms each, measured at 128 clients, during which no
thread runs Python, so `/health` answered in 250-500 ms now and then. Frozen (`gc.freeze`), they
are out of its reach and a full collection takes about 5 ms. Objects that die while frozen are
still freed by reference counting; only cycles among them wait for the next `thaw`.

Loading leaves free memory behind in the C heap: onnxruntime parses the 180 MB model file and
copies its weights out, the index's files are read and converted. glibc keeps those freed pages
(about 80 MB at start-up, docs/measurements.md), counted in the process's RSS, until
`malloc_trim` gives them back to the system.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
from collections.abc import Callable
from functools import cache


def freeze() -> None:
    """Puts every object alive now out of the collector's reach (after a full collection, so
    that no garbage is frozen), and the heap's free pages back to the system."""
    gc.collect()
    gc.freeze()
    release_free_memory()


@cache
def _malloc_trim() -> Callable[[int], int] | None:
    """glibc's `malloc_trim`, or None where the C library has none (musl, macOS)."""
    library = ctypes.util.find_library("c")
    return getattr(ctypes.CDLL(library), "malloc_trim", None) if library else None


def release_free_memory() -> bool:
    """Gives the free pages of the C heap back to the system; False where it cannot."""
    trim = _malloc_trim()
    if trim is None:
        return False
    trim(0)
    return True


def refreeze() -> None:
    """After the long-lived objects changed (a new index version is served): the previous ones
    can be collected again, then the living ones are frozen. One full collection, on the
    calling thread."""
    gc.unfreeze()
    freeze()


def thaw() -> None:
    """Everything frozen goes back to the collector (the application stops)."""
    gc.unfreeze()
