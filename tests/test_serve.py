"""The HTTP service through a real uvicorn server on 127.0.0.1, with httpx."""

import itertools
import json
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import httpx
import pytest
from conftest import CLASS_CUES, is_warm, running, serve_process, wait_until

from gru_sentiment.inference.explain import occlusion
from gru_sentiment.serve.app import Limits, create_app

LIMITS = Limits(
    max_body_bytes=4_000, max_texts=5, max_chars=300, max_explain_tokens=16, body_seconds=1.0
)
REVIEWS = ["great wonderful film", "awful boring plot", "the movie was moving", "dull waste"]


@contextmanager
def running_warm(app):
    """`running(app)`, yielded once its forward pass has compiled in the background: a
    first request sent before waits for the compilation, which can pass a client's
    timeout on a slow or busy machine, whichever test comes first."""
    with running(app) as base:
        wait_until(lambda: is_warm(base), 120, f"the server at {base} to warm up")
        yield base


@pytest.fixture(scope="module")
def url(model):
    with running_warm(create_app(model, LIMITS)) as base:
        yield base


@pytest.fixture(scope="module")
def http(url):
    with httpx.Client(base_url=url, timeout=30) as client:
        yield client


def test_health_names_the_model_its_metrics_and_limits(http, model):
    health = http.get("/health").raise_for_status().json()
    assert health["status"] == "ok" and health["model"] == model.run_dir.name
    assert health["preset"] == model.cfg.preset and health["arch"] == "pooled"
    assert set(health["test_metrics"]) >= {"accuracy", "f1", "roc_auc", "n_test"}
    assert health["classes"] == ["negative", "positive"]
    assert health["threshold"] == model.threshold
    assert health["limits"] == {
        "max_body_bytes": 4000,
        "max_texts": 5,
        "max_chars": 300,
        "max_explain_tokens": 16,
        "explain_seconds": 30.0,
        "body_seconds": 1.0,
        "header_seconds": 10.0,
        "keep_alive_seconds": 5.0,
        "max_concurrency": 64,
    }
    assert health["warm"] is True  # compiled in the background (the fixture waited for it)


def close_to(prediction: dict) -> dict:
    """`prediction` with each probability matched up to 1e-5: on JAX a text alone and in a
    batch of several can differ in the last float bits (the kernels depend on the batch
    shape), enough to move the 6th decimal."""
    matcher = {}
    for key, value in prediction.items():
        if isinstance(value, dict):  # probabilities by class
            value = close_to(value)
        elif isinstance(value, float):
            value = pytest.approx(value, abs=1e-5)
        matcher[key] = value
    return matcher


@pytest.mark.backend
def test_predict_one_or_many_texts(http, model):
    expected = [close_to(p.to_dict()) for p in model.predict(REVIEWS)]
    one = http.post("/predict", json={"text": REVIEWS[0]}).raise_for_status().json()
    assert one["predictions"] == expected[:1]
    many = http.post("/predict", json={"texts": REVIEWS}).raise_for_status().json()
    assert many["predictions"] == expected
    tail = http.post("/predict", json={"text": "great " * 50, "long": "tail"}).json()
    assert tail["predictions"][0]["truncated"] is True


def test_a_bad_text_gets_its_own_error(http):
    body = http.post("/predict", json={"texts": ["great", " "]}).raise_for_status().json()
    assert body["predictions"][0]["label"] in ("negative", "positive")
    assert body["predictions"][1] == {
        "label": None,
        "probability": None,
        "truncated": False,
        "tokens": 0,
        "error": "empty text",
        "probabilities": None,
    }


def test_a_binary_prediction_has_both_probabilities_and_probability_is_p_positive(http):
    body = http.post("/predict", json={"text": "great film"}).raise_for_status().json()
    (p,) = body["predictions"]
    assert list(p["probabilities"]) == ["negative", "positive"]
    assert p["probability"] == p["probabilities"]["positive"]
    assert sum(p["probabilities"].values()) == pytest.approx(1, abs=1e-5)


@pytest.mark.parametrize(
    "payload",
    [{}, {"text": "a", "texts": ["b"]}, {"texts": "not a list"}, {"text": "a", "long": "middle"}],
)
def test_malformed_requests_are_422(http, payload):
    assert http.post("/predict", json=payload).status_code == 422


