"""Runs examples/sine.py (the user's Keras script with its two imports changed to `lstm`)
unchanged, with matplotlib drawing off-screen and plt.show() saving the figure instead.

    python examples/sine_demo.py [output.png]
"""
import os
import runpy
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

output = sys.argv[1] if len(sys.argv) > 1 else "sine.png"


def save_instead_of_show(*_args, **_kwargs):
    plt.savefig(output, dpi=100)
    print(f"plot written to {output}")


plt.show = save_instead_of_show
runpy.run_path(os.path.join(os.path.dirname(os.path.abspath(__file__)), "sine.py"), run_name="__main__")
