"""adrs: LLM-driven evolutionary algorithm discovery."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("adrs")
except PackageNotFoundError:  # run from a source tree that was never installed
    __version__ = "0+unknown"
