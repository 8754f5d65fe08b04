"""Registration of the integration tests.

A module marks each test with @test; its name is the function's name
without "test_", underscores as spaces.  run.py asks tests(module) for
them, in the order the module defines them:

    from registry import test

    @test
    def test_login_works(env):      # "login works"
        ...
"""

_TESTS = {}


def test(fn):
    """Registers fn, named test_<words>, as the test "<words>" of its module."""
    _TESTS.setdefault(fn.__module__, []).append((fn.__name__[5:].replace("_", " "), fn))
    return fn


def tests(module):
    """The (name, function) pairs that module registered, in order."""
    return list(_TESTS.get(module.__name__, []))
