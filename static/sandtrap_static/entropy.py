"""Shannon entropy of bytes, the usual tell for packed or encrypted code.

Compressed or encrypted data is close to 8 bits per byte; machine code and text sit well below
(roughly 5 to 6.5). Callers bound the input they pass, since this walks every byte.
"""

from __future__ import annotations

import math
from collections import Counter


def shannon(data: bytes) -> float:
    """Bits per byte, 0.0 for empty input."""
    if not data:
        return 0.0
    total = len(data)
    return -sum(count / total * math.log2(count / total) for count in Counter(data).values())
