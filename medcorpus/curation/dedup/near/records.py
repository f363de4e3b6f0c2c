"""The per-document files that pass 1 writes and pass 3 reads, defined once.

For each task, `<docs>/<rank>.info` holds one fixed-size record per document in stream order
(`INFO`, read back as the numpy `INFO_DTYPE`), `<rank>.ids` the ids those records point into, and
`<rank>.full` each document's full MinHash signature.
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

# (field, struct code): source priority, text length, offset and size of the id in the .ids file
_FIELDS = (("priority", "I"), ("length", "Q"), ("offset", "Q"), ("size", "I"))
INFO = struct.Struct("<" + "".join(code for _, code in _FIELDS))
INFO_DTYPE = np.dtype([(name, "<u4" if code == "I" else "<u8") for name, code in _FIELDS])
assert INFO.size == INFO_DTYPE.itemsize  # packed, no padding: the two views of one record agree


def docs_paths(folder: str | Path, rank: int) -> tuple[Path, Path, Path]:
    """The per-task files of pass 1: fixed-size records, ids, full signatures."""
    base = Path(folder) / f"{rank:05d}"
    return base.with_suffix(".info"), base.with_suffix(".ids"), base.with_suffix(".full")
