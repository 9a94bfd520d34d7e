"""Reads a TFLite flatbuffer into plain dataclasses the compiler can work with."""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from flatbuffers import number_types as nt
from flatbuffers.table import Table
from flatbuffers.util import GetBufferIdentifier

# BuiltinOperator names in enum order (TFLite schema), so a code maps to its name by index.
_BUILTIN_OPERATOR_TEXT = """
    ADD AVERAGE_POOL_2D CONCATENATION CONV_2D DEPTHWISE_CONV_2D DEPTH_TO_SPACE DEQUANTIZE
    EMBEDDING_LOOKUP FLOOR FULLY_CONNECTED HASHTABLE_LOOKUP L2_NORMALIZATION L2_POOL_2D
    LOCAL_RESPONSE_NORMALIZATION LOGISTIC LSH_PROJECTION LSTM MAX_POOL_2D MUL RELU
    RELU_N1_TO_1 RELU6 RESHAPE RESIZE_BILINEAR RNN SOFTMAX SPACE_TO_DEPTH SVDF TANH
    CONCAT_EMBEDDINGS SKIP_GRAM CALL CUSTOM EMBEDDING_LOOKUP_SPARSE PAD
    UNIDIRECTIONAL_SEQUENCE_RNN GATHER BATCH_TO_SPACE_ND SPACE_TO_BATCH_ND TRANSPOSE MEAN
    SUB DIV SQUEEZE UNIDIRECTIONAL_SEQUENCE_LSTM STRIDED_SLICE BIDIRECTIONAL_SEQUENCE_RNN
    EXP TOPK_V2 SPLIT LOG_SOFTMAX DELEGATE BIDIRECTIONAL_SEQUENCE_LSTM CAST PRELU MAXIMUM
    ARG_MAX MINIMUM LESS NEG PADV2 GREATER GREATER_EQUAL LESS_EQUAL SELECT SLICE SIN
    TRANSPOSE_CONV SPARSE_TO_DENSE TILE EXPAND_DIMS EQUAL NOT_EQUAL LOG SUM SQRT RSQRT SHAPE
    POW ARG_MIN FAKE_QUANT REDUCE_PROD REDUCE_MAX PACK LOGICAL_OR ONE_HOT LOGICAL_AND
    LOGICAL_NOT UNPACK REDUCE_MIN FLOOR_DIV REDUCE_ANY SQUARE ZEROS_LIKE FILL FLOOR_MOD
    RANGE RESIZE_NEAREST_NEIGHBOR LEAKY_RELU SQUARED_DIFFERENCE MIRROR_PAD ABS SPLIT_V
    UNIQUE CEIL REVERSE_V2 ADD_N GATHER_ND COS WHERE RANK ELU REVERSE_SEQUENCE MATRIX_DIAG
    QUANTIZE MATRIX_SET_DIAG ROUND HARD_SWISH IF WHILE NON_MAX_SUPPRESSION_V4
    NON_MAX_SUPPRESSION_V5 SCATTER_ND SELECT_V2 DENSIFY SEGMENT_SUM BATCH_MATMUL
    PLACEHOLDER_FOR_GREATER_OP_CODES CUMSUM CALL_ONCE BROADCAST_TO RFFT2D CONV_3D IMAG REAL
    COMPLEX_ABS HASHTABLE HASHTABLE_FIND HASHTABLE_IMPORT HASHTABLE_SIZE REDUCE_ALL
    CONV_3D_TRANSPOSE VAR_HANDLE READ_VARIABLE ASSIGN_VARIABLE BROADCAST_ARGS
    RANDOM_STANDARD_NORMAL BUCKETIZE RANDOM_UNIFORM MULTINOMIAL GELU DYNAMIC_UPDATE_SLICE
    RELU_0_TO_1 UNSORTED_SEGMENT_PROD UNSORTED_SEGMENT_MAX UNSORTED_SEGMENT_SUM ATAN2
    UNSORTED_SEGMENT_MIN SIGN BITCAST BITWISE_XOR RIGHT_SHIFT STABLEHLO_LOGISTIC
    STABLEHLO_ADD STABLEHLO_DIVIDE STABLEHLO_MULTIPLY STABLEHLO_MAXIMUM STABLEHLO_RESHAPE
    STABLEHLO_CLAMP STABLEHLO_CONCATENATE STABLEHLO_BROADCAST_IN_DIM STABLEHLO_CONVOLUTION
    STABLEHLO_SLICE STABLEHLO_CUSTOM_CALL STABLEHLO_REDUCE STABLEHLO_ABS STABLEHLO_AND
    STABLEHLO_COSINE STABLEHLO_EXPONENTIAL STABLEHLO_FLOOR STABLEHLO_LOG STABLEHLO_MINIMUM
    STABLEHLO_NEGATE STABLEHLO_OR STABLEHLO_POWER STABLEHLO_REMAINDER STABLEHLO_RSQRT
    STABLEHLO_SELECT STABLEHLO_SUBTRACT STABLEHLO_TANH STABLEHLO_SCATTER STABLEHLO_COMPARE
    STABLEHLO_CONVERT STABLEHLO_DYNAMIC_SLICE STABLEHLO_DYNAMIC_UPDATE_SLICE STABLEHLO_PAD
    STABLEHLO_IOTA STABLEHLO_DOT_GENERAL STABLEHLO_REDUCE_WINDOW STABLEHLO_SORT
    STABLEHLO_WHILE STABLEHLO_GATHER STABLEHLO_TRANSPOSE DILATE STABLEHLO_RNG_BIT_GENERATOR
    REDUCE_WINDOW STABLEHLO_COMPOSITE STABLEHLO_SHIFT_LEFT STABLEHLO_CBRT STABLEHLO_CASE
"""
BUILTIN_OPERATOR_NAMES: tuple[str, ...] = tuple(_BUILTIN_OPERATOR_TEXT.split())

