"""The local stack: the project's real state machine and handlers on moto,
against the Ecwid sandbox. Nothing in functions/ or layers/ imports it."""

import sys
from pathlib import Path

# What the layer puts on a Lambda's path (/opt/python): the handlers the local
# stack runs, and the stack itself, import ecwid_cloner from there.
_LAYER = str(Path(__file__).resolve().parent.parent / "layers" / "cloner")
if _LAYER not in sys.path:
    sys.path.insert(0, _LAYER)
