"""Installs the `lstm` package with a copy of liblstm.so inside it.

The library comes from $LSTM_LIBRARY or the repository's build folder (`make` writes
build/liblstm.so). If neither exists, the install runs `make lib` in the repository, and fails
with a message saying to run `make` if that does not produce it.
"""
import os
import shutil
import subprocess

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.dist import Distribution

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))


def find_library():
    env = os.environ.get("LSTM_LIBRARY")
    if env:
        return env if os.path.isfile(env) else None
    built = os.path.join(REPO, "build", "liblstm.so")
    if not os.path.isfile(built) and os.path.isfile(os.path.join(REPO, "Makefile")):
        subprocess.run(["make", "-C", REPO, "lib"], check=False)
    return built if os.path.isfile(built) else None


class BuildWithLibrary(build_py):
    def run(self):
        super().run()
        lib = find_library()
        if lib is None:
            raise SystemExit(
                "liblstm.so was not found: run `make` in the liblstm repository (it writes build/liblstm.so) "
                "or set LSTM_LIBRARY to the library's path, then install again.")
        shutil.copy2(lib, os.path.join(self.build_lib, "lstm", "liblstm.so"))


class BinaryDistribution(Distribution):
    """The package ships a native library: wheels are platform-specific."""

    def has_ext_modules(self):
        return True


setup(cmdclass={"build_py": BuildWithLibrary}, distclass=BinaryDistribution)
