"""medcorpus: build medical continued-pretraining corpora, from raw sources to Megatron shards."""

import os as _os

# Tracebacks must never show variable values: they can hold clinical text. loguru reads these
# defaults when first imported, here and in every worker process, which inherits the environment.
_os.environ.setdefault("LOGURU_DIAGNOSE", "False")
_os.environ.setdefault("LOGURU_LEVEL", "INFO")


def _quiet_loguru() -> None:
    """Re-add loguru's console handler without variable values, in case loguru was imported first."""
    import sys

    from loguru import logger

    logger.remove()
    logger.add(sys.stderr, level=_os.environ["LOGURU_LEVEL"], diagnose=False)


_quiet_loguru()

__version__ = "0.1.0"
