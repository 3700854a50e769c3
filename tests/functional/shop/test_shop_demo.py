"""The demo's simulated shoppers: through both tiers, into the database and the clickstream."""

from __future__ import annotations

import base64
import json
from typing import Any

from local_stack.shoppers import run_shoppers
from shoplake.clickstream.transform import transform
from tests.functional.shop.shopping import Recorder


def test_simulated_shoppers_order_pay_and_review_and_are_recorded(
    postgres_dsn: str, shop_schema: str, database: Any, recorder: Recorder
) -> None:
    summary = run_shoppers(postgres_dsn, recorder, 6, search_path=shop_schema, sellers=2, products_per_seller=4)
    assert (summary.shoppers, summary.sellers, summary.products) == (6, 2, 8)
    assert summary.paid >= 1 and summary.orders >= summary.paid
    assert summary.answers[500] == 0 and summary.events == len(recorder.events)
    sold = database.execute("SELECT count(DISTINCT order_id) FROM purchase WHERE status = 'paid'").fetchone()[0]
    assert sold == summary.paid
    assert database.execute("SELECT count(*) FROM review").fetchone()[0] == summary.reviews
    # The clickstream is the contract's, and knows where the visitors were (never the web tier's address).
    records = [{"recordId": str(n), "data": base64.b64encode(json.dumps(e).encode()).decode()}
               for n, e in enumerate(recorder.events)]  # fmt: skip
    assert {r["result"] for r in transform(records).records} == {"Ok"}
    assert {e["client_ip"] for e in recorder.events} != {"127.0.0.1"}
    assert {"purchase", "checkout", "product_view", "sign_up"} <= {e["event_type"] for e in recorder.events}
