"""Symbolic differentiation: grad, jacobian, hessian and Hessian-vector products."""
from .grad import backprop, grad
from .higher import hessian, hessian_vector_product, jacobian

__all__ = ["backprop", "grad", "hessian", "hessian_vector_product", "jacobian"]
