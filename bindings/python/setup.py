"""Installs the `lstm` package (distribution `liblstm`) with a copy of liblstm.so inside it.

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

try:
    from setuptools.command.bdist_wheel import bdist_wheel
except ImportError:  # setuptools before 70.1 had it in the wheel package
    from wheel.bdist_wheel import bdist_wheel

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


class PlatformWheel(bdist_wheel):
    """The library is loaded with ctypes, not as a Python extension: one wheel serves every
    Python 3 (py3-none) on its platform, which auditwheel then names manylinux."""

    def get_tag(self):
        _, _, platform = super().get_tag()
        return "py3", "none", platform


setup(cmdclass={"build_py": BuildWithLibrary, "bdist_wheel": PlatformWheel}, distclass=BinaryDistribution)
