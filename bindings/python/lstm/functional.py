"""Keras's functional models: `Model(inputs, outputs)` over symbolic tensors.

The graph is written as Keras 3 Functional JSON and built by liblstm, which checks it and knows
every shape; data goes through the library's tensor functions (lstm_model_run, fit_tensors,
evaluate_tensors), one array per input and output, in Keras's order.
"""
import ctypes
import json

import numpy as np

from . import _lib, engine
from ._lib import call, lib
from . import distributed as distributed_module
from .layers import InputLayer, _unique_name
from .models import (_as_float32, _check_fit_arguments, _class_weights, _compile_config, _fit_loop, _Handle,
                     _ModelMethods, _print_table, _Progress, _sample_weights, _split_validation, _validation_triple,
                     _verbose_level)
from .utils import next_seed


def _as_list(value):
    return list(value) if isinstance(value, (list, tuple)) else [value]


class Model(_ModelMethods):
    """A functional model, as keras.Model(inputs, outputs): several inputs and outputs, shared
    layers, return_state, initial_state, masks."""

    def __init__(self, inputs=None, outputs=None, name=None, trainable=True, **kwargs):
        if kwargs:
            raise TypeError(f"Model: unexpected keyword arguments {sorted(kwargs)}")
        if trainable is not True:
            raise ValueError("Model: trainable=False is not supported")
        if inputs is None or outputs is None:
            raise ValueError("Model needs inputs and outputs (symbolic tensors from lstm.Input and layer calls); "
                             "subclassed models are not supported")
        if isinstance(inputs, dict):
            inputs = list(inputs.values())
        self._inputs = engine._tensors(inputs, "Model inputs")
        self._outputs = engine._tensors(outputs, "Model outputs")
        self._single_input = not isinstance(inputs, (list, tuple))
        self._single_output = not isinstance(outputs, (list, tuple))
        self.name = name or _unique_name("functional")
        self._compile_config = None
        self.stop_training = False
        self.history = None
        config = engine.functional_config(self.name, self._inputs, self._outputs)
        pointer = ctypes.c_void_p()
        call(lib.lstm_model_from_json, json.dumps(config).encode(), next_seed(), ctypes.byref(pointer))
        self._handle = _Handle(pointer)
        self._claim_new_layers()
        self._sync_shared_weights()

    @classmethod
    def _from_handle(cls, handle, config):
        """A model around a handle the library loaded: the Python graph rebuilt from its config
        (the weights, compile state and masks stay the library's)."""
        cfg = config["config"]
        layers, tensors = {}, {}
        pending = []
        for entry in cfg["layers"]:
            name = entry.get("name") or entry["config"]["name"]
            if entry["class_name"] == "InputLayer":
                tensors[(name, 0, 0)] = Input_from_config(entry["config"])
                continue
            if entry["class_name"] in ("NotEqual", "Any"):
                continue  # Keras 3's mask computations: the library keeps them; the layers carry masks here
            layers[name] = layer_from_config(entry)
            pending += [(name, k, node) for k, node in enumerate(entry.get("inbound_nodes", []))]

        def ref(t):
            return tensors.get(tuple(t["config"]["keras_history"]))

        while pending:
            rest = []
            for name, k, node in pending:
                args = node["args"][0]
                ins = [ref(t) for t in args] if isinstance(args, list) else [ref(args)]
                state = [ref(t) for t in (node["kwargs"].get("initial_state") or [])]
                if any(t is None for t in ins + state):
                    rest.append((name, k, node))
                    continue
                out = layers[name](ins if isinstance(args, list) else ins[0], initial_state=state or None)
                for j, t in enumerate(_as_list(out)):
                    tensors[(name, k, j)] = t
            if len(rest) == len(pending):
                raise ValueError(f"cannot rebuild the graph of model '{cfg.get('name')}' in Python")
            pending = rest
        inputs = [tensors[tuple(h)] for h in _ends(cfg["input_layers"])]
        outputs = [tensors[tuple(h)] for h in _ends(cfg["output_layers"])]
        m = cls.__new__(cls)
        m._inputs, m._outputs = inputs, outputs
        m._single_input, m._single_output = len(inputs) == 1, len(outputs) == 1
        m.name = cfg.get("name", "functional")
        m._compile_config = config.get("compile_config") or None
        m.stop_training, m.history = False, None
        m._handle = handle
        m._after_weights_change()
        return m

    def _graph_layers(self):
        seen, order = set(), []

        def visit(t):
            if not t.is_input:
                for u in t.node.reads():
                    visit(u)
            if id(t._layer) not in seen:
                seen.add(id(t._layer))
                order.append(t._layer)

        for t in self._inputs + self._outputs:
            visit(t)
        return order

    @property
    def _model(self):
        return self._handle.pointer

    def _ensure_built(self, x_shape=None):
        self._sync_shared_weights()

    def _model_layers(self):
        return [l for l in self._graph_layers() if not isinstance(l, InputLayer)]

    # ---------------------------------------------------------------- structure

    @property
    def inputs(self):
        return list(self._inputs)

    @property
    def outputs(self):
        return list(self._outputs)

    @property
    def input_names(self):
        return [t._layer.name for t in self._inputs]

    @property
    def output_names(self):
        return [self._info(lib.lstm_model_output_info, k)[0] for k in range(len(self._outputs))]

    def _info(self, fn, k):
        name = ctypes.create_string_buffer(256)
        rank, shape = ctypes.c_size_t(), (ctypes.c_size_t * _lib.MAX_RANK)()
        call(fn, self._model, k, name, 256, ctypes.byref(rank), shape)
        return name.value.decode(), tuple(None if shape[i] == 0 else shape[i] for i in range(rank.value))

    @property
    def input_shape(self):
        shapes = [self._info(lib.lstm_model_input_info, k)[1] for k in range(len(self._inputs))]
        return shapes[0] if self._single_input else shapes

    @property
    def output_shape(self):
        shapes = [self._info(lib.lstm_model_output_info, k)[1] for k in range(len(self._outputs))]
        return shapes[0] if self._single_output else shapes

    @property
    def layers(self):
        """The layers in Keras's model.layers order (the inputs' InputLayers included)."""
        by_name = {l.name: l for l in self._graph_layers()}
        return [by_name[i["name"]] for i in self._layer_infos() if i["name"] in by_name]

    def get_layer(self, name=None, index=None):
        layers = self.layers
        if index is not None:
            return layers[index]
        for layer in layers:
            if layer.name == name:
                return layer
        raise ValueError(f"no layer named '{name}' in model '{self.name}' (layers: {[l.name for l in layers]})")

    # ---------------------------------------------------------------- data

    def _arrays(self, x, names, what):
        """One float32 array per entry of `names`, from a list, a dict by name, or one array."""
        if isinstance(x, dict):
            missing = [n for n in names if n not in x]
            if missing:
                raise ValueError(f"{what}: no array for {missing} (given: {sorted(x)})")
            x = [x[n] for n in names]
        elif not isinstance(x, (list, tuple)):
            x = [x]
        x = list(x)
        if len(x) != len(names):
            raise ValueError(f"{what}: the model has {len(names)} ({', '.join(names)}), got {len(x)} arrays")
        return [_as_float32(a, f"{what} '{n}'") for a, n in zip(x, names)]

    def predict(self, x, batch_size=None, verbose="auto", steps=None, callbacks=None):
        """Outputs for x (one array per input, a list or a dict by input name): one array, or a
        list of them for several outputs."""
        if steps is not None:
            raise ValueError("predict: steps is not supported")
        verbose = _verbose_level(verbose)
        self._ensure_built()
        xs = self._arrays(x, self.input_names, "x")
        progress = _Progress(verbose, -(-xs[0].shape[0] // (batch_size or 32)) if xs[0].ndim else 1)
        if self._is_stateful():
            out = self._stateful_predict(xs, batch_size)
        elif callbacks:
            # Batch by batch for the callbacks' hooks (the same values: samples are independent).
            out = self._predict_with_callbacks(callbacks, xs[0].shape[0], batch_size, verbose,
                                               lambda a, b: self._tensor_run([np.ascontiguousarray(x[a:b]) for x in xs]))
        else:
            out = self._tensor_run(xs)
        progress.finish(progress.total, {})
        return out[0] if self._single_output else out

    def __call__(self, x):
        if isinstance(x, engine.KerasTensor) or (isinstance(x, (list, tuple)) and x and isinstance(x[0], engine.KerasTensor)):
            raise NotImplementedError("calling a Model on symbolic tensors (nesting models) is not supported yet")
        return self.predict(x, verbose=0)

    def _targets(self, y):
        return self._arrays(y, self.output_names, "y")

    # ---------------------------------------------------------------- training

    def compile(self, optimizer="rmsprop", loss=None, loss_weights=None, metrics=None, weighted_metrics=None,
                run_eagerly=False, steps_per_execution=1, jit_compile="auto", auto_scale_loss=True):
        """Sets the optimizer, the loss (one for every output, their losses summed as Keras sums
        them; or a list with one per output, or a dict by output name, None for an output without
        one), loss_weights (a list or a dict) and the metrics, as Keras's compile takes them."""
        config = _compile_config(optimizer, loss, loss_weights, metrics, weighted_metrics)
        self._apply_trainable_flags()
        call(lib.lstm_model_compile, self._model, json.dumps(config).encode())
        self._compile_config = config

    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None, validation_split=0.0,
            validation_data=None, shuffle=True, class_weight=None, sample_weight=None, initial_epoch=0,
            steps_per_epoch=None, validation_steps=None, validation_batch_size=None, validation_freq=1,
            distributed=None):
        """Trains as keras.Model.fit on one array per input and one target per output
        (distributed: as Sequential.fit)."""
        batch_size, epochs, verbose = _check_fit_arguments(self, batch_size, epochs, verbose, validation_split,
                                                           initial_epoch, class_weight, sample_weight,
                                                           steps_per_epoch, validation_steps, validation_freq)
        self._ensure_built()
        xs, ys = self._arrays(x, self.input_names, "x"), self._targets(y)
        sw = _sample_weights(sample_weight, xs[0].shape[0])
        validate = None
        # Split here, so that validation runs through evaluate's callback hooks (see Sequential.fit).
        if validation_data is None and validation_split:
            train, held = _split_validation(xs + ys + ([sw] if sw is not None else []), validation_split)
            k = len(xs) + len(ys)
            xs, ys, sw = train[:len(xs)], train[len(xs):k], (train[k] if sw is not None else None)
            validation_data = (held[:len(xs)], held[len(xs):k], held[k] if len(held) > k else None)
        held = None
        if validation_data is not None:
            xv, yv, swv = _validation_triple(validation_data)
            xv, yv = self._arrays(xv, self.input_names, "validation x"), self._targets(yv)
            held = xv + yv + [swv]
        strategy = distributed_module.strategy_for(distributed)
        if strategy is not None:
            train, held, verbose, callbacks = distributed_module.prepare(strategy, self, xs + ys + [sw], held, verbose,
                                                                         callbacks)
            xs, ys, sw = train[:len(xs)], train[len(xs):len(xs) + len(ys)], train[-1]
        if held is not None:
            xv, yv, swv = held[:len(xs)], held[len(xs):len(xs) + len(ys)], held[-1]
            validate = lambda cbs: self._evaluate_logs(xv, yv, validation_batch_size or batch_size, swv,  # noqa: E731
                                                       callbacks=cbs, configure=False)
            if strategy is not None:
                validate = lambda cbs, local=validate: strategy.mean_logs(local(cbs), xv[0].shape[0])  # noqa: E731
        tx, ty = _lib.tensors(xs), _lib.tensors(ys)

        def run(opts, hist, ran):
            return lib.lstm_model_fit_tensors(self._model, tx, len(xs), ty, len(ys), ctypes.byref(opts), hist,
                                              epochs, ctypes.byref(ran))

        return _fit_loop(self, run, xs[0].shape[0], batch_size, epochs, initial_epoch, verbose, callbacks,
                         shuffle, validate, sw, _class_weights(class_weight), validation_freq,
                         steps_per_epoch, strategy)

    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", sample_weight=None, steps=None,
                 callbacks=None, return_dict=False):
        """The compiled loss on (x, y), summed over the outputs, and the metrics as Keras returns
        them (see Sequential.evaluate)."""
        if steps is not None:
            raise ValueError("evaluate: steps is not supported")
        if self._compile_config is None:
            raise RuntimeError("You must call compile() before evaluate()")
        self._ensure_built()
        logs = self._evaluate_logs(self._arrays(x, self.input_names, "x"), self._targets(y), batch_size, sample_weight,
                                   callbacks, _verbose_level(verbose))
        return self._evaluate_result(logs, return_dict)

    # ---------------------------------------------------------------- summary

    def summary(self, print_fn=None):
        """Prints Keras's table for a functional model, with its "Connected to" column."""
        print_fn = print_fn or print
        rows = [(f"{i['name']} ({i['class_name']})", ", ".join(str(s) for s in i["shapes"]), f"{i['params']:,}",
                 i["connected_to"] or "-") for i in self._layer_infos()]
        heads = ("Layer (type)", "Output Shape", "Param #", "Connected to")
        w = [max(len(heads[c]), max(len(r[c]) for r in rows)) + 1 for c in range(4)]

        def line(cells, left="│", mid="│", right="│"):
            return left + mid.join(f" {cells[c]:<{w[c]}}" if c != 2 else f" {cells[c]:>{w[c]}} " for c in range(4)) + right

        def rule(l, m, r, ch):
            return l + m.join(ch * (w[c] + (2 if c == 2 else 1)) for c in range(4)) + r

        _print_table(print_fn, self.name, heads, rows, line, rule, self.count_params(), self._trainable_count())


