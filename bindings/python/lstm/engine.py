"""Keras's functional API: symbolic tensors, layer calls, and the graph a Model is made of.

A KerasTensor stands for a tensor of the graph: the output `index` of a layer's `node_index`-th
call (or a model input). Calling a layer on tensors records a Node. `functional_config` writes
the graph as the Keras 3 "Functional" JSON that liblstm reads, which decides everything else
(shapes included: a tensor's shape is asked of the library, not computed here).
"""
import json


class KerasTensor:
    """A symbolic tensor: Keras's `keras_history` (layer, node index, tensor index)."""

    def __init__(self, layer, node_index, tensor_index):
        self._layer = layer
        self._node_index = node_index
        self._tensor_index = tensor_index

    @classmethod
    def for_input(cls, input_layer):
        input_layer._nodes = [Node(input_layer, [], None, [])]
        tensor = cls(input_layer, 0, 0)
        input_layer._nodes[0].outputs = [tensor]
        return tensor

    @property
    def name(self):
        return self._layer.name if self._tensor_index == 0 else f"{self._layer.name}_{self._tensor_index}"

    @property
    def node(self):
        return self._layer._nodes[self._node_index]

    @property
    def is_input(self):
        from .layers import InputLayer
        return isinstance(self._layer, InputLayer)

    @property
    def shape(self):
        """(None, ...) as Keras gives it; asked of the library for the graph up to this tensor."""
        if self.is_input:
            return tuple(self._layer.batch_shape)
        from .functional import Model
        return Model(inputs=graph_inputs([self]), outputs=self, name="shape_probe").output_shape

    @property
    def dtype(self):
        return self._layer.input_dtype if self.is_input else "float32"

    def __repr__(self):
        return f"<KerasTensor name={self.name}>"


class Node:
    """One call of a layer: the tensors it read (initial state included), its explicit mask, and
    the tensors it made."""

    def __init__(self, layer, inputs, mask, outputs, merged=False):
        self.layer = layer
        self.inputs = inputs
        self.mask = mask
        self.outputs = outputs
        self.merged = merged  # the call took a list (a merge): written back as one list argument
        self.initial_state = []

    def outputs_value(self):
        return self.outputs[0] if len(self.outputs) == 1 else list(self.outputs)

    def inputs_value(self):
        return self.inputs[0] if len(self.inputs) == 1 and not self.merged else list(self.inputs)

    def reads(self):
        return list(self.inputs) + list(self.initial_state) + ([self.mask] if self.mask is not None else [])

    def json(self, tensor_json):
        args = [[tensor_json(t) for t in self.inputs]] if self.merged else [tensor_json(t) for t in self.inputs]
        kwargs = {}
        if self.initial_state:
            kwargs["initial_state"] = [tensor_json(t) for t in self.initial_state]
        if self.mask is not None:
            kwargs["mask"] = tensor_json(self.mask)
        return {"args": args, "kwargs": kwargs}


def _tensors(value, what):
    items = list(value) if isinstance(value, (list, tuple)) else [value]
    for t in items:
        if not isinstance(t, KerasTensor):
            raise TypeError(f"{what} must be symbolic tensors (from lstm.Input or a layer call), got {t!r}")
    return items


def call_layer(layer, inputs, initial_state=None, mask=None):
    """Records a call of `layer` on symbolic tensors and returns its output tensor(s)."""
    merged = isinstance(inputs, (list, tuple))
    ins = _tensors(inputs, f"the inputs of layer '{layer.name}'")
    states = _tensors(initial_state, "initial_state") if initial_state is not None else []
    mask_t = _tensors(mask, "mask")[0] if mask is not None else None
    nodes = layer.__dict__.setdefault("_nodes", [])
    node = Node(layer, ins, mask_t, [], merged=merged)
    node.initial_state = states
    nodes.append(node)
    count = layer._output_count()
    node.outputs = [KerasTensor(layer, len(nodes) - 1, k) for k in range(count)]
    return node.outputs_value()


def graph_inputs(outputs):
    """The input tensors the outputs depend on, in order of first visit."""
    seen, order = set(), []

    def visit(t):
        if t.is_input:
            if id(t) not in seen:
                seen.add(id(t))
                order.append(t)
            return
        for u in t.node.reads():
            visit(u)

    for t in outputs:
        visit(t)
    return order


def functional_config(name, inputs, outputs):
    """The Keras 3 Functional config of the graph from `inputs` to `outputs`: the layers in
    order of first visit, each with the calls of it this graph makes (renumbered among
    themselves, as Keras numbers a model's nodes)."""
    layers, nodes = [], []
    seen_layers, seen_nodes = set(), set()

    def visit(t):
        if not t.is_input:
            node = t.node
            if id(node) not in seen_nodes:
                seen_nodes.add(id(node))
                for u in node.reads():
                    visit(u)
                nodes.append(node)
        if id(t._layer) not in seen_layers:
            seen_layers.add(id(t._layer))
            layers.append(t._layer)

    for t in outputs:
        visit(t)
    input_ids = {id(t._layer) for t in inputs}
    for t in inputs:
        if id(t._layer) not in seen_layers:
            seen_layers.add(id(t._layer))
            layers.insert(0, t._layer)
    # Each layer's calls in this graph, in the layer's own order; a tensor names its call by
    # its position among them.
    index = {}
    for layer in layers:
        kept = [n for n in getattr(layer, "_nodes", []) if id(n) in seen_nodes]
        for k, n in enumerate(kept):
            index[id(n)] = k

    def tensor_json(t):
        if t.is_input:
            if id(t._layer) not in input_ids:
                raise ValueError(f"the outputs depend on input '{t._layer.name}', which is not among the model's inputs")
            history = [t._layer.name, 0, 0]
        else:
            history = [t._layer.name, index[id(t.node)], t._tensor_index]
        return {"class_name": "__keras_tensor__", "config": {"shape": None, "dtype": "float32", "keras_history": history}}

    entries = []
    for layer in layers:
        entry = layer._keras_config()
        entry["name"] = layer.name
        calls = [n for n in getattr(layer, "_nodes", []) if id(n) in seen_nodes]
        entry["inbound_nodes"] = [n.json(tensor_json) for n in calls]
        entries.append(entry)
    return {"module": "keras.src.models.functional", "class_name": "Functional",
            "config": {"name": name, "trainable": True, "layers": entries,
                       "input_layers": [tensor_json(t)["config"]["keras_history"] for t in inputs],
                       "output_layers": [tensor_json(t)["config"]["keras_history"] for t in outputs]},
            "registered_name": "Functional"}


def config_json(name, inputs, outputs):
    return json.dumps(functional_config(name, inputs, outputs))
