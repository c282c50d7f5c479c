"""Every data source, from small generated files: IDX (Fashion-MNIST/MNIST), folder, npz."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from conftest import blob_images, data_settings
from ganlab import sources as data_module
from ganlab.data import DataError, load_prepared, prepare, save_prepared


def test_idx_source_from_data_path_keeps_and_renumbers_classes(idx_folder):
    cfg = data_settings(source="fashion_mnist", path=str(idx_folder), classes=[8, 0, 3])
    data = prepare(cfg, seed=0)
    assert data.class_names == ["Bag", "T-shirt/top", "Dress"]
    assert data.x_train.shape == (36, 32, 32, 1) and data.x_train.dtype == np.uint8
    assert data.x_test.shape == (9, 32, 32, 1)
    assert np.bincount(data.y_train).tolist() == [12, 12, 12]
    # 28 -> 32 is padding with the background, as the study does: the border stays empty.
    assert data.x_train[:, :2].max() == 0 and data.x_train[:, :, -2:].max() == 0


def test_idx_labels_follow_the_images(idx_folder):
    data = prepare(data_settings(source="fashion_mnist", path=str(idx_folder), classes=[0, 9]), seed=0)
    for new_label, old_label in enumerate([0, 9]):
        # blob_images puts each label's bright square in its own place; padding adds 2 pixels.
        expected = blob_images(np.array([old_label]), 28)[0] > 200
        for image in data.x_train[data.y_train == new_label]:
            assert np.array_equal(image[2:30, 2:30, 0] > 200, expected)


def test_idx_search_order_keras_cache_then_debian(idx_folder, tmp_path, monkeypatch):
    keras_home = tmp_path / "keras"
    monkeypatch.setenv("KERAS_HOME", str(keras_home))
    monkeypatch.setattr(data_module, "DEBIAN_FASHION_MNIST", idx_folder)
    monkeypatch.setattr(data_module, "_download_with_keras", lambda source: pytest.fail("must not download"))
    assert data_module.source_labels(data_settings(source="fashion_mnist")).location == str(idx_folder)

    cache = keras_home / "datasets" / "fashion-mnist"
    cache.mkdir(parents=True)
    for f in idx_folder.iterdir():
        (cache / f.name).write_bytes(f.read_bytes())
    assert data_module.source_labels(data_settings(source="fashion_mnist")).location == str(cache)


def test_idx_not_found_names_every_option(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.setattr(data_module, "DEBIAN_FASHION_MNIST", tmp_path / "no-debian")

    def offline(source):
        raise OSError("network unreachable")

    monkeypatch.setattr(data_module, "_download_with_keras", offline)
    with pytest.raises(DataError) as info:
        prepare(data_settings(source="fashion_mnist"), seed=0)
    message = str(info.value)
    assert "no-debian" in message and "keras" in message and "network unreachable" in message
    assert "data.path" in message and "dataset-fashion-mnist" in message


def test_idx_missing_data_path_is_an_error(tmp_path):
    with pytest.raises(DataError, match="fashion_mnist not found.*nowhere"):
        prepare(data_settings(source="fashion_mnist", path=str(tmp_path / "nowhere")), seed=0)


def test_corrupt_idx_file_is_refused(idx_folder):
    (idx_folder / "train-labels-idx1-ubyte.gz").write_bytes(b"\x1f\x8b not really gzip")
    with pytest.raises((DataError, OSError)):
        prepare(data_settings(source="fashion_mnist", path=str(idx_folder)), seed=0)


def test_mnist_from_keras_npz(tmp_path, monkeypatch):
    y_train, y_test = np.repeat(np.arange(10), 5), np.repeat(np.arange(10), 2)
    cache = tmp_path / "keras" / "datasets"
    cache.mkdir(parents=True)
    np.savez(cache / "mnist.npz", x_train=blob_images(y_train, 28), y_train=y_train,
             x_test=blob_images(y_test, 28), y_test=y_test)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    data = prepare(data_settings(source="mnist", classes=None), seed=0)
    assert data.class_names == [str(d) for d in range(10)]
    assert len(data.y_train) == 50 and len(data.y_test) == 20


def write_class_folders(root, per_class=6):
    """cats: RGB PNGs of 40x30; dogs: greyscale JPEGs of 64x64; birds: RGBA PNGs of 16x16."""
    specs = {"cats": ("RGB", (40, 30), "png"), "dogs": ("L", (64, 64), "jpg"), "birds": ("RGBA", (16, 16), "PNG")}
    rng = np.random.default_rng(0)
    for name, (mode, size, ext) in specs.items():
        (root / name).mkdir(parents=True)
        for i in range(per_class):
            channels = {"RGB": 3, "L": None, "RGBA": 4}[mode]
            shape = (size[1], size[0]) + ((channels,) if channels else ())
            Image.fromarray(rng.integers(0, 255, shape, dtype=np.uint8), mode).save(root / name / f"{i}.{ext}")
    return root


def test_folder_source_any_size_and_mode(tmp_path):
    root = write_class_folders(tmp_path / "imgs")
    data = prepare(data_settings(source="folder", path=str(root), image_size=24, test_fraction=0.25), seed=0)
    assert data.class_names == ["birds", "cats", "dogs"]  # sorted folder names
    assert data.x_train.shape[1:] == (24, 24, 1)
    assert len(data.y_train) + len(data.y_test) == 18
    assert np.bincount(data.y_test).tolist() == [2, 2, 2]  # stratified: 25 % of 6 each
    assert not data.skipped


def test_folder_classes_by_name_in_the_given_order(tmp_path):
    root = write_class_folders(tmp_path / "imgs")
    data = prepare(data_settings(source="folder", path=str(root), classes=["dogs", "cats"]), seed=0)
    assert data.class_names == ["dogs", "cats"]
    with pytest.raises(DataError, match=r"data.classes \['horses'\] not present"):
        prepare(data_settings(source="folder", path=str(root), classes=["horses"]), seed=0)


def test_unreadable_image_is_named_and_skipped(tmp_path, capsys):
    root = write_class_folders(tmp_path / "imgs")
    broken = root / "cats" / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n this is not an image")
    data = prepare(data_settings(source="folder", path=str(root)), seed=0)
    assert len(data.y_train) + len(data.y_test) == 18
    assert len(data.skipped) == 1 and str(broken) in data.skipped[0]
    assert str(broken) in capsys.readouterr().err


def test_folder_errors(tmp_path):
    with pytest.raises(DataError, match="is not a folder"):
        prepare(data_settings(source="folder", path=str(tmp_path / "absent")), seed=0)
    (tmp_path / "flat").mkdir()
    Image.new("L", (8, 8)).save(tmp_path / "flat" / "a.png")
    with pytest.raises(DataError, match="no class sub-folders"):
        prepare(data_settings(source="folder", path=str(tmp_path / "flat")), seed=0)
    (tmp_path / "empty" / "cats").mkdir(parents=True)
    (tmp_path / "empty" / "cats" / "notes.txt").write_text("no images here")
    with pytest.raises(DataError, match="no readable images"):
        prepare(data_settings(source="folder", path=str(tmp_path / "empty")), seed=0)


def test_npz_source(npz_file):
    data = prepare(data_settings(source="npz", path=str(npz_file), per_class=10), seed=0)
    assert data.class_names == ["2", "5", "9"]
    assert np.bincount(data.y_train).tolist() == [10, 10, 10]
    assert data.x_train.shape[1:] == (32, 32, 1)


@pytest.mark.parametrize("dtype, scale", [(np.float32, 1.0), (np.float64, 2.0)])
def test_npz_float_and_rgb_images_are_converted(tmp_path, dtype, scale):
    y = np.repeat([0, 1], 10)
    x = (np.random.default_rng(0).random((20, 16, 16, 3)) * scale - (scale - 1)).astype(dtype)
    np.savez(tmp_path / "f.npz", x=x, y=y)
    data = prepare(data_settings(source="npz", path=str(tmp_path / "f.npz"), image_size=16), seed=0)
    assert data.x_train.dtype == np.uint8 and data.x_train.shape[1:] == (16, 16, 1)
    assert data.x_train.max() > 100  # scaled to [0, 255], not truncated to 0/1


@pytest.mark.parametrize(
    "arrays, expected",
    [
        ({"images": np.zeros((4, 8, 8)), "y": np.zeros(4, int)}, "missing array"),
        ({"x": np.zeros((4, 8, 8)), "y": np.zeros(3, int)}, "x has 4 images but y has 3 labels"),
        ({"x": np.zeros((4, 8, 8)), "y": np.zeros(4)}, "integer labels"),
        ({"x": np.zeros((4, 8)), "y": np.zeros(4, int)}, "images must be"),
        # issue 29: NaN pixels became an all-black data set with only numpy's warning
        ({"x": np.full((4, 8, 8), np.nan), "y": np.zeros(4, int)}, "256 pixel values in 4 images are NaN"),
        ({"x": np.where(np.arange(256).reshape(4, 8, 8) == 5, np.inf, 0.5), "y": np.zeros(4, int)},
         "1 pixel values in 1 images are NaN or infinite"),
    ],
)
def test_npz_errors(tmp_path, arrays, expected):
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(DataError, match=expected):
        prepare(data_settings(source="npz", path=str(tmp_path / "bad.npz")), seed=0)


def test_npz_missing_file_and_absent_classes(tmp_path, npz_file):
    with pytest.raises(DataError, match="does not exist"):
        prepare(data_settings(source="npz", path=str(tmp_path / "absent.npz")), seed=0)
    with pytest.raises(DataError, match=r"data.classes \[7\] not present.*\[2, 5, 9\]"):
        prepare(data_settings(source="npz", path=str(npz_file), classes=[2, 7]), seed=0)


def test_prepare_is_deterministic_and_seeded(npz_file):
    cfg = data_settings(source="npz", path=str(npz_file), per_class=20)
    a, b, c = prepare(cfg, seed=0), prepare(cfg, seed=0), prepare(cfg, seed=1)
    assert np.array_equal(a.x_train, b.x_train) and np.array_equal(a.y_test, b.y_test)
    assert not np.array_equal(a.x_train, c.x_train)


def test_saved_dataset_round_trips_with_its_facts(npz_file, tmp_path):
    data = prepare(data_settings(source="npz", path=str(npz_file)), seed=0)
    facts = save_prepared(data, tmp_path / "out" / "dataset.npz", tmp_path / "out" / "dataset.json")
    assert json.loads((tmp_path / "out" / "dataset.json").read_text()) == facts
    assert [c["name"] for c in facts["classes"]] == ["2", "5", "9"]
    assert facts["train_images"] + facts["test_images"] == 120
    assert len(facts["source_sha256"]) == 64 and len(facts["dataset_sha256"]) == 64
    again = load_prepared(tmp_path / "out" / "dataset.npz")
    assert np.array_equal(again.x_train, data.x_train) and again.class_names == data.class_names
    assert not list((tmp_path / "out").glob("*.tmp*"))


def test_load_prepared_says_which_stage_to_run(tmp_path):
    with pytest.raises(DataError, match="run the prepare stage first"):
        load_prepared(tmp_path / "dataset.npz")


# --- bad input: each refused with one DataError naming the path, or skipped with its path named ---


def idx_copy(idx_folder, name: str, payload: bytes):
    (idx_folder / name).write_bytes(payload)
    return data_settings(source="fashion_mnist", path=str(idx_folder))


@pytest.mark.parametrize("name", ["train-labels-idx1-ubyte.gz", "train-images-idx3-ubyte.gz"])
def test_damaged_gzip_is_refused_naming_the_file(idx_folder, name):
    cfg = idx_copy(idx_folder, name, b"\x1f\x8b not really gzip")
    with pytest.raises(DataError, match=f"{name}: cannot be read"):
        prepare(cfg, seed=0)


def test_truncated_gzip_is_refused_naming_the_file(idx_folder):
    name = "t10k-images-idx3-ubyte.gz"
    whole = (idx_folder / name).read_bytes()
    cfg = idx_copy(idx_folder, name, whole[: len(whole) // 2])
    with pytest.raises(DataError, match=f"{name}: cannot be read.*EOFError"):
        prepare(cfg, seed=0)


def test_wrong_idx_magic_and_size_are_refused(idx_folder):
    import gzip

    name = "train-labels-idx1-ubyte.gz"
    labels = np.repeat(np.arange(10), 12).astype(np.uint8)
    cfg = idx_copy(idx_folder, name, gzip.compress(b"\x00\x00\x0d\x01" + (120).to_bytes(4, "big") + labels.tobytes()))
    with pytest.raises(DataError, match=f"{name}: not an IDX file.*bad magic"):
        prepare(cfg, seed=0)
    cfg = idx_copy(idx_folder, name, gzip.compress(b"\x00\x00\x08\x01" + (121).to_bytes(4, "big") + labels.tobytes()))
    with pytest.raises(DataError, match=rf"{name}: holds 120 bytes, its header promises \(121,\)"):
        prepare(cfg, seed=0)


def test_images_and_labels_of_different_counts_are_refused(idx_folder):
    from conftest import write_idx

    write_idx(idx_folder / "train-images-idx3-ubyte.gz", blob_images(np.zeros(7, int), 28))
    with pytest.raises(DataError, match="train-images-idx3-ubyte.gz.*do not fit 120 labels"):
        prepare(data_settings(source="fashion_mnist", path=str(idx_folder)), seed=0)


@pytest.mark.parametrize("cut", [0.5, 0.98])
def test_truncated_npz_is_refused_naming_the_file(npz_file, cut):
    whole = npz_file.read_bytes()
    npz_file.write_bytes(whole[: int(len(whole) * cut)])
    with pytest.raises(DataError, match=f"{npz_file}: not a readable .npz file"):
        prepare(data_settings(source="npz", path=str(npz_file)), seed=0)


def test_npz_with_a_corrupt_array_is_refused(npz_file):
    whole = bytearray(npz_file.read_bytes())
    start = whole.index(b"x.npy") + 200  # inside the first array's data: its CRC no longer matches
    whole[start:start + 64] = bytes(64)
    npz_file.write_bytes(bytes(whole))
    with pytest.raises(DataError, match=f"{npz_file}: not a readable .npz file"):
        prepare(data_settings(source="npz", path=str(npz_file)), seed=0)


def test_an_empty_class_folder_is_refused_before_training(tmp_path):
    root = write_class_folders(tmp_path / "imgs")
    (root / "owls").mkdir()
    with pytest.raises(DataError, match=r"imgs/owls: class 'owls' has 0 usable image\(s\).*data.classes"):
        prepare(data_settings(source="folder", path=str(root)), seed=0)
    # Left out of data.classes, it is no obstacle.
    data = prepare(data_settings(source="folder", path=str(root), classes=["cats", "dogs"]), seed=0)
    assert data.class_names == ["cats", "dogs"]


def test_a_class_with_one_image_has_no_test_image_and_is_refused(tmp_path):
    root = write_class_folders(tmp_path / "imgs")
    (root / "owls").mkdir()
    Image.new("L", (8, 8), 120).save(root / "owls" / "only.png")
    with pytest.raises(DataError, match=r"imgs/owls: class 'owls' has 1 usable image\(s\) \(1 train, 0 test\)"):
        prepare(data_settings(source="folder", path=str(root)), seed=0)


def test_hidden_empty_and_other_files_are_skipped_by_name(tmp_path, capsys):
    root = write_class_folders(tmp_path / "imgs")
    odd = {
        root / ".DS_Store": "hidden",
        root / "cats" / ".DS_Store": "hidden file",
        root / "cats" / "._0.png": "hidden file",  # macOS resource fork: a .png that is no image
        root / "cats" / "empty.png": "empty file (0 bytes)",
        root / "cats" / "notes.txt": "not an image file",
        root / "README.md": "not in a class folder",
    }
    for path in odd:
        path.write_bytes(b"" if path.name == "empty.png" else b"\x00\x05\x16\x07 not an image")
    (root / "dogs" / ".thumbnails").mkdir()
    Image.new("L", (8, 8)).save(root / "dogs" / ".thumbnails" / "t.png")
    data = prepare(data_settings(source="folder", path=str(root)), seed=0)
    assert len(data.y_train) + len(data.y_test) == 18  # only the 18 real images
    err = capsys.readouterr().err
    for path, reason in odd.items():
        assert any(line.startswith(f"{path}: {reason}") for line in data.skipped), (path, data.skipped)
        assert str(path) in err
    assert any(line.startswith(f"{root / 'dogs' / '.thumbnails'}: hidden folder") for line in data.skipped)
    assert set(data.facts()["skipped_files"]) == set(data.skipped)


def test_images_in_nested_folders_belong_to_their_class(tmp_path):
    root = write_class_folders(tmp_path / "imgs")
    (root / "cats" / "2024" / "summer").mkdir(parents=True)
    for i in range(4):
        Image.new("L", (8, 8), 200).save(root / "cats" / "2024" / "summer" / f"n{i}.png")
    data = prepare(data_settings(source="folder", path=str(root), test_fraction=0.25), seed=0)
    cats = data.class_names.index("cats")
    assert int(np.sum(data.y_train == cats) + np.sum(data.y_test == cats)) == 10


def test_a_symlink_loop_is_skipped_by_name(tmp_path):
    root = write_class_folders(tmp_path / "imgs")
    (root / "cats" / "again").symlink_to(root / "cats", target_is_directory=True)  # a folder loop
    (root / "dogs" / "self.png").symlink_to(root / "dogs" / "self.png")  # a link to itself
    data = prepare(data_settings(source="folder", path=str(root)), seed=0)
    assert len(data.y_train) + len(data.y_test) == 18
    assert any(line.startswith(f"{root / 'cats' / 'again'}: a folder link in a loop") for line in data.skipped)
    assert any(line.startswith(f"{root / 'dogs' / 'self.png'}: cannot be opened") for line in data.skipped)


def test_a_folder_link_up_the_tree_does_not_pull_in_the_other_classes(tmp_path, capsys):
    # issue 29: normal/loop -> .. took every class's images as "normal" (108/12 instead of 36/4)
    root = write_class_folders(tmp_path / "imgs")
    (root / "cats" / "loop").symlink_to("..", target_is_directory=True)
    (root / "dogs" / "birds").symlink_to(root / "birds", target_is_directory=True)
    data = prepare(data_settings(source="folder", path=str(root)), seed=0)
    counts = {name: int(np.sum(data.y_train == i) + np.sum(data.y_test == i)) for i, name in enumerate(data.class_names)}
    assert counts == {"birds": 6, "cats": 6, "dogs": 6}
    assert any(line.startswith(f"{root / 'cats' / 'loop'}: a folder link in a loop") for line in data.skipped)
    assert any(line.startswith(f"{root / 'dogs' / 'birds'}: a folder link into another class's folder")
               for line in data.skipped)


def test_grey_rgb_rgba_and_16_bit_pngs_keep_their_brightness(tmp_path):
    """Each class holds one kind of PNG of the same picture: a bright square on black."""
    picture = np.zeros((16, 16), np.uint8)
    picture[4:12, 4:12] = 200
    root = tmp_path / "kinds"
    kinds = {
        "grey": Image.fromarray(picture, "L"),
        "rgb": Image.fromarray(np.stack([picture] * 3, axis=-1), "RGB"),
        # Transparent where the picture is black (its colour there is white, which must not show).
        "rgba": Image.fromarray(np.dstack([np.full_like(picture, 255)] * 3 + [picture.clip(0, 1) * 255])
                                .astype(np.uint8), "RGBA"),
        "grey16": Image.fromarray(picture.astype(np.uint16) * 257),
    }
    for name, image in kinds.items():
        (root / name).mkdir(parents=True)
        for i in range(3):
            image.save(root / name / f"{i}.png")
    data = prepare(data_settings(source="folder", path=str(root), image_size=16), seed=0)
    assert not data.skipped
    x = np.concatenate([data.x_train, data.x_test])[..., 0]
    y = np.concatenate([data.y_train, data.y_test])
    for label, name in enumerate(data.class_names):
        images = x[y == label]
        assert len(images) == 3
        inside, outside = images[:, 4:12, 4:12], images[:, :3, :3]
        assert outside.max() <= 2, name  # the background stays black
        expected = 255 if name == "rgba" else 200  # rgba: white where opaque
        assert abs(int(inside.mean()) - expected) <= 2, (name, inside.mean())


def test_check_sees_the_planned_sizes_without_decoding(tmp_path):
    """The check stage's plan (labels only) is what prepare then prepares."""
    from ganlab.data import select, source_labels

    root = write_class_folders(tmp_path / "imgs", per_class=9)
    cfg = data_settings(source="folder", path=str(root), per_class=5, test_fraction=0.3)
    selection = select(cfg, source_labels(cfg), seed=3)
    data = prepare(cfg, seed=3)
    assert np.array_equal(selection.y_train, data.y_train) and np.array_equal(selection.y_test, data.y_test)
    assert selection.class_names == data.class_names


