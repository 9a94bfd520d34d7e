/** A labelled input that says beside itself, in words, what is wrong with its value. */
import { useId, type InputHTMLAttributes } from "react";

export function CheckedInput({ label, problem, ...input }: { label: string; problem: string | null } & InputHTMLAttributes<HTMLInputElement>) {
  const id = useId();
  // The problem describes the input; outside the label, it is not read as part of its name.
  return (
    <div className="field">
      <label htmlFor={id} className="field-caption">
        {label}
      </label>
      <input id={id} {...input} aria-invalid={Boolean(problem)} aria-describedby={problem ? `${id}-error` : undefined} />
      {problem && (
        <span className="field-error" id={`${id}-error`}>
          {problem}
        </span>
      )}
    </div>
  );
}