# TensorType enum of the schema: number -> (name, numpy dtype).
TENSOR_TYPES: dict[int, tuple[str, np.dtype | None]] = {
    0: ("FLOAT32", np.dtype(np.float32)),
    1: ("FLOAT16", np.dtype(np.float16)),
    2: ("INT32", np.dtype(np.int32)),
    3: ("UINT8", np.dtype(np.uint8)),
    4: ("INT64", np.dtype(np.int64)),
    5: ("STRING", None),
    6: ("BOOL", np.dtype(np.bool_)),
    7: ("INT16", np.dtype(np.int16)),
    8: ("COMPLEX64", np.dtype(np.complex64)),
    9: ("INT8", np.dtype(np.int8)),
    10: ("FLOAT64", np.dtype(np.float64)),
    11: ("COMPLEX128", np.dtype(np.complex128)),
    12: ("UINT64", np.dtype(np.uint64)),
    13: ("RESOURCE", None),
    14: ("VARIANT", None),
    15: ("UINT32", np.dtype(np.uint32)),
    16: ("UINT16", np.dtype(np.uint16)),
    17: ("INT4", None),
}

# ActivationFunctionType enum of the schema.
ACTIVATIONS = {0: "NONE", 1: "RELU", 2: "RELU_N1_TO_1", 3: "RELU6", 4: "TANH", 5: "SIGN_BIT"}
PADDINGS = {0: "SAME", 1: "VALID"}


class TfliteFormatError(ValueError):
    """The bytes are not a TFLite model this reader understands."""


@dataclass
class Quantization:
    """Affine quantization of a tensor: real = scale * (q - zero_point)."""

    scales: np.ndarray
    zero_points: np.ndarray
    quantized_dimension: int = 0

    @property
    def scale(self) -> float:
        """The per-tensor scale (the first one for per-channel tensors)."""
        return float(self.scales[0])

    @property
    def zero_point(self) -> int:
        """The per-tensor zero point (the first one for per-channel tensors)."""
        return int(self.zero_points[0])


@dataclass
class Tensor:
    """One tensor of the subgraph; `data` is set for constants (weights, biases, shapes)."""

    index: int
    name: str
    shape: tuple[int, ...]
    type_code: int
    data: bytes | None = None
    quantization: Quantization | None = None
    is_variable: bool = False

    @property
    def type_name(self) -> str:
        """The schema's name of the element type, e.g. INT8."""
        return TENSOR_TYPES.get(self.type_code, (f"TYPE{self.type_code}", None))[0]

    @property
    def dtype(self) -> np.dtype:
        """The numpy element type; raises for types numpy cannot hold."""
        dtype = TENSOR_TYPES.get(self.type_code, ("", None))[1]
        if dtype is None:
            raise TfliteFormatError(f"tensor {self.name!r} has unsupported type {self.type_name}")
        return dtype

    @property
    def elements(self) -> int:
        """Number of elements (1 for a scalar)."""
        return int(np.prod(self.shape, dtype=np.int64)) if self.shape else 1

    @property
    def nbytes(self) -> int:
        """Size of the tensor's data in bytes."""
        return self.elements * self.dtype.itemsize

    @property
    def is_constant(self) -> bool:
        """True if the tensor holds data in the model (weights, biases, shape vectors)."""
        return self.data is not None

    def array(self) -> np.ndarray:
        """The constant data as an array of the tensor's shape."""
        if self.data is None:
            raise TfliteFormatError(f"tensor {self.name!r} holds no constant data")
        return np.frombuffer(self.data, dtype=self.dtype.newbyteorder("<")).reshape(self.shape)


