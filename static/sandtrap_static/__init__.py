"""Sandtrap's static-analysis engine: typing, YARA, Office/PDF/PE/ELF/script checks, archives.

`analyze(data, name)` is a pure function over bytes that returns a JSON-ready report; the CLI
(`python -m sandtrap_static analyze <path>`) prints that report and nothing else on stdout.
"""

from .analyze import SCHEMA, analyze

__all__ = ["SCHEMA", "analyze"]
__version__ = "0.1.0"
