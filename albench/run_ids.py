"""Sets of run_ids held as sorted numpy arrays of fixed-width bytes.

A Python set of 4.6 million 16-character run_ids takes about 410 MiB and is
built one string at a time; the same ids as sorted uint64 keys (each 16 hex
digits read as one integer) take 35 MiB, come straight out of an Arrow
column without a Python object per id, and are looked up in batches with
``np.searchsorted``. ``RunIds`` is such a
frozen set; ``SeenRunIds`` one that grows (recent ids in a small set, merged
into the sorted array now and then).
"""

from __future__ import annotations

from typing import Iterable, Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc


HEX_WIDTH = 16  # albench's run_ids: the first 16 hex digits of a sha256 (``albench.spec``)
_HEX_DIGITS = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
_NIBBLE = np.full(256, -1, dtype=np.int16)  # a byte's value as a lowercase hex digit, else -1
_NIBBLE[_HEX_DIGITS] = np.arange(16)
_SHIFTS = np.arange(4 * (HEX_WIDTH - 1), -1, -4, dtype=np.uint64)
BLOCK_ROWS = 1 << 20


def _sorted_unique(values: np.ndarray) -> np.ndarray:
    """``np.unique`` by sort and compare (np.unique took 50 times as long on 10^6 uint64 keys)."""
    values = np.sort(values)
    if len(values) > 1:
        values = values[np.concatenate(([True], values[1:] != values[:-1]))]
    return values


def _as_bytes_array(ids: list[str] | list[bytes]) -> np.ndarray:
    encoded = [i.encode() if isinstance(i, str) else i for i in ids]
    width = max(map(len, encoded), default=1) or 1
    return np.array(encoded, dtype=f"S{width}")


