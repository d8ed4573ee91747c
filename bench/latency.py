"""Latency of `gru-sentiment serve`: a real uvicorn server, concurrent clients, one review
per request. Writes bench/results/<date>-latency.json (or <date>-<name>.json) and prints
a summary.

    .venv/bin/python bench/latency.py runs/tutorial --requests 2000 --clients 8

The server is `gru-sentiment serve RUN_DIR --no-access-log` in its own process (a log
line per request costs CPU the measurement should not include); the clients share one
asyncio loop (aiohttp, one keep-alive connection each, lighter than httpx) in this
process, on the same machine, so the numbers include client CPU competing with the
server. Measuring starts once /health says the server is
warm (XLA compiles one program per input shape, in the background at start-up) and
after a few uncounted warm-up requests. The reviews are the run's examples.json.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import aiohttp
import numpy as np

RESULTS = Path(__file__).resolve().parent / "results"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_command(run_dir: Path, port: int) -> list[str]:
    serve = ["serve", str(run_dir), "--port", str(port), "--no-access-log"]
    return [sys.executable, "-m", "gru_sentiment", *serve]


def wait_warm(url: str, server: subprocess.Popen, log: Path, timeout: float = 300) -> dict:
    """/health once the server has compiled its usual shapes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the server exited: {log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
                health = json.load(response)
            if health["warm"]:
                return health
        except OSError:  # not listening yet
            pass
        time.sleep(0.2)
    raise SystemExit(f"{url}/health not warm after {timeout:.0f} s")


async def hammer(url: str, reviews: list[str], requests: int, clients: int) -> tuple:
    """`clients` loops sending POST /predict until `requests` are done: latencies (ms), errors."""
    latencies: list[float] = []
    errors: list[str] = []
    sent = 0

    async def client(http: aiohttp.ClientSession) -> None:
        nonlocal sent
        while sent < requests:
            review = reviews[sent % len(reviews)]
            sent += 1
            started = time.perf_counter()
            try:
                async with http.post(f"{url}/predict", json={"text": review}) as response:
                    status, body = response.status, await response.read()
            except aiohttp.ClientError as err:
                errors.append(repr(err))
                continue
            latencies.append((time.perf_counter() - started) * 1000)
            if status != 200 or not json.loads(body)["predictions"][0]["label"]:
                errors.append(f"HTTP {status}: {body[:200]!r}")

    connector = aiohttp.TCPConnector(limit=clients)  # one keep-alive connection per client
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:
        started = time.perf_counter()
        await asyncio.gather(*(client(http) for _ in range(clients)))
        wall = time.perf_counter() - started
    return np.array(latencies), errors, wall


def cpu_model() -> str:
    cpuinfo = Path("/proc/cpuinfo")
    lines = cpuinfo.read_text().splitlines() if cpuinfo.exists() else []
    names = [line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")]
    return names[0] if names else platform.processor()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path, help="a complete run folder")
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--warmup", type=int, default=50)
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--name", default="latency", help="results file: <date>-<name>.json")
    args = parser.parse_args()

    reviews = [e["text"] for e in json.loads((args.run_dir / "examples.json").read_text())]
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = server_command(args.run_dir, port)
    load_before = os.getloadavg()[0]  # other work on the machine skews the numbers: record it
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "server.log"
        with log.open("w") as out:
            server = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
        try:
            health = wait_warm(url, server, log)
            asyncio.run(hammer(url, reviews, args.warmup, args.clients))
            latencies, errors, wall = asyncio.run(hammer(url, reviews, args.requests, args.clients))
        finally:
            server.terminate()
            server.wait(timeout=30)

    result = {
        "date": datetime.date.today().isoformat(),
        "command": "python bench/latency.py " + " ".join(sys.argv[1:]),
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "cpu_model": cpu_model(),
            "python": platform.python_version(),
            "load_average_1min_before": round(load_before, 2),
            "load_average_1min_after": round(os.getloadavg()[0], 2),
            "note": "server and clients on the same machine",
        },
        "server_command": " ".join(["gru-sentiment", *command[3:]]),
        "model": {k: health[k] for k in ("model", "preset", "arch", "cell", "max_len")},
        "requests": args.requests,
        "clients": args.clients,
        "warmup_requests": args.warmup,
        "review_chars_mean": round(float(np.mean([len(r) for r in reviews])), 1),
        "errors": len(errors),
        "error_examples": errors[:5],
        "p50_ms": round(float(np.percentile(latencies, 50)), 2),
        "p90_ms": round(float(np.percentile(latencies, 90)), 2),
        "p99_ms": round(float(np.percentile(latencies, 99)), 2),
        "max_ms": round(float(latencies.max()), 2),
        "mean_ms": round(float(latencies.mean()), 2),
        "throughput_rps": round(args.requests / wall, 1),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"{result['date']}-{args.name}.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(
        f"{args.requests} requests, {args.clients} clients: p50 {result['p50_ms']} ms, "
        f"p99 {result['p99_ms']} ms, {result['errors']} errors, "
        f"{result['throughput_rps']} requests/s -> {path}"
    )


if __name__ == "__main__":
    main()
