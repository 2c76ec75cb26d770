"""Evaluation: reproduce the paper's tables from released data, or compare methods live."""
