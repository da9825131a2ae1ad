"""Print the runtime requirements of an installed vLLM distribution, minus the torch family.

Used for the CPU build, whose torch pin (`torch==X+cpu`) cannot be resolved from PyPI: torch is installed
first from a CPU wheel, then everything else vLLM needs comes from here.
"""
import sys
from importlib.metadata import requires

from packaging.requirements import Requirement

SKIP = {"torch", "torchvision", "torchaudio", "torchcodec"}

for line in requires(sys.argv[1]) or []:
    req = Requirement(line)
    if req.name.lower() in SKIP:
        continue
    if req.marker is not None and not req.marker.evaluate({"extra": ""}):
        continue
    req.marker = None
    print(req)
