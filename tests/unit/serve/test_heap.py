"""The serving process freezes its long-lived objects out of the cyclic collector's reach while
it serves, and gives them back when it stops (`qa.serve.heap`; the pauses it avoids are in the
README, "Health under load")."""

from __future__ import annotations

import gc
import weakref

from qa.serve import heap


def test_refreezing_lets_the_objects_that_died_be_collected() -> None:
    class Node:
        def __init__(self) -> None:
            self.me = self  # a cycle: only the cyclic collector can free it

    heap.thaw()
    node = Node()
    alive = weakref.ref(node)
    heap.freeze()
    del node  # garbage now, but frozen: out of the collector's reach
    gc.collect()
    assert alive() is not None
    heap.refreeze()
    assert alive() is None
    heap.thaw()
