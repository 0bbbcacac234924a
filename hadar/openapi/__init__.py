"""The OpenAPI 3.1 document of the REST API, generated from code (never edited by hand).

`python -m hadar.openapi` writes it to schema/openapi.json; a test fails when they drift.
"""

from hadar.openapi.document import TITLE, build_document, render

__all__ = ["TITLE", "build_document", "render"]
