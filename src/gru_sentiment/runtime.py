"""Backend set-up that must happen before Keras is imported: quiet logs, device choice."""

from __future__ import annotations

import os


def prepare(cpu: bool = False) -> None:
    """Call before the first `import keras`; `cpu=True` hides every GPU."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's C++ info/warning flood
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    if cpu:
        os.environ["CUDA_VISIBLE_DEVICES"] = "-1"
        os.environ["JAX_PLATFORMS"] = "cpu"


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
