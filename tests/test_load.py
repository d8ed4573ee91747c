"""A bounded load test: `gru-sentiment serve` in a subprocess, 8 clients x 100 requests on
127.0.0.1: no errors, and the server's memory flat (RSS read from /proc)."""

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from conftest import serve_process

CLIENTS, REQUESTS = 8, 100
RSS_GROWTH_MIB = 10  # allowed growth over a round of load, after a warm-up round
TEXTS = ["great wonderful film", "awful boring plot", "the movie was moving", "dull waste"]


def rss_mib(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(status.split("VmRSS:")[1].split()[0]) / 1024  # kB


def client_round(url: str, client: int) -> list[int]:
    """REQUESTS requests, one connection: mostly /predict, every fifth an /explain."""
    statuses = []
    with httpx.Client(base_url=url, timeout=30) as http:
        for i in range(REQUESTS):
            text = f"{TEXTS[(client + i) % 4]} {'and the plot ' * (i % 5)}"
            if i % 5 == 4:
                response = http.post("/explain", json={"text": text})
            else:
                response = http.post("/predict", json={"texts": [text, TEXTS[i % 4]]})
            statuses.append(response.status_code)
    return statuses


def load(url: str) -> list[int]:
    with ThreadPoolExecutor(CLIENTS) as pool:
        rounds = pool.map(lambda c: client_round(url, c), range(CLIENTS))
        return [status for statuses in rounds for status in statuses]


@pytest.fixture(scope="module")
def server(pooled_run):
    with serve_process(pooled_run, "--no-access-log") as served:
        yield served.url, served.process.pid


def test_load_gives_no_error_and_keeps_memory_flat(server):
    url, pid = server
    assert set(load(url)) == {200}  # warm-up: allocator pools and caches fill
    before = rss_mib(pid)
    start = time.monotonic()
    statuses = load(url)
    seconds = time.monotonic() - start
    growth = rss_mib(pid) - before
    assert statuses.count(200) == CLIENTS * REQUESTS, sorted(set(statuses))
    assert growth < RSS_GROWTH_MIB, f"server RSS grew {growth:.1f} MiB ({before:.0f} MiB before)"
    print(f"{CLIENTS * REQUESTS} requests in {seconds:.1f} s; RSS {before:.0f} MiB +{growth:.1f}")
