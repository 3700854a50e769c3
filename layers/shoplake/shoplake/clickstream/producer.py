"""Put clickstream events on the Kinesis stream from the shop, without ever blocking a request.

`emit` serialises the event and hands it to a bounded queue; a background thread sends
batches with `PutRecords` (at most 500 records and 5 MiB a call) and retries only the
records Kinesis refused, with jittered exponential backoff. A full queue (Kinesis down for
long) refuses new events at once and counts them, rather than slowing the shop.

Limits: Kinesis Data Streams API reference, PutRecords (500 records and 5 MiB a request, 1 MiB a record,
each counting its data blob and its partition key).
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
    """One Kinesis record: the event's compact JSON bytes and its partition key (at most 256 characters)."""

    data: bytes
    partition_key: str

    @property
    def size(self) -> int:
        """Bytes the record counts against PutRecords' limits: the data plus the UTF-8 partition key."""
        return len(self.data) + len(self.partition_key.encode())


def batches(entries: Iterable[Entry]) -> Iterator[list[Entry]]:
    """Consecutive groups within PutRecords' limits: 500 records, 5 MiB including partition keys.

    Order is kept. An entry over 5 MiB on its own is still yielded, alone, and Kinesis will refuse it.
    """
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
    """Send a batch; resend only what Kinesis refused. Returns what was still refused at the end.

    `kinesis` is a boto3 Kinesis client; a record is refused when its result has an `ErrorCode`
    (`ProvisionedThroughputExceededException`, `InternalFailure`). A call that raises (a refused request,
    a network error) is logged and the same records are sent again. Between attempts it sleeps
    `base_delay * 2**attempt` seconds times a jitter factor in [0.5, 1.5). Never raises.
    """
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
    """Puts clickstream events on a Kinesis stream from a background thread; `emit` never blocks.

    `max_queue` bounds the events waiting; the thread waits up to `linger_seconds` to fill a batch (at most
    2,000 events a turn) and sends with `put_with_retries(attempts, base_delay)`. Counters: `sent`,
    `refused` (not queued: queue full, or over 1 MiB) and `undelivered` (refused by Kinesis after every
    retry). The thread is a daemon: call `close` to send what is queued before the process exits.
    """

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
        """Queue one event; never blocks. False if it could not be queued (counted in `refused`).

        `event` becomes compact JSON (values JSON cannot hold, such as datetimes, via `str`); an event over
        1 MiB is refused. The partition key is `session_id`, else `event_id`, else "anonymous", cut to 256
        characters. Raises what `json.dumps` raises despite `default=str` (circular data, non-text keys).
        """
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
        """Wait until everything queued so far has been sent (or given up on), at most `timeout` seconds.

        Returns True if the queue drained in time.
        """
        deadline = time.monotonic() + timeout
        while self._queue.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.01)
        return not self._queue.unfinished_tasks

    def close(self, timeout: float = 10.0) -> None:
        """Flush (up to `timeout` seconds), then stop the thread, waiting up to `timeout` seconds more for it.

        Events emitted after `close` are queued but never sent.
        """
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
