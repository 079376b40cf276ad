import type { MlflowClient } from '../../core/mlflow.ts';

/** Leaves the shared MLflow as a test found it: its registered model and its runs' experiment go. */
export async function removeModelAndExperiment(client: MlflowClient, model: string, experiment: string): Promise<void> {
  await client.deleteRegisteredModel(model).catch(() => undefined);
  const exp = await client.getExperimentByName(experiment).catch(() => undefined);
  if (exp) await client.deleteExperiment(exp.experiment_id).catch(() => undefined);
}
