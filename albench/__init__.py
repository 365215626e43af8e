"""albench: benchmark pool-based active learning and active testing."""

__version__ = "0.1.0"
