/** Turning a JSON schema (the parameters of a block) into form fields, defaults and checks. */

export interface JsonSchema {
  type?: string | string[];
  title?: string;
  description?: string;
  default?: unknown;
  enum?: unknown[];
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  items?: JsonSchema;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  const?: unknown;
  $ref?: string;
  $defs?: Record<string, JsonSchema>;
  definitions?: Record<string, JsonSchema>;
}

export type FieldKind = "number" | "integer" | "boolean" | "enum" | "string" | "number-list" | "object" | "json";

export interface FormField {
  name: string;
  label: string;
  description?: string;
  kind: FieldKind;
  required: boolean;
  nullable: boolean;
  options?: unknown[];
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  defaultValue: unknown;
  /** For "object" fields: the schema of the nested settings, drawn as a form of their own. */
  schema?: JsonSchema;
}

function resolveRef(schema: JsonSchema, root: JsonSchema): JsonSchema {
  if (!schema.$ref) return schema;
  const name = schema.$ref.split("/").pop() ?? "";
  return root.$defs?.[name] ?? root.definitions?.[name] ?? schema;
}

/** The schema without a `null` alternative, and whether null was allowed. */
function stripNull(schema: JsonSchema, root: JsonSchema): { schema: JsonSchema; nullable: boolean } {
  const alternatives = schema.anyOf ?? schema.oneOf;
  if (alternatives) {
    const others = alternatives.filter((s) => s.type !== "null");
    if (others.length === 1) {
      return { schema: { ...resolveRef(others[0], root), ...withoutAlternatives(schema) }, nullable: others.length < alternatives.length };
    }
  }
  if (Array.isArray(schema.type)) {
    const types = schema.type.filter((t) => t !== "null");
    return { schema: { ...schema, type: types.length === 1 ? types[0] : types }, nullable: types.length < schema.type.length };
  }
  return { schema: resolveRef(schema, root), nullable: false };
}

function withoutAlternatives(schema: JsonSchema): JsonSchema {
  const copy = { ...schema };
  delete copy.anyOf;
  delete copy.oneOf;
  return copy;
}

function humanize(name: string): string {
  const spaced = name.replace(/_/g, " ").replace(/([a-z])([A-Z])/g, "$1 $2");
  return spaced.charAt(0).toUpperCase() + spaced.slice(1);
}

/** The form fields of an object schema, in property order. */
export function fieldsFromSchema(schema: JsonSchema): FormField[] {
  const root = schema;
  const properties = resolveRef(schema, root).properties ?? {};
  const required = new Set(schema.required ?? []);
  return Object.entries(properties).map(([name, raw]) => {
    const { schema: s, nullable } = stripNull(resolveRef(raw, root), root);
    let kind: FieldKind = "json";
    if (s.enum) kind = "enum";
    else if (s.type === "integer") kind = "integer";
    else if (s.type === "number") kind = "number";
    else if (s.type === "boolean") kind = "boolean";
    else if (s.type === "string") kind = "string";
    else if (s.type === "array" && s.items && (s.items.type === "number" || s.items.type === "integer")) kind = "number-list";
    else if (s.type === "object" && s.properties) kind = "object";
    return {
      name,
      label: raw.title ?? s.title ?? humanize(name),
      description: raw.description ?? s.description,
      kind,
      required: required.has(name),
      nullable,
      options: s.enum,
      minimum: s.minimum,
      maximum: s.maximum,
      exclusiveMinimum: s.exclusiveMinimum,
      exclusiveMaximum: s.exclusiveMaximum,
      defaultValue: raw.default !== undefined ? raw.default : s.default,
      ...(kind === "object" ? { schema: { ...s, $defs: root.$defs, definitions: root.definitions } } : {}),
    };
  });
}

/** The default value of every field that has one. */
export function defaultsFromSchema(schema: JsonSchema): Record<string, unknown> {
  const values: Record<string, unknown> = {};
  for (const field of fieldsFromSchema(schema)) {
    if (field.defaultValue !== undefined) values[field.name] = field.defaultValue;
  }
  return values;
}

