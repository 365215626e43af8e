"""The errors of a results folder (``albench.store``): each message says which folder or file, and why."""

from __future__ import annotations

from albench.wording import counted


class StoreError(ValueError):
    """A results folder that cannot be written or read as asked; the message says why."""


class StoreLocked(StoreError):
    """Another live process is writing to this results folder."""


class DamagedPart(StoreError):
    """A part file that cannot be read (truncated, zero bytes, not Parquet)."""


class PartVanished(StoreError):
    """A listed part file was deleted before it was read (a compaction replaced it): list the parts again."""


class UnstorableRows(StoreError):
    """Rows of a batch that the schema cannot hold; ``bad`` maps a runs row's index to the reason."""

    def __init__(self, bad: dict[int, str]):
        super().__init__(f"{counted(len(bad), 'row')} cannot be stored: " + "; ".join(sorted(set(bad.values()))))
        self.bad = bad
