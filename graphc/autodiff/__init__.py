"""Symbolic differentiation: grad (reverse mode), jvp (forward mode), jacobian, hessian and
Hessian-vector products."""
from .forward import hvp, jvp, pushforward
from .grad import backprop, grad
from .higher import hessian, hessian_vector_product, jacobian

__all__ = ["backprop", "grad", "hessian", "hessian_vector_product", "hvp", "jacobian", "jvp", "pushforward"]
