"""What the cyclic garbage collector of a serving process need not scan.

A loaded index, the model's tokenizer and the language identifier are millions of
long-lived objects. Python's collector scans every one of them in each full collection, which
under load runs about once a second: 50-67 ms each, measured at 128 clients, during which no
thread runs Python, so `/health` answered in 250-500 ms now and then. Frozen (`gc.freeze`), they
are out of its reach and a full collection takes about 5 ms. Objects that die while frozen are
still freed by reference counting; only cycles among them wait for the next `thaw`.
"""

from __future__ import annotations

import gc


def freeze() -> None:
    """Puts every object alive now out of the collector's reach (after a full collection, so
    that no garbage is frozen)."""
    gc.collect()
    gc.freeze()


def refreeze() -> None:
    """After the long-lived objects changed (a new index version is served): the previous ones
    can be collected again, then the living ones are frozen. One full collection, on the
    calling thread."""
    gc.unfreeze()
    freeze()


def thaw() -> None:
    """Everything frozen goes back to the collector (the application stops)."""
    gc.unfreeze()
