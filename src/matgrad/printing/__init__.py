"""Printers: text (Unicode and ASCII), LaTeX and NumPy code, one dispatch table each."""
