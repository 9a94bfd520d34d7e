/** The getting-started steps from data to a model on a board, each ticked from the project's overview. */
import type { Schemas } from "../api/client";

type Overview = Schemas["ProjectOverview"];

export interface Step {
  /** The project page that does the step. */
  page: string;
  title: string;
  done: boolean;
  /** How far the project got on it, or what it still needs. */
  status: string;
}

const plural = (n: number, noun: string) => `${n} ${n === 1 ? noun : `${noun}s`}`;

export function gettingStarted(o: Overview): Step[] {
  const dataDone = o.training_labels >= 2 && o.testing_samples > 0;
  const dataNeeds = [o.training_labels < 2 && "training samples of at least two labels", o.testing_samples === 0 && "a test set"].filter(Boolean).join(" and ");
  const boardRuns = o.device_tests + o.virtual_board_sessions;
  return [
    {
      page: "data",
      title: "Collect data",
      done: dataDone,
      status: dataDone
        ? `${plural(o.samples, "sample")}, ${plural(o.training_labels, "label")}, ${o.testing_samples} in the test set`
        : `Needs ${dataNeeds}${o.samples ? ` (${plural(o.samples, "sample")} so far)` : ""}`,
    },
    {
      page: "impulse",
      title: "Design an impulse",
      done: o.impulses > 0,
      status: o.impulses > 0 ? plural(o.impulses, "impulse") : "Window, processing and learning blocks for your data",
    },
    {
      page: "training",
      title: "Train a model",
      done: o.succeeded_training_runs > 0,
      status:
        o.succeeded_training_runs > 0
          ? `${plural(o.succeeded_training_runs, "training run")} succeeded`
          : o.training_runs > 0
            ? "No training run has succeeded yet"
            : "Train the impulse on the training set",
    },
    {
      page: "deployment",
      title: "Deploy it",
      done: o.succeeded_deployments > 0,
      status:
        o.succeeded_deployments > 0
          ? `${plural(o.succeeded_deployments, "build")} ready`
          : o.deployments > 0
            ? "No build has succeeded yet"
            : "Build a C library, an Arduino library or board firmware",
    },
    {
      page: "virtual-boards",
      title: "Run it on a board",
      done: boardRuns > 0,
      status:
        boardRuns > 0
          ? [
              o.device_tests && `${plural(o.device_tests, "on-device test")}`,
              o.virtual_board_sessions && `${plural(o.virtual_board_sessions, "virtual board session")}`,
            ]
              .filter(Boolean)
              .join(", ")
          : "Start the firmware on a virtual board, or test it on a real one",
    },
  ];
}
