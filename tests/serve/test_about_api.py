"""``about`` in the classify API: each result names the other departments, the item's optional ``department`` is
the writer's own (validated, never echoed), and FEEDBACKML_ORG_FILE names the departments, re-read on reload."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from feedbackml.about import OrgFileError
from feedbackml.model import load_model
from feedbackml.serve import create_app
from tests.serve.test_app import ADMIN, AUTH, COMMENT_TEXT, _settings

TEXT = "采购说要财务先批,财务说要采购先比价"
ORG = "name,aliases\n供应链管理中心,采购|采购部\n"


@pytest.fixture(scope="module")
def model(tiny_model: Path) -> Any:
    return load_model(tiny_model)


def _classify(client: TestClient, *items: dict[str, Any]) -> Any:
    return client.post("/v1/classify", json={"items": list(items)}, headers=AUTH)


def test_results_carry_about_without_the_writers_department(tiny_model: Path, model: Any) -> None:
    with TestClient(create_app(_settings(tiny_model), model=model)) as client:
        response = _classify(
            client,
            {"id": "a", "text": TEXT},
            {"id": "b", "text": TEXT, "department": "采购部"},
            {"id": "c", "text": "IT说这不归他们管,HR又说要找财务", "department": None},
            {"id": "d", "text": "   ", "department": "采购部"},
        )
        schema = client.get("/openapi.json").json()["components"]["schemas"]
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [r.get("about") for r in results[:3]] == [["采购部", "财务部"], ["财务部"], ["IT部", "人力资源部", "财务部"]]
    assert "about" not in results[3] and results[3]["error"]["error_type"] == "empty_text"
    assert "采购部" not in str(results[3])  # the department is never echoed back
    assert "about" in schema["ItemResult"]["required"] and "department" in schema["Item"]["properties"]


def test_about_is_the_same_on_the_event_loop_and_on_a_thread(tiny_model: Path, model: Any) -> None:
    """Short requests run ``about`` inline, long ones on a thread (ABOUT_INLINE_CHARS); both give the same."""
    from feedbackml.serve.service import ABOUT_INLINE_CHARS

    long_text = TEXT + "。" + "流程还是太慢" * (ABOUT_INLINE_CHARS // 6)
    assert len(TEXT) <= ABOUT_INLINE_CHARS < len(long_text) <= 4000
    with TestClient(create_app(_settings(tiny_model), model=model)) as client:
        short = _classify(client, {"id": "a", "text": TEXT}, {"id": "b", "text": TEXT, "department": "采购部"})
        long = _classify(client, {"id": "a", "text": long_text}, {"id": "b", "text": TEXT, "department": "采购部"})
    assert short.status_code == long.status_code == 200, long.text
    assert [r["about"] for r in short.json()["results"]] == [["采购部", "财务部"], ["财务部"]]
    assert [r["about"] for r in long.json()["results"]] == [["采购部", "财务部"], ["财务部"]]


@pytest.mark.parametrize(
    ("department", "message"),
    [
        (COMMENT_TEXT * 20, "field 'items.1.department': String should have at most 200 characters"),
        (5, "field 'items.1.department': Input should be a valid string"),
        ([COMMENT_TEXT], "field 'items.1.department': Input should be a valid string"),
    ],
)
def test_a_bad_department_is_a_422_that_never_echoes_it(
    tiny_model: Path, model: Any, department: object, message: str
) -> None:
    with TestClient(create_app(_settings(tiny_model), model=model)) as client:
        response = _classify(client, {"id": "a", "text": "好"}, {"id": "b", "text": "好", "department": department})
    assert response.status_code == 422 and response.json()["error_type"] == "validation"
    assert response.json()["message"] == message and response.json()["index"] == 1
    assert COMMENT_TEXT not in response.text


def test_the_org_file_names_departments_and_is_read_again_on_reload(
    tiny_model: Path, model: Any, tmp_path: Path
) -> None:
    org = tmp_path / "org.csv"
    org.write_text(ORG, encoding="utf-8")
    admin = {"Authorization": f"Bearer {ADMIN}"}
    with TestClient(create_app(_settings(tiny_model, org_file=org), model=model)) as client:
        first = _classify(client, {"id": "a", "text": TEXT}, {"id": "b", "text": TEXT, "department": "采购"})
        assert [r["about"] for r in first.json()["results"]] == [["供应链管理中心", "财务部"], ["财务部"]]

        org.write_text("name,aliases\n采购部,采购\n,财务\n", encoding="utf-8")  # broken: the old org keeps serving
        failed = client.post("/v1/admin/reload", headers=admin)
        assert failed.status_code == 409 and failed.json()["error_type"] == "reload_failed"
        assert "org.csv:3: field 'name' is empty" in failed.json()["message"]
        assert _classify(client, {"id": "a", "text": TEXT}).json()["results"][0]["about"][0] == "供应链管理中心"

        org.write_text("name,aliases\n采购与物流部,采购\n", encoding="utf-8")
        assert client.post("/v1/admin/reload", headers=admin).status_code == 200
        assert _classify(client, {"id": "a", "text": TEXT}).json()["results"][0]["about"][0] == "采购与物流部"


def test_a_bad_org_file_fails_start_up(tiny_model: Path, model: Any, tmp_path: Path) -> None:
    org = tmp_path / "org.csv"
    org.write_text("title,aliases\n采购部,采购\n", encoding="utf-8")
    with (
        pytest.raises(OrgFileError, match="missing column"),
        TestClient(create_app(_settings(tiny_model, org_file=org), model=model)),
    ):
        pass

    from feedbackml.cli import app as cli

    result = CliRunner().invoke(
        cli, ["serve", "--model", str(tiny_model)], env={"FEEDBACKML_API_KEYS": "k", "FEEDBACKML_ORG_FILE": str(org)}
    )
    assert result.exit_code == 1, result.output
    output = result.output.strip()
    assert output == f"error: cannot serve: {org}:1: missing column(s) name (expected name, aliases[, parent])"
    assert "Traceback" not in result.output
