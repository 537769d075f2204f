"""`python -m matgrad`: the same command as `matgrad` (matgrad.cli)."""

from __future__ import annotations

import sys

from matgrad.cli import main

sys.exit(main())