@pytest.mark.backend
def test_explain_returns_occlusion_contributions(http, model):
    text = "great story but awful acting"
    body = http.post("/explain", json={"text": text}).raise_for_status().json()
    assert body == json.loads(json.dumps(model.explain(text).to_dict()))
    assert body["method"] == "occlusion" and "occlusion" in body["note"]
    assert [t["text"] for t in body["tokens"]] == text.split()
    assert body["target_class"] == "positive"  # two classes: P(positive), as always
    response = http.post("/explain", json={"text": ""})
    assert response.status_code == 422 and response.json()["detail"]["error"] == "empty text"


def test_explain_a_binary_run_for_negative_flips_the_contributions(http):
    text = "great story but awful acting"
    positive = http.post("/explain", json={"text": text}).raise_for_status().json()
    negative = http.post("/explain", json={"text": text, "target_class": "negative"}).json()
    assert negative["target_class"] == "negative" and "P(negative)" in negative["note"]
    assert negative["prediction"] == positive["prediction"]
    for a, b in zip(positive["tokens"], negative["tokens"], strict=True):
        assert a["contribution"] == pytest.approx(-b["contribution"], abs=1e-5)
    response = http.post("/explain", json={"text": text, "target_class": "neutral"})
    assert response.status_code == 422
    assert response.json()["detail"]["error"] == (
        "unknown class 'neutral': the run's classes are negative, positive"
    )


@pytest.mark.parametrize("path", ["/predict", "/explain"])
@pytest.mark.parametrize(
    "body", ['{"text": NaN}', '{"text": "great", "long": Infinity}', '{"texts": [-Infinity]}']
)
def test_nan_and_infinity_are_422_not_500(http, path, body):
    # Python's JSON parser accepts them; the error once echoed them, which JSON cannot hold.
    response = http.post(path, content=body, headers={"content-type": "application/json"})
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"][0] == "body"


def test_explain_scores_at_most_max_explain_tokens(http, model):
    text = " ".join(["great", "dull"] * 20)  # 40 tokens, all read (max_len 48)
    body = http.post("/explain", json={"text": text}).raise_for_status().json()
    contributions = [t["contribution"] for t in body["tokens"]]
    assert len(contributions) == 40 and contributions[16:] == [None] * 24
    assert None not in contributions[:16] and "Only 16 tokens were scored" in body["note"]
    expected = occlusion(model, text, model.cfg.text.keep, max_tokens=16).to_dict()
    assert body == json.loads(json.dumps(expected))


def test_explain_past_explain_seconds_is_503(model):
    with running(create_app(model, Limits(explain_seconds=0))) as base:
        response = httpx.post(f"{base}/explain", json={"text": "great film"}, timeout=30)
    assert_limit(response, 503, "explain_seconds", 0)
    assert "explanation stopped after 0 of 2 tokens" in response.json()["detail"]["error"]


def test_a_stalled_body_is_answered_408_and_its_connection_closed(url):
    port = int(url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=30) as client:
        head = "POST /predict HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
        client.sendall(f'{head}Content-Length: 100\r\n\r\n{{"text": '.encode())
        start = time.monotonic()
        answer = read_until_closed(client)
        waited = time.monotonic() - start
    assert answer.startswith(b"HTTP/1.1 408 "), answer
    # Not before LIMITS.body_seconds (1 s); then the server closed the connection (how
    # soon after is up to a busy machine: the socket's 30 s bound it).
    assert waited > 0.9
    detail = json.loads(answer.split(b"\r\n\r\n", 1)[1])["detail"]
    assert detail["limit"] == "body_seconds" and detail["max"] == 1.0


