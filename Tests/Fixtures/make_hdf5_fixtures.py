"""Writes small HDF5 files in every layout h5py can give a Keras-style file, for the test that
reads each with liblstm's own HDF5 reader and with libhdf5 and requires identical contents.

hdf5/<name>.h5, each with groups, float and integer datasets and string attributes:
  earliest.h5           libver="earliest": superblock 0, version-1 object headers, old-style
                        groups (symbol tables, B-trees, local heaps), contiguous and compact data
  latest.h5             libver="latest": superblock 3, version-2 object headers, link messages
  dense.h5              libver="latest": groups with 40 and 400 members, one with 31 attributes
                        (links and attributes in fractal heaps indexed by version-2 B-trees)
  many_members.h5       libver="earliest": 300 hard links to one dataset (a B-tree with internal nodes)
  chunked_earliest.h5   chunked (version-1 B-tree index) with edge chunks, gzip, shuffle, fletcher32
  chunked_latest.h5     chunked with libver="latest": fixed-array index (paged: 1100 chunks),
                        single-chunk index (filtered and not)
  big_endian.h5         >f4, >f8, >i4 data, and 8-, 16-, 32-bit integers
  user_block.h5         a 512-byte user block before the superblock
hostile/: files the reader must refuse or see through (external storage, virtual datasets,
  soft/external links and a link cycle, an unwritten 2^31-1-value dataset, optimizer state out
  of range, a wrong-shaped weight in a broken deflated chunk)
files/keras2_sine_keras20_config.h5: tf-keras's sine model with a Keras 2.0-era model_config

Run with h5py (`pip install h5py numpy`): python make_hdf5_fixtures.py
"""
import json
import os

import h5py
import numpy as np

here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "hdf5")
os.makedirs(here, exist_ok=True)
rng = np.random.default_rng(20261202)


def floats(*shape, dtype="float32"):
    return rng.standard_normal(shape).astype(dtype)


def common(f):
    """What every Keras layout has: nested groups, weights, strings in both encodings."""
    f.attrs["keras_version"] = "3.15.1"
    f.attrs["layer_names"] = np.array(["lstm", "dense", "ünïcode"], dtype=h5py.string_dtype())
    f.attrs["fixed_names"] = np.array([b"lstm", b"dense_1", b""], dtype="S8")
    f.attrs["fixed_scalar"] = np.bytes_(b"tf-keras")
    f.attrs["empty_list"] = np.array([], dtype="float64")
    g = f.create_group("layers/lstm/cell/vars")
    g.attrs["name"] = "lstm_cell"
    g.create_dataset("0", data=floats(3, 16))
    g.create_dataset("1", data=floats(4, 16))
    g.create_dataset("2", data=floats(16))
    d = f.create_group("layers/dense/vars")
    d.attrs["name"] = "dense"
    d.create_dataset("0", data=floats(4, 1, dtype="float64"))
    d.create_dataset("1", data=np.zeros((0,), "float32"))
    opt = f.create_group("optimizer/vars")
    opt.create_dataset("0", data=np.int64(12345678901))
    opt.create_dataset("1", data=np.float32(0.001))
    opt.create_dataset("2", data=floats(2, 3, 4))
    f.create_group("empty")


with h5py.File(os.path.join(here, "earliest.h5"), "w", libver="earliest") as f:
    common(f)
    # A tiny dataset kept inside its object header.
    space = h5py.h5s.create_simple((3,))
    plist = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
    plist.set_layout(h5py.h5d.COMPACT)
    ds = h5py.h5d.create(f.id, b"compact", h5py.h5t.IEEE_F32LE, space, plist)
    ds.write(h5py.h5s.ALL, h5py.h5s.ALL, np.array([1.5, -2.25, 3.0], "float32"))

with h5py.File(os.path.join(here, "latest.h5"), "w", libver="latest") as f:
    common(f)

