"""Keep start-up messages a user cannot act on out of the log."""
import contextlib
import logging
import re
from typing import Iterator, List

from mmengine.logging import MMLogger


class _Withhold(logging.Filter):

    def __init__(self, pattern: str) -> None:
        super().__init__()
        self.pattern = re.compile(pattern)
        self.held: List[str] = []

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if self.pattern.search(message):
            self.held.append(message)
            return False
        return True


@contextlib.contextmanager
def withheld_log_records(pattern: str) -> Iterator[List[str]]:
    """Drop the current MMEngine logger's records whose message matches
    ``pattern`` (a regular expression) while the block runs.

    Yields the list of the withheld messages, so that the caller can say in
    one line what would have been many.
    """
    logger = MMLogger.get_current_instance()
    withhold = _Withhold(pattern)
    logger.addFilter(withhold)
    try:
        yield withhold.held
    finally:
        logger.removeFilter(withhold)
