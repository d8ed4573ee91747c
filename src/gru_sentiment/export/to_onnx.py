"""A trained network as an ONNX graph: (batch, time) int32 ids -> (batch, 1) P(positive)
of a binary run's sigmoid head, (batch, classes) P(each class) of a multi-class run's
softmax head (a `Softmax` node over the last axis).

The graph is written layer by layer from the Keras functional model with `onnx.helper`,
not traced: the recurrent layers become ONNX's own GRU / LSTM operators (one fused loop
each, which every ONNX runtime implements) instead of a traced while-loop. Only the layers
our networks use are known; any other stops the export with its name.

Layout inside the graph: activations are batch-major, (batch, time, features), as in
Keras; the recurrent operators want time-major input, so each one is wrapped in
transposes. Masks follow Keras: a `NotEqual(ids, 0)` node gives (batch, time) booleans,
and a recurrent layer reading a mask gets `sequence_lens` = its count of true steps (masks
are right-padded: mask=true requires padding=post). The masked Conv1D front zeroes padding
steps with `Where` and halves the mask with a strided `Slice`.
"""

from __future__ import annotations

import numpy as np

from ..errors import RunError

OPSET = 17  # onnxruntime >= 1.11, onnxruntime-web and the Java/C# packages all run it
INPUT, OUTPUT = "ids", "probability"
ACTIVATIONS = {"relu": "Relu", "sigmoid": "Sigmoid", "softmax": "Softmax", "tanh": "Tanh"}
# Keras' gate order in the LSTM kernel is (i, f, c, o); ONNX's is (i, o, f, c).
LSTM_ORDER = (0, 3, 1, 2)


def to_onnx(model):
    """The Keras functional `model` as an onnx.ModelProto (opset `OPSET`), output
    (batch, units of the last layer); RunError names the first layer that has no
    translation."""
    import onnx
    from onnx import TensorProto, helper

    graph = _Graph()
    names = {}  # Keras tensor name -> ONNX value name
    for op in model.operations:
        node = op._inbound_nodes[0]
        kind = type(op).__name__
        if kind == "InputLayer":
            names[node.output_tensors[0].name] = INPUT
            continue
        translate = TRANSLATIONS.get(kind)
        if translate is None:
            raise RunError(
                f"cannot export layer {op.name!r} ({kind}): ONNX export knows "
                f"{', '.join(sorted(TRANSLATIONS))}"
            )
        inputs = [names[t.name] for t in node.input_tensors]
        names[node.output_tensors[0].name] = translate(graph, op, *inputs)
    graph.nodes.append(helper.make_node("Identity", [names[model.outputs[0].name]], [OUTPUT]))
    width = model.outputs[0].shape[-1]  # 1: P(positive); k: P(each class)
    proto = helper.make_graph(
        graph.nodes,
        model.name,
        [helper.make_tensor_value_info(INPUT, TensorProto.INT32, ["batch", "time"])],
        [helper.make_tensor_value_info(OUTPUT, TensorProto.FLOAT, ["batch", width])],
        graph.initializers,
    )
    onnx_model = helper.make_model(
        proto, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="gru-sentiment"
    )
    onnx.checker.check_model(onnx_model, full_check=True)
    return onnx_model


class _Graph:
    """Nodes and constant tensors being collected, with fresh value names."""

    def __init__(self):
        self.nodes, self.initializers, self.count = [], [], 0

    def name(self, hint: str) -> str:
        self.count += 1
        return f"{hint}_{self.count}"

    def const(self, value, hint: str, dtype=np.float32) -> str:
        from onnx import numpy_helper

        name = self.name(hint)
        self.initializers.append(numpy_helper.from_array(np.asarray(value, dtype), name))
        return name

    def add(self, op: str, inputs: list[str], hint: str, **attrs) -> str:
        """Append one node; returns the name of its (first) output."""
        return self.add_many(op, inputs, hint, 1, **attrs)[0]

    def add_many(self, op: str, inputs: list[str], hint: str, outputs: int, **attrs) -> list:
        from onnx import helper

        names = [self.name(hint) for _ in range(outputs)]
        self.nodes.append(helper.make_node(op, inputs, names, **attrs))
        return names

    def activation(self, x: str, activation: str, owner) -> str:
        if activation == "linear":
            return x
        if activation not in ACTIVATIONS:
            raise RunError(f"cannot export layer {owner.name!r}: activation {activation!r}")
        if activation == "softmax":  # Keras' default axis; ONNX's too since opset 13
            return self.add("Softmax", [x], activation, axis=-1)
        return self.add(ACTIVATIONS[activation], [x], activation)

    def lengths(self, mask: str) -> str:
        """(batch,) int32 true steps of a right-padded (batch, time) bool mask."""
        as_int = self.add("Cast", [mask], "mask_int", to=6)  # 6: INT32
        return self.add(
            "ReduceSum", [as_int, self.const([1], "axis", np.int64)], "lens", keepdims=0
        )

    def float_mask(self, mask: str) -> str:
        """(batch, time, 1) float32 of a (batch, time) bool mask."""
        as_float = self.add("Cast", [mask], "mask_float", to=1)  # 1: FLOAT
        return self.add("Unsqueeze", [as_float, self.const([2], "axis", np.int64)], "mask3")


