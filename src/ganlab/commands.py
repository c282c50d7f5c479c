"""`ganlab`: use what the pipeline trained, without writing code.

    ganlab sample VARIANT [-n 64] [--class NAME] [--seed S] [--run-seed K] -o grid.png | samples.npz
    ganlab interpolate VARIANT --from A --to B [--steps 8] [--class NAME] -o strip.png | walk.gif
    ganlab ui [--host H] [--port P] [--print-url]

VARIANT is a variant of params.yaml (its generator under models/<variant>/seed<K>/) or any MLflow
model URI: models:/ganlab-acgan@best, models:/ganlab-dcgan/3, runs:/<run id>/generator.
Bad input gets one `error:` line and exit status 2, and nothing is written.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from ganlab.config import PARAMS_FILE, Config, ConfigError, load_config
from ganlab.quiet import relay, should_relay
from ganlab.trained_run import MODEL_CARD, Generator

EXIT_BAD_INPUT = 2
IMAGE_SUFFIXES = (".png",)
ARRAY_SUFFIXES = (".npz",)
ANIMATION_SUFFIXES = (".gif",)
def requested_labels(generator: Generator, name: str | None, count: int) -> np.ndarray | None:
    """The labels to ask for: the named class (a name, any case, or its index) for every image;
    without a name, the classes in turn. None for an unconditional generator."""
    if generator.class_names is None or name is None:
        return generator.classes_in_turn(count)
    return np.full(count, class_index(name, generator.class_names))


def class_index(name: str, class_names: list[str]) -> int:
    lowered = [c.lower() for c in class_names]
    if name.lower() in lowered:
        return lowered.index(name.lower())
    if name.isdigit() and int(name) < len(class_names):
        return int(name)
    raise ConfigError(f"--class {name!r} is not one of this generator's classes: {', '.join(class_names)} "
                      f"(or their index 0-{len(class_names) - 1})")


def is_model_uri(text: str) -> bool:
    return ":/" in text


def check_request(cfg: Config, model: str, run_seed: int | None, class_name: str | None) -> Path | None:
    """Everything about a local generator that can be checked before TensorFlow loads: the
    variant, the seed, that it was trained, and that it takes a class when one is asked for.
    Returns its model card's path (None for an MLflow URI, checked when it loads)."""
    if is_model_uri(model):
        return None
    cfg.variant(model)  # an unknown name: the error lists the defined ones
    seed = cfg.seeds[0] if run_seed is None else run_seed
    cfg.check_seed(seed)
    run = cfg.trained_run(model, seed)
    if not run.is_trained():
        raise ConfigError(f"{model} (seed {seed}) has no trained generator at {run.generator_file}: "
                          f"run `make repro` (or `dvc repro train@{model}-{seed}`) first")
    conditional = run.card().get("conditional", False)
    if class_name is not None and not conditional:
        raise ConfigError(f"{model} is not conditional: it takes no --class (acgan does)")
    return run.model_card_file


def load_generator(cfg: Config, model: str, run_seed: int | None) -> Generator:
    if not is_model_uri(model):
        return cfg.trained_run(model, cfg.seeds[0] if run_seed is None else run_seed).load_generator()
    return load_mlflow_generator(cfg, model)


