"""Firehose transform: each clickstream record validated, normalised and given its hour's partition."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit, single_metric
from aws_lambda_powertools.utilities.typing import LambdaContext

from shoplake.clickstream.logged_reasons import cut_addresses, loggable
from shoplake.clickstream.transform import transform

logger = Logger()
tracer = Tracer()
metrics = Metrics()
# A batch of thousands of bad records logs its first reasons; the metric counts them all.
LOGGED_FAILURES_PER_BATCH = 50


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    result = transform(event.get("records") or [])
    for record_id, reason in result.failures[:LOGGED_FAILURES_PER_BATCH]:
        logger.warning("Clickstream record failed the contract", extra={"record_id": record_id, **loggable(reason)})
    metrics.add_metric(name="ClickstreamRecordsOk", unit=MetricUnit.Count, value=result.counts["ok"])
    metrics.add_metric(name="ClickstreamRecordsDropped", unit=MetricUnit.Count, value=result.counts["duplicate"])
    metrics.add_metric(name="ClickstreamRecordsFailed", unit=MetricUnit.Count, value=len(result.failures))
    for reason, count in result.counts.items():
        if reason not in ("ok", "duplicate"):
            with single_metric(name="ClickstreamRecordsFailedBy", unit=MetricUnit.Count, value=count) as metric:
                metric.add_dimension(name="field", value=cut_addresses(reason))  # a key's name may be an address
    return result.response()
