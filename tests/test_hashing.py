import os
import subprocess
import sys

from adrs.hashing import syntactic_hash

BASE = "def f(x):\n    return x + 1\n"


def test_comments_docstrings_and_layout_do_not_change_the_hash():
    variant = ('def f(x):\n    """Add one."""\n    # increment\n\n'
               '    return (x +   1)  # done\n')
    assert syntactic_hash(variant) == syntactic_hash(BASE)


def test_any_change_in_code_changes_the_hash():
    assert syntactic_hash("def f(x):\n    return x + 2\n") != syntactic_hash(BASE)
    assert syntactic_hash("def f(y):\n    return y + 1\n") != syntactic_hash(BASE)


def test_unparseable_source_still_hashes_stably():
    assert syntactic_hash("def f(:\n  pass  ") == syntactic_hash("def f(:\n  pass")


def test_docstrings_of_modules_classes_and_nested_functions_do_not_change_the_hash():
    plain = ("class A:\n    if True:\n        def g(self):\n            return 1\n"
             "def f(x):\n    return A().g() + x\n")
    documented = ('"""Module."""\nclass A:\n    """A class."""\n    if True:\n'
                  '        def g(self):\n            """Nested."""\n            return 1\n'
                  'def f(x):\n    """Top."""\n    return A().g() + x\n')
    assert syntactic_hash(documented) == syntactic_hash(plain)
    assert syntactic_hash(plain.replace("return 1", "return 2")) != syntactic_hash(plain)


def test_what_the_compiler_folds_is_the_same_program():
    assert syntactic_hash("def f():\n    return 2 * 3\n") == \
        syntactic_hash("def f():\n    return 6\n")


def test_names_and_qualified_names_count():
    assert syntactic_hash("def f():\n    return 1\n") != syntactic_hash("def g():\n    return 1\n")
    nested = "class A:\n    def f(self):\n        return 1\n"
    assert syntactic_hash(nested) != syntactic_hash(nested.replace("class A", "class B"))


def test_the_hash_is_the_same_in_every_process_whatever_its_string_hashing_or_o_flag():
    """Set constants iterate in string-hash order, and -O strips asserts from what
    compile() makes by default: neither may change a stored hash."""
    source = 'def f(x):\n    assert x\n    return x in {"a", "b", "c", "d", "e"}\n'
    hashes = {syntactic_hash(source)}
    for seed, flags in (("1", []), ("2", ["-O"]), ("3", ["-OO"])):
        out = subprocess.run([sys.executable, *flags, "-c",
                              "import sys; from adrs.hashing import syntactic_hash; "
                              "print(syntactic_hash(sys.stdin.read()))"],
                             input=source, capture_output=True, text=True, check=True,
                             env={**os.environ, "PYTHONHASHSEED": seed})
        hashes.add(out.stdout.strip())
    assert len(hashes) == 1, hashes
    assert syntactic_hash(source.replace("    assert x\n", "")) not in hashes


def test_source_that_parses_but_does_not_compile_hashes_by_its_text():
    bad = "return 1\n"  # outside a function: a SyntaxError only when compiled
    assert syntactic_hash(bad) == syntactic_hash(bad + "\n\n")
    assert syntactic_hash(bad) != syntactic_hash("return 2\n")


def test_a_function_that_is_only_a_docstring_hashes_like_a_pass():
    only_doc = 'def f(x):\n    """Nothing yet."""\n'
    assert syntactic_hash(only_doc) == syntactic_hash("def f(x):\n    pass\n")
