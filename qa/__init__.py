"""Question answering over a folder of French news articles."""

__version__ = "0.1.0"