def _ends(value):
    """input_layers / output_layers: one [name, node, tensor] or a list of them."""
    return [value] if value and isinstance(value[0], str) else value


def Input_from_config(config):
    from .layers import Input
    return Input(batch_shape=config.get("batch_shape") or config.get("batch_input_shape"), name=config["name"],
                 dtype=config.get("dtype") if isinstance(config.get("dtype"), str) else None)


def layer_from_config(entry):
    """A Python layer from its Keras 3 config entry (Bidirectional's wrapped layers included)."""
    import inspect
    from . import layers as layers_module
    if entry["class_name"] == "InputLayer":
        c = entry["config"]
        return layers_module.InputLayer(batch_shape=c.get("batch_shape") or c.get("batch_input_shape"), name=c.get("name"),
                                        dtype=c.get("dtype") if isinstance(c.get("dtype"), str) else None)
    cls = getattr(layers_module, entry["class_name"], None)
    if cls is None:
        raise ValueError(f"layer class {entry['class_name']} has no Python class in lstm.layers")
    c = dict(entry["config"])
    if entry["class_name"] == "Bidirectional":
        c["layer"] = layer_from_config(c["layer"])
        c["backward_layer"] = layer_from_config(c["backward_layer"]) if c.get("backward_layer") else None
    if entry["class_name"] == "TimeDistributed":
        c["layer"] = layer_from_config(c["layer"])
    accepted = inspect.signature(cls.__init__).parameters
    has_kwargs = any(p.kind == p.VAR_KEYWORD for p in accepted.values())
    kwargs = {k: v for k, v in c.items() if k != "dtype" and not k.endswith("_initializer")
              and (k in accepted or (has_kwargs and k in _BASE_KEYS))}
    return cls(**kwargs)


# Keyword arguments every layer (or every recurrent layer) takes through **kwargs.
_BASE_KEYS = {"name", "units", "activation", "recurrent_activation", "use_bias", "return_sequences", "return_state",
              "go_backwards", "stateful", "unroll", "zero_output_for_mask", "dropout", "recurrent_dropout", "seed",
              "unit_forget_bias", "reset_after", "trainable"}


__all__ = ["Model"]
