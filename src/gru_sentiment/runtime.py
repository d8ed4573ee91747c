"""Backend set-up that must happen before Keras is imported: quiet logs, device choice."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path


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
    with those messages silenced.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's C++ info/warning flood
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    no_gpu = cpu or not gpu_present()
    if cpu:
        os.environ["CUDA_VISIBLE_DEVICES"] = "-1"
        os.environ["JAX_PLATFORMS"] = "cpu"
    if no_gpu and os.environ["KERAS_BACKEND"] == "tensorflow" and "tensorflow" not in sys.modules:
        with quiet_stderr():
            import tensorflow as tf

            tf.config.list_physical_devices()  # the CUDA probe happens here


def device_info() -> dict:
    """The Keras backend and the devices it will run on."""
    import keras

    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        gpus = [d.name for d in tf.config.list_physical_devices("GPU")]
    elif backend == "jax":
        import jax

        gpus = [str(d) for d in jax.devices() if d.platform == "gpu"]
    else:
        gpus = []
    return {"backend": backend, "device": "gpu" if gpus else "cpu", "gpus": gpus}
