/** The typed API client: openapi-fetch over the generated schema, with the CSRF header and error text. */
import createClient, { type Middleware } from "openapi-fetch";
import type { components, paths } from "./schema";

export type Schemas = components["schemas"];
export type Sample = Schemas["SampleOut"];
export type Job = Schemas["JobOut"];
export type Project = Schemas["ProjectOut"];
export type Role = Schemas["Role"];

const CSRF_COOKIE = "tinystudio_csrf";
let csrfToken: string | null = null;

/** Remembers the CSRF token from a login/register answer (the cookie holds it too). */
export function setCsrfToken(token: string | null): void {
  csrfToken = token;
}

/** The CSRF token to send with every non-GET request. */
export function currentCsrfToken(): string | null {
  const match = document.cookie.split("; ").find((part) => part.startsWith(`${CSRF_COOKIE}=`));
  return match ? decodeURIComponent(match.slice(CSRF_COOKIE.length + 1)) : csrfToken;
}

const csrfMiddleware: Middleware = {
  onRequest({ request }) {
    if (request.method !== "GET" && request.method !== "HEAD") {
      const token = currentCsrfToken();
      if (token) request.headers.set("x-csrf-token", token);
    }
    return request;
  },
};

export const api = createClient<paths>({ baseUrl: "", credentials: "same-origin" });
api.use(csrfMiddleware);

/** An API error with the server's code, message and (when the server named one) field. */
export class ApiError extends Error {
  code: string;
  field: string | null;
  status: number;
  constructor(status: number, code: string, message: string, field: string | null = null) {
    super(message);
    this.status = status;
    this.code = code;
    this.field = field;
  }
}

/** Turns an error body (`{"detail": {...}}`, a FastAPI 422 list, or anything) into an ApiError. */
export function toApiError(status: number, body: unknown): ApiError {
  const detail = (body as { detail?: unknown } | null)?.detail;
  if (detail && typeof detail === "object" && !Array.isArray(detail)) {
    const d = detail as { code?: string; message?: string; field?: string };
    return new ApiError(status, d.code ?? "error", d.message ?? `request failed (${status})`, d.field ?? null);
  }
  if (Array.isArray(detail) && detail.length > 0) {
    const first = detail[0] as { loc?: (string | number)[]; msg?: string };
    const field = first.loc ? String(first.loc[first.loc.length - 1]) : null;
    return new ApiError(status, "validation_error", `${field ?? "value"}: ${first.msg ?? "invalid"}`, field);
  }
  if (typeof detail === "string") return new ApiError(status, "error", detail);
  return new ApiError(status, "error", `request failed with HTTP ${status}`);
}

/** Unwraps an openapi-fetch result: the data, or throws an ApiError naming the problem. */
export async function unwrap<T>(promise: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<T> {
  let result;
  try {
    result = await promise;
  } catch (err) {
    throw new ApiError(0, "network", `cannot reach the studio: ${(err as Error).message}`);
  }
  if (!result.response.ok) throw toApiError(result.response.status, result.error);
  return result.data as T;
}

/** The message to show for any thrown value. */
export function errorText(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
