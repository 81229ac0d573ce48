"""Lowerings from graph ops to loop-IR kernels: table.py lists them, registry.py states
the contract; reduce.py, matmul.py, softmax.py, data.py and nn.py hold the lowerings of
the ops that fusion.py does not compute inline."""
