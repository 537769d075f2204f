"""The engine: reverse accumulation by named rules, its results as plain data (Derivation,
Step, History) and the derivation of layer loops at symbolic depth.  Never imports a printer,
a code generator or the API."""
