"""Test configuration: the helpers beside the tests are importable, and hypothesis is
deterministic by default (derandomized, no example database), so that the default run — the
README's and CI's — draws the same examples every time.  Long property runs choose their own
seeds: `HYPOTHESIS_PROFILE=random MATGRAD_FUZZ_EXAMPLES=5000 python -m pytest …`."""

import os
import sys
from pathlib import Path

from hypothesis import settings

sys.path.insert(0, str(Path(__file__).parent))

settings.register_profile("deterministic", derandomize=True, database=None)
settings.register_profile("random", derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "deterministic"))
