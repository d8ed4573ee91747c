"""Ray for one command: joined at an address, or a local Ray started and stopped with it.

Ray comes with the `cluster` extra; `require` turns its absence into one line that says
how to install it, before anything starts.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager

from .. import errors
from ..errors import GruSentimentError

ENGINES = ("local", "ray")  # where predict and experiment run: this process, or Ray


class ClusterError(GruSentimentError):
    """Ray missing, unreachable, or too small for what was asked."""


def require(what: str, *modules: str) -> None:
    """Raise ClusterError unless every module of `modules` imports."""
    errors.require(what, "cluster", *modules, error=ClusterError)


@contextmanager
def connect(address: str | None, cpus: int) -> Iterator[None]:
    """Ray for the block. `address`: "auto" or "HOST:PORT" joins a running cluster,
    which must have `cpus` CPUs; None starts a local Ray with this machine's cores, or
    `cpus` logical ones if more (the extra ones are slots for tasks that mostly wait,
    such as reading input beside a pool of busy workers)."""
    if address is not None and address.startswith("ray://"):
        # Ray Data's executor needs a driver inside the cluster (Ray 2.60 fails there).
        raise ClusterError(
            f"{address}: Ray Client addresses are not supported; run the command on a node "
            "of the cluster with --address auto, or send it there with `ray job submit`"
        )
    import ray

    # The workers' own output (TensorFlow's start-up notes) stays in Ray's log files.
    quiet = {"log_to_driver": False, "logging_level": logging.WARNING}
    try:
        if address is None:
            # "local": never a cluster that `ray start` left running on this machine
            cores = max(os.cpu_count() or 1, cpus)
            ray.init(address="local", num_cpus=cores, include_dashboard=False, **quiet)
        else:
            ray.init(address=address, **quiet)
    except (ConnectionError, ValueError, RuntimeError) as err:
        hint = ""
        if address != "auto" and os.environ.get("RAY_AUTH_MODE") is None:
            # Ray sends its token to an address found by "auto" only, never to one given.
            hint = " (a cluster that checks tokens, Ray's default, needs RAY_AUTH_MODE=token)"
        raise ClusterError(f"cannot join the Ray cluster at {address}: {err}{hint}") from None
    try:
        found = int(ray.cluster_resources().get("CPU", 0))
        if found < cpus:
            raise ClusterError(f"the Ray cluster at {address} has {found} CPUs; this needs {cpus}")
        yield
    finally:
        ray.shutdown()


def use_assigned_cores() -> None:
    """Size TensorFlow's thread pool by the CPUs Ray gave this worker (call before
    TensorFlow is imported): by default it takes every core of the machine, and workers
    sharing one would fight over them."""
    import ray

    cores = int(ray.get_runtime_context().get_assigned_resources().get("CPU", 1))
    os.environ.setdefault("TF_NUM_INTRAOP_THREADS", str(max(1, cores)))
