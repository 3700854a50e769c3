"""Put clickstream events on the Kinesis stream from the shop, without ever blocking a request.

`emit` serialises the event and hands it to a bounded queue; a background thread sends
batches with `PutRecords` (at most 500 records and 5 MB a call) and retries only the
records Kinesis refused, with jittered exponential backoff. A full queue (Kinesis down for
long) refuses new events at once and counts them, rather than slowing the shop.
"""

from __future__ import annotations

import json
import logging
import queue
import random
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

logger = logging.getLogger(__name__)

MAX_RECORDS_PER_CALL = 500
MAX_BYTES_PER_CALL = 5 * 2**20
MAX_RECORD_BYTES = 2**20


@dataclass(frozen=True)
class Entry:
    data: bytes
    partition_key: str

    @property
    def size(self) -> int:
        return len(self.data) + len(self.partition_key.encode())


def batches(entries: Iterable[Entry]) -> Iterator[list[Entry]]:
    """Consecutive groups within PutRecords' limits: 500 records, 5 MB including partition keys."""
    batch: list[Entry] = []
    size = 0
    for entry in entries:
        if batch and (len(batch) == MAX_RECORDS_PER_CALL or size + entry.size > MAX_BYTES_PER_CALL):
            yield batch
            batch, size = [], 0
        batch.append(entry)
        size += entry.size
    if batch:
        yield batch


def put_with_retries(
    kinesis: Any,
    stream: str,
    batch: list[Entry],
    *,
    attempts: int = 5,
    base_delay: float = 0.1,
    sleep: Callable[[float], None] = time.sleep,
) -> list[Entry]:
    """Send a batch; resend only what Kinesis refused. Returns what was still refused at the end."""
    pending = batch
    for attempt in range(attempts):
        try:
            answer = kinesis.put_records(
                StreamName=stream, Records=[{"Data": e.data, "PartitionKey": e.partition_key} for e in pending]
            )
            results = answer["Records"]
            pending = [entry for entry, result in zip(pending, results, strict=True) if "ErrorCode" in result]
        except Exception:
            logger.warning("PutRecords failed; retrying", exc_info=True)
        if not pending:
            return []
        if attempt + 1 < attempts:
            sleep(base_delay * 2**attempt * (0.5 + random.random()))  # noqa: S311 - jitter, not secrets
    return pending


class ClickstreamProducer:
    def __init__(
        self,
        kinesis: Any,
        stream: str,
        *,
        max_queue: int = 10_000,
        linger_seconds: float = 0.2,
        attempts: int = 5,
        base_delay: float = 0.1,
    ) -> None:
        self.kinesis = kinesis
        self.stream = stream
        self.attempts = attempts
        self.base_delay = base_delay
        self.linger_seconds = linger_seconds
        self.refused = 0  # events emit() could not queue
        self.undelivered = 0  # events Kinesis still refused after every retry
        self.sent = 0
        self._queue: queue.Queue[Entry | None] = queue.Queue(maxsize=max_queue)
        self._thread = threading.Thread(target=self._run, name="clickstream-producer", daemon=True)
        self._thread.start()

    def emit(self, event: Mapping[str, Any]) -> bool:
        """Queue one event; never blocks. False if it could not be queued (counted in `refused`)."""
        data = json.dumps(event, separators=(",", ":"), default=str).encode()
        if len(data) > MAX_RECORD_BYTES:
            self.refused += 1
            logger.error("Clickstream event over 1 MB refused: %s", event.get("event_id"))
            return False
        key = str(event.get("session_id") or event.get("event_id") or "anonymous")
        try:
            self._queue.put_nowait(Entry(data, key[:256]))
        except queue.Full:
            self.refused += 1
            return False
        return True

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until everything queued so far has been sent (or given up on)."""
        deadline = time.monotonic() + timeout
        while self._queue.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.01)
        return not self._queue.unfinished_tasks

    def close(self, timeout: float = 10.0) -> None:
        self.flush(timeout)
        self._queue.put(None)
        self._thread.join(timeout)

    def _take(self) -> tuple[list[Entry], bool]:
        first = self._queue.get()
        if first is None:
            self._queue.task_done()
            return [], True
        taken, stop = [first], False
        deadline = time.monotonic() + self.linger_seconds
        while len(taken) < MAX_RECORDS_PER_CALL * 4:
            try:
                entry = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                break
            if entry is None:
                self._queue.task_done()
                stop = True
                break
            taken.append(entry)
        return taken, stop

    def _run(self) -> None:
        while True:
            taken, stop = self._take()
            for batch in batches(taken):
                refused = put_with_retries(
                    self.kinesis, self.stream, batch, attempts=self.attempts, base_delay=self.base_delay
                )
                self.sent += len(batch) - len(refused)
                if refused:
                    self.undelivered += len(refused)
                    logger.error(
                        "Kinesis refused %d clickstream records after %d attempts", len(refused), self.attempts
                    )
            for _ in taken:
                self._queue.task_done()
            if stop:
                return
