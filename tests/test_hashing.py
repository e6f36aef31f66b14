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
