"""Running models: export a graph to runnable ONNX, verify static results by execution, profile.

This is the only part of archcost that executes a model (and, for ``verify`` of
an ONNX file, reads its weights). ``session`` holds what every run shares (the
backend, the onnxruntime session, the random inputs); ``export``, ``verify`` and
``profile`` (with ``trace``, ``kernel_map`` and ``calibrate``) build on it.
"""
