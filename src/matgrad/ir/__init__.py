"""The intermediate representation: dimensions, frozen expression nodes, shapes, layer indices,
the independent interpreter and the notation printer every layer's messages use.  Imports only
the base modules (errors, functions)."""
