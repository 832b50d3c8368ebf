"""Read the weights of a Keras 2 HDF5 file (keras.applications' published MobileNet files, or
``model.save_weights(...h5)`` / ``model.save(...h5)``) into a PyTorch model of the same network.

The layout, from keras-team/keras (``saving/legacy/hdf5_format.py``, save_weights_to_hdf5_group):
the root group (or ``model_weights`` in a whole-model file) has an attribute ``layer_names``
listing every layer in the model's order; each layer's group has ``weight_names``, empty for
layers without weights, naming its datasets (``<layer>/kernel:0``, ...). The arrays, from the
layer classes:

* Conv2D ``kernel`` [kh, kw, in, out], optional ``bias`` [out];
* DepthwiseConv2D ``depthwise_kernel`` [kh, kw, channels, 1];
* BatchNormalization ``gamma``, ``beta``, ``moving_mean``, ``moving_variance`` [channels];
* Dense ``kernel`` [in, out], ``bias`` [out].

Layers are matched to the PyTorch model's Conv2d, BatchNorm2d and Linear modules by order, which
for keras.applications' MobileNets (applications/mobilenet.py, mobilenet_v2.py, mobilenet_v3.py)
is the same sequence as torchvision's (conv, its BatchNorm, ..., classifier); names are not
compared, since old and new Keras versions name the same layers differently, but every error
names the Keras layer and the module with both shapes.
"""
import numpy as np
import torch
from torch import nn


class KerasImportError(ValueError):
    pass


def _text(v):
    return v.decode("utf-8") if isinstance(v, bytes) else str(v)


def keras_layers(path):
    """[(layer name, {weight: array})] for the layers of ``path`` that hold weights, in the file's
    order; weights keyed by their short name (``kernel``, ``depthwise_kernel``, ``bias``,
    ``gamma``, ``beta``, ``moving_mean``, ``moving_variance``)."""
    import h5py

    layers = []
    with h5py.File(path, "r") as f:
        root = f["model_weights"] if "model_weights" in f else f
        if "layer_names" not in root.attrs:
            raise KerasImportError("%s: no 'layer_names' attribute; not a Keras 2 HDF5 weight file"
                                   % path)
        for name in (_text(n) for n in root.attrs["layer_names"]):
            group = root[name]
            weight_names = [_text(w) for w in group.attrs.get("weight_names", [])]
            if not weight_names:
                continue
            weights = {}
            for w in weight_names:
                short = w.split("/")[-1].split(":")[0]
                weights[short] = np.array(group[w], dtype=np.float32)
            layers.append((name, weights))
    return layers


def _modules(model):
    return [(n, m) for n, m in model.named_modules()
            if isinstance(m, (nn.Conv2d, nn.BatchNorm2d, nn.Linear))]


def _torch_arrays(layer, weights, module):
    """{module parameter or buffer name: array in PyTorch's layout} for one Keras layer."""
    if "gamma" in weights or "moving_mean" in weights:
        if not isinstance(module, nn.BatchNorm2d):
            raise KerasImportError("Keras layer '%s' is a BatchNormalization" % layer)
        return {"weight": weights["gamma"], "bias": weights["beta"],
                "running_mean": weights["moving_mean"], "running_var": weights["moving_variance"]}
    out = {}
    if "depthwise_kernel" in weights:
        k = weights["depthwise_kernel"]  # [kh, kw, C, 1] -> [C, 1, kh, kw]
        out["weight"] = k.transpose(2, 3, 0, 1)
    elif "kernel" in weights:
        k = weights["kernel"]
        if isinstance(module, nn.Linear):
            if k.ndim == 4:  # a 1x1 Conv2D classifier (MobileNet V1's conv_preds, V3's Logits)
                if k.shape[:2] != (1, 1):
                    raise KerasImportError("Keras layer '%s': a %dx%d conv cannot be the classifier"
                                           % (layer, k.shape[0], k.shape[1]))
                k = k[0, 0]
            out["weight"] = k.T  # [in, out] -> [out, in]
        else:
            if k.ndim != 4:
                raise KerasImportError("Keras layer '%s' has a %d-D kernel where %s needs a conv"
                                       % (layer, k.ndim, type(module).__name__))
            out["weight"] = k.transpose(3, 2, 0, 1)  # [kh, kw, in, out] -> [out, in, kh, kw]
    else:
        raise KerasImportError("Keras layer '%s' holds %s: not a conv, dense or BatchNorm layer"
                               % (layer, sorted(weights)))
    if "bias" in weights:
        out["bias"] = weights["bias"]
    return out


def state_dict(layers, model, describe):
    """The state dict of ``model`` (a PyTorch MobileNet, ``describe`` naming it in errors) holding
    the Keras ``layers`` (keras_layers()); raises KerasImportError on any mismatch."""
    modules = _modules(model)
    if len(layers) != len(modules):
        raise KerasImportError(
            "the Keras file has %d layers with weights, %s has %d conv, BatchNorm and linear "
            "layers; wrong architecture? (first Keras layers: %s)"
            % (len(layers), describe, len(modules), ", ".join(n for n, _ in layers[:3])))
    state = {k: v.clone() for k, v in model.state_dict().items()}
    for (layer, weights), (mname, module) in zip(layers, modules):
        arrays = _torch_arrays(layer, weights, module)
        expected = {n for n, _ in module.named_parameters(recurse=False)}
        if isinstance(module, nn.BatchNorm2d):
            expected |= {"running_mean", "running_var"}
        if set(arrays) != expected:
            raise KerasImportError(
                "Keras layer '%s' holds %s but %s.%s of %s needs %s (a bias where there is none, "
                "or none where there is one?)"
                % (layer, sorted(arrays), mname, "*", describe, sorted(expected)))
        for pname, a in arrays.items():
            key = "%s.%s" % (mname, pname)
            want = tuple(state[key].shape)
            if tuple(a.shape) != want:
                raise KerasImportError(
                    "Keras layer '%s' (%s %s) does not match %s %s of %s"
                    % (layer, pname, tuple(a.shape), key, want, describe))
            state[key] = torch.from_numpy(np.ascontiguousarray(a))
    return state
