"""``albench.strategies``: the built-in strategies, the repository's top-level ``strategies/`` folder.

The folder keeps its place in the repository (the product card fixes the
layout) but is imported under this name only, so no other ``strategies``
package earlier on ``sys.path`` can shadow it. In a source checkout or an
editable install this module stands for the folder (its ``__path__`` points
there); a built wheel installs the folder itself as the package
``albench/strategies/``, which Python imports in preference to this file.
"""

from pathlib import Path

_FOLDER = Path(__file__).resolve().parent.parent / "strategies"
if not (_FOLDER / "__init__.py").is_file():
    raise ImportError(f"albench's built-in strategies folder is missing: {_FOLDER}")
__path__ = [str(_FOLDER)]
