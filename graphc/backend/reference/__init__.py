"""The numpy reference backend."""
from .interpreter import Program, evaluate

__all__ = ["Program", "evaluate"]
