"""The LLVM backend: loop IR, schedules, codegen, JIT, object cache and kernels."""
from .cache import clear as clear_cache
from .runtime import CompiledProgram, compile_program, default_threads

__all__ = ["CompiledProgram", "compile_program", "default_threads", "clear_cache"]
