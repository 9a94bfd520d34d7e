"""What the uploaded-model routes answer: the model's facts, its quantization, its profile."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class TensorInfo(BaseModel):
    name: str
    shape: list[int]
    type: str = Field(description="element type, e.g. int8 or float32")
    scale: float | None = Field(description="quantization scale (per-tensor), else null")
    zero_point: int | None


class OperatorInfo(BaseModel):
    index: int
    op: str = Field(description="the TFLite operator, e.g. CONV_2D")
    layer: str = Field(description="the name of the tensor it computes (the layer)")
    supported: bool = Field(description="whether the compiler generates code for it")


class CompilerInfo(BaseModel):
    supported: bool
    reason: str | None = Field(default=None, description="why the compiler refuses the model")
    arena_bytes: int | None = None
    lower_bound: int | None = Field(default=None, description="the arena's lower bound")
    weights_bytes: int | None = None
    macs: int | None = Field(default=None, description="multiply-accumulates per inference")


class ModelInfo(BaseModel):
    inputs: list[TensorInfo]
    outputs: list[TensorInfo]
    operators: list[OperatorInfo]
    op_counts: dict[str, int]
    parameters: int = Field(description="trained parameters (weights, biases)")
    float: bool = Field(description="whether this (the int8 model) still computes in float")
    tflite_bytes: int
    compiler: CompilerInfo


class QuantizationReport(BaseModel):
    method: str
    calibration_source: str | None = Field(
        default=None, description="what the model was calibrated on: the .npy or an impulse"
    )
    calibration_inputs: int
    compared_inputs: int
    mean_abs_difference: float = Field(description="between float and int8 first outputs")
    max_abs_difference: float
    float_output_range: list[float]
    top1_agreement: float | None = Field(
        description="share of inputs where int8 and float pick the same top output"
    )


class BoardProfile(BaseModel):
    board_id: str
    board_name: str
    core: str
    clock_hz: int
    board_ram_bytes: int
    board_flash_bytes: int
    measured: bool = Field(description="false when no virtual board runs this core")
    note: str | None
    measured_on: str | None = None
    arena_bytes: int | None = None
    stack_bytes: int | None = Field(default=None, description="painted stack of one inference")
    ram_bytes: int | None = Field(default=None, description="arena + stack")
    code_bytes: int | None = None
    weights_bytes: int | None = None
    flash_bytes: int | None = Field(default=None, description="model code + weights")
    instructions: int | None = Field(default=None, description="per inference, counted in QEMU")
    latency_ms: float | None = Field(
        default=None, description="estimate: instructions x cycles per instruction / clock"
    )
    cpi: float | None = None
    fits: bool | None = Field(default=None, description="RAM and flash within the board's")


class ModelProfile(BaseModel):
    job_id: int
    boards: list[BoardProfile]


class ModelRunIn(BaseModel):
    """Runs an uploaded model as an impulse's model."""

    impulse_id: int = Field(description="the impulse whose windows and DSP feed the model")
    labels: list[str] | None = Field(
        default=None,
        max_length=1000,
        description="the model's classes in output order; default: the training labels sorted",
    )


class UploadedModelOut(BaseModel):
    id: int
    name: str
    filename: str
    source_format: str = Field(description="tflite, keras, h5 or savedmodel")
    original_bytes: int
    status: str = Field(description="importing, ready or failed")
    error: str | None
    import_job_id: int | None
    profile_job_id: int | None
    profile_status: str | None = Field(description="the profile job's status, if one was run")
    library_job_id: int | None
    library_status: str | None
    int8_artifact_id: int | None = Field(description="the int8 .tflite to download")
    library_artifact_id: int | None = Field(description="the zipped C library to download")
    info: ModelInfo | None
    quantization: QuantizationReport | None = Field(
        description="float vs int8 on the representative inputs (float uploads only)"
    )
    profile: ModelProfile | None
    created_at: datetime
