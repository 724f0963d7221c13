"""nanobragg.torch: the simulated image as a differentiable PyTorch function of parameters.

    import torch
    import nanobragg
    import nanobragg.torch as nbt

    exp = nanobragg.Experiment(cell=(50, 60, 70, 90, 90, 90), N=6, default_F=100, detpixels=64)
    values = torch.tensor([100.0, 6.0], dtype=torch.float64, requires_grad=True)
    image = nbt.simulate(exp, ["distance_mm", "Na"], values)   # (spixels, fpixels), float64
    image.sum().backward()                                       # values.grad: d sum / d values

The forward pass renders the experiment with the parameters set to values (the library's
nb_deriv_param_set: cell_a_A sets one element of the cell, ...); where gradients are wanted it
also takes the image's analytic Jacobian (Experiment.jacobian), and the backward pass
contracts the incoming gradient with it.  Importing this module needs PyTorch; nothing else in
the package imports it.
"""
try:
    import torch as _torch
except ImportError as e:   # pragma: no cover - depends on the environment
    raise ImportError("nanobragg.torch needs PyTorch, which is not installed (import torch failed: "
                      f"{e}); the rest of nanobragg works without it") from e

import numpy as np

from . import Experiment, _deriv_names

__all__ = ["Simulate", "simulate"]


def _with_values(experiment, names, values):
    """A copy of experiment with each differentiable parameter names[i] set to values[i]."""
    cfg = experiment._cfg.copy()
    cfg.use_sf_of(experiment._exp)
    for name, value in zip(names, values):
        cfg.deriv_set(name, float(value))
    other = Experiment.__new__(Experiment)
    params = experiment.params
    params.update(zip(names, (float(v) for v in values)))
    other._setup(cfg, params, experiment._flags, warn=False)
    return other


class Simulate(_torch.autograd.Function):
    """Simulate.apply(values, experiment, names, region, pixels): the image (float64 tensor,
    the shape of Experiment.jacobian's image) with the parameters names set to values (a 1-D
    tensor of len(names)); differentiable with respect to values."""

    @staticmethod
    def forward(ctx, values, experiment, names, region=None, pixels=None):
        v = values.detach().cpu().to(_torch.float64).numpy()
        exp = _with_values(experiment, names, v)
        want_grad = ctx.needs_input_grad[0]
        image, J = exp.jacobian(names if want_grad else [], region=region, pixels=pixels)
        if want_grad:
            ctx.save_for_backward(_torch.from_numpy(np.ascontiguousarray(J)))
        ctx.device, ctx.dtype = values.device, values.dtype
        return _torch.from_numpy(np.ascontiguousarray(image)).to(values.device)

    @staticmethod
    def backward(ctx, grad_output):
        (J,) = ctx.saved_tensors
        g = grad_output.detach().cpu().to(_torch.float64)
        grad = (J * g.unsqueeze(0)).reshape(J.shape[0], -1).sum(dim=1)
        return grad.to(device=ctx.device, dtype=ctx.dtype), None, None, None, None


def simulate(experiment, names, values, region=None, pixels=None):
    """The image of experiment with the differentiable parameters names (deriv_params()) set to
    values (a 1-D tensor, or a sequence of numbers or 0-d tensors), as a float64 tensor that
    gradients flow back through to values.  region, pixels: as Experiment.jacobian's."""
    if not isinstance(experiment, Experiment):
        raise TypeError(f"experiment: expected a nanobragg.Experiment, got {type(experiment).__name__}")
    names = _deriv_names(names, "names")
    if not isinstance(values, _torch.Tensor):
        values = list(values)
        values = (_torch.stack([_torch.as_tensor(v, dtype=_torch.float64).reshape(()) for v in values]) if values
                  else _torch.zeros(0, dtype=_torch.float64))
    values = values.reshape(-1)
    if values.numel() != len(names):
        raise ValueError(f"values: {values.numel()} values for {len(names)} parameters")
    return Simulate.apply(values, experiment, tuple(names), region, pixels)
