"""Running models: export a graph to runnable ONNX, and verify static results by execution.

This is the only part of archcost that executes a model (and, for ``verify`` of
an ONNX file, reads its weights).
"""
