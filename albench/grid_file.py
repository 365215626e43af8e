"""Reading a grid file safely: bytes to a plain YAML document, or one ``GridError`` line.

A grid file may come from anyone, so reading it is bounded before anything
trusts it: its size (``MAX_BYTES``), its nesting depth (``MAX_DEPTH``, also
after expanding aliases) and the number of values it holds once every alias
is expanded (``MAX_NODES``: a one-kilobyte "billion laughs" file expands to
10^9 values). It must be UTF-8 text (UTF-16 and other encodings are refused
rather than guessed), and a key given twice in one mapping is an error, not
"the last one wins". Only plain YAML types are built (``yaml.SafeLoader``).
"""

from __future__ import annotations

from typing import Any

import yaml

from albench.spec import GridError

MAX_BYTES = 1 << 20  # 1 MiB: a grid of millions of runs takes a few hundred bytes
MAX_DEPTH = 40  # grids nest four or five levels (params.strategy.kwargs.list)
MAX_NODES = 1_000_000  # values once aliases are expanded


def read_grid_document(path: str) -> Any:
    """The YAML document of the grid file at ``path``; ``GridError`` (one line) for anything unsafe."""
    text = _read_text(path)
    loader = _BoundedLoader(text, path)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _expanded_size(path, node, {}, 1)
        return loader.construct_document(node)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise GridError(f"{path}: malformed YAML{where}: {problem}") from None
    finally:
        loader.dispose()


def _read_text(path: str) -> str:
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_BYTES + 1)  # bounded even for /dev/zero or a pipe
    except OSError as exc:
        raise GridError(f"{path}: cannot read grid file: {exc.strerror or exc}") from None
    if len(data) > MAX_BYTES:
        raise GridError(f"{path}: grid file larger than {MAX_BYTES // 1024} KiB; a grid file lists values, "
                        f"use {{range: [start, stop]}} for long integer axes")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in data:
        raise GridError(f"{path}: not a UTF-8 text file (UTF-16 or binary: it holds NUL bytes); save it as UTF-8")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise GridError(f"{path}: not a UTF-8 text file (byte 0x{data[exc.start]:02x} at offset {exc.start}); "
                        f"save it as UTF-8") from None


class _BoundedLoader(yaml.SafeLoader):
    """SafeLoader with a nesting bound while composing and duplicate keys refused while constructing."""

    def __init__(self, text: str, path: str):
        super().__init__(text)
        self._path, self._depth = path, 0

    def compose_node(self, parent, index):
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                mark = self.peek_event().start_mark
                raise GridError(f"{self._path}: nested deeper than {MAX_DEPTH} levels (line {mark.line + 1}); "
                                f"a grid is a few levels of mappings and lists")
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_mapping(self, node, deep=False):
        if isinstance(node, yaml.MappingNode):
            seen: dict[Any, int] = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":  # `<<: *base` then overriding keys is allowed
                    continue
                key = self.construct_object(key_node, deep=True)
                line = key_node.start_mark.line + 1
                try:
                    first = seen.get(key)
                except TypeError:  # an unhashable key: SafeLoader's own error names it
                    break
                if first is not None:
                    raise GridError(f"{self._path}: key {key!r} given twice in one mapping "
                                    f"(lines {first} and {line}); give it once")
                seen[key] = line
        return super().construct_mapping(node, deep=deep)


def _expanded_size(path: str, node: yaml.Node, seen: dict[int, tuple[int, int]], depth: int) -> tuple[int, int]:
    """(values, levels) under ``node`` with aliases expanded, without expanding them (each node visited once)."""
    known = seen.get(id(node))
    if known is not None:
        if known[0] < 0:
            raise GridError(f"{path}: an alias (*name) refers to a mapping or list that contains it")
        size, height = known
    elif isinstance(node, yaml.ScalarNode):
        size, height = 1, 1
    else:
        seen[id(node)] = (-1, 0)  # in progress: meeting it again is a cycle
        children = node.value if isinstance(node, yaml.SequenceNode) else [n for pair in node.value for n in pair]
        size, height = 1, 1
        for child in children:
            child_size, child_height = _expanded_size(path, child, seen, depth + 1)
            size, height = size + child_size, max(height, child_height + 1)
            if size > MAX_NODES:
                raise GridError(f"{path}: more than {MAX_NODES:,} values once its aliases (*name) are expanded; "
                                f"a grid file that large is a mistake or an alias bomb")
        seen[id(node)] = (size, height)
    if depth + height - 1 > MAX_DEPTH:
        raise GridError(f"{path}: nested deeper than {MAX_DEPTH} levels once its aliases (*name) are expanded")
    return size, height
