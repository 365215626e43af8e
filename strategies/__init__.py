"""Query strategies, one module per family; each registers itself on import.

Imported as ``albench.strategies`` (``from albench.strategies.uncertainty import
margin_scores``), never as a top-level ``strategies``: see ``albench/strategies.py``.
See ``albench.strategy`` for the contract. ``albench strategies`` lists them.
"""