@dataclass
class Operator:
    """One operator of the subgraph in execution order."""

    index: int
    opcode: str
    opcode_version: int
    inputs: list[int]
    outputs: list[int]
    options: dict[str, Any] = field(default_factory=dict)
    custom_code: str | None = None


@dataclass
class Model:
    """The first subgraph of a TFLite model, as plain data."""

    tensors: list[Tensor]
    operators: list[Operator]
    inputs: list[int]
    outputs: list[int]
    version: int
    description: str = ""


# Builtin options: option table name -> list of (field id, name, kind, default).
_OPTION_FIELDS: dict[str, list[tuple[int, str, str, object]]] = {
    "CONV_2D": [
        (0, "padding", "i8", 0),
        (1, "stride_w", "i32", 0),
        (2, "stride_h", "i32", 0),
        (3, "fused_activation_function", "i8", 0),
        (4, "dilation_w_factor", "i32", 1),
        (5, "dilation_h_factor", "i32", 1),
    ],
    "DEPTHWISE_CONV_2D": [
        (0, "padding", "i8", 0),
        (1, "stride_w", "i32", 0),
        (2, "stride_h", "i32", 0),
        (3, "depth_multiplier", "i32", 0),
        (4, "fused_activation_function", "i8", 0),
        (5, "dilation_w_factor", "i32", 1),
        (6, "dilation_h_factor", "i32", 1),
    ],
    "POOL_2D": [
        (0, "padding", "i8", 0),
        (1, "stride_w", "i32", 0),
        (2, "stride_h", "i32", 0),
        (3, "filter_width", "i32", 0),
        (4, "filter_height", "i32", 0),
        (5, "fused_activation_function", "i8", 0),
    ],
    "FULLY_CONNECTED": [
        (0, "fused_activation_function", "i8", 0),
        (1, "weights_format", "i8", 0),
        (2, "keep_num_dims", "bool", False),
        (3, "asymmetric_quantize_inputs", "bool", False),
    ],
    "SOFTMAX": [(0, "beta", "f32", 0.0)],
    "CONCATENATION": [(0, "axis", "i32", 0), (1, "fused_activation_function", "i8", 0)],
    "ADD": [(0, "fused_activation_function", "i8", 0), (1, "pot_scale_int16", "bool", True)],
    "SUB": [(0, "fused_activation_function", "i8", 0), (1, "pot_scale_int16", "bool", True)],
    "MUL": [(0, "fused_activation_function", "i8", 0)],
    "RESHAPE": [(0, "new_shape", "vec_i32", None)],
    "REDUCER": [(0, "keep_dims", "bool", False)],
    "SQUEEZE": [(0, "squeeze_dims", "vec_i32", None)],
    "LEAKY_RELU": [(0, "alpha", "f32", 0.0)],
    "STRIDED_SLICE": [
        (0, "begin_mask", "i32", 0),
        (1, "end_mask", "i32", 0),
        (2, "ellipsis_mask", "i32", 0),
        (3, "new_axis_mask", "i32", 0),
        (4, "shrink_axis_mask", "i32", 0),
        (5, "offset", "bool", False),
    ],
    "PACK": [(0, "values_count", "i32", 0), (1, "axis", "i32", 0)],
    "TRANSPOSE_CONV": [
        (0, "padding", "i8", 0),
        (1, "stride_w", "i32", 0),
        (2, "stride_h", "i32", 0),
        (3, "fused_activation_function", "i8", 0),
    ],
    "RESIZE_NEAREST_NEIGHBOR": [
        (0, "align_corners", "bool", False),
        (1, "half_pixel_centers", "bool", False),
    ],
    # Fields 0 and 1 (new_height, new_width) are deprecated: the size is the second input.
    "RESIZE_BILINEAR": [
        (2, "align_corners", "bool", False),
        (3, "half_pixel_centers", "bool", False),
    ],
    "BATCH_MATMUL": [
        (0, "adj_x", "bool", False),
        (1, "adj_y", "bool", False),
        (2, "asymmetric_quantize_inputs", "bool", False),
    ],
}
_OPTION_TABLE_OF_OP = {
    "AVERAGE_POOL_2D": "POOL_2D",
    "MAX_POOL_2D": "POOL_2D",
    "MEAN": "REDUCER",
    "SUM": "REDUCER",
    "REDUCE_MAX": "REDUCER",
}
_SCALAR_TYPES = {
    "i8": nt.Int8Flags,
    "i32": nt.Int32Flags,
    "bool": nt.BoolFlags,
    "f32": nt.Float32Flags,
}


