/** Uploaded models shaped like the API's answers (figures from the KWS reference model), for the Models page's tests. */
import type { BoardProfile, ModelInfo, UploadedModel } from "../api/models";

export const KWS_INFO: ModelInfo = {
  inputs: [{ name: "input_1", shape: [1, 49, 10, 1], type: "int8", scale: 0.5847029089927673, zero_point: 83 }],
  outputs: [{ name: "Identity", shape: [1, 12], type: "int8", scale: 0.00390625, zero_point: -128 }],
  operators: [
    { index: 0, op: "CONV_2D", layer: "functional_1/conv2d/Conv2D", supported: true },
    { index: 1, op: "DEPTHWISE_CONV_2D", layer: "functional_1/depthwise_conv2d/depthwise", supported: true },
    { index: 2, op: "CONV_2D", layer: "functional_1/conv2d_1/Conv2D", supported: true },
    { index: 3, op: "FULLY_CONNECTED", layer: "functional_1/dense/BiasAdd", supported: true },
    { index: 4, op: "SOFTMAX", layer: "Identity", supported: true },
  ],
  op_counts: { CONV_2D: 2, DEPTHWISE_CONV_2D: 1, FULLY_CONNECTED: 1, SOFTMAX: 1 },
  parameters: 22604,
  float: false,
  tflite_bytes: 53936,
  compiler: { supported: true, reason: null, arena_bytes: 11840, lower_bound: 16000, weights_bytes: 30008, macs: 2656768 },
};

/** A gated dense model whose MUL the compiler refuses. */
export const GATE_INFO: ModelInfo = {
  inputs: [{ name: "serving_default_input_layer:0", shape: [1, 6], type: "int8", scale: 0.024205386638641357, zero_point: 0 }],
  outputs: [{ name: "StatefulPartitionedCall_1:0", shape: [1, 3], type: "int8", scale: 0.023264747112989426, zero_point: -13 }],
  operators: [
    { index: 0, op: "FULLY_CONNECTED", layer: "functional_1/dense_1/MatMul", supported: true },
    { index: 1, op: "FULLY_CONNECTED", layer: "functional_1/dense/MatMul", supported: true },
    { index: 2, op: "MUL", layer: "functional_1/gate_1/Mul", supported: false },
    { index: 3, op: "FULLY_CONNECTED", layer: "functional_1/dense_2/MatMul", supported: true },
  ],
  op_counts: { FULLY_CONNECTED: 3, MUL: 1 },
  parameters: 71,
  float: false,
  tflite_bytes: 2896,
  compiler: {
    supported: false,
    reason: "operator 2 MUL (layer 'functional_1/gate_1/Mul'): operator is not supported",
    arena_bytes: null,
    lower_bound: null,
    weights_bytes: null,
    macs: null,
  },
};

/** A board's row of the profile: measured on its own virtual board unless told otherwise. */
export function boardRow(over: Partial<BoardProfile> = {}): BoardProfile {
  return {
    board_id: "virtual-cortex-m4",
    board_name: "Virtual Cortex-M4F (QEMU mps2-an386)",
    core: "cortex-m4",
    clock_hz: 25_000_000,
    board_ram_bytes: 4_194_304,
    board_flash_bytes: 4_194_304,
    measured: true,
    note: null,
    measured_on: "virtual-cortex-m4",
    arena_bytes: 11840,
    stack_bytes: 1672,
    ram_bytes: 13512,
    code_bytes: 13228,
    weights_bytes: 30960,
    flash_bytes: 44188,
    instructions: 6842432,
    latency_ms: 355.806464,
    cpi: 1.3,
    fits: true,
    ...over,
  };
}

export const ESP32_ROW = boardRow({
  board_id: "esp32-s3-devkitc-1",
  board_name: "Espressif ESP32-S3-DevKitC-1 (N8R8)",
  core: "xtensa-lx7",
  clock_hz: 240_000_000,
  board_ram_bytes: 524_288,
  board_flash_bytes: 8_388_608,
  measured: false,
  note: "No Xtensa emulator or toolchain in TinyStudio: latency cannot be measured or estimated.",
  measured_on: null,
  arena_bytes: null,
  stack_bytes: null,
  ram_bytes: null,
  code_bytes: null,
  weights_bytes: null,
  flash_bytes: null,
  instructions: null,
  latency_ms: null,
  cpi: null,
  fits: null,
});

/** The KWS model, imported and ready, as the API answers it. */
export function uploadedModel(over: Partial<UploadedModel> = {}): UploadedModel {
  return {
    id: 1,
    name: "kws_ref_model",
    filename: "kws_ref_model.tflite",
    source_format: "tflite",
    original_bytes: 53936,
    status: "ready",
    error: null,
    import_job_id: 1,
    profile_job_id: null,
    profile_status: null,
    library_job_id: null,
    library_status: null,
    int8_artifact_id: 1,
    library_artifact_id: null,
    info: KWS_INFO,
    quantization: null,
    profile: null,
    created_at: "2026-12-06T04:26:24.421532Z",
    ...over,
  };
}
