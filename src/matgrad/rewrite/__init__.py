"""Rewriting: rule files loaded and validated, patterns matched, silent algebra (tidy).  Imports
the layers above it (base, ir, front) only."""
