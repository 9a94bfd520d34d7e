/** The training run behind a firmware build: the input block it was trained with and its test results. */
import { api, unwrap, type Schemas } from "./client";
import type { StudioWindow } from "../lib/device/deviceTest";
import type { InputBlock } from "../lib/device/windows";

type Deployment = Schemas["DeploymentOut"];

/** What a training job's result holds for on-device testing. */
export interface TrainingResult {
  classes?: string[];
  test_windows?: StudioWindow[];
  anomaly?: { threshold?: number } | null;
}

/** The training run of a build and the input block (window size, stride, rate) it was trained with. */
export async function trainedInput(projectId: number, deployment: Deployment) {
  const run = await unwrap(
    api.GET("/api/projects/{project_id}/training-runs/{run_id}", { params: { path: { project_id: projectId, run_id: deployment.training_run_id } } }),
  );
  const versions = await unwrap(
    api.GET("/api/projects/{project_id}/impulses/{impulse_id}/versions", { params: { path: { project_id: projectId, impulse_id: run.impulse_id } } }),
  );
  const version = versions.find((v) => v.id === run.impulse_version_id) ?? versions[0];
  return { run, input: (version.spec as { input: InputBlock }).input };
}

/** The result of a training run's job (its test windows, labels, anomaly threshold). */
export async function trainingResult(projectId: number, run: Schemas["TrainingRunOut"]): Promise<TrainingResult> {
  if (run.job_id == null) throw new Error(`training run #${run.id} has no job with test results`);
  const job = await unwrap(api.GET("/api/projects/{project_id}/jobs/{job_id}", { params: { path: { project_id: projectId, job_id: run.job_id } } }));
  return (job.result ?? {}) as TrainingResult;
}
