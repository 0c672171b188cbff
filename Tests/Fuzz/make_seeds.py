"""Seed corpora for the fuzz targets (make fuzz), made from the committed fixtures.

    python3 make_seeds.py OUTDIR     writes OUTDIR/<target>/<n> files

hdf5: every .h5 fixture and the model.weights.h5 inside every .keras; zip and load: the .keras
and .h5 fixtures; json: the Keras model JSON of every config fixture; capi: a few byte strings.
"""
import glob
import json
import os
import sys
import zipfile

here = os.path.dirname(os.path.abspath(__file__))
fixtures = os.path.join(here, "..", "Fixtures")
out = sys.argv[1]
seeds = {t: [] for t in ["hdf5", "zip", "json", "load", "capi"]}
for path in sorted(glob.glob(os.path.join(fixtures, "*", "*"))):
    with open(path, "rb") as f:
        data = f.read()
    if path.endswith(".h5"):
        seeds["hdf5"].append(data)
        seeds["load"].append(data)
    elif path.endswith(".keras"):
        seeds["zip"].append(data)
        seeds["load"].append(data)
        with zipfile.ZipFile(path) as z:
            seeds["hdf5"].append(z.read("model.weights.h5"))
            seeds["json"].append(z.read("config.json"))
    elif path.endswith(".json"):
        try:
            doc = json.loads(data)
        except ValueError:
            continue
        if isinstance(doc, dict) and isinstance(doc.get("model_json"), str):
            seeds["json"].append(doc["model_json"].encode())
# A graph with layers that cannot run (a Lambda, a user's class, a nested model naming itself)
# beside ones that can, as real users' files hold them (the part-of-a-graph loader).
seeds["json"].append(json.dumps({"class_name": "Model", "keras_version": "2.4.0", "config": {"name": "m", "layers": [
    {"class_name": "InputLayer", "name": "x", "config": {"batch_input_shape": [None, 5, 3], "name": "x"}, "inbound_nodes": []},
    {"class_name": "LSTM", "name": "lstm", "config": {"name": "lstm", "units": 4, "return_sequences": True},
     "inbound_nodes": [[["x", 0, 0, {}]]]},
    {"class_name": "Lambda", "name": "loss", "config": {"name": "loss", "function": ["4wEAAAAA", None, None]},
     "inbound_nodes": [[["lstm", 0, 0, {}]]]},
    {"class_name": "Functional", "name": "inner", "config": {"name": "inner", "layers": [{"class_name": "Functional", "config": {"name": "inner"}}]},
     "inbound_nodes": [[["lstm", 0, 0, {}]]]},
    {"class_name": "Dense", "name": "head", "config": {"name": "head", "units": 2}, "inbound_nodes": [[["lstm", 0, 0, {}]]]}],
    "input_layers": [["x", 0, 0]], "output_layers": [["head", 0, 0], ["loss", 0, 0], ["inner", 0, 0]]}}).encode())
seeds["capi"] = [bytes(range(k, k + 64)) for k in range(0, 192, 16)] + [b"\x00" * 32, b"\xff" * 48]
for target, items in seeds.items():
    os.makedirs(os.path.join(out, target), exist_ok=True)
    for i, data in enumerate(items):
        with open(os.path.join(out, target, f"{i:03d}"), "wb") as f:
            f.write(data)
    print(f"{target}: {len(items)} seeds")
