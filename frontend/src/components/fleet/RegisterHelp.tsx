/** How a device joins the fleet: the two REST calls, with the project's API key and then its own key. */
import { registrationSteps } from "../../lib/fleet";
import { CopyButton } from "../ui";

export function RegisterHelp({ projectId }: { projectId: number }) {
  const steps = registrationSteps(window.location.origin);
  return (
    <div className="register-help">
      <p>
        A device registers once with one of the project's API keys (<a href={`/projects/${projectId}/settings`}>Settings → API keys</a>), naming the training
        run whose model it runs. The answer holds the device's own key, shown once: keep it on the device.
      </p>
      <pre className="log fleet-snippet">{steps.register}</pre>
      <CopyButton text={steps.register} label="Copy" />
      <p>
        It then sends batches of up to 500 summaries with its key: per window (or per <code>count</code> windows) the top label and score, and each feature's
        mean and variance, in the order the impulse computes them. Each item carries a sequence number, so a batch sent twice is stored once. An item may carry
        one raw window (
        <code>
          "raw": {"{"}"values": [[…]], "interval_ms": 10{"}"}
        </code>
        ) to review as a sample later.
      </p>
      <pre className="log fleet-snippet">{steps.telemetry}</pre>
      <CopyButton text={steps.telemetry} label="Copy" />
    </div>
  );
}
