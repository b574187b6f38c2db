#!/usr/bin/env python3
"""tests/lib/jsonschema-check.py SCHEMA COMMAND [FILE]: validate one
`vixmount COMMAND --json` output (FILE, default stdin) against the documented
schema (docs/vixmount.schema.json), as a whole and against $defs/COMMAND.
Prints "valid" or the errors (one per line, with their JSON path); exit 0 or 1.
Uses python3-jsonschema (Debian; scripts/setup installs it)."""
import json
import sys

import jsonschema

schema = json.load(open(sys.argv[1]))
command = sys.argv[2]
doc = json.load(open(sys.argv[3]) if len(sys.argv) > 3 else sys.stdin)
cls = jsonschema.validators.validator_for(schema)
cls.check_schema(schema)
errors = list(cls(schema).iter_errors(doc))
if doc.get("command") != command:
    errors.append("command is %r, not %r" % (doc.get("command"), command))
sub = dict(schema, **{"$ref": "#/$defs/" + command})
for k in ("oneOf", "required", "properties"):
    sub.pop(k, None)
errors += list(cls(sub).iter_errors(doc))
for e in errors:
    if isinstance(e, str):
        print(e)
    else:
        print("%s: %s" % ("/".join(str(p) for p in e.absolute_path) or "(top)", e.message))
if errors:
    sys.exit(1)
print("valid")
