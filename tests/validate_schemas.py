#!/usr/bin/python3
"""Validate every case in the corpus (and the loader's samples in tests/data)
against spec/case.schema.json, check that the negative samples in
tests/data/schema-invalid fail it, and validate a results.json against
spec/results.schema.json (JSON Schema draft 2020-12).
The C loader is the authority on cases; this keeps the published schemas
true to it. Usage: validate_schemas.py ROOT RESULTS_JSON"""
import glob
import json
import os
import sys

from jsonschema import Draft202012Validator

root, results = sys.argv[1], sys.argv[2]
failed = 0
case_schema = json.load(open(os.path.join(root, "spec", "case.schema.json")))
Draft202012Validator.check_schema(case_schema)
cv = Draft202012Validator(case_schema)
cases = sorted(glob.glob(os.path.join(root, "cases", "**", "*.json"), recursive=True))
for path in cases:
    for err in cv.iter_errors(json.load(open(path))):
        print(f"{path}: {'/'.join(map(str, err.absolute_path))}: {err.message}")
        failed += 1
# The loader's sample cases (tests/data) must validate too, and each
# negative sample (tests/data/schema-invalid, all rejected by the loader)
# must not: the schema is checked in both directions.
samples = sorted(glob.glob(os.path.join(root, "tests", "data", "*.json")))
for path in samples:
    for err in cv.iter_errors(json.load(open(path))):
        print(f"{path}: {'/'.join(map(str, err.absolute_path))}: {err.message}")
        failed += 1
invalid = sorted(glob.glob(os.path.join(root, "tests", "data", "schema-invalid", "*.json")))
for path in invalid:
    if not list(cv.iter_errors(json.load(open(path)))):
        print(f"{path}: the schema accepts it, but the loader rejects it")
        failed += 1
res_schema = json.load(open(os.path.join(root, "spec", "results.schema.json")))
Draft202012Validator.check_schema(res_schema)
for err in Draft202012Validator(res_schema).iter_errors(json.load(open(results))):
    print(f"{results}: {'/'.join(map(str, err.absolute_path))}: {err.message}")
    failed += 1
print(f"schemas: {len(cases)} cases, {len(samples)} samples, {len(invalid)} invalid samples "
      f"and 1 results.json checked, {failed} problem(s)")
sys.exit(1 if failed else 0)
