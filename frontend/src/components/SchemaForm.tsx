/** A form generated from a JSON schema: one input per property, with defaults, bounds and errors. */
import { useId } from "react";
import { checkField, fieldsFromSchema, formatInput, parseInput, type FormField, type JsonSchema } from "../lib/schemaForm";

interface Props {
  schema: JsonSchema;
  values: Record<string, unknown>;
  onChange: (values: Record<string, unknown>) => void;
  /** Messages from the server, by property name. */
  serverErrors?: Record<string, string>;
  disabled?: boolean;
}

function FieldInput({
  field,
  value,
  id,
  invalid,
  describedBy,
  disabled,
  onValue,
}: {
  field: FormField;
  value: unknown;
  id: string;
  invalid: boolean;
  describedBy: string;
  disabled?: boolean;
  onValue: (value: unknown) => void;
}) {
  const common = { id, name: field.name, disabled, "aria-invalid": invalid, "aria-describedby": describedBy };
  if (field.kind === "boolean") {
    return <input type="checkbox" {...common} checked={Boolean(value)} onChange={(e) => onValue(e.target.checked)} />;
  }
  if (field.kind === "enum") {
    return (
      <select {...common} value={formatInput(field, value)} onChange={(e) => onValue(parseInput(field, e.target.value))}>
        {field.options?.map((o) => (
          <option key={String(o)} value={String(o)}>
            {String(o)}
          </option>
        ))}
      </select>
    );
  }
  if (field.kind === "number" || field.kind === "integer") {
    return (
      <input
        type="number"
        {...common}
        step={field.kind === "integer" ? 1 : "any"}
        min={field.minimum}
        max={field.maximum}
        placeholder={field.nullable ? "auto" : undefined}
        value={formatInput(field, value)}
        onChange={(e) => onValue(parseInput(field, e.target.value))}
      />
    );
  }
  return (
    <input
      // Remounts when the value changes from outside (another block, a reset), not while typing.
      key={formatInput(field, value)}
      type="text"
      {...common}
      placeholder={field.kind === "number-list" ? "e.g. 20, 10" : undefined}
      defaultValue={formatInput(field, value)}
      // Lists and JSON are parsed when the user leaves the field, so typing "20, " is not rewritten.
      onBlur={(e) => onValue(parseInput(field, e.target.value))}
    />
  );
}

/** The server's messages for the settings nested under `name` ("optimization.sparsity"), keyed
 * by the nested property. */
function nestedErrors(errors: Record<string, string>, name: string): Record<string, string> {
  const prefix = `${name}.`;
  return Object.fromEntries(
    Object.entries(errors)
      .filter(([k]) => k.startsWith(prefix))
      .map(([k, v]) => [k.slice(prefix.length), v]),
  );
}

export function SchemaForm({ schema, values, onChange, serverErrors = {}, disabled }: Props) {
  const base = useId();
  const fields = fieldsFromSchema(schema);
  if (!fields.length) return <p className="muted small">This block has no settings.</p>;
  return (
    <div className="schema-form">
      {fields.map((field) => {
        const id = `${base}-${field.name}`;
        const value = values[field.name] !== undefined ? values[field.name] : field.defaultValue;
        const problem = serverErrors[field.name] ?? checkField(field, value);
        if (field.kind === "object" && field.schema) {
          // Nested settings (a learning block's optimization, its augmentation): a form of their own.
          const nested = (value && typeof value === "object" ? value : {}) as Record<string, unknown>;
          return (
            <fieldset key={field.name} className="field nested-form" data-field={field.name}>
              <legend>{field.label}</legend>
              {field.description && <span className="field-help">{field.description}</span>}
              <SchemaForm
                schema={field.schema}
                values={nested}
                serverErrors={nestedErrors(serverErrors, field.name)}
                disabled={disabled}
                onChange={(v) => onChange({ ...values, [field.name]: v })}
              />
              {problem && (
                <span className="field-error" role="alert">
                  {problem}
                </span>
              )}
            </fieldset>
          );
        }
        const helpId = `${id}-help`;
        const errorId = `${id}-error`;
        const input = (
          <FieldInput
            field={field}
            value={value}
            id={id}
            invalid={Boolean(problem)}
            describedBy={problem ? `${errorId} ${helpId}` : helpId}
            disabled={disabled}
            onValue={(v) => onChange({ ...values, [field.name]: v })}
          />
        );
        return (
          <div key={field.name} className={`field${field.kind === "boolean" ? " checkbox-field" : ""}`} data-field={field.name}>
            {field.kind === "boolean" ? (
              <>
                {input}
                <label htmlFor={id}>{field.label}</label>
              </>
            ) : (
              <>
                <label htmlFor={id}>{field.label}</label>
                {input}
              </>
            )}
            {field.description && (
              <span className="field-help" id={helpId}>
                {field.description}
              </span>
            )}
            {problem && (
              <span className="field-error" id={errorId} role="alert">
                {problem}
              </span>
            )}
          </div>
        );
      })}
    </div>
  );
}

/** Splits a server error field like "dsp[0].params.fft-length" into its block path and property. */
export function splitErrorField(field: string | null, message: string): { path: string; property: string; message: string } | null {
  if (!field) return null;
  const match = /^(.*)\.params\.(.+)$/.exec(field);
  const clean = message.startsWith(`${field}: `) ? message.slice(field.length + 2) : message;
  if (match) return { path: match[1], property: match[2], message: clean };
  const dot = field.lastIndexOf(".");
  return { path: dot >= 0 ? field.slice(0, dot) : "", property: dot >= 0 ? field.slice(dot + 1) : field, message: clean };
}
