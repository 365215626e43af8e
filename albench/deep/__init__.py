"""Deep learning in albench: torch learners and torchvision image data sets.

Everything here needs the optional ``deep`` extra (torch, torchvision). This
package's ``__init__`` never imports them, so the learner and data-set
registries can name the deep entries on every installation: where the extra is
missing, those names are registered as unavailable, and naming one says how to
install it.

Modules: ``networks`` (the MLP and the small CNN), ``torch_learners`` (the
scikit-learn classifiers around them), ``vision`` (MNIST, FashionMNIST, CIFAR
through torchvision).
"""

from __future__ import annotations

import importlib
import importlib.util

INSTALL_HINT = "pip install 'albench[deep]'"


class MissingExtra(ImportError):
    """torch or torchvision is not installed (or does not import)."""


def _found(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a finder refused it, or a stub without __spec__ is in sys.modules
        return False


def missing(modules) -> list[str]:
    """The modules of ``modules`` that cannot be found, without importing any."""
    return [m for m in modules if not _found(m)]


def require(module: str):
    """Import ``module``; on failure raise ``MissingExtra`` with the install hint."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingExtra(f"{module} is needed for albench's deep learners and image data sets "
                           f"and could not be imported ({exc}); install the extra: {INSTALL_HINT}") from None


def register_if_installed(registry, name: str, description: str, needs: tuple[str, ...]):
    """Decorator: register a factory when ``needs`` are installed, else mark ``name`` unavailable.

    The factory itself imports torch lazily, so registering costs nothing.
    """

    def deco(factory):
        absent = missing(needs)
        if absent:
            registry.mark_unavailable(name, f"needs {' and '.join(absent)}; install the extra: {INSTALL_HINT}")
        else:
            registry.register(name, description)(factory)
        return factory

    return deco
