"""Sharing model calls between concurrent /predict requests."""

from __future__ import annotations

import asyncio

from ..inference.prediction import Prediction
from ..inference.run_model import RunModel


class MicroBatcher:
    """Predicts the texts of concurrent requests together, off the event loop.

    Requests queue up while the model runs; the next model call takes all of them, so
    under load the per-call cost (thread hop, TensorFlow dispatch) is shared, and the
    event loop keeps parsing requests meanwhile.
    """

    def __init__(self, model: RunModel, max_texts: int):
        self.model = model
        self.max_texts = max_texts  # texts per model call
        self.queue: asyncio.Queue = asyncio.Queue()

    async def predict(self, texts: list[str], long: str | None) -> list[Prediction]:
        future = asyncio.get_running_loop().create_future()
        self.queue.put_nowait((texts, long, future))
        return await future

    async def run(self) -> None:
        while True:
            jobs = [await self.queue.get()]
            size = len(jobs[0][0])
            while not self.queue.empty() and size < self.max_texts:
                jobs.append(self.queue.get_nowait())
                size += len(jobs[-1][0])
            try:
                results = await asyncio.to_thread(self._predict, jobs)
            except Exception as err:  # handed to every waiting request, the worker lives on
                results = [err] * len(jobs)
            for (_, _, future), result in zip(jobs, results, strict=True):
                if future.done():  # the client went away
                    continue
                if isinstance(result, Exception):
                    future.set_exception(result)
                else:
                    future.set_result(result)

    def _predict(self, jobs: list[tuple]) -> list[list[Prediction]]:
        """One model call per `long` mode among the jobs; results split back per job."""
        results: list = [None] * len(jobs)
        for long in {job[1] for job in jobs}:
            mine = [i for i, job in enumerate(jobs) if job[1] == long]
            predictions = self.model.predict([t for i in mine for t in jobs[i][0]], long)
            start = 0
            for i in mine:
                results[i] = predictions[start : start + len(jobs[i][0])]
                start += len(jobs[i][0])
        return results
