"""The JSON Schema of the script format, kept in ``docs/script.schema.json`` and served by the API.

python -m scripts_crm.schema > docs/script.schema.json     # after changing scripts_crm.model
"""

from __future__ import annotations

import json
from typing import Any

from scripts_crm.model import Script

SCHEMA_ID = "https://github.com/dialer/dialer/docs/script.schema.json"


def schema() -> dict[str, Any]:
    document = Script.model_json_schema()
    document["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    document["$id"] = SCHEMA_ID
    document["title"] = "dialer-script/1: an operator script and the project's CRM fields"
    return document


def text() -> str:
    return json.dumps(schema(), ensure_ascii=False, indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":
    print(text(), end="")
