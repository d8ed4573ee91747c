"""Backend set-up: what must happen before Keras is imported (quiet logs, device choice),
and data-parallel training over every device a JAX process sees."""

from __future__ import annotations

import contextlib
import importlib.util
import os
import sys
from collections.abc import Iterator
from pathlib import Path

VERBOSE = "GRU_SENTIMENT_VERBOSE"


def gpu_present() -> bool:
    """Whether this machine has an NVIDIA device node (a GPU a backend could use)."""
    return any(Path("/dev").glob("nvidia[0-9]*"))


@contextlib.contextmanager
def quiet_stderr() -> Iterator[None]:
    """Silence file descriptor 2 (C++ logging that Python cannot filter) for a moment."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def prepare(cpu: bool = False) -> None:
    """Call before the first `import keras`; `cpu=True` hides every GPU.

    On a machine without a GPU, TensorFlow's import still probes CUDA and prints driver
    errors ("failed call to cuInit ... (303)") that read like a fault: it is imported here
    with those messages silenced. Whatever the backend: Keras imports TensorFlow whenever
    it is installed (its serialization checks for `tf.TensorShape`).
    """
    # TensorFlow's C++ log lines (info, warnings, and "errors" such as oneDNN's DT_BOOL
    # note, which change nothing) reach the user only with GRU_SENTIMENT_VERBOSE=1 (the
    # CLI's --verbose); a real failure still arrives as a Python exception.
    verbose = os.environ.get(VERBOSE, "") not in ("", "0")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "0" if verbose else "3")
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    no_gpu = cpu or not gpu_present()
    if cpu:
        os.environ["CUDA_VISIBLE_DEVICES"] = "-1"
        os.environ["JAX_PLATFORMS"] = "cpu"
    if no_gpu and "tensorflow" not in sys.modules and importlib.util.find_spec("tensorflow"):
        with quiet_stderr():
            import tensorflow as tf

            tf.config.list_physical_devices()  # the CUDA probe happens here


def distribute() -> int:
    """Train data-parallel over every device this process sees (JAX only); the count.

    With the JAX backend and more than one device (GPUs, or virtual CPU devices from
    XLA_FLAGS=--xla_force_host_platform_device_count=N), sets a global
    `keras.distribution.DataParallel`: the variables of every model built or loaded from
    then on are replicated on each device, and each batch is split by rows across them
    (`data_replicas`; `PaddedBatches` pads a batch to a multiple of the count). Call it
    after `prepare()` (the backend and its devices are chosen by then) and before any model
    is built or loaded: variables created earlier stay on one device. A distribution set
    earlier (by the caller, or by a previous call) is kept. TensorFlow and torch: nothing
    changes, 1.
    """
    import keras

    if keras.backend.backend() != "jax":
        return 1
    if keras.distribution.distribution() is None:
        devices = keras.distribution.list_devices()
        if len(devices) < 2:
            return 1
        keras.distribution.set_distribution(keras.distribution.DataParallel(devices=devices))
    return data_replicas()


def data_replicas() -> int:
    """Devices each batch is split across by rows under the global Keras distribution (1
    without one): the row count of every batch must be a multiple of it."""
    import keras

    distribution = keras.distribution.distribution()
    if distribution is None:
        return 1
    mesh = distribution.device_mesh
    return int(mesh.shape[mesh.axis_names.index(distribution.batch_dim_name)])


def cpu_description() -> str:
    """The CPU model, its core count and widest vector extension: these machines range
    from AVX-512 to AVX2 only, several-fold apart in speed."""
    model, flags = "unknown CPU", set()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name":
                model = value.strip()
            elif key.strip() == "flags":
                flags = set(value.split())
                break  # the first processor's fields are enough
    vector = "AVX-512" if "avx512f" in flags else "AVX2" if "avx2" in flags else "no AVX2"
    return f"{model}, {os.cpu_count()} cores, {vector}"


def device_info() -> dict:
    """The Keras backend, the CPU, the GPUs it will run on and how many devices each
    training batch is split across (`data_replicas`)."""
    import keras

    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        gpus = [d.name for d in tf.config.list_physical_devices("GPU")]
    elif backend == "jax":
        import jax

        gpus = [d.device_kind for d in jax.devices() if d.platform == "gpu"]
    else:
        gpus = []
    return {
        "backend": backend,
        "cpu": cpu_description(),
        "device": "gpu" if gpus else "cpu",
        "gpus": gpus,
        "data_replicas": data_replicas(),
    }
