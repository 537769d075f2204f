"""Array-library backends: the NumPy module generator for flat programs and for layer loops.
Reads derivations as data; imported only by check and the façades."""
