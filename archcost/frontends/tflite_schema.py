"""The parts of the TFLite flatbuffer schema (``tensorflow/compiler/mlir/lite/schema/schema.fbs``,
file identifier ``TFL3``) that archcost reads, written out as data.

A flatbuffer table names its fields by slot: the n-th field declared in the schema is read at
vtable entry n. The tables below list, per table, the fields archcost reads in slot order; an
options table lists every field up to the last one read (a deprecated field keeps its slot as
``None``). ``tests/test_tflite_schema.py`` checks every slot, kind, default and enum number here
against the ``tflite`` package, which is the official schema compiled by ``flatc``.

Kinds: ``b`` int8 (an enum), ``B`` uint8, ``i`` int32, ``?`` bool, ``f`` float32, ``i*`` a vector of
int32, ``s`` a string.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

#: ``BuiltinOperator`` names by code (``schema.fbs`` enum order, 0 = ADD … 208 = STABLEHLO_CBRT).
BUILTIN_OPERATORS: tuple[str, ...] = tuple("""
ADD AVERAGE_POOL_2D CONCATENATION CONV_2D DEPTHWISE_CONV_2D DEPTH_TO_SPACE DEQUANTIZE EMBEDDING_LOOKUP FLOOR
FULLY_CONNECTED HASHTABLE_LOOKUP L2_NORMALIZATION L2_POOL_2D LOCAL_RESPONSE_NORMALIZATION LOGISTIC
LSH_PROJECTION LSTM MAX_POOL_2D MUL RELU RELU_N1_TO_1 RELU6 RESHAPE RESIZE_BILINEAR RNN SOFTMAX SPACE_TO_DEPTH
SVDF TANH CONCAT_EMBEDDINGS SKIP_GRAM CALL CUSTOM EMBEDDING_LOOKUP_SPARSE PAD UNIDIRECTIONAL_SEQUENCE_RNN
GATHER BATCH_TO_SPACE_ND SPACE_TO_BATCH_ND TRANSPOSE MEAN SUB DIV SQUEEZE UNIDIRECTIONAL_SEQUENCE_LSTM
STRIDED_SLICE BIDIRECTIONAL_SEQUENCE_RNN EXP TOPK_V2 SPLIT LOG_SOFTMAX DELEGATE BIDIRECTIONAL_SEQUENCE_LSTM
CAST PRELU MAXIMUM ARG_MAX MINIMUM LESS NEG PADV2 GREATER GREATER_EQUAL LESS_EQUAL SELECT SLICE SIN
TRANSPOSE_CONV SPARSE_TO_DENSE TILE EXPAND_DIMS EQUAL NOT_EQUAL LOG SUM SQRT RSQRT SHAPE POW ARG_MIN
FAKE_QUANT REDUCE_PROD REDUCE_MAX PACK LOGICAL_OR ONE_HOT LOGICAL_AND LOGICAL_NOT UNPACK REDUCE_MIN FLOOR_DIV
REDUCE_ANY SQUARE ZEROS_LIKE FILL FLOOR_MOD RANGE RESIZE_NEAREST_NEIGHBOR LEAKY_RELU SQUARED_DIFFERENCE
MIRROR_PAD ABS SPLIT_V UNIQUE CEIL REVERSE_V2 ADD_N GATHER_ND COS WHERE RANK ELU REVERSE_SEQUENCE MATRIX_DIAG
QUANTIZE MATRIX_SET_DIAG ROUND HARD_SWISH IF WHILE NON_MAX_SUPPRESSION_V4 NON_MAX_SUPPRESSION_V5 SCATTER_ND
SELECT_V2 DENSIFY SEGMENT_SUM BATCH_MATMUL PLACEHOLDER_FOR_GREATER_OP_CODES CUMSUM CALL_ONCE BROADCAST_TO
RFFT2D CONV_3D IMAG REAL COMPLEX_ABS HASHTABLE HASHTABLE_FIND HASHTABLE_IMPORT HASHTABLE_SIZE REDUCE_ALL
CONV_3D_TRANSPOSE VAR_HANDLE READ_VARIABLE ASSIGN_VARIABLE BROADCAST_ARGS RANDOM_STANDARD_NORMAL BUCKETIZE
RANDOM_UNIFORM MULTINOMIAL GELU DYNAMIC_UPDATE_SLICE RELU_0_TO_1 UNSORTED_SEGMENT_PROD UNSORTED_SEGMENT_MAX
UNSORTED_SEGMENT_SUM ATAN2 UNSORTED_SEGMENT_MIN SIGN BITCAST BITWISE_XOR RIGHT_SHIFT STABLEHLO_LOGISTIC
STABLEHLO_ADD STABLEHLO_DIVIDE STABLEHLO_MULTIPLY STABLEHLO_MAXIMUM STABLEHLO_RESHAPE STABLEHLO_CLAMP
STABLEHLO_CONCATENATE STABLEHLO_BROADCAST_IN_DIM STABLEHLO_CONVOLUTION STABLEHLO_SLICE STABLEHLO_CUSTOM_CALL
STABLEHLO_REDUCE STABLEHLO_ABS STABLEHLO_AND STABLEHLO_COSINE STABLEHLO_EXPONENTIAL STABLEHLO_FLOOR
STABLEHLO_LOG STABLEHLO_MINIMUM STABLEHLO_NEGATE STABLEHLO_OR STABLEHLO_POWER STABLEHLO_REMAINDER
STABLEHLO_RSQRT STABLEHLO_SELECT STABLEHLO_SUBTRACT STABLEHLO_TANH STABLEHLO_SCATTER STABLEHLO_COMPARE
STABLEHLO_CONVERT STABLEHLO_DYNAMIC_SLICE STABLEHLO_DYNAMIC_UPDATE_SLICE STABLEHLO_PAD STABLEHLO_IOTA
STABLEHLO_DOT_GENERAL STABLEHLO_REDUCE_WINDOW STABLEHLO_SORT STABLEHLO_WHILE STABLEHLO_GATHER
STABLEHLO_TRANSPOSE DILATE STABLEHLO_RNG_BIT_GENERATOR REDUCE_WINDOW STABLEHLO_COMPOSITE STABLEHLO_SHIFT_LEFT
STABLEHLO_CBRT
""".split())
#: The ``CUSTOM`` operator code: its name is the operator code's ``custom_code`` string.
CUSTOM = BUILTIN_OPERATORS.index("CUSTOM")

#: ``TensorType`` code → archcost dtype name (:mod:`archcost.dtypes`).
TENSOR_TYPES: Mapping[int, str] = MappingProxyType({
    0: "float32", 1: "float16", 2: "int32", 3: "uint8", 4: "int64", 5: "string", 6: "bool", 7: "int16",
    8: "complex64", 9: "int8", 10: "float64", 11: "complex128", 12: "uint64", 13: "resource", 14: "variant",
    15: "uint32", 16: "uint16", 17: "int4", 18: "bfloat16",
})

#: ``ActivationFunctionType`` names by code (a fused activation).
ACTIVATIONS = ("NONE", "RELU", "RELU_N1_TO_1", "RELU6", "TANH", "SIGN_BIT")
#: ``Padding`` names by code.
PADDINGS = ("SAME", "VALID")
#: ``MirrorPadMode`` names by code.
MIRROR_PAD_MODES = ("REFLECT", "SYMMETRIC")
#: Enum-valued option fields, decoded to their names.
ENUM_FIELDS: Mapping[str, tuple[str, ...]] = MappingProxyType({
    "fused_activation_function": ACTIVATIONS, "padding": PADDINGS, "mode": MIRROR_PAD_MODES,
})

Field = tuple[str, str, object] | None

_CONV = (("padding", "b", 0), ("stride_w", "i", 0), ("stride_h", "i", 0))
_ACT = ("fused_activation_function", "b", 0)

#: ``BuiltinOptions`` union type → (table name, fields in slot order).
OPTIONS: Mapping[int, tuple[str, tuple[Field, ...]]] = MappingProxyType({
    1: ("Conv2DOptions", (*_CONV, _ACT, ("dilation_w_factor", "i", 1), ("dilation_h_factor", "i", 1))),
    2: ("DepthwiseConv2DOptions", (*_CONV, ("depth_multiplier", "i", 0), _ACT, ("dilation_w_factor", "i", 1),
                                   ("dilation_h_factor", "i", 1))),
    5: ("Pool2DOptions", (*_CONV, ("filter_width", "i", 0), ("filter_height", "i", 0), _ACT)),
    7: ("RNNOptions", (_ACT,)),
    8: ("FullyConnectedOptions", (_ACT, ("weights_format", "b", 0), ("keep_num_dims", "?", False))),
    9: ("SoftmaxOptions", (("beta", "f", 0.0),)),
    10: ("ConcatenationOptions", (("axis", "i", 0), _ACT)),
    11: ("AddOptions", (_ACT,)),
    12: ("L2NormOptions", (_ACT,)),
    13: ("LocalResponseNormalizationOptions", (("radius", "i", 0), ("bias", "f", 0.0), ("alpha", "f", 0.0),
                                              ("beta", "f", 0.0))),
    14: ("LSTMOptions", (_ACT, ("cell_clip", "f", 0.0), ("proj_clip", "f", 0.0), ("kernel_type", "b", 0))),
    15: ("ResizeBilinearOptions", (None, None, ("align_corners", "?", False), ("half_pixel_centers", "?", False))),
    17: ("ReshapeOptions", (("new_shape", "i*", ()),)),
    19: ("SpaceToDepthOptions", (("block_size", "i", 0),)),
    21: ("MulOptions", (_ACT,)),
    23: ("GatherOptions", (("axis", "i", 0), ("batch_dims", "i", 0))),
    27: ("ReducerOptions", (("keep_dims", "?", False),)),
    28: ("SubOptions", (_ACT,)),
    29: ("DivOptions", (_ACT,)),
    30: ("SqueezeOptions", (("squeeze_dims", "i*", ()),)),
    31: ("SequenceRNNOptions", (("time_major", "?", False), _ACT)),
    32: ("StridedSliceOptions", (("begin_mask", "i", 0), ("end_mask", "i", 0), ("ellipsis_mask", "i", 0),
                                ("new_axis_mask", "i", 0), ("shrink_axis_mask", "i", 0), ("offset", "?", False))),
    35: ("SplitOptions", (("num_splits", "i", 0),)),
    37: ("CastOptions", (("in_data_type", "b", 0), ("out_data_type", "b", 0))),
    40: ("ArgMaxOptions", (("output_type", "b", 0),)),
    49: ("TransposeConvOptions", (*_CONV, _ACT)),
    55: ("ShapeOptions", (("out_type", "b", 0),)),
    57: ("ArgMinOptions", (("output_type", "b", 0),)),
    59: ("PackOptions", (("values_count", "i", 0), ("axis", "i", 0))),
    61: ("OneHotOptions", (("axis", "i", 0),)),
    64: ("UnpackOptions", (("num", "i", 0), ("axis", "i", 0))),
    69: ("BidirectionalSequenceLSTMOptions", (_ACT, ("cell_clip", "f", 0.0), ("proj_clip", "f", 0.0),
                                             ("merge_outputs", "?", False), ("time_major", "?", True))),
    70: ("BidirectionalSequenceRNNOptions", (("time_major", "?", False), _ACT, ("merge_outputs", "?", False))),
    71: ("UnidirectionalSequenceLSTMOptions", (_ACT, ("cell_clip", "f", 0.0), ("proj_clip", "f", 0.0),
                                              ("time_major", "?", False))),
    74: ("ResizeNearestNeighborOptions", (("align_corners", "?", False), ("half_pixel_centers", "?", False))),
    75: ("LeakyReluOptions", (("alpha", "f", 0.0),)),
    77: ("MirrorPadOptions", (("mode", "b", 0),)),
    79: ("SplitVOptions", (("num_splits", "i", 0),)),
    92: ("IfOptions", (("then_subgraph_index", "i", 0), ("else_subgraph_index", "i", 0))),
    93: ("WhileOptions", (("cond_subgraph_index", "i", 0), ("body_subgraph_index", "i", 0))),
    94: ("DepthToSpaceOptions", (("block_size", "i", 0),)),
    101: ("BatchMatMulOptions", (("adj_x", "?", False), ("adj_y", "?", False))),
    102: ("CumsumOptions", (("exclusive", "?", False), ("reverse", "?", False))),
    103: ("CallOnceOptions", (("init_subgraph_index", "i", 0),)),
    106: ("Conv3DOptions", (("padding", "b", 0), ("stride_d", "i", 0), ("stride_w", "i", 0), ("stride_h", "i", 0),
                          _ACT, ("dilation_d_factor", "i", 1), ("dilation_w_factor", "i", 1),
                          ("dilation_h_factor", "i", 1))),
    111: ("VarHandleOptions", (("container", "s", ""), ("shared_name", "s", ""))),
    116: ("GeluOptions", (("approximate", "?", False),)),
})

# Slots of the tables archcost reads (vtable entry = field's declaration index in schema.fbs).
MODEL = {"version": 0, "operator_codes": 1, "subgraphs": 2, "description": 3, "buffers": 4}
OPERATOR_CODE = {"deprecated_builtin_code": 0, "custom_code": 1, "version": 2, "builtin_code": 3}
SUBGRAPH = {"tensors": 0, "inputs": 1, "outputs": 2, "operators": 3, "name": 4}
TENSOR = {"shape": 0, "type": 1, "buffer": 2, "name": 3, "quantization": 4, "is_variable": 5, "sparsity": 6,
          "shape_signature": 7}
QUANTIZATION = {"min": 0, "max": 1, "scale": 2, "zero_point": 3, "quantized_dimension": 6}
OPERATOR = {"opcode_index": 0, "inputs": 1, "outputs": 2, "builtin_options_type": 3, "builtin_options": 4,
            "custom_options": 5, "intermediates": 8}
BUFFER = {"data": 0, "offset": 1, "size": 2}