def _hex_keys(ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """16-hex-digit ids (an ``S16`` array) as uint64 keys, and which rows were such ids (others: key 0)."""
    return _hex_rows(ids.view(np.uint8).reshape(-1, HEX_WIDTH))


def _hex_rows(digits: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows of 16 bytes as uint64 keys (hex digits read as one number), and which rows were all digits."""
    keys = np.empty(len(digits), dtype=np.uint64)
    valid = np.empty(len(digits), dtype=bool)
    for start in range(0, len(digits), BLOCK_ROWS):  # bounded temporaries: 2 bytes per digit of a block
        nibbles = _NIBBLE[digits[start:start + BLOCK_ROWS]]
        bad = (nibbles < 0).view(np.uint64)  # 16 bools a row as two words: no slow reduction over short rows
        valid[start:start + BLOCK_ROWS] = (bad[:, 0] | bad[:, 1]) == 0
        packed = ((nibbles[:, 0::2] << 4) | (nibbles[:, 1::2] & 15)).astype(np.uint8)  # two digits a byte
        keys[start:start + BLOCK_ROWS] = packed.view(">u8").ravel()  # 8 bytes, most significant first
    keys[~valid] = 0
    return keys, valid


def _hex_query(run_ids: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """As ``_hex_keys`` for a list of str; ids that are not 16 ASCII characters are not valid."""
    lengths = np.fromiter(map(len, run_ids), dtype=np.int64, count=len(run_ids))
    if (lengths == HEX_WIDTH).all():
        joined = "".join(run_ids).encode()
        if len(joined) == HEX_WIDTH * len(run_ids):  # all ASCII: one C-level join, no object per id
            return _hex_rows(np.frombuffer(joined, dtype=np.uint8).reshape(-1, HEX_WIDTH))
    query, lengths = _encode(run_ids, HEX_WIDTH)
    keys, valid = _hex_keys(query)
    return keys, valid & (lengths == HEX_WIDTH)


def _hex_text(keys: np.ndarray) -> np.ndarray:
    """uint64 keys back to their ``S16`` run_ids."""
    digits = _HEX_DIGITS[((keys[:, None] >> _SHIFTS) & np.uint64(15)).astype(np.intp)]
    return np.ascontiguousarray(digits).view(f"S{HEX_WIDTH}").ravel()


def _encode(run_ids: list[str], width: int) -> tuple[np.ndarray, np.ndarray]:
    """``run_ids`` as an ``S<width>`` array and their encoded lengths (a longer id is cut in the array)."""
    try:  # ASCII ids (all of albench's): no Python bytes object per id
        return (np.array(run_ids, dtype=f"S{width}"),
                np.fromiter(map(len, run_ids), dtype=np.int64, count=len(run_ids)))
    except UnicodeEncodeError:
        encoded = [i.encode() for i in run_ids]
        return (np.array(encoded, dtype=f"S{width}"),
                np.fromiter(map(len, encoded), dtype=np.int64, count=len(encoded)))


class RunIds:
    """A frozen set of run_ids: ``len``, ``in``, iteration (as str) and ``contains`` for a batch.

    When every id is 16 lowercase hex digits (albench's own), they are held
    as sorted uint64 keys (8 bytes an id, integer comparisons); any other ids
    as a sorted bytes array.
    """

    def __init__(self, ids: np.ndarray | None = None):
        """``ids``: any numpy bytes array (sorted and deduplicated here)."""
        ids = np.empty(0, dtype=f"S{HEX_WIDTH}") if ids is None else ids
        keys, valid = _hex_keys(ids) if ids.dtype.itemsize == HEX_WIDTH else (None, None)
        self.hex = keys is not None and bool(valid.all())
        self.ids = _sorted_unique(keys if self.hex else ids)

    @classmethod
    def from_arrow(cls, column: pa.Array | pa.ChunkedArray) -> "RunIds":
        """The distinct non-null values of a string column, without a Python object per value."""
        if isinstance(column, pa.ChunkedArray):
            column = column.combine_chunks() if column.num_chunks else pa.array([], pa.string())
        column = column.drop_null()
        if not len(column):
            return cls()
        binary = pc.cast(column, pa.large_binary() if pa.types.is_large_string(column.type) else pa.binary())
        lengths = pc.binary_length(binary)
        low, high = pc.min_max(lengths).values()
        if low.as_py() == high.as_py() and high.as_py() > 0:  # the usual case: every run_id is 16 hex digits
            width = high.as_py()
            fixed = binary.cast(pa.binary(width))
            return cls(np.frombuffer(fixed.buffers()[1], dtype=f"S{width}", count=len(fixed),
                                     offset=fixed.offset * width))
        return cls(_as_bytes_array(binary.to_pylist()))

    @classmethod
    def from_strings(cls, ids: Iterable[str]) -> "RunIds":
        return cls(_as_bytes_array(list(ids)))

    def as_bytes(self) -> np.ndarray:
        """The ids as a sorted numpy bytes array."""
        return _hex_text(self.ids) if self.hex else self.ids

    def __len__(self) -> int:
        return len(self.ids)

    def __bool__(self) -> bool:
        return len(self.ids) > 0

    def __iter__(self) -> Iterator[str]:
        return (i.decode() for i in self.as_bytes())

    def __contains__(self, run_id: str) -> bool:
        return bool(self.contains([run_id])[0])

    def contains(self, run_ids: list[str]) -> np.ndarray:
        """One bool per id of ``run_ids``: whether it is in the set."""
        if not len(self.ids) or not run_ids:
            return np.zeros(len(run_ids), dtype=bool)
        if self.hex:
            keys, fits = _hex_query(run_ids)
        else:
            width = self.ids.dtype.itemsize
            keys, lengths = _encode(run_ids, width)  # longer ids are cut here, but they cannot be members
            fits = lengths <= width
        at = np.minimum(np.searchsorted(self.ids, keys), len(self.ids) - 1)
        return fits & (self.ids[at] == keys)


class SeenRunIds:
    """A growing set of run_ids: ``add`` and ``in``, with memory of about 16 bytes an id at scale."""

    MERGE_EVERY = 65_536  # recent ids kept as str before they join the sorted array

    def __init__(self):
        self._merged = RunIds()
        self._recent: set[str] = set()

    def add(self, run_id: str) -> None:
        self._recent.add(run_id)
        if len(self._recent) >= self.MERGE_EVERY:
            self._merge()

    def _merge(self) -> None:
        recent, merged = _as_bytes_array(list(self._recent)), self._merged.as_bytes()
        width = max(recent.dtype.itemsize, merged.dtype.itemsize)
        self._merged = RunIds(np.concatenate([merged.astype(f"S{width}"), recent.astype(f"S{width}")]))
        self._recent = set()

    def __contains__(self, run_id: str) -> bool:
        return run_id in self._recent or run_id in self._merged

    def __len__(self) -> int:
        return len(self._merged) + len(self._recent)
