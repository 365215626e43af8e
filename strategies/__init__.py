"""Query strategies, one module per family; each registers itself on import.

See ``albench.strategy`` for the contract. ``albench strategies`` lists them.
"""