def _identity(graph: _Graph, op, x: str, mask: str | None = None) -> str:
    return x  # dropout layers: nothing at inference


def _embedding(graph: _Graph, op, ids: str) -> str:
    table = graph.const(op.embeddings.numpy(), "embedding")  # (vocab, dim)
    return graph.add("Gather", [table, ids], "embedded")  # (batch, time, dim)


def _not_equal(graph: _Graph, op, ids: str) -> str:
    args = op._inbound_nodes[0].arguments.args
    if len(args) != 2 or args[1] != 0:
        raise RunError(f"cannot export {op.name!r}: only masks of padding (ids != 0) are known")
    zero = graph.const(0, "zero", np.int32)
    return graph.add("Not", [graph.add("Equal", [ids, zero], "is_pad")], "mask")


def _dense(graph: _Graph, op, x: str) -> str:
    kernel, bias = (w.numpy() for w in op.weights)  # (in, out), (out,)
    y = graph.add("MatMul", [x, graph.const(kernel, "kernel")], "matmul")
    y = graph.add("Add", [y, graph.const(bias, "bias")], "dense")
    return graph.activation(y, op.activation.__name__, op)


def _concatenate(graph: _Graph, op, *xs: str) -> str:
    return graph.add("Concat", list(xs), "concat", axis=op.axis)


def _fill_masked(graph: _Graph, x: str, mask: str, value: float = 0.0) -> str:
    """(batch, time, features) with `value` at the padding steps of a (batch, time) mask."""
    keep = graph.add("Unsqueeze", [mask, graph.const([2], "axis", np.int64)], "mask3")
    return graph.add("Where", [keep, x, graph.const(value, "fill")], "masked")


def _max_over_time(graph: _Graph, op, x: str, mask: str | None = None) -> str:
    if mask is not None:  # masked steps count as -1e9, as in MaskedGlobalMaxPooling1D
        x = _fill_masked(graph, x, mask, -1e9)
    return graph.add("ReduceMax", [x], "max", axes=[1], keepdims=0)  # (batch, features)


def _mean_over_time(graph: _Graph, op, x: str, mask: str | None = None) -> str:
    if mask is None:
        return graph.add("ReduceMean", [x], "mean", axes=[1], keepdims=0)
    weights = graph.float_mask(mask)  # (batch, time, 1)
    axis = graph.const([1], "axis", np.int64)
    total = graph.add(
        "ReduceSum", [graph.add("Mul", [x, weights], "kept"), axis], "sum", keepdims=0
    )
    count = graph.add("ReduceSum", [weights, axis], "count", keepdims=0)  # (batch, 1)
    return graph.add("Div", [total, count], "mean")


def _masked_conv1d(graph: _Graph, op, x: str, mask: str) -> str:
    return _conv1d(graph, op, _fill_masked(graph, x, mask))  # as MaskedConv1D


def _masked_max_pooling1d(graph: _Graph, op, x: str, mask: str) -> str:
    channels_first = graph.add("Transpose", [_fill_masked(graph, x, mask)], "nct", perm=[0, 2, 1])
    # ceil_mode: an odd last step is pooled alone, as Keras' padding="same"
    y = graph.add("MaxPool", [channels_first], "pool", kernel_shape=[2], strides=[2], ceil_mode=1)
    return graph.add("Transpose", [y], "ntc", perm=[0, 2, 1])


def _every_other_step(graph: _Graph, op, mask: str) -> str:
    """MaskedMaxPooling1D's halved mask, `mask[:, ::2]`; no other indexing is known."""
    (index,) = op._inbound_nodes[0].arguments.args[1:]
    # a model loaded from its .keras file holds the index as a list
    if not isinstance(index, list | tuple) or tuple(index) != (slice(None), slice(None, None, 2)):
        raise RunError(f"cannot export {op.name!r}: only the pooled mask [:, ::2] is known")
    const = lambda v, hint: graph.const(v, hint, np.int64)  # noqa: E731
    inputs = [mask, const([0], "start"), const([2**62], "end"), const([1], "axis")]
    return graph.add("Slice", [*inputs, const([2], "step")], "pooled_mask")