with h5py.File(os.path.join(here, "dense.h5"), "w", libver="latest") as f:
    common(f)
    many = f.create_group("many")
    for i in range(40):
        many.create_dataset(f"w{i:02d}", data=floats(2))
    # 400 links: the name index needs more than one B-tree node (depth 1).
    links = f.create_group("many_links")
    for i in range(400):
        links[f"link_{i:03d}"] = many["w00"]
    a = f["layers"]
    for i in range(30):
        a.attrs[f"attr_{i:02d}"] = f"value {i} " * (i + 1)
    a.attrs["names"] = np.array([f"n{i}" for i in range(50)], dtype=h5py.string_dtype())

with h5py.File(os.path.join(here, "many_members.h5"), "w", libver="earliest") as f:
    target = f.create_dataset("target", data=floats(5))
    g = f.create_group("links")
    for i in range(300):
        g[f"member_{i:04d}"] = target

with h5py.File(os.path.join(here, "chunked_earliest.h5"), "w", libver="earliest") as f:
    f.create_dataset("gzip_shuffle", data=floats(37, 29), chunks=(8, 7), compression="gzip", shuffle=True)
    f.create_dataset("gzip", data=floats(3, 10, 9, dtype="float64"), chunks=(2, 4, 4), compression="gzip",
                     compression_opts=9)
    f.create_dataset("fletcher", data=floats(100), chunks=(33,), fletcher32=True)
    f.create_dataset("plain_chunks", data=floats(10, 10), chunks=(3, 3))

with h5py.File(os.path.join(here, "chunked_latest.h5"), "w", libver="latest") as f:
    f.create_dataset("fixed_array", data=floats(37, 29), chunks=(8, 7), compression="gzip", shuffle=True)
    f.create_dataset("paged", data=floats(1100), chunks=(1,))
    f.create_dataset("single", data=floats(6, 5), chunks=(6, 5))
    f.create_dataset("single_gzip", data=floats(6, 5), chunks=(6, 5), compression="gzip")
    f.create_dataset("fletcher", data=floats(100), chunks=(33,), fletcher32=True)

with h5py.File(os.path.join(here, "big_endian.h5"), "w") as f:
    f.create_dataset("f4", data=floats(4, 3).astype(">f4"))
    f.create_dataset("f8", data=floats(7).astype(">f8"))
    f.create_dataset("i4", data=np.array(-123456, ">i4"))
    f.create_dataset("u1", data=np.uint8(250))
    f.create_dataset("i2", data=np.int16(-2))
    f.create_dataset("i8_big", data=np.array(2**40 + 7, ">i8"))

with h5py.File(os.path.join(here, "user_block.h5"), "w", userblock_size=512) as f:
    common(f)

for name in sorted(os.listdir(here)):
    print(f"{name}: {os.path.getsize(os.path.join(here, name))} bytes")

# Files the reader must refuse, naming what it does not follow (they are written by h5py as a
# hostile file would be: each is valid HDF5).
hostile = os.path.join(os.path.dirname(os.path.abspath(__file__)), "hostile")
os.makedirs(hostile, exist_ok=True)
with h5py.File(os.path.join(hostile, "external_storage.h5"), "w") as f:
    f.create_dataset("w", shape=(16,), dtype="float32", external=[("/etc/passwd", 0, 64)])
with h5py.File(os.path.join(hostile, "virtual_missing_source.h5"), "w", libver="latest") as f:
    layout = h5py.VirtualLayout(shape=(8,), dtype="float32")
    layout[:] = h5py.VirtualSource("does-not-exist.h5", "data", shape=(8,))
    f.create_virtual_dataset("w", layout, fillvalue=0)
with h5py.File(os.path.join(hostile, "virtual_cycles.h5"), "w", libver="latest") as f:
    # "w" takes its values from itself, "a" from "b" and "b" from "a" (libhdf5 1.10 crashes on
    # the first in process).
    for name, source in [("w", "w"), ("a", "b"), ("b", "a")]:
        layout = h5py.VirtualLayout(shape=(8,), dtype="float32")
        layout[:] = h5py.VirtualSource(".", source, shape=(8,))
        f.create_virtual_dataset(name, layout, fillvalue=0)
