"""The simplify step's cache key names sympy's version, read without importing sympy."""
import subprocess
import sys


def test_the_key_names_sympys_version_without_importing_it():
    code = ("import sys; from graphc.function.prepare import _simplifier_key; key = _simplifier_key(); "
            "loaded = 'sympy' in sys.modules; import sympy; print(key == f'simplify, sympy {sympy.__version__}', loaded)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["True", "False"]