/** What is wrong with a value for a field, or null. Mirrors the server's checks for quick feedback. */
export function checkField(field: FormField, value: unknown): string | null {
  if (value === undefined || value === null || value === "") {
    if (field.required && !field.nullable && field.defaultValue === undefined) return "needs a value";
    return null;
  }
  if (field.kind === "number" || field.kind === "integer") {
    if (typeof value !== "number" || !Number.isFinite(value)) return "must be a number";
    if (field.kind === "integer" && !Number.isInteger(value)) return "must be a whole number";
    if (field.minimum !== undefined && value < field.minimum) return `must be at least ${field.minimum}`;
    if (field.maximum !== undefined && value > field.maximum) return `must be at most ${field.maximum}`;
    if (field.exclusiveMinimum !== undefined && value <= field.exclusiveMinimum) return `must be more than ${field.exclusiveMinimum}`;
    if (field.exclusiveMaximum !== undefined && value >= field.exclusiveMaximum) return `must be less than ${field.exclusiveMaximum}`;
  }
  if (field.kind === "enum" && field.options && !field.options.includes(value)) {
    return `must be one of ${field.options.map(String).join(", ")}`;
  }
  if (field.kind === "number-list") {
    if (!Array.isArray(value) || !value.every((v) => typeof v === "number" && Number.isFinite(v))) return "must be a list of numbers";
  }
  return null;
}

/**
 * What must change before a form's values can be sent, one sentence per field in words
 * ("Training cycles must be at most 2000"), nested settings included; empty when all is well.
 */
export function formProblems(schema: JsonSchema, values: Record<string, unknown>): string[] {
  return fieldsFromSchema(schema).flatMap((field) => {
    const value = values[field.name] !== undefined ? values[field.name] : field.defaultValue;
    if (field.kind === "object" && field.schema) {
      const nested = (value && typeof value === "object" ? value : {}) as Record<string, unknown>;
      return formProblems(field.schema, nested).map((problem) => `${field.label}: ${problem}`);
    }
    const problem = checkField(field, value);
    return problem ? [`${field.label} ${problem}`] : [];
  });
}

/** The labels of a (possibly nested) setting by its path: "optimization.sparsity" → "Optimization › Sparsity". */
export function labelPath(schema: JsonSchema, path: string): string {
  const [name, ...rest] = path.split(".");
  const field = fieldsFromSchema(schema).find((f) => f.name === name);
  const label = field?.label ?? humanize(name);
  if (!rest.length) return label;
  return `${label} › ${field?.schema ? labelPath(field.schema, rest.join(".")) : rest.map(humanize).join(" › ")}`;
}

/**
 * A server message that starts with the path of the setting it is about ("params.epochs: must be
 * at most 2000") said with the setting's label instead ("Training cycles: must be at most 2000").
 */
export function messageInWords(message: string, field: string | null, schema: JsonSchema, prefix = ""): string {
  if (!field || !message.startsWith(`${field}: `) || !field.startsWith(prefix)) return message;
  return `${labelPath(schema, field.slice(prefix.length))}: ${message.slice(field.length + 2)}`;
}

/** Parses what the user typed into a field's value (numbers stay numbers, "" means unset). */
export function parseInput(field: FormField, text: string): unknown {
  if (field.kind === "number" || field.kind === "integer") {
    if (text.trim() === "") return field.nullable ? null : undefined;
    return Number(text);
  }
  if (field.kind === "number-list") {
    if (text.trim() === "") return [];
    return text
      .split(/[,\s]+/)
      .filter(Boolean)
      .map(Number);
  }
  if (field.kind === "json") {
    try {
      return JSON.parse(text);
    } catch {
      return text;
    }
  }
  if (field.kind === "enum" && field.options) {
    return field.options.find((o) => String(o) === text) ?? text;
  }
  return text;
}

/** The text shown in an input for a value. */
export function formatInput(field: FormField, value: unknown): string {
  if (value === undefined || value === null) return "";
  if (field.kind === "number-list" && Array.isArray(value)) return value.join(", ");
  if (field.kind === "json") return JSON.stringify(value);
  return String(value);
}
