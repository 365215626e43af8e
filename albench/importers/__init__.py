"""Converters from other benchmarks' published results into albench's results layout.

``albench import <source> DIR --out results/<name>`` (``albench.cli.importers``);
one module per source: ``ogal`` (the Olympic Games of Active Learning study).
"""
