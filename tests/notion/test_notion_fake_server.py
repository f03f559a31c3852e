"""FakeNotionServer enforces Notion's headers and limits, speaks its error shape, and injects faults."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from csm_rules.testing.fake_notion import NOTION_VERSION, FakeNotionServer, Fault


@pytest.fixture
def http(fake: FakeNotionServer) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {fake.token}", "Notion-Version": NOTION_VERSION}
    with httpx.Client(base_url=f"{fake.base_url}/v1", headers=headers, timeout=2) as client:
        yield client


def _para(text: str, children: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    block: dict[str, Any] = {
        "type": "paragraph",
        "paragraph": {"rich_text": [{"type": "text", "text": {"content": text}}]},
    }
    if children:
        block["paragraph"]["children"] = children
    return block


def _page(fake: FakeNotionServer) -> tuple[str, str]:
    db = fake.add_database("Docs", {"Name": "title", "Score": "number", "RAG": "select"})
    return db.data_source_id, fake.add_page(db.data_source_id, {"Name": "One"})


def test_headers_are_enforced(fake: FakeNotionServer, http: httpx.Client) -> None:
    db = fake.add_database("Docs", {"Name": "title"})
    assert http.get(f"/databases/{db.database_id}").json()["data_sources"][0]["id"] == db.data_source_id
    reply = httpx.get(
        f"{fake.base_url}/v1/databases/{db.database_id}", headers={"Notion-Version": NOTION_VERSION}
    )
    assert reply.status_code == 401
    assert reply.json() == {**reply.json(), "object": "error", "status": 401, "code": "unauthorized"}
    no_version = httpx.get(
        f"{fake.base_url}/v1/databases/{db.database_id}", headers={"Authorization": f"Bearer {fake.token}"}
    )
    assert no_version.status_code == 400
    assert no_version.json()["code"] == "missing_version"


def test_limits_are_enforced(fake: FakeNotionServer, http: httpx.Client) -> None:
    source, page = _page(fake)
    too_many = http.patch(f"/blocks/{page}/children", json={"children": [_para("x")] * 101})
    assert too_many.status_code == 400
    assert too_many.json()["code"] == "validation_error"
    too_long = http.patch(f"/blocks/{page}/children", json={"children": [_para("x" * 2001)]})
    assert too_long.status_code == 400
    parts = [{"type": "text", "text": {"content": "x"}}] * 101
    too_many_parts = http.patch(
        f"/blocks/{page}/children",
        json={"children": [{"type": "paragraph", "paragraph": {"rich_text": parts}}]},
    )
    assert too_many_parts.status_code == 400
    two_levels = _para("a", [_para("b", [_para("c")])])
    assert http.patch(f"/blocks/{page}/children", json={"children": [two_levels]}).status_code == 200
    three_levels = _para("a", [_para("b", [_para("c", [_para("d")])])])
    assert http.patch(f"/blocks/{page}/children", json={"children": [three_levels]}).status_code == 400
    assert http.post(f"/data_sources/{source}/query", json={"page_size": 101}).status_code == 400
    assert len(fake.children(page)) == 1  # rejected requests changed nothing


def test_property_validation(fake: FakeNotionServer, http: httpx.Client) -> None:
    _, page = _page(fake)
    unknown = http.patch(f"/pages/{page}", json={"properties": {"Nope": {"number": 1}}})
    assert unknown.status_code == 400
    assert "not a property that exists" in unknown.json()["message"]
    wrong = http.patch(f"/pages/{page}", json={"properties": {"Score": {"select": {"name": "x"}}}})
    assert wrong.status_code == 400
    assert wrong.json()["code"] == "validation_error"
    ok = http.patch(
        f"/pages/{page}", json={"properties": {"Score": {"number": 7.5}, "RAG": {"select": {"name": "Red"}}}}
    )
    assert ok.status_code == 200
    stored = fake.page(page)["properties"]
    assert stored["Score"]["number"] == 7.5
    assert stored["RAG"]["select"]["name"] == "Red"


def test_pagination_and_filters(fake: FakeNotionServer, http: httpx.Client) -> None:
    db = fake.add_database("Rows", {"Name": "title", "N": "number"})
    for n in range(230):
        fake.add_page(db.data_source_id, {"Name": f"r{n}", "N": n})
    seen, cursor = [], None
    while True:
        body: dict[str, Any] = {"page_size": 100, **({"start_cursor": cursor} if cursor else {})}
        reply = http.post(f"/data_sources/{db.data_source_id}/query", json=body).json()
        seen += [r["properties"]["N"]["number"] for r in reply["results"]]
        if not reply["has_more"]:
            break
        cursor = reply["next_cursor"]
    assert seen == list(range(230))
    hit = http.post(
        f"/data_sources/{db.data_source_id}/query",
        json={"filter": {"property": "Name", "title": {"equals": "r7"}}},
    ).json()
    assert [r["properties"]["N"]["number"] for r in hit["results"]] == [7]


def test_faults_and_request_log(fake: FakeNotionServer, http: httpx.Client) -> None:
    _, page = _page(fake)
    fake.inject(Fault(status=429, retry_after=2, method="GET"), Fault(status=529, path=r"^/v1/pages/"))
    limited = http.get(f"/pages/{page}")
    assert limited.status_code == 429
    assert limited.headers["Retry-After"] == "2"
    assert http.get(f"/pages/{page}").status_code == 529
    assert http.get(f"/pages/{page}").status_code == 200
    fake.inject(Fault(drop=True, after=True, method="PATCH"))
    with pytest.raises(httpx.RemoteProtocolError):
        http.patch(f"/pages/{page}", json={"properties": {"Score": {"number": 1}}})
    assert fake.page(page)["properties"]["Score"]["number"] == 1  # processed, then the reply was lost
    fake.inject(Fault(delay=0.5, method="GET"))
    with pytest.raises(httpx.ReadTimeout):
        http.get(f"/pages/{page}", timeout=0.1)
    time.sleep(0.6)  # the slow reply is logged once the server has answered
    log = fake.requests
    assert [r.status for r in log] == [429, 529, 200, 0, 200]
    assert all("Authorization" not in repr(r) and fake.token not in repr(r) for r in log)
    assert fake.count("GET", r"^/v1/pages/") == 4


def test_random_faults_are_seeded(fake: FakeNotionServer, http: httpx.Client) -> None:
    _, page = _page(fake)
    fake.random_faults(0.5, seed=4)
    statuses = [http.get(f"/pages/{page}").status_code for _ in range(40)]
    assert 5 < sum(s != 200 for s in statuses) < 35
    assert set(statuses) <= {200, 429, 500, 502, 503, 504, 529}


def test_max_in_flight_counts_requests_held_at_once(fake: FakeNotionServer, http: httpx.Client) -> None:
    db = fake.add_database("Docs", {"Name": "title"})
    fake.latency = 0.2
    http.get(f"/databases/{db.database_id}")
    http.get(f"/databases/{db.database_id}")
    assert fake.max_in_flight == 1  # one after the other
    fake.clear_log()
    assert fake.max_in_flight == 0
    with ThreadPoolExecutor(3) as pool:
        replies = list(pool.map(lambda _: http.get(f"/databases/{db.database_id}"), range(3)))
    assert [r.status_code for r in replies] == [200] * 3
    assert fake.max_in_flight == 3