with h5py.File(os.path.join(hostile, "links.h5"), "w") as f:
    f.create_dataset("real", data=np.ones(3, "float32"))
    f["soft"] = h5py.SoftLink("/real")
    f["external"] = h5py.ExternalLink("/etc/passwd", "/x")
    f["self"] = f["/"]  # a hard link to the root: a cycle
with h5py.File(os.path.join(hostile, "huge_unwritten.h5"), "w") as f:
    f.create_dataset("w", shape=(2**31 - 1,), dtype="float32")
for name in sorted(os.listdir(hostile)):
    print(f"hostile/{name}: {os.path.getsize(os.path.join(hostile, name))} bytes")

# Keras's own sine weights file with optimizer state no real run has: the step count at
# 2^63-1 (the next step's increment would overflow), and a negative mean of squares in Adam.
import shutil  # noqa: E402

sine = os.path.join(os.path.dirname(os.path.abspath(__file__)), "files", "keras3_sine.weights.h5")
for name, edit in [("sine_iterations_max.weights.h5", lambda v: v.__setitem__("0", np.int64(2**63 - 1))),
                   ("sine_negative_velocity.weights.h5", lambda v: v.__setitem__("3", -np.ones((1, 32), "float32")))]:
    dst = os.path.join(hostile, name)
    shutil.copy(sine, dst)
    with h5py.File(dst, "r+") as f:
        v = f["optimizer/vars"]
        key = "0" if "iterations" in name else "3"
        del v[key]
        edit(v)
    print(f"hostile/{name}: {os.path.getsize(dst)} bytes")

# The sine weights with the dense kernel swapped for 64 MiB of zeros in one deflated chunk whose
# stream is then broken: a reader that inflated before checking the shape would report the
# broken stream; the reader must report the wrong shape, having inflated nothing.
dst = os.path.join(hostile, "sine_inflating_kernel.weights.h5")
shutil.copy(sine, dst)
with h5py.File(dst, "r+") as f:
    g = f["layers/dense/vars"]
    del g["0"]
    g.create_dataset("0", data=np.zeros((4096, 4096), "float32"), chunks=(4096, 4096), compression="gzip",
                     compression_opts=9)
    info = g["0"].id.get_chunk_info(0)
broken = bytearray(open(dst, "rb").read())
for k in range(info.byte_offset + 100, info.byte_offset + 200):
    broken[k] ^= 0x5A
open(dst, "wb").write(bytes(broken))
print(f"hostile/sine_inflating_kernel.weights.h5: {os.path.getsize(dst)} bytes")

# tf-keras's sine .h5 with its model_config in the shape Keras 2.0-2.2 wrote: the Sequential's
# config a bare list of layers, the input shape as the first layer's batch_input_shape with an
# input_dtype, a layer without a name, keras_version 2.0.8, fixed-length string attributes.
files_dir = os.path.join(os.path.dirname(os.path.abspath(__file__)), "files")
old = os.path.join(files_dir, "keras2_sine_keras20_config.h5")
shutil.copy(os.path.join(files_dir, "keras2_sine.h5"), old)
with h5py.File(old, "r+") as f:
    config = json.loads(f.attrs["model_config"])
    layers = config["config"]["layers"]
    first_input = layers.pop(0)
    assert first_input["class_name"] == "InputLayer"
    layers[0]["config"]["batch_input_shape"] = first_input["config"]["batch_input_shape"]
    layers[0]["config"]["input_dtype"] = "float32"
    del layers[-1]["config"]["name"]
    f.attrs["model_config"] = np.bytes_(json.dumps({"class_name": "Sequential", "config": layers}).encode())
    f.attrs["keras_version"] = np.bytes_(b"2.0.8")
    f.attrs["backend"] = np.bytes_(b"tensorflow")
    del f.attrs["training_config"]
print(f"files/keras2_sine_keras20_config.h5: {os.path.getsize(old)} bytes")