def test_the_source_digest_follows_every_image(tmp_path):
    from ganlab.data import source_labels

    root = write_class_folders(tmp_path / "imgs")
    cfg = data_settings(source="folder", path=str(root))
    before = source_labels(cfg).sha256
    (root / "notes.txt").write_text("not an image: no change")
    assert source_labels(cfg).sha256 == before
    (root / "cats" / "0.png").unlink()
    removed = source_labels(cfg).sha256
    assert removed != before
    Image.new("L", (8, 8), 7).save(root / "cats" / "0.png")
    assert source_labels(cfg).sha256 not in (before, removed)


def test_the_source_digest_follows_an_npz_and_idx_files(npz_file, idx_folder):
    from ganlab.sources import source_labels

    cfg = data_settings(source="npz", path=str(npz_file))
    before = source_labels(cfg).sha256
    with np.load(npz_file) as arrays:
        x, y = arrays["x"].copy(), arrays["y"]
    x[0, 0, 0] += 1  # one pixel of one image
    np.savez(npz_file, x=x, y=y)
    assert source_labels(cfg).sha256 != before
    idx = data_settings(source="fashion_mnist", path=str(idx_folder))
    before = source_labels(idx).sha256
    from conftest import write_idx

    write_idx(idx_folder / "t10k-images-idx3-ubyte.gz", blob_images(np.repeat(np.arange(10), 3), 28, seed=1))
    assert source_labels(idx).sha256 != before