def read_until_closed(client: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection; fails the test when
    the socket's timeout passes first."""
    data = b""
    try:
        while chunk := client.recv(65536):
            data += chunk
    except TimeoutError:
        pytest.fail(f"the server kept the connection open past {client.gettimeout()} s: {data}")
    return data


def assert_limit(response, status, limit, maximum):
    assert response.status_code == status, response.text
    detail = response.json()["detail"]
    assert detail["limit"] == limit and detail["max"] == maximum
    assert limit in detail["error"]


def test_every_limit_is_enforced_and_named(http):
    big = {"text": "great " * 700}  # 4,200 characters: the body limit answers first
    assert_limit(http.post("/predict", json=big), 413, "max_body_bytes", 4000)

    def chunks():  # no Content-Length: the limit applies while the body streams
        yield b'{"texts": ['
        for _ in range(80):
            yield b'"great film great film great film great film great film great film",'
        yield b'"end"]}'

    streamed = http.post("/predict", content=chunks(), headers={"content-type": "application/json"})
    assert_limit(streamed, 413, "max_body_bytes", 4000)

    too_many = {"texts": ["great"] * 6}
    assert_limit(http.post("/predict", json=too_many), 422, "max_texts", 5)
    too_long = {"texts": ["great", "x" * 301]}
    assert_limit(http.post("/predict", json=too_long), 422, "max_chars", 300)
    assert "text 1 has 301 characters" in http.post("/predict", json=too_long).text
    assert_limit(http.post("/explain", json={"text": "x" * 301}), 422, "max_chars", 300)
    assert http.post("/predict", json={"texts": ["great"] * 5}).status_code == 200


def test_concurrent_requests_each_get_their_own_answer(http, model, url):
    texts = [f"{REVIEWS[i % 4]} {'the film ' * (i % 7)}" for i in range(40)]
    longs = [None, "head", "tail"]
    expected = [model.predict([t], longs[i % 3])[0].to_dict() for i, t in enumerate(texts)]

    def ask(i):
        with httpx.Client(base_url=url, timeout=30) as client:
            payload = {"text": texts[i], "long": longs[i % 3]}
            return client.post("/predict", json=payload).raise_for_status().json()

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(ask, range(len(texts))))
    for answer, want in zip(answers, expected, strict=True):
        assert answer["predictions"][0]["label"] == want["label"]
        assert answer["predictions"][0]["probability"] == pytest.approx(
            want["probability"], abs=1e-5
        )


def test_docs_page_and_examples_are_served_with_no_external_asset(http, model):
    assert http.get("/docs").status_code == 200
    paths = http.get("/openapi.json").json()["paths"]
    assert {"/predict", "/explain", "/health"} <= set(paths)
    page = http.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "occlusion" in page.text
    for asset in ("/static/app.js", "/static/style.css"):
        response = http.get(asset)
        assert response.status_code == 200
        assert "http://" not in response.text and "https://" not in response.text
    assert "http://" not in page.text and "https://" not in page.text
    examples = http.get("/examples").json()
    assert [e["text"] for e in examples] == [e["text"] for e in model.examples()]


def test_serve_command_starts_uvicorn_with_the_model_and_its_connection_limits(model):
    options = ["--max-texts", "2", "--max-concurrency", "2", "--keep-alive-seconds", "1"]
    options += ["--header-seconds", "1.5"]
    with serve_process(model.run_dir, *options) as served:
        url, port = served.url, served.port
        health = httpx.get(f"{url}/health").json()
        assert health["model"] == model.run_dir.name
        given = ("max_texts", "max_concurrency", "keep_alive_seconds", "header_seconds")
        assert [health["limits"][name] for name in given] == [2, 2, 1, 1.5]

        # The server closes an idle connection (how soon is up to a busy machine; a held
        # one fails at the socket's timeout).
        with socket.create_connection(("127.0.0.1", port), timeout=30) as client:
            client.sendall(b"GET /health HTTP/1.1\r\nHost: test\r\n\r\n")
            answer = read_until_closed(client)
        assert answer.startswith(b"HTTP/1.1 200 ")

        # A client trickling its headers a byte at a time is cut off, not before
        # --header-seconds (a byte every 0.2 s would keep it open otherwise).
        with socket.create_connection(("127.0.0.1", port), timeout=30) as client:
            start = time.monotonic()
            with pytest.raises(OSError):  # reset or broken pipe once the server closed it
                for byte in itertools.cycle(b"GET /health HTTP/1.1\r\nX-Slow: aaaaaaaa"):
                    client.sendall(bytes([byte]))
                    time.sleep(0.2)  # the trickle's pace, not a wait
                    if time.monotonic() - start > 60:
                        pytest.fail("a connection trickling its headers was held open")
        assert time.monotonic() - start > 1.4

        # Two open connections fill --max-concurrency 2: a third is refused, then served.
        with (
            socket.create_connection(("127.0.0.1", port)),
            socket.create_connection(("127.0.0.1", port)),
        ):
            busy = httpx.get(f"{url}/health", timeout=5)
        assert busy.status_code == 503
        wait_until(
            lambda: httpx.get(f"{url}/health", timeout=5).status_code == 200,
            30,
            "the server to serve again once the two connections closed",
        )
    assert f"serving {model.run_dir.name} on {url}/" in served.output


def test_micro_batcher_hands_a_failure_to_its_request_and_lives_on(model):
    import asyncio

    from gru_sentiment.serve.app import MicroBatcher

    async def scenario():
        batcher = MicroBatcher(model, max_texts=8)
        worker = asyncio.create_task(batcher.run())
        try:
            with pytest.raises(ValueError, match="long must be one of"):
                await batcher.predict(["great"], "middle")  # the model refuses it
            return await batcher.predict(["great"], None)
        finally:
            worker.cancel()

    (prediction,) = asyncio.run(scenario())
    assert prediction == model.predict(["great"])[0]


