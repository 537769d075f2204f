"""The front end: program text → surface syntax (Lark) → frozen, resolved Program (shapes
unified, broadcasting explicit, intermediates named as the guide names them); layer loops
analysed and unrolled.  Imports the base modules and ir/ only."""
