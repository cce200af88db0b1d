"""archcost's benchmark suite: ``python -m benchmarks`` (not part of CI or the test suite).

Each case times archcost and a peer (onnx-tool's profile, ``onnx.load`` alone, or
the interpreter itself) in the same run, on the same machine, and prints the
ratio next to the issue's target. Models are built with ``onnx.helper`` at
realistic sizes and cached in ``benchmarks/.cache`` (git-ignored); nothing is
downloaded.
"""
