import { describe, expect, it } from "vitest";
import { ApiError, toApiError } from "../api/client";
import {
  barPercent,
  formatCount,
  formatScale,
  formatShape,
  jobActive,
  modelBusy,
  notBuildable,
  operatorCounts,
  parseLabels,
  percentOf,
  profileSummary,
  shareOfRange,
  sourceFormatName,
  uploadFieldError,
} from "./models";
import { boardRow, ESP32_ROW, GATE_INFO, KWS_INFO, uploadedModel } from "./modelsTestData";

describe("upload errors", () => {
  it("puts the server's refusal beside the field it names, without the field's name in front", () => {
    const refused = toApiError(422, {
      detail: {
        code: "invalid_model_upload",
        message: "representative: a float model is quantized to int8 with inputs like the ones it will see",
        field: "representative",
      },
    });
    expect(uploadFieldError(refused)).toEqual({ field: "representative", message: "A float model is quantized to int8 with inputs like the ones it will see" });
    const tooLarge = toApiError(413, { detail: { code: "upload_too_large", message: "file: larger than 64 MB", field: "file" } });
    expect(uploadFieldError(tooLarge)).toEqual({ field: "file", message: "Larger than 64 MB" });
  });

  it("names the field of a validation error too", () => {
    const long = toApiError(422, { detail: [{ loc: ["body", "name"], msg: "String should have at most 200 characters" }] });
    expect(uploadFieldError(long)).toEqual({ field: "name", message: "String should have at most 200 characters" });
  });

  it("leaves errors about no field of the form to the form's general note", () => {
    expect(uploadFieldError(new ApiError(403, "forbidden", "editors only"))).toBeNull();
    expect(uploadFieldError(new ApiError(422, "x", "board_id: gone", "board_id"))).toBeNull();
    expect(uploadFieldError(new Error("file: offline"))).toBeNull();
    expect(uploadFieldError(null)).toBeNull();
  });
});

describe("what a model can do next", () => {
  it("is busy while its import, profile or C library job has work ahead", () => {
    expect(modelBusy(uploadedModel({ status: "importing" }))).toBe(true);
    expect(modelBusy(uploadedModel({ profile_status: "queued" }))).toBe(true);
    expect(modelBusy(uploadedModel({ library_status: "running" }))).toBe(true);
    expect(modelBusy(uploadedModel({ profile_status: "failed", library_status: "succeeded" }))).toBe(false);
    expect(modelBusy(uploadedModel({ status: "failed" }))).toBe(false);
    expect(jobActive(null)).toBe(false);
  });

  it("says why it cannot be profiled or built", () => {
    expect(notBuildable(uploadedModel())).toBeNull();
    expect(notBuildable(uploadedModel({ status: "importing", info: null }))).toBe("The model is still being imported.");
    expect(notBuildable(uploadedModel({ status: "failed", info: null }))).toMatch(/^The import failed/);
    expect(notBuildable(uploadedModel({ info: GATE_INFO }))).toMatch(/^The compiler does not take this model/);
  });
});

describe("figures", () => {
  it("writes shapes, scales, counts and formats as people read them", () => {
    expect(formatShape([1, 49, 10, 1])).toBe("1 × 49 × 10 × 1");
    expect(formatShape([])).toBe("scalar");
    expect(formatScale(0.5847029089927673)).toBe("0.5847");
    expect(formatScale(0.00390625)).toBe("0.003906");
    expect(formatScale(null)).toBe("—");
    expect([864, 2896, 22604, 2656768, 10784598, 3.2e9].map(formatCount)).toEqual(["864", "2.90 k", "22.6 k", "2.66 M", "10.8 M", "3.20 G"]);
    expect(formatCount(null)).toBe("—");
    expect(sourceFormatName("h5")).toBe("Keras .h5");
    expect(sourceFormatName("onnx")).toBe("onnx");
  });

  it("orders operators by use and marks the ones the compiler refuses", () => {
    expect(operatorCounts(KWS_INFO).map((o) => `${o.op} ${o.count}`)).toEqual(["CONV_2D 2", "DEPTHWISE_CONV_2D 1", "FULLY_CONNECTED 1", "SOFTMAX 1"]);
    expect(operatorCounts(GATE_INFO)).toEqual([
      { op: "FULLY_CONNECTED", count: 3, supported: true },
      { op: "MUL", count: 1, supported: false },
    ]);
  });

  it("reads a quantization difference against the float output range", () => {
    expect(shareOfRange(0.06, [-2.5, 3.5])).toBeCloseTo(0.01);
    expect(shareOfRange(0.1, [0.4, 0.4])).toBeNull();
  });
});

describe("usage against a board's limits", () => {
  it("writes the share of the board and fills the bar in proportion, a sliver still visible and an overflow stopped at the end", () => {
    expect(percentOf(13512, 262144)).toBe("5.2 %");
    expect(percentOf(13512, 4194304)).toBe("0.3 %");
    expect(percentOf(132, 4194304)).toBe("< 0.1 %");
    expect(percentOf(300_000, 262144)).toBe("114 %");
    expect(barPercent(13512, 262144)).toBeCloseTo(5.15, 2);
    expect(barPercent(132, 4194304)).toBe(1);
    expect(barPercent(300_000, 262144)).toBe(100);
    expect(barPercent(0, 262144)).toBe(0);
  });

  it("sums up where the model fits and how many boards could not be measured", () => {
    expect(profileSummary([boardRow(), boardRow({ fits: false }), ESP32_ROW])).toBe("Fits 1 of 2 boards measured; 1 board cannot be measured.");
    expect(profileSummary([boardRow()])).toBe("Fits 1 of 1 board measured.");
    expect(profileSummary([ESP32_ROW])).toBe("No board could be measured: see each board's note.");
  });
});

describe("labels of a model's outputs", () => {
  it("reads a comma-separated list in output order, trimmed, and empty as the default", () => {
    expect(parseLabels(" walking, running ,idle")).toEqual(["walking", "running", "idle"]);
    expect(parseLabels("a,,b,")).toEqual(["a", "b"]);
    expect(parseLabels("  ")).toBeNull();
    expect(parseLabels("")).toBeNull();
  });
});
