"""Muon (Jordan et al. 2024, "Muon: an optimizer for hidden layers") for convolution kernels.
Keras's own `keras.optimizers.Muon` takes Muon's step for 2-D variables only and AdamW for the
rest, so a Conv2D kernel (4-D) would get AdamW. Two optimizers:
- ConvMuon, for the CNN: Muon for the convolution kernels and Nesterov SGD for everything
  else, as airbench94_muon trains its CIFAR-10 network; batch norm follows each convolution.
- KernelMuon, for the autoencoder, which has no batch norm: Keras's Muon for every kernel,
  convolutions included, and Adam for the rest.
"""

from __future__ import annotations

import re

import keras
import tensorflow as tf


@keras.saving.register_keras_serializable(package="pipeline")
class ConvMuon(keras.optimizers.Optimizer):
    """`learning_rate` (a float or schedule) and momentum 0.9 with Nesterov's correction, as
    keras.optimizers.SGD, for every variable but the convolution kernels. Each kernel (4-D)
    instead takes `kernel_scale` times that learning rate in Muon's step:
    - Nesterov momentum (`kernel_momentum`; airbench: 0.6) on its gradient;
    - the update orthogonalised: the kernel as a matrix of one row per output channel, its
      singular values pushed towards 1 by `ns_steps` Newton-Schulz iterations, so the update's
      directions move by comparable amounts rather than in proportion to their gradients;
    - the kernel rescaled to the norm sqrt(output channels) before the step: batch norm follows
      every convolution here, so the scale of a kernel changes nothing the network computes
      and the step's size relative to the kernel stays what the learning rate says.
    Weight decay (`weight_decay`, decoupled) shrinks every variable; on a kernel the rescaling
    undoes it."""

    def __init__(self, learning_rate, kernel_scale, kernel_momentum=0.6, ns_steps=3, momentum=0.9, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.kernel_scale = kernel_scale
        self.kernel_momentum = kernel_momentum
        self.ns_steps = ns_steps
        self.momentum = momentum

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        self.momentums = [self.add_variable_from_reference(v, "momentum") for v in var_list]

    def update_step(self, gradient, variable, learning_rate):
        lr = tf.cast(learning_rate, variable.dtype)
        g = tf.cast(gradient, variable.dtype)
        m = self.momentums[self._get_variable_index(variable)]
        if len(variable.shape) != 4:
            self.assign(m, m * self.momentum - g * lr)
            self.assign_add(variable, m * self.momentum - g * lr)
            return
        self.assign(m, m * self.kernel_momentum + g)
        direction = orthogonalised(g + m * self.kernel_momentum, self.ns_steps)
        channels = variable.shape[-1]
        kernel = variable * (channels**0.5 / (tf.norm(variable) + 1e-12))
        self.assign(variable, kernel - lr * self.kernel_scale * direction)

    def get_config(self):
        return super().get_config() | {
            "kernel_scale": self.kernel_scale,
            "kernel_momentum": self.kernel_momentum,
            "ns_steps": self.ns_steps,
            "momentum": self.momentum,
        }


@keras.saving.register_keras_serializable(package="pipeline")
class KernelMuon(keras.optimizers.Muon):
    """Keras's Muon with its step for every kernel of two or more dimensions, a convolution's
    taken as the matrix of one column per output channel (as ConvMuon's), and Adam for the
    variables of fewer (biases), embeddings and the layers `exclude_layers` names (Muon's
    authors keep the output layer on Adam). Keras scales the update to Adam's size (`rms_rate`,
    after Liu et al. 2025), so Adam's learning rate and schedule carry over. Weight decay is off
    on both by default, as Keras's Adam has none (Keras's Muon: 0.004); 3 Newton-Schulz
    iterations, as ConvMuon's, where Keras takes 5."""

    def __init__(self, learning_rate, ns_steps=3, weight_decay=None, adam_weight_decay=None, **kwargs):
        super().__init__(
            learning_rate, ns_steps=ns_steps, weight_decay=weight_decay, adam_weight_decay=adam_weight_decay, **kwargs
        )

    def _should_use_adamw(self, variable):
        # Keras's rule, with kernels of more than two dimensions kept on Muon.
        if len(variable.shape) < 2:
            return True
        if self.exclude_embeddings and "embedding" in variable.path.lower():
            return True
        return any(re.search(keyword, variable.path) for keyword in self.exclude_layers)

    # Keras's iteration and its scaling by the matrix's larger side, on the flattened kernel.
    def zeropower_via_newtonschulz5(self, x, steps: int):
        return tf.reshape(super().zeropower_via_newtonschulz5(tf.reshape(x, (-1, x.shape[-1])), steps), x.shape)

    def lr_adjust(self, x):
        return tf.reshape(super().lr_adjust(tf.reshape(x, (-1, x.shape[-1]))), x.shape)


def orthogonalised(gradient, steps: int):
    """A convolution kernel's gradient (kh, kw, in, out) with the singular values of its matrix
    (out rows of kh*kw*in) pushed towards 1: Newton-Schulz's quintic iteration with Muon's
    coefficients, which after a few steps leaves them between about 0.5 and 1.5 rather than
    exactly 1 (no worse for training, per Muon's authors) at the cost of a few small products."""
    a, b, c = 3.4445, -4.7750, 2.0315
    shape = gradient.shape
    x = tf.transpose(tf.reshape(gradient, (-1, shape[-1])))
    wide = x.shape[0] <= x.shape[1]
    if not wide:
        x = tf.transpose(x)
    x = x / (tf.norm(x) + 1e-7)  # the largest singular value at most 1, where the iteration converges
    for _ in range(steps):
        gram = tf.matmul(x, x, transpose_b=True)
        x = a * x + tf.matmul(b * gram + c * tf.matmul(gram, gram), x)
    if not wide:
        x = tf.transpose(x)
    return tf.reshape(tf.transpose(x), shape)