def load_mlflow_generator(cfg: Config, uri: str) -> Generator:
    """A generator from the MLflow store params.yaml names (MLFLOW_TRACKING_URI wins). What it
    takes comes from its inputs; class names from its run's model card when there is one."""
    import mlflow
    from mlflow.exceptions import MlflowException

    from ganlab.preflight import masked
    from ganlab.tracking import tracking_uri

    mlflow.set_tracking_uri(tracking_uri(cfg))
    try:
        keras_model = mlflow.keras.load_model(uri)
    except (MlflowException, OSError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ConfigError(f"no model at {uri} in {masked(tracking_uri(cfg))}: {masked(first)} "
                          "(run `make repro` to train and register the generators)") from exc
    shapes = [tuple(t.shape) for t in keras_model.inputs]
    noise_dim = int(shapes[0][-1])
    if len(shapes) == 1:
        return Generator(keras_model, noise_dim, None)
    count = int(shapes[1][-1])
    names = [f"class {i}" for i in range(count)]
    run_id = run_of(uri)
    if run_id:
        try:
            names = mlflow.artifacts.load_dict(f"runs:/{run_id}/{MODEL_CARD}")["class_names"]
        except (MlflowException, OSError, KeyError):
            pass  # a generator logged elsewhere: its classes by index
    return Generator(keras_model, noise_dim, names)


def run_of(uri: str) -> str | None:
    """The run that logged the model at a models:/ or runs:/ URI."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient()
    if uri.startswith("runs:/"):
        return uri.removeprefix("runs:/").split("/", 1)[0]
    if uri.startswith("models:/"):
        rest = uri.removeprefix("models:/")
        if "@" in rest:
            name, alias = rest.split("@", 1)
            return client.get_model_version_by_alias(name, alias).run_id
        if "/" in rest:
            name, version = rest.split("/", 1)
            return client.get_model_version(name, version).run_id
    return None


def requested_generator(cfg: Config, args: argparse.Namespace) -> Generator:
    """The generator a command asks for, checked before it loads where it can be (a local
    variant) and after (an MLflow URI says what it takes only once loaded)."""
    check_request(cfg, args.model, args.run_seed, args.class_name)
    generator = load_generator(cfg, args.model, args.run_seed)
    if args.class_name is not None and generator.class_names is None:
        raise ConfigError(f"{args.model} is not conditional: it takes no --class")
    return generator


def noise_for(seed: int, count: int, noise_dim: int) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((count, noise_dim)).astype(np.float32)


def slerp(a: np.ndarray, b: np.ndarray, steps: int) -> np.ndarray:
    """steps points on the great circle from a to b (White 2016): a Gaussian's mass lies near a
    sphere, which a straight line between two draws cuts through."""
    cos = np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b))
    omega = np.arccos(np.clip(cos, -1.0, 1.0))
    t = np.linspace(0.0, 1.0, steps)[:, None]
    if omega < 1e-6:
        return (1 - t) * a + t * b
    return (np.sin((1 - t) * omega) * a + np.sin(t * omega) * b) / np.sin(omega)


def check_output(path: Path, suffixes: tuple[str, ...]) -> Path:
    if path.suffix.lower() not in suffixes:
        raise ConfigError(f"-o {path}: write to a file ending in {' or '.join(suffixes)}")
    if not path.parent.is_dir():
        raise ConfigError(f"-o {path}: the folder {path.parent} does not exist")
    return path


def write_images(path: Path, images: np.ndarray, labels: np.ndarray | None, noise: np.ndarray, columns: int,
                 animate: bool = False) -> None:
    import imageio.v3 as iio

    from ganlab.grids import image_grid

    if path.suffix.lower() in ARRAY_SUFFIXES:
        arrays = {"images": images, "noise": noise} | ({"labels": labels} if labels is not None else {})
        np.savez(path, **arrays)
    elif animate:  # there and back, each image 4x: a walk through the noise space
        frames = [image_grid(images[i:i + 1], 1, pad=0, scale=4) for i in [*range(len(images)), *range(len(images) - 2, 0, -1)]]
        iio.imwrite(path, np.stack(frames), duration=120, loop=0)
    else:
        iio.imwrite(path, image_grid(images, columns))


def available_memory() -> int:
    """Bytes this machine can still give (MemAvailable), or 0 where /proc does not say."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


def check_count(count: int, generator: Generator) -> None:
    """-n within what memory holds: the images (as float32, and once more as a grid or file)
    in at most half of the available memory."""
    available = available_memory()
    needed = 2 * count * generator.image_bytes()
    if available and needed > available // 2:
        most = max(1, available // 4 // generator.image_bytes())
        raise ConfigError(f"-n {count}: {count} images need ~{needed / 2**30:.1f} GiB, more than half of the "
                          f"{available / 2**30:.1f} GiB this machine has free; ask for at most {most} at a time "
                          "(another --seed gives other images)")


def sample(cfg: Config, args: argparse.Namespace) -> str:
    if args.n < 1:
        raise ConfigError(f"-n {args.n}: ask for at least one image")
    out = check_output(Path(args.output), IMAGE_SUFFIXES + ARRAY_SUFFIXES)
    generator = requested_generator(cfg, args)
    check_count(args.n, generator)
    noise = noise_for(args.seed, args.n, generator.noise_dim)
    labels = requested_labels(generator, args.class_name, args.n)
    images = generator(noise, labels)
    # A conditional grid without a class: one column per class, as the training grids.
    columns = len(generator.class_names) if generator.class_names and args.class_name is None else \
        int(np.ceil(np.sqrt(args.n)))
    write_images(out, images, labels, noise, columns)
    return f"wrote {args.n} samples of {args.model} to {out}"


def interpolate(cfg: Config, args: argparse.Namespace) -> str:
    if args.steps < 2:
        raise ConfigError(f"--steps {args.steps}: an interpolation needs at least 2")
    out = check_output(Path(args.output), IMAGE_SUFFIXES + ANIMATION_SUFFIXES + ARRAY_SUFFIXES)
    generator = requested_generator(cfg, args)
    a, b = noise_for(args.start, 1, generator.noise_dim)[0], noise_for(args.end, 1, generator.noise_dim)[0]
    noise = slerp(a, b, args.steps).astype(np.float32)
    labels = requested_labels(generator, args.class_name or (generator.class_names[0] if generator.class_names else None),
                             args.steps)
    images = generator(noise, labels)
    write_images(out, images, labels, noise, args.steps, animate=out.suffix.lower() in ANIMATION_SUFFIXES)
    return f"wrote {args.steps} steps from noise seed {args.start} to {args.end} of {args.model} to {out}"


def ui(cfg: Config, args: argparse.Namespace) -> str:
    """The address that opens the runs table; then the UI itself on a local store."""
    from ganlab.mlflow_ui import describe, ui_url
    from ganlab.tracking import tracking_uri

    uri = tracking_uri(cfg)
    experiment_id = describe(cfg)
    if uri.startswith(("http://", "https://")):  # a tracking server serves its own UI
        from urllib.parse import urlsplit

        server = urlsplit(uri)
        url = ui_url(experiment_id, server.hostname, server.port or 80)
        return url if args.print_url else f"Open the runs table (the tracking server's own UI): {url}"
    url = ui_url(experiment_id, args.host, args.port)
    if args.print_url:
        return url
    print(f"Open the runs table: {url}", flush=True)
    mlflow = Path(sys.executable).with_name("mlflow")
    command = [str(mlflow) if mlflow.exists() else "mlflow", "ui", "--backend-store-uri", uri,
               "--host", args.host, "--port", str(args.port)]
    return_code = subprocess.call(command)
    if return_code:
        raise SystemExit(return_code)
    return ""


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="ganlab", description=__doc__.split("\n\n")[0])
    top.add_argument("--params", default=os.environ.get("GANLAB_PARAMS", PARAMS_FILE),
                     help="the project's params.yaml (default: ./params.yaml)")
    commands = top.add_subparsers(dest="command", required=True)

    def model_arguments(p: argparse.ArgumentParser) -> None:
        p.add_argument("model", metavar="VARIANT", help="a variant of params.yaml, or an MLflow model URI "
                       "(models:/ganlab-acgan@best)")
        p.add_argument("--run-seed", type=int, default=None, help="which training seed's generator "
                       "(default: the first of params.yaml's seeds)")
        p.add_argument("--class", dest="class_name", default=None, help="conditional generators: the class "
                       "to make, by name or index (default: every class in turn)")
        p.add_argument("-o", "--output", required=True)

    p = commands.add_parser("sample", help="a grid (.png) or the images (.npz) from fixed noise")
    model_arguments(p)
    p.add_argument("-n", type=int, default=64, help="how many images (default 64)")
    p.add_argument("--seed", type=int, default=0, help="the noise's seed (default 0)")
    p.set_defaults(run=sample)

    p = commands.add_parser("interpolate", help="a walk between two noise seeds: a strip (.png) or a GIF")
    model_arguments(p)
    p.add_argument("--from", dest="start", type=int, default=0, help="noise seed at the start (default 0)")
    p.add_argument("--to", dest="end", type=int, default=1, help="noise seed at the end (default 1)")
    p.add_argument("--steps", type=int, default=8, help="images along the way (default 8)")
    p.set_defaults(run=interpolate)

    p = commands.add_parser("ui", help="the MLflow UI, opened on the training runs table")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=5000)
    p.add_argument("--print-url", action="store_true", help="only print the address")
    p.set_defaults(run=ui)
    return top


def main(argv: list[str] | None = None) -> None:
    if argv is None and should_relay():  # the `ganlab` command: once more, with TensorFlow's log lines dropped
        sys.exit(relay([sys.executable, *sys.argv]))
    args = parser().parse_args(argv)
    try:
        cfg = load_config(args.params)
        message = args.run(cfg, args)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(EXIT_BAD_INPUT)
    if message:
        print(message)


if __name__ == "__main__":
    main()
