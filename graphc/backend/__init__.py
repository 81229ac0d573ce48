"""Backends that run graphs: the numpy reference and the LLVM compiler."""