def _conv1d(graph: _Graph, op, x: str) -> str:
    if op.padding != "same" or op.strides != (1,) or op.dilation_rate != (1,) or op.groups != 1:
        raise RunError(f"cannot export {op.name!r}: only stride-1 'same' Conv1D is known")
    kernel, bias = (w.numpy() for w in op.weights)  # (width, in, out), (out,)
    width = kernel.shape[0]
    channels_first = graph.add("Transpose", [x], "nct", perm=[0, 2, 1])
    y = graph.add(
        "Conv",
        [channels_first, graph.const(kernel.transpose(2, 1, 0), "conv"), graph.const(bias, "b")],
        "conv",
        pads=[(width - 1) // 2, width - 1 - (width - 1) // 2],  # TensorFlow's "same"
    )
    y = graph.activation(y, op.activation.__name__, op)
    return graph.add("Transpose", [y], "ntc", perm=[0, 2, 1])


def _max_pooling1d(graph: _Graph, op, x: str) -> str:
    if op.padding != "valid" or op.strides != op.pool_size:
        raise RunError(f"cannot export {op.name!r}: only non-overlapping 'valid' pooling")
    channels_first = graph.add("Transpose", [x], "nct", perm=[0, 2, 1])
    y = graph.add(
        "MaxPool",
        [channels_first],
        "pool",
        kernel_shape=list(op.pool_size),
        strides=list(op.strides),
    )
    return graph.add("Transpose", [y], "ntc", perm=[0, 2, 1])


def _recurrent_weights(op) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """ONNX W (gates*units, in), R (gates*units, units), B (2*gates*units,) of one
    Keras GRU (reset_after) or LSTM layer."""
    kind = type(op).__name__
    config = op.get_config()
    wanted = {"activation": "tanh", "recurrent_activation": "sigmoid", "use_bias": True}
    if kind == "GRU":
        wanted["reset_after"] = True
    bad = [k for k, v in wanted.items() if config.get(k) != v]
    if bad or config.get("stateful"):
        raise RunError(f"cannot export {op.name!r}: {kind} with non-default {', '.join(bad)}")
    kernel, recurrent, bias = (w.numpy() for w in op.weights)
    if kind == "GRU":  # gates (z, r, h) in both; bias (2, 3 units): input, recurrent
        return kernel.T, recurrent.T, bias.reshape(-1)
    gates = lambda w: np.concatenate([np.split(w, 4, axis=-1)[i] for i in LSTM_ORDER], -1)  # noqa: E731
    bias = gates(bias)
    return gates(kernel).T, gates(recurrent).T, np.concatenate([bias, np.zeros_like(bias)])


def _run_recurrent(graph: _Graph, layers: list, x: str, mask: str | None) -> tuple[str, str]:
    """One ONNX GRU/LSTM over (batch, time, in): `layers` = [forward] or [forward,
    backward]; returns Y (time, directions, batch, units) and Y_h (directions, batch, units)."""
    kind = type(layers[0]).__name__
    weights = [_recurrent_weights(layer) for layer in layers]
    w, r, b = (graph.const(np.stack(part), kind.lower()) for part in zip(*weights, strict=True))
    time_major = graph.add("Transpose", [x], "tnc", perm=[1, 0, 2])
    lens = graph.lengths(mask) if mask is not None else ""
    attrs = {"hidden_size": layers[0].units}
    attrs["direction"] = (
        "bidirectional"
        if len(layers) == 2
        else ("reverse" if layers[0].go_backwards else "forward")
    )
    if kind == "GRU":
        attrs["linear_before_reset"] = 1  # Keras' reset_after=True
    y, y_h = graph.add_many(kind, [time_major, w, r, b, lens], kind.lower(), 2, **attrs)
    return y, y_h


def _recurrent(graph: _Graph, op, x: str, mask: str | None = None) -> str:
    if op.go_backwards:
        raise RunError(f"cannot export {op.name!r}: a lone go_backwards layer")
    y, y_h = _run_recurrent(graph, [op], x, mask)
    if op.return_sequences:  # (time, 1, batch, units) -> (batch, time, units)
        y = graph.add("Squeeze", [y, graph.const([1], "axis", np.int64)], "seq")
        return graph.add("Transpose", [y], "ntc", perm=[1, 0, 2])
    return graph.add("Squeeze", [y_h, graph.const([0], "axis", np.int64)], "last")


def _bidirectional(graph: _Graph, op, x: str, mask: str | None = None) -> str:
    if op.merge_mode != "concat":
        raise RunError(f"cannot export {op.name!r}: Bidirectional merge_mode {op.merge_mode!r}")
    y, y_h = _run_recurrent(graph, [op.forward_layer, op.backward_layer], x, mask)
    units = op.forward_layer.units
    if op.forward_layer.return_sequences:  # (time, 2, batch, units) -> (batch, time, 2 units)
        y = graph.add("Transpose", [y], "ntdc", perm=[2, 0, 1, 3])
        return graph.add("Reshape", [y, graph.const([0, 0, 2 * units], "shape", np.int64)], "bi")
    y_h = graph.add("Transpose", [y_h], "ndc", perm=[1, 0, 2])  # (batch, 2, units)
    return graph.add("Reshape", [y_h, graph.const([0, 2 * units], "shape", np.int64)], "bi")


TRANSLATIONS = {
    "Embedding": _embedding,
    "NotEqual": _not_equal,
    "SpatialDropout1D": _identity,
    "Dropout": _identity,
    "Dense": _dense,
    "Concatenate": _concatenate,
    "MaskedGlobalMaxPooling1D": _max_over_time,
    "GlobalAveragePooling1D": _mean_over_time,
    "Conv1D": _conv1d,
    "MaxPooling1D": _max_pooling1d,
    "MaskedConv1D": _masked_conv1d,
    "MaskedMaxPooling1D": _masked_max_pooling1d,
    "GetItem": _every_other_step,
    "GRU": _recurrent,
    "LSTM": _recurrent,
    "Bidirectional": _bidirectional,
}
