"""The local stack's sessions: each service's model read once a process, a plain client made once a session."""

from __future__ import annotations

from local_stack.iam.principals import EndpointSession

URL = "http://127.0.0.1:5999"


def test_a_plain_client_is_made_once_a_session_and_any_other_afresh() -> None:
    session = EndpointSession(URL, region_name="ap-northeast-2", aws_access_key_id="a", aws_secret_access_key="b")
    s3 = session.client("s3")
    # a plain client is reused, and talks to the local endpoint
    assert session.client("s3") is s3 and s3.meta.endpoint_url == URL
    # one asked for with anything more (another region, another endpoint) is its own
    assert session.client("s3", region_name="us-east-1") is not s3
    assert session.client("s3", endpoint_url="http://127.0.0.1:6000").meta.endpoint_url == "http://127.0.0.1:6000"


def test_sessions_with_other_keys_share_the_models_but_not_their_clients_or_keys() -> None:
    first = EndpointSession(URL, region_name="ap-northeast-2", aws_access_key_id="one", aws_secret_access_key="x")
    second = EndpointSession(URL, region_name="ap-northeast-2", aws_access_key_id="two", aws_secret_access_key="y")
    assert first.client("sqs") is not second.client("sqs")
    assert first.client("sqs")._request_signer._credentials.access_key == "one"
    assert second.client("sqs")._request_signer._credentials.access_key == "two"
    # one loader, read once; boto3's own data path is on its search path once, not once a session
    loader = first._session.get_component("data_loader")
    assert loader is second._session.get_component("data_loader")
    assert len(loader.search_paths) == len(set(loader.search_paths))