# A run of three classes (a hybrid: GRU + n-gram branch): every class has its probability.
CLASSES = ["cooking", "music", "sport"]


def cue_text(name: str) -> str:
    return "the " + " and the ".join(CLASS_CUES[name][:3])


@pytest.fixture(scope="module")
def multi(multiclass_run):
    from gru_sentiment import SentimentModel

    model = SentimentModel.load(multiclass_run)
    with (
        running_warm(create_app(model, LIMITS)) as base,
        httpx.Client(base_url=base, timeout=30) as client,
    ):
        yield model, client


def test_multiclass_health_lists_the_classes_and_their_metrics(multi):
    _, http = multi
    health = http.get("/health").raise_for_status().json()
    assert health["classes"] == CLASSES and health["threshold"] is None
    metrics = health["test_metrics"]
    assert set(metrics) == {"accuracy", "macro_f1", "weighted_f1", "balanced_accuracy", "n_test"}
    assert metrics["n_test"] == 60 and 0 <= metrics["macro_f1"] <= 1


@pytest.mark.backend
def test_multiclass_predictions_give_every_class_its_probability(multi):
    model, http = multi
    texts = [cue_text(name) for name in CLASSES]
    body = http.post("/predict", json={"texts": [*texts, " "]}).raise_for_status().json()
    *found, bad = body["predictions"]
    assert found == [p.to_dict() for p in model.predict(texts)]
    for name, p in zip(CLASSES, found, strict=True):
        assert p["label"] == name and list(p["probabilities"]) == CLASSES
        assert p["probability"] == p["probabilities"][name] == max(p["probabilities"].values())
        assert sum(p["probabilities"].values()) == pytest.approx(1, abs=1e-5)
    assert bad["error"] == "empty text" and bad["probabilities"] is None


@pytest.mark.backend
def test_multiclass_explain_attributes_to_the_predicted_or_the_chosen_class(multi):
    model, http = multi
    text = "the guitar and the song, then a goal"
    default = http.post("/explain", json={"text": text}).raise_for_status().json()
    predicted = default["prediction"]["label"]
    assert default["target_class"] == predicted == "music"
    by_word = {t["text"]: t["contribution"] for t in default["tokens"]}
    assert by_word["guitar"] > 0 and by_word["song"] > 0 and by_word["goal"] < 0

    sport = http.post("/explain", json={"text": text, "target_class": "sport"}).json()
    assert sport["target_class"] == "sport" and "P(sport)" in sport["note"]
    assert sport["prediction"] == default["prediction"]
    assert sport == json.loads(json.dumps(model.explain(text, target_class="sport").to_dict()))
    by_word = {t["text"]: t for t in sport["tokens"]}
    assert by_word["goal"]["contribution"] > 0 and by_word["guitar"]["contribution"] < 0
    # A contribution is how much P(sport) drops without the word.
    goal = by_word["goal"]
    alone = model.predict([text[: goal["start"]] + " " + text[goal["end"] :]])[0]
    p_sport = sport["prediction"]["probabilities"]["sport"]
    assert goal["contribution"] == pytest.approx(p_sport - alone.probabilities["sport"], abs=1e-5)

    response = http.post("/explain", json={"text": text, "target_class": "Sport"})
    assert response.status_code == 422
    assert response.json()["detail"]["error"] == (
        "unknown class 'Sport': the run's classes are cooking, music, sport"
    )


def test_the_schema_documents_the_classes_and_what_probability_is(multi):
    _, http = multi
    schema = http.get("/openapi.json").raise_for_status().json()
    assert "cooking, music, sport" in schema["info"]["description"]
    models = schema["components"]["schemas"]
    prediction = models["PredictionOut"]["properties"]
    assert "P(positive)" in prediction["probability"]["description"]
    assert "P(label)" in prediction["probability"]["description"]
    assert "every class" in prediction["probabilities"]["description"]
    assert "target_class" in models["ExplainRequest"]["properties"]
    assert "target_class" in models["ExplainResponse"]["properties"]
    health = models["HealthResponse"]["properties"]
    assert {"classes", "threshold", "test_metrics"} <= set(health)
    ok = schema["paths"]["/health"]["get"]["responses"]["200"]["content"]["application/json"]
    assert ok["schema"]["$ref"].endswith("/HealthResponse")
