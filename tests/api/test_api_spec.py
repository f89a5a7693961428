"""The spec at /api/v1/openapi.json: valid OpenAPI 3.1, generated from the routes, every route
in it with its models, role and problem+json errors; /api/docs shows it from our own host."""

from __future__ import annotations

import pytest
from helpers.api import bearer
from helpers.browser import Watch
from openapi_spec_validator import validate

PROBLEM = "application/problem+json"


@pytest.fixture
def document(client) -> dict:
    response = client.get("/api/v1/openapi.json")  # open: it holds no data
    assert response.status_code == 200 and response.mimetype == "application/json"
    return response.get_json()


def test_the_spec_is_valid_openapi_3_1_with_the_bearer_scheme(document):
    validate(document)  # raises on any fault

    assert document["openapi"].startswith("3.1")
    assert document["components"]["securitySchemes"]["bearer"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "newsletter api-token create",
    }
    assert document["security"] == [{"bearer": []}]


def test_every_api_route_is_in_the_spec_with_a_role_and_problem_errors(app, document):
    routes = [
        rule
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("api.") and rule.endpoint != "api.openapi"
    ]
    assert routes
    for rule in routes:
        view = app.view_functions[rule.endpoint]
        assert getattr(view, "required_role", None), f"{rule} declares no role"
        path = rule.rule.replace("<", "{").replace(">", "}").replace("{int:", "{")
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            operation = document["paths"][path][method.lower()]
            answers = operation["responses"]
            for code in ("401", "403", "422", "429"):
                assert PROBLEM in answers[code]["content"], f"{method} {path} {code}"
            assert any(code.startswith("2") for code in answers), f"{method} {path}"


def test_the_lists_routes_carry_their_request_and_response_schemas(document):
    paths = document["paths"]
    schemas = document["components"]["schemas"]

    create = paths["/api/v1/lists"]["post"]
    body = create["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert set(schemas[body.rsplit("/", 1)[1]]["properties"]) >= {"slug", "name", "public"}
    made = create["responses"]["201"]["content"]["application/json"]["schema"]["$ref"]
    assert made == "#/components/schemas/ListOut"
    assert {"id", "slug", "name", "public"} <= set(schemas["ListOut"]["required"])
    assert set(paths["/api/v1/lists/{slug}"]) == {"get", "patch", "delete"}
    assert (
        "409" in create["responses"] and "404" in paths["/api/v1/lists/{slug}"]["get"]["responses"]
    )
    assert set(schemas["ValidationProblem"]["required"]) >= {"status", "detail", "errors"}


def test_the_live_answers_match_the_spec_s_problem_schema(app, client, document):
    problem = document["components"]["schemas"]["Problem"]

    refused = client.get("/api/v1/lists").get_json()

    assert set(problem["required"]) <= set(refused)


@pytest.mark.browser
def test_the_docs_page_shows_the_routes_from_our_own_host(app, browser, served):
    page = browser.new_page()
    watch = Watch(page, served)

    page.goto(f"{served}/api/docs")
    page.get_by_text("/api/v1/lists/{slug}").first.wait_for(timeout=15_000)

    assert not watch.foreign, watch.foreign
    assert not watch.problems, watch.problems
    csp = watch.documents[f"{served}/api/docs"]["content-security-policy"]
    assert "script-src 'self';" in csp and "unsafe" not in csp
    page.close()


def test_a_token_is_not_needed_for_the_docs_but_is_for_the_data(app, client):
    assert client.get("/api/docs").status_code == 200
    assert client.get("/api/v1/lists").status_code == 401
    assert client.get("/api/v1/lists", headers=bearer(app)).status_code == 200
