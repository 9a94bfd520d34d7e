import { describe, expect, it } from "vitest";
import { toApiError } from "./client";

describe("toApiError", () => {
  it("reads the studio's error shape", () => {
    const err = toApiError(409, { detail: { code: "username_taken", message: "the username is taken", field: "username" } });
    expect(err).toMatchObject({ status: 409, code: "username_taken", message: "the username is taken", field: "username" });
  });
  it("names the field of a FastAPI validation error", () => {
    const err = toApiError(422, { detail: [{ loc: ["body", "email"], msg: "value is not a valid email address" }] });
    expect(err.message).toBe("email: value is not a valid email address");
    expect(err.field).toBe("email");
  });
  it("falls back to the HTTP status", () => {
    expect(toApiError(500, null).message).toBe("request failed with HTTP 500");
  });
});
