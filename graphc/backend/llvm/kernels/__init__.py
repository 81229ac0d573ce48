"""Kernel builders: each returns loop IR plus its schedule, never LLVM instructions."""