def _offset(table: Table, field_id: int) -> int:
    return table.Offset(4 + 2 * field_id)


def _scalar(table: Table, field_id: int, kind: str, default: Any) -> Any:
    off = _offset(table, field_id)
    if not off:
        return default
    return table.Get(_SCALAR_TYPES[kind], table.Pos + off)


def _string(table: Table, field_id: int) -> str | None:
    off = _offset(table, field_id)
    if not off:
        return None
    return table.String(table.Pos + off).decode("utf-8", errors="replace")


def _subtable(table: Table, field_id: int) -> Table | None:
    off = _offset(table, field_id)
    if not off:
        return None
    return Table(table.Bytes, table.Indirect(table.Pos + off))


def _vector_tables(table: Table, field_id: int) -> list[Table]:
    off = _offset(table, field_id)
    if not off:
        return []
    start = table.Vector(off)
    count = table.VectorLen(off)
    return [Table(table.Bytes, table.Indirect(start + 4 * i)) for i in range(count)]


def _vector_array(table: Table, field_id: int, dtype: str) -> np.ndarray | None:
    off = _offset(table, field_id)
    if not off:
        return None
    start = table.Vector(off)
    count = table.VectorLen(off)
    dt = np.dtype(dtype)
    return np.frombuffer(table.Bytes, dtype=dt, count=count, offset=start).copy()


def _read_options(opcode: str, table: Table | None) -> dict[str, Any]:
    fields = _OPTION_FIELDS.get(_OPTION_TABLE_OF_OP.get(opcode, opcode), [])
    options: dict[str, Any] = {}
    for field_id, name, kind, default in fields:
        if table is None:
            options[name] = default
        elif kind == "vec_i32":
            vec = _vector_array(table, field_id, "<i4")
            options[name] = None if vec is None else [int(v) for v in vec]
        else:
            options[name] = _scalar(table, field_id, kind, default)
    return options


def builtin_name(code: int) -> str:
    """The builtin operator's name for its schema code."""
    if 0 <= code < len(BUILTIN_OPERATOR_NAMES):
        return BUILTIN_OPERATOR_NAMES[code]
    return f"BUILTIN_{code}"


# The version of TFLite's flatbuffer schema every converter writes.
SCHEMA_VERSION = 3


def read_model(tflite_bytes: bytes, subgraph_index: int = 0) -> Model:
    """Parses a .tflite flatbuffer into a `Model` (tensors, operators, inputs, outputs).

    A truncated, corrupt or inconsistent file raises TfliteFormatError naming what is wrong:
    offsets outside the file, tensor indices out of range, shapes that disagree with their
    data, dimensions too large for a device."""
    buf = bytearray(tflite_bytes)
    if len(buf) < 8 or GetBufferIdentifier(buf, 0) != b"TFL3":
        raise TfliteFormatError("not a TFLite model (file identifier TFL3 missing)")
    try:
        model = _parse(buf, subgraph_index)
    except TfliteFormatError:
        raise
    except (struct.error, IndexError) as exc:
        # The flatbuffer runtime reads offsets as given: a cut or damaged file points past its
        # end.
        raise TfliteFormatError(
            f"the file is cut short or damaged ({len(buf)} bytes): it points past its end ({exc})"
        ) from None
    except (ValueError, TypeError, OverflowError, MemoryError) as exc:
        raise TfliteFormatError(
            f"the file is damaged ({len(buf)} bytes): {type(exc).__name__}: {exc}"
        ) from None
    # checks.py reads this module's types, so it is imported here rather than at the top.
    from workers.compiler.checks import check_model

    check_model(model)
    return model


