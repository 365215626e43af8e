"""Named random streams derived from a run's hyperparameters.

Every stream is keyed by the hyperparameters that should control it, so that
(for example) the train/test split depends only on the data set, ``split`` and
``test_fraction``, not on the strategy or the seed: all strategies are compared
on the same splits and start sets. No global seed is ever set.
"""

from __future__ import annotations

import hashlib
import json

import numpy as np


def _entropy(*keys) -> int:
    digest = hashlib.sha256(json.dumps(keys, sort_keys=True, default=str).encode()).digest()
    return int.from_bytes(digest[:16], "little")


def rng(*keys) -> np.random.Generator:
    """An independent generator for the stream named by ``keys``."""
    return np.random.default_rng(np.random.SeedSequence(_entropy(*keys)))


def int_seed(*keys) -> int:
    """A 31-bit seed for libraries that take an int ``random_state``."""
    return _entropy(*keys) % (2**31 - 1)
