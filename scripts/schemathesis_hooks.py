"""schemathesis hooks for scripts/schemathesis.sh (loaded via SCHEMATHESIS_HOOKS).

One work-around, for the test tool rather than the service: on CPython 3.11.7
(this machine's python3) `ast.parse` can raise "SystemError: AST constructor
recursion depth mismatch" when called deep in a recursion (CPython issue
gh-106905). Hypothesis calls it only to *describe* a lambda in a strategy's
repr, which schemathesis's coverage phase builds deep inside nested schemas
(seen on the KServe infer request), and the SystemError then aborts the
operation as a schemathesis "Runtime Error". A description is cosmetic, so
this falls back to "lambda" on that error only; generation and every check
are unchanged.
"""

from hypothesis.internal import lambda_sources

_describe = lambda_sources.lambda_description


def _describe_or_fallback(f):
    try:
        return _describe(f)
    except SystemError:
        return "lambda"


lambda_sources.lambda_description = _describe_or_fallback