def _parse(buf: bytearray, subgraph_index: int) -> Model:
    root = Table(buf, nt.UOffsetTFlags.py_type(int.from_bytes(buf[0:4], "little")))
    version = int(_scalar(root, 0, "i32", 0))
    if version != SCHEMA_VERSION:
        raise TfliteFormatError(
            f"schema version {version}; TFLite models have version {SCHEMA_VERSION}"
        )

    opcodes: list[tuple[str, int, str | None]] = []
    for code_table in _vector_tables(root, 1):
        deprecated = int(_scalar(code_table, 0, "i8", 0))
        builtin = int(_scalar(code_table, 3, "i32", 0))
        # Old writers fill only deprecated_builtin_code; new ones fill both and put the
        # placeholder 127 in the deprecated field for codes above 127: the larger is right.
        code = max(deprecated, builtin)
        version_no = int(_scalar(code_table, 2, "i32", 1))
        custom = _string(code_table, 1)
        name = "CUSTOM" if code == 32 else builtin_name(code)
        opcodes.append((name, version_no, custom))

    buffers: list[bytes | None] = []
    for buffer_table in _vector_tables(root, 4):
        data = _vector_array(buffer_table, 0, "u1")
        if data is not None and data.size:
            buffers.append(data.tobytes())
            continue
        # Models over 2 GB keep data after the flatbuffer: offset and size fields.
        offset = int(_scalar(buffer_table, 1, "i32", 0) or 0)
        size = int(_scalar(buffer_table, 2, "i32", 0) or 0)
        if offset > 1 and size:
            buffers.append(bytes(buf[offset : offset + size]))
        else:
            buffers.append(None)

    subgraphs = _vector_tables(root, 2)
    if not subgraphs:
        raise TfliteFormatError("model has no subgraph")
    graph = subgraphs[subgraph_index]

    tensors: list[Tensor] = []
    for index, tensor_table in enumerate(_vector_tables(graph, 0)):
        shape_vec = _vector_array(tensor_table, 0, "<i4")
        shape = tuple(int(d) for d in shape_vec) if shape_vec is not None else ()
        type_code = int(_scalar(tensor_table, 1, "i8", 0))
        buffer_index = int(_scalar(tensor_table, 2, "i32", 0))
        name = _string(tensor_table, 3) or f"tensor{index}"
        quant = None
        quant_table = _subtable(tensor_table, 4)
        if quant_table is not None:
            scales = _vector_array(quant_table, 2, "<f4")
            zero_points = _vector_array(quant_table, 3, "<i8")
            if scales is not None and scales.size:
                if zero_points is None or not zero_points.size:
                    zero_points = np.zeros(scales.size, dtype=np.int64)
                quant = Quantization(
                    scales=scales.astype(np.float32),
                    zero_points=zero_points.astype(np.int64),
                    quantized_dimension=int(_scalar(quant_table, 6, "i32", 0)),
                )
        is_variable = bool(_scalar(tensor_table, 5, "bool", False))
        constant = buffers[buffer_index] if 0 < buffer_index < len(buffers) else None
        tensors.append(
            Tensor(
                index=index,
                name=name,
                shape=shape,
                type_code=type_code,
                data=constant,
                quantization=quant,
                is_variable=is_variable,
            )
        )

    operators: list[Operator] = []
    for index, op_table in enumerate(_vector_tables(graph, 3)):
        opcode_index = int(_scalar(op_table, 0, "i32", 0))
        if not 0 <= opcode_index < len(opcodes):
            raise TfliteFormatError(f"operator {index}: opcode index {opcode_index} out of range")
        name, version_no, custom = opcodes[opcode_index]
        inputs = _vector_array(op_table, 1, "<i4")
        outputs = _vector_array(op_table, 2, "<i4")
        operators.append(
            Operator(
                index=index,
                opcode=name,
                opcode_version=version_no,
                inputs=[int(i) for i in (inputs if inputs is not None else [])],
                outputs=[int(i) for i in (outputs if outputs is not None else [])],
                options=_read_options(name, _subtable(op_table, 4)),
                custom_code=custom,
            )
        )

    graph_inputs = _vector_array(graph, 1, "<i4")
    graph_outputs = _vector_array(graph, 2, "<i4")
    return Model(
        tensors=tensors,
        operators=operators,
        inputs=[int(i) for i in (graph_inputs if graph_inputs is not None else [])],
        outputs=[int(i) for i in (graph_outputs if graph_outputs is not None else [])],
        version=version,
        description=_string(root, 3) or "",
    )
