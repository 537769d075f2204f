"""Code generation independent of an array library: the calling convention (signature) and the
identifiers of generated code.  Imports the engine's results and the layers above them."""
