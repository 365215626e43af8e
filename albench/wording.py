"""Words of messages: counts ('1 run', '3 runs', never '3 run(s)') and "did you mean" hints."""

from __future__ import annotations

import difflib


def counted(n: int, noun: str, plural: str | None = None) -> str:
    """``n`` and the noun in the number it takes; ``plural`` for nouns that do not add an s."""
    return f"{n} {noun if n == 1 else (plural or noun + 's')}"


def were(n: int) -> str:
    """The verb that agrees with a count ('1 row was', '2 rows were')."""
    return "was" if n == 1 else "were"


def are(n: int) -> str:
    return "is" if n == 1 else "are"


def closest(word: str, allowed) -> str:
    """A "did you mean" hint for a misspelt key or name (empty when nothing is close)."""
    close = difflib.get_close_matches(str(word), list(allowed), n=1, cutoff=0.6)
    return f"did you mean '{close[0]}'? " if close else ""


def close_names(name: str, names: list[str], n: int = 3) -> list[str]:
    """Up to ``n`` names like ``name``: difflib's closest, then names holding it whole in their last dotted
    part (``qbc`` -> ``alipy.qbc_kl``), which difflib misses when the typed name is short."""
    close = difflib.get_close_matches(name, names, n=n, cutoff=0.5)
    word = name.lower()
    within = [c for c in names if len(word) >= 2 and word in c.lower().rsplit(".", 1)[-1] and c not in close]
    return (close + within)[:n]
