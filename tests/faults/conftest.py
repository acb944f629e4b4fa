"""The fault suite imports its own modules and the interop suite's harness (ensemble.py,
servers.py, zkwire.py)."""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "interop"))
