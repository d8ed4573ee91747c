"""API fuzzing: schemathesis sends requests generated from the OpenAPI schema to a real
server on 127.0.0.1; no answer may be a 500 or differ from what the schema documents."""

import pytest
import schemathesis
from conftest import running, wait_until_warm
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import negative_data_rejection, positive_data_acceptance

from gru_sentiment.serve.app import Limits, create_app

# Small limits, so that generated requests hit them too.
LIMITS = Limits(max_body_bytes=4_000, max_texts=5, max_chars=300, max_explain_tokens=16)
OPERATIONS = [("POST", "/predict"), ("POST", "/explain"), ("GET", "/health"), ("GET", "/examples")]
POSITIVE, NEGATIVE = GenerationMode.POSITIVE, GenerationMode.NEGATIVE  # NEGATIVE: schema-invalid


# A binary run, and one of three classes (other fields, probabilities of three classes).
@pytest.fixture(scope="module", params=["pooled_run", "multiclass_run"])
def api(request):
    from gru_sentiment import SentimentModel

    run = request.getfixturevalue(request.param)
    with running(create_app(SentimentModel.load(run), LIMITS)) as url:
        assert wait_until_warm(url)  # schemathesis's 10 s read timeout counts compilation
        yield schemathesis.openapi.from_url(f"{url}/openapi.json")


def test_the_schema_has_every_operation(api):
    assert {(op.ok().method.upper(), op.ok().path) for op in api.get_all_operations()} == set(
        OPERATIONS
    )


# schemathesis's own pytest plugin (`from_fixture`) fails on pytest 9: plain Hypothesis.
@pytest.mark.parametrize(
    ("method", "path", "mode"),
    [(method, path, POSITIVE) for method, path in OPERATIONS]
    + [("POST", path, NEGATIVE) for path in ("/predict", "/explain")],  # GETs take no input
)
def test_every_answer_is_documented_and_none_is_a_500(api, method, path, mode):
    @given(api[path][method].as_strategy(mode))
    @settings(max_examples=50, deadline=None, suppress_health_check=list(HealthCheck))
    def check(case):
        # Schema-valid is not always acceptable: an empty text, or one over a limit, is a 422.
        excluded = [positive_data_acceptance]
        if mode == NEGATIVE:
            # schemathesis's own check does not count 413 as a rejection, and a generated
            # body over max_body_bytes is refused with 413 before it is parsed.
            excluded.append(negative_data_rejection)
        response = case.call_and_validate(excluded_checks=excluded)
        if mode == NEGATIVE:
            assert 400 <= response.status_code < 500, response.text

    check()
