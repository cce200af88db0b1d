"""Front ends: YAML specs and ONNX models, each lowered to :class:`archcost.graph.Graph`."""
