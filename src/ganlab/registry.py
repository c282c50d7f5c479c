"""The model registry: every trained run's generator as a version of ganlab-<variant>, tagged
with its scores, and the alias `best` on the version with the lowest FID."""

from __future__ import annotations

REGISTERED_PREFIX = "ganlab-"  # the registry's name of a variant's generators: ganlab-<variant>
BEST_ALIAS = "best"


def registered_name(variant: str) -> str:
    return REGISTERED_PREFIX + variant


def generator_uri(run) -> str:
    """The run's generator as MLflow 3 logs it: a logged model (models:/<id>; the latest, where a
    run logged several), which runs:/<run>/generator only finds with a warning."""
    import mlflow

    logged = mlflow.search_logged_models(experiment_ids=[run.info.experiment_id], output_format="list",
                                         filter_string=f"source_run_id = '{run.info.run_id}' AND name = 'generator'")
    if not logged:
        return f"runs:/{run.info.run_id}/generator"
    return f"models:/{max(logged, key=lambda model: model.creation_timestamp).model_id}"


def register_generator(client, run_id: str, scores: dict[str, float], fid_key: str):
    """The run's generator as a version of ganlab-<variant> in the model registry, tagged with
    its run, params hash and scores (fid_key: the FID's); the alias `best` moves to the version
    with the lowest FID so far. A rescored run updates its version instead of adding one."""
    from mlflow.exceptions import MlflowException

    run = client.get_run(run_id)
    name = registered_name(run.data.tags["variant"])
    try:
        client.create_registered_model(name, description=f"Generators of the `{run.data.tags['variant']}` "
                                       "variant, one version per training run; alias `best`: the lowest FID.")
    except MlflowException as exc:
        if exc.error_code != "RESOURCE_ALREADY_EXISTS":
            raise
    tags = {"run_name": run.info.run_name, "seed": run.data.tags.get("seed", ""),
            "params_sha256": run.data.tags.get("params_sha256", "")}
    tags |= {key: f"{value:.6g}" for key, value in scores.items()}
    versions = client.search_model_versions(f"name = '{name}'")
    version = next((v for v in versions if v.run_id == run_id), None)
    if version is None:
        import mlflow

        version = mlflow.register_model(generator_uri(run), name, tags=tags)
        versions = [*versions, version]
    else:
        for key, value in tags.items():
            client.set_model_version_tag(name, version.version, key, value)

    def fid(v) -> float:
        value = tags.get(fid_key) if v.version == version.version else v.tags.get(fid_key)
        return float(value) if value not in (None, "") else float("inf")

    best = min(versions, key=fid)
    client.set_registered_model_alias(name, BEST_ALIAS, best.version)
    return version
